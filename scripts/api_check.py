"""The public-API gate: the current ``speaker_audio`` against the snapshot of the last release.

``speaker_audio`` is loaded from ``facade/`` by static analysis (griffe; nothing is imported, so the lazy
exports of ``speaker_audio/__init__.py`` are read from their ``if TYPE_CHECKING:`` imports). Its public
surface is: every name in ``__all__`` of the package and of its public submodules (``errors``, ``testing``),
with the signatures of functions, methods and constructors (attrs classes and NamedTuples get theirs
synthesized from their fields), the public attributes, properties and methods of every public class (own and
inherited), and the bases of every public class.

``facade/public-api.json`` holds that surface as griffe dumped it at the last release, with the version.

    python scripts/api_check.py              # exit 1, listing each break, if the current API breaks the snapshot
    python scripts/api_check.py --snapshot   # the release step (make api-snapshot): check, then write the snapshot

A break is: a name removed (from the module or from ``__all__``), a parameter removed or renamed, a parameter
made required or a required one added, a positional parameter moved or its kind changed, a base class gone
from a class's ancestors, a public attribute, property or method of a class removed, an object that changed
kind. Additions pass; a changed default is printed as a note. A break passes only when it is released as one:
the major version in ``speaker_audio/_version.py`` is greater than the snapshot's, and ``CHANGELOG.md`` has an
entry naming it in the section of the current version ``## [X.Y.Z]`` (or, until the release renames it,
``## [Unreleased]``): in backticks (```SpeakerAudioClient.wait_for_separation```, or what encloses it:
```SpeakerAudioClient```) under ``### Removed`` or ``### Changed``, or anywhere in the section marked ``BREAKING``.

Exit status: 0 no break (or every break released as above), 1 a break, 2 usage error (e.g. no snapshot).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import griffe

import changelog

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "speaker_audio"
SEARCH_PATH = ROOT / "facade"
SNAPSHOT = SEARCH_PATH / "public-api.json"
CHANGELOG = ROOT / "CHANGELOG.md"

# Special methods that are part of a class's contract (how it is built and used); other dunders
# (``__attrs_post_init__``, ``__reduce__``, ``__repr__`` …) are implementation.
PROTOCOL_DUNDERS = frozenset(
    {
        "__init__",
        "__call__",
        "__enter__",
        "__exit__",
        "__aenter__",
        "__aexit__",
        "__iter__",
        "__aiter__",
        "__next__",
        "__anext__",
        "__len__",
        "__getitem__",
        "__contains__",
    }
)
# The classes whose attributes the snapshot must hold (coverage check of ``--snapshot``).
RESULT_CLASSES = ("SpeakerAudio", "SeparationStatus", "Speaker", "Utterance")
# Reported as notes, not breaks. ClassRemovedBase is replaced by the ancestor check below (griffe only
# notices fewer bases, not a replaced one).
NOTE_KINDS = frozenset({griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT, griffe.BreakageKind.ATTRIBUTE_CHANGED_VALUE})
REPLACED_KINDS = frozenset({griffe.BreakageKind.CLASS_REMOVED_BASE})

_ATTRS_CLASS = {
    f"{module}.{name}"
    for module in ("attrs", "attr")
    for name in ("define", "frozen", "mutable", "attrs", "s", "dataclass")
}
_ATTRS_FIELD = {"attrs.field", "attr.ib", "attr.attrib", "attr.field"}
_NAMED_TUPLE = {"typing.NamedTuple", "typing_extensions.NamedTuple"}


class ApiCheckError(Exception):
    """The check cannot run (no snapshot, unreadable file, a package griffe cannot load)."""


# --- loading -------------------------------------------------------------------------------------------------


def _call_arguments(expr: object) -> dict[str, str]:
    if not isinstance(expr, griffe.ExprCall):
        return {}
    return {arg.name: str(arg.value) for arg in expr.arguments if isinstance(arg, griffe.ExprKeyword)}


def _decorator_path(decorator: griffe.Decorator) -> tuple[str, dict[str, str]]:
    value = decorator.value
    if isinstance(value, griffe.ExprCall):
        function = value.function
        return (function.canonical_path if isinstance(function, griffe.Expr) else str(function)), _call_arguments(value)
    return (value.canonical_path if isinstance(value, griffe.Expr) else str(value)), {}


def _field_parameters(cls: griffe.Class, *, strip_underscore: bool, kw_only: bool) -> list[griffe.Parameter]:
    parameters = []
    for member in cls.members.values():
        if not isinstance(member, griffe.Attribute) or member.annotation is None or "property" in member.labels:
            continue
        if str(member.annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = member.value
        args: dict[str, str] = {}
        if isinstance(value, griffe.ExprCall) and value.canonical_path in _ATTRS_FIELD:
            args = _call_arguments(value)
        if args.get("init") == "False":
            continue
        if "default" in args:
            default: str | griffe.Expr | None = args["default"]
        elif "factory" in args:
            default = f"{args['factory']}()"
        elif args:
            default = None
        else:
            default = value
        name = args.get("alias", member.name.lstrip("_") if strip_underscore else member.name).strip("'\"")
        keyword_only = kw_only or args.get("kw_only") == "True"
        kind = griffe.ParameterKind.keyword_only if keyword_only else griffe.ParameterKind.positional_or_keyword
        parameters.append(griffe.Parameter(name, annotation=member.annotation, kind=kind, default=default))
    return parameters


def _attrs_decorator(cls: griffe.Class) -> dict[str, str] | None:
    """The arguments of ``cls``'s attrs class decorator, or ``None`` when it has none."""
    decorators = dict(_decorator_path(d) for d in cls.decorators)
    return next((arguments for path, arguments in decorators.items() if path in _ATTRS_CLASS), None)


def _attrs_fields(cls: griffe.Class) -> list[griffe.Parameter]:
    """The ``__init__`` parameters of ``cls`` as attrs makes them: the fields of its attrs bases in the package
    (through bases that are not attrs classes too) first, then its own if it is one; a field defined again takes
    its new place."""
    fields: dict[str, griffe.Parameter] = {}
    for base in cls.bases:
        resolved = _resolve_base(cls, base)
        if resolved is not None:
            fields.update((parameter.name, parameter) for parameter in _attrs_fields(resolved))
    decorator = _attrs_decorator(cls)
    if decorator is not None:
        for parameter in _field_parameters(cls, strip_underscore=True, kw_only=decorator.get("kw_only") == "True"):
            fields.pop(parameter.name, None)
            fields[parameter.name] = parameter
    return list(fields.values())


def _resolve_base(cls: griffe.Class, base: str | griffe.Expr) -> griffe.Class | None:
    """The class that ``base`` (one of ``cls``'s bases) names, when the loaded modules hold it."""
    resolved = _lookup(cls, base.canonical_path if isinstance(base, griffe.Expr) else str(base))
    return resolved if isinstance(resolved, griffe.Class) else None


def _lookup(obj: griffe.Object, path: str) -> object:
    """What ``path`` names among the modules loaded with ``obj``, aliases followed; ``None`` when not found."""
    try:
        found = obj.modules_collection.get_member(path)
        return found.final_target if isinstance(found, griffe.Alias) else found
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None


def _synthesize_init(cls: griffe.Class) -> None:
    """Give attrs classes and NamedTuples the ``__init__`` their fields make (griffe does so for dataclasses)."""
    if "__init__" in cls.members:
        return
    decorators = dict(_decorator_path(d) for d in cls.decorators)
    attrs_decorator = next((path for path in decorators if path in _ATTRS_CLASS), None)
    bases = {base.canonical_path if isinstance(base, griffe.Expr) else str(base) for base in cls.bases}
    if attrs_decorator is not None:
        parameters = _attrs_fields(cls)
        cls.labels.add("attrs")
    elif bases & _NAMED_TUPLE:
        parameters = _field_parameters(cls, strip_underscore=False, kw_only=False)
        cls.labels.add("namedtuple")
    else:
        return
    # keyword-only fields come last in the generated signature, whatever their place among the fields
    parameters.sort(key=lambda p: p.kind is griffe.ParameterKind.keyword_only)
    self = griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)
    init = griffe.Function(
        "__init__", lineno=0, endlineno=0, parent=cls, parameters=griffe.Parameters(self, *parameters), returns="None"
    )
    cls.set_member("__init__", init)


def _typed_dict_keys(pkg: griffe.Module, annotation: object) -> list[griffe.Parameter] | None:
    """The keys of ``Unpack[SomeTypedDict]`` (a ``TypedDict`` of the package, its bases' keys included)."""
    if not isinstance(annotation, griffe.ExprSubscript) or not str(annotation.left).endswith("Unpack"):
        return None
    target = annotation.slice
    path = target.canonical_path if isinstance(target, griffe.Expr) else str(target)
    try:
        cls = pkg.modules_collection[path]
    except KeyError:
        return None
    keys: list[griffe.Parameter] = []
    for base in reversed([cls, *cls.mro()]):
        for name, member in base.members.items():
            if isinstance(member, griffe.Attribute) and member.annotation is not None and name not in keys:
                keys.append(  # total=False: every key may be left out
                    griffe.Parameter(
                        name, annotation=member.annotation, kind=griffe.ParameterKind.keyword_only, default="None"
                    )
                )
    return keys


def _expand_unpacked_kwargs(pkg: griffe.Module, function: griffe.Function) -> None:
    """``**options: Unpack[TD]`` takes exactly TD's keys: compared as those keyword-only parameters, so a parameter
    removed beside it is still a break (a bare ``**kwargs`` would absorb any name)."""
    parameters = list(function.parameters)
    for index, parameter in enumerate(parameters):
        if parameter.kind is griffe.ParameterKind.var_keyword:
            keys = _typed_dict_keys(pkg, parameter.annotation)
            if keys is not None:
                function.parameters = griffe.Parameters(*parameters[:index], *keys, *parameters[index + 1 :])
            return


class FieldSignatures(griffe.Extension):
    """Synthesizes ``__init__`` of attrs classes and NamedTuples, so their constructors are compared too, and
    spells out ``**options: Unpack[TypedDict]`` as keyword-only parameters."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        def visit(obj: griffe.Object) -> None:
            for member in obj.members.values():
                if isinstance(member, griffe.Alias):
                    continue
                if isinstance(member, griffe.Class):
                    _synthesize_init(member)
                    visit(member)
                elif isinstance(member, griffe.Module):
                    visit(member)
                elif isinstance(member, griffe.Function):
                    _expand_unpacked_kwargs(pkg, member)

        visit(pkg)


def load_current(search_path: Path = SEARCH_PATH) -> griffe.Module:
    """``speaker_audio`` from ``search_path``, by static analysis, with every alias inside the package resolved."""
    if not (search_path / PACKAGE / "__init__.py").is_file():
        raise ApiCheckError(f"no {PACKAGE} package in {search_path}")
    loaded = griffe.load(
        PACKAGE,
        search_paths=[search_path],
        try_relative_path=False,
        extensions=griffe.load_extensions(FieldSignatures()),
        allow_inspection=False,
        store_source=False,
        resolve_aliases=True,
        resolve_external=False,
    )
    assert isinstance(loaded, griffe.Module)
    _inline_constant_defaults(loaded)
    return loaded


def _inline_constant_defaults(package: griffe.Module) -> None:
    """A default that names a constant of the package (``timeout=_settings.DEFAULT_TIMEOUT``) becomes the
    constant's value (``60.0``): defaults are compared by value, not by where the constant lives."""

    def constant(default: object) -> str | None:
        for _ in range(5):  # a constant defined as another constant
            if not isinstance(default, griffe.ExprName | griffe.ExprAttribute):
                return None
            path = default.canonical_path
            if not path.startswith(package.path + "."):
                return None
            target = _lookup(package, path)
            if not isinstance(target, griffe.Attribute) or target.value is None:
                return None
            if not isinstance(target.value, griffe.ExprName | griffe.ExprAttribute):
                return str(target.value)
            default = target.value
        return None

    def visit(obj: griffe.Module | griffe.Class) -> None:
        for member in obj.members.values():
            if isinstance(member, griffe.Function):
                for parameter in member.parameters:
                    if (value := constant(parameter.default)) is not None:
                        parameter.default = value
            elif isinstance(member, griffe.Module | griffe.Class):
                visit(member)

    visit(package)


def _reattach_bases(obj: griffe.Module | griffe.Class) -> None:
    """griffe's JSON loader leaves class bases without their scope: give it back, so they resolve again."""
    for member in obj.members.values():
        if isinstance(member, griffe.Class):
            for base in member.bases:
                if isinstance(base, griffe.Expr):
                    for element in base:
                        if isinstance(element, griffe.ExprName):
                            element.parent = obj
                        elif isinstance(element, griffe.ExprAttribute) and isinstance(element.first, griffe.ExprName):
                            element.first.parent = obj
        if isinstance(member, griffe.Class | griffe.Module):
            _reattach_bases(member)


@dataclass
class Snapshot:
    version: str
    package: griffe.Module


def read_snapshot(path: Path = SNAPSHOT) -> Snapshot:
    if not path.is_file():
        raise ApiCheckError(f"no snapshot at {path}: take the first one with `make api-snapshot`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_hook=griffe.json_decoder)
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiCheckError(f"{path}: not a snapshot written by this script ({exc})") from None
    package = data.get("api") if isinstance(data, dict) else None
    if not isinstance(package, griffe.Module) or not isinstance(data.get("version"), str):
        raise ApiCheckError(f"{path}: not a snapshot written by this script (no version or api)")
    collection = griffe.ModulesCollection()
    collection.set_member(package.path, package)
    package._modules_collection = collection  # what griffe's loader sets; the JSON loader cannot
    _reattach_bases(package)
    return Snapshot(data["version"], package)


# --- the public surface --------------------------------------------------------------------------------------


@dataclass
class Surface:
    """The public objects of a package, by public path (``"SpeakerAudioClient.close"``, ``"errors.NotFoundError"``)."""

    objects: dict[str, griffe.Object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # public names that do not resolve
    exports: dict[str, list[str]] = field(default_factory=dict)  # module public path ("" for the root) -> __all__


def _is_public_member(name: str) -> bool:
    return not name.startswith("_") or name in PROTOCOL_DUNDERS


def _in_package(obj: griffe.Object, package: griffe.Module) -> bool:
    return obj.path == package.path or obj.path.startswith(package.path + ".")


def public_surface(package: griffe.Module) -> Surface:
    surface = Surface()

    def resolve(member: griffe.Object | griffe.Alias, public: str) -> griffe.Object | None:
        if not isinstance(member, griffe.Alias):
            return member
        try:
            target = member.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            if member.target_path.startswith(package.path + "."):
                surface.problems.append(f"`{public}` is public but does not resolve (to {member.target_path})")
            return None
        return target if isinstance(target, griffe.Object) else None

    def visit_module(module: griffe.Module, prefix: str) -> None:
        exports = [name for name in (module.exports or []) if isinstance(name, str)]
        surface.exports[prefix.rstrip(".")] = exports
        for name in exports:
            if name not in module.members:
                surface.problems.append(f"`{prefix}{name}` is in __all__ but not defined or imported")
        for name, member in module.members.items():
            if not member.is_public:
                continue
            obj = resolve(member, prefix + name)
            if obj is None:
                continue
            if isinstance(obj, griffe.Module) and not isinstance(member, griffe.Alias):
                surface.objects[prefix + name] = obj
                visit_module(obj, f"{prefix}{name}.")
            else:
                visit_object(obj, prefix + name)

    def visit_object(obj: griffe.Object, public: str) -> None:
        surface.objects[public] = obj
        if not isinstance(obj, griffe.Class) or not _in_package(obj, package):
            return
        for name, member in obj.all_members.items():
            if _is_public_member(name):
                target = resolve(member, f"{public}.{name}")
                if target is not None:
                    visit_object(target, f"{public}.{name}")

    visit_module(package, "")
    return surface


def ancestors(cls: griffe.Class) -> set[str]:
    """Canonical paths of every base of ``cls``, transitively (bases outside the package as written)."""
    found: set[str] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        for base in current.bases:
            path = base.canonical_path if isinstance(base, griffe.Expr) else str(base)
            if path in found:
                continue
            found.add(path)
            resolved = _resolve_base(current, base)
            if resolved is not None:
                pending.append(resolved)
    return found


def _by_public_identity(paths: set[str]) -> set[str]:
    """Base paths with a private module of the package written ``<private>``: a base class that moves between
    private modules (``speaker_audio._base.X`` -> ``speaker_audio._client_settings.X``) is the same base to a
    consumer, who can import neither; one that is gone, or renamed, still counts as lost."""
    normal: set[str] = set()
    for path in paths:
        parts = path.split(".")
        if parts[0] == PACKAGE and any(part.startswith("_") for part in parts[1:-1]):
            path = f"{PACKAGE}.<private>.{parts[-1]}"
        normal.add(path)
    return normal


def coverage_problems(package: griffe.Module) -> list[str]:
    """What a snapshot of ``package`` would miss: names, signatures, result attributes, error bases."""
    surface = public_surface(package)
    problems = list(surface.problems)
    for name in surface.exports.get("", []):
        obj = surface.objects.get(name)
        if obj is None:
            problems.append(f"`{name}` (in __all__) is not in the surface")
        elif isinstance(obj, griffe.Class) and _in_package(obj, package) and "__init__" not in obj.all_members:
            bases = ancestors(obj)
            if not any(base.startswith(package.path + ".") for base in bases) and not bases & {
                "Exception",
                "BaseException",
            }:
                problems.append(f"`{name}`: no constructor signature")
    for name in RESULT_CLASSES:
        cls = surface.objects.get(name)
        fields = [p for p in surface.objects if p.startswith(f"{name}.") and p.count(".") == 1]
        init = surface.objects.get(f"{name}.__init__")
        if not isinstance(cls, griffe.Class) or not fields:
            problems.append(f"result class `{name}`: no attributes")
        elif not isinstance(init, griffe.Function) or len(init.parameters) < 2:
            problems.append(f"result class `{name}`: no constructor signature")
    for name in surface.exports.get("errors", []):
        cls = surface.objects.get(f"errors.{name}")
        if isinstance(cls, griffe.Class) and name.endswith("Error") and not cls.bases:
            problems.append(f"error class `errors.{name}`: no bases")
    return problems


# --- snapshot ------------------------------------------------------------------------------------------------


def _prune(package: griffe.Module, surface: Surface) -> None:
    """Drop what the public surface does not reach: private helpers and members, unused private modules."""
    keep: set[str] = set()
    for public, obj in surface.objects.items():
        keep.add(obj.path)
        parts = public.split(".")  # the aliases on the public path (the package's and submodules' exports)
        for i in range(1, len(parts) + 1):
            keep.add(".".join([package.path, *parts[:i]]))
            if not isinstance(surface.objects.get(".".join(parts[:i])), griffe.Module):
                break
        if isinstance(obj, griffe.Class):  # bases inside the package: inherited members resolve through them
            keep.update(base for base in ancestors(obj) if base.startswith(package.path + "."))
    for path in list(keep):  # the imports that the kept classes' bases are written with
        obj = package.modules_collection.get_member(path)
        if isinstance(obj, griffe.Class) and isinstance(obj.parent, griffe.Object):
            for base in obj.bases:
                first = next(iter(base), None) if isinstance(base, griffe.Expr) else None
                if isinstance(first, griffe.ExprName) and first.name in obj.parent.members:
                    keep.add(f"{obj.parent.path}.{first.name}")
    needed = {".".join(path.split(".")[:i]) for path in keep for i in range(1, path.count(".") + 2)}

    def visit(obj: griffe.Object) -> None:
        for name, member in list(obj.members.items()):
            if member.path not in needed:
                obj.del_member(name)
            elif isinstance(member, griffe.Module | griffe.Class):
                visit(member)

    visit(package)


def _clean(node: Any, root: Path) -> Any:
    """The dumped JSON without docstrings, and with file paths relative to the search path."""
    if isinstance(node, dict):
        cleaned = {}
        for key, value in node.items():
            if key == "docstring":
                continue
            if key == "filepath" and isinstance(value, str):
                path = Path(value)
                value = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
            cleaned[key] = _clean(value, root)
        return cleaned
    if isinstance(node, list):
        return [_clean(item, root) for item in node]
    return node


def version_of(package: griffe.Module) -> str:
    attribute = package.get_member("_version.__version__")
    value = attribute.value if isinstance(attribute, griffe.Attribute) else None
    try:
        version = ast.literal_eval(str(value))
    except (ValueError, SyntaxError):
        version = None
    if not isinstance(version, str):
        raise ApiCheckError(f"no literal __version__ in {package.path}._version")
    return version


def snapshot_text(package: griffe.Module, search_path: Path) -> str:
    """The snapshot of ``package`` (which this prunes): its version and its public surface as griffe dumps it."""
    version = version_of(package)
    problems = coverage_problems(package)
    if problems:
        raise ApiCheckError("the snapshot would not cover the public API:\n" + "\n".join(f"  {p}" for p in problems))
    _prune(package, public_surface(package))
    api = json.loads(json.dumps(package, cls=griffe.JSONEncoder, full=False))
    document = {
        "about": "speaker_audio's public API at the last release, compared by `make api-check` "
        "(scripts/api_check.py); written by `make api-snapshot` when releasing, never by hand",
        "version": version,
        "griffe": _griffe_version(),
        "api": _clean(api, search_path.resolve()),
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _griffe_version() -> str:
    from importlib.metadata import version

    return version("griffe")


# --- comparison ----------------------------------------------------------------------------------------------


@dataclass
class Break:
    path: str  # public path, "SpeakerAudioClient.wait_for_separation(timeout)" for a parameter
    what: str

    @property
    def line(self) -> str:
        return f"`{self.path}`: {self.what}"

    @property
    def names(self) -> set[str]:
        """The names a CHANGELOG entry may use for it: the object or anything that encloses it."""
        parts = self.path.split("(")[0].split(".")
        found = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        if len(parts) > 1:  # errors.NotFoundError may be named NotFoundError; not "errors" for a member of it
            found.discard(parts[0])
            found.update(".".join(parts[1:i]) for i in range(2, len(parts) + 1))
        return found


@dataclass
class Report:
    current: str
    released: str
    breaks: list[Break]
    notes: list[str]
    problems: list[str]  # public names of the current package that do not resolve
    acknowledged: list[Break] = field(default_factory=list)
    refusal: str = ""  # why the breaks are not accepted as a release

    @property
    def ok(self) -> bool:
        return not self.problems and len(self.acknowledged) == len(self.breaks)


def _public_names(surfaces: list[Surface]) -> dict[str, str]:
    """Canonical path -> the shortest public path that reaches it (root exports before submodules)."""
    names: dict[str, str] = {}
    for surface in surfaces:
        for public, obj in sorted(surface.objects.items(), key=lambda item: (item[0].count("."), item[0])):
            names.setdefault(obj.path, public)
    return names


def _public_path(obj: griffe.Object | griffe.Alias, package: griffe.Module, names: dict[str, str]) -> str:
    path = obj.path
    if path in names:
        return names[path]
    parent, _, last = path.rpartition(".")  # an inherited member is named after the class it was reached from
    if parent in names:
        return f"{names[parent]}.{last}"
    if isinstance(obj, griffe.Alias):
        try:
            target = obj.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            target = None
        if target is not None and target.path in names:
            return names[target.path]
    return path.removeprefix(package.path + ".")


def _describe(breakage: griffe.Breakage) -> tuple[str, str]:
    """``(suffix for the path, what happened)``."""
    kind = griffe.BreakageKind
    old, new = breakage.old_value, breakage.new_value
    if breakage.kind is kind.OBJECT_REMOVED:
        return "", "removed"
    if breakage.kind is kind.PARAMETER_REMOVED:
        return f"({old.name})", "parameter removed (or renamed)"
    if breakage.kind is kind.PARAMETER_CHANGED_REQUIRED:
        return f"({old.name})", "parameter made required (its default was removed)"
    if breakage.kind is kind.PARAMETER_ADDED_REQUIRED:
        return f"({new.name})", "required parameter added"
    if breakage.kind is kind.PARAMETER_MOVED:
        return f"({old.name})", f"positional parameter moved ({breakage.details})"
    if breakage.kind is kind.PARAMETER_CHANGED_KIND:
        return f"({old.name})", f"parameter kind changed: {old.kind.value} -> {new.kind.value}"
    if breakage.kind is kind.PARAMETER_CHANGED_DEFAULT:
        return f"({old.name})", f"default changed: {old.default} -> {new.default}"
    if breakage.kind is kind.OBJECT_CHANGED_KIND:
        return "", f"changed kind: {old.value} -> {new.value}"
    if breakage.kind is kind.RETURN_CHANGED_TYPE:
        return "", f"return type changed: {old} -> {new}"
    return "", f"{breakage.kind.value}: {old} -> {new}"


def find_breaks(old: griffe.Module, new: griffe.Module) -> tuple[list[Break], list[str], list[str]]:
    """``(breaks, notes, problems)`` of ``new`` against ``old``."""
    old_surface, new_surface = public_surface(old), public_surface(new)
    names = _public_names([new_surface, old_surface])
    breaks: list[Break] = []
    notes: list[str] = []
    seen: set[str] = set()

    def add(found: Break) -> None:
        if found.line not in seen:
            seen.add(found.line)
            breaks.append(found)

    for breakage in griffe.find_breaking_changes(old, new):
        if breakage.kind in REPLACED_KINDS:
            continue
        suffix, what = _describe(breakage)
        found = Break(_public_path(breakage.obj, new, names) + suffix, what)
        if breakage.kind in NOTE_KINDS:
            notes.append(found.line)
        else:
            add(found)
    removed = {b.path for b in breaks if b.what == "removed"}
    for module, exports in old_surface.exports.items():
        now = new_surface.exports.get(module)
        if now is None:
            continue  # the module itself is gone: reported above
        prefix = f"{module}." if module else ""
        for name in exports:
            if name not in now and prefix + name not in removed:
                add(Break(prefix + name, f"removed from {module or 'the package'}'s __all__"))
    compared: set[str] = set()
    for public, obj in sorted(old_surface.objects.items(), key=lambda item: (item[0].count("."), item[0])):
        current = new_surface.objects.get(public)
        if not isinstance(obj, griffe.Class) or not isinstance(current, griffe.Class) or obj.path in compared:
            continue
        compared.add(obj.path)
        before, after = _by_public_identity(ancestors(obj)), _by_public_identity(ancestors(current))
        if lost := sorted(before - after):
            was = ", ".join(str(b) for b in obj.bases)
            now_bases = ", ".join(str(b) for b in current.bases)
            add(Break(public, f"no longer derives from {', '.join(lost)} (bases ({was}) -> ({now_bases}))"))
    return breaks, notes, new_surface.problems


def _major(version: str) -> int:
    match = re.match(r"(\d+)\.", version)
    if match is None:
        raise ApiCheckError(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    return int(match[1])


def _changelog_names(body: str) -> set[str]:
    """The backticked names in the entries that announce a break: under Removed or Changed, or marked BREAKING."""
    found: set[str] = set()
    for title, text in changelog.bullets(body):
        if title in ("Removed", "Changed") or "breaking" in text.lower():
            for span in re.findall(r"`([^`]+)`", text):
                name = span.strip().split("(")[0].removeprefix(f"{PACKAGE}.")
                found.add(name)
    return found


def check(search_path: Path = SEARCH_PATH, snapshot_path: Path = SNAPSHOT, changelog_path: Path = CHANGELOG) -> Report:
    released = read_snapshot(snapshot_path)
    package = load_current(search_path)
    current = version_of(package)
    breaks, notes, problems = find_breaks(released.package, package)
    report = Report(current, released.version, breaks, notes, problems)
    if not breaks:
        return report
    if _major(current) <= _major(released.version):
        report.refusal = (
            f"the major version is still {_major(current)} ({current}; the snapshot is {released.version}): "
            f"a break needs {_major(released.version) + 1}.0.0 in {PACKAGE}/_version.py"
        )
        return report
    text = changelog_path.read_text(encoding="utf-8") if changelog_path.is_file() else ""
    sections = [body for v in (current, changelog.UNRELEASED) if (body := changelog.section(text, v)) is not None]
    named = set().union(*map(_changelog_names, sections))
    report.acknowledged = [b for b in breaks if b.names & named]
    if len(report.acknowledged) < len(breaks):
        report.refusal = (
            f"{changelog_path.name} does not name every break in ## [{current}] or ## [{changelog.UNRELEASED}]: "
            "add an entry under ### Removed or ### Changed (or marked BREAKING) naming it in backticks"
        )
    return report


def render(report: Report, snapshot_path: Path) -> Iterator[str]:
    yield f"public API: {PACKAGE} {report.current} against {snapshot_path.name} (released {report.released})"
    for problem in report.problems:
        yield f"  problem: {problem}"
    for found in report.breaks:
        yield f"  {'released as a break' if found in report.acknowledged else 'BREAKING'}: {found.line}"
    for note in report.notes:
        yield f"  note: {note}"
    if report.ok:
        if report.breaks:
            yield f"ok: {len(report.breaks)} break(s) released in {report.current} (major bump and CHANGELOG entry)"
        else:
            yield "ok: no breaking change (additions are fine)"
        return
    unacknowledged = len(report.breaks) - len(report.acknowledged)
    if unacknowledged:
        yield f"{unacknowledged} breaking change(s): {report.refusal}"
        yield "  (or restore what broke; see 'Versions and compatibility' in docs/api-contract.md)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshot", action="store_true", help="check, then write the snapshot (the release step)")
    parser.add_argument(
        "--force", action="store_true", help="with --snapshot: write it even when the check fails (a first snapshot)"
    )
    parser.add_argument("--search-path", type=Path, default=SEARCH_PATH, help="folder holding speaker_audio/")
    parser.add_argument("--snapshot-file", type=Path, default=SNAPSHOT, help="default: %(default)s")
    parser.add_argument("--changelog", type=Path, default=CHANGELOG, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        if args.snapshot and (args.force or not args.snapshot_file.exists()):
            ok = True
        else:
            report = check(args.search_path, args.snapshot_file, args.changelog)
            for line in render(report, args.snapshot_file):
                print(line)
            ok = report.ok
        if not args.snapshot:
            return 0 if ok else 1
        if not ok:
            print("snapshot not written: the check fails", file=sys.stderr)
            return 1
        text = snapshot_text(load_current(args.search_path), args.search_path)
    except ApiCheckError as exc:
        print(f"api_check: error: {exc}", file=sys.stderr)
        return 2
    args.snapshot_file.write_text(text, encoding="utf-8")
    print(f"wrote {args.snapshot_file} ({json.loads(text)['version']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

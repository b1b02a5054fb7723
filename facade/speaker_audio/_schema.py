"""Response validation derived from the pinned spec (sans-I/O): one walk checks a body and finds its drift.

``make generate`` ships the spec it generated from inside the generated package (``speaker_audio_api/openapi.json``),
so the schemas enforced here and the generated models come from the same pin. :func:`response_validator` builds an
operation's validator, called as ``validator(document, strict=...)``. With ``strict=True`` it accepts what JSON Schema
(as OpenAPI 3.1 uses it) accepts, numbers finite; with ``strict=False`` also additive drift: what the schema accepts
with each ``enum``/``const`` of strings or numbers opened to any string or finite number and each object open.
It returns the drift seen (``()`` when the body is what the pin describes), members that ``properties`` do not declare
included, and else raises ``ResponseValidationError`` naming the JSON pointer at fault. Annotations (``format``
too) never fail a body. A keyword outside ``_KEYWORDS``, or a ``pattern`` Python's ``re`` cannot compile, raises
``UnsupportedSchemaError`` when that operation's validator is built, for that operation only.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import reprlib
import sys
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from speaker_audio._drift import UNKNOWN_ENUM_VALUE, UNKNOWN_MEMBER, SpecDrift, printable
from speaker_audio.errors import ResponseValidationError, UnsupportedSchemaError

__all__ = ["MAX_DEPTH", "SPEC_RESOURCE", "UnsupportedSchemaError", "Validator"]
__all__ += ["compile_validator", "load_spec", "response_schema", "response_validator"]

SPEC_RESOURCE = "openapi.json"
MAX_DEPTH = 100  # nested $refs a body may go through (recursive schemas); deeper is a ResponseValidationError
_REF_PREFIX = "#/components/schemas/"
_BEHIND = "the server's response no longer matches the pinned spec (re-pin with `make pin`)"
_ANNOTATIONS = frozenset(  # keywords that describe but never constrain (JSON Schema annotations, OpenAPI extras)
    {"title", "description", "example", "examples", "default", "deprecated", "readOnly", "writeOnly", "format"}
    | {"$comment", "externalDocs", "xml", "contentMediaType", "contentEncoding"}
)
_TYPES = {"null": "null", "boolean": "a boolean", "object": "an object", "array": "an array", "number": "a number"}
_TYPES |= {"integer": "an integer", "string": "a string"}
_ACCEPTS: dict[str, list[tuple[type, Callable[[Any], bool] | None]]] = {  # type -> (json.loads type, its test)
    "null": [(type(None), None)],
    "boolean": [(bool, None)],
    "object": [(dict, None)],
    "array": [(list, None)],
    "string": [(str, None)],
    "integer": [(int, None), (float, float.is_integer)],  # JSON Schema counts 1.0 as an integer
    "number": [(int, lambda v: -sys.float_info.max <= v <= sys.float_info.max), (float, math.isfinite)],
}
_KINDS = {kind: name for name, accepted in _ACCEPTS.items() for kind, _ in accepted}  # "number" last: int, float
# bounds: keyword -> (the type whose len() it bounds, or None: numbers), the test a value must pass
_LIMITS: dict[str, tuple[type | None, Callable[[Any, Any], bool]]] = {
    "minimum": (None, operator.ge),
    "maximum": (None, operator.le),
    "exclusiveMinimum": (None, operator.gt),
    "exclusiveMaximum": (None, operator.lt),
    **{f"min{name}": (kind, operator.ge) for name, kind in (("Length", str), ("Items", list), ("Properties", dict))},
    **{f"max{name}": (kind, operator.le) for name, kind in (("Length", str), ("Items", list), ("Properties", dict))},
}
_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties")
_COMBINERS = ("anyOf", "oneOf", "allOf")
_KEYWORDS = frozenset({"$ref", "type", "nullable", "enum", "const", "items", "pattern", *_OBJECT_KEYWORDS})
_KEYWORDS |= {"not", "uniqueItems", "multipleOf", *_COMBINERS, *_LIMITS}  # scripts/spec_diff.py: others break
_MAP = object()  # in a walk's path: the next part is a map key (additionalProperties), not a declared member
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlevel, _REPR.maxdict, _REPR.maxlist = 60, 60, 2, 4, 4


class Validator(Protocol):
    def __call__(self, document: object, *, strict: bool = True) -> tuple[SpecDrift, ...]:
        """The drift in ``document`` (a ``json.loads`` value); ``ResponseValidationError`` if it does not fit."""


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The spec the generated package was built from (``speaker_audio_api/openapi.json``)."""
    import importlib.resources

    spec: Mapping[str, Any] = json.loads(
        importlib.resources.files("speaker_audio_api").joinpath(SPEC_RESOURCE).read_bytes()
    )
    return spec


def _get(node: object, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def response_schema(operation_id: str, status: str = "200", spec: Mapping[str, Any] | None = None) -> Any:
    """The JSON schema of ``operation_id``'s ``status`` response (``application/json``); else UnsupportedSchemaError."""
    paths = _get(load_spec() if spec is None else spec, "paths")
    for item in paths.values() if isinstance(paths, Mapping) else ():
        for operation in item.values() if isinstance(item, Mapping) else ():
            if _get(operation, "operationId") == operation_id:
                media = _get(operation, "responses", status, "content", "application/json")
                if not isinstance(media, Mapping) or "schema" not in media:
                    raise UnsupportedSchemaError(f"the pinned spec gives {operation_id} {status} no JSON schema")
                return media["schema"]
    raise UnsupportedSchemaError(f"the pinned spec has no operation {operation_id!r}")


def response_validator(operation_id: str, status: str = "200") -> Validator:
    """``operation_id``'s validator, built once; ``UnsupportedSchemaError`` at every call if it cannot be built."""
    built = _build(operation_id, status)
    if isinstance(built, UnsupportedSchemaError):
        raise UnsupportedSchemaError(*built.args)
    return built


@functools.cache
def _build(operation_id: str, status: str) -> Validator | UnsupportedSchemaError:
    try:
        schema = response_schema(operation_id, status)
        return compile_validator(schema, load_spec(), f"{operation_id} response", operation_id)
    except UnsupportedSchemaError as error:
        return error


def compile_validator(schema: Any, spec: Mapping[str, Any], where: str, operation: str | None = None) -> Validator:
    """A validator of ``schema`` (``$ref``s into ``spec``); messages start with ``where``, drifts name ``operation``.

    Raises:
        UnsupportedSchemaError: ``schema`` uses a keyword or a ``pattern`` this validator cannot enforce.
    """
    try:
        root = _Compiler(_get(spec, "components", "schemas")).compile(schema, "#")
    except (UnsupportedSchemaError, RecursionError) as error:
        cause = "nested too deeply" if isinstance(error, RecursionError) else error
        raise UnsupportedSchemaError(f"{where}: the pinned schema cannot be enforced: {cause}") from None
    name = where if operation is None else operation

    def validate(document: object, *, strict: bool = True) -> tuple[SpecDrift, ...]:
        walk = _Walk(name, strict)
        try:
            message = _check(root, document, walk)
        except RecursionError:  # deep data in a deep schema (or deep enum values): the path says where
            message = walk.fail("nested too deeply to validate")
        if message is not None:
            raise ResponseValidationError(f"{where}: {message}; {_BEHIND}")
        return tuple(walk.drifts) if walk.drifts else ()

    return validate


class _Walk:
    """One validation: its mode, where it is in the body (keys and indexes), the drift seen so far."""

    __slots__ = ("drifts", "operation", "path", "refs", "strict")

    def __init__(self, operation: str, strict: bool) -> None:
        self.operation, self.strict, self.refs = operation, strict, 0
        self.path: list[object] = []
        self.drifts: list[SpecDrift] = []

    def pointer(self, wild: bool = False) -> str:
        """The JSON pointer to here; with ``wild``, array indexes and map keys are ``*``."""
        parts, key = [], False
        for part in self.path:
            if part is not _MAP:
                text = "*" if wild and (key or isinstance(part, int)) else str(part)
                parts.append("/" + text.replace("~", "~0").replace("/", "~1"))
            key = part is _MAP
        return "".join(parts)

    def fail(self, text: str) -> str:
        return f"{printable(self.pointer()) or 'the body'}: {text}"

    def drift(self, kind: str, detail: str) -> None:
        self.drifts.append(SpecDrift(self.operation, self.pointer(), kind, detail, self.pointer(wild=True)))


_Check = Callable[[Any, _Walk], str | None]  # (value, walk) -> an error message, or None when it fits


class _Node:
    """A compiled schema: what each of its keywords asks (``_check`` reads it; it never changes once built)."""

    __slots__ = (
        *("branches", "closed", "extra", "items", "label", "members", "nullable", "others", "ref", "required"),
        *("types", "accepts", "more", "undeclared", "values"),
    )

    def __init__(self) -> None:
        self.types: tuple[str, ...] = ()
        self.accepts: dict[type, Callable[[Any], bool] | None] = {}  # type(value) -> its test (None: it fits)
        self.more = False  # anything to check beyond "type" and "nullable"
        self.label = ""  # e.g. "a string or null"
        self.nullable = self.closed = self.undeclared = False
        self.values: _Values | None = None
        self.ref: _Node | None = None
        self.members: dict[str, _Node] | None = None  # with any of properties, required, additionalProperties
        self.required: tuple[str, ...] = ()
        self.extra: _Node | None = None
        self.items: _Node | None = None
        self.branches: list[tuple[str, list[_Node]]] = []
        self.others: list[_Check] = []


class _Values:
    """``enum`` or ``const``: the values listed, and the kinds (string, number) a tolerant walk opens it to."""

    def __init__(self, options: tuple[object, ...], const: bool) -> None:
        self.options, self.const = options, const
        self.opens = {_open_kind(option) for option in options} - {None}
        self.pinned = ", ".join(o if isinstance(o, str) else _shown(o, as_json=True) for o in options)

    def check(self, value: object, walk: _Walk) -> str | None:
        if any(_json_equal(value, option) for option in self.options):
            return None
        if not walk.strict and _open_kind(value) in self.opens:
            walk.drift(UNKNOWN_ENUM_VALUE, f"{_shown(value)} (pinned: {self.pinned})")
            return None
        if self.const:
            return walk.fail(f"must be {_shown(self.options[0], as_json=True)}")
        return walk.fail(f"unknown value {_shown(value, as_json=True)} (the pinned spec allows {self.pinned})")


def _check(node: _Node, value: Any, walk: _Walk) -> str | None:
    """The first problem with ``value`` under ``node`` (a message naming its pointer), else None.

    Drift goes onto ``walk.drifts``; ``walk.path`` is where ``value`` is in the body (each push popped on return).
    """
    if value is None and node.nullable:
        return None
    if node.types:
        test = node.accepts.get(type(value), _never)
        if test is not None and not test(value):
            return walk.fail(_type_problem(node, value))
    if not node.more:
        return None
    if node.values is not None and (message := node.values.check(value, walk)) is not None:
        return message
    if node.ref is not None:
        if walk.refs >= MAX_DEPTH:
            return walk.fail(f"nested more than {MAX_DEPTH} levels deep")
        walk.refs += 1
        message = _check(node.ref, value, walk)
        walk.refs -= 1
        if message is not None:
            return message
    if node.members is not None and isinstance(value, dict) and (message := _check_members(node, value, walk)):
        return message
    if node.items is not None and isinstance(value, list):
        path = walk.path
        for index, item in enumerate(value):
            path.append(index)
            message = _check(node.items, item, walk)
            path.pop()
            if message is not None:
                return message
    for keyword, options in node.branches or ():
        if (message := _check_branches(keyword, options, value, walk)) is not None:
            return message
    for other in node.others or ():
        if (message := other(value, walk)) is not None:
            return message
    return None


def _type_problem(node: _Node, value: object) -> str:
    """Why ``value`` does not fit ``node``'s ``type``."""
    if "number" in node.types and _is_number(value):
        return "must be a finite number"
    return f"expected {node.label}, got {_KINDS.get(type(value), type(value).__name__)}"


def _check_members(node: _Node, value: dict[Any, Any], walk: _Walk) -> str | None:
    """``properties``, ``required`` and ``additionalProperties``: the first problem, else None (drift on ``walk``)."""
    path, members, message = walk.path, node.members or {}, None
    for name in node.required:
        if name not in value:
            path.append(name)
            message = walk.fail("required member missing")
            path.pop()
            return message
    for name, item in value.items():
        member = members.get(name)
        if member is not None:
            path.append(name)
            message = _check(member, item, walk)
            path.pop()
        elif node.extra is not None:
            path += (_MAP, name)
            message = _check(node.extra, item, walk)
            del path[-2:]
        elif node.closed or node.undeclared:
            path.append(name)
            if node.closed and walk.strict:
                message = walk.fail("member not allowed by the pinned spec")
            else:  # allowed (undeclared in properties), or tolerated (additionalProperties: false) as drift
                walk.drift(UNKNOWN_MEMBER, f"member {_shown(name)} (value {_shown(item)})")
            path.pop()
        if message is not None:
            return message
    return None


def _check_branches(keyword: str, options: list[_Node], value: object, walk: _Walk) -> str | None:
    """``allOf``, ``anyOf`` (an exact match preferred to one with drift) or ``oneOf``; the match's drift kept."""
    if keyword == "allOf":
        return next((m for option in options if (m := _check(option, value, walk)) is not None), None)
    if keyword == "anyOf" and any(_fits_simply(option, value) for option in options):
        return None  # e.g. null beside an object (a nullable member): no message to build for the other branch
    drifts, messages, found = walk.drifts, [], []
    mark = len(drifts)
    for option in options:
        message = _check(option, value, walk)
        if message is None and len(drifts) == mark and keyword == "anyOf":
            return None
        if message is None:
            found.append(drifts[mark:])
        else:
            messages.append(message)
        del drifts[mark:]
    if not found:
        return _none_matched(messages, walk)
    if len(found) > 1 and keyword == "oneOf":
        return walk.fail(f"matches {len(found)} alternatives, the pinned spec wants exactly one")
    best: list[SpecDrift] = min(found, key=len)
    drifts += best
    return None


def _none_matched(messages: list[str], walk: _Walk) -> str:
    """One message for a value that fits none of the alternatives: the closest one's, when clear."""
    top = walk.fail("expected ")
    deeper = [m for m in messages if not m.startswith(top)]
    if len(deeper) == 1:
        return deeper[0]  # the value had the right type for one alternative: that one's own message
    if deeper:
        return walk.fail(f"fits none of the alternatives the pinned spec allows ({'; '.join(messages)})")
    wanted = " or ".join(m[len(top) :].rsplit(", got ", 1)[0] for m in messages)
    return f"{top}{wanted}, got {messages[0].rsplit(', got ', 1)[1]}"


def _fits_simply(node: _Node, value: object) -> bool:
    """Whether ``value`` fits ``node`` by its type alone (a node with nothing more to check)."""
    if node.more:
        return False
    if value is None and node.nullable:
        return True
    return bool(node.types) and node.accepts.get(type(value), _never) is None


def _never(value: object) -> bool:
    return False


def _either(first: Callable[[Any], bool], second: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return first if first is second else lambda value: first(value) or second(value)


def _limit(keyword: str, limit: float) -> _Check:
    sized: Any
    sized, test = _LIMITS[keyword]
    text = f"violates {keyword} {limit}"
    if sized is None:
        return lambda value, walk: walk.fail(text) if _is_number(value) and not test(value, limit) else None
    return lambda value, walk: walk.fail(text) if isinstance(value, sized) and not test(len(value), limit) else None


def _multiple_of(divisor: float) -> _Check:
    def check(value: Any, walk: _Walk) -> str | None:
        try:  # exact for an int divisor; for a float one as jsonschema does
            fits = not _is_number(value) or (
                value % divisor == 0 if isinstance(divisor, int) else float(value / divisor).is_integer()
            )
        except OverflowError:
            fits = False
        return None if fits else walk.fail(f"must be a multiple of {divisor}")

    return check


def _unique(value: object, walk: _Walk) -> str | None:
    for index, item in enumerate(value if isinstance(value, list) else ()):
        if any(_json_equal(item, other) for other in value[:index]):  # type: ignore[index]
            return walk.fail(f"items must be unique (item {index} repeats an earlier one)")
    return None


def _not(forbidden: _Node) -> _Check:
    def check(value: object, walk: _Walk) -> str | None:
        strict, mark = walk.strict, len(walk.drifts)
        walk.strict = True  # judged by the pinned schema: widening it would narrow what the body may be
        message = _check(forbidden, value, walk)
        walk.strict = strict
        del walk.drifts[mark:]
        return walk.fail("matches a schema the pinned spec forbids") if message is None else None

    return check


def _pattern(pattern: str, at: str) -> _Check:
    try:
        regex = re.compile(pattern)
    except (re.error, OverflowError, ValueError, Warning) as error:  # Warning: FutureWarning run as an error
        raise UnsupportedSchemaError(f"{at}: {pattern!r} is not a pattern Python's re can run ({error})") from None
    text = f"does not match the pattern {pattern!r}"
    return lambda value, walk: walk.fail(text) if isinstance(value, str) and not regex.search(value) else None


class _Compiler:
    """Turns a schema into ``_Node``s; each ``$ref`` is compiled once (so a schema may refer to itself)."""

    def __init__(self, components: object) -> None:
        self._components = components if isinstance(components, Mapping) else {}
        self._refs: dict[str, _Node] = {}

    def compile(self, schema: object, at: str, node: _Node | None = None) -> _Node:
        """``schema`` as a ``_Node``.

        Args:
            schema: a JSON schema (an object or a boolean).
            at: where it is in the spec (a JSON pointer), for messages.
            node: the node to fill (a ``$ref`` target, registered before it compiles); by default a new one.

        Raises:
            UnsupportedSchemaError: a keyword outside ``_KEYWORDS`` and the annotations, or a value of one that this
                validator cannot enforce (a ``pattern`` Python's ``re`` cannot compile, a non-local ``$ref`` ...).
        """
        node = _Node() if node is None else node
        if schema is False:
            node.others, node.more = [lambda value, walk: walk.fail("no value is allowed here")], True
        if isinstance(schema, bool):
            return node
        if not isinstance(schema, Mapping):
            raise UnsupportedSchemaError(f"{at}: a schema must be an object or a boolean, got {_shown(schema)}")
        for keyword, argument in schema.items():
            here = f"{at}/{keyword}"
            if keyword in _ANNOTATIONS or keyword in _OBJECT_KEYWORDS or str(keyword).startswith("x-"):
                continue
            if keyword == "type":
                names = tuple(argument) if isinstance(argument, list) else (argument,)
                if not names or not all(isinstance(name, str) and name in _TYPES for name in names):
                    raise UnsupportedSchemaError(f"{here}: unsupported type {argument!r}")
                node.types, node.label = names, " or ".join(_TYPES[name] for name in names)
                for kind, test in (pair for name in names for pair in _ACCEPTS[name]):
                    old = node.accepts.setdefault(kind, test)  # two tests (integer, number): either may pass
                    node.accepts[kind] = None if old is None or test is None else _either(old, test)
            elif keyword == "nullable" and isinstance(argument, bool):
                node.nullable = argument  # OpenAPI 3.0's spelling of "or null"
            elif (keyword == "enum" and isinstance(argument, list) and argument) or keyword == "const":
                node.values = _Values(tuple(argument) if keyword == "enum" else (argument,), keyword == "const")
            elif keyword == "$ref" and isinstance(argument, str) and argument.startswith(_REF_PREFIX):
                node.ref = self._target(argument, here)
            elif keyword == "items":
                node.items = self.compile(argument, here)
            elif keyword in _COMBINERS and isinstance(argument, list) and argument:
                node.branches.append((keyword, [self.compile(sub, f"{here}/{i}") for i, sub in enumerate(argument)]))
            elif keyword in _LIMITS and _is_number(argument) and _is_finite(argument):
                node.others.append(_limit(keyword, argument))
            elif keyword == "pattern" and isinstance(argument, str):
                node.others.append(_pattern(argument, here))
            elif keyword == "multipleOf" and _is_number(argument) and _is_finite(argument) and argument > 0:
                node.others.append(_multiple_of(argument))
            elif keyword == "uniqueItems" and isinstance(argument, bool):
                node.others += [_unique] if argument else []
            elif keyword == "not":
                node.others.append(_not(self.compile(argument, here)))
            elif keyword == "$ref":
                raise UnsupportedSchemaError(f"{here}: only local {_REF_PREFIX}* references are supported")
            elif keyword in _KEYWORDS:
                raise UnsupportedSchemaError(f"{here}: {_shown(argument)} is not a value speaker_audio can enforce")
            else:
                raise UnsupportedSchemaError(
                    f"{here}: JSON Schema keyword {keyword!r} is not enforced by speaker_audio"
                )
        if any(keyword in schema for keyword in _OBJECT_KEYWORDS):
            self._members(node, schema, at)
        node.more = any((node.values, node.ref, node.members is not None, node.items, node.branches, node.others))
        if node.nullable and node.types and "null" not in node.types:
            node.label += " or null"
        return node

    def _target(self, ref: str, at: str) -> _Node:
        name = ref.removeprefix(_REF_PREFIX).replace("~1", "/").replace("~0", "~")
        if name not in self._components:
            raise UnsupportedSchemaError(f"{at}: reference to a missing schema: {ref}")
        if name not in self._refs:  # registered before it compiles: a reference back to it finds it
            self.compile(self._components[name], ref, self._refs.setdefault(name, _Node()))
        return self._refs[name]

    def _members(self, node: _Node, schema: Mapping[str, Any], at: str) -> None:
        properties, required = schema.get("properties", {}), schema.get("required", [])
        if not isinstance(properties, Mapping) or not isinstance(required, list):
            raise UnsupportedSchemaError(f"{at}: properties must be an object and required a list")
        if not all(isinstance(name, str) for name in required):
            raise UnsupportedSchemaError(f"{at}/required: must be a list of names, got {_shown(required)}")
        node.members = {name: self.compile(sub, f"{at}/properties/{name}") for name, sub in properties.items()}
        node.required, extra = tuple(required), schema.get("additionalProperties", True)
        node.closed = extra is False
        node.extra = (
            None if isinstance(extra, bool) or extra == {} else self.compile(extra, f"{at}/additionalProperties")
        )
        node.undeclared = "properties" in schema and "additionalProperties" not in schema  # reported as drift


def _shown(value: object, as_json: bool = False) -> str:
    """``value`` for a message, shortened: as JSON text (``as_json``, for scalars) or as Python's repr."""
    if as_json and isinstance(value, str):
        return json.dumps(value[:60]) + ("…" if len(value) > 60 else "")
    if as_json and (value is None or isinstance(value, bool)):
        return json.dumps(value)
    try:
        return _REPR.repr(value)
    except ValueError:  # an int past Python's digit limit
        return "a very long integer"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _open_kind(value: object) -> str | None:
    """What an open enum widens to: a string, or a finite number (booleans and containers stay closed)."""
    return "string" if isinstance(value, str) else "number" if _is_number(value) and _is_finite(value) else None


def _json_equal(a: object, b: object) -> bool:
    """Equality as JSON means it (``true`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b

"""Classify the changes between two pinned OpenAPI fragments from the point of view of this SDK's users.

``diff_fragments(old, new)`` returns one ``Change`` per difference: its class (``breaking``,
``review`` or ``safe``), its kind ("field removed", "enum value added", ...), the subject it names
(an operation, ``Schema.field``, a parameter) and a one-line text. Pure functions on dicts: no files.
``docs/upstream-changes.md`` lists the rule families, the ones left out and why.

Direction matters: the same edit can be harmless in a request and breaking in a response, or the
reverse. The worst applicable class wins when a schema is reached from both a response and a request.

* breaking: operation, parameter, field, enum value, response status code or media type removed; a
  required response header removed or made optional; field renamed (a required field removed and one
  added in the same schema); a type changed, or widened in a response, or narrowed in a request;
  response field made optional or nullable; request field or parameter no longer nullable; request
  gains a required parameter, body or field; parameter made required; a request constraint tightened
  (``maxLength`` lowered, ``pattern`` added, ...); ``contentEncoding`` changed (the facade decodes audio
  members as base64) or ``contentMediaType`` changed; a schema below a response the facade's validator
  cannot compile or enforce (a keyword it does not know, a ``pattern`` Python's ``re`` refuses: that
  operation fails every call until the validator learns it); a renamed generated Python
  name (a title that names a generated class, the first tag, which names the generated module's
  folder); a new field whose Python name collides with a generated model attribute (``to_dict``, ...).
* review: new enum value or new required field in a response; new response status code or media type;
  a new request parameter with a ``default``, or a default added, changed or removed on the request
  side (the SDK never sends spec defaults: the report names the value the server will assume); a
  response constraint changed (the facade's validator enforces it); a type narrowed in a response; a
  recursive ``$ref`` below a response (the validator refuses bodies nested deeper than its bound); an
  operation deprecated; a new response field with a ``format`` (the generated ``from_dict`` parses it);
  another title changed; ``anyOf``/``oneOf``/``allOf`` swapped; fields reordered (the generated
  constructor's order); path-level servers changed; any other structural change this module cannot
  classify, down to a difference it finds no rule for at all (``unclassified change: <JSON pointer>``).
* safe: new optional field, parameter (without a default) or response header, new operation or schema;
  a type widened or a constraint loosened in a request; nullability spelled another way (``nullable:
  true``, a ``"null"`` in the type list and a ``{"type": "null"}`` branch are one thing); upstream's
  operationId changed (the overlay names the generated module); description, summary, example(s) or
  info.version changed.

Nullability, types and enums are read through ``anyOf``/``oneOf`` branches, and ``items`` and
``additionalProperties`` are compared recursively, where the fields of this spec put them. A path
item's own ``parameters`` count as parameters of each of its operations (an operation's parameter of
the same name and place overrides it), as OpenAPI says. ``new_parameters`` lists the request
parameters a re-pin adds, for the report's "usable at once through extra_query / extra_headers".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from openapi_python_client.strings import PythonIdentifier, pascal_case

from compile_validators import ANNOTATIONS, KEYWORDS

# What the facade's response validator enforces, and what it reads as annotations and ignores (``x-`` extensions are
# ignored too), are its compiler's own sets (scripts/compile_validators.py); any other keyword makes it refuse the
# schema. tests/tooling/test_spec.py compiles every JSON Schema keyword and checks the sets against what it does.
FACADE_ENFORCED_KEYWORDS = KEYWORDS
FACADE_IGNORED_KEYWORDS = ANNOTATIONS

Severity = Literal["breaking", "review", "safe"]
Side = Literal["request", "response"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "review", "safe")
BOTH_SIDES: frozenset[Side] = frozenset(("request", "response"))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_PREFIX = "#/components/schemas/"
# wording-only keys: a change there never changes what the SDK sends or accepts
DOC_KEYS = frozenset({"description", "title", "summary", "example", "examples", "externalDocs"})
# schema keys the structural comparison reads itself; anything else lands in the residue
STRUCTURAL_KEYS = frozenset(
    {"type", "anyOf", "oneOf", "enum", "const", "nullable", "items", "additionalProperties", "properties", "required"}
)
COMBINERS = ("anyOf", "oneOf", "allOf")
# keywords the facade's response validator enforces or ignores (any other one makes it refuse the schema)
FACADE_KNOWN_KEYWORDS = FACADE_ENFORCED_KEYWORDS | FACADE_IGNORED_KEYWORDS
# constraints on a value: a lower bound rising, an upper bound falling or one appearing narrows what is valid
LOWER_BOUNDS = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
UPPER_BOUNDS = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})
CONSTRAINTS = LOWER_BOUNDS | UPPER_BOUNDS | {"pattern", "multipleOf", "uniqueItems"}
# the only encoding the facade decodes audio members with
AUDIO_ENCODING = "base64"
# attributes every model openapi-python-client 0.29.1 generates has: a field with that Python name breaks the model
RESERVED_ATTRIBUTES = frozenset({"additional_properties", "additional_keys", "to_dict", "from_dict"})
# path-item keys pin_spec keeps beside the operations
PATH_ITEM_KEYS = ("parameters", "servers")

JSON = Any


@dataclass(frozen=True)
class Change:
    """One classified difference between two fragments."""

    severity: Severity  # the class: breaking, review or safe
    kind: str  # e.g. "field removed"
    subject: str  # e.g. "SpeakerAudioResponseModel.duration_secs"
    text: str  # e.g. "field removed: SpeakerAudioResponseModel.duration_secs"

    @property
    def line(self) -> str:
        """The report line: ``  [breaking] field removed: S.f``."""
        return f"  [{self.severity}] {self.text}"


def worst(severities: Iterable[Severity]) -> Severity:
    """The most severe of ``severities`` (``safe`` when there are none)."""
    return min(severities, key=SEVERITIES.index, default="safe")


def by_side(sides: frozenset[Side], *, response: Severity, request: Severity) -> Severity:
    """The class of a change that is ``response`` on the response side and ``request`` on the request side."""
    picks = [sev for side, sev in (("response", response), ("request", request)) if side in sides]
    return worst(picks or (response, request))


def operations(doc: JSON) -> dict[str, JSON]:
    """``"METHOD /path"`` -> operation object, in document order."""
    return {
        f"{method.upper()} {path}": op
        for path, item in doc.get("paths", {}).items()
        if isinstance(item, dict)
        for method, op in item.items()
        if method in HTTP_METHODS and isinstance(op, dict)
    }


def _parameter_key(parameter: JSON) -> str:
    return f"{parameter.get('in')} {parameter.get('name')}"


def effective_operations(doc: JSON) -> dict[str, JSON]:
    """Like ``operations``, each with its path item's ``parameters`` merged in (the operation's own win)."""
    found: dict[str, JSON] = {}
    for key, op in operations(doc).items():
        shared = doc["paths"][key.split(" ", 1)[1]].get("parameters")
        if not isinstance(shared, list) or not shared:
            found[key] = op
            continue
        own = op.get("parameters", [])
        own = own if isinstance(own, list) else []
        overridden = {_parameter_key(p) for p in own if isinstance(p, dict)}
        inherited = [p for p in shared if not isinstance(p, dict) or _parameter_key(p) not in overridden]
        found[key] = {**op, "parameters": [*inherited, *own]}
    return found


def iter_refs(node: JSON) -> Iterator[str]:
    """Yield every ``$ref`` string found anywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def referenced_schemas(roots: JSON, schemas: dict[str, JSON], *, strict: bool = True) -> set[str]:
    """Names of every component schema reachable from ``roots``.

    ``strict``: a reference that is not ``#/components/schemas/…`` or names a missing schema stops the
    program with a message (pinning); otherwise it is skipped (comparing two fragments).
    """
    found: set[str] = set()
    pending = list(iter_refs(roots))
    while pending:
        ref = pending.pop()
        name = ref.removeprefix(SCHEMA_PREFIX)
        if not ref.startswith(SCHEMA_PREFIX) or name not in schemas:
            if strict:
                problem = (
                    "unsupported reference" if not ref.startswith(SCHEMA_PREFIX) else "reference to a missing schema"
                )
                raise SystemExit(f"{problem}: {ref!r} (only {SCHEMA_PREFIX}* is handled)")
            continue
        if name in found:
            continue
        found.add(name)
        pending.extend(iter_refs(schemas[name]))
    return found


def schema_sides(doc: JSON) -> dict[str, frozenset[Side]]:
    """For each component schema: is it reached from a response, from a request (body or parameters), or both?"""
    schemas = _schemas(doc)
    sides: dict[str, set[Side]] = {}
    for op in effective_operations(doc).values():
        roots: list[tuple[Side, JSON]] = [
            ("response", op.get("responses", {})),
            ("request", [op.get("parameters", []), op.get("requestBody", {})]),
        ]
        for side, root in roots:
            for name in referenced_schemas(root, schemas, strict=False):
                sides.setdefault(name, set()).add(side)
    return {name: frozenset(found) for name, found in sides.items()}


def schema_default(schema: JSON) -> JSON:
    """A schema's ``default``, or its ``anyOf``/``oneOf`` branch's (``None`` when it has none)."""
    if not isinstance(schema, dict):
        return None
    if "default" in schema:
        return schema["default"]
    for combiner in ("anyOf", "oneOf"):
        for branch in schema.get(combiner, []) if isinstance(schema.get(combiner), list) else []:
            if isinstance(branch, dict) and "default" in branch:
                return branch["default"]
    return None


def tag_folder(tags: JSON) -> str:
    """The folder of ``api/`` openapi-python-client 0.29.1 puts an operation's module in: its first tag's."""
    first = tags[0] if isinstance(tags, list) and tags and isinstance(tags[0], str) else "default"
    return str(PythonIdentifier(first, prefix="tag"))


@dataclass(frozen=True)
class NewParameter:
    """A request parameter a re-pin adds to a pinned operation."""

    operation: str  # "METHOD /path"
    location: str  # query, header, path or cookie
    name: str
    required: bool
    default: JSON  # the schema's default, None when it has none


def new_parameters(old: JSON, new: JSON) -> list[NewParameter]:
    """The parameters ``new`` adds to operations ``old`` already had (path-level ones included)."""
    old_ops, new_ops = effective_operations(old), effective_operations(new)
    found = []
    for key, op in new_ops.items():
        if key not in old_ops:
            continue
        had = {_parameter_key(p) for p in old_ops[key].get("parameters", []) if isinstance(p, dict)}
        for param in op.get("parameters", []):
            if isinstance(param, dict) and _parameter_key(param) not in had:
                required = param.get("required") is True or param.get("in") == "path"
                default = schema_default(param.get("schema"))
                found.append(NewParameter(key, str(param.get("in")), str(param.get("name")), required, default))
    return found


def _schemas(doc: JSON) -> dict[str, JSON]:
    schemas = doc.get("components", {}).get("schemas", {})
    return schemas if isinstance(schemas, dict) else {}


@dataclass
class _View:
    """A schema node read through its anyOf/oneOf branches."""

    nullable: bool = False
    types: set[str] = field(default_factory=set)
    enum: list[JSON] = field(default_factory=list)
    items: JSON = None
    additional: JSON = None
    properties: dict[str, JSON] | None = None
    required: list[str] = field(default_factory=list)
    residue: dict[str, JSON] = field(default_factory=dict)
    parts: dict[str, JSON] = field(default_factory=dict)  # the node ("") and its branches, by residue prefix
    null_spellings: set[str] = field(default_factory=set)  # how the node says "null is allowed"


def _view(node: JSON) -> _View:
    view = _View()
    if not isinstance(node, dict):
        view.residue["(value)"] = node
        return view
    parts: list[tuple[str, JSON]] = [("", node)]
    for combiner in ("anyOf", "oneOf"):
        branches = node.get(combiner, [])
        if not isinstance(branches, list):
            view.residue[combiner] = branches
            continue
        parts.extend((f"{combiner}[{_branch_key(b)}].", b) for b in branches)
    for prefix, part in parts:
        view.parts[prefix] = part
        if not isinstance(part, dict):
            view.residue[prefix or "(value)"] = part
            continue
        kinds = part.get("type")
        kind_list = kinds if isinstance(kinds, list) else [kinds] if isinstance(kinds, str) else []
        if "null" in kind_list:
            view.null_spellings.add("a null branch" if kind_list == ["null"] and prefix else '"null" in type')
        if part.get("nullable") is True:
            view.null_spellings.add("nullable: true")
        view.nullable |= "null" in kind_list or part.get("nullable") is True
        view.types.update(k for k in kind_list if k != "null")
        if "$ref" in part:
            view.types.add(str(part["$ref"]).removeprefix(SCHEMA_PREFIX))
        elif prefix and not kind_list and not any(k in part for k in ("anyOf", "oneOf")):
            view.types.add("any")
        for value in [*part.get("enum", []), *([part["const"]] if "const" in part else [])]:
            if value is None:
                view.nullable = True
                view.null_spellings.add("null in enum")
            elif value not in view.enum:
                view.enum.append(value)
        if "items" in part and view.items is None:
            view.items = part["items"]
        if isinstance(part.get("additionalProperties"), dict) and view.additional is None:
            view.additional = part["additionalProperties"]
        if isinstance(part.get("properties"), dict) and view.properties is None:
            view.properties = part["properties"]
            view.required = [r for r in part.get("required", []) if isinstance(r, str)]
        for key, value in part.items():
            read = key == "$ref" or key in STRUCTURAL_KEYS
            if key == "additionalProperties":
                read = isinstance(value, dict)
            elif key == "required":
                read = isinstance(part.get("properties"), dict)
            if not read:
                view.residue[prefix + key] = value
    return view


def _branch_key(branch: JSON) -> str:
    if not isinstance(branch, dict):
        return repr(branch)
    if "$ref" in branch:
        return str(branch["$ref"]).removeprefix(SCHEMA_PREFIX)
    kind = branch.get("type")
    return "|".join(kind) if isinstance(kind, list) else str(kind) if kind else "any"


def _show_types(types: set[str]) -> str:
    return " | ".join(sorted(types)) if types else "any"


def _covers(types: set[str], kind: str) -> bool:
    """Does a value of ``kind`` fit one of ``types``? (``number`` takes integers, no type takes anything.)"""
    return "any" in types or kind in types or (kind == "integer" and "number" in types)


def _type_change(before: set[str], after: set[str], sides: frozenset[Side]) -> tuple[Severity, str]:
    """The class of a type change and how it is described: widened, narrowed or changed, by direction."""
    if all(_covers(after, kind) for kind in before):
        return by_side(sides, response="breaking", request="safe"), " (widened)"
    if all(_covers(before, kind) for kind in after):
        return by_side(sides, response="review", request="breaking"), " (narrowed)"
    return "breaking", ""


def _tightening(keyword: str, was: JSON, now: JSON) -> Literal["tightened", "loosened", "changed"]:
    """Does the change of constraint ``keyword`` from ``was`` to ``now`` (``None``: absent) narrow what is valid?"""
    if keyword == "uniqueItems":
        was, now = was or None, now or None  # false is the same as absent
    if was is None:
        return "tightened"
    if now is None:
        return "loosened"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (was, now)):
        return "changed"  # a pattern replaced, or a boolean exclusiveMinimum (OpenAPI 3.0)
    if keyword in LOWER_BOUNDS:
        return "tightened" if now > was else "loosened"
    if keyword in UPPER_BOUNDS:
        return "tightened" if now < was else "loosened"
    if keyword == "multipleOf" and was > 0 and now > 0:
        if (now / was).is_integer():
            return "tightened"
        if (was / now).is_integer():
            return "loosened"
    return "changed"


def _show_value(value: JSON) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def _makes_a_class(part: JSON) -> bool:
    """Does openapi-python-client generate a class (a model or an enum) for this schema, named from its title?"""
    if not isinstance(part, dict):
        return False
    kinds = part.get("type")
    kind_list = kinds if isinstance(kinds, list) else [kinds]
    return "enum" in part or "properties" in part or "object" in kind_list


def _show_title(title: JSON) -> str:
    return "(none)" if title is None else repr(title)


def python_name(name: str) -> str:
    """The attribute name openapi-python-client gives the field ``name`` (``field_`` is its default prefix)."""
    return str(PythonIdentifier(name, prefix="field_"))


def _walk_schema(node: JSON, place: str, visit: Callable[[dict[str, JSON], str], None]) -> None:
    """Call ``visit(schema, place)`` on ``node`` and every schema below it that the facade's validator compiles.

    Branches of ``anyOf``/``oneOf``/``allOf`` and ``not`` share their parent's place; ``properties`` add
    ``.name``, ``items`` ``[]`` and ``additionalProperties`` ``{}`` (the subjects ``diff_fragments`` uses).
    ``$ref`` is not followed: component schemas are walked by their own name.
    """
    if not isinstance(node, dict):
        return
    visit(node, place)
    properties = node.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            _walk_schema(sub, f"{place}.{name}", visit)
    _walk_schema(node.get("items"), place + "[]", visit)
    _walk_schema(node.get("additionalProperties"), place + "{}", visit)
    _walk_schema(node.get("not"), place, visit)
    for combiner in COMBINERS:
        branches = node.get(combiner)
        for branch in branches if isinstance(branches, list) else []:
            _walk_schema(branch, place, visit)


# (kind, detail) of something below a response that the facade's validator cannot compile or enforce, or bounds
Problem = tuple[str, str]
NOT_ENFORCED = "keyword not enforced by the facade's validator"
NOT_COMPILED = "pattern Python's re cannot compile"
RECURSIVE = "recursive schema"
PROBLEM_SEVERITY: dict[str, Severity] = {NOT_ENFORCED: "breaking", NOT_COMPILED: "breaking", RECURSIVE: "review"}


def facade_problems(doc: JSON) -> dict[str, list[Problem]]:
    """Place -> what below a response the facade's validator cannot compile or enforce, or enforces with a bound.

    A keyword it neither enforces nor ignores and a ``pattern`` Python's ``re`` refuses (ECMA-262 ``\\p{L}`` or
    ``(?<name>…)``) make it refuse the operation's schema; a component schema that reaches itself through ``$ref``
    is validated down to ``MAX_DEPTH`` (``speaker_audio._schema``) nested levels, and a deeper body is refused.
    """
    found: dict[str, list[Problem]] = {}

    def note(place: str, problem: Problem) -> None:
        listed = found.setdefault(place, [])
        if problem not in listed:
            listed.append(problem)

    def visit(schema: dict[str, JSON], place: str) -> None:
        for keyword, argument in schema.items():
            if keyword.startswith("x-"):
                continue
            if keyword not in FACADE_KNOWN_KEYWORDS:
                note(place, (NOT_ENFORCED, f"{keyword!r} (extend scripts/compile_validators.py)"))
            elif keyword == "pattern" and keyword in FACADE_ENFORCED_KEYWORDS and isinstance(argument, str):
                try:
                    re.compile(argument)
                except re.error as exc:
                    note(place, (NOT_COMPILED, f"{argument!r} (Python's re: {exc})"))

    for key, op in effective_operations(doc).items():
        responses = op.get("responses")
        for code, response in responses.items() if isinstance(responses, dict) else []:
            content = response.get("content") if isinstance(response, dict) else None
            for media, body in content.items() if isinstance(content, dict) else []:
                if isinstance(body, dict):
                    _walk_schema(body.get("schema"), f"{key}: {code} {media}", visit)
    schemas = _schemas(doc)
    response_side = sorted(name for name, sides in schema_sides(doc).items() if "response" in sides)
    for name in response_side:
        _walk_schema(schemas[name], name, visit)
    for name in response_side:
        cycle = _cycle_through(name, schemas)
        if cycle:
            detail = f"{' -> '.join(cycle)} (the facade refuses a body nested deeper than its validator's MAX_DEPTH)"
            note(name, (RECURSIVE, detail))
    return found


def _cycle_through(name: str, schemas: dict[str, JSON]) -> list[str]:
    """The shortest ``$ref`` path from component ``name`` back to itself (``[]`` when there is none)."""
    came_from: dict[str, str] = {}
    queue = [name]
    while queue:
        here = queue.pop(0)
        for ref in iter_refs(schemas.get(here)):
            target = ref.removeprefix(SCHEMA_PREFIX)
            if not ref.startswith(SCHEMA_PREFIX) or target not in schemas:
                continue
            if target == name:
                path = [here]  # back from here to name, then turned around
                while path[-1] != name:
                    path.append(came_from[path[-1]])
                return [*reversed(path), name]
            if target not in came_from:
                came_from[target] = here
                queue.append(target)
    return []


def formats_below(node: JSON, schemas: dict[str, JSON]) -> list[str]:
    """Every ``format`` in ``node`` and the schemas below it, ``$ref``s followed (each component once)."""
    found: list[str] = []
    seen: set[str] = set()

    def visit(schema: dict[str, JSON], place: str) -> None:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt not in found:
            found.append(fmt)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_PREFIX) and ref not in seen:
            seen.add(ref)
            _walk_schema(schemas.get(ref.removeprefix(SCHEMA_PREFIX)), place, visit)

    _walk_schema(node, "", visit)
    return found


def _identical(old: JSON, new: JSON) -> bool:
    """Equal, keys in the same order (a model's fields are its generated constructor's parameters, in order)."""
    return bool(old == new and json.dumps(old) == json.dumps(new))


def first_difference(old: JSON, new: JSON, pointer: str = "") -> str | None:
    """The JSON pointer (RFC 6901) of the first place where ``old`` and ``new`` differ; ``None`` when equal."""
    if old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            here = pointer + "/" + str(key).replace("~", "~0").replace("/", "~1")
            if key not in old or key not in new:
                return here
            found = first_difference(old[key], new[key], here)
            if found is not None:
                return found
    if isinstance(old, list) and isinstance(new, list):
        for index, (before, after) in enumerate(zip(old, new, strict=False)):
            found = first_difference(before, after, f"{pointer}/{index}")
            if found is not None:
                return found
        return f"{pointer}/{min(len(old), len(new))}"
    return pointer


class _Differ:
    def __init__(self, new_schemas: dict[str, JSON] | None = None) -> None:
        self.changes: list[Change] = []
        self.new_schemas = new_schemas or {}

    def add(self, severity: Severity, kind: str, subject: str, detail: str = "") -> None:
        text = f"{kind}: {subject}" + (f": {detail}" if detail else "")
        self.changes.append(Change(severity, kind, subject, text))

    def residue(self, before: dict[str, JSON], after: dict[str, JSON], subject: str, label: str) -> None:
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        docs = [k for k in changed if k.rsplit(".", 1)[-1] in DOC_KEYS]
        other = [k for k in changed if k not in docs]
        if docs:
            self.add("safe", "documentation changed", subject, ", ".join(docs))
        if other:
            self.add("review", f"{label} changed", subject, ", ".join(other))

    def node(self, old: JSON, new: JSON, subject: str, sides: frozenset[Side], noun: str, *, name: str = "") -> None:
        """Compare two schema nodes (a component schema, a field, a parameter's or a body's schema).

        ``name`` is the component's, field's or parameter's name: the generator names a class from it when the
        schema has no title, and the report names it beside a default the server assumes.
        """
        if _identical(old, new):
            return
        count = len(self.changes)
        a, b = _view(old), _view(new)
        old_combiners = [c for c in COMBINERS if isinstance(old, dict) and c in old]
        new_combiners = [c for c in COMBINERS if isinstance(new, dict) and c in new]
        if old_combiners and new_combiners and old_combiners != new_combiners:  # to or from none: read through
            shown = " -> ".join("+".join(found) or "(none)" for found in (old_combiners, new_combiners))
            self.add("review", "combiner changed", subject, shown)
        if a.types != b.types:
            severity, how = _type_change(a.types, b.types, sides)
            self.add(severity, "type changed", subject, f"{_show_types(a.types)} -> {_show_types(b.types)}{how}")
            if severity == "breaking":
                return  # whatever else differs below follows from the new type
        if b.nullable and not a.nullable:
            self.add(by_side(sides, response="breaking", request="safe"), f"{noun} made nullable", subject)
        elif a.nullable and not b.nullable:
            self.add(by_side(sides, response="safe", request="breaking"), f"{noun} no longer nullable", subject)
        self.enum(a.enum, b.enum, subject, sides)
        for suffix, before, after in (("[]", a.items, b.items), ("{}", a.additional, b.additional)):
            if before is None and after is None:
                continue
            if before is None or after is None:
                self.add("review", "schema changed", subject, "items" if suffix == "[]" else "additionalProperties")
            else:
                self.node(before, after, subject + suffix, sides, "item")
        if a.properties is not None or b.properties is not None:
            self.fields(a, b, subject, sides)
        self.titles(a, b, subject, name)
        handled = self.values(a.residue, b.residue, subject, sides, name)
        self.residue(
            {k: v for k, v in a.residue.items() if k not in handled},
            {k: v for k, v in b.residue.items() if k not in handled},
            subject,
            "schema",
        )
        if len(self.changes) == count and a.nullable and b.nullable and a.null_spellings != b.null_spellings:
            shown = " -> ".join(", ".join(sorted(v.null_spellings)) for v in (a, b))
            self.add("safe", "nullable spelled another way", subject, f"{shown} (the same nullability)")

    def values(
        self, before: dict[str, JSON], after: dict[str, JSON], subject: str, sides: frozenset[Side], name: str
    ) -> set[str]:
        """Classify constraint, ``default``, ``contentEncoding`` and ``contentMediaType`` changes by direction.

        ``before`` and ``after`` are the two views' residues; returns the residue keys it classified.
        """
        handled: set[str] = set()
        for key in sorted(before.keys() | after.keys()):
            keyword = key.rsplit(".", 1)[-1]
            was, now = before.get(key), after.get(key)
            if was == now or keyword not in {*CONSTRAINTS, "default", "contentEncoding", "contentMediaType"}:
                continue
            handled.add(key)
            shown = f"{key}: {_show_value(was)} -> {_show_value(now)}"
            if keyword in CONSTRAINTS:
                how = _tightening(keyword, was, now)
                if how == "tightened":
                    severity = by_side(sides, response="review", request="breaking")
                    why = "the server may refuse values sent today" if "request" in sides else ""
                elif how == "loosened":
                    severity, why = by_side(sides, response="review", request="safe"), ""
                else:
                    severity, why = "review", ""
                if "response" in sides and keyword in FACADE_ENFORCED_KEYWORDS:
                    why = "; ".join(filter(None, [why, "the facade's validator enforces it on responses"]))
                self.add(severity, f"constraint {how}", subject, shown + (f" ({why})" if why else ""))
            elif keyword == "default":
                if "request" not in sides:
                    self.add("safe", "default changed", subject, f"{shown} (an annotation in a response)")
                    continue
                assumed = (
                    f"when the SDK sends no {name or subject}, the server assumes {_show_value(now)}"
                    if now is not None
                    else "the value the server assumes is no longer documented"
                )
                self.add("review", "default changed", subject, f"{shown} ({assumed}; the SDK never sends defaults)")
            elif keyword == "contentEncoding":
                declared = was is None and isinstance(now, str) and now.lower() == AUDIO_ENCODING
                dropped = now is None and isinstance(was, str) and was.lower() == AUDIO_ENCODING
                if declared or dropped:
                    self.add("review", "content encoding changed", subject, f"{shown} (what the facade decodes)")
                else:
                    why = f"the facade decodes encoded members as {AUDIO_ENCODING}"
                    self.add("breaking", "content encoding changed", subject, f"{shown} ({why})")
            elif was is not None and now is not None:
                why = "the audio is declared in another format"
                self.add("breaking", "content media type changed", subject, f"{shown} ({why})")
            else:
                self.add("review", "content media type changed", subject, shown)
        return handled

    def titles(self, a: _View, b: _View, subject: str, name: str) -> None:
        """A title names the class generated for an object or enum schema: changing it renames that class.

        openapi-python-client 0.29.1 names a component's class from its title (else its name), and an inline
        schema's class (a union's branch too) from its parent class and its title (else its property name, or
        ``<property>_type_<i>`` for a branch). A union's own title names no class.
        """
        for prefix in [*a.parts, *(p for p in b.parts if p not in a.parts)]:
            was, now = a.parts.get(prefix), b.parts.get(prefix)
            old_title = was.get("title") if isinstance(was, dict) else None
            new_title = now.get("title") if isinstance(now, dict) else None
            if old_title == new_title:
                continue
            detail = f"{_show_title(old_title)} -> {_show_title(new_title)}"
            if prefix:
                detail = f"{prefix}title: {detail}"
            renames = _makes_a_class(was) or _makes_a_class(now)
            fallback = name if not prefix else None  # a branch's fallback name is <name>_type_<index>: not compared
            if renames and (fallback or (old_title is not None and new_title is not None)):
                renames = pascal_case(str(old_title or fallback)) != pascal_case(str(new_title or fallback))
            if renames:
                self.add("breaking", "title changed", subject, detail + " (renames a generated class)")
            else:
                self.add("review", "title changed", subject, detail)

    def enum(self, before: list[JSON], after: list[JSON], subject: str, sides: frozenset[Side]) -> None:
        if before == after:
            return
        if not before:
            # a free value becomes a closed set
            self.add(by_side(sides, response="review", request="breaking"), "enum introduced", subject)
            return
        if not after:
            self.add("breaking", "enum dropped", subject, ", ".join(map(repr, before)))
            return
        for value in before:
            if value not in after:
                self.add("breaking", "enum value removed", subject, repr(value))
        for value in after:
            if value not in before:
                self.add(by_side(sides, response="review", request="safe"), "enum value added", subject, repr(value))

    def fields(self, a: _View, b: _View, subject: str, sides: frozenset[Side]) -> None:
        old_props, new_props = a.properties or {}, b.properties or {}
        removed = [f for f in old_props if f not in new_props]
        added = [f for f in new_props if f not in old_props]
        # a required field gone and another required one come in the same schema: probably a rename
        for gone, came in zip(
            [f for f in removed if f in a.required], [f for f in added if f in b.required], strict=False
        ):
            self.add("breaking", "field renamed?", f"{subject}.{gone} -> {subject}.{came}")
            removed.remove(gone)
            added.remove(came)
        for name in removed:
            self.add("breaking", "field removed", f"{subject}.{name}")
        for name in added:
            attribute = python_name(name)
            if attribute in RESERVED_ATTRIBUTES:
                kind = "field added (collides with a generated model attribute)"
                self.add("breaking", kind, f"{subject}.{name}", attribute if attribute != name else "")
            elif name in b.required:
                severity = by_side(sides, response="review", request="breaking")
                self.add(severity, "field added (required)", f"{subject}.{name}")
            else:
                self.add("safe", "field added (optional)", f"{subject}.{name}")
            if "response" in sides:
                for fmt in formats_below(new_props[name], self.new_schemas):
                    detail = f"{fmt!r} (the generated from_dict may refuse values the schema allows)"
                    self.add("review", "field added with a format", f"{subject}.{name}", detail)

        # the generated model's constructor takes the required fields, then the optional ones, in document order
        def arranged(names: Iterable[str]) -> list[str]:
            common = [n for n in names if n in old_props and n in new_props]
            return [n for n in common if n in b.required] + [n for n in common if n not in b.required]

        if arranged(old_props) != arranged(new_props):
            self.add("review", "fields reordered", subject, "the generated model's constructor takes them in order")
        for name in old_props:
            if name not in new_props:
                continue
            was, now = name in a.required, name in b.required
            if was and not now:
                self.add(
                    by_side(sides, response="breaking", request="safe"), "field made optional", f"{subject}.{name}"
                )
            elif now and not was:
                self.add(
                    by_side(sides, response="review", request="breaking"), "field made required", f"{subject}.{name}"
                )
            self.node(old_props[name], new_props[name], f"{subject}.{name}", sides, "field", name=name)

    def operation(self, key: str, old: JSON, new: JSON) -> None:
        self.parameters(key, old.get("parameters", []), new.get("parameters", []))
        self.request_body(key, old.get("requestBody"), new.get("requestBody"))
        self.responses(key, old.get("responses", {}), new.get("responses", {}))
        rest = {"parameters", "requestBody", "responses"}
        changed = sorted(k for k in old.keys() | new.keys() if k not in rest and old.get(k) != new.get(k))
        if "operationId" in changed:
            detail = f"{_show_value(old.get('operationId'))} -> {_show_value(new.get('operationId'))}"
            self.add(
                "safe", "upstream operationId changed", key, f"{detail} (the overlay's id names the generated code)"
            )
        if "tags" in changed:
            was, now = (tag_folder(op.get("tags")) for op in (old, new))
            if was != now:
                detail = f"moves the generated module from api/{was}/ to api/{now}/"
                self.add("breaking", "first tag changed", key, f"{old.get('tags')} -> {new.get('tags')}: {detail}")
            else:
                self.add("safe", "tags changed", key, f"{old.get('tags')} -> {new.get('tags')}")
        if "deprecated" in changed:
            how = "deprecated" if new.get("deprecated") is True else "no longer deprecated"
            self.add("review" if how == "deprecated" else "safe", f"operation {how}", key)
        meta = [k for k in changed if k in DOC_KEYS or k.startswith("x-")]
        if meta:
            self.add("safe", "operation metadata changed", key, ", ".join(meta))
        other = [k for k in changed if k not in meta and k not in {"operationId", "tags", "deprecated"}]
        if other:
            self.add("review", "operation changed", key, ", ".join(other))

    def parameters(self, key: str, old: JSON, new: JSON) -> None:
        def by_name(params: JSON) -> dict[str, JSON]:
            listed = params if isinstance(params, list) else []
            return {f"{p.get('in')} {p.get('name')}": p for p in listed if isinstance(p, dict)}

        before, after = by_name(old), by_name(new)
        for name in before.keys() - after.keys():
            self.add("breaking", "parameter removed", f"{key}: {name}")
        for name, param in after.items():
            if name in before:
                continue
            if param.get("required") is True or param.get("in") == "path":
                self.add("breaking", "parameter added (required)", f"{key}: {name}")
            elif (default := schema_default(param.get("schema"))) is not None:
                assumed = f"when the SDK sends none, the server assumes {param.get('name')}={_show_value(default)}"
                self.add("review", "parameter added (optional, with a default)", f"{key}: {name}", assumed)
            else:
                self.add("safe", "parameter added (optional)", f"{key}: {name}")
        common = [name for name in before if name in after]
        if common != [name for name in after if name in before]:
            self.add("review", "parameters reordered", key)
        for name in common:
            subject, was, now = f"{key}: {name}", before[name], after[name]
            if now.get("required") is True and was.get("required") is not True:
                self.add("breaking", "parameter made required", subject)
            elif was.get("required") is True and now.get("required") is not True:
                self.add("safe", "parameter made optional", subject)
            request: frozenset[Side] = frozenset({"request"})
            self.node(was.get("schema"), now.get("schema"), subject, request, "parameter", name=str(now.get("name")))
            rest = {"required", "schema"}
            self.residue(
                {k: v for k, v in was.items() if k not in rest},
                {k: v for k, v in now.items() if k not in rest},
                subject,
                "parameter",
            )

    def request_body(self, key: str, old: JSON, new: JSON) -> None:
        if _identical(old, new):
            return
        if old is None:
            required = isinstance(new, dict) and new.get("required") is True
            self.add(
                "breaking" if required else "safe",
                f"request body added ({'required' if required else 'optional'})",
                key,
            )
            return
        if new is None:
            self.add("breaking", "request body removed", key)
            return
        if new.get("required") is True and old.get("required") is not True:
            self.add("breaking", "request body made required", key)
        elif old.get("required") is True and new.get("required") is not True:
            self.add("safe", "request body made optional", key)
        self.content(f"{key}: request body", old, new, frozenset({"request"}), added="safe")
        rest = {"required", "content"}
        self.residue(
            {k: v for k, v in old.items() if k not in rest},
            {k: v for k, v in new.items() if k not in rest},
            f"{key}: request body",
            "request body",
        )

    def responses(self, key: str, old: JSON, new: JSON) -> None:
        for code in old:
            if code not in new:
                self.add("breaking", "response removed", f"{key}: {code}")
        for code in new:
            if code not in old:
                self.add("review", "response added", f"{key}: {code}")
        for code in old:
            if code not in new or _identical(old[code], new[code]):
                continue
            was, now = old[code], new[code]
            if not isinstance(was, dict) or not isinstance(now, dict):
                self.add("review", "response changed", f"{key}: {code}")
                continue
            self.content(f"{key}: {code}", was, now, frozenset({"response"}), added="review")
            self.headers(f"{key}: {code}", was.get("headers"), now.get("headers"))
            self.residue(
                {k: v for k, v in was.items() if k not in {"content", "headers"}},
                {k: v for k, v in now.items() if k not in {"content", "headers"}},
                f"{key}: {code}",
                "response",
            )

    def headers(self, subject: str, old: JSON, new: JSON) -> None:
        """Response headers: one removed or made optional is what a reader of it loses."""
        before = {str(k).lower(): v for k, v in old.items()} if isinstance(old, dict) else {}
        after = {str(k).lower(): v for k, v in new.items()} if isinstance(new, dict) else {}
        response: frozenset[Side] = frozenset({"response"})
        for name, header in before.items():
            required = isinstance(header, dict) and header.get("required") is True
            if name not in after:
                self.add("breaking" if required else "review", "response header removed", f"{subject}: {name}")
                continue
            now = after[name]
            if not isinstance(header, dict) or not isinstance(now, dict):
                if not _identical(header, now):
                    self.add("review", "response header changed", f"{subject}: {name}")
                continue
            if required and now.get("required") is not True:
                self.add("breaking", "response header made optional", f"{subject}: {name}")
            self.node(header.get("schema"), now.get("schema"), f"{subject}: header {name}", response, "header")
            rest = {"required", "schema"}
            self.residue(
                {k: v for k, v in header.items() if k not in rest},
                {k: v for k, v in now.items() if k not in rest},
                f"{subject}: header {name}",
                "response header",
            )
        for name in after:
            if name not in before:
                self.add("safe", "response header added", f"{subject}: {name}")

    def content(self, subject: str, old: JSON, new: JSON, sides: frozenset[Side], *, added: Severity) -> None:
        before, after = old.get("content", {}), new.get("content", {})
        for media in before:
            if media not in after:
                self.add("breaking", "media type removed", f"{subject} {media}")
        for media in after:
            if media not in before:
                self.add(added, "media type added", f"{subject} {media}")
        noun = "response body" if "response" in sides else "request body"
        for media in before:
            if media in after and isinstance(before[media], dict) and isinstance(after[media], dict):
                self.node(before[media].get("schema"), after[media].get("schema"), f"{subject} {media}", sides, noun)
                self.residue(
                    {k: v for k, v in before[media].items() if k != "schema"},
                    {k: v for k, v in after[media].items() if k != "schema"},
                    f"{subject} {media}",
                    "media type",
                )


def diff_fragments(old: JSON, new: JSON) -> list[Change]:
    """Every difference between two fragments, classified; breaking first, then review, then safe."""
    differ = _Differ(_schemas(new))
    old_ops, new_ops = effective_operations(old), effective_operations(new)
    for key in old_ops:
        if key not in new_ops:
            differ.add("breaking", "operation removed", key)
    for key in new_ops:
        if key not in old_ops:
            differ.add("safe", "operation added", key)
    for key in old_ops:
        if key in new_ops and not _identical(old_ops[key], new_ops[key]):
            differ.operation(key, old_ops[key], new_ops[key])

    old_schemas, new_schemas = _schemas(old), _schemas(new)
    old_sides, new_sides = schema_sides(old), schema_sides(new)
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        differ.add("breaking", "schema removed", name)
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        differ.add("safe", "schema added", name)
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        sides = old_sides.get(name, frozenset()) | new_sides.get(name, frozenset())
        differ.node(old_schemas[name], new_schemas[name], name, sides or BOTH_SIDES, "schema", name=name)

    old_problems = facade_problems(old)
    for place, problems in facade_problems(new).items():
        for kind, detail in problems:
            if (kind, detail) not in old_problems.get(place, []):
                differ.add(PROBLEM_SEVERITY[kind], kind, place, detail)

    old_paths, new_paths = old.get("paths", {}), new.get("paths", {})
    for path, item in old_paths.items():
        now = new_paths.get(path)
        if isinstance(item, dict) and isinstance(now, dict) and item.get("servers") != now.get("servers"):
            differ.add("review", "path servers changed", path)

    old_info, new_info = old.get("info", {}), new.get("info", {})
    if old_info.get("version") != new_info.get("version"):
        differ.add("safe", "info.version changed", f"{old_info.get('version')} -> {new_info.get('version')}")
    for key in sorted(old_info.keys() | new_info.keys()):
        if key != "version" and old_info.get(key) != new_info.get(key):
            differ.add("safe", "documentation changed", f"info.{key}")
    if old.get("tags") != new.get("tags"):
        differ.add("safe", "documentation changed", "tags")
    if old.get("openapi") != new.get("openapi"):
        differ.add("review", "openapi version changed", f"{old.get('openapi')} -> {new.get('openapi')}")
    handled = {"openapi", "info", "tags", "paths", "components"}
    other = sorted(k for k in old.keys() | new.keys() if k not in handled and old.get(k) != new.get(k))
    old_components = {k: v for k, v in old.get("components", {}).items() if k != "schemas"}
    new_components = {k: v for k, v in new.get("components", {}).items() if k != "schemas"}
    other += sorted(
        f"components.{k}"
        for k in old_components.keys() | new_components.keys()
        if old_components.get(k) != new_components.get(k)
    )
    if other:
        differ.add("review", "document changed", ", ".join(other))
    pointer = first_difference(old, new) if not differ.changes else None
    if pointer is not None:  # the fragments differ, and no rule above saw where
        differ.add("review", "unclassified change", pointer)
    return sorted(differ.changes, key=lambda change: SEVERITIES.index(change.severity))


def summary(changes: Iterable[Change]) -> str:
    """``N breaking, M review, K safe``."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for change in changes:
        counts[change.severity] += 1
    return ", ".join(f"{counts[sev]} {sev}" for sev in SEVERITIES)


# kinds that only touch wording: folded into one changelog bullet
_WORDING_KINDS = frozenset({"documentation changed", "operation metadata changed"})


def changelog_entry(
    changes: list[Change], *, old_version: str | None, new_version: str | None, sha256: str
) -> list[str]:
    """A Keep a Changelog entry (``### Changed`` / ``### Added`` / ``### Removed``) a maintainer can paste."""
    version = f"{old_version} -> {new_version}" if old_version != new_version else f"{new_version}"
    sections: dict[str, list[str]] = {"Changed": [], "Added": [], "Removed": []}
    sections["Changed"].append(
        f"- Upstream spec re-pinned (info.version {version}, sha256 {sha256[:12]}): {summary(changes)}"
    )
    wording = 0
    for change in changes:
        if change.kind in _WORDING_KINDS:
            wording += 1
            continue
        if change.kind == "info.version changed":
            continue
        section = "Removed" if ("removed" in change.kind or "renamed" in change.kind) else "Changed"
        if " added" in change.kind or change.kind.endswith("added"):
            section = "Added"
        prefix = "**Breaking:** " if change.severity == "breaking" else ""
        sections[section].append(f"- {prefix}{change.text}")
    if wording:
        places = "1 place" if wording == 1 else f"{wording} places"
        sections["Changed"].append(f"- Upstream descriptions, titles or examples changed ({places})")
    lines: list[str] = []
    for title, bullets in sections.items():
        if bullets:
            lines.append(f"### {title}")
            lines.extend(bullets)
    return lines

"""Classify the changes between two pinned OpenAPI fragments from the point of view of this SDK's users.

``diff_fragments(old, new)`` returns one ``Change`` per difference: its class (``breaking``,
``review`` or ``safe``), its kind ("field removed", "enum value added", ...), the subject it names
(an operation, ``Schema.field``, a parameter) and a one-line text. Pure functions on dicts: no files.

Rules (the worst applicable class wins when a schema is reached from both a response and a request):

* breaking: operation, parameter, field, enum value, response or media type removed; field renamed
  (a required field removed and one added in the same schema); type changed; response field made
  optional or nullable; request gains a required parameter, body or field; parameter made required.
* review: new enum value or new required field in a response; new response status code or media type;
  any other structural change this module cannot classify.
* safe: new optional field or parameter, new operation or schema; description, title, summary,
  example(s) or info.version changed.

Nullability, types and enums are read through ``anyOf``/``oneOf`` branches, and ``items`` and
``additionalProperties`` are compared recursively, where the fields of this spec put them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["breaking", "review", "safe"]
Side = Literal["request", "response"]
SEVERITIES: tuple[Severity, ...] = ("breaking", "review", "safe")
BOTH_SIDES: frozenset[Side] = frozenset(("request", "response"))
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_PREFIX = "#/components/schemas/"
# wording-only keys: a change there never changes what the SDK sends or accepts
DOC_KEYS = frozenset({"description", "title", "summary", "example", "examples", "externalDocs"})
# operation keys our generated SDK does not depend on (the overlay renames operationIds)
OPERATION_META_KEYS = DOC_KEYS | {"operationId", "tags"}
# schema keys the structural comparison reads itself; anything else lands in the residue
STRUCTURAL_KEYS = frozenset(
    {"type", "anyOf", "oneOf", "enum", "const", "nullable", "items", "additionalProperties", "properties", "required"}
)

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


def _iter_refs(node: JSON) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _iter_refs(item)


def _reachable(roots: JSON, schemas: dict[str, JSON]) -> set[str]:
    found: set[str] = set()
    pending = list(_iter_refs(roots))
    while pending:
        ref = pending.pop()
        name = ref.removeprefix(SCHEMA_PREFIX)
        if not ref.startswith(SCHEMA_PREFIX) or name in found or name not in schemas:
            continue
        found.add(name)
        pending.extend(_iter_refs(schemas[name]))
    return found


def schema_sides(doc: JSON) -> dict[str, frozenset[Side]]:
    """For each component schema: is it reached from a response, from a request (body or parameters), or both?"""
    schemas = _schemas(doc)
    sides: dict[str, set[Side]] = {}
    for op in operations(doc).values():
        roots: list[tuple[Side, JSON]] = [
            ("response", op.get("responses", {})),
            ("request", [op.get("parameters", []), op.get("requestBody", {})]),
        ]
        for side, root in roots:
            for name in _reachable(root, schemas):
                sides.setdefault(name, set()).add(side)
    return {name: frozenset(found) for name, found in sides.items()}


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
        if not isinstance(part, dict):
            view.residue[prefix or "(value)"] = part
            continue
        kinds = part.get("type")
        kind_list = kinds if isinstance(kinds, list) else [kinds] if isinstance(kinds, str) else []
        view.nullable |= "null" in kind_list or part.get("nullable") is True
        view.types.update(k for k in kind_list if k != "null")
        if "$ref" in part:
            view.types.add(str(part["$ref"]).removeprefix(SCHEMA_PREFIX))
        elif prefix and not kind_list and not any(k in part for k in ("anyOf", "oneOf")):
            view.types.add("any")
        for value in [*part.get("enum", []), *([part["const"]] if "const" in part else [])]:
            if value is None:
                view.nullable = True
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


class _Differ:
    def __init__(self) -> None:
        self.changes: list[Change] = []

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

    def node(self, old: JSON, new: JSON, subject: str, sides: frozenset[Side], noun: str) -> None:
        """Compare two schema nodes (a component schema, a field, a parameter's or a body's schema)."""
        if old == new:
            return
        a, b = _view(old), _view(new)
        if a.types != b.types:
            self.add("breaking", "type changed", subject, f"{_show_types(a.types)} -> {_show_types(b.types)}")
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
        self.residue(a.residue, b.residue, subject, "schema")

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
            if name in b.required:
                severity = by_side(sides, response="review", request="breaking")
                self.add(severity, "field added (required)", f"{subject}.{name}")
            else:
                self.add("safe", "field added (optional)", f"{subject}.{name}")
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
            self.node(old_props[name], new_props[name], f"{subject}.{name}", sides, "field")

    def operation(self, key: str, old: JSON, new: JSON) -> None:
        self.parameters(key, old.get("parameters", []), new.get("parameters", []))
        self.request_body(key, old.get("requestBody"), new.get("requestBody"))
        self.responses(key, old.get("responses", {}), new.get("responses", {}))
        rest = {"parameters", "requestBody", "responses"}
        changed = sorted(k for k in old.keys() | new.keys() if k not in rest and old.get(k) != new.get(k))
        meta = [k for k in changed if k in OPERATION_META_KEYS or k.startswith("x-")]
        if meta:
            self.add("safe", "operation metadata changed", key, ", ".join(meta))
        if len(meta) < len(changed):
            self.add("review", "operation changed", key, ", ".join(k for k in changed if k not in meta))

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
            self.node(was.get("schema"), now.get("schema"), subject, frozenset({"request"}), "parameter")
            rest = {"required", "schema"}
            self.residue(
                {k: v for k, v in was.items() if k not in rest},
                {k: v for k, v in now.items() if k not in rest},
                subject,
                "parameter",
            )

    def request_body(self, key: str, old: JSON, new: JSON) -> None:
        if old == new:
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
            if code not in new or old[code] == new[code]:
                continue
            was, now = old[code], new[code]
            if not isinstance(was, dict) or not isinstance(now, dict):
                self.add("review", "response changed", f"{key}: {code}")
                continue
            self.content(f"{key}: {code}", was, now, frozenset({"response"}), added="review")
            self.residue(
                {k: v for k, v in was.items() if k != "content"},
                {k: v for k, v in now.items() if k != "content"},
                f"{key}: {code}",
                "response",
            )

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
    differ = _Differ()
    old_ops, new_ops = operations(old), operations(new)
    for key in old_ops:
        if key not in new_ops:
            differ.add("breaking", "operation removed", key)
    for key in new_ops:
        if key not in old_ops:
            differ.add("safe", "operation added", key)
    for key in old_ops:
        if key in new_ops and old_ops[key] != new_ops[key]:
            differ.operation(key, old_ops[key], new_ops[key])

    old_schemas, new_schemas = _schemas(old), _schemas(new)
    old_sides, new_sides = schema_sides(old), schema_sides(new)
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        differ.add("breaking", "schema removed", name)
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        differ.add("safe", "schema added", name)
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        sides = old_sides.get(name, frozenset()) | new_sides.get(name, frozenset())
        differ.node(old_schemas[name], new_schemas[name], name, sides or BOTH_SIDES, "schema")

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

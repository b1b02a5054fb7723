"""Bodies from a newer API than the pinned spec: what the fake sends when told to drift."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import attrs

MEMBER = "unpinned_member"
MEMBER_VALUE = "unpinned"
ENUM_VALUE = "unpinned_value"


@attrs.frozen
class Drift:
    """Make the fake's answers run ahead of the pinned spec, as the live API does between an upstream deploy and
    the next re-pin, so that code can be tested against what it will meet.

    Set it with ``FakeElevenLabs(drift=Drift())``, ``@pytest.mark.fake_elevenlabs(drift=Drift())`` or
    ``fake.drift = Drift()`` at any time (``None`` turns it off). It changes the JSON bodies of the API's
    successful answers only (error bodies and scripted faults stay as they are), and each response it changed
    is recorded with ``drifted=True``. A status that the pinned spec does not list, on the way to
    ``completed``, is the sample's business: ``add_sample(..., status_sequence=["queued", "completed"])``.

    The names are derived from the pinned spec, so they are never ones it declares: the member is
    ``unpinned_member`` (with ``_`` appended while the object's schema has a property of that name), its
    value the string ``"unpinned"``; the enum value is ``unpinned_value`` (likewise).

    Attributes:
        unknown_members: add a member the spec does not declare to every object it describes member by
            member: the body itself, each speaker, each utterance, the audio bodies (maps such as
            ``speakers`` get no extra entry: that would be one more speaker, not drift).
        unknown_enum_values: replace every value the spec restricts to an enum (such as the separation's
            ``status``) by one it does not list; the separation then never shows as ``completed``.
    """

    unknown_members: bool = True
    unknown_enum_values: bool = False


def unused_name(base: str, taken: Collection[Any]) -> str:
    """``base``, with ``_`` appended until ``taken`` does not hold it."""
    name = base
    while name in taken:
        name += "_"
    return name


def apply(node: Any, schema: Any, resolve: Callable[[Any], Any], drift: Drift) -> tuple[Any, bool]:
    """``node`` (a JSON value described by ``schema``) drifted as ``drift`` says, changed in place where it
    is a container, and whether anything changed. ``resolve`` follows a schema's ``$ref``."""
    schema = _branch(node, resolve(schema), resolve)
    if not isinstance(schema, Mapping):
        return node, False
    changed = False
    if isinstance(node, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, child in node.items():
            child_schema = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if child_schema is not None:
                node[key], child_changed = apply(child, child_schema, resolve, drift)
                changed |= child_changed
        if drift.unknown_members and properties:
            node[unused_name(MEMBER, {*properties, *node})] = MEMBER_VALUE
            changed = True
    elif isinstance(node, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for index, child in enumerate(node):
                node[index], child_changed = apply(child, items, resolve, drift)
                changed |= child_changed
    elif drift.unknown_enum_values and isinstance(schema.get("enum"), list):
        return unused_name(ENUM_VALUE, schema["enum"]), True
    return node, changed


def _branch(node: Any, schema: Any, resolve: Callable[[Any], Any]) -> Any:
    """The branch of an ``anyOf``/``oneOf`` that ``node``'s JSON type fits (the schema itself without one)."""
    if not isinstance(schema, Mapping):
        return schema
    branches = schema.get("anyOf") or schema.get("oneOf")
    if not branches:
        return schema
    for branch in map(resolve, branches):
        if isinstance(branch, Mapping) and _fits(node, branch.get("type")):
            return _branch(node, branch, resolve)
    return None


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "null": type(None),
}


def _fits(node: Any, kind: Any) -> bool:
    """Whether ``node`` is of the JSON Schema ``type`` ``kind`` (a name, a list of names, or none)."""
    if kind is None:
        return True
    if isinstance(kind, list):
        return any(_fits(node, one) for one in kind)
    if isinstance(node, bool) and kind != "boolean":
        return False
    return isinstance(node, _JSON_TYPES.get(str(kind), ()))

"""Spec drift: a body that goes beyond the pinned spec is refused (strict) or accepted and reported (tolerant).

Unknown enum values are refused with ``strict=True`` and reported with ``strict=False``; members that the pin does
not declare are reported either way (and refused in strict mode only where ``additionalProperties: false`` forbids
them); anything else that does not fit is refused either way, naming the JSON pointer. ``DriftReporter`` reports each
distinct drift once per client: one WARNING on the ``speaker_audio`` logger and one ``on_drift`` call. Names of
members and enums come from the shipped spec, so a re-pin keeps this file true.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from _compiled import compile_validator
from _spec import load_spec, response_schema

from speaker_audio import SpecDrift, _operations
from speaker_audio._drift import DRIFT_KINDS, UNKNOWN_ENUM_VALUE, UNKNOWN_MEMBER, DriftReporter
from speaker_audio._operations import OPERATIONS as OPERATION_ROWS
from speaker_audio._schema import response_validator
from speaker_audio.errors import ResponseValidationError

OPERATIONS = [row.name for row in OPERATION_ROWS]

JSON = Any
SPEC = load_spec()
PREFIX = "#/components/schemas/"
BEHIND = "the server's response no longer matches the pinned spec (re-pin with `make pin`)"
MAP_KEYS = ("spk_1", "spk/2~")  # map keys a full body uses (the second needs RFC 6901 escapes)


def resolve(schema: JSON) -> JSON:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].removeprefix(PREFIX)]
    return schema


def non_null(schema: JSON) -> JSON:
    """``schema``, or for a nullable ``anyOf``/``oneOf`` its first branch that is not ``{"type": "null"}``."""
    schema = resolve(schema)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return non_null(next(s for s in schema[keyword] if resolve(s).get("type") != "null"))
    return schema


Place = tuple[tuple[str | int, bool], ...]  # a place in a body: (key or index, whether it is "*" in a location)


def pointer(place: Place, *, wild: bool = False) -> str:
    parts = ("*" if wild and star else str(key) for key, star in place)
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def full_body(schema: JSON, place: Place = (), found: list[tuple[Place, JSON]] | None = None) -> JSON:
    """A body with every member the schema declares (two entries in each map, one item in each list).

    Each (place, schema) of an object or enum inside is appended to ``found``.
    """
    found = [] if found is None else found
    schema = non_null(schema)
    if "enum" in schema:
        found.append((place, schema))
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        found.append((place, schema))
        body = {
            name: full_body(sub, (*place, (name, False)), found) for name, sub in schema.get("properties", {}).items()
        }
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            body |= {key: full_body(extra, (*place, (key, True)), found) for key in MAP_KEYS}
        return body
    if kind == "array":
        return [full_body(schema.get("items", {}), (*place, (0, True)), found)]
    return {"string": "x", "number": 1.5, "integer": 1, "boolean": True, "null": None}.get(kind, "x")


def at(body: JSON, place: Place) -> JSON:
    for key, _ in place:
        body = body[key]
    return body


def bodies() -> Iterator[tuple[str, JSON, list[tuple[Place, JSON]]]]:
    for operation in OPERATIONS:
        found: list[tuple[Place, JSON]] = []
        body = full_body(response_schema(operation), (), found)
        yield operation, body, found


def new_name(taken: Any, stem: str = "added_member") -> str:
    name = stem
    while name in taken:
        name += "_"
    return name


def refusal(operation: str, body: JSON, *, strict: bool) -> str:
    with pytest.raises(ResponseValidationError) as caught:
        response_validator(operation)(body, strict=strict)
    return str(caught.value)


# --- the validator: what is drift, what is refused ---------------------------------------------------------------


@pytest.mark.parametrize("strict", [True, False])
def test_a_body_that_is_what_the_pin_describes_has_no_drift(strict: bool) -> None:
    for operation, body, _ in bodies():
        assert response_validator(operation)(body, strict=strict) == ()
        assert response_validator(operation)(body) == ()  # strict by default


@pytest.mark.parametrize("strict", [True, False])
def test_undeclared_members_are_accepted_and_reported_at_every_depth(strict: bool) -> None:
    """Where ``properties`` are declared and ``additionalProperties`` is absent (OpenAPI: allowed), in both modes."""
    for operation, body, found in bodies():
        expected = set()
        for place, schema in found:
            if "properties" in schema and "additionalProperties" not in schema:
                name = new_name(schema["properties"])
                at(body, place)[name] = {"any": ["value", 1]}
                member = (*place, (name, False))
                detail = f"member {name!r} (value {{'any': ['value', 1]}})"
                expected.add(SpecDrift(operation, pointer(member), UNKNOWN_MEMBER, detail, pointer(member, wild=True)))
        assert expected, f"{operation}: no object with declared members in its body"
        drifts = response_validator(operation)(body, strict=strict)
        assert set(drifts) == expected
        assert len(drifts) == len(expected)


def string_enums() -> list[tuple[str, JSON, Place, list[str]]]:
    """(operation, full body, place, enum) of every enum of strings in a response the facade reads."""
    return [
        (operation, body, place, schema["enum"])
        for operation, body, found in bodies()
        for place, schema in found
        if "enum" in schema and all(isinstance(value, str) for value in schema["enum"])
    ]


def test_an_unknown_enum_value_is_refused_when_strict_and_reported_when_tolerant() -> None:
    cases = string_enums()
    if not cases:
        pytest.skip("the pinned responses list no enum of strings")
    for operation, body, place, enum in cases:
        value = new_name(enum, "queued")
        parent = at(body, place[:-1]) if place else None
        if parent is None:
            continue
        parent[place[-1][0]] = value
        message = refusal(operation, body, strict=True)
        allowed = ", ".join(enum)
        reason = f'unknown value "{value}" (the pinned spec allows {allowed})'
        assert message == f"{operation} response: {pointer(place)}: {reason}; {BEHIND}"
        drifts = response_validator(operation)(body, strict=False)
        detail = f"{value!r} (pinned: {', '.join(enum)})"
        assert drifts == (SpecDrift(operation, pointer(place), UNKNOWN_ENUM_VALUE, detail, pointer(place, wild=True)),)
        parent[place[-1][0]] = enum[-1]


def test_each_unknown_enum_value_comes_with_where_it_is_and_a_value_the_pin_lists_to_build_the_model_with() -> None:
    item = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"anyOf": [{"const": "x"}, {"type": "integer"}]}}},
    }
    schema = {
        "type": "object",
        "properties": {"status": {"enum": ["a", "b"]}, "speakers": {"additionalProperties": item}},
    }
    validate = compile_validator(schema, {}, "x", "op")
    body: JSON = {"status": "c", "speakers": {MAP_KEYS[1]: {"tags": ["x", "y", 2]}}, "extra": 1}
    pinned: list[Any] = []
    drifts = validate(body, strict=False, pinned=pinned)
    assert [drift.kind for drift in drifts] == [UNKNOWN_ENUM_VALUE, UNKNOWN_ENUM_VALUE, UNKNOWN_MEMBER]
    assert pinned == [(("status",), "a"), (("speakers", MAP_KEYS[1], "tags", 1), "x")]  # the 2 is an integer
    built = _operations._with_pinned_values(body, pinned)
    assert built == {"status": "a", "speakers": {MAP_KEYS[1]: {"tags": ["x", "x", 2]}}, "extra": 1}
    assert body["status"] == "c"  # the body stays as sent
    assert body["speakers"][MAP_KEYS[1]]["tags"][1] == "y"
    assert validate(body, strict=False) == drifts  # without ``pinned``: the same drift
    assert validate({"status": "b"}, strict=False, pinned=pinned) == ()
    assert len(pinned) == 2


def faults() -> Iterator[tuple[str, JSON, str, str]]:
    """(operation, body, pointer, what the message says) for each way a required member of each object can be wrong."""
    for operation, _, found in bodies():
        for place, schema in found:
            for name in schema.get("required", []):
                member = resolve(schema["properties"][name])
                kind = member.get("type")
                if kind not in ("string", "number", "integer", "boolean", "object", "array"):
                    continue  # e.g. nullable: null is not a fault there
                where = pointer((*place, (name, False)))
                wrong = {"string": 1, "number": "1.5", "integer": 1.5, "boolean": "true", "object": [], "array": {}}
                for value, says in ((wrong[kind], "expected"), (None, "got null")):
                    _, body, _ = next((o, b, f) for o, b, f in bodies() if o == operation)
                    at(body, place)[name] = value
                    yield operation, body, where, says
                if kind in ("number", "integer"):
                    _, body, _ = next((o, b, f) for o, b, f in bodies() if o == operation)
                    at(body, place)[name] = math.inf
                    yield operation, body, where, "finite" if kind == "number" else "expected an integer"
                _, body, _ = next((o, b, f) for o, b, f in bodies() if o == operation)
                del at(body, place)[name]
                yield operation, body, where, "required member missing"


@pytest.mark.parametrize("strict", [True, False])
def test_anything_else_is_refused_in_both_modes_naming_the_pointer(strict: bool) -> None:
    seen = 0
    for operation, body, where, says in faults():
        message = refusal(operation, body, strict=strict)
        assert message.startswith(f"{operation} response: {where}: ")
        assert says in message
        assert message.endswith(f"; {BEHIND}")
        seen += 1
    assert seen >= 4 * len(OPERATIONS)


def test_additional_properties_false_is_refused_when_strict_and_reported_when_tolerant() -> None:
    validate = compile_validator(
        {"type": "array", "items": {"properties": {"a": {}}, "additionalProperties": False}}, {}, "closed", "op"
    )
    body = [{"a": 1}, {"a": 1, "b\n": "x" * 500}]
    with pytest.raises(ResponseValidationError, match=r"^closed: /1/b\\n: member not allowed by the pinned spec; "):
        validate(body, strict=True)
    (drift,) = validate(body, strict=False)
    assert (drift.operation, drift.pointer, drift.kind, drift.location) == ("op", "/1/b\n", UNKNOWN_MEMBER, "/*/b\n")
    assert drift.detail.startswith("member 'b\\n' (value 'xxx")
    assert len(drift.detail) < 120  # shortened


def test_how_drift_meets_the_combinators_and_the_closed_kinds() -> None:
    def outcome(schema: JSON, value: JSON) -> tuple[str, ...] | str:
        validate = compile_validator(schema, {}, "x")
        try:
            return tuple(drift.kind for drift in validate(value, strict=False))
        except ResponseValidationError:
            return "refused"

    assert outcome({"anyOf": [{"enum": ["a"]}, {"type": "string"}]}, "b") == ()  # an exact match wins
    assert outcome({"anyOf": [{"enum": ["a"]}, {"type": "null"}]}, "b") == (UNKNOWN_ENUM_VALUE,)
    assert outcome({"anyOf": [{"enum": ["a"]}, {"type": "null"}]}, 5) == "refused"  # a string enum opens to strings
    assert outcome({"enum": [1, 2]}, 3.5) == (UNKNOWN_ENUM_VALUE,)
    assert outcome({"enum": [1, 2]}, math.inf) == "refused"
    assert outcome({"enum": [True]}, False) == "refused"  # booleans and containers stay closed
    assert outcome({"enum": [{"a": 1}]}, {"a": 2}) == "refused"
    assert outcome({"const": "ok"}, "okay") == (UNKNOWN_ENUM_VALUE,)
    assert outcome({"not": {"enum": ["a"]}}, "b") == ()  # "not" is judged by the pinned schema
    assert outcome({"not": {"enum": ["a"]}}, "a") == "refused"
    assert outcome({"oneOf": [{"enum": ["a"]}, {"enum": ["b"]}]}, "c") == "refused"  # both branches, once widened
    branch = {"type": "object", "properties": {"a": {}}, "required": ["a"]}
    assert outcome({"anyOf": [{**branch, "additionalProperties": False}, branch]}, {"a": 1, "b": 2}) == (
        UNKNOWN_MEMBER,
    )
    assert outcome({"anyOf": [{"enum": ["x"]}, {"type": "integer"}]}, {"a": 1}) == "refused"


def test_drift_kinds_are_documented() -> None:
    assert DRIFT_KINDS == (UNKNOWN_ENUM_VALUE, UNKNOWN_MEMBER)
    for kind in DRIFT_KINDS:
        assert f'``"{kind}"``' in (SpecDrift.__doc__ or "")


# --- DriftReporter -----------------------------------------------------------------------------------------------


def status_with_many_speakers(count: int, member: str) -> tuple[str, JSON]:
    """A body of the operation whose response has a map of objects, each entry with an undeclared ``member``."""
    for operation, body, found in bodies():
        for place, schema in found:
            if place and place[-1][1] and isinstance(place[-1][0], str) and "properties" in schema:
                container = at(body, place[:-1])
                template = container.pop(place[-1][0])
                for key in list(container):
                    del container[key]
                for index in range(count):
                    container[f"spk_{index}"] = {**template, member: index}
                return operation, body
    pytest.skip("no response of the pin has a map of objects")


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="speaker_audio"):
        yield caplog


def test_each_distinct_drift_is_reported_once_with_a_warning_and_on_drift(
    logged: pytest.LogCaptureFixture,
) -> None:
    member = "created_at_unix"
    operation, body = status_with_many_speakers(50, member)
    drifts = response_validator(operation)(body, strict=False)
    assert len(drifts) == 50  # one per speaker: the validator reports what it saw
    seen: list[SpecDrift] = []
    reporter = DriftReporter(seen.append)
    for _ in range(3):  # three polls of the same body
        reporter.report(drifts)
    assert seen == [drifts[0]]  # once, with the first concrete pointer
    assert seen[0].pointer.endswith(f"/spk_0/{member}")
    assert seen[0].location.endswith(f"/*/{member}")
    [record] = [r for r in logged.records if r.name == "speaker_audio"]
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert text.startswith(f"{operation} response: unknown member at {seen[0].pointer}: member '{member}' (value 0);")
    assert text.endswith("the pinned spec is behind the server (re-pin with `make pin`)")


def test_what_makes_drifts_distinct() -> None:
    seen: list[SpecDrift] = []
    reporter = DriftReporter(seen.append)
    drift = SpecDrift("get_x", "/status", UNKNOWN_ENUM_VALUE, "'queued' (pinned: a, b)")
    reporter.report([drift, drift])
    reporter.report([SpecDrift("get_x", "/status", UNKNOWN_ENUM_VALUE, "'archived' (pinned: a, b)")])  # a new value
    reporter.report([SpecDrift("get_y", "/status", UNKNOWN_ENUM_VALUE, "'queued' (pinned: a, b)")])  # another operation
    for index in (0, 1):  # the same place in another item of a list
        reporter.report(
            [SpecDrift("get_x", f"/items/{index}/status", UNKNOWN_ENUM_VALUE, "'queued'", "/items/*/status")]
        )
    member = SpecDrift("get_x", "/extra", UNKNOWN_MEMBER, "member 'extra' (value 1)")
    reporter.report([member, SpecDrift("get_x", "/extra", UNKNOWN_MEMBER, "member 'extra' (value 2)")])  # same member
    assert [(d.operation, d.pointer, d.detail.split(" ")[0]) for d in seen] == [
        ("get_x", "/status", "'queued'"),
        ("get_x", "/status", "'archived'"),
        ("get_y", "/status", "'queued'"),
        ("get_x", "/items/0/status", "'queued'"),
        ("get_x", "/extra", "member"),
    ]
    assert SpecDrift("o", "/p", UNKNOWN_MEMBER, "d").location == "/p"  # without a location: the pointer


def test_the_reporter_is_thread_safe_and_bounded(logged: pytest.LogCaptureFixture) -> None:
    seen: list[SpecDrift] = []
    reporter = DriftReporter(seen.append)
    drifts = [SpecDrift("op", f"/m{index}", UNKNOWN_MEMBER, "d") for index in range(20)]
    start = threading.Barrier(8)

    def poll() -> None:
        start.wait()
        for _ in range(50):
            reporter.report(drifts)

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen, key=drifts.index) == drifts  # each once

    few: list[SpecDrift] = []
    bounded = DriftReporter(few.append, max_distinct=3)
    bounded.report(drifts)
    bounded.report(drifts)
    assert few == drifts[:3]
    assert sum("further ones are not" in r.getMessage() for r in logged.records) == 1


def test_the_warning_escapes_what_the_server_chose(logged: pytest.LogCaptureFixture) -> None:
    DriftReporter().report([SpecDrift("op", "/a\x1b[2Jb", UNKNOWN_MEMBER, "member 'a\\x1b[2Jb' (value 1)")])
    [record] = logged.records
    assert "\x1b" not in record.getMessage()
    assert "/a\\x1b[2Jb" in record.getMessage()


def test_an_exception_from_on_drift_reaches_the_caller_and_the_drift_stays_reported() -> None:
    def fail(drift: SpecDrift) -> None:
        raise RuntimeError("consumer bug")

    reporter = DriftReporter(fail)
    drift = SpecDrift("op", "/x", UNKNOWN_MEMBER, "d")
    with pytest.raises(RuntimeError, match="consumer bug"):
        reporter.report([drift])
    reporter.report([drift])  # not again

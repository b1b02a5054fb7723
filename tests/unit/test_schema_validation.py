"""The response validator: each keyword it enforces, what it ignores, what it refuses to build, and where it stops.

Keyword by keyword (types, the three spellings of nullable, enum/const, members, items, combinators, bounds,
patterns), formats and other annotations never failing a body, a keyword-level differential test against
``jsonschema``, unsupported schemas confined to their operation (in a copy of the shipped spec with one schema
edited), recursion bounded, and no raw Python error for any schema or document.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _clients import ClientRunner, Kind
from _compiled import compile_validator, compiled_pin
from _oracle import FiniteValidator as FINITE_ORACLE
from _oracle import is_finite_number
from _spec import load_spec, response_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compile_validators
from speaker_audio import SpeakerAudioError, _operations, _schema
from speaker_audio._operations import preload as preload_validators
from speaker_audio._schema import MAX_DEPTH, response_validator
from speaker_audio.errors import ResponseValidationError, UnsupportedSchemaError
from speaker_audio.testing import FakeElevenLabs

OPERATIONS = [row.name for row in _operations.OPERATIONS]

JSON = Any
PREFIX = "#/components/schemas/"
NO_COMPONENTS: dict[str, Any] = {"components": {"schemas": {}}}
BEHIND = "the server's response no longer matches the pinned spec (re-pin with `make pin`)"


def validator(schema: JSON, components: dict[str, Any] | None = None) -> _schema.Validator:
    return compile_validator(schema, {"components": {"schemas": components or {}}}, "test body")


def refusal(validate: _schema.Validator, value: JSON, *, strict: bool = True) -> str:
    """The message of the ``ResponseValidationError`` that ``value`` gets (the test fails if it gets none)."""
    with pytest.raises(ResponseValidationError) as caught:
        validate(value, strict=strict)
    return str(caught.value)


def verdict(validate: _schema.Validator, value: JSON, *, strict: bool = True) -> tuple[Any, ...] | str:
    """The drift ``validate`` returns, or the reason its ``ResponseValidationError`` gives (after the pointer)."""
    try:
        return validate(value, strict=strict)
    except ResponseValidationError as error:
        return str(error).split(": ", 2)[2].split(";")[0].split(" (")[0]


def assert_verdicts(schema: JSON, good: list[JSON], bad: list[JSON], message: str = "") -> None:
    validate = validator(schema)
    for value in good:
        assert validate(value) == (), value
    for value in bad:
        assert message in refusal(validate, value), value


# --- keywords ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "good", "bad", "message"),
    [
        ({"type": "integer"}, [0, -(10**30), 10**400, 2.0, 1e308], [1.5, True, "1", math.inf, math.nan], "integer"),
        ({"type": "number"}, [0, 1.5, -0.0, 10**300, 1e308], [True, False, "1", None], "expected a number"),
        ({"type": "number"}, [], [math.inf, -math.inf, math.nan, 10**400, -(10**400)], "must be a finite number"),
        ({"type": ["integer", "number"]}, [10**400, 1.5], [math.inf, math.nan], "must be a finite number"),
        ({"type": "boolean"}, [True, False], [0, 1, None, "true"], "expected a boolean"),
        ({"type": "string"}, ["", "x"], [None, 1, [], {}], "expected a string"),
        ({"type": "null"}, [None], [0, "", False], "expected null"),
        ({"type": "object"}, [{}, {"a": 1}], [[], None, "{}"], "expected an object"),
        ({"type": "array"}, [[], [1, "a"]], [{}, None, "[]"], "expected an array"),
    ],
)
def test_types_tell_integers_numbers_and_booleans_apart_and_numbers_are_finite(
    schema: JSON, good: list[JSON], bad: list[JSON], message: str
) -> None:
    assert_verdicts(schema, good, bad, message)


@pytest.mark.parametrize("base", [{"type": "string"}, {"type": "number"}, {"type": "string", "enum": ["a", "b"]}])
def test_the_three_spellings_of_nullable_are_treated_alike(base: dict[str, Any]) -> None:
    spellings = [
        {**base, "nullable": True},  # OpenAPI 3.0; in JSON Schema (next), an enum lists null too
        {**base, "type": [base["type"], "null"], **({"enum": [*base["enum"], None]} if "enum" in base else {})},
        {"anyOf": [base, {"type": "null"}]},  # what FastAPI writes
    ]
    good = "a" if base["type"] == "string" else 1.5
    messages = set()
    for schema in spellings:
        validate = validator(schema)
        assert validate(None) == validate(good) == ()
        messages.add(refusal(validate, [1]))
    label = "a string" if base["type"] == "string" else "a number"
    assert messages == {f"test body: the body: expected {label} or null, got array; {BEHIND}"}
    assert "got null" in refusal(validator(base), None)  # and without any of them, null is refused


@pytest.mark.parametrize(
    "fmt", ["date-time", "date", "time", "duration", "email", "uri", "uuid", "ipv4", "byte", "binary", "int32", "?"]
)
def test_a_format_never_fails_a_body(fmt: str) -> None:
    values = ["2025-08-24t20:59:16z", "2016-12-31T23:59:60Z", "not a date", "", "%%%", "1" * 5000]
    assert_verdicts({"type": "string", "format": fmt}, values, [5], "expected a string")
    assert_verdicts({"type": "number", "format": fmt}, [10**20, 1.5], ["1.5"], "expected a number")
    assert_verdicts({"format": fmt}, [*values, None, 1, [], {}], [])


def test_annotations_and_extensions_never_constrain() -> None:
    annotations = {
        "title": "T",
        "description": "D",
        "example": 5,
        "examples": [5],
        "default": 5,  # a default that the type refuses constrains nothing either
        "deprecated": True,
        "readOnly": True,
        "writeOnly": True,
        "$comment": "c",
        "externalDocs": {"url": "https://example.test"},
        "xml": {"name": "x"},
        "contentMediaType": "audio/mpeg",
        "contentEncoding": "base64",
        "x-fern-type": "anything",
    }
    assert_verdicts({"type": "string", **annotations}, ["", "not base64 at all"], [5], "expected a string")
    assert_verdicts(annotations, [None, 0, "x", [1], {"a": 1}], [])


@pytest.mark.parametrize(
    ("schema", "good", "bad", "message"),
    [
        ({"enum": ["a", 1]}, ["a", 1, 1.0], [True, "b", None, [1], "A"], "allows a, 1)"),
        ({"enum": [True]}, [True], [1, 1.0, False], "unknown value"),
        ({"enum": [{"a": [1]}]}, [{"a": [1.0]}], [{"a": [True]}, {"a": [1], "b": 2}], "unknown value"),
        ({"const": False}, [False], [0, None, "false"], "must be false"),
        ({"const": "ok"}, ["ok"], ["OK", None], 'must be "ok"'),
    ],
)
def test_enum_and_const_compare_values_as_json_does(
    schema: JSON, good: list[JSON], bad: list[JSON], message: str
) -> None:
    assert_verdicts(schema, good, bad, message)


def test_members_required_and_additional_properties() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "number"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    assert_verdicts(schema, [{"a": ""}, {"a": "", "b": 1}], [])
    validate = validator(schema)
    assert refusal(validate, {"b": 1}).startswith("test body: /a: required member missing; ")
    assert refusal(validate, {"a": "", "b": "1"}).startswith("test body: /b: expected a number, got string; ")
    assert refusal(validate, {"a": "", "c": 1}).startswith("test body: /c: member not allowed by the pinned spec; ")
    # a map: every member's value fits additionalProperties, and the pointer names the key
    speakers = validator({"type": "object", "additionalProperties": {"type": "object", "required": ["id"]}})
    assert speakers({"x": {"id": 1}, "y": {"id": 2}}) == ()
    assert refusal(speakers, {"x": {"id": 1}, "y/~z": {}}).startswith("test body: /y~1~0z/id: required member missing")
    assert_verdicts({"required": ["a"]}, [{"a": None}, [], "x"], [{}, {"b": 1}], "/a: required member missing")


def test_items_name_the_index_at_fault() -> None:
    validate = validator({"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}})
    assert validate([{"x": 1}, {}, {"x": 2.0}]) == ()
    assert refusal(validate, [{"x": 1}, {"x": 1}, {"x": "2"}]).startswith("test body: /2/x: expected an integer")


def test_any_of_one_of_and_all_of() -> None:
    assert_verdicts(
        {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        [1, "a"],
        [1.5, None],
        "expected an integer or a string, got",
    )
    assert_verdicts({"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1.5], [1], "matches 2 alternatives")
    assert_verdicts(
        {"oneOf": [{"type": "integer"}, {"type": "string"}]}, [1, "a"], [None], "expected an integer or a string"
    )
    assert_verdicts({"allOf": [{"type": "number"}, {"minimum": 0}]}, [0, 2.5], [-1, "a"])
    # the closest alternative's own message, when the value had the right type for one of them
    nested = validator({"anyOf": [{"type": "object", "required": ["id"]}, {"type": "null"}]})
    assert refusal(nested, {}).startswith("test body: /id: required member missing")


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"minimum": 1, "maximum": 3}, [1, 3, 2.5, "x", None], [0.5, 3.5, -(10**400)]),
        ({"exclusiveMinimum": 1, "exclusiveMaximum": 3}, [1.5, 2], [1, 3]),
        ({"minLength": 2, "maxLength": 3}, ["ab", "abc", 5], ["a", "abcd"]),
        ({"minItems": 1, "maxItems": 2}, [[1], [1, 2], "x"], [[], [1, 2, 3]]),
        ({"minProperties": 1, "maxProperties": 1}, [{"a": 1}, []], [{}, {"a": 1, "b": 2}]),
        ({"pattern": "^a[0-9]+$"}, ["a1", "a123", 5, None], ["a", "ba1", "a1b"]),
        ({"pattern": "[0-9]"}, ["x1y"], ["xy"]),  # a search, not a full match, as in JSON Schema
        ({"multipleOf": 3}, [9, 10**400 * 3, "x"], [10, 1e308]),
        ({"multipleOf": 0.5}, [1.5, 2], [1.2]),
        ({"uniqueItems": True}, [[1, "1", True], [], "x"], [[1, 1.0], [{"a": 1}, {"a": 1}]]),
        ({"not": {"type": "null"}}, [0, ""], [None]),
    ],
)
def test_bounds_patterns_and_the_other_cheap_keywords(schema: JSON, good: list[JSON], bad: list[JSON]) -> None:
    assert_verdicts(schema, good, bad)


# --- the same verdicts as jsonschema ---------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6)
VALUES = st.recursive(
    SCALARS | st.sampled_from([0, 1, 1.0, 1.5, 3, "a", "ab", "a1", [1, 1.0], {"a": 1}, math.inf, 10**400]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["a", "b", "id", "x"]), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYWORD_SCHEMAS: list[JSON] = [
    {"type": "integer"},
    {"type": "number"},
    {"type": ["integer", "null"]},
    {"type": ["number", "integer"]},
    {"type": "boolean"},
    {"type": "string", "format": "date-time"},
    {"enum": ["a", 1, None, [1]]},
    {"const": 1},
    {"type": "object", "properties": {"a": {"type": "integer"}, "id": {}}, "required": ["id"]},
    {"properties": {"a": {"enum": [1]}}, "additionalProperties": False},
    {"additionalProperties": {"type": "number"}},
    {"type": "array", "items": {"type": ["string", "number"]}},
    {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "string"}}]},
    {"oneOf": [{"type": "integer"}, {"type": "number"}]},
    {"allOf": [{"type": "number"}, {"minimum": 0}]},
    {"minimum": 1, "exclusiveMaximum": 3},
    {"maximum": 1, "exclusiveMinimum": -1},
    {"minLength": 1, "maxLength": 2},
    {"minItems": 1, "maxItems": 2},
    {"minProperties": 1, "maxProperties": 2},
    {"pattern": "^a[0-9]?$"},
    {"multipleOf": 0.5},
    {"multipleOf": 3},
    {"uniqueItems": True},
    {"not": {"type": "string"}},
]


NUMERIC = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}


def is_finite_json(value: JSON) -> bool:
    if isinstance(value, list | dict):
        return all(is_finite_json(item) for item in (value.values() if isinstance(value, dict) else value))
    return isinstance(value, bool) or not isinstance(value, int | float) or is_finite_number(value)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(KEYWORD_SCHEMAS) - 1), value=VALUES)
def test_each_keyword_gives_the_verdict_jsonschema_gives(index: int, value: JSON) -> None:
    """Strict validation of every keyword kept: the same verdict as ``jsonschema`` (numbers finite)."""
    schema = KEYWORD_SCHEMAS[index]
    if schema.keys() & NUMERIC and not is_finite_json(value):
        return  # the oracle's "number" is finite, so its bounds skip inf and 10**400; ours judge them (10**400 > 3)
    try:
        expected = FINITE_ORACLE(schema).is_valid(value)
    except OverflowError:  # jsonschema's own multipleOf on a huge int; not a verdict to compare with
        return
    validate = validator(schema)
    if expected:  # accepted, with at most the members "properties" do not declare reported
        assert all(drift.kind == "unknown_member" for drift in validate(value))
    else:
        with pytest.raises(ResponseValidationError):
            validate(value)


# --- what it refuses to build ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "cause"),
    [
        (
            {"type": "object", "patternProperties": {"^a": {}}},
            "#/patternProperties: JSON Schema keyword 'patternProperties'",
        ),
        ({"properties": {"a": {"if": {}}}}, "#/properties/a/if: JSON Schema keyword 'if'"),
        ({"type": "array", "prefixItems": [{}]}, "'prefixItems'"),
        ({"discriminator": {"propertyName": "kind"}}, "'discriminator'"),
        ({"$dynamicRef": "#x"}, "'$dynamicRef'"),
        ({"items": [{"type": "string"}]}, "#/items: a schema must be an object or a boolean"),
        ({"type": "float"}, "#/type: unsupported type"),
        ({"type": []}, "#/type: unsupported type"),
        ({"enum": []}, "#/enum"),
        ({"required": "a"}, "required a list"),
        ({"minimum": "1"}, "#/minimum"),
        ({"maxLength": math.inf}, "#/maxLength"),
        ({"multipleOf": 0}, "#/multipleOf"),
        ({"nullable": "yes"}, "#/nullable"),
        ({"uniqueItems": 1}, "#/uniqueItems"),
        ({"$ref": "https://example.test/schema.json"}, "only local"),
        ({"$ref": f"{PREFIX}Nope"}, "reference to a missing schema"),
        ({"anyOf": []}, "#/anyOf"),
        ("string", "a schema must be an object or a boolean"),
    ],
)
def test_what_it_cannot_enforce_is_refused_when_built_naming_where_and_why(schema: JSON, cause: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match=r"^where: the pinned schema cannot be enforced: ") as caught:
        compile_validator(schema, NO_COMPONENTS, "where")
    assert cause in str(caught.value)
    assert isinstance(caught.value, SpeakerAudioError)


@pytest.mark.parametrize(
    "pattern",
    [r"^[\p{L}\p{N}_-]+$", r"(?<name>a)", "(", r"\k<name>", "[z-a]", "a{99999999999999999999}"],
)
def test_a_pattern_python_cannot_compile_is_refused_when_built_never_a_raw_re_error(pattern: str) -> None:
    with pytest.raises(UnsupportedSchemaError, match="is not a pattern Python's re can run"):
        compile_validator({"properties": {"id": {"type": "string", "pattern": pattern}}}, NO_COMPONENTS, "x")


def test_a_pattern_that_warns_is_refused_when_warnings_are_errors() -> None:
    with warnings.catch_warnings():  # "[[" warns of a possible nested set (re caches: a pattern no other test uses)
        warnings.simplefilter("error")
        with pytest.raises(UnsupportedSchemaError, match="is not a pattern"):
            compile_validator({"pattern": "[[speaker-audio-warning]"}, NO_COMPONENTS, "x")


# --- failure stays in its room: one operation's schema, in a copy of the shipped spec --------------------------


def component_of(operation: str, spec: JSON) -> str:
    """The name of the component schema that ``operation``'s 200 response refers to."""
    ref = response_schema(operation, spec=spec).get("$ref", "")
    assert ref.startswith(PREFIX), f"{operation}: its response schema is not a reference; extend the test"
    return str(ref.removeprefix(PREFIX))


def reachable(schema: JSON, spec: JSON, seen: set[str] | None = None) -> set[str]:
    """The component schemas reachable from ``schema``."""
    seen = set() if seen is None else seen
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX) and ref.removeprefix(PREFIX) not in seen:
            seen.add(ref.removeprefix(PREFIX))
            reachable(spec["components"]["schemas"][ref.removeprefix(PREFIX)], spec, seen)
        for value in schema.values():
            reachable(value, spec, seen)
    elif isinstance(schema, list):
        for value in schema:
            reachable(value, spec, seen)
    return seen


def minimal_body(schema: JSON, spec: JSON) -> JSON:
    """A small body that fits ``schema``: its required members only, each the simplest value of its type."""
    if "$ref" in schema:
        return minimal_body(spec["components"]["schemas"][schema["$ref"].removeprefix(PREFIX)], spec)
    if "enum" in schema:
        return schema["enum"][0]
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return minimal_body(schema[keyword][0], spec)
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        return {name: minimal_body(schema["properties"][name], spec) for name in schema.get("required", [])}
    return {"string": "x", "number": 1.5, "integer": 1, "boolean": True, "array": [], "null": None}[kind]


@pytest.fixture
def pinned_copy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Callable[[JSON], None]], JSON]]:
    """``pin(edit)``: from now on the facade reads a copy of the shipped spec with ``edit`` applied to it."""

    def clear() -> None:
        _schema._build.cache_clear()
        _operations._audio_member.cache_clear()

    def pin(edit: Callable[[JSON], None]) -> JSON:
        spec = copy.deepcopy(load_spec())
        edit(spec)
        monkeypatch.setattr(_schema, "_compiled", compiled_pin(spec))
        clear()
        return spec

    clear()
    yield pin
    monkeypatch.undo()
    clear()


def unenforceable(kind: str) -> Callable[[JSON], JSON]:
    """What to put on one member of a schema: a keyword the validator does not know, or a pattern ``re`` refuses."""
    return {
        "keyword": lambda member: member.__setitem__("patternProperties", {"^a": {}}),
        "pattern": lambda member: member.__setitem__("pattern", r"^[\p{L}\p{N}_-]+$"),
        "named group": lambda member: member.__setitem__("pattern", r"^(?<id>[a-z]+)$"),
    }[kind]


@pytest.mark.parametrize("kind", ["keyword", "pattern", "named group"])
@pytest.mark.parametrize("broken", OPERATIONS)
def test_an_unenforceable_schema_fails_its_own_operation_only(
    pinned_copy: Callable[[Callable[[JSON], None]], JSON], broken: str, kind: str
) -> None:
    def edit(spec: JSON) -> None:
        schema = spec["components"]["schemas"][component_of(broken, spec)]
        members = [sub for sub in schema.get("properties", {}).values() if isinstance(sub, dict)]
        unenforceable(kind)(members[0] if members else schema)

    spec = pinned_copy(edit)
    preload_validators()  # a client's construction: never raises for one operation's schema
    for _ in range(2):  # at every call, not just the first
        with pytest.raises(UnsupportedSchemaError, match=f"^{broken} response: the pinned schema cannot be enforced"):
            response_validator(broken)
    edited = component_of(broken, spec)
    for operation in OPERATIONS:
        schema = response_schema(operation, spec=spec)
        if edited in reachable(schema, spec):
            with pytest.raises(UnsupportedSchemaError):
                response_validator(operation)
        else:  # the others keep working
            assert response_validator(operation)(minimal_body(schema, spec)) == ()


def test_an_operation_gone_from_the_spec_fails_alone(pinned_copy: Callable[[Callable[[JSON], None]], JSON]) -> None:
    gone = OPERATIONS[0]

    def remove(spec: JSON) -> None:
        for item in spec["paths"].values():
            for method in [m for m, op in item.items() if isinstance(op, dict) and op.get("operationId") == gone]:
                del item[method]

    spec = pinned_copy(remove)
    preload_validators()
    with pytest.raises(UnsupportedSchemaError, match=f"no operation '{gone}'"):
        response_validator(gone)
    for operation in OPERATIONS[1:]:
        assert response_validator(operation)(minimal_body(response_schema(operation, spec=spec), spec)) == ()


def test_an_operation_with_no_json_response_fails_alone(pinned_copy: Callable[[Callable[[JSON], None]], JSON]) -> None:
    bare = OPERATIONS[-1]

    def strip(spec: JSON) -> None:
        for item in spec["paths"].values():
            for operation in item.values():
                if isinstance(operation, dict) and operation.get("operationId") == bare:
                    del operation["responses"]["200"]["content"]

    spec = pinned_copy(strip)
    preload_validators()
    with pytest.raises(UnsupportedSchemaError, match=f"^the pinned spec gives {bare} 200 no JSON schema$"):
        response_validator(bare)
    for operation in OPERATIONS[:-1]:
        assert response_validator(operation)(minimal_body(response_schema(operation, spec=spec), spec)) == ()


@pytest.mark.parametrize("kind", [{"type": "integer"}, {"type": ["string", "null"]}, None])
def test_an_audio_member_that_the_pin_does_not_give_as_a_string_is_refused(
    pinned_copy: Callable[[Callable[[JSON], None]], JSON], kind: JSON
) -> None:
    row = next(row for row in _operations.OPERATIONS if row.audio)
    name = row.member()

    def edit(spec: JSON) -> None:
        properties = spec["components"]["schemas"][component_of(row.name, spec)]["properties"]
        if kind is None:
            del properties[name]
        else:
            properties[name] = kind

    pinned_copy(edit)
    preload_validators()  # never raises for one operation
    with pytest.raises(UnsupportedSchemaError, match=f"^the pinned {row.name} response has no string member '{name}'$"):
        row.member()


def test_the_members_the_facade_reads_are_compiled_from_the_spec() -> None:
    """Per response: its optional members with a ``format`` anywhere, and its members of type string."""
    spec = copy.deepcopy(load_spec())
    operation = OPERATIONS[0]
    component = component_of(operation, spec)
    schema = spec["components"]["schemas"][component]
    properties, required = schema["properties"], schema.setdefault("required", [])
    properties["made_at"] = {"type": "string", "format": "date-time"}
    properties["made_on"] = {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}
    properties["needed_at"] = {"type": "string", "format": "date-time"}
    required.append("needed_at")
    compiled = compiled_pin(spec)
    declared = {name for name, member in properties.items() if name not in required and "format" in json.dumps(member)}
    assert compiled.FORMATTED_OPTIONAL[(operation, "200")] == declared >= {"made_at", "made_on"}
    strings = {name for name, member in properties.items() if member.get("type") == "string"}
    assert compiled.STRING_MEMBERS[(operation, "200")] == strings >= {"made_at", "needed_at"}
    spec["components"]["schemas"] = {"Wrapper": {"anyOf": [{"type": "null"}, {"$ref": PREFIX + component}]}}
    spec["components"]["schemas"][component] = schema  # a null-or-object response: its object's members
    for item in spec["paths"].values():
        for method in item.values():
            if isinstance(method, dict) and method.get("operationId") == operation:
                method["responses"]["200"]["content"]["application/json"]["schema"] = {"$ref": PREFIX + "Wrapper"}
    assert compiled_pin(spec).STRING_MEMBERS[(operation, "200")] == strings


def test_a_client_works_beside_an_operation_whose_schema_it_cannot_enforce(
    pinned_copy: Callable[[Callable[[JSON], None]], JSON], completed_fake: FakeElevenLabs, kind: Kind
) -> None:
    broken, working = "get_separation_status", "get_speaker_audio"
    spec = pinned_copy(lambda spec: unenforceable("pattern")(spec["components"]["schemas"][component_of(broken, spec)]))
    assert component_of(broken, spec) not in reachable(response_schema(working, spec=spec), spec)
    runner = ClientRunner(kind, completed_fake.base_url)
    speaker = next(iter(completed_fake.voices["voice-demo"]["sample-demo"].speakers))
    with pytest.raises(UnsupportedSchemaError, match=broken):
        runner.call(broken, "voice-demo", "sample-demo")
    assert runner.call(working, "voice-demo", "sample-demo", speaker).data


# --- recursion and depth are bounded ------------------------------------------------------------------------------


def recursive_spec() -> tuple[JSON, str, str]:
    """A copy of the shipped spec where one response component gains a list of itself; (spec, its name, member)."""
    spec = copy.deepcopy(load_spec())
    name = component_of(OPERATIONS[0], spec)
    properties = spec["components"]["schemas"][name].setdefault("properties", {})
    member = "children" + "_" * len(properties)  # a name the schema does not have
    while member in properties:
        member += "_"
    properties[member] = {"type": "array", "items": {"$ref": PREFIX + name}}
    return spec, name, member


def nested(leaf: JSON, member: str, depth: int) -> JSON:
    body = copy.deepcopy(leaf)
    for _ in range(depth):
        body = {**copy.deepcopy(leaf), member: [body]}
    return body


def test_a_recursive_schema_compiles_and_validation_depth_is_bounded() -> None:
    spec, name, member = recursive_spec()
    validate = compile_validator({"$ref": PREFIX + name}, spec, "recursive")
    leaf = minimal_body(spec["components"]["schemas"][name], spec)
    assert validate(nested(leaf, member, MAX_DEPTH - 1)) == ()
    message = refusal(validate, nested(leaf, member, 2 * MAX_DEPTH))
    assert f"nested more than {MAX_DEPTH} levels deep" in message
    assert f"/{member}/0" * MAX_DEPTH + ":" in message  # the pointer where it stopped


@pytest.mark.parametrize(
    "schemas",
    [
        {"A": {"allOf": [{"$ref": PREFIX + "A"}]}},
        {"A": {"anyOf": [{"$ref": PREFIX + "B"}, {"type": "null"}]}, "B": {"$ref": PREFIX + "A"}},
        {"A": {"$ref": PREFIX + "A"}},
    ],
)
def test_a_reference_cycle_that_consumes_nothing_is_a_validation_error_not_a_hang(schemas: dict[str, JSON]) -> None:
    validate = validator({"$ref": PREFIX + "A"}, schemas)
    assert "nested more than" in refusal(validate, {"a": 1})


def test_deep_schemas_and_deep_bodies_never_raise_recursion_error() -> None:
    deep: JSON = {"type": "string"}
    for _ in range(50_000):
        deep = {"type": "array", "items": deep}
    with pytest.raises(UnsupportedSchemaError, match="nested too deeply"):
        compile_validator(deep, NO_COMPONENTS, "x")
    body: JSON = "leaf"
    for _ in range(5_000):
        body = [body]
    for schema, document in (({"enum": [body]}, body), ({"const": body}, body), ({"uniqueItems": True}, [body, body])):
        assert verdict(validator(schema), document) in ((), "nested too deeply to validate", "items must be unique")


# --- no raw Python error for any schema or document ----------------------------------------------------------

KEYWORDS = sorted({*compile_validators.KEYWORDS, "format", "title", "patternProperties", "if", "x-a"})
SCHEMA_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats() | st.sampled_from(["a", "^a", "(", "number", "null"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from([*KEYWORDS, "a", "A"]), inner, max_size=4)
    ),
    max_leaves=16,
)


@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    schema=SCHEMA_VALUES,
    components=st.dictionaries(st.sampled_from(["A", "B"]), SCHEMA_VALUES, max_size=2),
    ref=st.booleans(),
    documents=st.lists(VALUES, max_size=4),
    strict=st.booleans(),
)
def test_no_schema_and_no_document_raises_anything_but_our_errors(
    schema: JSON, components: dict[str, JSON], ref: bool, documents: list[JSON], strict: bool
) -> None:
    spec = {"components": {"schemas": components}}
    try:
        validate = compile_validator({"$ref": PREFIX + "A"} if ref else schema, spec, "fuzz")
    except UnsupportedSchemaError:
        return
    for document in documents:
        try:
            drifts = validate(document, strict=strict)
        except ResponseValidationError:
            continue
        assert isinstance(drifts, tuple)
        assert not strict or all(drift.kind == "unknown_member" for drift in drifts)


def test_every_response_schema_of_the_pin_builds() -> None:
    for operation in OPERATIONS:
        assert callable(response_validator(operation))
    json.dumps(load_spec())  # the spec is plain JSON: what the fuzz test above draws from


@pytest.mark.parametrize("broken", OPERATIONS)
def test_an_operation_that_cannot_be_checked_is_not_sent(
    pinned_copy: Callable[[Callable[[JSON], None]], JSON], fake: FakeElevenLabs, kind: Kind, broken: str
) -> None:
    def edit(spec: JSON) -> None:
        spec["components"]["schemas"][component_of(broken, spec)]["patternProperties"] = {"^a": {}}

    pinned_copy(edit)
    method = {
        "get_speaker_audio": ("get_speaker_audio", "voice-demo", "sample-demo", "speaker-1"),
        "get_sample_audio": ("get_sample_audio", "voice-demo", "sample-demo"),
        "get_separation_status": ("get_separation_status", "voice-demo", "sample-demo"),
        "start_speaker_separation": ("start_speaker_separation", "voice-demo", "sample-demo"),
    }.get(broken)
    if method is None:
        pytest.skip(f"no client method calls {broken} alone")
    with pytest.raises(UnsupportedSchemaError, match=broken):
        ClientRunner(kind, fake.base_url).call(*method)
    assert fake.requests == []

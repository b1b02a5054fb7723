"""Response validation comes from the pinned spec, and nothing else: the validator, strict JSON, the audio member."""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from _compiled import compile_validator
from _spec import load_spec, response_schema

from compile_validators import operation_schemas
from speaker_audio._operations import OPERATIONS as OPERATION_ROWS
from speaker_audio._operations import SPEAKER_AUDIO
from speaker_audio._schema import response_validator
from speaker_audio.errors import ResponseValidationError, UnsupportedSchemaError
from speaker_audio_api import _validators
from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel

# --- the audio member comes from the generated model ---------------------------------------------------------


def test_the_audio_member_is_the_generated_models_attribute() -> None:
    name = SPEAKER_AUDIO.member()
    assert name == "audio_base_64"
    assert SpeakerAudioResponseModel(audio_base_64="A", media_type="m", duration_secs=1).to_dict()[name] == "A"


# --- the validator: compiled from the spec, every keyword of the pin enforced --------------------------------


def test_every_response_schema_of_the_pin_compiles() -> None:
    """A re-pin that brings a keyword the validator does not enforce fails here, loudly, naming it."""
    spec = load_spec()
    for item in spec["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    compile_validator(schema, spec, f"{operation['operationId']} {status}")
    for operation_id in (row.name for row in OPERATION_ROWS):
        assert response_schema(operation_id)


def test_the_shipped_checks_cover_every_response_of_the_shipped_spec_and_import_no_facade_code() -> None:
    """``make generate`` compiled one check per JSON response of the pin; ``generated/`` never imports the facade."""
    assert set(_validators.VALIDATORS) == set(operation_schemas(load_spec()))
    assert not _validators.UNSUPPORTED
    imported: set[str] = set()
    for node in ast.walk(ast.parse(Path(_validators.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= sys.stdlib_module_names | {"__future__"}, imported


def test_unknown_keywords_and_references_are_refused_at_compile_time() -> None:
    spec: dict[str, Any] = {"components": {"schemas": {}}}
    with pytest.raises(UnsupportedSchemaError, match="'if'"):
        compile_validator({"type": "object", "if": {"required": ["a"]}}, spec, "x")
    with pytest.raises(UnsupportedSchemaError, match="missing schema"):
        compile_validator({"$ref": "#/components/schemas/Nope"}, spec, "x")
    with pytest.raises(UnsupportedSchemaError, match="local"):
        compile_validator({"$ref": "https://example.test/schema.json"}, spec, "x")
    with pytest.raises(UnsupportedSchemaError, match="no operation"):
        response_validator("no_such_operation")
    # annotations and extensions are not constraints
    compile_validator({"type": "string", "format": "byte", "x-fern": 1, "examples": ["a"]}, spec, "x")("abc")


SCHEMAS: dict[str, Any] = {
    "Node": {
        "type": "object",
        "properties": {"value": {"type": "integer"}, "next": {"$ref": "#/components/schemas/Node"}},
        "required": ["value"],
        "additionalProperties": False,
    }
}


@pytest.mark.parametrize(
    ("schema", "good", "bad", "message"),
    [
        ({"type": "integer"}, [1, 2.0, -(10**30)], [1.5, True, "1"], "expected an integer"),
        ({"type": "number"}, [1, 1.5, 10**300], [math.inf, 10**400, False, None], ""),
        ({"type": ["string", "null"]}, ["a", None], [1, []], "expected a string or null"),
        ({"type": "string", "nullable": True}, ["a", None], [1], "expected a string"),
        ({"enum": ["a", 1]}, ["a", 1, 1.0], [True, "b", None], "unknown value"),
        ({"const": False}, [False], [0, None], "must be false"),
        ({"minimum": 1, "exclusiveMaximum": 3}, [1, 2.5, "x"], [0.5, 3], "violates"),
        ({"minLength": 2, "maxLength": 3, "pattern": "^a"}, ["ab", "abc", 5], ["a", "abcd", "ba"], ""),
        (
            {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
            [["a"]],
            [[], [1], ["a"] * 3],
            "",
        ),
        ({"minProperties": 1, "maxProperties": 1}, [{"a": 1}], [{}, {"a": 1, "b": 2}], "Properties"),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, [1.5], [1], "exactly one"),
        ({"allOf": [{"type": "number"}, {"minimum": 0}]}, [0], [-1, "a"], ""),
        (
            {"type": "object", "additionalProperties": {"type": "number"}},
            [{}, {"a": 1}],
            [{"a": "x"}, []],
            "",
        ),
        ({"$ref": "#/components/schemas/Node"}, [{"value": 1, "next": {"value": 2}}], [{"value": 1, "next": {}}], ""),
        ({"$ref": "#/components/schemas/Node"}, [{"value": 1}], [{"value": 1, "other": 2}], "not allowed"),
    ],
)
def test_keywords_behave_as_json_schema_says(schema: Any, good: list[Any], bad: list[Any], message: str | None) -> None:
    validate = compile_validator(schema, {"components": {"schemas": SCHEMAS}}, "test body")
    for value in good:
        validate(value)
    for value in bad:
        with pytest.raises(ResponseValidationError, match=message or None):
            validate(value)


# --- the validator stays exact: strict UTF-8 JSON, exact numbers, every keyword ------------------------------


def test_json_bodies_are_strict_utf8() -> None:
    from speaker_audio._json import parse_json_body

    body = {"voice_id": "v", "sample_id": "s", "status": "pending"}
    assert parse_json_body(b"\xef\xbb\xbf" + json.dumps(body).encode(), "x") == body  # a UTF-8 BOM, as elsewhere
    for bad in (json.dumps(body).encode("utf-16"), b'{"voice_id": "\xed\xa0\x80"}'):
        with pytest.raises(ResponseValidationError, match="not JSON"):
            parse_json_body(bad, "x")


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer", "minimum": 0}, [10**400, 0], [-(10**400)]),
        ({"type": "integer", "maximum": 2**53}, [2**53], [2**53 + 1]),
        ({"type": ["integer", "number"]}, [10**400, 1.5], [math.inf]),
        ({"type": ["number", "integer"]}, [10**400, 1.5], [math.inf]),
        ({"type": "array", "uniqueItems": True}, [[1, "1", True], []], [[1, 1.0], [{"a": 1}, {"a": 1}]]),
        ({"multipleOf": 0.5}, [1.5, 2, "x"], [1.2]),
        ({"multipleOf": 3}, [9, 10**400 * 3], [10, 1e308]),
        ({"not": {"type": "null"}}, [0, ""], [None]),
        ({"required": ["a"]}, [{"a": None}, [], "x"], [{}, {"b": 1}]),
        (
            {"properties": {"a": {}}, "additionalProperties": False, "required": ["a"]},
            [{"a": 1}],
            [{"a": 1, "b": 2}, {}],
        ),
    ],
)
def test_numbers_are_compared_exactly_and_more_keywords_are_enforced(
    schema: Any, good: list[Any], bad: list[Any]
) -> None:
    validate = compile_validator(schema, {"components": {"schemas": {}}}, "test body")
    for value in good:
        validate(value)
    for value in bad:
        with pytest.raises(ResponseValidationError):
            validate(value)

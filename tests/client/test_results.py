"""Results carry the validated generated model; validation comes from the pinned spec, and nothing else."""

from __future__ import annotations

import json
import math
import typing
from typing import Any

import pytest
from _clients import ClientRunner, Kind

from speaker_audio import SeparationStatus, Speaker, SpeakerAudio, Utterance
from speaker_audio._responses import OPERATIONS, speaker_audio_member
from speaker_audio._schema import UnsupportedSchemaError, compile_validator, load_spec, response_schema
from speaker_audio.errors import ResponseValidationError
from speaker_audio.testing import FakeElevenLabs, Fault
from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel
from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel
from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
from speaker_audio_api.models.speaker_separation_response_model_status import SpeakerSeparationResponseModelStatus
from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel

IDS = ("voice-demo", "sample-demo", "speaker-1")
GOOD_AUDIO = {"audio_base_64": "SUQz", "media_type": "audio/mpeg", "duration_secs": 1.25}


# --- .model on every result, from real responses ---------------------------------------------------------


def test_speaker_audio_model_is_the_validated_generated_model_without_the_audio(
    completed_fake: FakeElevenLabs, kind: Kind
) -> None:
    body = {**GOOD_AUDIO, "loudness_lufs": -14.5, "labels": {"lang": "en"}}  # members the pin does not know yet
    completed_fake.script(Fault(status=200, body=json.dumps(body).encode()))
    audio = ClientRunner(kind, completed_fake.base_url).call("get_speaker_audio", *IDS)
    assert isinstance(audio.model, SpeakerAudioResponseModel)
    assert audio.data == b"ID3"
    assert audio.model.audio_base_64 == ""  # the audio is held once, in .data
    assert (audio.model.media_type, audio.model.duration_secs) == ("audio/mpeg", 1.25)
    assert audio.model.additional_properties == {"loudness_lufs": -14.5, "labels": {"lang": "en"}}
    assert "model" not in repr(audio)


def test_status_speaker_and_utterance_models(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    status = ClientRunner(kind, completed_fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")
    assert isinstance(status.model, SpeakerSeparationResponseModel)
    assert status.model.status is SpeakerSeparationResponseModelStatus.COMPLETED
    assert status.status == "completed"
    assert status.model.voice_id == status.voice_id
    assert status.speakers
    for speaker_id, speaker in status.speakers.items():
        assert isinstance(speaker.model, SpeakerResponseModel)
        assert speaker.model.speaker_id == speaker.speaker_id == speaker_id
        assert speaker.model.duration_secs == speaker.duration_secs
        for utterance in speaker.utterances:
            assert isinstance(utterance.model, UtteranceResponseModel)
            assert (utterance.model.start, utterance.model.end) == (utterance.start, utterance.end)


def test_results_built_by_hand_get_a_consistent_model() -> None:
    audio = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=2)
    assert audio.model.to_dict() == {"audio_base_64": "", "media_type": "audio/wav", "duration_secs": 2.0}
    speaker = Speaker(speaker_id="a", duration_secs=1.0, utterances=[Utterance(start=0, end=1)])
    status = SeparationStatus(voice_id="v", sample_id="s", status="completed", speakers={"a": speaker})
    assert status.model.status is SpeakerSeparationResponseModelStatus.COMPLETED
    assert status.model.to_dict()["speakers"] == {
        "a": {"speaker_id": "a", "duration_secs": 1.0, "utterances": [{"start": 0.0, "end": 1.0}]}
    }
    with pytest.raises(ValueError, match="status must be one of"):
        SeparationStatus(voice_id="v", sample_id="s", status="cancelled")


def test_model_annotations_name_the_generated_classes() -> None:
    """``.model`` is typed with the generated class (what mypy checks users' code against)."""
    namespace = {
        "SpeakerAudioResponseModel": SpeakerAudioResponseModel,
        "SpeakerSeparationResponseModel": SpeakerSeparationResponseModel,
        "SpeakerResponseModel": SpeakerResponseModel,
        "UtteranceResponseModel": UtteranceResponseModel,
    }
    expected = {
        SpeakerAudio: SpeakerAudioResponseModel,
        SeparationStatus: SpeakerSeparationResponseModel,
        Speaker: SpeakerResponseModel,
        Utterance: UtteranceResponseModel,
    }
    for result, model in expected.items():
        hints = typing.get_type_hints(result, localns=namespace)
        assert hints["model"] is model


def test_an_unknown_status_is_a_validation_error_naming_it(fake: FakeElevenLabs, kind: Kind) -> None:
    body = {"voice_id": "v", "sample_id": "s", "status": "archived"}
    fake.script(Fault(status=200, body=json.dumps(body).encode()))
    with pytest.raises(ResponseValidationError, match=r"status: unknown value \"archived\""):
        ClientRunner(kind, fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")


# --- the audio member comes from the generated model ---------------------------------------------------


def test_the_audio_member_is_the_generated_models_attribute() -> None:
    name = speaker_audio_member()
    assert name == "audio_base_64"
    assert SpeakerAudioResponseModel(audio_base_64="A", media_type="m", duration_secs=1).to_dict()[name] == "A"


# --- the validator: compiled from the spec, every keyword of the pin enforced -------------------------------


def test_every_response_schema_of_the_pin_compiles() -> None:
    """A re-pin that brings a keyword the validator does not enforce fails here, loudly, naming it."""
    spec = load_spec()
    for item in spec["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    compile_validator(schema, spec, f"{operation['operationId']} {status}")
    for operation_id in OPERATIONS:
        assert response_schema(operation_id)


def test_unknown_keywords_and_references_are_refused_at_compile_time() -> None:
    spec: dict[str, Any] = {"components": {"schemas": {}}}
    with pytest.raises(UnsupportedSchemaError, match="'if'"):
        compile_validator({"type": "object", "if": {"required": ["a"]}}, spec, "x")
    with pytest.raises(UnsupportedSchemaError, match="missing schema"):
        compile_validator({"$ref": "#/components/schemas/Nope"}, spec, "x")
    with pytest.raises(UnsupportedSchemaError, match="local"):
        compile_validator({"$ref": "https://example.test/schema.json"}, spec, "x")
    with pytest.raises(UnsupportedSchemaError, match="no operation"):
        response_schema("no_such_operation")
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


# --- review findings: results stay hashable, evolvable and picklable; the validator stays exact ---------------


def test_results_hash_and_compare_by_their_fields_not_their_model() -> None:
    import attrs

    from speaker_audio._responses import speaker_audio_from_parts

    fetched = speaker_audio_from_parts(b"x", {"media_type": "audio/mpeg", "duration_secs": 1, "loudness": -14})
    built = SpeakerAudio(data=b"x", media_type="audio/mpeg", duration_secs=1.0)
    assert fetched == built
    assert hash(fetched) == hash(built)
    assert hash(Utterance(start=0, end=1)) == hash(Utterance(start=0.0, end=1.0))

    evolved = attrs.evolve(fetched, duration_secs=9, media_type="audio/wav")
    assert (evolved.model.media_type, evolved.model.duration_secs) == ("audio/wav", 9.0)
    assert evolved.model.additional_properties == {"loudness": -14}  # upstream's extra members are kept
    assert fetched.model.duration_secs == 1  # the original is untouched


def test_evolved_status_and_pickled_results_keep_a_matching_model() -> None:
    import copy
    import pickle

    import attrs

    from speaker_audio._responses import separation_status_from_json

    status = separation_status_from_json({"voice_id": "v", "sample_id": "s", "status": "pending", "eta": 3})
    for clone in (pickle.loads(pickle.dumps(status)), copy.deepcopy(status)):
        assert clone == status
        assert clone.model == status.model  # the generated UNSET survives (models compare it by identity)
    failed = attrs.evolve(status, status="failed")
    assert failed.model.status is SpeakerSeparationResponseModelStatus.FAILED
    assert failed.model.additional_properties == {"eta": 3}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speakers": {"a": {"speaker_id": "a"}}}, "speakers must be a dict"),
        ({"speakers": [("a", 1)]}, "speakers must be a dict"),
        ({"selected_speaker_ids": "ab"}, "selected_speaker_ids must be a list of str"),
        ({"selected_speaker_ids": [1]}, "selected_speaker_ids must be a list of str"),
    ],
)
def test_hand_built_results_refuse_wrong_containers_with_a_type_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        SeparationStatus(voice_id="v", sample_id="s", status="completed", **kwargs)
    with pytest.raises(TypeError, match="utterances must be a list of Utterance"):
        Speaker(speaker_id="a", duration_secs=1.0, utterances=[{"start": 0, "end": 1}])  # type: ignore[list-item]


def test_json_bodies_are_strict_utf8() -> None:
    from speaker_audio._responses import parse_json_body

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

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

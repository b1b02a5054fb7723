"""Successful responses into results (sans-I/O): validated by the pinned spec, read through the generated models.

Every body is first checked against its response schema from the pinned spec (``_schema``),
then turned into the generated model with its ``from_dict`` (which checks no types itself), and
the results read their fields from that model's attributes: a field that upstream renames or
retypes is a ``mypy --strict`` error here, and one that upstream adds is on ``result.model``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar

from speaker_audio._http_errors import reject_json_constant
from speaker_audio._models import SeparationStatus, Speaker, SpeakerAudio, Utterance
from speaker_audio._schema import UnsupportedSchemaError, load_spec, response_schema, response_validator
from speaker_audio.errors import ResponseValidationError

if TYPE_CHECKING:
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel

__all__ = [
    "OPERATIONS",
    "parse_json_body",
    "preload_validators",
    "separation_status_from_json",
    "speaker_audio_from_parts",
    "speaker_audio_member",
    "start_separation_from_json",
]


class _GeneratedModel(Protocol):
    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self: ...


M = TypeVar("M", bound=_GeneratedModel)

# The operationIds (from openapi/overlay.json) whose 200 bodies the facade reads.
OPERATIONS = ("get_speaker_audio", "get_separation_status", "start_speaker_separation")


def preload_validators() -> None:
    """Compile the response validators now (a client's construction), not on the first call."""
    for operation in OPERATIONS:
        response_validator(operation)
    speaker_audio_member()


def _validated(model_class: type[M], operation: str, document: object) -> M:
    """``document`` checked against ``operation``'s response schema, then built as ``model_class``."""
    response_validator(operation)(document)
    if not isinstance(document, Mapping):  # a schema without "type": "object" let it through
        raise ResponseValidationError(f"{operation} response: expected a JSON object, got {type(document).__name__}")
    try:
        model = model_class.from_dict(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # the schema held but the generated model refused: the spec and the models disagree
        raise ResponseValidationError(
            f"{operation} response does not fit the generated {model_class.__name__}: {type(exc).__name__}: {exc}"
        ) from None
    return model


@functools.cache
def speaker_audio_member() -> str:
    """The JSON name of the audio member: the generated model's attribute, checked against the pinned schema."""
    import attrs

    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel

    name = attrs.fields(SpeakerAudioResponseModel).audio_base_64.name
    schema = response_schema("get_speaker_audio")
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    properties = load_spec()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    if properties.get(name, {}).get("type") != "string":
        raise UnsupportedSchemaError(f"the pinned get_speaker_audio response has no string member {name!r}")
    return name


def speaker_audio_from_parts(data: bytes, members: Mapping[str, object]) -> SpeakerAudio:
    """A ``SpeakerAudio`` from the decoded audio and the response's other members (validated here).

    The audio member is validated as an empty string: its text was checked, and decoded, as it streamed.
    """
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel

    document = {**members, speaker_audio_member(): ""}
    model = _validated(SpeakerAudioResponseModel, "get_speaker_audio", document)
    return SpeakerAudio(data=data, media_type=model.media_type, duration_secs=model.duration_secs, model=model)


def _speaker(model: SpeakerResponseModel) -> Speaker:
    utterances = model.utterances if isinstance(model.utterances, list) else []
    return Speaker(
        speaker_id=model.speaker_id,
        duration_secs=model.duration_secs,
        utterances=[Utterance(start=u.start, end=u.end, model=u) for u in utterances],
        model=model,
    )


def separation_status_from_json(payload: object) -> SeparationStatus:
    """Validate a separation status body and build a ``SeparationStatus``."""
    from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
    from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
        SpeakerSeparationResponseModelSpeakersType0,
    )

    model = _validated(SpeakerSeparationResponseModel, "get_separation_status", payload)
    speakers: dict[str, Speaker] = {}
    if isinstance(model.speakers, SpeakerSeparationResponseModelSpeakersType0):
        speakers = {key: _speaker(speaker) for key, speaker in model.speakers.additional_properties.items()}
    selected = model.selected_speaker_ids if isinstance(model.selected_speaker_ids, list) else []
    return SeparationStatus(
        voice_id=model.voice_id,
        sample_id=model.sample_id,
        status=model.status.value,
        speakers=speakers,
        selected_speaker_ids=list(selected),
        model=model,
    )


def start_separation_from_json(payload: object) -> None:
    """Validate the body of a successful start-separation call."""
    from speaker_audio_api.models.start_speaker_separation_response_model import (
        StartSpeakerSeparationResponseModel,
    )

    _validated(StartSpeakerSeparationResponseModel, "start_speaker_separation", payload)


def parse_json_body(body: bytes, where: str) -> object:
    """``json.loads`` of a UTF-8 body (a BOM allowed, as on the audio routes); else ``ResponseValidationError``."""
    try:
        text = body.decode("utf-8")  # strictly: json.loads(bytes) would also take UTF-16/32 and encoded surrogates
        value: Any = json.loads(text.removeprefix("\ufeff"), parse_constant=reject_json_constant)
    except (ValueError, RecursionError):
        excerpt = body[:60].decode("utf-8", "replace")
        raise ResponseValidationError(f"{where}: body is not JSON (starts with {excerpt!r})") from None
    return value

"""Successful responses into results (sans-I/O): validated by the pinned spec, read through the generated models.

Every body is first checked against its response schema from the pinned spec (``_schema``),
then turned into the generated model with its ``from_dict`` (which checks no types itself), and
the results read their fields from that model's attributes: a field that upstream renames or
retypes is a ``mypy --strict`` error here, and one that upstream adds is on ``result.model``.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from speaker_audio._http_errors import reject_json_constant
from speaker_audio._models import SampleAudio, SeparationStatus, Speaker, SpeakerAudio, Utterance
from speaker_audio._schema import UnsupportedSchemaError, load_spec, response_schema, response_validator
from speaker_audio.errors import ResponseValidationError

if TYPE_CHECKING:
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel

__all__ = [
    "OPERATIONS",
    "SAMPLE_AUDIO",
    "SPEAKER_AUDIO",
    "AudioResponse",
    "audio_member",
    "parse_json_body",
    "preload_validators",
    "sample_audio_from_parts",
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
OPERATIONS = ("get_speaker_audio", "get_separation_status", "start_speaker_separation", "get_sample_audio")


def preload_validators() -> None:
    """Compile the response validators now (a client's construction), not on the first call.

    An operation whose schema cannot be enforced raises ``UnsupportedSchemaError`` at its own calls only.
    """
    for operation in OPERATIONS:
        with contextlib.suppress(UnsupportedSchemaError):
            response_validator(operation)
    for route in (SPEAKER_AUDIO, SAMPLE_AUDIO):
        with contextlib.suppress(UnsupportedSchemaError):
            route.member()


def _validated(model_class: type[M], operation: str, document: object) -> M:
    """``document`` checked against ``operation``'s response schema, then built as ``model_class``."""
    response_validator(operation)(document, strict=True)  # tolerant mode: the caller's, once plumbed
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


def _audio_model_class(operation: str) -> type[Any]:
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel
    from speaker_audio_api.models.voice_sample_preview_response_model import VoiceSamplePreviewResponseModel

    classes: dict[str, type[Any]] = {
        "get_speaker_audio": SpeakerAudioResponseModel,
        "get_sample_audio": VoiceSamplePreviewResponseModel,
    }
    return classes[operation]


@functools.cache
def audio_member(operation: str) -> str:
    """The JSON name of ``operation``'s audio member: the generated model's attribute, checked against the spec."""
    import attrs

    name: str = attrs.fields(_audio_model_class(operation)).audio_base_64.name
    schema = response_schema(operation)
    ref = schema.get("$ref", "") if isinstance(schema, dict) else ""
    properties = load_spec()["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
    if properties.get(name, {}).get("type") != "string":
        raise UnsupportedSchemaError(f"the pinned {operation} response has no string member {name!r}")
    return name


def speaker_audio_member() -> str:
    """The JSON name of the speaker audio's audio member (see :func:`audio_member`)."""
    return audio_member("get_speaker_audio")


def speaker_audio_from_parts(data: bytes, members: Mapping[str, object]) -> SpeakerAudio:
    """A ``SpeakerAudio`` from the decoded audio and the response's other members (validated here).

    The audio member is validated as an empty string: its text was checked, and decoded, as it streamed.
    """
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel

    document = {**members, speaker_audio_member(): ""}
    model = _validated(SpeakerAudioResponseModel, "get_speaker_audio", document)
    return SpeakerAudio(data=data, media_type=model.media_type, duration_secs=model.duration_secs, model=model)


def sample_audio_from_parts(data: bytes, members: Mapping[str, object]) -> SampleAudio:
    """A ``SampleAudio`` from the decoded audio and the response's other members (validated here, as above)."""
    from speaker_audio_api.models.voice_sample_preview_response_model import VoiceSamplePreviewResponseModel
    from speaker_audio_api.types import Unset

    document = {**members, audio_member("get_sample_audio"): ""}
    model = _validated(VoiceSamplePreviewResponseModel, "get_sample_audio", document)
    duration = None if isinstance(model.duration_secs, Unset) else model.duration_secs
    return SampleAudio(
        data=data,
        media_type=model.media_type,
        duration_secs=duration,
        voice_id=model.voice_id,
        sample_id=model.sample_id,
        model=model,
    )


A = TypeVar("A")


class AudioResponse(Generic[A]):
    """An operation whose 200 body carries base64 audio: its audio member and how to build its result.

    The audio sinks take one of these (``SPEAKER_AUDIO``, ``SAMPLE_AUDIO``), so one streaming
    decoder and one pair of sinks serve every audio operation.
    """

    def __init__(self, operation: str, from_parts: Callable[[bytes, Mapping[str, object]], A]) -> None:
        self.operation = operation
        self.from_parts: Callable[[bytes, Mapping[str, object]], A] = from_parts
        """The result from the decoded audio and the body's other members (validated against the spec)."""

    def member(self) -> str:
        """The JSON name of the audio member."""
        return audio_member(self.operation)

    def __repr__(self) -> str:
        return f"AudioResponse({self.operation!r})"


SPEAKER_AUDIO: AudioResponse[SpeakerAudio] = AudioResponse("get_speaker_audio", speaker_audio_from_parts)
SAMPLE_AUDIO: AudioResponse[SampleAudio] = AudioResponse("get_sample_audio", sample_audio_from_parts)


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

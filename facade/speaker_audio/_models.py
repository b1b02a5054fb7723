"""Result types: frozen attrs classes holding decoded, validated values.

Each result keeps the validated instance of the generated model of its response in ``.model``,
so a field that upstream adds is reachable as ``result.model.<field>`` after pin + generate,
without an edit here. The audio results hold the audio once, in ``.data``: their
``.model.audio_base_64`` is ``""``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from speaker_audio._decode import extension_for_media_type
from speaker_audio._files import write_bytes_atomic

if TYPE_CHECKING:  # the generated models load with the first client, keeping `import speaker_audio` fast
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel
    from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
    from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel

__all__ = ["SeparationStatus", "Speaker", "SpeakerAudio", "Utterance"]


def _to_float(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _speaker_audio_model(self: SpeakerAudio) -> SpeakerAudioResponseModel:
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel

    return SpeakerAudioResponseModel(audio_base_64="", media_type=self.media_type, duration_secs=self.duration_secs)


@attrs.frozen
class SpeakerAudio:
    """One speaker's decoded audio.

    Attributes:
        data: the audio bytes, decoded from validated base64.
        media_type: the media type the server gave, e.g. ``"audio/mpeg"``.
        duration_secs: the duration the server gave, in seconds.
        model: the validated response as the generated ``SpeakerAudioResponseModel``, with
            ``audio_base_64`` set to ``""`` (the audio is in ``data``); built from the fields above
            when not given.
    """

    data: bytes = attrs.field(validator=attrs.validators.instance_of(bytes), repr=lambda d: f"<{len(d)} bytes>")
    media_type: str = attrs.field(validator=attrs.validators.instance_of(str))
    duration_secs: float = attrs.field(converter=_to_float)
    model: SpeakerAudioResponseModel = attrs.field(
        default=attrs.Factory(_speaker_audio_model, takes_self=True), repr=False, kw_only=True
    )

    @property
    def extension(self) -> str:
        """File extension for ``media_type`` (``".mp3"`` for ``audio/mpeg``; ``".bin"`` when unknown)."""
        return extension_for_media_type(self.media_type)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the audio to ``path`` atomically and return the path written.

        ``path`` may be an existing directory: the file is then ``audio<extension>`` inside it.
        Raises ``FileExistsError`` if the file exists and ``overwrite`` is false; on any error,
        nothing is left behind and an existing file is untouched.
        """
        target = Path(path)
        if target.is_dir():
            target = target / f"audio{self.extension}"
        return write_bytes_atomic(target, self.data, overwrite=overwrite)


def _utterance_model(self: Utterance) -> UtteranceResponseModel:
    from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel

    return UtteranceResponseModel(start=self.start, end=self.end)


@attrs.frozen
class Utterance:
    """A stretch of the sample in which a speaker talks, in seconds from its start.

    ``model`` is the validated generated ``UtteranceResponseModel``.
    """

    start: float = attrs.field(converter=_to_float)
    end: float = attrs.field(converter=_to_float)
    model: UtteranceResponseModel = attrs.field(
        default=attrs.Factory(_utterance_model, takes_self=True), repr=False, kw_only=True
    )


def _speaker_model(self: Speaker) -> SpeakerResponseModel:
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel

    return SpeakerResponseModel(
        speaker_id=self.speaker_id, duration_secs=self.duration_secs, utterances=[u.model for u in self.utterances]
    )


@attrs.frozen
class Speaker:
    """One speaker found by separation.

    ``model`` is the validated generated ``SpeakerResponseModel`` (upstream's fields, added ones included).
    """

    speaker_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    duration_secs: float = attrs.field(converter=_to_float)
    utterances: list[Utterance] = attrs.field(factory=list)
    model: SpeakerResponseModel = attrs.field(
        default=attrs.Factory(_speaker_model, takes_self=True), repr=False, kw_only=True
    )


def _separation_model(self: SeparationStatus) -> SpeakerSeparationResponseModel:
    from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
    from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
        SpeakerSeparationResponseModelSpeakersType0,
    )
    from speaker_audio_api.models.speaker_separation_response_model_status import (
        SpeakerSeparationResponseModelStatus,
    )

    speakers = SpeakerSeparationResponseModelSpeakersType0()
    speakers.additional_properties = {key: speaker.model for key, speaker in self.speakers.items()}
    try:
        status = SpeakerSeparationResponseModelStatus(self.status)
    except ValueError:
        allowed = ", ".join(repr(s.value) for s in SpeakerSeparationResponseModelStatus)
        raise ValueError(f"status must be one of {allowed}, got {self.status!r}") from None
    return SpeakerSeparationResponseModel(
        voice_id=self.voice_id,
        sample_id=self.sample_id,
        status=status,
        speakers=speakers,
        selected_speaker_ids=list(self.selected_speaker_ids),
    )


@attrs.frozen
class SeparationStatus:
    """The state of speaker separation for one sample.

    ``status`` is one of the values the pinned spec allows: ``"not_started"``, ``"pending"``,
    ``"completed"``, ``"failed"``. ``model`` is the validated generated ``SpeakerSeparationResponseModel``
    (its ``status`` is the generated enum).
    """

    voice_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    sample_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    status: str = attrs.field(validator=attrs.validators.instance_of(str))
    speakers: dict[str, Speaker] = attrs.field(factory=dict)
    selected_speaker_ids: list[str] = attrs.field(factory=list)
    model: SpeakerSeparationResponseModel = attrs.field(
        default=attrs.Factory(_separation_model, takes_self=True), repr=False, kw_only=True
    )

    @property
    def is_completed(self) -> bool:
        """True when separation finished successfully."""
        return self.status == "completed"

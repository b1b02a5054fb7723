"""Result types: frozen attrs classes holding decoded, validated values."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from speaker_audio._decode import extension_for_media_type
from speaker_audio._files import write_bytes_atomic

__all__ = ["SeparationStatus", "SpeakerAudio", "Speaker", "Utterance"]


def _to_float(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


@attrs.frozen
class SpeakerAudio:
    """One speaker's decoded audio.

    Attributes:
        data: the audio bytes, decoded from validated base64.
        media_type: the media type the server gave, e.g. ``"audio/mpeg"``.
        duration_secs: the duration the server gave, in seconds.
    """

    data: bytes = attrs.field(validator=attrs.validators.instance_of(bytes), repr=lambda d: f"<{len(d)} bytes>")
    media_type: str = attrs.field(validator=attrs.validators.instance_of(str))
    duration_secs: float = attrs.field(converter=_to_float)

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


@attrs.frozen
class Utterance:
    """A stretch of the sample in which a speaker talks, in seconds from its start."""

    start: float = attrs.field(converter=_to_float)
    end: float = attrs.field(converter=_to_float)


@attrs.frozen
class Speaker:
    """One speaker found by separation."""

    speaker_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    duration_secs: float = attrs.field(converter=_to_float)
    utterances: list[Utterance] = attrs.field(factory=list)


@attrs.frozen
class SeparationStatus:
    """The state of speaker separation for one sample.

    ``status`` is one of ``"not_started"``, ``"pending"``, ``"completed"``, ``"failed"``.
    """

    voice_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    sample_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    status: str = attrs.field(validator=attrs.validators.instance_of(str))
    speakers: dict[str, Speaker] = attrs.field(factory=dict)
    selected_speaker_ids: list[str] = attrs.field(factory=list)

    @property
    def is_completed(self) -> bool:
        """True when separation finished successfully."""
        return self.status == "completed"


def _publish_to_client_modules() -> None:
    """Give the modules that name these classes only for type checkers (to keep ``import speaker_audio``
    fast) the real classes, so ``typing.get_type_hints`` resolves their annotations once models are loaded."""
    import sys

    for module_name in _DEFERRING_MODULES:
        module = sys.modules.get(module_name)
        if module is not None:
            vars(module).setdefault("SpeakerAudio", SpeakerAudio)
            vars(module).setdefault("SeparationStatus", SeparationStatus)


_DEFERRING_MODULES = (
    "speaker_audio._client",
    "speaker_audio._async_client",
    "speaker_audio._body",
    "speaker_audio._workflow",
    "speaker_audio._core",
)
_publish_to_client_modules()

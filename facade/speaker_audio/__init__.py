"""speaker-audio: a safe, fast, memory-lean client for ElevenLabs' separated speaker audio.

Example::

    from speaker_audio import SpeakerAudioClient

    with SpeakerAudioClient() as client:          # key from ELEVENLABS_API_KEY
        path = client.download_speaker_audio("VOICE", "SAMPLE", "SPEAKER", "speaker.mp3")

Everything public is importable from here; modules with a leading underscore are private.
"""

from typing import TYPE_CHECKING, Any

from speaker_audio import errors
from speaker_audio._decode import decode_audio_base64, extension_for_media_type, sniff_media_type
from speaker_audio._version import __version__
from speaker_audio.errors import *  # noqa: F403 (the error tree, as listed in errors.__all__)

if TYPE_CHECKING:
    from speaker_audio._async_client import AsyncSpeakerAudioClient
    from speaker_audio._client import SpeakerAudioClient
    from speaker_audio._drift import SpecDrift
    from speaker_audio._exchange import RawResponse
    from speaker_audio._models import (
        DownloadProgress,
        SampleAudio,
        SeparationStatus,
        Speaker,
        SpeakerAudio,
        Utterance,
    )
    from speaker_audio._one_shot import get_speaker_audio
    from speaker_audio._settings import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, REGION_BASE_URLS

# Loaded on first use (``from speaker_audio import SpeakerAudioClient`` loads it at once), keeping a bare
# ``import speaker_audio`` as fast as ``import httpx``: the clients and results pull in attrs and the
# response machinery, the async client asyncio. Inside the package every module imports them normally.
_LAZY = {
    name: f"speaker_audio.{module}"
    for module, names in (
        ("_async_client", ["AsyncSpeakerAudioClient"]),
        ("_exchange", ["RawResponse"]),
        ("_client", ["SpeakerAudioClient"]),
        ("_one_shot", ["get_speaker_audio"]),
        ("_models", ["DownloadProgress", "SampleAudio", "SeparationStatus", "Speaker", "SpeakerAudio", "Utterance"]),
        ("_settings", ["API_KEY_ENV", "BASE_URL_ENV", "DEFAULT_BASE_URL", "REGION_BASE_URLS"]),
        ("_drift", ["SpecDrift"]),
    )
    for name in names
}


if not TYPE_CHECKING:  # type checkers see the imports above, and still catch misspelled names

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'speaker_audio' has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "REGION_BASE_URLS",
    "AsyncSpeakerAudioClient",
    "DownloadProgress",
    "RawResponse",
    "SampleAudio",
    "SeparationStatus",
    "Speaker",
    "SpeakerAudio",
    "SpeakerAudioClient",
    "SpecDrift",
    "Utterance",
    "__version__",
    "decode_audio_base64",
    "extension_for_media_type",
    "get_speaker_audio",
    "sniff_media_type",
]
__all__ += errors.__all__

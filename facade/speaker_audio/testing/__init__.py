"""Test tooling: a fake ElevenLabs API on 127.0.0.1 that other packages can test against.

``FakeElevenLabs`` is the server; installing speaker-audio also gives pytest its ``fake_elevenlabs`` fixture.
The names below are loaded on first use, so that importing this package (as pytest does for the plugin)
does not start up the server's machinery.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from speaker_audio.testing._drift import Drift
    from speaker_audio.testing._server import (
        FakeElevenLabs,
        FakeSample,
        FakeSpeaker,
        Fault,
        RecordedRequest,
        RecordedResponse,
        RequestLogEntry,
        demo_clips,
    )

__all__ = [
    "Drift",
    "FakeElevenLabs",
    "FakeSample",
    "FakeSpeaker",
    "Fault",
    "RecordedRequest",
    "RecordedResponse",
    "RequestLogEntry",
    "demo_clips",
]


if not TYPE_CHECKING:  # type checkers see the imports above, and still catch misspelled names

    def __getattr__(name: str) -> Any:
        if name not in __all__:
            raise AttributeError(f"module 'speaker_audio.testing' has no attribute {name!r}")
        from speaker_audio.testing import _server

        value = getattr(_server, name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""Test tooling: a fake ElevenLabs API on 127.0.0.1 that other packages can test against."""

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
    "FakeElevenLabs",
    "FakeSample",
    "FakeSpeaker",
    "Fault",
    "RecordedRequest",
    "RecordedResponse",
    "RequestLogEntry",
    "demo_clips",
]

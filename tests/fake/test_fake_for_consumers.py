"""The fake API for consumers: real data unless told otherwise, public documented helpers, and a pytest plugin
that costs nothing until a test asks for its fixture."""

from __future__ import annotations

import inspect
import subprocess
import sys

import attrs
import pytest

import speaker_audio.testing
from speaker_audio import SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, RequestLogEntry, demo_clips


def test_a_completed_sample_has_speakers_with_audio_by_default(fake: FakeElevenLabs) -> None:
    fake.add_sample("v1", "s1", status="completed")
    clips = demo_clips()
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        status = client.get_separation_status("v1", "s1")
        assert sorted(status.speakers) == sorted(clips) == ["speaker-1", "speaker-2"]
        for name, (audio, media_type, secs) in clips.items():
            assert status.speakers[name].duration_secs == secs
            assert status.speakers[name].utterances
            speaker = client.get_speaker_audio("v1", "s1", name)
            assert (speaker.data, speaker.media_type, speaker.duration_secs) == (audio, media_type, secs)
            assert len(speaker.data) > 1000
        sample = client.get_sample_audio("v1", "s1")
        assert (sample.data, sample.media_type, sample.duration_secs) == clips["speaker-1"]


def test_the_default_sample_audio_is_the_demo_clip_of_its_media_type(fake: FakeElevenLabs) -> None:
    clips = {media_type: (audio, secs) for audio, media_type, secs in demo_clips().values()}
    for media_type, (audio, secs) in clips.items():
        sample = fake.add_sample("v", media_type, media_type=media_type)
        assert (sample.audio, sample.duration_secs) == (audio, secs)
    assert fake.add_sample("v", "s", media_type="audio/wav", duration_secs=9.0).duration_secs == 9.0
    with pytest.raises(ValueError, match="no demo clip is 'audio/ogg': pass the sample's audio"):
        fake.add_sample("v", "s", media_type="audio/ogg")


def test_no_speakers_and_empty_audio_only_when_asked_for(fake: FakeElevenLabs) -> None:
    fake.add_sample("v1", "s1", status="completed", speakers={}, audio=b"")
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        assert client.get_separation_status("v1", "s1").speakers == {}
        assert client.get_sample_audio("v1", "s1").data == b""


def test_samples_do_not_share_their_default_speakers(fake: FakeElevenLabs) -> None:
    first = fake.add_sample("v", "a")
    second = fake.add_sample("v", "b")
    first.speakers["speaker-1"].audio = b"changed"
    assert second.speakers["speaker-1"].audio == demo_clips()["speaker-1"][0]
    assert fake.voices["voice-demo"]["sample-demo"].speakers["speaker-1"].audio == demo_clips()["speaker-1"][0]


def test_a_fake_speaker_is_a_demo_clip_by_default() -> None:
    audio, media_type, secs = demo_clips()["speaker-1"]
    assert (FakeSpeaker().audio, FakeSpeaker().media_type, FakeSpeaker().duration_secs) == (audio, media_type, secs)
    assert FakeSpeaker(b"own").audio == b"own"


def test_the_helpers_for_consumers_are_public_and_documented() -> None:
    public = set(speaker_audio.testing.__all__)
    assert {"FakeElevenLabs", "FakeSpeaker", "FakeSample", "Fault", "Drift", "demo_clips"} <= public
    assert {"RecordedRequest", "RecordedResponse", "RequestLogEntry"} <= public
    assert set(dir(speaker_audio.testing)) >= public
    for name in public:
        assert inspect.getdoc(getattr(speaker_audio.testing, name)), name
    for method in ("requests_to", "inject_random_faults", "script", "add_sample", "reset", "clear_faults"):
        assert inspect.getdoc(getattr(FakeElevenLabs, method)), method
    fields = {field.name for field in attrs.fields(RequestLogEntry)}
    assert {"method", "raw_path", "status", "duration_secs", "fault"} <= fields
    documented = inspect.getdoc(RequestLogEntry) or ""
    assert all(f"{name}:" in documented for name in ("raw_path", "duration_secs"))
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        _ = speaker_audio.testing.NoSuchThing  # type: ignore[attr-defined]


def imported_modules(code: str) -> set[str]:
    """The ``speaker_audio`` modules a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(m for m in sys.modules if m.startswith('speaker_audio')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return set(result.stdout.split())


def test_the_pytest_plugin_does_not_import_the_fake_server() -> None:
    """pytest imports the plugin in every session of every project that installs speaker-audio."""
    server = "speaker_audio.testing._server"
    assert server not in imported_modules("import speaker_audio.testing._pytest_plugin")
    assert server not in imported_modules("import speaker_audio.testing")
    assert server in imported_modules("from speaker_audio.testing import FakeElevenLabs")  # the control

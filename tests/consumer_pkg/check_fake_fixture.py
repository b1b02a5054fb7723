"""A consumer package's tests: its code talks to the fake API through the installed pytest plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from speaker_audio import AuthenticationError, SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs, Fault


def fetch_all_speakers(base_url: str, voice_id: str, sample_id: str, out: Path) -> dict[str, Path]:
    """The consumer's own code under test: separate a sample and download every speaker."""
    with SpeakerAudioClient(base_url=base_url, max_retries=0) as client:
        client.start_speaker_separation(voice_id, sample_id)
        client.wait_for_separation(voice_id, sample_id, poll_interval=0.01)
        return client.download_all_speakers(voice_id, sample_id, out)


def test_our_code_against_the_fake(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    files = fetch_all_speakers(fake_elevenlabs.base_url, *fake_elevenlabs.demo_ids, tmp_path)
    assert sorted(path.name for path in files.values()) == ["speaker-1.mp3", "speaker-2.wav"]
    assert fake_elevenlabs.requests_to("/separate-speakers", "POST")


def test_scripted_faults_reach_our_code(fake_elevenlabs: FakeElevenLabs) -> None:
    fake_elevenlabs.script(Fault(status=422, body=b'{"detail": [{"loc": ["path"], "msg": "bad", "type": "x"}]}'))
    response = httpx.get(fake_elevenlabs.base_url + "/v1/voices/pvc/v/samples/s/speakers")
    assert response.status_code == 422


@pytest.mark.fake_elevenlabs(api_key="sk-consumer")
def test_a_wrong_key_is_refused(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    with pytest.raises(AuthenticationError):
        fetch_all_speakers(fake_elevenlabs.base_url, *fake_elevenlabs.demo_ids, tmp_path)


def test_speaker_audio_own_conftest_is_not_loaded() -> None:
    assert "conftest" not in sys.modules

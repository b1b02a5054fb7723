"""A consumer package's tests: its code talks to the fake API through the installed pytest plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from speaker_audio import AsyncSpeakerAudioClient, AuthenticationError, SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs, Fault


def fetch_all_speakers(
    base_url: str, voice_id: str, sample_id: str, out: Path, *, max_retries: int = 0
) -> dict[str, Path]:
    """The consumer's own code under test: separate a sample and download every speaker."""
    with SpeakerAudioClient(base_url=base_url, max_retries=max_retries) as client:
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


@pytest.mark.anyio  # anyio's pytest plugin: anyio comes with httpx, so the consumer installs nothing more
async def test_our_async_code_against_the_fake(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    async with AsyncSpeakerAudioClient(base_url=fake_elevenlabs.base_url) as client:
        await client.start_speaker_separation(*fake_elevenlabs.demo_ids)
        status = await client.wait_for_separation(*fake_elevenlabs.demo_ids, poll_interval=0.01)
        files = await client.download_all_speakers(*fake_elevenlabs.demo_ids, tmp_path)
    assert sorted(status.speakers) == sorted(files) == ["speaker-1", "speaker-2"]


def test_a_fault_without_a_method_spares_the_post(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    fake_elevenlabs.script(Fault(status=503, times=1))  # meant for a GET, which the client retries
    files = fetch_all_speakers(fake_elevenlabs.base_url, *fake_elevenlabs.demo_ids, tmp_path, max_retries=1)
    assert len(files) == 2
    assert [entry.status for entry in fake_elevenlabs.request_log][:3] == [200, 503, 200]  # POST, then GETs


def test_a_test_leaves_faults_unused(fake_elevenlabs: FakeElevenLabs) -> None:
    fake_elevenlabs.script(Fault(status=500, times=5))
    assert fake_elevenlabs.pending_faults == [Fault(status=500, times=5)]


def test_and_the_next_test_does_not_get_them(fake_elevenlabs: FakeElevenLabs) -> None:
    assert fake_elevenlabs.pending_faults == []
    assert httpx.get(fake_elevenlabs.base_url + "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers").is_success


def test_speaker_audio_own_conftest_is_not_loaded() -> None:
    assert "conftest" not in sys.modules

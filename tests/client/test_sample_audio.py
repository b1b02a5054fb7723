"""A sample's own audio, GET …/samples/{sample_id}/audio: ``get_sample_audio`` and ``download_sample_audio``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from _clients import ClientRunner, Kind

import speaker_audio
from speaker_audio import (
    AudioDecodeError,
    InvalidIdError,
    NotFoundError,
    ResponseValidationError,
    SampleAudio,
)
from speaker_audio.testing import FakeElevenLabs, Fault, demo_clips

MP3 = demo_clips()["speaker-1"][0]
WAV = demo_clips()["speaker-2"][0]


def add_noisy_sample(fake: FakeElevenLabs) -> None:
    """A WAV sample whose denoised version differs, with no duration (null in the spec)."""
    fake.add_sample("voice-x", "sample-x", audio=WAV, denoised_audio=WAV[:1000], media_type="audio/wav")


def test_get_sample_audio_decodes_the_sample_and_keeps_the_model(fake: FakeElevenLabs, kind: Kind) -> None:
    from speaker_audio_api.models.voice_sample_preview_response_model import VoiceSamplePreviewResponseModel

    audio = ClientRunner(kind, fake.base_url).call("get_sample_audio", "voice-demo", "sample-demo")
    assert isinstance(audio, SampleAudio)
    assert audio.data == MP3
    assert (audio.media_type, audio.duration_secs, audio.extension) == ("audio/mpeg", 1.5, ".mp3")
    assert (audio.voice_id, audio.sample_id) == ("voice-demo", "sample-demo")
    assert isinstance(audio.model, VoiceSamplePreviewResponseModel)
    assert audio.model.audio_base_64 == ""  # the audio lives in .data only
    [request] = fake.requests_to("/samples/sample-demo/audio")
    assert request.raw_path == "/v1/voices/pvc/voice-demo/samples/sample-demo/audio?remove_background_noise=false"


def test_remove_background_noise_is_sent_and_honoured(fake: FakeElevenLabs, kind: Kind) -> None:
    add_noisy_sample(fake)
    runner = ClientRunner(kind, fake.base_url)
    plain = runner.call("get_sample_audio", "voice-x", "sample-x")
    clean = runner.call("get_sample_audio", "voice-x", "sample-x", remove_background_noise=True)
    assert plain.data == WAV
    assert clean.data == WAV[:1000]
    assert clean.duration_secs is None  # null in the body
    assert clean.model.duration_secs is None
    paths = [r.raw_path.partition("?")[2] for r in fake.requests_to("/samples/sample-x/audio")]
    assert paths == ["remove_background_noise=false", "remove_background_noise=true"]


def test_a_non_bool_remove_background_noise_is_refused_before_any_request(fake: FakeElevenLabs, kind: Kind) -> None:
    with pytest.raises(TypeError, match="remove_background_noise must be a bool"):
        ClientRunner(kind, fake.base_url).call(
            "get_sample_audio", "voice-demo", "sample-demo", remove_background_noise=1
        )
    with pytest.raises(InvalidIdError):
        ClientRunner(kind, fake.base_url).call("get_sample_audio", "voice-demo", "..")
    assert fake.requests == []


def test_download_sample_audio_streams_to_a_file_or_a_directory(
    fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    add_noisy_sample(fake)
    runner = ClientRunner(kind, fake.base_url)
    path = runner.call("download_sample_audio", "voice-x", "sample-x", tmp_path)
    assert path == tmp_path / "sample-x.wav"  # <sample_id><ext> inside a directory
    assert path.read_bytes() == WAV
    named = runner.call(
        "download_sample_audio", "voice-x", "sample-x", tmp_path / "clean.wav", remove_background_noise=True
    )
    assert named.read_bytes() == WAV[:1000]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.wav", "sample-x.wav"]


def test_download_sample_audio_follows_the_folder_rule(fake: FakeElevenLabs, kind: Kind, tmp_path: Path) -> None:
    runner = ClientRunner(kind, fake.base_url, max_retries=0)
    path = runner.call("download_sample_audio", "voice-demo", "sample-demo", f"{tmp_path}/new/dir/")
    assert path == tmp_path / "new" / "dir" / "sample-demo.mp3"  # missing folders created
    assert path.read_bytes() == MP3
    with pytest.raises(NotFoundError):
        runner.call("download_sample_audio", "voice-demo", "nobody", f"{tmp_path}/other/")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]  # the folder it created is gone again


def test_download_sample_audio_never_clobbers_and_asks_nothing_first(
    fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    dest = tmp_path / "sample.mp3"
    dest.write_bytes(b"mine")
    runner = ClientRunner(kind, fake.base_url)
    with pytest.raises(FileExistsError):
        runner.call("download_sample_audio", "voice-demo", "sample-demo", dest)
    assert fake.requests == []
    assert dest.read_bytes() == b"mine"
    assert runner.call("download_sample_audio", "voice-demo", "sample-demo", dest, overwrite=True) == dest
    assert dest.read_bytes() == MP3


@pytest.mark.parametrize("drop", ["mid_body", "short_body", "chunked_cut"])
def test_a_cut_sample_download_is_retried_and_leaves_nothing(
    fake: FakeElevenLabs, kind: Kind, tmp_path: Path, drop: str
) -> None:
    fake.script(Fault(drop=drop, path_contains="/samples/sample-demo/audio", times=3))  # type: ignore[arg-type]
    runner = ClientRunner(kind, fake.base_url, max_retries=2)
    with pytest.raises(speaker_audio.APIConnectionError):
        runner.call("download_sample_audio", "voice-demo", "sample-demo", tmp_path / "s.mp3")
    assert list(tmp_path.iterdir()) == []
    assert len(fake.requests_to("/samples/sample-demo/audio")) == 3
    assert len(runner.sleeps) == 2


def test_errors_are_those_of_the_speaker_audio(fake: FakeElevenLabs, kind: Kind, tmp_path: Path) -> None:
    runner = ClientRunner(kind, fake.base_url, max_retries=0)
    with pytest.raises(NotFoundError):
        runner.call("get_sample_audio", "voice-demo", "nobody")
    bad = json.dumps({"audio_base_64": "abc", "voice_id": "v", "sample_id": "s", "media_type": "audio/mpeg"})
    fake.script(Fault(status=200, body=bad.encode(), path_contains="/audio", times=2))
    with pytest.raises(AudioDecodeError):
        runner.call("get_sample_audio", "voice-demo", "sample-demo")
    with pytest.raises(AudioDecodeError):
        runner.call("download_sample_audio", "voice-demo", "sample-demo", tmp_path)
    missing = json.dumps({"audio_base_64": base64.b64encode(b"x").decode(), "media_type": "audio/mpeg"})
    fake.script(Fault(status=200, body=missing.encode(), path_contains="/audio", times=2))  # no voice_id/sample_id
    with pytest.raises(ResponseValidationError):
        runner.call("get_sample_audio", "voice-demo", "sample-demo")
    with pytest.raises(ResponseValidationError):
        runner.call("download_sample_audio", "voice-demo", "sample-demo", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_sample_audio_is_public_and_frozen() -> None:
    assert "SampleAudio" in speaker_audio.__all__
    assert speaker_audio.SampleAudio is SampleAudio
    audio = SampleAudio(data=b"x", media_type="audio/wav", duration_secs=None, voice_id="v", sample_id="s")
    assert audio.model.to_dict() == {
        "audio_base_64": "",
        "voice_id": "v",
        "sample_id": "s",
        "media_type": "audio/wav",
        "duration_secs": None,
    }
    with pytest.raises(AttributeError):
        audio.data = b"y"  # type: ignore[misc]
    assert (
        SampleAudio(data=b"x", media_type="audio/wav", duration_secs=2, voice_id="v", sample_id="s").duration_secs
        == 2.0
    )


def test_sample_audio_save_is_atomic_and_refuses_to_clobber(tmp_path: Path) -> None:
    audio = SampleAudio(data=b"RIFF", media_type="audio/wav", duration_secs=None, voice_id="v", sample_id="s")
    assert audio.save(tmp_path) == tmp_path / "audio.wav"
    with pytest.raises(FileExistsError):
        audio.save(tmp_path / "audio.wav")
    assert (tmp_path / "audio.wav").read_bytes() == b"RIFF"

"""The CLI's ``sample-audio`` command: downloads a sample's audio, refuses to clobber, and says so in its help."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from speaker_audio.cli import _errors, main
from speaker_audio.testing import FakeElevenLabs, demo_clips

WAV = demo_clips()["speaker-2"][0]


def add_noisy_sample(fake: FakeElevenLabs) -> None:
    """A WAV sample whose denoised version differs, with no duration (null in the spec)."""
    fake.add_sample("voice-x", "sample-x", audio=WAV, denoised_audio=WAV[:1000], media_type="audio/wav")


def test_cli_sample_audio_downloads_and_refuses_to_clobber(fake: FakeElevenLabs, tmp_path: Path) -> None:
    add_noisy_sample(fake)
    base = ["--base-url", fake.base_url, "sample-audio", "voice-x", "sample-x", "-o", str(tmp_path)]
    out, err = io.StringIO(), io.StringIO()
    assert main([*base, "--remove-background-noise"], out=out, err=err) == 0
    assert out.getvalue() == f"{tmp_path / 'sample-x.wav'}\n"
    assert (tmp_path / "sample-x.wav").read_bytes() == WAV[:1000]
    assert "saved" in err.getvalue()
    err = io.StringIO()
    assert main(base, out=io.StringIO(), err=err) == _errors.EXIT_FAILURE
    assert "--overwrite" in err.getvalue()
    assert main([*base, "--overwrite"], out=io.StringIO(), err=io.StringIO()) == 0
    assert (tmp_path / "sample-x.wav").read_bytes() == WAV
    queries = [r.raw_path.partition("?")[2] for r in fake.requests_to("/samples/sample-x/audio")]
    assert queries == ["remove_background_noise=true", "remove_background_noise=false"]


def test_cli_sample_audio_help_describes_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "sample-audio" in capsys.readouterr().out
    assert main(["sample-audio", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("VOICE", "SAMPLE", "--output", "--remove-background-noise", "--overwrite"):
        assert option in text

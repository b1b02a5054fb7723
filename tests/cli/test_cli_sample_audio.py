"""The CLI's ``sample-audio`` command: downloads a sample's audio, refuses to clobber, says so in its help, shows the
server's media type, and streams to standard output with ``-o -``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import clean_env, run_main

from speaker_audio.cli import _errors, main
from speaker_audio.testing import FakeElevenLabs, Fault, demo_clips

WAV = demo_clips()["speaker-2"][0]


def add_noisy_sample(fake: FakeElevenLabs) -> None:
    """A WAV sample whose denoised version differs, with no duration (null in the spec)."""
    fake.add_sample("voice-x", "sample-x", audio=WAV, denoised_audio=WAV[:1000], media_type="audio/wav")


# --- downloads, refuses to clobber, and its help ---------------------------------------------------------------


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


# --- the media type is the server's, and a mismatch is a warning ----------------------------------------------


def test_sample_audio_shows_the_servers_media_type_and_warns_on_a_wrong_extension(
    fake: FakeElevenLabs, tmp_path: Path
) -> None:
    code, _out, err = run_main(
        "--base-url", fake.base_url, "sample-audio", *fake.demo_ids, "-o", str(tmp_path / "s.wav")
    )
    assert code == _errors.EXIT_OK, err
    assert "(audio/mpeg, sniffed audio/mpeg," in err
    assert "warning" in err.lower()
    assert ".wav" in err


# --- -o - streams to standard output as get does (it wrote a file named "-") --------------------------------


def test_sample_audio_dash_streams_the_decoded_audio_to_standard_output(fake: FakeElevenLabs, tmp_path: Path) -> None:
    audio, denoised = b"ID3" + os.urandom(1 << 20), b"ID3" + os.urandom(1000)
    fake.add_sample("v", "s", audio=audio, denoised_audio=denoised, duration_secs=2.5)
    command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "sample-audio", "v", "s", "-o", "-"]
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=tmp_path, env=clean_env(), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == audio
    assert "streamed s to standard output (audio/mpeg, sniffed audio/mpeg, 2.50 s, " in done.stderr.decode()
    assert list(tmp_path.iterdir()) == []  # no file named "-"
    done = subprocess.run(
        [*command, "--remove-background-noise"], capture_output=True, timeout=60, cwd=tmp_path, env=clean_env()
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == denoised
    assert list(tmp_path.iterdir()) == []


def test_sample_audio_dash_retries_only_until_the_first_audio_byte(fake: FakeElevenLabs, tmp_path: Path) -> None:
    audio = b"ID3" + os.urandom(1 << 20)
    fake.add_sample("v", "s", audio=audio)
    command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "sample-audio", "v", "s", "-o", "-"]
    fake.script(Fault(status=503, headers={"Retry-After": "0"}, path_contains="/audio"))  # before any byte: retried
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=tmp_path, env=clean_env(), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == audio
    assert b"(audio/mpeg, sniffed audio/mpeg, ?, 1.0 MB)" in done.stderr  # no duration from the server
    assert len(fake.requests_to("/audio")) == 2
    fake.script(Fault(drop="mid_body", path_contains="/audio", times=9))  # after bytes went out: not retried
    done = subprocess.run(command, capture_output=True, timeout=60, cwd=tmp_path, env=clean_env(), check=False)
    assert done.returncode == 4, done.stderr
    assert 0 < len(done.stdout) < len(audio)
    assert b"had been written to standard output (not retried)" in done.stderr
    assert len(fake.requests_to("/audio")) == 3
    assert list(tmp_path.iterdir()) == []

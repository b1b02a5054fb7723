"""The CLI's progress line: drawn on a terminal (a real pseudo-terminal too) unless quiet; total, percentage and
rate when forced, nothing when piped; how sizes and times read."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import clean_env

from speaker_audio.cli import _progress, main
from speaker_audio.cli._progress import format_duration, format_size, format_transfer
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "speaker_audio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


# --- forced with --progress, and nothing when piped ------------------------------------------------------------


def test_cli_progress_shows_total_percentage_and_rate_when_forced(fake: FakeElevenLabs, tmp_path: Path) -> None:
    audio = bytes(range(256)) * 4096  # 1 MiB
    fake.add_sample("v", "s", audio=audio, media_type="audio/wav")
    result = _cli("--base-url", fake.base_url, "--progress", "sample-audio", "v", "s", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    frames = [frame.removeprefix("\x1b[K") for frame in result.stderr.splitlines()]  # "\r" reads as a line end
    drawn = [f for f in frames if f.startswith("downloading sample s: ")]
    assert drawn[-1].startswith("downloading sample s: 1.0 MB of 1.0 MB (100%), ")  # the final, exact line
    assert drawn[-1].endswith("/s")
    assert (tmp_path / "s.wav").read_bytes() == audio


def test_cli_draws_no_progress_when_piped_without_the_option(fake: FakeElevenLabs, tmp_path: Path) -> None:
    result = _cli("--base-url", fake.base_url, "sample-audio", "voice-demo", "sample-demo", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "\x1b[K" not in result.stderr
    assert "%" not in result.stderr


def test_cli_download_all_progress_sums_every_speaker(fake: FakeElevenLabs, tmp_path: Path) -> None:
    speakers = {"a": FakeSpeaker(audio=b"\x00" * 3000), "b": FakeSpeaker(audio=b"\x01" * 7000)}
    fake.add_sample("v", "s", speakers=speakers, status="completed")
    result = _cli("--base-url", fake.base_url, "--progress", "download-all", "v", "s", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "downloading: 2/2 speakers done, 10.0 kB of 10.0 kB (100%)" in result.stderr


# --- the text of the progress line ---------------------------------------------------------------------------


def test_format_transfer() -> None:
    assert format_transfer(0, None, 0.0) == "0 B"
    assert format_transfer(1_500_000, None, 1.0) == "1.5 MB, 1.5 MB/s"
    assert format_transfer(1_500_000, 3_000_000, 1.0) == "1.5 MB of 3.0 MB (50%), 1.5 MB/s, 1 s left"
    assert format_transfer(6336, 6336, 0.5) == "6.3 kB of 6.3 kB (100%), 12.7 kB/s"
    assert format_transfer(10, 5, 1.0) == "10 B of 10 B (100%), 10 B/s"  # an estimate below the count: capped
    assert format_transfer(1_000, 1_000_000, 1.0) == "1.0 kB of 1.0 MB (0%), 1.0 kB/s, 16 min 39 s left"
    assert format_transfer(0, 0, 1.0) == "0 B of 0 B (100%)"


def test_format_size_and_duration() -> None:
    assert [format_size(n) for n in (0, 999, 1000, 6336, 1_500_000, 2e9, 5e12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "6.3 kB",
        "1.5 MB",
        "2.0 GB",
        "5000.0 GB",
    ]
    assert [format_duration(s) for s in (0, 0.4, 7, 59.6, 125, 3600, 3725, -3)] == [
        "0 s",
        "0 s",
        "7 s",
        "1 min 00 s",
        "2 min 05 s",
        "1 h 00 min",
        "1 h 02 min",
        "0 s",
    ]


# --- on a terminal ------------------------------------------------------------------------------------------------


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 2
    out, err = io.StringIO(), _TTY()
    args = ["--base-url", fake.base_url, "download-all", "voice-demo", "sample-demo", "-o", str(tmp_path)]
    code = main([*args, "--separate", "--poll-interval", "0.01"], out=out, err=err)
    assert code == 0
    text = err.getvalue()
    assert "\rwaiting for separation: pending (1 poll," not in text  # lines are cleared with ESC[K first
    assert "\r\x1b[Kwaiting for separation: pending (1 poll, " in text
    assert "\r\x1b[Kdownloading: 2/2 speakers done, " in text
    assert "SPEAKER" in text  # the speakers table before downloading
    assert "speaker-1.mp3" in out.getvalue()


def test_get_reports_bytes_received_to_the_progress_line(
    completed_fake: FakeElevenLabs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    monkeypatch.setattr(_progress.ProgressLine, "update", lambda self, text, force=False: drawn.append(text))
    args = ["--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo", "speaker-2", "-o", str(tmp_path)]
    assert main(args, out=io.StringIO(), err=_TTY()) == 0
    assert drawn[0] == "downloading speaker-2 ..."
    assert drawn[-1].startswith("downloading speaker-2: 48.0 kB of 48.0 kB (100%)")  # audio bytes, with the total
    assert (tmp_path / "speaker-2.wav").exists()


def test_quiet_draws_nothing_even_on_a_terminal(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    out, err = io.StringIO(), _TTY()
    args = [
        "-q",
        "--base-url",
        completed_fake.base_url,
        "download-all",
        "voice-demo",
        "sample-demo",
        "-o",
        str(tmp_path),
    ]
    assert main(args, out=out, err=err) == 0
    assert err.getvalue() == ""


def test_progress_in_a_real_pseudo_terminal(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    args = ["--base-url", completed_fake.base_url, "download-all", "voice-demo", "sample-demo", "-o", str(tmp_path)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_audio", *args],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=clean_env(),
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert b"downloading: 2/2 speakers done" in seen
    assert b"speaker-2.wav" in stdout

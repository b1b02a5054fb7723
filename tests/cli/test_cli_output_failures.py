"""When the CLI cannot write what it prints, it says so and exits non-zero; a reader that goes away ends it quietly;
audio is not written onto a terminal unless forced (as curl does)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
import tty
from pathlib import Path

import pytest
from test_cli import clean_env

from speaker_audio.testing import FakeElevenLabs, demo_clips

IDS = ("voice-demo", "sample-demo")


def run_with(redirections: str, *args: str, buffered: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m speaker_audio ARGS`` with the shell's ``redirections`` (e.g. ``>&-``: standard output closed);
    ``buffered``: standard output block-buffered, as usual for a file (else unbuffered: each write goes out)."""
    env = {k: v for k, v in clean_env().items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        ["sh", "-c", f'exec "$0" -m speaker_audio "$@" {redirections}', sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "command", [["status", *IDS], ["status", *IDS, "--json"], ["wait", *IDS, "--start"], ["get", *IDS, "speaker-1"]]
)
def test_a_closed_standard_output_fails_before_any_request(
    completed_fake: FakeElevenLabs, tmp_path: Path, command: list[str]
) -> None:
    result = run_with(
        ">&-", "--base-url", completed_fake.base_url, *command, *(["-o", str(tmp_path)] * (command[0] == "get"))
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"speaker-audio: error: standard output is closed: {command[0]} prints its result there\n"
    assert completed_fake.requests == []
    assert list(tmp_path.iterdir()) == []


def test_a_command_that_prints_nothing_runs_with_standard_output_closed(fake: FakeElevenLabs) -> None:
    result = run_with(">&-", "--base-url", fake.base_url, "separate", *IDS)
    assert result.returncode == 0, result.stderr
    assert fake.voices["voice-demo"]["sample-demo"].status == "pending"


def test_both_closed_still_fail(completed_fake: FakeElevenLabs) -> None:
    assert run_with(">&- 2>&-", "--base-url", completed_fake.base_url, "status", *IDS).returncode == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", [["status", *IDS], ["get", *IDS, "speaker-1", "-o", "-", "--force"]])
def test_a_full_standard_output_is_an_error(completed_fake: FakeElevenLabs, command: list[str], buffered: bool) -> None:
    result = run_with("> /dev/full", "--base-url", completed_fake.base_url, *command, buffered=buffered)
    assert result.returncode == 1, result.stderr
    assert "cannot write" in result.stderr
    assert "standard output: No space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr


def run_on_a_terminal(*args: str) -> tuple[int, bytes, str]:
    """``python -m speaker_audio ARGS`` with standard output on a pseudo-terminal (raw: bytes pass unchanged)."""
    leader, follower = pty.openpty()
    tty.setraw(follower)
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_audio", *args], stdout=follower, stderr=subprocess.PIPE, env=clean_env()
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    _, stderr = proc.communicate(timeout=30)
    return proc.returncode, seen, stderr.decode()


@pytest.mark.parametrize("command", [["get", *IDS, "speaker-2"], ["sample-audio", *IDS]], ids=lambda c: c[0])
def test_audio_is_not_written_onto_a_terminal_unless_forced(completed_fake: FakeElevenLabs, command: list[str]) -> None:
    code, seen, err = run_on_a_terminal("--base-url", completed_fake.base_url, *command, "-o", "-")
    assert code == 2, err
    assert seen == b""
    assert "refusing to write audio to a terminal" in err
    assert "--force" in err
    assert completed_fake.requests == []

    code, seen, err = run_on_a_terminal("--base-url", completed_fake.base_url, *command, "-o", "-", "--force")
    assert code == 0, err
    expected = demo_clips()["speaker-2"][0] if command[0] == "get" else None
    assert len(seen) > 1000
    if expected is not None:
        assert seen == expected


# --- a reader that goes away is not an error ---------------------------------------------------------------------


def test_closed_output_pipe_is_not_an_error(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    args = ["--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo", "--json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_audio", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env()
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes away before anything is written
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 141, stderr
    assert b"Traceback" not in stderr

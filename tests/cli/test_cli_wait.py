"""The CLI's ``wait``, ``separate --wait`` and ``download-all --separate``: a separation never started fails at once
with a hint, or is started with ``--start``; ``--wait-timeout`` bounds every poll and retry wait (``--timeout``
still works, with a deprecation warning)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from test_cli import run_main
from test_cli_help import _command_help
from test_cli_progress import _TTY

from speaker_audio.cli import _errors, main
from speaker_audio.cli._parser import build_parser
from speaker_audio.testing import FakeElevenLabs, Fault

# --- a separation never started: a hint, or --start ------------------------------------------------------------


def test_cli_wait_fails_at_once_with_a_hint_and_starts_with_start(fake: FakeElevenLabs) -> None:
    base = ["--base-url", fake.base_url, "wait", "voice-demo", "sample-demo", "--poll-interval", "0.01"]
    err = io.StringIO()
    assert main(base, out=io.StringIO(), err=err) == _errors.EXIT_API
    line = err.getvalue().strip()
    assert line.startswith("speaker-audio: error: SeparationNotStartedError: ")
    assert "--start" in line
    assert "start=True" not in line  # the CLI's words, not the Python API's
    assert len(fake.requests) == 1
    out = io.StringIO()
    assert main([*base, "--start"], out=out, err=io.StringIO()) == _errors.EXIT_OK
    assert "completed" in out.getvalue()
    assert len(fake.requests_to("/separate-speakers", "POST")) == 1


def test_separate_wait_does_not_trip_over_a_start_not_yet_visible(fake: FakeElevenLabs) -> None:
    """``separate --wait`` started it itself: a first poll still saying not_started is waited through."""
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 1
    from speaker_audio.testing import Fault

    stale = b'{"voice_id": "voice-demo", "sample_id": "sample-demo", "status": "not_started"}'
    fake.script(Fault(status=200, body=stale, method="GET", path_contains="/speakers"))
    args = ["--base-url", fake.base_url, "separate", "voice-demo", "sample-demo", "--wait", "--poll-interval", "0.01"]
    assert main(args, out=io.StringIO(), err=io.StringIO()) == _errors.EXIT_OK
    assert len(fake.requests_to("/separate-speakers", "POST")) == 1


def test_wait_start_notes_the_start_and_draws_each_poll(fake: FakeElevenLabs) -> None:
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 2
    out, err = io.StringIO(), _TTY()
    args = ["--base-url", fake.base_url, "wait", "voice-demo", "sample-demo", "--start", "--poll-interval", "0.01"]
    assert main(args, out=out, err=err) == 0, err.getvalue()
    text = err.getvalue()
    # the start is noted once, at the poll that found it not_started
    assert text.startswith(
        "started speaker separation of voice-demo / sample-demo\n\r\x1b[Kwaiting for separation: not_started (1 poll, "
    )
    assert text.count("started speaker separation") == 1
    assert "\r\x1b[Kwaiting for separation: completed (" in text
    assert len(fake.requests_to("/separate-speakers", "POST")) == 1
    assert "voice-demo / sample-demo: completed" in out.getvalue()


# --- --wait-timeout bounds every poll and retry wait ------------------------------------------------------------


WAIT_COMMANDS = [
    ["wait", "voice-demo", "sample-demo"],
    ["separate", "voice-demo", "sample-demo", "--wait"],
    ["download-all", "voice-demo", "sample-demo", "--separate", "-o", "{tmp}/out/"],
]


@pytest.mark.parametrize("command", WAIT_COMMANDS, ids=lambda c: c[0])
def test_wait_timeout_cuts_a_retry_after_wait(fake: FakeElevenLabs, tmp_path: Path, command: list[str]) -> None:
    fake.voices["voice-demo"]["sample-demo"].status = "pending"
    fake.script(Fault(path_contains="/speakers", status=503, headers={"Retry-After": "2"}, times=99))
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    started = time.monotonic()
    code, out, err = run_main("--base-url", fake.base_url, *args, "--wait-timeout", "0.5")
    elapsed = time.monotonic() - started
    assert code == _errors.EXIT_API, err
    assert "SeparationTimeoutError" in err
    assert "within 0.5s" in err
    assert out == ""
    assert elapsed < 2.0  # without the bound: two 2 s waits, then InternalServerError after 4.6 s
    assert len(fake.requests_to("/speakers", "GET")) == 1  # a 2 s wait does not fit into 0.5 s: no retry
    assert not (tmp_path / "out").exists()


def test_wait_timeout_cuts_a_stalled_poll(fake: FakeElevenLabs) -> None:
    fake.voices["voice-demo"]["sample-demo"].status = "pending"
    fake.script(Fault(path_contains="/speakers", delay=30.0, times=99))  # each poll would stall 30 s
    started = time.monotonic()
    code, _, err = run_main("--base-url", fake.base_url, "wait", "voice-demo", "sample-demo", "--wait-timeout", "1")
    elapsed = time.monotonic() - started
    assert code == _errors.EXIT_API, err
    assert "SeparationTimeoutError" in err
    assert elapsed < 3.0  # without the bound: each 30 s stall ran into the read timeout, and was retried
    assert len(fake.requests_to("/speakers", "GET")) == 1


def test_wait_timeout_names_the_wait_and_timeout_still_works_with_a_warning(fake: FakeElevenLabs) -> None:
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 1
    base = ["--base-url", fake.base_url, "wait", "voice-demo", "sample-demo", "--start", "--poll-interval", "0.01"]
    assert build_parser().parse_args([*base, "--wait-timeout", "7"]).wait_timeout == 7.0
    assert build_parser().parse_args([*base, "--timeout", "7"]).wait_timeout == 7.0
    assert "--timeout" not in _command_help(build_parser(), "wait").replace("--wait-timeout", "")

    err = io.StringIO()
    assert main([*base, "-q", "--timeout", "30"], out=io.StringIO(), err=err) == 0
    assert err.getvalue() == "speaker-audio: warning: --timeout is deprecated: use --wait-timeout\n"
    err = io.StringIO()
    fake.voices["voice-demo"]["sample-demo"].status = "not_started"
    assert main([*base, "-q", "--wait-timeout", "30"], out=io.StringIO(), err=err) == 0
    assert err.getvalue() == ""

"""The CLI's ``wait`` and ``separate --wait``: a separation never started fails at once with a hint, or ``--start``."""

from __future__ import annotations

import io

from speaker_audio.cli import _errors, main
from speaker_audio.testing import FakeElevenLabs


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

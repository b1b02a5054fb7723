"""``wait_for_separation`` on a separation that was never started: a clear error at once, or ``start=True``."""

from __future__ import annotations

import io

import pytest
from _clients import ClientRunner, Kind

import speaker_audio
from speaker_audio import SeparationNotCompletedError, SeparationNotStartedError, SeparationStatus, _cli
from speaker_audio._workflow import SeparationPoller
from speaker_audio.testing import FakeElevenLabs


def test_not_started_at_the_first_poll_raises_at_once(fake: FakeElevenLabs, kind: Kind) -> None:
    runner = ClientRunner(kind, fake.base_url)
    with pytest.raises(SeparationNotStartedError) as caught:
        # (a bounded timeout so that the old behaviour, polling until the deadline, fails in 2 s, not 600 s)
        runner.call("wait_for_separation", "voice-demo", "sample-demo", timeout=2.0)
    assert isinstance(caught.value, SeparationNotCompletedError)
    assert caught.value.status == "not_started"
    message = str(caught.value)
    assert "start_speaker_separation" in message
    assert "start=True" in message
    assert runner.sleeps == []  # no waiting at all
    assert len(fake.requests) == 1  # one status read, nothing else
    assert fake.voices["voice-demo"]["sample-demo"].status == "not_started"


def test_start_true_starts_a_separation_that_was_never_started(fake: FakeElevenLabs, kind: Kind) -> None:
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 2
    runner = ClientRunner(kind, fake.base_url)
    status = runner.call("wait_for_separation", "voice-demo", "sample-demo", start=True, poll_interval=0.5)
    assert status.status == "completed"
    methods = [r.method for r in fake.requests]
    assert methods == ["GET", "POST", "GET", "GET"]  # not_started, start, pending, completed
    assert runner.sleeps == [0.5, 0.5]


@pytest.mark.parametrize("state", ["pending", "completed"])
def test_start_true_never_starts_a_separation_already_under_way(fake: FakeElevenLabs, kind: Kind, state: str) -> None:
    fake.add_sample("voice-demo", "sample-2", status=state, polls_until_complete=1)
    status = ClientRunner(kind, fake.base_url).call("wait_for_separation", "voice-demo", "sample-2", start=True)
    assert status.status == "completed"
    assert fake.requests_to("/separate-speakers") == []


def _status(state: str) -> SeparationStatus:
    return SeparationStatus(voice_id="v", sample_id="s", status=state)


def test_the_poller_decides_not_started_only_at_the_first_poll() -> None:
    clock = iter(range(100)).__next__
    poller = SeparationPoller("v", "s", timeout=50, poll_interval=1, clock=lambda: float(clock()))
    assert poller.next_wait(_status("pending")) == 1
    # seen after "pending" (a reset, or a start not visible yet): waited through, within the timeout
    assert poller.should_start(_status("not_started")) is False
    assert poller.next_wait(_status("not_started")) == 1
    assert poller.next_wait(_status("completed")) is None


def test_the_poller_asks_to_start_once_and_then_waits() -> None:
    poller = SeparationPoller("v", "s", timeout=10, poll_interval=1, start=True)
    assert poller.should_start(_status("not_started")) is True
    assert poller.next_wait(_status("not_started")) == 1  # the start may not show in this poll
    assert poller.should_start(_status("not_started")) is False  # never twice
    assert poller.next_wait(_status("not_started")) == 1


def test_a_poller_told_the_caller_started_it_waits_through_not_started() -> None:
    poller = SeparationPoller("v", "s", timeout=10, poll_interval=1, started=True)
    assert poller.should_start(_status("not_started")) is False
    assert poller.next_wait(_status("not_started")) == 1


def test_the_new_error_is_exported() -> None:
    assert "SeparationNotStartedError" in speaker_audio.__all__
    assert speaker_audio.errors.SeparationNotStartedError is SeparationNotStartedError
    assert issubclass(SeparationNotStartedError, SeparationNotCompletedError)


# --- the CLI --------------------------------------------------------------------------------------------


def test_cli_wait_fails_at_once_with_a_hint_and_starts_with_start(fake: FakeElevenLabs) -> None:
    base = ["--base-url", fake.base_url, "wait", "voice-demo", "sample-demo", "--poll-interval", "0.01"]
    err = io.StringIO()
    assert _cli.main(base, out=io.StringIO(), err=err) == _cli.EXIT_API
    line = err.getvalue().strip()
    assert line.startswith("speaker-audio: error: SeparationNotStartedError: ")
    assert "--start" in line
    assert "start=True" not in line  # the CLI's words, not the Python API's
    assert len(fake.requests) == 1
    out = io.StringIO()
    assert _cli.main([*base, "--start"], out=out, err=io.StringIO()) == _cli.EXIT_OK
    assert "completed" in out.getvalue()
    assert len(fake.requests_to("/separate-speakers", "POST")) == 1


def test_separate_wait_does_not_trip_over_a_start_not_yet_visible(fake: FakeElevenLabs) -> None:
    """``separate --wait`` started it itself: a first poll still saying not_started is waited through."""
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 1
    from speaker_audio.testing import Fault

    stale = b'{"voice_id": "voice-demo", "sample_id": "sample-demo", "status": "not_started"}'
    fake.script(Fault(status=200, body=stale, method="GET", path_contains="/speakers"))
    args = ["--base-url", fake.base_url, "separate", "voice-demo", "sample-demo", "--wait", "--poll-interval", "0.01"]
    assert _cli.main(args, out=io.StringIO(), err=io.StringIO()) == _cli.EXIT_OK
    assert len(fake.requests_to("/separate-speakers", "POST")) == 1

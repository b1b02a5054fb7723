"""``wait_for_separation``: polling until done, a failed separation, its timeout, a separation never started.

The CLI's ``wait`` and ``--wait-timeout`` are in tests/cli/test_cli_wait.py; a server dripping its response head
against the timeout in tests/client/test_deadlines_bound_the_head.py.
"""

from __future__ import annotations

import time

import pytest
from _clients import ClientRunner, FakeClock, Kind, call, make_client
from test_live_drift import NEW_STATUS, NewerServer, run, status_body

import speaker_audio
from speaker_audio import (
    APITimeoutError,
    SeparationNotCompletedError,
    SeparationNotStartedError,
    SeparationStatus,
    SeparationTimeoutError,
    SpeakerAudioClient,
)
from speaker_audio._polling import SeparationPoller
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids

# --- polling until done, or failed, within the timeout -------------------------------------------------------


def test_separation_status_and_start(fake: FakeElevenLabs, kind: Kind) -> None:
    run = ClientRunner(kind, fake.base_url)
    status = run.call("get_separation_status", "voice-demo", "sample-demo")
    assert status.status == "not_started"
    assert status.speakers == {}
    assert status.selected_speaker_ids == []
    assert run.call("start_speaker_separation", "voice-demo", "sample-demo") is None
    done = run.call("wait_for_separation", "voice-demo", "sample-demo", poll_interval=0.01)
    assert done.status == "completed"
    assert sorted(done.speakers) == ["speaker-1", "speaker-2"]
    speaker = done.speakers["speaker-1"]
    assert speaker.speaker_id == "speaker-1"
    assert speaker.duration_secs == 1.5
    assert [(u.start, u.end) for u in speaker.utterances] == [(0.0, 0.7), (0.9, 1.5)]
    assert done.selected_speaker_ids == ["speaker-1", "speaker-2"]


def test_wait_for_separation_failed_and_timeout(fake: FakeElevenLabs, kind: Kind) -> None:
    from speaker_audio import SeparationFailedError, SeparationTimeoutError

    fake.add_sample("v", "failing", status="pending", fail_separation=True)
    fake.add_sample("v", "slow", status="pending", polls_until_complete=10**6)
    run = ClientRunner(kind, fake.base_url)
    with pytest.raises(SeparationFailedError, match="failing"):
        run.call("wait_for_separation", "v", "failing", poll_interval=0.01)
    run.real_sleep = True
    with pytest.raises(SeparationTimeoutError, match="slow"):
        run.call("wait_for_separation", "v", "slow", timeout=0.3, poll_interval=0.05)
    assert 2 <= len(fake.requests_to("/samples/slow/speakers")) <= 12


# --- the timeout bounds every poll and retry wait; a total_timeout shorter than the wait wins ----------------


def test_wait_for_separation_timeout_bounds_retry_waits(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.script(Fault(method="GET", path_contains="/speakers", status=503, headers={"Retry-After": "2"}, times=9))
        client = make_client(kind, base_url=fake.base_url)
        clock.install(client)
        with pytest.raises(SeparationTimeoutError, match=r"within 0\.5s") as caught:
            call(client, "wait_for_separation", VOICE, SAMPLE, timeout=0.5)
        assert len(fake.requests) == 1
    assert sum(clock.sleeps) <= 0.5  # it was 4 s: two Retry-After waits past the timeout
    assert isinstance(caught.value.__cause__, speaker_audio.InternalServerError)


def test_wait_for_separation_timeout_cuts_a_stalled_poll(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.script(Fault(method="GET", path_contains="/speakers", delay=30, times=9))
        client = make_client(kind, base_url=fake.base_url, timeout=60)
        started = time.monotonic()
        with pytest.raises(SeparationTimeoutError):
            call(client, "wait_for_separation", VOICE, SAMPLE, timeout=0.5)
        assert len(fake.requests) == 1
    assert time.monotonic() - started < 10  # a 30 s stall, a 60 s read timeout, 2 retries


def test_wait_for_separation_polls_until_done_within_its_timeout(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.script(Fault(method="GET", path_contains="/speakers", status=503, headers={"Retry-After": "1"}, times=1))
        fake.voices[VOICE][SAMPLE].status = "completed"
        client = make_client(kind, base_url=fake.base_url)
        clock.install(client)
        status = call(client, "wait_for_separation", VOICE, SAMPLE, timeout=5)
    assert status.status == "completed"
    assert clock.sleeps == [1.0]


def test_total_timeout_shorter_than_the_wait_raises_api_timeout(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "pending"  # stays so (10**6 polls): polls until a deadline
        fake.voices[VOICE][SAMPLE].polls_until_complete = 10**6
        client = make_client(kind, base_url=fake.base_url, total_timeout=3.0)
        clock.install(client)
        with pytest.raises((APITimeoutError, SeparationTimeoutError)) as caught:
            call(client, "wait_for_separation", VOICE, SAMPLE, timeout=60, poll_interval=1)
    assert isinstance(caught.value, APITimeoutError)
    assert sum(clock.sleeps) <= 3.0


@pytest.mark.parametrize(("state", "outcome"), [("completed", "returned"), ("pending", "timed out")])
def test_wait_for_separation_with_timeout_0_still_polls_once(kind: Kind, state: str, outcome: str) -> None:
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = state
        fake.voices[VOICE][SAMPLE].polls_until_complete = 100  # pending stays pending
        client = make_client(kind, base_url=fake.base_url)
        try:
            status = call(client, "wait_for_separation", VOICE, SAMPLE, timeout=0)
            result = "returned" if status.status == "completed" else "other"
        except SeparationTimeoutError:
            result = "timed out"
        assert len(fake.requests) == 1  # "give or take one poll's request": the first poll is always sent
    assert result == outcome


@pytest.mark.parametrize("timeout", [float("nan"), -1.0])
def test_wait_for_separation_refuses_a_nan_or_negative_timeout(fake: FakeElevenLabs, timeout: float) -> None:
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(ValueError, match="timeout"):
        client.wait_for_separation("voice-demo", "sample-demo", timeout=timeout)


def test_the_wait_times_out_naming_the_unknown_status() -> None:
    from speaker_audio import SeparationTimeoutError

    server = NewerServer([status_body(NEW_STATUS)])
    try:
        with pytest.raises(SeparationTimeoutError, match=NEW_STATUS):
            run("sync", server, "wait_for_separation", "v", "s", timeout=0.3, poll_interval=0.05)
    finally:
        server.close()


# --- a separation never started ------------------------------------------------------------------------------


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


def test_separation_not_started_error_is_exported() -> None:
    assert "SeparationNotStartedError" in speaker_audio.__all__
    assert speaker_audio.errors.SeparationNotStartedError is SeparationNotStartedError
    assert issubclass(SeparationNotStartedError, SeparationNotCompletedError)

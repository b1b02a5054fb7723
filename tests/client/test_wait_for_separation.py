"""``wait_for_separation``: polling until done, a failed separation, its timeout, a separation never started."""

from __future__ import annotations

import pytest
from _clients import ClientRunner, Kind

import speaker_audio
from speaker_audio import (
    SeparationNotCompletedError,
    SeparationNotStartedError,
    SeparationStatus,
    SpeakerAudioClient,
)
from speaker_audio._workflow import SeparationPoller
from speaker_audio.testing import FakeElevenLabs

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


@pytest.mark.parametrize("timeout", [float("nan"), -1.0])
def test_wait_for_separation_refuses_a_nan_or_negative_timeout(fake: FakeElevenLabs, timeout: float) -> None:
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(ValueError, match="timeout"):
        client.wait_for_separation("voice-demo", "sample-demo", timeout=timeout)


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

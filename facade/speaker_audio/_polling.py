"""Waiting for a separation (sans-I/O): after each status read, whether to start it, stop, fail, or poll again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import assert_never

from speaker_audio._deadline import Deadline
from speaker_audio._models import SeparationStatus
from speaker_audio.errors import (
    SeparationFailedError,
    SeparationNotStartedError,
    SeparationTimeoutError,
    SpeakerAudioError,
    _with_hint,
)

FIRST_POLL_SECONDS = 1.0
"""The least time a wait gives its first status request, whatever its ``timeout``."""


class SeparationPoller:
    """Decides, after each status read, whether to start separation, stop (done), fail, or wait and poll again.

    ``not_started`` is decisive only at the first poll, and unless ``started`` (the caller has just started it):
    with ``start`` the caller must start it (:meth:`should_start`), else :meth:`next_wait` raises. Later it is
    waited through like ``pending``.
    """

    def __init__(
        self,
        voice_id: str,
        sample_id: str,
        *,
        timeout: float,
        poll_interval: float,
        start: bool = False,
        started: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (timeout >= 0 and poll_interval > 0):  # also refuses NaN
            raise ValueError("timeout must be >= 0 and poll_interval > 0")
        self._where = f"voice {voice_id!r}, sample {sample_id!r}"
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._start = start
        self._started = started
        self._polls = 0
        self._unknown: str | None = None  # the last status seen that the pinned spec does not list
        self._clock = clock
        self._deadline = clock() + timeout

    def should_start(self, status: SeparationStatus) -> bool:
        """True (once) when the caller must start the separation now: first poll, ``not_started``, ``start``."""
        if self._start and not self._started and self._polls == 0 and status.status == "not_started":
            self._started = True
            return True
        return False

    def deadline(self, *, first_poll_from: float | None = None) -> Deadline:
        """The poll's deadline (``SeparationTimeoutError``); with ``first_poll_from`` (the clock when the first poll
        starts) at least ``FIRST_POLL_SECONDS`` from it, so that the first poll is sent even with ``timeout=0``."""

        def expired(what: str) -> SpeakerAudioError:
            return SeparationTimeoutError(
                f"speaker separation for {self._where} did not complete within {self._timeout:g}s "
                f"(time ran out {what}){self._unknown_note()}"
            )

        at = self._deadline if first_poll_from is None else max(self._deadline, first_poll_from + FIRST_POLL_SECONDS)
        return Deadline(at, expired)

    def next_wait(self, status: SeparationStatus) -> float | None:
        """``None`` when ``status`` is completed; else seconds to wait before the next poll.

        Raises:
            SeparationFailedError: ``failed``.
            SeparationNotStartedError: ``not_started`` at the first poll (unless started).
            SeparationTimeoutError: past the deadline.
        """
        from speaker_audio_api.models.speaker_separation_response_model_status import (
            SpeakerSeparationResponseModelStatus as State,
        )

        first = self._polls == 0
        self._polls += 1
        try:
            state = State(status.status)
        except ValueError:  # a status the pinned spec does not list (the server is ahead of the pin): keep polling
            self._unknown = status.status
            return self._wait_more(status)
        # Exhaustive over the pinned spec's statuses: a value that upstream adds is a mypy error
        # here after regeneration, until someone decides what it means for waiting.
        match state:
            case State.COMPLETED:
                return None
            case State.FAILED:
                raise SeparationFailedError(f"speaker separation failed for {self._where}")
            case State.NOT_STARTED:
                if first and not self._started:
                    raise _with_hint(
                        SeparationNotStartedError(
                            f"speaker separation for {self._where} was never started (status 'not_started')",
                            status=status.status,
                        ),
                        "start_separation",
                    )
            case State.PENDING:
                pass
            case _:
                assert_never(state)
        return self._wait_more(status)

    def _unknown_note(self) -> str:
        if self._unknown is None:
            return ""
        return f"; it reported {self._unknown!r}, a status the pinned spec does not list (re-pin with `make pin`)"

    def _wait_more(self, status: SeparationStatus) -> float:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise SeparationTimeoutError(
                f"speaker separation for {self._where} still {status.status!r} after {self._timeout:g}s"
                f"{self._unknown_note()}"
            )
        return min(self._poll_interval, remaining)

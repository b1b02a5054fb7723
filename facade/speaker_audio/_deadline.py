"""Deadlines: one bound on a whole call, retries and their waits included (sans-I/O; the shells read the clock)."""

from __future__ import annotations

import math
from collections.abc import Callable

import httpx

from speaker_audio.errors import APIConnectionError, APITimeoutError, SpeakerAudioError, _with_hint

WAITING_FOR_HEAD = "while waiting for the response head"
"""Where an exchange was when a watchdog ended it before the response's head had arrived."""
RECEIVING = "while receiving the response"
"""Where an exchange was when its deadline passed after the response's head had arrived."""

# A transport timeout that fires this close to the deadline was the deadline's (timers fire a little early or late).
_SLACK = 0.05


def check_total_timeout(total_timeout: object) -> float | None:
    """``total_timeout`` if it is ``None`` or a finite number of seconds > 0, else ``ValueError``."""
    if total_timeout is None:
        return None
    if (
        isinstance(total_timeout, bool)
        or not isinstance(total_timeout, int | float)
        or not (0 < total_timeout < math.inf)
    ):
        raise ValueError(f"total_timeout must be a number of seconds > 0 or None, got {total_timeout!r}")
    return float(total_timeout)


class Deadline:
    """A time on the monotonic clock by which a call must end, and ``expired(what)``, the error once passed
    (``what``: where the call was when time ran out)."""

    __slots__ = ("_raised", "at", "expired")

    def __init__(self, at: float, expired: Callable[[str], SpeakerAudioError]) -> None:
        self.at = at
        self.expired = expired
        self._raised: SpeakerAudioError | None = None

    @classmethod
    def total(cls, total_timeout: float, now: float, where: str) -> Deadline:
        """The deadline of one public call with ``total_timeout``; raises ``APITimeoutError``."""

        def expired(what: str) -> SpeakerAudioError:
            return _with_hint(APITimeoutError(f"{total_timeout:g}s ran out {what} ({where})"), "total_timeout")

        return cls(now + total_timeout, expired)

    def __repr__(self) -> str:
        return f"Deadline(at={self.at!r})"

    def remaining(self, now: float) -> float:
        """Seconds left (negative once passed)."""
        return self.at - now

    def _raise(self, what: str) -> SpeakerAudioError:
        self._raised = self.expired(what)
        return self._raised

    def expire(self, what: str) -> SpeakerAudioError:
        """The deadline's error, for a watchdog that ended the exchange at the deadline (the one raised, if any)."""
        return self._raised if self._raised is not None else self._raise(what)

    def check(self, now: float, what: str) -> None:
        """Raise the deadline's error if it has passed."""
        if now >= self.at:
            raise self._raise(what)

    def clip(self, timeout: httpx.Timeout, now: float) -> httpx.Timeout:
        """``timeout`` with each of its limits cut to the time left; raises the deadline's error if none is left."""
        self.check(now, "before the request was sent")
        left = self.remaining(now)

        def cut(value: float | None) -> float:
            return left if value is None else min(value, left)

        return httpx.Timeout(
            connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write), pool=cut(timeout.pool)
        )

    def wait(self, delay: float, now: float) -> float:
        """``delay`` cut to the time left (never negative)."""
        return max(0.0, min(delay, self.remaining(now)))

    def after_failure(self, error: SpeakerAudioError, delay: float | None, now: float) -> None:
        """Raise instead of retrying when ``error`` is the deadline's, or when waiting ``delay`` would pass it.

        ``delay`` is ``None`` when ``error`` is not retried: it is then re-raised as is, unless it is a transport
        timeout at the deadline.
        """
        if error is self._raised:
            raise error
        if delay is None:
            if isinstance(error, APIConnectionError) and self.remaining(now) <= _SLACK:
                raise self._raise(f"after {type(error).__name__}: {error}") from error
            return
        if now + delay >= self.at:
            raise self._raise(f"before retrying after {type(error).__name__}: {error}") from error


def earliest(*deadlines: Deadline | None) -> Deadline | None:
    """The deadline that passes first (``None`` when there is none)."""
    present = [d for d in deadlines if d is not None]
    return min(present, key=lambda d: d.at) if present else None


class Unguarded:
    """The guard of an exchange without a deadline: each step of the shells' ``DeadlineGuard`` does nothing here."""

    __slots__ = ()

    def watch(self, request: httpx.Request) -> None:
        """``request`` is about to be sent."""

    def started(self, response: httpx.Response) -> None:
        """The response's head has arrived."""

    def release(self) -> None:
        """The body has ended or the response was closed."""


UNGUARDED = Unguarded()
"""The one ``Unguarded``: a call without a deadline makes no guard (no object, no timer) for each exchange."""

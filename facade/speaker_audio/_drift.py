"""Spec drift: where a 2xx body goes beyond the pinned spec (found by ``_schema``), each reported once (sans-I/O)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TypeVar

import attrs

R = TypeVar("R")

UNKNOWN_ENUM_VALUE = "unknown_enum_value"
"""A string or number that the pinned ``enum`` (or ``const``) does not list."""
UNKNOWN_MEMBER = "unknown_member"
"""An object member that the pinned schema's ``properties`` do not declare."""
DRIFT_KINDS = (UNKNOWN_ENUM_VALUE, UNKNOWN_MEMBER)

_LOGGER = logging.getLogger("speaker_audio")


@attrs.frozen
class SpecDrift:
    """One place where a response went beyond the pinned spec: the server is newer than this SDK's pin.

    Attributes:
        operation: the operation whose response it was, e.g. ``"get_separation_status"``.
        pointer: the JSON pointer (RFC 6901) into the body, e.g. ``"/status"`` or ``"/speakers/spk_1/loudness"``.
        kind: ``"unknown_enum_value"`` (a value the pinned enum does not list) or ``"unknown_member"`` (a member
            the pinned schema does not declare); more kinds may come.
        detail: the value, shortened, e.g. ``"'queued' (pinned: not_started, pending, completed, failed)"``.
        location: ``pointer`` with each array index and map key as ``*`` (``"/speakers/*/loudness"``): the same
            for every body, so the drifts a client reports once are those with distinct ``location``s.
    """

    operation: str
    pointer: str
    kind: str
    detail: str
    location: str = attrs.field(default=attrs.Factory(lambda self: self.pointer, takes_self=True))


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (server text is safe to log or show)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class DriftReporter:
    """Reports each distinct drift once: a WARNING on the ``speaker_audio`` logger, then ``on_drift(drift)``.

    Drifts are the same when their operation, kind, ``location`` and (for an unknown value) ``detail`` are. Thread-safe.
    Past ``max_distinct`` drifts one WARNING says so and no more are reported. ``on_drift``'s exceptions propagate.
    """

    def __init__(self, on_drift: Callable[[SpecDrift], None] | None = None, *, max_distinct: int = 1000) -> None:
        self._on_drift = on_drift
        self._max = max_distinct
        self._seen: set[tuple[str, str, str, str]] = set()
        self._full = False
        self._lock = threading.Lock()

    def report(self, drifts: Iterable[SpecDrift]) -> None:
        """Log and hand to ``on_drift`` each of ``drifts`` not reported yet (inside :meth:`HeldReports.run`, held)."""
        held = _held.get()
        if held is not None:
            held.append((self, tuple(drifts)))
            return
        for drift in drifts:
            value = "" if drift.kind == UNKNOWN_MEMBER else drift.detail
            key = (drift.operation, drift.location, drift.kind, value)
            with self._lock:
                if key in self._seen or self._full:
                    continue
                if len(self._seen) >= self._max:
                    self._full = True
                    _LOGGER.warning("%d distinct spec drifts reported; further ones are not", self._max)
                    continue
                self._seen.add(key)
            _LOGGER.warning(
                "%s response: %s at %s: %s; the pinned spec is behind the server (re-pin with `make pin`)",
                drift.operation,
                drift.kind.replace("_", " "),
                printable(drift.pointer) or "the body",
                printable(drift.detail),
            )
            if self._on_drift is not None:
                self._on_drift(drift)


_held: ContextVar[list[tuple[DriftReporter, tuple[SpecDrift, ...]]] | None] = ContextVar(
    "speaker_audio_held_drift_reports", default=None
)


class HeldReports:
    """Holds the drift reports made in :meth:`run` (a body parsed on a worker thread) for :meth:`release` to make
    where the caller is (on the event loop), as for a body parsed there."""

    def __init__(self) -> None:
        self._held: list[tuple[DriftReporter, tuple[SpecDrift, ...]]] = []

    def run(self, function: Callable[[], R]) -> R:
        """``function()``, holding the reports it makes (the hold is this context's only: a worker thread's)."""
        token = _held.set(self._held)
        try:
            return function()
        finally:
            _held.reset(token)

    def release(self) -> None:
        """Make the reports held so far, in order (an exception from ``on_drift`` propagates, as unheld)."""
        held, self._held = self._held, []
        for reporter, drifts in held:
            reporter.report(drifts)

"""Spec drift: where a 2xx body goes beyond the pinned spec, and reporting each difference once (sans-I/O).

The response validator (``_schema``) finds the drift; a :class:`DriftReporter` (one per client) turns it into
one WARNING on the ``speaker_audio`` logger and one ``on_drift`` call per distinct drift.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

import attrs

__all__ = ["DRIFT_KINDS", "UNKNOWN_ENUM_VALUE", "UNKNOWN_MEMBER", "DriftReporter", "SpecDrift", "printable"]

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

    Drifts are the same when their operation, kind and ``location`` are, and for an unknown value also its
    ``detail``: fifty speakers with the same unknown member make one report (naming the first one's pointer).
    Thread-safe. At most ``max_distinct`` drifts are remembered; past that, one WARNING says so and no more are
    reported. An exception raised by ``on_drift`` propagates to the caller of :meth:`report`.
    """

    def __init__(self, on_drift: Callable[[SpecDrift], None] | None = None, *, max_distinct: int = 1000) -> None:
        self._on_drift = on_drift
        self._max = max_distinct
        self._seen: set[tuple[str, str, str, str]] = set()
        self._full = False
        self._lock = threading.Lock()

    def report(self, drifts: Iterable[SpecDrift]) -> None:
        """Log and hand to ``on_drift`` each of ``drifts`` that this reporter has not reported yet."""
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

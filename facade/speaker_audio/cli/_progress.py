"""Progress on stderr: the text (sizes, rates, time left; pure functions) and the line that shows it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

from speaker_audio import DownloadProgress

__all__ = [
    "DownloadAllProgress",
    "ProgressLine",
    "TransferProgress",
    "format_duration",
    "format_size",
    "format_transfer",
]


def format_size(n: float) -> str:
    """``n`` bytes in decimal units: ``"950 B"``, ``"6.3 kB"``, ``"1.5 MB"``, ``"2.0 GB"``."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """A short duration: ``"7 s"``, ``"2 min 05 s"``, ``"1 h 02 min"``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_transfer(done: int, expected: int | None, elapsed: float) -> str:
    """``"1.5 MB of 3.0 MB (50%), 1.2 MB/s, 1 s left"``; without ``expected``: ``"1.5 MB, 1.2 MB/s"``.

    The rate and the time left appear once ``elapsed`` > 0 and something arrived; the percentage
    is capped at 100 (``expected`` may be an estimate).
    """
    parts = [format_size(done)]
    if expected is not None:
        percent = 100 if expected <= 0 else min(100, done * 100 // expected)
        parts[0] += f" of {format_size(max(expected, done))} ({percent}%)"
    if elapsed > 0 and done > 0:
        rate = done / elapsed
        parts.append(f"{format_size(rate)}/s")
        if expected is not None and expected > done:
            parts.append(f"{format_duration((expected - done) / rate)} left")
    return ", ".join(parts)


class ProgressLine:
    """One status line on a terminal, redrawn in place (thread-safe, at most ~10 redraws a second).

    Disabled (draws nothing) when the stream is not a terminal or the user asked for ``--quiet``.
    """

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._lock = threading.Lock()
        self._last = 0.0
        self._drawn = False

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` (dropped when the last redraw was under 0.1 s ago, unless ``force``)."""
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < 0.1:
                return
            self._last = now
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._drawn = True

    def close(self) -> None:
        """Clear the line (so that the next output starts on a clean line)."""
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False


class TransferProgress:
    """Feeds a ``ProgressLine`` from a download's ``on_progress``: audio bytes, total, percentage, rate, time left."""

    def __init__(self, line: ProgressLine, label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.line = line
        self.label = label
        self._clock = clock
        self._started = clock()
        self.final: DownloadProgress | None = None
        """The last call's progress once the download is done: it carries the media type and duration."""

    def __call__(self, progress: DownloadProgress) -> None:
        if progress.done:
            self.final = progress
        elapsed = self._clock() - self._started
        text = format_transfer(progress.audio_bytes, progress.expected_audio_bytes, elapsed)
        self.line.update(f"{self.label}: {text}", force=progress.done)


class DownloadAllProgress:
    """Feeds a ``ProgressLine`` from ``download_all_speakers``' ``on_progress`` (all speakers summed), and keeps
    each speaker's final progress (its media type and duration)."""

    def __init__(self, line: ProgressLine, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.line = line
        self.total = total
        self.received: dict[str, int] = {}
        self.expected: dict[str, int | None] = {}
        self.finals: dict[str, DownloadProgress] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._started = clock()

    def __call__(self, progress: DownloadProgress) -> None:
        speaker_id = progress.speaker_id or ""
        with self._lock:
            self.received[speaker_id] = progress.audio_bytes
            self.expected[speaker_id] = progress.expected_audio_bytes
            if progress.done:
                self.finals[speaker_id] = progress
            expected = list(self.expected.values())
            # the total is known once every speaker's response has announced its size
            total = (
                sum(e for e in expected if e is not None)
                if len(expected) == self.total and None not in expected
                else None
            )
            transfer = format_transfer(sum(self.received.values()), total, self._clock() - self._started)
            text = f"downloading: {len(self.finals)}/{self.total} speakers done, {transfer}"
        self.line.update(text, force=progress.done)

"""Progress text for the command line (pure functions: no I/O, no clock)."""

from __future__ import annotations

__all__ = ["format_duration", "format_size", "format_transfer"]


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

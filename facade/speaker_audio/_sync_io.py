"""What the sync client does its own way: sleeping, blocking file work, concurrent downloads on threads.

The twin of ``_async_io`` (same names), for the client that ``scripts/unasync.py`` writes from the async one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from speaker_audio._workflow import SpeakerDownloads

T = TypeVar("T")

__all__ = ["Sleep", "make_off_loop", "run_blocking", "run_downloads", "sleep"]

Sleep = Callable[[float], None]
"""How the client sleeps (tests put a recorder in its place)."""

sleep: Sleep = time.sleep


def run_blocking(function: Callable[[], T]) -> T:
    """``function()``, here and now."""
    return function()


def make_off_loop(make: Callable[[], T], discard: Callable[[T], None]) -> T:
    """``make()``, here and now (``discard`` serves the async twin only)."""
    return make()


def run_downloads(downloads: SpeakerDownloads, fetch: Callable[[str], Path], concurrency: int) -> dict[str, Path]:
    """Every speaker of ``downloads`` on at most ``concurrency`` worker threads."""
    return downloads.run_in_threads(fetch, concurrency)

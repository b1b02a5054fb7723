"""What the async client does its own way: sleeping, blocking file work off the event loop, concurrent downloads.

``_sync_io`` has the same names for the sync client (``scripts/unasync.py`` maps this module onto that one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from speaker_audio._workflow import SpeakerDownloads

T = TypeVar("T")

__all__ = ["Sleep", "make_off_loop", "run_blocking", "run_downloads", "sleep"]

Sleep = Callable[[float], Awaitable[None]]
"""How the client sleeps (tests put a recorder in its place)."""

sleep: Sleep = asyncio.sleep


async def run_blocking(function: Callable[[], T]) -> T:
    """``function()`` on a worker thread: file work (fsync, rename, unlink) never blocks the event loop."""
    return await asyncio.to_thread(function)


async def make_off_loop(make: Callable[[], T], discard: Callable[[T], None]) -> T:
    """``make()`` on a worker thread; if the caller is cancelled meanwhile, what it made is discarded.

    The thread cannot be stopped: without this, a download cancelled while its temporary file (or
    folder) was being created would leave that file behind.
    """
    work = asyncio.ensure_future(asyncio.to_thread(make))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:

        def discard_when_made(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                discard(done.result())

        work.add_done_callback(discard_when_made)
        raise


async def run_downloads(
    downloads: SpeakerDownloads, fetch: Callable[[str], Awaitable[Path]], concurrency: int
) -> dict[str, Path]:
    """Every speaker of ``downloads`` as tasks, at most ``concurrency`` at a time."""
    return await downloads.run_in_tasks(fetch, concurrency)

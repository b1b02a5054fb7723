"""What the async client does its own way: sleeping, blocking file work off the event loop, concurrent downloads.

``_sync_io`` has the same names for the sync client (``scripts/unasync.py`` maps this module onto that one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import httpx

from speaker_audio import _http_errors
from speaker_audio._deadline import RECEIVING, WAITING_FOR_HEAD, Deadline
from speaker_audio._downloads import SpeakerDownloads
from speaker_audio._drift import HeldReports
from speaker_audio._sinks import BodySink, JsonSink

T = TypeVar("T")

PARSE_OFF_LOOP_BYTES = 64 * 1024
"""A JSON body this large or larger is parsed and validated on a worker thread (a smaller one takes < 1 ms)."""

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


async def finish_body(sink: BodySink[T]) -> T:
    """``sink.finish()``: for a JSON body of ``PARSE_OFF_LOOP_BYTES`` or more, on a worker thread.

    Parsing, validating and modelling a status of 20,000 speakers (1.7 MB) takes about 0.3 s, one of 14 MB
    seconds: the event loop stays free meanwhile. The spec drift the body shows is reported here, on the loop
    (``on_drift`` is called where it would be for a small body).
    """
    if not isinstance(sink, JsonSink) or sink.received < PARSE_OFF_LOOP_BYTES:
        return sink.finish()
    held = HeldReports()
    try:
        return await asyncio.to_thread(held.run, sink.finish)
    finally:
        held.release()


async def run_downloads(
    downloads: SpeakerDownloads, fetch: Callable[[str], Awaitable[Path]], concurrency: int
) -> dict[str, Path]:
    """Await ``fetch(speaker_id)`` for every speaker of ``downloads``, at most ``concurrency`` at a time; its
    ``result()``.

    ``concurrency`` tasks take the speakers in turn (not a task per speaker: a sample may list 20,000).
    """
    pending = iter(downloads.speaker_ids)  # shared by the tasks: taking the next id never awaits

    async def work() -> None:
        for speaker_id in pending:
            if downloads.stopped:
                return
            try:
                path = await fetch(speaker_id)
            except Exception as error:
                downloads.failed(speaker_id, error)
            else:
                downloads.succeeded(speaker_id, path)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(downloads.speaker_ids))):
                group.create_task(work())
    except BaseException:
        downloads.cancel()  # the tasks' own cleanup already ran; this also covers a file made but not yet used
        raise
    return downloads.result()


class DeadlineGuard:
    """Ends one exchange (a request, its response head and body) at ``deadline``, wherever it is.

    httpx's timeouts bound each read, so a server that sends its head a line at a time, or ``100 Continue``
    after ``100 Continue``, could hold a call for ever. Here the exchange runs under ``asyncio.timeout``, and
    the cancellation it brings at the deadline becomes the deadline's error (without a deadline there is no guard:
    ``_deadline.UNGUARDED``).
    The sync twin (``_sync_io.DeadlineGuard``) shuts the request's socket down from a timer thread instead.
    """

    def __init__(self, deadline: Deadline, clock: Callable[[], float], http: httpx.AsyncClient) -> None:
        self._deadline = deadline
        self._what = WAITING_FOR_HEAD
        self._timeout = asyncio.timeout(max(0.0, deadline.remaining(clock())))

    async def __aenter__(self) -> Self:
        await self._timeout.__aenter__()
        return self

    def watch(self, request: httpx.Request) -> None:
        """``request`` is about to be sent (the sync twin needs it to find the socket)."""

    def started(self, response: httpx.Response) -> None:
        """The response's head has arrived."""
        self._what = RECEIVING

    def release(self) -> None:
        """The body has ended or the response was closed (the sync twin stops its timer)."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError as timed_out:  # our cancellation, at the deadline
            raise self._deadline.expire(self._what) from _http_errors.detach_tracebacks(timed_out)
        if self._timeout.expired() and isinstance(exc, Exception):  # the cancellation became another error
            error = self._deadline.expire(self._what)
            if error is not exc:
                raise error from _http_errors.detach_tracebacks(exc)

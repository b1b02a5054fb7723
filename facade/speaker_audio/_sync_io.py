"""What the sync client does its own way: sleeping, blocking file work, concurrent downloads on threads.

The twin of ``_async_io`` (same names), for the client that ``scripts/unasync.py`` writes from the async one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import httpx

from speaker_audio import _connections, _http_errors
from speaker_audio._deadline import RECEIVING, WAITING_FOR_HEAD, Deadline
from speaker_audio._downloads import DownloadCancelled, SpeakerDownloads
from speaker_audio._sinks import BodySink

T = TypeVar("T")

Sleep = Callable[[float], None]
"""How the client sleeps (tests put a recorder in its place)."""

sleep: Sleep = time.sleep


def run_blocking(function: Callable[[], T]) -> T:
    """``function()``, here and now."""
    return function()


def make_off_loop(make: Callable[[], T], discard: Callable[[T], None]) -> T:
    """``make()``, here and now (``discard`` serves the async twin only)."""
    return make()


def finish_body(sink: BodySink[T]) -> T:
    """``sink.finish()``, here and now."""
    return sink.finish()


def run_downloads(downloads: SpeakerDownloads, fetch: Callable[[str], Path], concurrency: int) -> dict[str, Path]:
    """``fetch(speaker_id)`` for every speaker of ``downloads`` on at most ``concurrency`` threads; its ``result()``.

    The workers are daemon threads, never joined: on an interrupt (any exception while waiting) the run is
    cancelled and the exception re-raised at once, even while a worker is stuck in a socket read.
    """
    lock = threading.Lock()
    pending = iter(downloads.speaker_ids)
    workers = min(concurrency, len(downloads.speaker_ids))
    running = [workers]
    all_done = threading.Event()
    escaped: list[BaseException] = []  # e.g. KeyboardInterrupt from a progress callback: re-raised by the caller

    def attempt(speaker_id: str) -> None:
        # outcomes are recorded here, on the worker, so the next queued speaker sees a failure at once
        try:
            path = fetch(speaker_id)
        except DownloadCancelled:
            return
        except Exception as error:
            downloads.failed(speaker_id, error)
        else:
            downloads.succeeded(speaker_id, path)

    def work() -> None:
        try:
            while True:
                with lock:
                    speaker_id = next(pending, None)
                if speaker_id is None or downloads.stopped or downloads.cancel_event.is_set():
                    return
                attempt(speaker_id)
        except BaseException as error:
            escaped.append(error)
            all_done.set()  # the caller re-raises it at once, without waiting for the other workers
        finally:
            with lock:
                running[0] -= 1
                if running[0] == 0:
                    all_done.set()

    if workers == 0:
        return downloads.result()
    try:
        for number in range(workers):
            # daemon: a worker blocked in a read must not hold the process at exit (an executor would)
            threading.Thread(target=work, name=f"speaker-audio-download-{number}", daemon=True).start()
        # short waits: a signal delivered to another thread is handled here within 0.2 s
        while not all_done.wait(0.2):
            pass
        if escaped:
            raise escaped[0]
    except BaseException:
        downloads.cancel()
        raise
    return downloads.result()


class DeadlineGuard:
    """Ends one exchange (a request, its response head and body) at ``deadline``, wherever it is.

    httpx's timeouts bound each read, so a server that sends its head a line at a time, or ``100 Continue``
    after ``100 Continue``, could hold a call for ever. Here a timer thread shuts the request's socket down at
    the deadline (``_connections.request_socket``: HTTP/1.1 through httpx's own transport), so that the blocked
    read returns at once, and the exchange's error becomes the deadline's. Once the body has ended (:meth:`release`,
    before the connection goes back to the pool) the socket is never touched. (Without a deadline there is no
    guard: ``_deadline.UNGUARDED``.)
    """

    def __init__(self, deadline: Deadline, clock: Callable[[], float], http: httpx.Client) -> None:
        self._deadline = deadline
        self._http = http
        self._request: httpx.Request | None = None
        self._what = WAITING_FOR_HEAD
        self._lock = threading.Lock()
        self._released = False
        self._expired = False
        self._timer = threading.Timer(max(0.0, deadline.remaining(clock())), self._expire)
        self._timer.name = "speaker-audio-deadline"
        self._timer.daemon = True

    def __enter__(self) -> Self:
        self._timer.start()
        return self

    def watch(self, request: httpx.Request) -> None:
        """``request`` is about to be sent: its socket is the one to shut down at the deadline."""
        self._request = request

    def started(self, response: httpx.Response) -> None:
        """The response's head has arrived."""
        self._what = RECEIVING

    def release(self) -> None:
        """The body has ended or the response was closed: from now on the socket may serve another request."""
        with self._lock:
            self._released = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._released:
                return
            self._expired = True
            sock = None if self._request is None else _connections.request_socket(self._http, self._request)
            if sock is not None:
                # socket.socket's own: ssl.SSLSocket.shutdown would drop its TLS state under the reader
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
        self._timer.join()
        if self._expired and isinstance(exc, Exception):
            error = self._deadline.expire(self._what)
            if error is not exc:
                raise error from _http_errors.detach_tracebacks(exc)

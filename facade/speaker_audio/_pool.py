"""A client's connection pool across ``os.fork()``: made again in the child, never shared with the parent.

Parent and child hold the same keep-alive sockets, so a response to one could reach the other. The pid is compared on
every use (one system call, far below a request's cost), so no registry of clients is needed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

from speaker_audio.errors import ForkedClientError

C = TypeVar("C", httpx.Client, httpx.AsyncClient)

_lock = threading.Lock()  # a child gets a new one: a thread of the parent may have held it at the fork


def _new_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_new_lock_in_child)


class ForkSafePool(Generic[C]):
    """The httpx client a speaker-audio client sends through, for the process that uses it.

    Args:
        client: the httpx client made (or given) now.
        make: how to make our own pool again in a forked child; ``None`` for a caller's ``http_client``, which
            we cannot rebuild: using it in a child raises ``ForkedClientError``.
    """

    __slots__ = ("_client", "_make", "_pid")

    def __init__(self, client: C, make: Callable[[], C] | None) -> None:
        self._client: C = client
        self._make: Callable[[], C] | None = make
        self._pid = os.getpid()

    def get(self) -> C:
        """The pool of this process: made anew (once) in a forked child.

        Raises:
            ForkedClientError: the pool is the caller's ``http_client`` and this process is a fork of its maker.
        """
        if self._pid != os.getpid():
            self._after_fork()
        return self._client

    def to_close(self) -> C | None:
        """The pool to close when the client closes: ``None`` in a child that has not made its own yet (closing the
        parent's there could wait for a lock that a thread of the parent held at the fork)."""
        return self._client if self._pid == os.getpid() else None

    def _after_fork(self) -> None:
        with _lock:
            pid = os.getpid()
            if self._pid == pid:  # another thread of this child made it meanwhile
                return
            if self._make is None:
                raise ForkedClientError(
                    f"this client was built in process {self._pid} with your http_client, and is used in "
                    f"process {pid}, a fork of it: the two processes share that http_client's connections, so "
                    "responses could cross. Build the http_client and the client in this process"
                )
            # the parent's pool is dropped, not closed: its sockets stay open in the parent (closing a forked
            # descriptor here sends nothing), and this process never reads from them
            self._client = self._make()
            self._pid = pid  # last: a thread that sees this pid also sees the new pool

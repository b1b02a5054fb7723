"""A raw TCP server on 127.0.0.1, started by a test, for what an HTTP server library would not send."""

from __future__ import annotations

import socket
import threading
from typing import Self


class SocketServer:
    """Hands each accepted connection to :meth:`serve` on a thread of its own; ``stop`` is set when the test ends.

    Subclasses write the bytes (a head a line at a time, a body a byte at a time, a response with more behind it).
    """

    def __init__(self) -> None:
        self.connections = 0
        self.stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def serve(self, conn: socket.socket) -> None:
        """Answer one connection (it is closed by the caller's ``with`` or the subclass)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._start(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._start(self.serve, conn)

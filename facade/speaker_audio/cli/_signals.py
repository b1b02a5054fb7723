"""SIGINT and SIGTERM stop a command once, its cleanup included (exit codes 130 and 143)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["Terminated", "interrupt_once"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's ``KeyboardInterrupt`` (exit code 143 instead of 130)."""


@contextlib.contextmanager
def interrupt_once(*, restore_after_signal: bool = True) -> Iterator[None]:
    """Let SIGINT and SIGTERM stop the command once, cleanups included (main thread only).

    The first of them raises ``KeyboardInterrupt`` (SIGINT) or :class:`Terminated` (SIGTERM) in the main
    thread; from then on both are ignored, so that a second one (Ctrl-C pressed twice, SIGTERM right after
    SIGINT) cannot interrupt the cleanup the first one started (cancelling the downloads, deleting their
    temporary files and the folders made for them) nor the exit code. The previous handlers are restored
    on the way out (after such a signal, only with ``restore_after_signal``). A SIGINT that Python does not
    handle itself (ignored, as in a background job, or an embedding program's handler) is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    signalled: list[int] = []

    def ignore(signum: int, frame: object) -> None:
        # a Python no-op, not SIG_IGN: a signal that arrived just before the switch is then dropped silently
        # (with SIG_IGN, Python reports it as "Signal 15 ignored due to race condition" on stderr)
        pass

    def shut_down(signum: int, frame: object) -> None:
        signalled.append(signum)
        for handled in previous:
            signal.signal(handled, ignore)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, shut_down)
    previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, shut_down)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if restore_after_signal or not signalled:
                signal.signal(signum, handler)
            else:  # SIG_IGN itself now: Python resets its own handlers to SIG_DFL as the process exits
                signal.signal(signum, signal.SIG_IGN)

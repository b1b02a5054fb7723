"""What one call exchanged with the server (sans-I/O): the last response's status and headers, the attempts,
the time taken; ``RawResponse`` for ``with_raw_response``, and the request log lines (``SPEAKER_AUDIO_LOG``)."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import attrs
import httpx

from speaker_audio._http_errors import request_id_of
from speaker_audio._operations import key_headers
from speaker_audio._settings import REDACTED

T = TypeVar("T")

LOG_ENV = "SPEAKER_AUDIO_LOG"
"""``info`` or ``debug``: one line per attempt on the ``speaker_audio`` logger (headers too at ``debug``)."""

logger = logging.getLogger("speaker_audio")
_request_lines = False  # set by configure_logging: the request lines are SPEAKER_AUDIO_LOG's alone
_CURRENT: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("speaker_audio_exchange", default=None)
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@attrs.frozen
class RawResponse(Generic[T]):
    """A call's result with what the server answered: from ``client.with_raw_response.<method>(...)``.

    Attributes:
        status_code: the status of the last response the call received.
        headers: that response's headers.
        request_id: its ``request-id`` (or ``x-request-id``) header, ``None`` when it sent none.
        attempts: the requests the call sent (1 plus its retries; the polls of a wait count too).
        elapsed_secs: the seconds the whole call took.
    """

    status_code: int
    headers: httpx.Headers = attrs.field(repr=False)
    request_id: str | None
    attempts: int
    elapsed_secs: float
    _result: T = attrs.field(repr=False, alias="result")

    def parse(self) -> T:
        """What the method returns (its result: the audio, the status, the path written...)."""
        return self._result


class Exchange:
    """The responses of one call, as they arrive (the client updates it; one per call)."""

    __slots__ = ("attempts", "headers", "started", "status_code")

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.attempts = 0
        self.status_code = 0
        self.headers: httpx.Headers | None = None

    def received(self, response: httpx.Response, request: httpx.Request) -> None:
        """Record ``response`` (to ``request``) and log it when ``SPEAKER_AUDIO_LOG`` asks."""
        self.status_code = response.status_code
        self.headers = response.headers
        if _request_lines and logger.isEnabledFor(logging.INFO):
            _log(request, response, self.attempts, time.monotonic() - self.started)

    def raw(self, result: T) -> RawResponse[T]:
        """The ``RawResponse`` of a call that returned ``result``."""
        headers = httpx.Headers(self.headers)  # a copy: the caller may change it
        return RawResponse(
            status_code=self.status_code,
            headers=headers,
            request_id=request_id_of(headers),
            attempts=self.attempts,
            elapsed_secs=time.monotonic() - self.started,
            result=result,
        )


def current() -> Exchange | None:
    """The exchange of the call under way (``with_raw_response``'s), else a new one for this call when
    ``SPEAKER_AUDIO_LOG`` asks for request lines, else ``None`` (nothing to record)."""
    return _CURRENT.get() or (Exchange() if _request_lines else None)


def start_recording() -> tuple[Exchange, contextvars.Token[Exchange | None]]:
    """A fresh exchange for the call about to start (``stop_recording`` with the token ends it)."""
    exchange = Exchange()
    return exchange, _CURRENT.set(exchange)


def stop_recording(token: contextvars.Token[Exchange | None]) -> None:
    """End what :func:`start_recording` began."""
    _CURRENT.reset(token)


def configure_logging(environ: Mapping[str, str] = os.environ) -> None:
    """Turn on the request lines when ``SPEAKER_AUDIO_LOG`` is ``info`` or ``debug``.

    A stderr handler is added if no handler would show the ``speaker_audio`` logger's records; any other value
    leaves logging as the application set it.
    """
    global _request_lines
    level = {"info": logging.INFO, "debug": logging.DEBUG}.get(environ.get(LOG_ENV, "").strip().lower())
    if level is None:
        return
    _request_lines = True
    logger.setLevel(level)
    if not logger.hasHandlers():  # the application's own handlers (its own or the root's) come first
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)


def _log(request: httpx.Request, response: httpx.Response, attempt: int, elapsed: float) -> None:
    url = request.url.copy_with(username=None, password=None)
    logger.info(
        "%s %s -> %d (request id %s, attempt %d, %.3f s)",
        request.method,
        url,
        response.status_code,
        request_id_of(response.headers),
        attempt,
        elapsed,
    )
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("request headers: %s", _shown(request.headers))
        logger.debug("response headers: %s", _shown(response.headers))


def _shown(headers: httpx.Headers) -> dict[str, Any]:
    secret = _SECRET_HEADERS | key_headers()
    return {name: REDACTED if name.lower() in secret else value for name, value in headers.items()}

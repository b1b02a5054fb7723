"""Turning an HTTP failure into the error a user sees (sans-I/O): status errors and transport errors."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from speaker_audio._inflate import inflater_for
from speaker_audio._json import reject_json_constant
from speaker_audio._settings import REDACTED
from speaker_audio.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
    ValidationErrorDetail,
    _with_hint,
)

if TYPE_CHECKING:
    from speaker_audio._requests import RequestSpec

MAX_ERROR_BODY_BYTES = 1 << 20


class ErrorBodyReader:
    """Keeps the start of an error response's body, inflated: at most ``MAX_ERROR_BODY_BYTES``, inflated or not.

    Feed it the raw chunks while :meth:`feed` returns true. A body in a coding it cannot read is dropped, and one that
    turns out invalid is cut where the damage starts: the status is the error, the body only a detail of it.
    """

    __slots__ = ("_inflater", "_readable", "body")

    def __init__(self, headers: httpx.Headers) -> None:
        self.body = bytearray()
        """The (inflated) body kept so far."""
        try:
            self._inflater = inflater_for(headers)
            self._readable = True
        except ResponseValidationError:
            self._inflater = None
            self._readable = False

    @property
    def wants_more(self) -> bool:
        """Whether another chunk would be kept."""
        compressed = 0 if self._inflater is None else self._inflater.compressed
        return self._readable and len(self.body) < MAX_ERROR_BODY_BYTES and compressed < MAX_ERROR_BODY_BYTES

    def feed(self, chunk: bytes) -> bool:
        """Keep what fits of the next raw chunk; returns :attr:`wants_more`."""
        if not self.wants_more:
            return False
        try:
            for piece in (chunk,) if self._inflater is None else self._inflater.inflate(chunk):
                self.body += piece[: MAX_ERROR_BODY_BYTES - len(self.body)]
                if len(self.body) >= MAX_ERROR_BODY_BYTES:
                    break
        except ResponseValidationError:
            self._readable = False
        return self.wants_more


def request_id_of(headers: httpx.Headers) -> str | None:
    """The ``request-id`` or ``x-request-id`` header, if present."""
    for name in ("request-id", "x-request-id"):  # get_list: a missing header costs no KeyError, as get()'s does
        if value := ", ".join(headers.get_list(name)):
            return value
    return None


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date).

    Returns ``None`` when there is no usable value; never raises.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        with contextlib.suppress(ValueError):
            value = float(raw_ms) / 1000.0
            if 0.0 <= value < math.inf:
                return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return _seconds_until(raw.strip(), time.time() if now is None else now)
    return seconds if 0.0 <= seconds < math.inf else None


def _seconds_until(http_date: str, now: float) -> float | None:
    import email.utils  # only for HTTP-date Retry-After values

    try:
        when = email.utils.parsedate_to_datetime(http_date)  # ValueError when it is not a date
        return max(0.0, when.timestamp() - now) if when.tzinfo is not None else None
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


def parse_error_body(body: bytes) -> Any:
    """The parsed JSON body, else its text (``None`` when empty)."""
    if not body:
        return None
    try:
        return json.loads(body, parse_constant=reject_json_constant)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace")


def _validation_details(body: Any) -> list[ValidationErrorDetail]:
    details: list[ValidationErrorDetail] = []
    items = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return details
    for item in items:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        loc_parts = tuple(p for p in loc if isinstance(p, str | int)) if isinstance(loc, list) else ()
        details.append(ValidationErrorDetail(loc_parts, str(item.get("msg", "")), str(item.get("type", ""))))
    return details


def _summary(body: Any) -> str:
    if isinstance(body, dict):
        detail = body.get("detail", body.get("message", body))
        text = json.dumps(detail, ensure_ascii=False) if not isinstance(detail, str) else detail
    elif body is None:
        text = ""
    else:
        text = str(body)
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


# the server's error codes (``{"detail": {"status": ...}}``) that a step of the caller's would have avoided
_HINTS_OF_SERVER_CODES = {"separation_not_completed": "wait_for_separation"}


def carried_a_key(request: httpx.Request) -> bool:
    """Whether ``request`` went out with an API key.

    The client's key header holds ``REDACTED`` once sent; a key header that an injected ``http_client`` adds
    itself (its own headers or ``auth``) is one whose name ends with ``api-key``.
    """
    return any(value == REDACTED or name.lower().endswith("api-key") for name, value in request.headers.items())


def _hint(status: int, body: Any) -> str | None:
    """The ``hint`` of an error status: ``"set_api_key"`` for 401, else from the server's error code, if any."""
    if status == 401:
        return "set_api_key"
    detail = body.get("detail") if isinstance(body, dict) else None
    code = detail.get("status") if isinstance(detail, dict) else None
    return _HINTS_OF_SERVER_CODES.get(code) if isinstance(code, str) else None


def status_error(response: httpx.Response, body: bytes) -> APIStatusError:
    """The ``APIStatusError`` subclass for a non-2xx ``response`` with (the start of) its ``body``.

    A 401 to a request that carried no key says so; its ``hint`` is ``"set_api_key"``.
    """
    status = response.status_code
    # the streamed response was consumed: attach a read copy holding (the start of) the inflated body, built without
    # Content-Encoding (httpx would inflate it again), then showing the headers as received
    headers = response.headers
    response = httpx.Response(
        status,
        headers=[(name, value) for name, value in headers.raw if name.lower() != b"content-encoding"],  # as bytes
        content=body,
        request=response.request,
        extensions=response.extensions,
    )
    response.headers = headers
    parsed = parse_error_body(body)
    request_id = request_id_of(response.headers)
    request = response.request
    message = f"{status} {response.reason_phrase} for {request.method} {request.url.raw_path.decode('ascii')}"
    summary = _summary(parsed)
    if summary:
        message += f": {summary}"
    if request_id:
        message += f" (request id {request_id})"
    if status == 401 and not carried_a_key(request):
        message += "; no API key was sent"
    hint = _hint(status, parsed)
    if status == 422:
        return UnprocessableEntityError(
            message, response=response, body=parsed, request_id=request_id, errors=_validation_details(parsed)
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers)
        return RateLimitError(message, response=response, body=parsed, request_id=request_id, retry_after=retry_after)
    error_class: type[APIStatusError] = {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
    }.get(status, InternalServerError if status >= 500 else APIStatusError)
    error = error_class(message, response=response, body=parsed, request_id=request_id)
    return error if hint is None else _with_hint(error, hint)


def origin_of(url: str | httpx.URL) -> str:
    """``scheme://host:port`` of ``url`` (the port made explicit; never user info, path or query)."""
    url = httpx.URL(url)
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return f"{url.scheme}://{host}:{port}" if port else f"{url.scheme}://{host}"


def detach_tracebacks(exc: BaseException) -> BaseException:
    """``exc`` with the tracebacks of it and of every exception chained to it dropped; returns ``exc``.

    Their frames (httpx's, httpcore's, h11's) hold request objects and raw header lists with the key, which
    error reporters that capture local variables would send; the chained exceptions' types and messages stay.
    """
    for linked in exception_chain(exc):
        linked.__traceback__ = None
    return exc


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception chained to it (causes and contexts), each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        linked = pending.pop()
        if linked is not None and id(linked) not in seen:
            seen.add(id(linked))
            yield linked
            pending += [linked.__cause__, linked.__context__]


def transport_error(exc: httpx.HTTPError, spec: RequestSpec, origin: str | None = None) -> APIConnectionError:
    """The ``APIConnectionError`` for an httpx transport failure (raise it ``from detach_tracebacks(exc)``).

    The message names the method and the URL: ``origin`` (``scheme://host:port``, see :func:`origin_of`) and path.
    """
    where = f"{spec.method} {origin or ''}{spec.path}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out ({type(exc).__name__}) for {where}")
    if isinstance(exc, httpx.LocalProtocolError):
        # its text may quote a header value (the key): name the kind of failure only
        return APIConnectionError(f"could not send {where}: invalid request ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    return APIConnectionError(f"connection failed for {where}: {reason}")

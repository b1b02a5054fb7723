"""The sans-I/O core shared by the sync and async clients.

Everything here is pure: validating ids, building request descriptions through the
generated client's operation modules, turning a response into a result or an error,
and deciding whether and when to retry. The shells in ``_client.py`` only move bytes.
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import time
import unicodedata
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from speaker_audio.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    InvalidIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    SpeakerAudioError,
    UnprocessableEntityError,
    ValidationErrorDetail,
)

if TYPE_CHECKING:
    from speaker_audio._models import SeparationStatus, SpeakerAudio
    from speaker_audio_api.types import Unset

API_KEY_ENV = "ELEVENLABS_API_KEY"
BASE_URL_ENV = "ELEVENLABS_BASE_URL"
API_KEY_HEADER = "xi-api-key"
REDACTED = "[redacted]"
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
REGION_BASE_URLS: Mapping[str, str] = {
    "us": "https://api.us.elevenlabs.io",
    "eu": "https://api.eu.residency.elevenlabs.io",
    "in": "https://api.in.residency.elevenlabs.io",
    "sg": "https://api.sg.residency.elevenlabs.io",
}
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RESPONSE_BYTES = 1 << 30
MAX_ERROR_BODY_BYTES = 1 << 20


@functools.cache
def separation_statuses() -> tuple[str, ...]:
    """The separation statuses the pinned spec allows (from the generated enum)."""
    from speaker_audio_api.models.speaker_separation_response_model_status import (
        SpeakerSeparationResponseModelStatus,
    )

    return tuple(s.value for s in SpeakerSeparationResponseModelStatus)


# --- configuration -------------------------------------------------------------------------------


class Secret:
    """Holds the API key; its ``repr`` and ``str`` never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself, for the request header only."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("the API key is not picklable")


def resolve_api_key(api_key: str | None) -> Secret | None:
    """The explicit key, else ``ELEVENLABS_API_KEY``; ``None`` (no header sent) when neither is set."""
    value = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not value:
        return None
    if value != value.strip() or not all("!" <= ch <= "~" for ch in value):
        # the message must not echo the key: say only what is wrong with it
        raise ValueError(
            "the API key must be printable ASCII without spaces or line breaks (check for pasted whitespace)"
        )
    return Secret(value)


def resolve_base_url(base_url: str | None) -> str:
    """The explicit base URL, else ``ELEVENLABS_BASE_URL``, else production; without a trailing slash."""
    value = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise ValueError(f"base_url is not a valid URL: {value!r}") from None
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ValueError(f"base_url must be an http(s) URL without query or fragment, got {value!r}")
    return value.rstrip("/")


def resolve_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """An ``httpx.Timeout`` from a number of seconds or an ``httpx.Timeout``."""
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def preload() -> None:
    """Import what requests and results need: kept out of ``import speaker_audio``, done when a client is built."""
    import importlib

    for module in _PRELOADED_MODULES:
        importlib.import_module(module)
    # modules loaded after the models (the async client) get the result classes for their annotations
    importlib.import_module("speaker_audio._models")._publish_to_client_modules()


_PRELOADED_MODULES = (
    "speaker_audio._models",
    "speaker_audio_api.api.pvc_voices.get_speaker_audio",
    "speaker_audio_api.api.pvc_voices.get_separation_status",
    "speaker_audio_api.api.pvc_voices.start_speaker_separation",
)


# --- ids and requests ----------------------------------------------------------------------------


def validate_id(name: str, value: object) -> str:
    """Return ``value`` if it can be sent as exactly one path segment, else raise ``InvalidIdError``.

    Refused: non-strings, empty ids, ``.`` and ``..`` (httpx would collapse them and change the
    endpoint), and ids with control characters.
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"{name} must be a str, got {type(value).__name__}")
    if value == "":
        raise InvalidIdError(f"{name} must not be empty")
    if value in (".", ".."):
        raise InvalidIdError(f"{name} must not be {value!r}: it would change the request path")
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidIdError(f"{name} must not contain control characters: {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidIdError(f"{name} is not valid Unicode text (lone surrogate): {value!r}") from None
    return value


class RequestSpec(NamedTuple):
    """What to send for one operation: method, path (percent-encoded) and headers (never in the repr)."""

    operation: str
    method: str
    path: str
    headers: Mapping[str, str]
    idempotent: bool

    def __repr__(self) -> str:
        return (
            f"RequestSpec(operation={self.operation!r}, method={self.method!r}, path={self.path!r}, "
            f"idempotent={self.idempotent!r})"
        )


def _spec_from_kwargs(operation: str, kwargs: dict[str, Any]) -> RequestSpec:
    method = str(kwargs["method"]).upper()
    return RequestSpec(
        operation=operation,
        method=method,
        path=str(kwargs["url"]),
        headers=dict(kwargs.get("headers", {})),
        idempotent=method in ("GET", "HEAD", "OPTIONS"),
    )


def _key_arg(api_key: Secret | None) -> str | Unset:
    from speaker_audio_api.types import UNSET

    return api_key.reveal() if api_key is not None else UNSET


def build_get_speaker_audio(voice_id: str, sample_id: str, speaker_id: str, api_key: Secret | None) -> RequestSpec:
    """Request for GET …/speakers/{speaker_id}/audio."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    speaker = validate_id("speaker_id", speaker_id)
    from speaker_audio_api.api.pvc_voices import get_speaker_audio as operation  # on first use: fast import

    kwargs = operation._get_kwargs(*ids, speaker, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("get_speaker_audio", kwargs)


def build_get_separation_status(voice_id: str, sample_id: str, api_key: Secret | None) -> RequestSpec:
    """Request for GET …/samples/{sample_id}/speakers."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    from speaker_audio_api.api.pvc_voices import get_separation_status as operation

    kwargs = operation._get_kwargs(*ids, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("get_separation_status", kwargs)


def build_start_speaker_separation(voice_id: str, sample_id: str, api_key: Secret | None) -> RequestSpec:
    """Request for POST …/samples/{sample_id}/separate-speakers."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    from speaker_audio_api.api.pvc_voices import start_speaker_separation as operation

    kwargs = operation._get_kwargs(*ids, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("start_speaker_separation", kwargs)


def redact_request(request: httpx.Request) -> None:
    """Replace the API key header of ``request`` (already sent) so no exposed object carries it."""
    if API_KEY_HEADER in request.headers:
        request.headers[API_KEY_HEADER] = REDACTED


# --- responses ------------------------------------------------------------------------------------


def request_id_of(headers: httpx.Headers) -> str | None:
    """The ``request-id`` or ``x-request-id`` header, if present."""
    value: str | None = headers.get("request-id") or headers.get("x-request-id")
    return value


def parse_retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date).

    Returns ``None`` when there is no usable value; never raises.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = -1.0
        if 0.0 <= value < float("inf"):
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
        import email.utils  # only for HTTP-date Retry-After values

        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None or when.tzinfo is None:
            return None
        try:
            seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
        except (OverflowError, OSError, ValueError):
            return None
        return seconds
    if 0.0 <= seconds < float("inf"):
        return seconds
    return None


def _reject_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_error_body(body: bytes) -> Any:
    """The parsed JSON body, else its text (``None`` when empty)."""
    if not body:
        return None
    try:
        return json.loads(body, parse_constant=_reject_json_constant)
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


def status_error(response: httpx.Response, body: bytes) -> APIStatusError:
    """The ``APIStatusError`` subclass for a non-2xx ``response`` with (the start of) its ``body``."""
    status = response.status_code
    # the streamed response was consumed and closed: attach a read copy that holds (the start of) the body
    response = httpx.Response(
        status, headers=response.headers, content=body, request=response.request, extensions=response.extensions
    )
    parsed = parse_error_body(body)
    request_id = request_id_of(response.headers)
    request = response.request
    message = f"{status} {response.reason_phrase} for {request.method} {request.url.raw_path.decode('ascii')}"
    summary = _summary(parsed)
    if summary:
        message += f": {summary}"
    if request_id:
        message += f" (request id {request_id})"
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
    return error_class(message, response=response, body=parsed, request_id=request_id)


def transport_error(exc: httpx.HTTPError, spec: RequestSpec) -> APIConnectionError:
    """The ``APIConnectionError`` for an httpx transport failure (raise it ``from exc``)."""
    where = f"{spec.method} {spec.path}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out ({type(exc).__name__}) for {where}")
    if isinstance(exc, httpx.LocalProtocolError):
        # its text may quote a header value (the key): name the kind of failure only
        return APIConnectionError(f"could not send {where}: invalid request ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    return APIConnectionError(f"connection failed for {where}: {reason}")


def _expect_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise ResponseValidationError(f"{where}: {key!r} must be a string, got {_kind(value, key in obj)}")
    return value


def _expect_number(obj: Mapping[str, Any], key: str, where: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ResponseValidationError(f"{where}: {key!r} must be a number, got {_kind(value, key in obj)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ResponseValidationError(f"{where}: {key!r} must be a finite number")
    return number


def _kind(value: object, present: bool) -> str:
    if not present:
        return "nothing (missing)"
    return "null" if value is None else type(value).__name__


def _expect_object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ResponseValidationError(f"{where}: expected a JSON object, got {_kind(value, True)}")
    return value


def speaker_audio_from_parts(data: bytes, fields: Mapping[str, Any]) -> SpeakerAudio:
    """Build a ``SpeakerAudio`` from the decoded audio and the response's other members."""
    from speaker_audio._models import SpeakerAudio

    where = "speaker audio response"
    return SpeakerAudio(
        data=data,
        media_type=_expect_str(fields, "media_type", where),
        duration_secs=_expect_number(fields, "duration_secs", where),
    )


def separation_status_from_json(payload: object) -> SeparationStatus:
    """Validate a separation status body and build a ``SeparationStatus``."""
    from speaker_audio._models import SeparationStatus, Speaker, Utterance

    where = "separation status response"
    obj = _expect_object(payload, where)
    status = _expect_str(obj, "status", where)
    if status not in separation_statuses():
        raise ResponseValidationError(f"{where}: unknown status {status!r}")
    speakers: dict[str, Speaker] = {}
    raw_speakers = obj.get("speakers")
    if raw_speakers is not None:
        for key, raw in _expect_object(raw_speakers, f"{where}: speakers").items():
            item_where = f"{where}: speakers[{key!r}]"
            item = _expect_object(raw, item_where)
            utterances: list[Utterance] = []
            raw_utterances = item.get("utterances")
            if raw_utterances is not None:
                if not isinstance(raw_utterances, list):
                    raise ResponseValidationError(f"{item_where}: 'utterances' must be a list or null")
                for u in raw_utterances:
                    u_obj = _expect_object(u, f"{item_where}: utterance")
                    utterances.append(
                        Utterance(
                            start=_expect_number(u_obj, "start", item_where),
                            end=_expect_number(u_obj, "end", item_where),
                        )
                    )
            speakers[key] = Speaker(
                speaker_id=_expect_str(item, "speaker_id", item_where),
                duration_secs=_expect_number(item, "duration_secs", item_where),
                utterances=utterances,
            )
    selected = obj.get("selected_speaker_ids")
    if selected is not None and (not isinstance(selected, list) or not all(isinstance(s, str) for s in selected)):
        raise ResponseValidationError(f"{where}: 'selected_speaker_ids' must be a list of strings or null")
    return SeparationStatus(
        voice_id=_expect_str(obj, "voice_id", where),
        sample_id=_expect_str(obj, "sample_id", where),
        status=status,
        speakers=speakers,
        selected_speaker_ids=list(selected or []),
    )


def start_separation_from_json(payload: object) -> None:
    """Validate the body of a successful start-separation call."""
    _expect_str(_expect_object(payload, "start separation response"), "status", "start separation response")


def parse_json_body(body: bytes, where: str) -> object:
    """``json.loads`` that raises ``ResponseValidationError`` for a body that is not JSON."""
    try:
        return json.loads(body, parse_constant=_reject_json_constant)
    except (ValueError, RecursionError):
        excerpt = body[:60].decode("utf-8", "replace")
        raise ResponseValidationError(f"{where}: body is not JSON (starts with {excerpt!r})") from None


# --- retries --------------------------------------------------------------------------------------

RETRYABLE_STATUSES = frozenset({408, 409, 429})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryPolicy:
    """When and how long to wait before retrying (exponential back-off with jitter, bounded)."""

    __slots__ = ("initial_delay", "jitter", "max_delay", "max_retries", "max_retry_after")

    def __init__(
        self,
        max_retries: int = DEFAULT_MAX_RETRIES,
        *,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.max_retries = max_retries
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.jitter = jitter

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries}, initial_delay={self.initial_delay}, "
            f"max_delay={self.max_delay}, max_retry_after={self.max_retry_after})"
        )

    def is_retryable(self, spec: RequestSpec, error: SpeakerAudioError) -> bool:
        """Whether ``error`` on ``spec`` may be retried at all (ignoring the count)."""
        if isinstance(error, APIConnectionError):
            if spec.idempotent:
                return True
            return isinstance(error.__cause__, _NOT_SENT)  # POST: only when it surely never left
        if isinstance(error, APIStatusError) and spec.idempotent:
            return error.status_code in RETRYABLE_STATUSES or error.status_code >= 500
        return False

    def delay(self, retries_done: int, error: SpeakerAudioError) -> float:
        """Seconds to wait before retry number ``retries_done + 1``."""
        if isinstance(error, APIStatusError):
            retry_after = parse_retry_after(error.response.headers)
            if retry_after is not None and retry_after <= self.max_retry_after:
                return retry_after
        base = min(self.initial_delay * (2.0**retries_done), self.max_delay)
        return base * (1.0 - 0.25 * self.jitter())

    def next_delay(self, spec: RequestSpec, error: SpeakerAudioError, retries_done: int) -> float | None:
        """Seconds to wait before retrying, or ``None`` when ``error`` must be raised."""
        if retries_done >= self.max_retries or not self.is_retryable(spec, error):
            return None
        return self.delay(retries_done, error)


def describe_retry(spec: RequestSpec, attempt: int, delay: float, error: SpeakerAudioError) -> str:
    """The INFO log line for a retry (never includes the key)."""
    if isinstance(error, APIStatusError):
        reason = f"{error.status_code} {error.response.reason_phrase}"
    else:
        reason = f"{type(error).__name__}: {error}"
    return f"Retrying {spec.method} {spec.path} (attempt {attempt + 1}) in {delay:.2f}s after {reason}"

"""When and how long to wait before retrying a failed request (sans-I/O)."""

from __future__ import annotations

import random
import ssl
from collections.abc import Callable

import httpx

from speaker_audio._http_errors import exception_chain, parse_retry_after
from speaker_audio._requests import RequestSpec
from speaker_audio._settings import DEFAULT_MAX_RETRIES, check_int
from speaker_audio.errors import APIConnectionError, APIStatusError, SpeakerAudioError

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
        self.max_retries: int = check_int("max_retries", max_retries, 0)
        self.initial_delay: float = initial_delay
        self.max_delay: float = max_delay
        self.max_retry_after: float = max_retry_after
        self.jitter: Callable[[], float] = jitter

    def __repr__(self) -> str:
        # getattr: also for a policy whose construction failed (tracebacks with locals show it)
        fields = ("max_retries", "initial_delay", "max_delay", "max_retry_after")
        return "RetryPolicy(" + ", ".join(f"{name}={getattr(self, name, None)}" for name in fields) + ")"

    def is_retryable(self, spec: RequestSpec, error: SpeakerAudioError) -> bool:
        """Whether ``error`` on ``spec`` may be retried at all (ignoring the count)."""
        if isinstance(error, APIConnectionError):
            if is_certificate_failure(error):
                return False  # the same certificate fails the same way: a retry only delays the error
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


def is_certificate_failure(error: BaseException) -> bool:
    """Whether ``error`` comes, through its chained causes, from a TLS certificate that failed verification
    (untrusted, expired, for another host name): ``ssl.SSLCertVerificationError`` under httpx's ``ConnectError``."""
    return any(isinstance(linked, ssl.SSLCertVerificationError) for linked in exception_chain(error))


def describe_retry(spec: RequestSpec, attempt: int, delay: float, error: SpeakerAudioError) -> str:
    """The INFO log line for a retry (never includes the key)."""
    if isinstance(error, APIStatusError):
        reason = f"{error.status_code} {error.response.reason_phrase}"
    else:
        reason = f"{type(error).__name__}: {error}"
    return f"Retrying {spec.method} {spec.path} (attempt {attempt + 1}) in {delay:.2f}s after {reason}"

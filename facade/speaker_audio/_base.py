"""Configuration shared by the sync and async clients (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx

from speaker_audio import _deadline, _http_errors, _operations, _retry, _settings
from speaker_audio._body import BodySink, JsonSink
from speaker_audio._requests import RequestSpec

T = TypeVar("T")

__all__ = ["ClientSettings"]


class ClientSettings:
    """Resolved settings of a client: key, base URL, timeout, retry policy, size limits."""

    def __init__(
        self,
        api_key: _settings.Secret | None,
        *,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_response_bytes: int,
        max_json_bytes: int = _settings.DEFAULT_MAX_JSON_BYTES,
        total_timeout: float | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        for name, limit in (("max_response_bytes", max_response_bytes), ("max_json_bytes", max_json_bytes)):
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(f"{name} must be an int >= 1, got {limit!r}")
        self._api_key = _settings.resolve_api_key(api_key)
        self.base_url: str = _settings.resolve_base_url(base_url)
        """The API's base URL, without a trailing slash (e.g. ``https://api.elevenlabs.io``)."""
        _settings.check_key_transport(self.base_url, self._api_key, allow_insecure_http=allow_insecure_http)
        self._origin = _http_errors.origin_of(self.base_url)
        self.total_timeout: float | None = _deadline.check_total_timeout(total_timeout)
        """Bound in seconds on one whole public call, retries and their waits included (``None``: none)."""
        self.timeout: httpx.Timeout = _settings.resolve_timeout(timeout)
        """The ``httpx.Timeout`` of every request: for connecting and for each read and write."""
        self.retry_policy: _retry.RetryPolicy = _retry.RetryPolicy(max_retries=max_retries)
        """When and how long to wait before retrying a failed request (see the README's "Errors and retries")."""
        self.max_response_bytes: int = max_response_bytes
        """A response body larger than this raises ``ResponseTooLargeError``."""
        self.max_json_bytes: int = max_json_bytes
        """A JSON (status, start) response body larger than this raises ``ResponseTooLargeError``."""
        _operations.preload()

    @property
    def max_retries(self) -> int:
        """Retries after the first try."""
        return self.retry_policy.max_retries

    def __repr__(self) -> str:
        # also for a client whose construction failed (tracebacks with locals show it)
        key = "set" if getattr(self, "_api_key", None) is not None else "none"
        policy = getattr(self, "retry_policy", None)
        retries = policy.max_retries if policy is not None else None
        return (
            f"{type(self).__name__}(base_url={getattr(self, 'base_url', None)!r}, api_key={key}, max_retries={retries})"
        )

    def _direct_mounts(self) -> dict[str, None]:
        """httpx ``mounts`` for our own pool: a plain-http loopback base URL never goes through an environment proxy.

        (httpx applies ``HTTP_PROXY``/``ALL_PROXY`` to loopback hosts too, which would carry the key in clear to
        the proxy.)
        """
        url = httpx.URL(self.base_url)
        if url.scheme == "http" and _settings.is_loopback_host(url.host):
            # by host alone: a pattern with the default port written out ("…:80") never matches a URL without one
            host = f"[{url.host}]" if ":" in url.host else url.host
            return {f"all://{host}": None}
        return {}

    def _call_deadline(self, spec: RequestSpec, now: float) -> _deadline.Deadline | None:
        return _deadline.Deadline.total(self.total_timeout, now, f"{spec.method} {self._origin}{spec.path}")

    def _json_sink(self, parse: Callable[[object], T], spec: RequestSpec) -> Callable[[], BodySink[T]]:
        return lambda: JsonSink(parse, f"{spec.operation} response", self.max_json_bytes)

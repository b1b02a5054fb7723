"""Configuration shared by the sync and async clients (no I/O)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx

from speaker_audio import _requests, _retry, _settings
from speaker_audio._body import BodySink, JsonSink

T = TypeVar("T")

__all__ = ["ClientSettings"]


class ClientSettings:
    """Resolved settings of a client: key, base URL, timeout, retry policy, size limit."""

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_response_bytes: int,
    ) -> None:
        if isinstance(max_response_bytes, bool) or not isinstance(max_response_bytes, int) or max_response_bytes < 1:
            raise ValueError(f"max_response_bytes must be an int >= 1, got {max_response_bytes!r}")
        self._api_key = _settings.resolve_api_key(api_key)
        self.base_url: str = _settings.resolve_base_url(base_url)
        """The API's base URL, without a trailing slash (e.g. ``https://api.elevenlabs.io``)."""
        self.timeout: httpx.Timeout = _settings.resolve_timeout(timeout)
        """The ``httpx.Timeout`` of every request: for connecting and for each read and write."""
        self.retry_policy: _retry.RetryPolicy = _retry.RetryPolicy(max_retries=max_retries)
        """When and how long to wait before retrying a failed request (see the README's "Errors and retries")."""
        self.max_response_bytes: int = max_response_bytes
        """A response body larger than this raises ``ResponseTooLargeError``."""
        _requests.preload()

    @property
    def max_retries(self) -> int:
        """Retries after the first try."""
        return self.retry_policy.max_retries

    def __repr__(self) -> str:
        key = "set" if self._api_key is not None else "none"
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key}, max_retries={self.max_retries})"

    def _json_sink(self, parse: Callable[[object], T], spec: _requests.RequestSpec) -> Callable[[], BodySink[T]]:
        return lambda: JsonSink(parse, f"{spec.operation} response", self.max_response_bytes)

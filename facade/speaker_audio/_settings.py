"""Client settings resolved from arguments and the environment: key, base URL, timeout (no I/O)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "REGION_BASE_URLS",
    "Secret",
    "resolve_api_key",
    "resolve_base_url",
    "resolve_timeout",
]

API_KEY_ENV = "ELEVENLABS_API_KEY"
BASE_URL_ENV = "ELEVENLABS_BASE_URL"
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

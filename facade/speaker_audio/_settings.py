"""Client settings resolved from arguments and the environment: key, base URL, timeout (no I/O)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import httpx

REDACTED = "[redacted]"
"""What stands for the key in a request once it was sent."""

API_KEY_ENV = "ELEVENLABS_API_KEY"
"""The environment variable that a client reads its API key from when ``api_key`` is not given."""
BASE_URL_ENV = "ELEVENLABS_BASE_URL"
"""The environment variable that a client reads its server from when ``base_url`` is not given."""
DEFAULT_BASE_URL = "https://api.elevenlabs.io"
"""The server of a client given neither ``base_url`` nor :data:`BASE_URL_ENV`."""
REGION_BASE_URLS: Mapping[str, str] = MappingProxyType(
    {
        "us": "https://api.us.elevenlabs.io",
        "eu": "https://api.eu.residency.elevenlabs.io",
        "in": "https://api.in.residency.elevenlabs.io",
        "sg": "https://api.sg.residency.elevenlabs.io",
    }
)
"""ElevenLabs' servers by region (data residency), for ``base_url``: e.g. ``REGION_BASE_URLS["eu"]``."""
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RESPONSE_BYTES = 1 << 30
DEFAULT_MAX_JSON_BYTES = 16 << 20
MAX_BASE_URL_LENGTH = 2048
"""The longest ``base_url`` accepted, in characters (with the longest ids, URLs stay far below httpx's 65,536)."""

_USER_INFO = re.compile(r"(?<=//).*@", re.DOTALL)  # from "//" to the last "@": wherever a parser may end user info


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


def conceal(api_key: str | Secret | None) -> Secret | None:
    """``api_key`` in a :class:`Secret`, done first thing so that no frame's locals keep the key in clear."""
    if api_key is None or isinstance(api_key, Secret):
        return api_key
    if not isinstance(api_key, str):
        raise TypeError(f"api_key must be a str or None, got {type(api_key).__name__}")
    return Secret(api_key)


def _key_problem(key: Secret, source: str) -> ValueError | None:
    # never echo the key (nor a URL passed in its place): say only what is wrong with it
    from speaker_audio.errors import _with_hint

    value = key.reveal()
    if value[:8].lower().startswith(("http://", "https://")):
        return _with_hint(ValueError(f"{source} looks like a URL, not an API key"), "base_url")
    if value != value.strip() or not all("!" <= ch <= "~" for ch in value):
        return ValueError(
            f"the API key ({source}) must be printable ASCII without spaces or line breaks "
            "(check for pasted whitespace)"
        )
    return None


def resolve_api_key(api_key: str | Secret | None) -> Secret | None:
    """The explicit key, else ``ELEVENLABS_API_KEY``; ``None`` (no header sent) when neither is set.

    Raises ``ValueError`` for a key with spaces or control characters, or one that looks like a URL (with
    ``hint`` ``"base_url"``).
    """
    source = "api_key" if api_key is not None else API_KEY_ENV
    key = conceal(api_key if api_key is not None else os.environ.get(API_KEY_ENV))
    if key is None or not key.reveal():
        return None
    problem = _key_problem(key, source)
    if problem is not None:
        raise problem
    return key


def resolve_base_url(base_url: str | None) -> str:
    """The explicit base URL, else ``ELEVENLABS_BASE_URL``, else production; without a trailing slash.

    Raises:
        InvalidBaseUrlError: not an ``http(s)`` URL, with a query, fragment or user info (``user:password@``),
            or longer than :data:`MAX_BASE_URL_LENGTH`. Neither the message nor this frame's locals hold the
            user info.
    """
    from speaker_audio.errors import InvalidBaseUrlError

    value = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    problem = _base_url_problem(value)
    if problem is not None:
        del base_url, value  # a traceback with locals (an error reporter) must not show a password either
        raise InvalidBaseUrlError(problem)
    return value.rstrip("/")


def _base_url_problem(value: str) -> str | None:
    """What is wrong with ``value`` as a base URL (a message without its user info), else ``None``."""
    shown = _USER_INFO.sub("***@", value, count=1)
    if len(value) > MAX_BASE_URL_LENGTH:
        return f"base_url is too long: {len(value)} characters, at most {MAX_BASE_URL_LENGTH}"
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        return f"base_url is not a valid URL: {shown!r}"
    if url.userinfo:
        return (
            f"base_url must not hold a user name or password (user:password@), got {shown!r}: the API key is the "
            "only credential speaker-audio sends (for a proxy that wants credentials, pass an http_client)"
        )
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        return f"base_url must be an http(s) URL without query or fragment, got {shown!r}"
    return None


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``, else ``ValueError`` naming the setting."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def resolve_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """An ``httpx.Timeout`` from a number of seconds or an ``httpx.Timeout``."""
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is ``localhost``, an address in 127.0.0.0/8, or ``::1``."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_key_transport(base_url: str, api_key: Secret | None, *, allow_insecure_http: bool) -> None:
    """Refuse to send a key over plain ``http://`` to any host but loopback, unless ``allow_insecure_http``.

    Raises ``InsecureTransportError`` (a ``ValueError``); the message names the host, never the key.
    """
    from speaker_audio.errors import InsecureTransportError, _with_hint

    url = httpx.URL(base_url)
    if api_key is None or url.scheme != "http" or allow_insecure_http or is_loopback_host(url.host):
        return
    raise _with_hint(
        InsecureTransportError(
            f"refusing to send the API key in clear over plain http:// to {url.host!r} (not a loopback host)"
        ),
        "allow_insecure_http",
    )

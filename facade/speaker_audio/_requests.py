"""What a request is (sans-I/O): the id rule, the key's ``auth``, and the spec of one request.

The generated ``_get_kwargs`` functions give the method, the percent-encoded path and the headers of
each operation (``_operations`` calls them), so URLs and parameter names come from the pinned spec.
They are private to openapi-python-client, which is why the generator's version is pinned exactly.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping
from typing import Any, NamedTuple

import httpx

from speaker_audio._ids import MAX_ID_BYTES, check_id_length
from speaker_audio._settings import REDACTED, Secret
from speaker_audio.errors import InvalidIdError

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (category Cc): C0, DEL and C1
_PLAIN_ID_MAX = MAX_ID_BYTES // 3  # printable ASCII ids this long or shorter pass every rule below
_DOT_SEGMENTS = ("", ".", "..")


def validate_id(name: str, value: object) -> str:
    """Return ``value`` if it can be sent as exactly one path segment, else raise ``InvalidIdError``.

    Refused: non-strings, empty ids, ``.`` and ``..`` (httpx would collapse them and change the
    endpoint), and ids with control characters.
    """
    plain = type(value) is str and len(value) <= _PLAIN_ID_MAX and value.isascii() and value.isprintable()
    if plain and value not in _DOT_SEGMENTS:  # not empty, no dot segment or control, at most 3 bytes a character
        return value  # type: ignore[return-value]
    return _validate_any_id(name, value)


def _validate_any_id(name: str, value: object) -> str:
    """:func:`validate_id` for every value (that function's first line lets the usual ids through at once)."""
    if not isinstance(value, str):
        raise InvalidIdError(f"{name} must be a str, got {type(value).__name__}")
    if value == "":
        raise InvalidIdError(f"{name} must not be empty")
    if value in (".", ".."):
        raise InvalidIdError(f"{name} must not be {value!r}: it would change the request path")
    if _CONTROL.search(value):
        raise InvalidIdError(f"{name} must not contain control characters: {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidIdError(f"{name} is not valid Unicode text (lone surrogate): {value!r}") from None
    return check_id_length(name, value)


class KeyAuth(httpx.Auth):
    """Writes the API key header into a request as it is sent, and redacts it once the response has arrived.

    Until then the key stays in a :class:`Secret`, so no request object, header list or spec holds it in
    clear before the request goes out, nor after. (The transport's own copy of the sent headers, which the
    response holds, is the clients' to clear as soon as the response head has arrived: :func:`forget_sent_key`.)
    """

    def __init__(self, header: str, key: Secret) -> None:
        self.header = header
        self._key = key

    def __repr__(self) -> str:
        return f"KeyAuth(header={self.header!r}, key={self._key!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self._key.reveal()
        try:
            yield request
        finally:  # also when sending failed: httpx closes the flow
            request.headers[self.header] = REDACTED


class RequestSpec(NamedTuple):
    """What to send for one operation: method, path (percent-encoded), headers and the key's ``auth``.

    ``headers`` never holds the key: ``auth`` (a :class:`KeyAuth`, ``None`` without a key) writes it
    when the request is sent.
    """

    operation: str
    method: str
    path: str
    headers: Mapping[str, str]
    idempotent: bool
    auth: KeyAuth | None = None
    ids: Mapping[str, str] = {}  # the path's ids, as the call named them (never mutated)

    def __repr__(self) -> str:
        return (
            f"RequestSpec(operation={self.operation!r}, method={self.method!r}, path={self.path!r}, "
            f"idempotent={self.idempotent!r})"
        )


def spec_from_kwargs(
    operation: str, kwargs: dict[str, Any], key_probe: str, api_key: Secret | None, ids: Mapping[str, str]
) -> RequestSpec:
    """The ``RequestSpec`` of what a generated ``_get_kwargs`` returned; ``key_probe`` marks the key header's value."""
    method = str(kwargs["method"]).upper()
    path = str(kwargs["url"])
    params = kwargs.get("params")
    if params:  # encoded as httpx encodes them (booleans as "true"/"false"), names as the generated code gives them
        path = f"{path}?{httpx.QueryParams(params)}"
    headers, auth = {}, None
    for name, value in kwargs.get("headers", {}).items():
        if value != key_probe:
            headers[name] = value
        elif api_key is not None:
            auth = KeyAuth(name, api_key)
    return RequestSpec(operation, method, path, headers, method in ("GET", "HEAD", "OPTIONS"), auth, ids)

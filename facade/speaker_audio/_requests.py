"""Requests, built through the generated client's operation modules (sans-I/O).

The generated ``_get_kwargs`` functions give the method, the percent-encoded path and the
headers of each operation, so URLs and parameter names come from the pinned spec. They are
private to openapi-python-client, which is why the generator's version is pinned exactly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from speaker_audio._settings import Secret
from speaker_audio.errors import InvalidIdError

if TYPE_CHECKING:
    from speaker_audio_api.types import Unset

__all__ = [
    "REDACTED",
    "KeyAuth",
    "RequestSpec",
    "build_get_sample_audio",
    "build_get_separation_status",
    "build_get_speaker_audio",
    "build_start_speaker_separation",
    "preload",
    "validate_id",
]

REDACTED = "[redacted]"


def preload() -> None:
    """Import and compile what requests and results need, once, when a client is built.

    Kept out of ``import speaker_audio`` (fast import); done here so the first call pays nothing.
    """
    import importlib

    from speaker_audio._responses import preload_validators

    for module in _PRELOADED_MODULES:
        importlib.import_module(module)
    preload_validators()


_PRELOADED_MODULES = (
    "speaker_audio_api.api.pvc_voices.get_speaker_audio",
    "speaker_audio_api.api.pvc_voices.get_separation_status",
    "speaker_audio_api.api.pvc_voices.start_speaker_separation",
    "speaker_audio_api.api.pvc_voices.get_sample_audio",
    "speaker_audio_api.models",
)


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


class KeyAuth(httpx.Auth):
    """Writes the API key header into a request as it is sent, and redacts it once the response has arrived.

    Until then the key stays in a :class:`Secret`, so no request object, header list or spec holds it in
    clear before the request goes out, nor after.
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

    def __repr__(self) -> str:
        return (
            f"RequestSpec(operation={self.operation!r}, method={self.method!r}, path={self.path!r}, "
            f"idempotent={self.idempotent!r})"
        )


# Passed to the generated ``_get_kwargs`` in place of the key, to learn which header carries it
# (the spec owns the header's name) without the key ever entering a plain dict.
_KEY_PROBE = "speaker-audio key placeholder"


def _spec_from_kwargs(operation: str, kwargs: dict[str, Any], api_key: Secret | None = None) -> RequestSpec:
    method = str(kwargs["method"]).upper()
    path = str(kwargs["url"])
    params = kwargs.get("params")
    if params:  # encoded as httpx encodes them (booleans as "true"/"false"), names as the generated code gives them
        path = f"{path}?{httpx.QueryParams(params)}"
    headers = dict(kwargs.get("headers", {}))
    auth = None
    for name, value in list(headers.items()):
        if value == _KEY_PROBE:
            del headers[name]
            auth = KeyAuth(name, api_key) if api_key is not None else None
    return RequestSpec(
        operation=operation,
        method=method,
        path=path,
        headers=headers,
        idempotent=method in ("GET", "HEAD", "OPTIONS"),
        auth=auth,
    )


def _key_arg(api_key: Secret | None) -> str | Unset:
    from speaker_audio_api.types import UNSET

    return _KEY_PROBE if api_key is not None else UNSET


def build_get_speaker_audio(voice_id: str, sample_id: str, speaker_id: str, api_key: Secret | None) -> RequestSpec:
    """Request for GET …/speakers/{speaker_id}/audio."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    speaker = validate_id("speaker_id", speaker_id)
    from speaker_audio_api.api.pvc_voices import get_speaker_audio as operation  # on first use: fast import

    kwargs = operation._get_kwargs(*ids, speaker, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("get_speaker_audio", kwargs, api_key)


def build_get_separation_status(voice_id: str, sample_id: str, api_key: Secret | None) -> RequestSpec:
    """Request for GET …/samples/{sample_id}/speakers."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    from speaker_audio_api.api.pvc_voices import get_separation_status as operation

    kwargs = operation._get_kwargs(*ids, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("get_separation_status", kwargs, api_key)


def build_start_speaker_separation(voice_id: str, sample_id: str, api_key: Secret | None) -> RequestSpec:
    """Request for POST …/samples/{sample_id}/separate-speakers."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    from speaker_audio_api.api.pvc_voices import start_speaker_separation as operation

    kwargs = operation._get_kwargs(*ids, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("start_speaker_separation", kwargs, api_key)


def build_get_sample_audio(
    voice_id: str, sample_id: str, api_key: Secret | None, *, remove_background_noise: bool = False
) -> RequestSpec:
    """Request for GET …/samples/{sample_id}/audio (the sample's own audio)."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    if not isinstance(remove_background_noise, bool):
        raise TypeError(f"remove_background_noise must be a bool, got {type(remove_background_noise).__name__}")
    from speaker_audio_api.api.pvc_voices import get_sample_audio as operation

    kwargs = operation._get_kwargs(*ids, remove_background_noise=remove_background_noise, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("get_sample_audio", kwargs, api_key)

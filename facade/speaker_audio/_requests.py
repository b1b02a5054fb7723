"""Requests, built through the generated client's operation modules (sans-I/O).

The generated ``_get_kwargs`` functions give the method, the percent-encoded path and the
headers of each operation, so URLs and parameter names come from the pinned spec. They are
private to openapi-python-client, which is why the generator's version is pinned exactly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from speaker_audio._settings import Secret
from speaker_audio.errors import InvalidIdError

if TYPE_CHECKING:
    from speaker_audio_api.types import Unset

__all__ = [
    "API_KEY_HEADER",
    "REDACTED",
    "RequestSpec",
    "build_get_sample_audio",
    "build_get_separation_status",
    "build_get_speaker_audio",
    "build_start_speaker_separation",
    "preload",
    "redact_request",
    "validate_id",
]

API_KEY_HEADER = "xi-api-key"
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
    path = str(kwargs["url"])
    params = kwargs.get("params")
    if params:  # encoded as httpx encodes them (booleans as "true"/"false"), names as the generated code gives them
        path = f"{path}?{httpx.QueryParams(params)}"
    return RequestSpec(
        operation=operation,
        method=method,
        path=path,
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


def build_get_sample_audio(
    voice_id: str, sample_id: str, api_key: Secret | None, *, remove_background_noise: bool = False
) -> RequestSpec:
    """Request for GET …/samples/{sample_id}/audio (the sample's own audio)."""
    ids = (validate_id("voice_id", voice_id), validate_id("sample_id", sample_id))
    if not isinstance(remove_background_noise, bool):
        raise TypeError(f"remove_background_noise must be a bool, got {type(remove_background_noise).__name__}")
    from speaker_audio_api.api.pvc_voices import get_sample_audio as operation

    kwargs = operation._get_kwargs(*ids, remove_background_noise=remove_background_noise, xi_api_key=_key_arg(api_key))
    return _spec_from_kwargs("get_sample_audio", kwargs)


def redact_request(request: httpx.Request) -> None:
    """Replace the API key header of ``request`` (already sent) so no exposed object carries it."""
    if API_KEY_HEADER in request.headers:
        request.headers[API_KEY_HEADER] = REDACTED

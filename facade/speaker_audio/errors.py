"""The speaker-audio error tree: every failure a user can meet derives from :class:`SpeakerAudioError`.

No message, ``repr`` or attribute of these errors carries the API key (a response's request has it redacted).

Hints. An error that a setting or a step would have avoided carries ``hint``, a short stable code for that remedy,
so that a program can show its own advice without parsing messages. ``error.args[0]`` says what happened;
``str(error)`` adds the advice for Python callers. The codes:

- ``"start_separation"``: the separation was never started; start it first (``SeparationNotStartedError``).
- ``"wait_for_separation"``: the separation has not completed; start it and wait for it
  (``SeparationNotCompletedError``, and the 400 that downloading a speaker of such a separation gets).
- ``"set_api_key"``: the server refused the request for its key (401), or no key was sent (the message says so).
- ``"allow_insecure_http"``: the key would go over plain ``http://`` to a host that is not loopback.
- ``"total_timeout"``: the call's ``total_timeout`` ran out (``APITimeoutError``).
- ``"overwrite"``: the destination file exists (a ``FileExistsError``).
- ``"base_url"``: a URL was given as the API key (a ``ValueError``).

The last two are Python's own error classes: their instances carry ``hint`` too (``getattr(error, "hint", None)``)
and the advice as a note (PEP 678).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AudioDecodeError",
    "AuthenticationError",
    "ForkedClientError",
    "InsecureTransportError",
    "InternalServerError",
    "InvalidBaseUrlError",
    "InvalidIdError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "SeparationFailedError",
    "SeparationNotCompletedError",
    "SeparationNotStartedError",
    "SeparationTimeoutError",
    "SpeakerAudioError",
    "SpeakerDownloadError",
    "UnprocessableEntityError",
    "SpecDriftError",
    "UnsupportedSchemaError",
    "ValidationErrorDetail",
]


# By hint code: str() of an error with that hint ({message}: error.args[0]), and the note on Python's own classes.
_PYTHON_WORDING: Mapping[str, str] = {
    "start_separation": (
        "{message}: call start_speaker_separation(voice_id, sample_id) first, or pass start=True to wait_for_separation"
    ),
    "wait_for_separation": "{message}: start it and wait for it (start_speaker_separation, wait_for_separation)",
    "set_api_key": "{message} (set ELEVENLABS_API_KEY or pass api_key=… to the client)",
    "allow_insecure_http": (
        "{message}; use an https:// base_url, or pass allow_insecure_http=True if you accept that anyone on the "
        "path (or an HTTP_PROXY from the environment) can read the key"
    ),
    "total_timeout": "total_timeout of {message}",
}
_PYTHON_NOTES: Mapping[str, str] = {
    "overwrite": "pass overwrite=True to replace it",
    "base_url": "did you mean base_url=…? (the first positional argument of the client is the API key)",
}

_E = TypeVar("_E", bound=Exception)


def _with_hint(error: _E, hint: str) -> _E:
    """``error`` with ``hint`` set; on one of Python's own classes the Python advice becomes a note."""
    setattr(error, "hint", hint)  # noqa: B010 (Python's own classes have no such attribute)
    if not isinstance(error, SpeakerAudioError):  # its str() cannot add the advice
        error.add_note(_PYTHON_NOTES[hint])
    return error


class SpeakerAudioError(Exception):
    """Base class of every error raised by speaker-audio.

    Attributes:
        hint: ``None``, or a short stable code for what would avoid the error, one of those listed in
            :mod:`speaker_audio.errors` (e.g. ``"set_api_key"``); ``str()`` then ends with the advice.
    """

    hint: str | None = None

    def __str__(self) -> str:
        message = super().__str__()
        wording = _PYTHON_WORDING.get(self.hint) if self.hint is not None else None
        return message if wording is None else wording.format(message=message)

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only __init__ arguments would break the default pickling (multiprocessing users)
        return (_restore_error, (type(self), self.args, self.__dict__))


def _restore_error(cls: type[SpeakerAudioError], args: tuple[Any, ...], state: dict[str, Any]) -> SpeakerAudioError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InvalidIdError(SpeakerAudioError, ValueError):
    """An id that is not one URL path segment: empty, ``.``, ``..``, control characters, over 1,024 bytes encoded."""


class InvalidBaseUrlError(SpeakerAudioError, ValueError):
    """A ``base_url`` (or ``ELEVENLABS_BASE_URL``) that is not an ``http(s)`` URL without query, fragment and user
    info, of at most 2,048 characters; raised when the client is built. The message never shows the user info."""


class InsecureTransportError(SpeakerAudioError, ValueError):
    """Raised when a client is built to send the API key over plain ``http://`` to a host that is not loopback."""


class ForkedClientError(SpeakerAudioError, RuntimeError):
    """A client built with your own ``http_client`` was used in a process forked from the one that built it.

    Parent and child would share that client's connections, so responses could cross: the call is refused before
    any I/O. Build the ``http_client`` and the client in the child (a client's own pool is remade there by itself).
    """


class APIConnectionError(SpeakerAudioError):
    """The server could not be reached, or the connection broke before a full response arrived."""


class APITimeoutError(APIConnectionError):
    """Connecting, sending or receiving took longer than the configured timeout."""


class ValidationErrorDetail(NamedTuple):
    """One item of a 422 body's ``detail`` list.

    Attributes:
        loc: where the server found the problem, e.g. ``("path", "voice_id")``.
        msg: the server's description of the problem.
        type: the kind of problem, e.g. ``"value_error"``.
    """

    loc: tuple[str | int, ...]
    msg: str
    type: str


class APIStatusError(SpeakerAudioError):
    """The server answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        body: the parsed JSON body, or the raw text when the body is not JSON (``None`` when empty).
        request_id: the ``request-id`` / ``x-request-id`` response header, if any.
        response: the ``httpx.Response`` (its request's key header is redacted).
    """

    status_code: int
    body: Any
    request_id: str | None
    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response, body: Any, request_id: str | None = None) -> None:
        super().__init__(message)
        self.status_code = response.status_code
        self.body = body
        self.request_id = request_id
        self.response = response


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404: no such voice, sample or speaker."""


class UnprocessableEntityError(APIStatusError):
    """422: the server rejected the request's parameters.

    Attributes:
        errors: the items of the body's ``detail`` list (empty when it has none or is not a list).
    """

    errors: list[ValidationErrorDetail]

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
        request_id: str | None = None,
        errors: list[ValidationErrorDetail] | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body, request_id=request_id)
        self.errors = errors or []


class RateLimitError(APIStatusError):
    """429: too many requests.

    Attributes:
        retry_after: the wait the server asked for (``Retry-After``/``retry-after-ms``) in seconds, else ``None``.
    """

    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body, request_id=request_id)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class ResponseValidationError(SpeakerAudioError):
    """A 2xx response whose body is not the JSON shape the API promises."""


class SpecDriftError(ResponseValidationError):
    """A value the pinned spec does not list, where a generated model is needed (``SeparationStatus.model``).

    With ``strict=False`` the result's own fields (``SeparationStatus.status``) accept it; only the model cannot.
    """


class UnsupportedSchemaError(SpeakerAudioError):
    """The pinned spec gives an operation a response schema that speaker-audio cannot enforce.

    Raised by each call of that operation only (the message says why); the others keep working.
    """


class AudioDecodeError(ResponseValidationError):
    """``audio_base_64`` is not valid standard base64."""


class ResponseTooLargeError(ResponseValidationError):
    """The response body exceeded the client's ``max_response_bytes`` (or, for JSON, ``max_json_bytes``) limit."""


class SeparationFailedError(SpeakerAudioError):
    """Speaker separation finished with status ``failed``."""


class SeparationTimeoutError(SpeakerAudioError):
    """Speaker separation did not complete within the allowed time."""


class SeparationNotCompletedError(SpeakerAudioError):
    """Speaker separation has not completed yet (``status`` is ``"not_started"`` or ``"pending"``).

    Attributes:
        status: the separation's status when it was checked.
    """

    status: str

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


class SeparationNotStartedError(SeparationNotCompletedError):
    """``wait_for_separation`` found separation ``not_started`` at its first poll (and was not asked to start it)."""


class SpeakerDownloadError(SpeakerAudioError):
    """One speaker of ``download_all_speakers`` could not be downloaded; the reason is ``__cause__``.

    Attributes:
        speaker_id: the speaker that failed.
        completed: ``{speaker_id: path}`` of the files written before the run stopped; they stay on disk.
        not_downloaded: every speaker id without a file: the failed one and any not attempted.
    """

    speaker_id: str
    completed: dict[str, Path]
    not_downloaded: list[str]

    def __init__(
        self, message: str, *, speaker_id: str, completed: Mapping[str, Path], not_downloaded: Sequence[str]
    ) -> None:
        super().__init__(message)
        self.speaker_id = speaker_id
        self.completed = dict(completed)
        self.not_downloaded = list(not_downloaded)

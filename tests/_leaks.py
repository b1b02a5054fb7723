"""Where an error reporter could find the API key: every view of a raised error that a tool might take."""

from __future__ import annotations

import json
import pickle
import traceback
from pathlib import Path
from typing import Any

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from speaker_audio import APIStatusError


class MemoryTransport(Transport):
    """A sentry-sdk transport that keeps the envelopes in memory instead of sending them."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)


def sentry_event_text(error: BaseException) -> str:
    """The JSON of the event that sentry-sdk (defaults: local variables captured) would send for ``error``.

    Integrations are left out only so that this test does not patch httpx for the rest of the run; the
    serialisation of frames, locals and chained exceptions is the SDK's own, at its defaults.
    """
    transport = MemoryTransport()
    client = sentry_sdk.Client(
        dsn="https://public@sentry.invalid/1",
        transport=transport,
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    assert client.options["include_local_variables"] is True  # the default we guard against
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        scope.capture_exception(error)
    client.close()
    payloads = [item.payload.json for envelope in transport.envelopes for item in envelope.items]
    events = [p for p in payloads if isinstance(p, dict) and "exception" in p]
    assert events, "sentry-sdk captured no event"
    return json.dumps(events, default=repr)


def _pickled(value: Any) -> bytes:
    try:
        return pickle.dumps(value)
    except Exception as exc:  # an unpicklable part is no leak; say which
        return repr(exc).encode()


_TESTS = str(Path(__file__).parent)


def _without_test_frames(error: BaseException) -> None:
    # The outermost frames are the test's own (the caller's: its locals are its business, and a test's
    # helpers hold the key in their arguments); from the first frame of library code on, everything counts.
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_TESTS):
        tb = tb.tb_next
    error.__traceback__ = tb


def error_views(error: BaseException) -> dict[str, bytes | str]:
    """Each view of ``error`` that might reach a log, a report or another process (from the library's frames on)."""
    _without_test_frames(error)
    views: dict[str, bytes | str] = {
        "sentry event": sentry_event_text(error),
        "traceback with locals": "".join(
            traceback.TracebackException(type(error), error, error.__traceback__, capture_locals=True).format()
        ),
        "repr": repr(error),
        "str": str(error),
        "pickle": _pickled(error),
    }
    if isinstance(error, APIStatusError):
        views["response repr"] = repr(error.response) + repr(error.response.headers)
        views["request repr"] = repr(error.response.request) + repr(error.response.request.headers)
        views["response pickle"] = _pickled(error.response)
        views["request pickle"] = _pickled(error.response.request)
    return views


def views_holding(key: str, error: BaseException) -> list[str]:
    """The names of the views of ``error`` in which ``key`` appears."""
    return [
        name
        for name, text in error_views(error).items()
        if (key.encode() in text if isinstance(text, bytes) else key in text)
    ]

"""A server ahead of the pin: additive drift is accepted and reported once (strict=False), refused with strict=True;
everything else stays strict. Against a loopback server that speaks a newer spec."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from _spec import load_spec

from speaker_audio import (
    AsyncSpeakerAudioClient,
    ResponseValidationError,
    SpeakerAudioClient,
    SpecDrift,
    SpecDriftError,
)

STATUS_SCHEMA = load_spec()["components"]["schemas"]["SpeakerSeparationResponseModel"]
PINNED_STATUSES: list[str] = STATUS_SCHEMA["properties"]["status"]["enum"]
NEW_STATUS = next(f"queued{n or ''}" for n in range(100) if f"queued{n or ''}" not in PINNED_STATUSES)
NEW_MEMBER = next(
    f"created_at_unix{n or ''}" for n in range(100) if f"created_at_unix{n or ''}" not in STATUS_SCHEMA["properties"]
)


class NewerServer:
    """Answers the status poll with the bodies given, in order (the last one repeats)."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self.bodies = bodies
        self.polls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = outer.bodies[min(outer.polls, len(outer.bodies) - 1)]
                outer.polls += 1
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def status_body(status: str, **extra: Any) -> dict[str, Any]:
    return {"voice_id": "v", "sample_id": "s", "status": status, **extra}


@pytest.fixture
def newer() -> Iterator[NewerServer]:
    server = NewerServer([status_body(NEW_STATUS), status_body(NEW_STATUS), status_body("completed")])
    yield server
    server.close()


def run(kind: str, server: NewerServer, method: str, *args: Any, settings: Any = None, **kwargs: Any) -> Any:
    options = {"base_url": server.base_url, **(settings or {})}
    if kind == "sync":
        with SpeakerAudioClient(**options) as client:
            return getattr(client, method)(*args, **kwargs)

    async def go() -> Any:
        async with AsyncSpeakerAudioClient(**options) as client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_waiting_polls_through_an_unknown_status_and_reports_it_once(
    kind: str, newer: NewerServer, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[SpecDrift] = []
    with caplog.at_level(logging.WARNING, logger="speaker_audio"):
        status = run(
            kind, newer, "wait_for_separation", "v", "s", poll_interval=0.01, settings={"on_drift": seen.append}
        )
    assert status.status == "completed"
    assert newer.polls == 3
    assert [(d.operation, d.pointer, d.kind) for d in seen] == [
        ("get_separation_status", "/status", "unknown_enum_value")
    ]
    assert repr(NEW_STATUS) in seen[0].detail
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "speaker_audio"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "get_separation_status" in message
    assert "/status" in message
    assert NEW_STATUS in message
    assert "make pin" in message


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_strict_refuses_the_first_poll(kind: str, newer: NewerServer) -> None:
    with pytest.raises(ResponseValidationError, match="/status"):
        run(kind, newer, "wait_for_separation", "v", "s", poll_interval=0.01, settings={"strict": True})
    assert newer.polls == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_status_shows_the_unknown_value_and_has_no_model(kind: str, newer: NewerServer) -> None:
    status = run(kind, newer, "get_separation_status", "v", "s")
    assert status.status == NEW_STATUS
    with pytest.raises(SpecDriftError, match=NEW_STATUS):  # the generated enum cannot hold it
        _ = status.model
    assert not status.is_completed


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_unknown_member_is_accepted_kept_and_reported(kind: str) -> None:
    server = NewerServer([status_body("pending", **{NEW_MEMBER: 123})])
    try:
        seen: list[SpecDrift] = []
        status = run(kind, server, "get_separation_status", "v", "s", settings={"on_drift": seen.append})
        assert status.model is not None
        assert status.model.additional_properties[NEW_MEMBER] == 123
        assert [(d.pointer, d.kind) for d in seen] == [(f"/{NEW_MEMBER}", "unknown_member")]
    finally:
        server.close()


@pytest.mark.parametrize("strict", [False, True])
def test_a_wrong_type_stays_an_error_naming_the_member(strict: bool) -> None:
    server = NewerServer([status_body("pending", voice_id=None)])
    try:
        with pytest.raises(ResponseValidationError, match="voice_id") as caught:
            run("sync", server, "get_separation_status", "v", "s", settings={"strict": strict})
        assert "pinned spec" in str(caught.value)
    finally:
        server.close()

"""A keep-alive connection whose response is followed by surplus bytes is closed: they never answer the next call.

A raw-socket loopback server writes, right behind each response (in the same send), a second complete response
with other audio. Reused, the connection would hand that one to the next request on it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Iterator

import pytest
from _clients import Kind
from _socket_server import SocketServer

from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient, SpeakerAudioError

CALLS = 8
IMPOSTOR = b"not the audio of the speaker that was asked for"


def audio_of(speaker_id: str) -> bytes:
    return f"audio of {speaker_id}".encode()


def response(status: int, payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def audio_response(audio: bytes) -> bytes:
    return response(200, {"audio_base_64": base64.b64encode(audio).decode(), "media_type": "audio/mpeg",
                          "duration_secs": 1.0})  # fmt: skip


class SurplusServer(SocketServer):
    """Answers each request on a connection with the asked speaker's audio, then (same send) an impostor's."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        buffer = b""
        with conn:
            while not self.stop.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1].decode()
                self.requests += 1
                if path.endswith("/audio"):
                    answer = audio_response(audio_of(path.rsplit("/", 2)[-2]))
                else:  # the status route: a 404 whose body is followed by the impostor too
                    answer = response(404, {"detail": "no such sample"})
                try:
                    conn.sendall(answer + audio_response(IMPOSTOR))
                except OSError:
                    return


@pytest.fixture
def server() -> Iterator[SurplusServer]:
    with SurplusServer() as surplus:
        yield surplus


def run_calls(kind: Kind, base_url: str) -> list[bytes | str]:
    """``CALLS`` calls on one client: audio of speaker-0, 1, ..., and every third a status read (a 404).

    Returns each call's audio, or the name of the error it raised.
    """
    plan = [None if n % 3 == 2 else f"speaker-{n}" for n in range(CALLS)]

    def outcome(error: Exception) -> str:
        return type(error).__name__

    if kind == "sync":
        results: list[bytes | str] = []
        with SpeakerAudioClient("test-key", base_url=base_url, max_retries=0) as client:
            for speaker_id in plan:
                try:
                    if speaker_id is None:
                        client.get_separation_status("voice", "sample")
                        results.append("no error")
                    else:
                        results.append(client.get_speaker_audio("voice", "sample", speaker_id).data)
                except SpeakerAudioError as error:
                    results.append(outcome(error))
        return results

    async def go() -> list[bytes | str]:
        results: list[bytes | str] = []
        async with AsyncSpeakerAudioClient("test-key", base_url=base_url, max_retries=0) as client:
            for speaker_id in plan:
                try:
                    if speaker_id is None:
                        await client.get_separation_status("voice", "sample")
                        results.append("no error")
                    else:
                        results.append((await client.get_speaker_audio("voice", "sample", speaker_id)).data)
                except SpeakerAudioError as error:
                    results.append(outcome(error))
        return results

    return asyncio.run(go())


def test_surplus_bytes_never_answer_the_next_call(kind: Kind, server: SurplusServer) -> None:
    results = run_calls(kind, server.base_url)
    expected: list[bytes | str] = ["NotFoundError" if n % 3 == 2 else audio_of(f"speaker-{n}") for n in range(CALLS)]
    assert results == expected  # reused, the connection gave the next call the impostor (or its 200)
    assert server.requests == CALLS
    assert server.connections == CALLS  # each connection was closed after its one response

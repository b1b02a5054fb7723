"""Deadlines bound the whole exchange, the response head included, in both clients and in the CLI.

httpx's read timeout starts again with every byte, so a server that sends its head one header line every 0.5 s,
or one ``100 Continue`` after another, held ``total_timeout`` and ``wait_for_separation(timeout=…)`` calls for as
long as it went on. A raw-socket loopback server does either here, for up to 30 s; each call must end within
its bound plus one second, with the deadline's error.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator

import pytest
from _clients import Kind, call, make_client
from _socket_server import SocketServer

from speaker_audio import APITimeoutError, SeparationTimeoutError
from speaker_audio.cli import _errors, main

DRIP_SECONDS = 0.5
SERVER_GIVES_UP = 30.0
MODES = {
    "a header line every 0.5 s": (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", b"X-Drip: %d\r\n"),
    "100 Continue every 0.5 s": (b"", b"HTTP/1.1 100 Continue\r\nX-Drip: %d\r\n\r\n"),
}


class HeadDripServer(SocketServer):
    """Reads a request, then sends ``first`` and one ``line`` every 0.5 s, never finishing the head."""

    def __init__(self, first: bytes, line: bytes) -> None:
        super().__init__()
        self.first, self.line = first, line

    def serve(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            started = time.monotonic()
            try:
                conn.sendall(self.first)
                number = 0
                while not self.stop.wait(DRIP_SECONDS) and time.monotonic() - started < SERVER_GIVES_UP:
                    number += 1
                    conn.sendall(self.line % number)
            except OSError:  # the client closed the connection
                return


@pytest.fixture(params=list(MODES))
def dripping(request: pytest.FixtureRequest) -> Iterator[HeadDripServer]:
    with HeadDripServer(*MODES[request.param]) as server:
        yield server


def test_total_timeout_bounds_a_dripping_head(kind: Kind, dripping: HeadDripServer) -> None:
    client = make_client(kind, api_key="test-key", base_url=dripping.base_url, timeout=30, total_timeout=2)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match=r"total_timeout of 2s ran out while waiting for the response head"):
        call(client, "get_speaker_audio", "voice", "sample", "speaker")
    assert time.monotonic() - started < 2 + 1  # main: 30 s, until the server gave up
    assert dripping.connections == 1  # no retry past the deadline


def test_wait_for_separation_timeout_bounds_a_dripping_head(kind: Kind, dripping: HeadDripServer) -> None:
    client = make_client(kind, api_key="test-key", base_url=dripping.base_url, timeout=30)
    started = time.monotonic()
    with pytest.raises(SeparationTimeoutError, match=r"within 1s \(time ran out while waiting for the response head"):
        call(client, "wait_for_separation", "voice", "sample", timeout=1)
    assert time.monotonic() - started < 1 + 1
    assert dripping.connections == 1


@pytest.mark.parametrize(
    ("args", "bound", "code", "message"),
    [
        (["--total-timeout", "2", "status", "v", "s"], 2, _errors.EXIT_NETWORK, "--total-timeout of 2s ran out"),
        (["wait", "v", "s", "--wait-timeout", "1"], 1, _errors.EXIT_API, "SeparationTimeoutError"),
    ],
    ids=["--total-timeout 2", "wait --wait-timeout 1"],
)
def test_the_cli_bounds_a_dripping_head(
    dripping: HeadDripServer, args: list[str], bound: float, code: int, message: str
) -> None:
    out, err = io.StringIO(), io.StringIO()
    started = time.monotonic()
    exit_code = main(["--base-url", dripping.base_url, *args], out=out, err=err)
    assert time.monotonic() - started < bound + 1
    assert exit_code == code, err.getvalue()
    assert message in err.getvalue()

"""``total_timeout`` bounds a whole call: a dripping body, each request cut to the time left, no retry wait past it.

Every server here listens on 127.0.0.1 and is started by the test. A server dripping its response head, and the
CLI's ``--total-timeout``, are in tests/client/test_deadlines_bound_the_head.py; ``wait_for_separation``'s timeout
in tests/client/test_wait_for_separation.py.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from _clients import FakeClock, Kind, call, make_client
from _leaks import views_holding
from _socket_server import SocketServer
from conftest import TEST_KEY

import speaker_audio
from speaker_audio import APITimeoutError
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids


class DrippingServer(SocketServer):
    """Answers every request with a 200 promising 100,000 bytes, then sends one byte every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval

    def serve(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            while not self.stop.wait(self.interval):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return


@pytest.fixture
def dripping() -> Iterator[DrippingServer]:
    with DrippingServer(interval=0.3) as server:
        yield server


def test_total_timeout_bounds_a_call_to_a_dripping_server(kind: Kind, dripping: DrippingServer) -> None:
    # each read returns within the 1 s read timeout, so only a deadline for the whole call can end it
    # (without one this call would last 100,000 x 0.3 s)
    client = make_client(kind, api_key=TEST_KEY, base_url=dripping.base_url, timeout=1.0, total_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="total_timeout of 1s ran out while receiving") as caught:
        call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
    assert time.monotonic() - started < 10
    assert dripping.connections == 1  # no retry started past the deadline
    assert dripping.base_url in str(caught.value)
    assert views_holding(TEST_KEY, caught.value) == []


def test_total_timeout_cuts_each_request_to_the_time_left(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        fake.script(Fault(path_contains="/audio", delay=30, times=9))
        client = make_client(kind, base_url=fake.base_url, timeout=60, total_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"total_timeout of 0\.5s"):
            call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        elapsed = time.monotonic() - started
        assert len(fake.requests_to("/audio")) == 1
    assert elapsed < 10  # the stall lasts 30 s, the read timeout 60 s


def test_no_retry_wait_overruns_total_timeout(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        fake.script(Fault(path_contains="/audio", status=503, headers={"Retry-After": "2"}, times=9))
        client = make_client(kind, base_url=fake.base_url, max_retries=5, total_timeout=5.0)
        clock.install(client)
        with pytest.raises(APITimeoutError, match=r"total_timeout of 5s ran out before retrying") as caught:
            call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        assert len(fake.requests_to("/audio")) == 3  # at 0, 2 and 4 s; the next wait would end at 6 s
    assert clock.sleeps == [2.0, 2.0]
    assert isinstance(caught.value.__cause__, speaker_audio.InternalServerError)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "5", True])
def test_total_timeout_must_be_a_positive_number(kind: Kind, bad: object) -> None:
    with pytest.raises(ValueError, match="total_timeout"):
        make_client(kind, total_timeout=bad)

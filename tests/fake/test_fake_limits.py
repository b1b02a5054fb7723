"""The fake API bounds what it reads (413, 400, never a traceback) and what it records (bodies cut, the latest
entries kept), so that a long test session or a hostile client cannot grow its memory without end."""

from __future__ import annotations

import http.client
import json
import socket

import httpx
import pytest
from _repin import operations, shipped_spec

from speaker_audio.testing import FakeElevenLabs
from speaker_audio.testing._server import MAX_RECORDED_BODY, MAX_RECORDED_REQUESTS, MAX_REQUEST_BODY

MIB = 1 << 20
METHOD, TEMPLATE = operations(shipped_spec())["start_speaker_separation"]
START = TEMPLATE.format(voice_id="voice-demo", sample_id="sample-demo")


def exchange(fake: FakeElevenLabs, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send raw request bytes; the status, headers (lower case) and body of the answer, read to the close."""
    with socket.create_connection(("127.0.0.1", fake.port), timeout=10) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_part, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head_part.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, rest


def post_head(length: str, *extra: str) -> bytes:
    lines = [f"{METHOD} {START} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_the_defaults_are_the_documented_ones() -> None:
    fake = FakeElevenLabs(with_demo_data=False)
    assert (fake.max_request_body, fake.max_recorded_body, fake.max_recorded_requests) == (16 * MIB, 64 << 10, 10_000)
    assert (MAX_REQUEST_BODY, MAX_RECORDED_BODY, MAX_RECORDED_REQUESTS) == (16 * MIB, 64 << 10, 10_000)


def test_a_hundred_posts_of_one_mib_are_recorded_in_bounded_memory(fake: FakeElevenLabs) -> None:
    payload = b"x" * MIB
    with httpx.Client(base_url=fake.base_url) as http:
        for _ in range(100):
            assert http.request(METHOD, START, content=payload).status_code == 200
    assert len(fake.requests) == 100
    assert {(len(r.body), r.body_size) for r in fake.requests} == {(MAX_RECORDED_BODY, MIB)}
    assert sum(len(r.body) for r in fake.requests) <= 100 * MAX_RECORDED_BODY  # 6.25 MiB, not 100 MiB


def test_only_the_latest_entries_are_kept() -> None:
    with (
        FakeElevenLabs(max_recorded_requests=10, max_recorded_body=4, record_responses=True) as fake,
        httpx.Client(base_url=fake.base_url) as http,
    ):
        for number in range(1, 26):
            response = http.request(METHOD, f"{START}?n={number}", content=b"0123456789")
            assert response.headers["request-id"] == f"req-{number}"  # numbered on, not by what is kept
        wanted = [f"{START}?n={number}" for number in range(16, 26)]
        assert [r.raw_path for r in fake.requests] == wanted
        assert [e.raw_path for e in fake.request_log] == wanted
        assert [r.raw_path for r in fake.responses] == wanted
        assert {(r.body, r.body_size) for r in fake.requests} == {(b"0123", 10)}


@pytest.mark.parametrize("length", ["1000000000000", "9" * 5000])
def test_a_huge_content_length_gets_413_and_no_traceback(
    fake: FakeElevenLabs, capfd: pytest.CaptureFixture[str], length: str
) -> None:
    status, headers, body = exchange(fake, post_head(length))
    assert status == 413
    assert headers["connection"] == "close"
    detail = json.loads(body)["detail"]
    assert detail["status"] == "payload_too_large"
    assert str(MAX_REQUEST_BODY) in detail["message"]
    assert [(e.status, e.raw_path) for e in fake.request_log] == [(413, START)]
    assert [(r.body, r.body_size) for r in fake.requests] == [(b"", 0)]
    assert httpx.get(fake.base_url + START.replace("separate-speakers", "speakers")).status_code == 200  # serving on
    assert capfd.readouterr().err == ""


def test_a_body_over_the_limit_is_refused_and_the_client_reads_why() -> None:
    with FakeElevenLabs(max_request_body=1000) as fake, httpx.Client(base_url=fake.base_url) as http:
        assert http.request(METHOD, START, content=b"x" * 1000).status_code == 200  # the limit itself is allowed
        response = http.request(METHOD, START, content=b"x" * (2 * MIB))
        assert response.status_code == 413
        assert response.json()["detail"]["status"] == "payload_too_large"
        assert http.request(METHOD, START).status_code == 200  # a new connection


def test_a_client_still_sending_its_body_gets_to_read_the_413() -> None:
    """The fake reads on (and drops) what follows a refused body for a while, rather than resetting the
    connection under a client that reads the answer only once it has sent everything (as http.client does)."""
    with FakeElevenLabs(max_request_body=1000) as fake:
        connection = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        try:
            connection.request(METHOD, START, body=b"x" * (32 * MIB))  # more than the socket buffers hold
            assert connection.getresponse().status == 413
        finally:
            connection.close()


def test_no_100_continue_for_a_body_that_will_be_refused(fake: FakeElevenLabs) -> None:
    status, _, _ = exchange(fake, post_head(str(MAX_REQUEST_BODY + 1), "Expect: 100-continue"))
    assert status == 413
    status, _, _ = exchange(fake, post_head("3", "Expect: 100-continue"), b"abc")
    assert status == 100  # (the 200 follows it)


@pytest.mark.parametrize(
    "lengths",
    [["abc"], ["-1"], ["+5"], ["0x10"], ["1 2"], ["5", "6"], ["1,2"]],
)
def test_a_malformed_content_length_gets_400(
    fake: FakeElevenLabs, capfd: pytest.CaptureFixture[str], lengths: list[str]
) -> None:
    head = post_head(lengths[0], *[f"Content-Length: {value}" for value in lengths[1:]])
    status, headers, body = exchange(fake, head, b"abcdef")
    assert (status, headers["connection"], json.loads(body)) == (400, "close", {"detail": "Invalid Content-Length"})
    assert capfd.readouterr().err == ""


def test_the_same_content_length_twice_is_one(fake: FakeElevenLabs) -> None:
    status, _, _ = exchange(fake, post_head("3", "Content-Length: 3"), b"abc")
    assert status == 200


@pytest.mark.parametrize("setting", ["max_request_body", "max_recorded_body", "max_recorded_requests"])
def test_a_negative_limit_is_refused(setting: str) -> None:
    with pytest.raises(ValueError, match=f"{setting} must be 0 or more"):
        FakeElevenLabs(**{setting: -1})  # type: ignore[arg-type]

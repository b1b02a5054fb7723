"""Reading response bodies safely: compressed bodies, decompression bombs, bounded memory, max_response_bytes, the
JSON bound, strict JSON.

Everything that crosses HTTP talks to a server on 127.0.0.1 that the test starts: the fake API with scripted
faults, or the small purpose-built servers below (a bomb server; an endless chunked status body).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from _clients import ClientRunner, Kind
from conftest import TEST_KEY
from hypothesis import given
from hypothesis import strategies as st

from speaker_audio import (
    APIStatusError,
    AsyncSpeakerAudioClient,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    SpeakerAudioClient,
)
from speaker_audio._http_errors import MAX_ERROR_BODY_BYTES, ErrorBodyReader, status_error
from speaker_audio._inflate import ACCEPT_ENCODING, INFLATE_STEP, Inflater, inflater_for
from speaker_audio._settings import DEFAULT_MAX_JSON_BYTES
from speaker_audio._sinks import JsonSink
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids
IDS = (VOICE, SAMPLE, "speaker-1")
AUDIO_JSON = json.dumps({"audio_base_64": "SUQzAwAAAAAA", "media_type": "audio/mpeg", "duration_secs": 1.5}).encode()
MiB = 1 << 20


def compress(data: bytes, coding: str) -> bytes:
    """``data`` in a content coding: ``gzip``, ``deflate`` (zlib format) or ``raw-deflate`` (sent as deflate)."""
    if coding == "gzip":
        return gzip.compress(data)
    if coding == "deflate":
        return zlib.compress(data)
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def header_for(coding: str) -> str:
    return "deflate" if coding == "raw-deflate" else coding


# --- compressed error bodies ---------------------------------------------------------------------------------

ERROR_DETAIL = {"detail": {"status": "scripted", "message": "compressed error body"}}


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
@pytest.mark.parametrize(
    ("status", "error_class", "attempts"),
    [(401, AuthenticationError, 1), (404, NotFoundError, 1), (429, RateLimitError, 3), (503, InternalServerError, 3)],
)
def test_compressed_error_body_gives_the_status_error(
    kind: Kind, coding: str, status: int, error_class: type[APIStatusError], attempts: int
) -> None:
    payload = compress(json.dumps(ERROR_DETAIL).encode(), coding)
    headers = {"Content-Encoding": header_for(coding), "Retry-After": "7"}
    with FakeElevenLabs() as fake:
        fake.script(Fault(status=status, headers=headers, body=payload, path_contains="/audio", times=9))
        run = ClientRunner(kind, fake.base_url, api_key=TEST_KEY, max_retries=2)
        with pytest.raises(error_class) as caught:
            run.call("get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        assert len(fake.requests_to("/audio")) == attempts
    error = caught.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.body == ERROR_DETAIL
    assert "compressed error body" in str(error)
    # the attached response holds the inflated body and shows the headers as the server sent them
    assert error.response.content == json.dumps(ERROR_DETAIL).encode()
    assert error.response.headers["content-encoding"] == header_for(coding)
    if status in (429, 503):
        assert run.sleeps == [7.0, 7.0]  # Retry-After kept on every retry
    if isinstance(error, RateLimitError):
        assert error.retry_after == 7.0


def test_status_error_accepts_an_inflated_body_under_a_content_encoding_header() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/v1/x")
    headers = httpx.Headers({"content-encoding": "gzip", "retry-after": "3", "content-length": "20"})
    response = httpx.Response(429, headers=headers, request=request, stream=httpx.ByteStream(b""))
    error = status_error(response, b'{"detail": "slow down"}')
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 3.0
    assert error.body == {"detail": "slow down"}
    assert error.response.content == b'{"detail": "slow down"}'
    assert error.response.headers["content-encoding"] == "gzip"


def test_error_bodies_are_bounded_after_inflation() -> None:
    bomb = gzip.compress(b"x" * (64 * MiB))
    reader = ErrorBodyReader(httpx.Headers({"content-encoding": "gzip"}))
    fed = 0
    for start in range(0, len(bomb), 64 * 1024):
        fed += 1
        if not reader.feed(bomb[start : start + 64 * 1024]):
            break
    assert len(reader.body) == MAX_ERROR_BODY_BYTES
    assert fed == 1  # stopped within the first chunk, 1 MiB into its 64 MiB
    # a coding we cannot read, and an endless stream of empty gzip members, are dropped or cut short
    assert not ErrorBodyReader(httpx.Headers({"content-encoding": "gzip, gzip"})).wants_more
    empty_member = gzip.compress(b"")
    reader = ErrorBodyReader(httpx.Headers({"content-encoding": "gzip"}))
    rounds = 0
    while reader.feed(empty_member * 1000):
        rounds += 1
        assert rounds < 1000
    assert bytes(reader.body) == b""


# --- decompression bombs -------------------------------------------------------------------------------------

SPACES_MIB = 128


@pytest.fixture(scope="module")
def spaces_deflate() -> bytes:
    """Raw deflate blocks (not final, dictionary reset) inflating to 128 MiB of spaces: append after a full flush."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = b" " * MiB
    parts = [compressor.compress(block) for _ in range(SPACES_MIB)]
    parts.append(compressor.flush(zlib.Z_FULL_FLUSH))
    return b"".join(parts)


def bomb(prefix: bytes, spaces_deflate: bytes, wbits: int) -> bytes:
    """``prefix`` then 128 MiB of spaces, in gzip (``wbits=31``) or zlib (15) format; never finished."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH) + spaces_deflate


class BombServer:
    """Answers every GET on 127.0.0.1 with one fixed status, headers and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.requests = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> BombServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


MEMORY_PROBE = textwrap.dedent(
    """
    import asyncio, json, resource, sys
    from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient, SpeakerAudioError

    base_url, kind, operation = sys.argv[1:4]
    args = ("voice", "sample", "speaker")[: 3 if operation == "get_speaker_audio" else 2]

    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

    def baseline_now() -> int:
        # start the peak afresh from the current RSS (Linux: clear_refs 5 resets ru_maxrss), so that what
        # importing and building the client once needed does not hide what the call needs
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
        except OSError:
            pass
        return peak()

    def outcome(call) -> dict:
        try:
            call()
        except SpeakerAudioError as error:
            return {"error": type(error).__name__, "message": str(error)}
        return {"error": None}

    if kind == "sync":
        client = SpeakerAudioClient(base_url=base_url, max_retries=0)
        baseline = baseline_now()
        result = outcome(lambda: getattr(client, operation)(*args))
    else:
        async def main() -> dict:
            async with AsyncSpeakerAudioClient(base_url=base_url, max_retries=0) as client:
                global baseline
                baseline = baseline_now()
                try:
                    await getattr(client, operation)(*args)
                except SpeakerAudioError as error:
                    return {"error": type(error).__name__, "message": str(error)}
                return {"error": None}
        result = asyncio.run(main())
    print(json.dumps({**result, "baseline": baseline, "peak": peak()}))
    """
)

GZIP, ZLIB = 31, 15
BOMBS = {
    # name: (operation, status, Content-Encoding, prefix, wbits, nested, expected error, message fragment)
    "gzip-gzip audio": ("get_speaker_audio", 200, "gzip, gzip", b'{"audio_base_64": "', GZIP, True,
                        ResponseValidationError, "unsupported Content-Encoding 'gzip, gzip'"),
    "gzip status": ("get_separation_status", 200, "gzip", b'{"status": "completed", "speakers": {', GZIP, False,
                    ResponseTooLargeError, "max_json_bytes"),
    "deflate status": ("get_separation_status", 200, "deflate", b'{"status": "completed", "speakers": {', ZLIB,
                       False, ResponseTooLargeError, "max_json_bytes"),
    "gzip audio member": ("get_speaker_audio", 200, "gzip", b'{"media_type": "', GZIP, False,
                          ResponseTooLargeError, "1048576"),
    "gzip 503 body": ("get_speaker_audio", 503, "gzip", b'{"detail": "', GZIP, False, InternalServerError, "503"),
    "gzip-gzip 503 body": ("get_speaker_audio", 503, "gzip, gzip", b'{"detail": "', GZIP, True,
                           InternalServerError, "503"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(BOMBS))
def test_decompression_bomb_memory_stays_bounded(kind: Kind, name: str, spaces_deflate: bytes) -> None:
    operation, status, encoding, prefix, wbits, nested, error_class, fragment = BOMBS[name]
    body = bomb(prefix, spaces_deflate, wbits)
    if nested:
        body = gzip.compress(body)
    assert len(body) < 200 * 1024  # 128 MiB inflated (the nested one much more compressed still)
    with BombServer(status, {"Content-Type": "application/json", "Content-Encoding": encoding}, body) as server:
        probe = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, server.base_url, kind, operation],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr
        assert server.requests == 1
    result = json.loads(probe.stdout)
    grown = (result["peak"] - result["baseline"]) / MiB
    print(f"[{kind} {name}: peak memory grew by {grown:.1f} MiB from {result['baseline'] / MiB:.1f} MiB]", end=" ")
    assert result["error"] == error_class.__name__, result
    assert fragment in result["message"]
    assert grown <= 64, f"peak memory grew by {grown:.1f} MiB"


# --- the inflater itself ------------------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
@pytest.mark.parametrize("cut", [1, 2, 7, 4096, None])
def test_inflater_gives_the_body_back_however_it_is_cut(coding: str, cut: int | None) -> None:
    data = bytes(range(256)) * 4000 + b"A" * (3 * INFLATE_STEP)
    compressed = compress(data, coding)
    cut = cut or len(compressed)
    inflater = Inflater("gzip" if coding == "gzip" else "deflate")
    out = []
    for start in range(0, len(compressed), cut):
        pieces = list(inflater.inflate(compressed[start : start + cut]))
        assert all(0 < len(piece) <= INFLATE_STEP for piece in pieces)
        out.extend(pieces)
    inflater.finish()
    assert b"".join(out) == data
    assert inflater.compressed == len(compressed)


@given(
    data=st.binary(max_size=4000),
    cuts=st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=20),
    coding=st.sampled_from(["gzip", "deflate", "raw-deflate"]),
)
def test_inflater_property_any_body_any_cuts(data: bytes, cuts: list[int], coding: str) -> None:
    compressed = compress(data, coding)
    if coding == "gzip":  # and as two members, however the cuts fall on the boundary
        compressed += compress(data, coding)
        data += data
    inflater = Inflater("gzip" if coding == "gzip" else "deflate")
    out: list[bytes] = []
    start = index = 0
    while start < len(compressed):
        end = start + cuts[index % len(cuts)]
        out.extend(inflater.inflate(compressed[start:end]))
        start, index = end, index + 1
    inflater.finish()
    assert b"".join(out) == data


def test_inflater_reads_every_gzip_member_and_refuses_what_is_wrong() -> None:
    inflater = Inflater("gzip")
    assert b"".join(inflater.inflate(gzip.compress(b"one ") + gzip.compress(b"two"))) == b"one two"
    inflater.finish()
    inflater = Inflater("gzip")  # byte by byte: a member boundary inside the magic number of the next one
    members = gzip.compress(b"one ") + gzip.compress(b"two")
    assert b"".join(piece for i in range(len(members)) for piece in inflater.inflate(members[i : i + 1])) == b"one two"
    inflater.finish()
    inflater = Inflater("gzip")
    assert b"".join(inflater.inflate(gzip.compress(b"x" * 1000)[:-5])) == b"x" * 1000  # cut in the trailer
    with pytest.raises(ResponseValidationError, match="ended before the end of its gzip stream"):
        inflater.finish()
    with pytest.raises(ResponseValidationError, match="data after the end of its deflate stream"):
        list(Inflater("deflate").inflate(zlib.compress(b"x") + b"junk"))
    with pytest.raises(ResponseValidationError, match="not valid gzip data"):
        list(Inflater("gzip").inflate(b"this is not gzip"))
    Inflater("gzip").finish()  # an empty body is empty in any coding


@pytest.mark.parametrize(
    ("header", "coding"),
    [(None, None), ("identity", None), ("gzip", "gzip"), ("x-gzip", "gzip"), ("GZip", "gzip"), ("deflate", "deflate")],
)
def test_inflater_for_one_coding(header: str | None, coding: str | None) -> None:
    inflater = inflater_for(httpx.Headers({} if header is None else {"content-encoding": header}))
    assert (inflater and inflater.coding) == coding


@pytest.mark.parametrize("header", ["gzip, gzip", "deflate, gzip", "br", "zstd", "compress"])
def test_inflater_for_refuses_stacked_or_unknown_codings(header: str) -> None:
    with pytest.raises(ResponseValidationError, match="unsupported Content-Encoding"):
        inflater_for(httpx.Headers({"content-encoding": header}))


def test_compressed_bytes_count_against_the_limit_too() -> None:
    # an endless run of empty gzip members inflates to nothing: the compressed bytes must still end it
    sink = JsonSink(lambda value, meta: value, "test", max_bytes=10_000)
    inflater = Inflater("gzip")
    members = gzip.compress(b"") * 10
    fed = 0

    def feed_until_refused() -> None:
        nonlocal fed
        while fed < 10_000:
            fed += 1
            sink.feed_compressed(members, inflater)

    with pytest.raises(ResponseTooLargeError, match="max_json_bytes"):
        feed_until_refused()
    assert fed * len(members) > 10_000 >= inflater.compressed
    assert sink.received == 0


# --- compressed success responses, and what we ask for ------------------------------------------------------


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_success_responses(kind: Kind, coding: str, tmp_path: Path) -> None:
    headers = {"Content-Encoding": header_for(coding)}
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        status_json = httpx.get(f"{fake.base_url}/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers").content
        sample_json = httpx.get(f"{fake.base_url}/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/audio").content
        fake.script(Fault(status=200, headers=headers, body=compress(AUDIO_JSON, coding), times=9,
                          path_contains="/speakers/speaker-1/audio"))  # fmt: skip
        fake.script(Fault(status=200, headers=headers, body=compress(sample_json, coding),
                          path_contains=f"/samples/{SAMPLE}/audio"))  # fmt: skip
        fake.script(Fault(status=200, headers=headers, body=compress(status_json, coding), method="GET", times=1))
        run = ClientRunner(kind, fake.base_url, max_retries=0)
        status = run.call("get_separation_status", VOICE, SAMPLE)
        audio = run.call("get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        path = run.call("download_speaker_audio", VOICE, SAMPLE, "speaker-1", tmp_path / "s1.mp3")
        sample = run.call("get_sample_audio", VOICE, SAMPLE)
        sent = [request.headers.get("accept-encoding") for request in fake.requests[2:]]
    assert status.status == "completed"
    assert list(status.speakers) == list(json.loads(status_json)["speakers"])
    assert audio.data == b"ID3\x03\x00\x00\x00\x00\x00"
    assert audio.media_type == "audio/mpeg"
    assert path.read_bytes() == audio.data
    assert sample.data == base64.b64decode(json.loads(sample_json)["audio_base_64"])
    assert sent == [ACCEPT_ENCODING] * 4


def test_large_gzip_audio_streams_to_disk(kind: Kind, tmp_path: Path) -> None:
    audio = bytes(range(256)) * 20_000  # 5 MB: many inflate steps, the streaming decoder's path
    body = json.dumps({"audio_base_64": base64.b64encode(audio).decode(), "media_type": "audio/mpeg",
                       "duration_secs": 2.0}).encode()  # fmt: skip
    with FakeElevenLabs() as fake:
        fake.script(Fault(status=200, headers={"Content-Encoding": "gzip"}, body=gzip.compress(body), times=9))
        run = ClientRunner(kind, fake.base_url, max_retries=0)
        assert run.call("get_speaker_audio", VOICE, SAMPLE, "s1").data == audio
        assert run.call("download_speaker_audio", VOICE, SAMPLE, "s1", tmp_path / "a.mp3").read_bytes() == audio


def test_download_memory_does_not_grow_with_the_audio(fake: FakeElevenLabs, tmp_path: Path) -> None:
    """End to end through the client: a 24 MB download allocates a small, bounded amount at its peak."""
    import tracemalloc

    from speaker_audio.testing import FakeSpeaker

    audio = os.urandom(24 * 1024 * 1024)
    fake.add_sample("v", "big", speakers={"s": FakeSpeaker(audio=audio)}, status="completed")
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        client.get_separation_status("v", "big")  # warm the connection and the imports
        tracemalloc.start()
        try:
            path = client.download_speaker_audio("v", "big", "s", tmp_path / "big.mp3")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert path.stat().st_size == len(audio)
    assert path.read_bytes() == audio
    # the fake server (same process) encodes 256 KiB at a time; the client holds a chunk or two
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 24 MiB download"


def test_accept_encoding_names_exactly_what_we_decode(kind: Kind) -> None:
    """Even an injected client whose defaults ask for br/zstd (as httpx does when brotli is installed)."""
    with FakeElevenLabs() as fake:
        run = ClientRunner(kind, fake.base_url, max_retries=0)
        wants = {"accept-encoding": "gzip, deflate, br, zstd"}
        http_client = httpx.Client(headers=wants) if kind == "sync" else httpx.AsyncClient(headers=wants)
        run.call_with_http_client(http_client, "get_separation_status", VOICE, SAMPLE)
        assert [request.headers.get("accept-encoding") for request in fake.requests] == ["gzip, deflate"]


def test_accept_encoding_from_the_callers_headers_gives_way_to_ours(kind: Kind) -> None:
    """Any spelling of the name, in default_headers or extra_headers: the request asks once for what we decode
    (and has one User-Agent, the caller's)."""
    extra = {"ACCEPT-ENCODING": "zstd", "x-kept": "1"}
    with FakeElevenLabs() as fake:
        run = ClientRunner(kind, fake.base_url, default_headers={"Accept-Encoding": "br", "User-Agent": "me/1"})
        sent = run.call_seeing_requests("get_separation_status", VOICE, SAMPLE, extra_headers=extra)
    assert [request.headers.get_list("accept-encoding") for request in sent] == [[ACCEPT_ENCODING]]
    assert sent[0].headers.get("x-kept") == "1"
    assert sent[0].headers.get_list("user-agent") == ["me/1"]  # the caller's, in place of ours


# --- max_response_bytes: a larger response is an error, and a download leaves no file ------------------------


def test_response_larger_than_the_limit_is_an_error(completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path) -> None:
    run = ClientRunner(kind, completed_fake.base_url, max_response_bytes=1000)
    with pytest.raises(ResponseTooLargeError, match="1000"):
        run.call("get_speaker_audio", *IDS)
    with pytest.raises(ResponseTooLargeError):
        run.call("download_speaker_audio", *IDS, tmp_path / "a.mp3")
    assert list(tmp_path.iterdir()) == []


# --- JSON bodies: their own bound, and strict parsing --------------------------------------------------------


class EndlessStatusServer:
    """Answers with a chunked status body that never closes its ``speakers`` object: spaces until the client
    hangs up, or ``cap`` bytes (then the chunked body ends, unfinished as JSON)."""

    def __init__(self, cap: int = 128 * MiB) -> None:
        self.cap = cap
        self.sent = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            start = b'{"status": "completed", "speakers": {'
            chunk = b" " * 65536
            try:
                connection.sendall(head + b"%x\r\n%s\r\n" % (len(start), start))
                while self.sent < self.cap:
                    connection.sendall(b"10000\r\n" + chunk + b"\r\n")
                    self.sent += len(chunk)
                connection.sendall(b"0\r\n\r\n")
            except OSError:
                pass

    def __enter__(self) -> EndlessStatusServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.close()
        self.thread.join(10)


def test_endless_status_body_is_too_large_at_max_json_bytes(kind: Kind) -> None:
    with EndlessStatusServer() as server:
        run = ClientRunner(kind, server.base_url, max_retries=0)
        with pytest.raises(ResponseTooLargeError, match=rf"max_json_bytes \({DEFAULT_MAX_JSON_BYTES} bytes\)"):
            run.call("get_separation_status", VOICE, SAMPLE)
        server.thread.join(10)
    # the client hung up right after 16 MiB (what the server counts includes the kernel's socket buffers)
    assert DEFAULT_MAX_JSON_BYTES <= server.sent < 2 * DEFAULT_MAX_JSON_BYTES


def test_max_json_bytes_bounds_json_but_not_audio(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        run = ClientRunner(kind, fake.base_url, max_retries=0, max_json_bytes=100)
        with pytest.raises(ResponseTooLargeError, match=r"max_json_bytes \(100 bytes\)"):
            run.call("get_separation_status", VOICE, SAMPLE)
        with pytest.raises(ResponseTooLargeError, match=r"max_json_bytes \(10 bytes\)"):  # its body: 16 bytes
            ClientRunner(kind, fake.base_url, max_retries=0, max_json_bytes=10).call(
                "start_speaker_separation", VOICE, SAMPLE
            )
        audio = run.call("get_speaker_audio", VOICE, SAMPLE, "speaker-1")  # far more than 100 bytes
    assert len(audio.data) > 100


@pytest.mark.parametrize("client_class", [SpeakerAudioClient, AsyncSpeakerAudioClient])
def test_max_json_bytes_is_validated_and_exposed(client_class: type[SpeakerAudioClient]) -> None:
    for bad in (0, -1, True, 1.5, "16"):
        with pytest.raises(ValueError, match="max_json_bytes must be an int >= 1"):
            client_class(max_json_bytes=bad)  # type: ignore[arg-type]
    assert client_class().max_json_bytes == DEFAULT_MAX_JSON_BYTES == 16 * MiB
    assert client_class(max_json_bytes=5).max_json_bytes == 5


@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_json_is_a_typed_error(fake: FakeElevenLabs, kind: Kind, status: int) -> None:
    fake.script(Fault(status=status, body=b"[" * 200_000, times=9))
    expected = ResponseValidationError if status == 200 else InternalServerError
    with pytest.raises(expected):
        ClientRunner(kind, fake.base_url, max_retries=0).call("get_separation_status", "voice-demo", "sample-demo")


@pytest.mark.parametrize("number", [b"1e999", b"NaN", b"-Infinity"])
def test_non_finite_numbers_are_refused(completed_fake: FakeElevenLabs, kind: Kind, number: bytes) -> None:
    body = b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": ' + number + b"}"
    completed_fake.script(Fault(status=200, body=body))
    with pytest.raises(ResponseValidationError):
        ClientRunner(kind, completed_fake.base_url).call("get_speaker_audio", *IDS)


# --- a response hook that reads the body, and odd header bytes -----------------------------------------------


def reading_client(kind: Kind) -> httpx.Client | httpx.AsyncClient:
    """An http client whose response hook reads every body (as a logging hook might)."""
    if kind == "sync":
        return httpx.Client(event_hooks={"response": [lambda response: response.read()]})

    async def read(response: httpx.Response) -> None:
        await response.aread()

    return httpx.AsyncClient(event_hooks={"response": [read]})


@pytest.mark.parametrize("coding", ["identity", "gzip"])
def test_a_response_hook_that_reads_the_body_does_not_break_reading(kind: Kind, coding: str) -> None:
    """httpx has already read (and inflated) the body when such a hook returns: it is fed on as it is."""
    encode = (lambda data: data) if coding == "identity" else gzip.compress
    headers = {} if coding == "identity" else {"Content-Encoding": coding}
    with FakeElevenLabs() as fake:
        fake.script(Fault(status=200, headers=headers, body=encode(AUDIO_JSON), path_contains="/audio"))
        error = encode(json.dumps(ERROR_DETAIL).encode())
        fake.script(Fault(status=404, headers=headers, body=error, path_contains="/audio"))
        run = ClientRunner(kind, fake.base_url, max_retries=0)
        audio = run.call_with_http_client(reading_client(kind), "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        assert audio.data == b"ID3\x03\x00\x00\x00\x00\x00"
        with pytest.raises(NotFoundError) as caught:
            run.call_with_http_client(reading_client(kind), "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
    assert caught.value.body == ERROR_DETAIL


@pytest.mark.parametrize("hook", [False, True], ids=["plain", "body-reading hook"])
def test_non_ascii_header_bytes_keep_the_right_error(kind: Kind, hook: bool) -> None:
    """obs-text in a header (``Server: café``, sent as Latin-1) must not turn a status into a ``UnicodeEncodeError``."""
    odd = {"Server": "caf\xe9", "request-id": "r\x9b1"}
    with FakeElevenLabs() as fake:
        fake.script(Fault(status=503, headers={**odd, "Retry-After": "0"}, path_contains="/audio"))
        fake.script(Fault(status=404, headers=odd, path_contains="/audio"))
        run = ClientRunner(kind, fake.base_url, max_retries=1)

        def fetch() -> object:
            if hook:
                return run.call_with_http_client(reading_client(kind), "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
            return run.call("get_speaker_audio", VOICE, SAMPLE, "speaker-1")

        with pytest.raises(NotFoundError) as caught:
            fetch()
        assert len(fake.requests_to("/audio")) == 2  # the 503 was retried, then the 404 raised
    assert (b"server", b"caf\xe9") in [(name.lower(), value) for name, value in caught.value.response.headers.raw]

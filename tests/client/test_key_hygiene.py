"""The API key is in no repr, log, error or anything reachable from one, and goes to no other host.

Unusable keys are refused without being echoed; no error text, log record or repr holds the key; no error reporter
(Sentry at its defaults, the frames of a traceback) finds it; no path in memory leads from a raised error to it; a
URL passed as the key is refused without being shown; no key goes over plain http to a host that is not loopback,
through an environment proxy, or to a redirect's target. Every server here listens on 127.0.0.1 and is started by
the test; the non-loopback hosts below are refused at construction, so nothing ever connects to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import http.server
import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from _clients import ClientRunner, Kind, call, make_client
from _leaks import views_holding
from _socket_server import SocketServer
from conftest import TEST_KEY

import speaker_audio
from speaker_audio import (
    APIConnectionError,
    APIStatusError,
    AsyncSpeakerAudioClient,
    AuthenticationError,
    InsecureTransportError,
    SpeakerAudioClient,
    SpeakerAudioError,
)
from speaker_audio._connections import forget_sent_key
from speaker_audio._settings import REDACTED, Secret
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids
IDS = ("voice-demo", "sample-demo", "speaker-1")


@pytest.mark.parametrize("key", ["sk-SECRET ", " sk-SECRET", "sk-SEC RET", "sk-SECRÉT", "sk-SECRET\t", "sk\nSECRET"])
def test_unusable_keys_are_refused_without_echoing_them(key: str) -> None:
    with pytest.raises(ValueError, match="API key") as info:
        SpeakerAudioClient(key)
    assert "SECRET" not in str(info.value)
    assert "SEC RET" not in str(info.value)


def test_invalid_header_failures_do_not_quote_header_values() -> None:
    from speaker_audio import _http_errors
    from speaker_audio._operations import SPEAKER_AUDIO

    spec = SPEAKER_AUDIO.request(None, dict(zip(("voice_id", "sample_id", "speaker_id"), IDS, strict=True)), {})
    error = _http_errors.transport_error(httpx.LocalProtocolError("Illegal header value b'sk-SECRET '"), spec)
    assert "SECRET" not in str(error)
    assert "invalid request" in str(error)


# --- the key in no error, log or repr ---------------------------------------------------------------------------


def _all_text_of(error: BaseException) -> str:
    parts = ["".join(traceback.format_exception(error)), repr(error), str(error)]
    for exc in (error, error.__cause__, error.__context__):
        if exc is None:
            continue
        parts.append(repr(vars(exc)) if hasattr(exc, "__dict__") else "")
        request = getattr(exc, "_request", None) or getattr(exc, "request", None)
        if isinstance(request, httpx.Request):
            parts.append(repr(dict(request.headers)))
    if isinstance(error, APIStatusError):
        parts.append(repr(dict(error.response.request.headers)))
        parts.append(repr(dict(error.response.headers)))
    return "\n".join(parts)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=401, times=5),
        Fault(status=500, times=5),
        Fault(status=429, headers={"Retry-After": "0"}, times=5),
        Fault(drop="before_headers", times=5),
        Fault(drop="mid_body", times=5),
        Fault(delay=0.5, times=5),
        Fault(status=200, body=b"not json", times=5),
        Fault(status=200, body=b'{"audio_base_64": "!!!!", "media_type": "a", "duration_secs": 1}', times=5),
    ],
    ids=["401", "500", "429", "drop", "mid-body", "timeout", "non-json", "bad-base64"],
)
def test_key_never_appears_in_errors_or_logs(
    completed_fake: FakeElevenLabs, kind: Kind, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    completed_fake.script(fault)
    run = ClientRunner(kind, completed_fake.base_url, api_key=TEST_KEY, max_retries=1, timeout=0.2)
    with caplog.at_level(logging.DEBUG), pytest.raises(SpeakerAudioError) as info:
        run.call("get_speaker_audio", *IDS)
    assert completed_fake.requests[0].headers["xi-api-key"] == TEST_KEY  # it was sent...
    assert TEST_KEY not in _all_text_of(info.value)  # ...but is nowhere in what we expose
    assert caplog.records, "DEBUG logging should have produced records"
    for record in caplog.records:
        assert TEST_KEY not in record.getMessage()
        assert TEST_KEY not in repr(record.args)
        assert TEST_KEY not in repr(record.__dict__)


def test_key_not_in_reprs(completed_fake: FakeElevenLabs) -> None:
    client = SpeakerAudioClient(TEST_KEY, base_url=completed_fake.base_url)
    aclient = AsyncSpeakerAudioClient(TEST_KEY, base_url=completed_fake.base_url)
    for obj in (client, aclient, client._api_key):
        assert TEST_KEY not in repr(obj)
        assert TEST_KEY not in str(obj)
    assert "api_key=set" in repr(client)
    with pytest.raises(TypeError):
        pickle.dumps(client._api_key)
    client.close()
    asyncio.run(aclient.aclose())


# --- the key reaches no error reporter ------------------------------------------------------------------------


def test_a_captured_authentication_error_carries_no_key(kind: Kind) -> None:
    with FakeElevenLabs(api_key="sk-the-right-key") as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        client = make_client(kind, api_key=TEST_KEY, base_url=fake.base_url, max_retries=0)
        with pytest.raises(AuthenticationError) as caught:
            call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        # the key was sent, under the header the generated client names
        assert [r.headers.get("xi-api-key") for r in fake.requests] == [TEST_KEY]
    error = caught.value
    assert views_holding(TEST_KEY, error) == []
    assert error.response.request.headers["xi-api-key"] == "[redacted]"


SENTRY_AT_ITS_DEFAULTS = """
import json, os
import sentry_sdk
from sentry_sdk.transport import Transport
from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient, SpeakerAudioError
from speaker_audio.testing import FakeElevenLabs, Fault
import asyncio

sent = []  # the key comes from the environment, inline: no local or argv of this script holds it

class Memory(Transport):
    def capture_envelope(self, envelope):
        sent.extend(item.payload.json for item in envelope.items if item.payload.json)

sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=Memory())  # every other option at its default
with FakeElevenLabs(api_key="sk-the-right-key") as fake:
    fake.voices["voice-demo"]["sample-demo"].status = "completed"
    fake.script(Fault(path_contains="speaker-2", drop="mid_body", times=9))
    for speaker in ("speaker-1", "speaker-2"):
        try:
            with SpeakerAudioClient(os.environ["KEY"], base_url=fake.base_url, max_retries=0) as client:
                client.get_speaker_audio("voice-demo", "sample-demo", speaker)
        except SpeakerAudioError as error:
            sentry_sdk.capture_exception(error)

        async def go():
            async with AsyncSpeakerAudioClient(os.environ["KEY"], base_url=fake.base_url, max_retries=0) as client:
                await client.get_speaker_audio("voice-demo", "sample-demo", speaker)

        try:
            asyncio.run(go())
        except SpeakerAudioError as error:
            sentry_sdk.capture_exception(error)
sentry_sdk.flush()
events = [e for e in sent if isinstance(e, dict) and "exception" in e]
text = json.dumps(events, default=repr)
print(len(events), "vars" in text, os.environ["KEY"] in text)
"""


def test_sentry_at_all_its_defaults_sends_no_key(tmp_path: Path) -> None:
    # in a child process: sentry_sdk.init() with its default integrations patches httpx for the whole process
    script = tmp_path / "report.py"
    script.write_text(SENTRY_AT_ITS_DEFAULTS)
    env = {**os.environ, "KEY": TEST_KEY}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "True", "False"]  # 4 events (401 and reset, sync and async), locals, no key


def test_a_connection_error_drops_the_frames_that_held_the_sent_headers(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        fake.script(Fault(path_contains="/audio", drop="mid_body", times=9))
        client = make_client(kind, api_key=TEST_KEY, base_url=fake.base_url, max_retries=0)
        with pytest.raises(APIConnectionError) as caught:
            call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
    error = caught.value
    assert views_holding(TEST_KEY, error) == []
    cause = error.__cause__
    assert isinstance(cause, httpx.HTTPError)  # the cause stays, for its type and message
    assert cause.__traceback__ is None


def test_transport_frames_that_held_the_headers_are_not_reachable(kind: Kind) -> None:
    # httpcore's _send_request_headers holds an h11.Request whose repr lists every header: a write that fails
    # there leaves it in a frame of the chained error. No loopback server makes a header write fail on demand,
    # so a transport plays that frame (no socket: this is about what the raised error keeps).
    def failing_write(request: httpx.Request) -> httpx.Response:
        sent_headers = list(request.headers.raw)  # noqa: F841 (the local that a reporter would capture)
        raise httpx.WriteError("broken pipe while sending the headers", request=request)

    async def afailing_write(request: httpx.Request) -> httpx.Response:
        return failing_write(request)

    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(transport=httpx.MockTransport(failing_write))
        if kind == "sync"
        else httpx.AsyncClient(transport=httpx.MockTransport(afailing_write))
    )
    client = make_client(kind, api_key=TEST_KEY, base_url="https://api.example", http_client=http, max_retries=0)
    with pytest.raises(APIConnectionError, match="broken pipe") as caught:
        call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
    assert views_holding(TEST_KEY, caught.value) == []


def test_errors_raised_while_building_a_client_show_no_key(kind: Kind) -> None:
    with pytest.raises(ValueError, match="max_retries") as caught:
        make_client(kind, api_key=TEST_KEY, max_retries=-1)
    assert views_holding(TEST_KEY, caught.value) == []
    with pytest.raises(ValueError, match="printable ASCII") as caught:
        make_client(kind, api_key=TEST_KEY + " ")
    assert views_holding(TEST_KEY, caught.value) == []


def test_one_shot_errors_show_no_key() -> None:
    with FakeElevenLabs() as closed:
        base_url = closed.base_url  # nothing listens there any more
    with pytest.raises(APIConnectionError) as caught:
        speaker_audio.get_speaker_audio(VOICE, SAMPLE, "speaker-1", api_key=TEST_KEY, base_url=base_url)
    assert views_holding(TEST_KEY, caught.value) == []


# --- no path in memory leads from a raised error to the key ----------------------------------------------------

# The walk starts where an error reporter, a debugger or a leak would: the error, the errors chained to it, and the
# local variables of every frame of its traceback in speaker-audio's code. From there it follows every reference
# (``gc.get_referents``) to a bounded depth and looks for the key in any ``str``, ``bytes`` or ``bytearray``. It does
# not enter modules, classes, functions or code (they lead to the whole program, the tests included), nor the
# ``Secret`` that holds the key by design (its ``reveal()`` is the only way out, and nothing shows it).
#
# Cases: a 401, a 503, a 200 with invalid base64, and an exception raised by a ``progress`` callback, on both
# clients. They all reached the key through the frame's ``response`` → httpx's stream → httpcore's stream → httpcore's
# own copy of the request headers. The clients close that path by calling ``_connections.forget_sent_key`` once the
# response head has arrived (from ``KeyAuth.auth_flow``).

KEY = "sk-reachable-0123456789abcdef-SECRET"
PACKAGE = str(Path(speaker_audio.__file__).parent)
DEPTH = 12  # the path found before the fix is 8 references long from the frame's locals
BUDGET = 500_000  # objects; a walk that runs out of it proves nothing, and fails

_OPAQUE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    Secret,
)

# Until KeyAuth.auth_flow calls forget_sent_key, httpcore's copy of the headers keeps the key.


def roots(error: BaseException, frames_in: str) -> Iterator[tuple[str, object]]:
    """The error, the errors chained to it, and the locals of their frames in files under ``frames_in``."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        linked = pending.pop()
        if linked is None or id(linked) in seen:
            continue
        seen.add(id(linked))
        yield type(linked).__name__, linked
        tb = linked.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_filename.startswith(frames_in):
                for name, value in frame.f_locals.items():
                    yield f"{frame.f_code.co_name}() local {name!r}", value
            tb = tb.tb_next
        pending += [linked.__cause__, linked.__context__]


def paths_to(secret: str, error: BaseException, frames_in: str = PACKAGE) -> tuple[list[str], int]:
    """Where ``secret`` was found (as reference paths), and how many objects the walk visited."""
    wanted = secret.encode()
    found: list[str] = []
    seen: set[int] = set()
    frontier: list[tuple[str, object]] = list(roots(error, frames_in))
    for _ in range(DEPTH + 1):
        following: list[tuple[str, object]] = []
        for path, node in frontier:
            if id(node) in seen:
                continue
            seen.add(id(node))
            if len(seen) > BUDGET:
                pytest.fail(f"the walk passed {BUDGET} objects without finishing: it proves nothing")
            if isinstance(node, str):
                if secret in node:
                    found.append(path)
                continue
            if isinstance(node, bytes | bytearray | memoryview):
                if wanted in bytes(node):
                    found.append(path)
                continue
            if isinstance(node, _OPAQUE):
                continue
            following += [(f"{path} → {type(ref).__qualname__}", ref) for ref in gc.get_referents(node)]
        frontier = following
    return found, len(seen)


def assert_no_path(error: BaseException) -> None:
    found, visited = paths_to(KEY, error)
    assert visited > 100, "the walk saw almost nothing: it proves nothing"
    assert found == [], "\n".join(found[:5])


class ProgressFailed(Exception):
    """Raised by a test's progress callback."""


def fail_at_progress(_received: int) -> None:
    raise ProgressFailed("the callback failed")


CASES: dict[str, tuple[Fault | None, type[BaseException]]] = {
    "401": (None, speaker_audio.AuthenticationError),
    "503": (Fault(status=503, times=1), speaker_audio.InternalServerError),
    "invalid base64": (
        Fault(status=200, body=b'{"audio_base_64": "!!!!", "media_type": "audio/mpeg", "duration_secs": 1.0}'),
        speaker_audio.AudioDecodeError,
    ),
    "progress callback raises": (None, ProgressFailed),
}


def raise_case(kind: Kind, case: str, tmp_path: Path) -> BaseException:
    fault, expected = CASES[case]
    with FakeElevenLabs(api_key="another-key" if case == "401" else KEY) as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        if fault is not None:
            fake.script(fault)
        run = ClientRunner(kind, fake.base_url, api_key=KEY, max_retries=0)
        args: tuple[object, ...] = (VOICE, SAMPLE, "speaker-1")
        if case == "progress callback raises":
            method, args, kwargs = "download_speaker_audio", (*args, tmp_path / "x.mp3"), {"progress": fail_at_progress}
        else:
            method, kwargs = "get_speaker_audio", {}
        with pytest.raises(expected) as caught:
            run.call(method, *args, **kwargs)
        assert fake.requests[0].headers["xi-api-key"] == KEY  # the key did go out with the request
    return caught.value


@pytest.mark.parametrize("case", CASES)
def test_no_path_leads_from_the_raised_error_to_the_key(kind: Kind, case: str, tmp_path: Path) -> None:
    assert_no_path(raise_case(kind, case, tmp_path))


# --- more ways to the key: other calls under way, a log handler, a redirect, event hooks, a forward proxy ------


class HeadThenStall(SocketServer):
    """Answers speaker-1's audio with its head and the start of its body, then nothing until the test ends; every
    other request with a 404."""

    def serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            if b"/speaker-1/" in head.split(b"\r\n", 1)[0]:
                head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
                conn.sendall(head + b'{"audio_base_64": "AAAA')
                self.stop.wait(30)
                return
            body = b'{"detail": {"status": "speaker_not_found", "message": "no such speaker"}}'
            conn.sendall(
                b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b"
                % (len(body), body)
            )


def paths_while_another_call_streams(kind: Kind, base_url: str) -> list[str]:
    """The paths to the key from the error of a call that fails while another call of the same client is
    receiving its body (walked before that other call ends)."""
    if kind == "sync":
        with SpeakerAudioClient(KEY, base_url=base_url, max_retries=0) as client:
            streaming = threading.Event()

            def stream() -> None:
                with contextlib.suppress(SpeakerAudioError):  # ended by the server when the test is done
                    client.stream_speaker_audio(VOICE, SAMPLE, "speaker-1", lambda piece: streaming.set())

            threading.Thread(target=stream, daemon=True).start()
            assert streaming.wait(10)
            with pytest.raises(speaker_audio.NotFoundError) as caught:
                client.get_speaker_audio(VOICE, SAMPLE, "speaker-2")
            return paths_to(KEY, caught.value)[0]

    async def go() -> list[str]:
        async with AsyncSpeakerAudioClient(KEY, base_url=base_url, max_retries=0) as client:
            streaming = asyncio.Event()
            other = asyncio.create_task(
                client.stream_speaker_audio(VOICE, SAMPLE, "speaker-1", lambda piece: streaming.set())
            )
            await asyncio.wait_for(streaming.wait(), 10)
            with pytest.raises(speaker_audio.NotFoundError) as caught:
                await client.get_speaker_audio(VOICE, SAMPLE, "speaker-2")
            found = paths_to(KEY, caught.value)[0]
            other.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await other
            return found

    return asyncio.run(go())


def test_no_path_leads_to_the_key_of_another_call_under_way(kind: Kind) -> None:
    # the error's frames reach the connection pool, and through it every request under way on the client
    with HeadThenStall() as server:
        found = paths_while_another_call_streams(kind, server.base_url)
    assert found == [], "\n".join(found[:5])


def test_an_interrupt_in_one_download_leaves_no_path_to_the_key_of_the_others(tmp_path: Path) -> None:
    # the sync download_all_speakers re-raises a worker's interrupt at once, while the other workers still stream
    first: list[str] = []
    lock = threading.Lock()
    other_streaming, done = threading.Event(), threading.Event()

    def on_progress(progress: speaker_audio.DownloadProgress) -> None:
        with lock:
            first.append(first[0] if first else str(progress.speaker_id))
        if progress.speaker_id == first[0]:
            assert other_streaming.wait(10)
            raise KeyboardInterrupt
        other_streaming.set()
        done.wait(10)  # the other download stays under way until the walk is over

    with FakeElevenLabs(api_key=KEY) as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        with SpeakerAudioClient(KEY, base_url=fake.base_url, max_retries=0) as client:
            with pytest.raises(KeyboardInterrupt) as caught:
                client.download_all_speakers(VOICE, SAMPLE, tmp_path, concurrency=2, on_progress=on_progress)
            found, _ = paths_to(KEY, caught.value)
            done.set()
    assert found == [], "\n".join(found[:5])


class Interrupting(logging.Handler):
    """A log handler interrupted while it writes (Ctrl-C during a slow write to a terminal)."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "speaker_audio":  # the client's request line (not the fake server's log)
            raise KeyboardInterrupt


def test_an_interrupted_request_line_leaves_no_path_to_the_key(kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    from speaker_audio import _exchange

    monkeypatch.setattr(_exchange, "_request_lines", True)  # as SPEAKER_AUDIO_LOG=info sets it
    log = logging.getLogger("speaker_audio")
    handler, level = Interrupting(), log.level
    log.setLevel(logging.INFO)  # setLevel, not the attribute: it also clears the logger's cache of isEnabledFor
    log.addHandler(handler)
    try:
        with FakeElevenLabs(api_key=KEY) as fake:
            fake.voices[VOICE][SAMPLE].status = "completed"
            with pytest.raises(KeyboardInterrupt) as caught:
                ClientRunner(kind, fake.base_url, api_key=KEY, max_retries=0).call("get_speaker_audio", *IDS)
            found, _ = paths_to(KEY, caught.value)
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
    assert found == [], "\n".join(found[:5])


def test_a_redirect_answer_leaves_no_path_to_the_key(kind: Kind) -> None:
    # httpx builds the request it would send next (response.next_request) with every header of the first one
    with FakeElevenLabs(api_key=KEY) as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        fake.script(Fault(status=302, headers={"Location": "https://elsewhere.example/audio"}, body=b""))
        with pytest.raises(APIStatusError) as caught:
            ClientRunner(kind, fake.base_url, api_key=KEY, max_retries=0).call("get_speaker_audio", *IDS)
    assert caught.value.status_code == 302
    assert_no_path(caught.value)


def test_an_event_hook_that_raises_for_status_leaves_no_path_to_the_key(kind: Kind) -> None:
    # a common httpx idiom: a response hook calling raise_for_status(); its HTTPStatusError keeps the response
    def hook(response: httpx.Response) -> None:
        response.raise_for_status()

    async def ahook(response: httpx.Response) -> None:
        response.raise_for_status()

    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(event_hooks={"response": [hook]})
        if kind == "sync"
        else httpx.AsyncClient(event_hooks={"response": [ahook]})
    )
    with FakeElevenLabs(api_key="another-key") as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        run = ClientRunner(kind, fake.base_url, api_key=KEY, max_retries=0)
        with pytest.raises(SpeakerAudioError) as caught:
            run.call_with_http_client(http, "get_speaker_audio", *IDS)
        assert fake.requests[0].headers["xi-api-key"] == KEY
    assert_no_path(caught.value)


class HookFailed(Exception):
    """Raised by a caller's httpx event hook."""


def test_an_event_hook_that_raises_its_own_error_leaves_no_path_to_the_key(kind: Kind) -> None:
    # the hook's error comes out of httpx itself, whose frames hold the response (and, through it, the request sent)
    def hook(response: httpx.Response) -> None:
        raise HookFailed("the hook failed")

    async def ahook(response: httpx.Response) -> None:
        raise HookFailed("the hook failed")

    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(event_hooks={"response": [hook]})
        if kind == "sync"
        else httpx.AsyncClient(event_hooks={"response": [ahook]})
    )
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        run = ClientRunner(kind, fake.base_url, api_key=KEY, max_retries=0)
        with pytest.raises(HookFailed) as caught:
            run.call_with_http_client(http, "get_speaker_audio", *IDS)
        assert fake.requests[0].headers["xi-api-key"] == KEY
    # from httpx's own frames, where the hook's error was raised
    found, visited = paths_to(KEY, caught.value, frames_in=str(Path(httpx.__file__).parent))
    assert visited > 100, "the walk saw almost nothing: it proves nothing"
    assert found == [], "\n".join(found[:5])


class NotFoundProxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy on 127.0.0.1 that answers every request with a 404 (no request goes further)."""

    def do_GET(self) -> None:
        body = b'{"detail": {"status": "not_found", "message": "not here"}}'
        self.send_response(404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_errors_through_a_forward_proxy_leave_no_path_to_the_key(kind: Kind) -> None:
    # through a forward proxy, httpcore holds two copies of the sent headers (the pool's request, the proxied one)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFoundProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for _ in range(2):  # the second call finds the copies the way the first one found them
            client: httpx.Client | httpx.AsyncClient = (
                httpx.Client(proxy=proxy) if kind == "sync" else httpx.AsyncClient(proxy=proxy)
            )
            run = ClientRunner(kind, "http://127.0.0.1:9", api_key=KEY, max_retries=0)
            with pytest.raises(speaker_audio.NotFoundError) as caught:
                run.call_with_http_client(client, "get_speaker_audio", *IDS)
            assert_no_path(caught.value)
    finally:
        server.shutdown()
        server.server_close()


# --- the walk and the helper, on a response held as the clients hold it --------------------------------------


@pytest.fixture
def open_response(completed_fake: FakeElevenLabs) -> Iterator[httpx.Response]:
    """A streamed response to a request that carried the key, not yet closed (as inside a client's attempt)."""
    url = f"{completed_fake.base_url}/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers/speaker-1/audio"
    with httpx.Client() as client:
        response = client.send(client.build_request("GET", url, headers={"xi-api-key": KEY}), stream=True)
        response.request.headers["xi-api-key"] = REDACTED  # as KeyAuth leaves httpx's own request
        yield response
        response.close()


def hold(response: httpx.Response) -> None:
    """Fail with ``response`` among the frame's locals, as a client's attempt does."""
    raise RuntimeError(f"held {response.status_code}")


def holding(response: httpx.Response) -> BaseException:
    """The error :func:`hold` raises (its frame, in this file, is where the walk starts)."""
    with pytest.raises(RuntimeError) as caught:
        hold(response)
    return caught.value


def test_the_walk_finds_the_key_in_httpcores_copy_of_the_headers(open_response: httpx.Response) -> None:
    found, _ = paths_to(KEY, holding(open_response), __file__)
    assert found, "the walk no longer sees httpcore's copy of the sent headers: the test above proves nothing"
    assert any("Request → list → tuple → bytes" in path for path in found), found


def test_forget_sent_key_overwrites_httpcores_copy_and_nothing_else(open_response: httpx.Response) -> None:
    forget_sent_key(open_response, "XI-API-Key", REDACTED)  # header names compare case-insensitively
    found, _ = paths_to(KEY, holding(open_response), __file__)
    assert found == []
    assert open_response.read()  # the response is still readable after the change
    assert "xi-api-key" in open_response.request.headers  # httpx's request keeps its (redacted) header


def test_forget_sent_key_leaves_the_other_requests_of_the_pool_alone(completed_fake: FakeElevenLabs) -> None:
    url = f"{completed_fake.base_url}/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers"
    with httpx.Client() as client:
        first = client.send(client.build_request("GET", url, headers={"xi-api-key": KEY}), stream=True)
        second = client.send(client.build_request("GET", url, headers={"xi-api-key": KEY}), stream=True)
        for response in (first, second):
            response.request.headers["xi-api-key"] = REDACTED  # as KeyAuth leaves httpx's own request
        forget_sent_key(first, "xi-api-key", REDACTED)
        from_first, _ = paths_to(KEY, holding(first), __file__)
        from_second, _ = paths_to(KEY, holding(second), __file__)
        first.close()
        second.close()
    # the second request, still open, is reachable from the first through the pool they share; not the first's own
    assert from_first, "the walk no longer reaches the pool's other requests"
    assert all("ConnectionPool" in path for path in from_first), from_first
    assert any("ConnectionPool" not in path for path in from_second), from_second


# --- a URL passed as the key is refused without being shown ------------------------------------------------


URL = "http://127.0.0.1:8765"


@pytest.mark.parametrize("make", [SpeakerAudioClient, AsyncSpeakerAudioClient])
def test_a_url_passed_as_the_key_is_refused(make: Callable[[str], object]) -> None:
    with pytest.raises(ValueError, match=r"did you mean base_url=…\?") as caught:
        make(URL)
    assert "127.0.0.1" not in str(caught.value)
    assert views_holding("127.0.0.1:8765", caught.value) == []


def test_a_url_in_the_key_variable_is_refused(kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", "HTTPS://api.elevenlabs.io")
    with pytest.raises(ValueError, match="ELEVENLABS_API_KEY looks like a URL") as caught:
        make_client(kind)
    assert "elevenlabs.io" not in str(caught.value)


def test_the_one_shot_function_refuses_a_url_as_key() -> None:
    with pytest.raises(ValueError, match="did you mean base_url"):
        speaker_audio.get_speaker_audio(VOICE, SAMPLE, "s", api_key=URL)


# --- no key over plain http to a host that is not loopback, nor through a proxy or a redirect -----------------


NOT_LOOPBACK = ["http://speaker-audio.invalid", "http://10.0.0.1:8080", "http://[2001:db8::1]", "http://127.example"]


@pytest.mark.parametrize("base_url", NOT_LOOPBACK)
def test_a_key_over_plain_http_to_another_host_is_refused(kind: Kind, base_url: str) -> None:
    with pytest.raises(InsecureTransportError, match="allow_insecure_http=True") as caught:
        make_client(kind, api_key=TEST_KEY, base_url=base_url)
    assert isinstance(caught.value, ValueError)
    assert "plain http://" in str(caught.value)
    assert views_holding(TEST_KEY, caught.value) == []
    make_client(kind, api_key=TEST_KEY, base_url=base_url, allow_insecure_http=True)  # an explicit opt-in
    make_client(kind, api_key=None, base_url=base_url)  # no key, nothing to protect
    make_client(kind, api_key=TEST_KEY, base_url=base_url.replace("http://", "https://"))


def test_the_environment_is_checked_too(kind: Kind, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", TEST_KEY)
    monkeypatch.setenv("ELEVENLABS_BASE_URL", "http://speaker-audio.invalid")
    with pytest.raises(InsecureTransportError):
        make_client(kind)


@pytest.mark.parametrize(
    "base_url",
    ["http://localhost:1", "http://LOCALHOST.:1", "http://127.0.0.1:1", "http://127.1.2.3", "http://[::1]:8000"],
)
def test_plain_http_to_loopback_is_allowed(kind: Kind, base_url: str) -> None:
    make_client(kind, api_key=TEST_KEY, base_url=base_url)


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_a_loopback_base_url_bypasses_an_environment_proxy(
    kind: Kind, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx would send a loopback request (key in clear) through HTTP_PROXY; the "proxy" here is a loopback fake
    with FakeElevenLabs() as fake, FakeElevenLabs() as proxy:
        fake.voices[VOICE][SAMPLE].status = "completed"
        monkeypatch.setenv(variable, proxy.base_url)
        call(make_client(kind, api_key=TEST_KEY, base_url=fake.base_url), "get_separation_status", VOICE, SAMPLE)
        assert proxy.requests == []
        assert len(fake.requests) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_a_loopback_base_url_on_the_default_port_bypasses_an_environment_proxy(
    kind: Kind, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no port in the base URL: the request goes straight to port 80 of this machine (refused), never to the proxy
    with FakeElevenLabs() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        client = make_client(kind, api_key=TEST_KEY, base_url=f"http://{host}", max_retries=0)
        with contextlib.suppress(SpeakerAudioError):  # nothing listens there (or something else answers)
            call(client, "get_separation_status", VOICE, SAMPLE)
        assert proxy.requests == []


def test_the_one_shot_function_refuses_it_before_connecting() -> None:
    with pytest.raises(InsecureTransportError):
        speaker_audio.get_speaker_audio(VOICE, SAMPLE, "s", api_key=TEST_KEY, base_url="http://speaker-audio.invalid")


def test_the_one_shot_function_accepts_the_opt_in() -> None:
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        audio = speaker_audio.get_speaker_audio(
            VOICE, SAMPLE, "speaker-1", api_key=TEST_KEY, base_url=fake.base_url, allow_insecure_http=True
        )
    assert audio.data


def test_redirect_is_not_followed_so_the_key_stays_home(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    with FakeElevenLabs() as elsewhere:
        location = elsewhere.base_url + "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers/speaker-1/audio"
        completed_fake.script(Fault(status=302, headers={"Location": location}, body=b""))
        follow: httpx.Client | httpx.AsyncClient
        follow = httpx.Client(follow_redirects=True) if kind == "sync" else httpx.AsyncClient(follow_redirects=True)
        run = ClientRunner(kind, completed_fake.base_url, api_key=TEST_KEY)
        with pytest.raises(APIStatusError) as info:
            run.call_with_http_client(follow, "get_speaker_audio", *IDS)
        assert info.value.status_code == 302
        assert elsewhere.requests == []
        assert run.http_client_closed_after is False  # an injected client is never closed by us

"""A fake ElevenLabs API on 127.0.0.1 for tests and demos.

A real HTTP/1.1 server (keep-alive, Content-Length) in a background thread. It holds voices,
samples and their speaker separations in memory, follows the pinned spec for every pinned
operation, serves real audio bytes, checks ``xi-api-key`` when configured, and can be
scripted to misbehave (status, headers, delay, dropped connections, truncated bodies).
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import logging
import random
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs

__all__ = [
    "FakeElevenLabs",
    "FakeSample",
    "FakeSpeaker",
    "Fault",
    "RecordedRequest",
    "RecordedResponse",
    "RequestLogEntry",
    "demo_clips",
]

_log = logging.getLogger("speaker_audio.testing")

_PVC = "/v1/voices/pvc/"
_SEGMENT = r"([^/?#]+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(rf"^{_PVC}{_SEGMENT}/samples/{_SEGMENT}/speakers/{_SEGMENT}/audio$"), "speaker_audio"),
    ("GET", re.compile(rf"^{_PVC}{_SEGMENT}/samples/{_SEGMENT}/speakers$"), "separation_status"),
    ("POST", re.compile(rf"^{_PVC}{_SEGMENT}/samples/{_SEGMENT}/separate-speakers$"), "start_separation"),
    ("GET", re.compile(rf"^{_PVC}{_SEGMENT}/samples/{_SEGMENT}/audio$"), "sample_audio"),
]
# the handler name of each route -> its operationId in the pinned spec (what ``Fault(operation=...)`` names)
_OPERATION_IDS = {
    "speaker_audio": "get_speaker_audio",
    "separation_status": "get_separation_status",
    "start_separation": "start_speaker_separation",
    "sample_audio": "get_sample_audio",
}
_OPERATIONS = frozenset(_OPERATION_IDS.values())
# boolean query parameters of each route (as the spec declares them): any other value is a 422, as FastAPI answers
_BOOLEAN_QUERY = {"sample_audio": ("remove_background_noise",)}
_QUERY_BOOLEANS = {
    **dict.fromkeys(("true", "1", "yes", "on", "t", "y"), True),
    **dict.fromkeys(("false", "0", "no", "off", "f", "n"), False),
}
_STREAM_QUANTUM = 3 * 65536  # decoded bytes per base64 write: a multiple of 3 keeps chunks independent
_MAX_ID_LENGTH = 256
_MAX_RECORDED_BODY = 1 << 20  # larger response bodies are recorded as None


def demo_clips() -> dict[str, tuple[bytes, str, float]]:
    """The shipped synthetic clips: ``{name: (bytes, media_type, duration_secs)}``."""
    data = resources.files("speaker_audio.testing") / "data"
    return {
        "speaker-1": ((data / "speaker-1.mp3").read_bytes(), "audio/mpeg", 1.5),
        "speaker-2": ((data / "speaker-2.wav").read_bytes(), "audio/wav", 1.5),
    }


@attrs.define
class FakeSpeaker:
    """One separated speaker: its audio and timing."""

    audio: bytes
    media_type: str = "audio/mpeg"
    duration_secs: float = 1.5
    utterances: list[tuple[float, float]] = attrs.field(factory=lambda: [(0.0, 0.7), (0.9, 1.5)])


@attrs.define
class FakeSample:
    """A voice sample and the state of its speaker separation.

    ``status`` moves ``not_started`` → ``pending`` (on start) → ``completed`` after
    ``polls_until_complete`` status reads (or ``failed`` when ``fail_separation``).
    """

    speakers: dict[str, FakeSpeaker] = attrs.field(factory=dict)
    status: str = "not_started"
    polls_until_complete: int = 1
    fail_separation: bool = False
    audio: bytes = b""
    media_type: str = "audio/mpeg"
    polls_seen: int = 0
    denoised_audio: bytes | None = None
    """Served for ``remove_background_noise=true`` (``audio`` when ``None``)."""
    duration_secs: float | None = None
    """The sample audio's ``duration_secs`` (nullable in the spec)."""


def _check_operation(instance: Fault, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    if value is not None and value not in _OPERATIONS:
        raise ValueError(f"unknown operation {value!r}: expected one of {', '.join(sorted(_OPERATIONS))}")


def _upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


@attrs.frozen
class Fault:
    """A scripted misbehaviour, applied to the next ``times`` matching requests.

    Which requests match: by default **GET requests only** (the calls a client retries), so a fault meant
    for a download never hits ``start_speaker_separation``'s POST. Set ``method="POST"`` (or ``"*"`` for
    any method), and/or ``operation`` (an operationId of the pinned spec: ``get_speaker_audio``,
    ``get_separation_status``, ``start_speaker_separation``, ``get_sample_audio``; it implies that
    operation's method), and/or ``path_contains``; a request must match all that are set.

    Attributes:
        status: answer with this status (and ``body``/``headers``) instead of the real response.
        headers: extra response headers (e.g. ``{"Retry-After": "1"}``).
        body: the body to send with ``status`` (default: a small JSON error body).
        delay: seconds to wait before answering (a stall longer than the client's read timeout).
        drop: ``"before_headers"`` resets the connection (TCP RST) without answering; ``"mid_body"``
            sends the headers and half the (real or scripted) body, then resets; ``"short_body"`` promises
            a longer Content-Length than it sends; ``"chunked_cut"`` sends a chunked body and stops
            before its last chunk.
        method: the HTTP method to match (default: GET, unless ``operation`` is set; ``"*"``: any).
        operation: the spec operation to match (raises ``ValueError`` for an unknown one).
        path_contains: a substring of the raw request path (and query) to match.
        times: how many matching requests it applies to. Faults not used up when a test ends are
            discarded with its ``fake_elevenlabs`` server (or by :meth:`FakeElevenLabs.reset`).
    """

    status: int | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes | None = None
    delay: float = 0.0
    drop: Literal["before_headers", "mid_body", "short_body", "chunked_cut"] | None = None
    method: str | None = attrs.field(default=None, converter=_upper)
    path_contains: str | None = None
    times: int = 1
    operation: str | None = attrs.field(default=None, validator=_check_operation, kw_only=True)

    def matches(self, method: str, raw_path: str, operation: str | None) -> bool:
        """Whether this fault applies to a request (``operation``: the spec operation it reached, if any)."""
        if self.method is None:
            if self.operation is None and method != "GET":
                return False
        elif self.method != "*" and self.method != method.upper():
            return False
        if self.operation is not None and self.operation != operation:
            return False
        return self.path_contains is None or self.path_contains in raw_path


@attrs.frozen
class RecordedRequest:
    """A request the fake server received, exactly as it arrived."""

    method: str
    raw_path: str
    headers: Mapping[str, str]
    body: bytes
    client_port: int = 0
    """The client's source port: requests sharing a port shared a keep-alive connection."""


@attrs.frozen
class RecordedResponse:
    """A response the fake server sent (recorded when ``record_responses`` or a listener asks for it).

    Attributes:
        method / raw_path: the request it answers.
        status / headers: as sent (header names in lower case).
        body: the whole body, or ``None`` when it was larger than 1 MiB.
        fault: the scripted ``Fault`` that shaped it, if any (its body may be deliberately wrong).
    """

    method: str
    raw_path: str
    status: int
    headers: Mapping[str, str]
    body: bytes | None
    fault: Fault | None = None


@attrs.frozen
class RequestLogEntry:
    """One line of the request log: a request the fake server answered, and how.

    ``str(entry)`` is the line itself, e.g. ``GET /v1/voices/pvc/v/samples/s/speakers -> 200 (1.2 ms)``.

    Attributes:
        method / raw_path: the request (path with its query, as sent).
        status: the status sent, or ``None`` when a fault dropped the connection before any headers.
        duration_secs: from the end of the request's headers to the end of the answer.
        fault: the scripted ``Fault`` that shaped the answer, if any.
    """

    method: str
    raw_path: str
    status: int | None
    duration_secs: float
    fault: Fault | None = None

    def __str__(self) -> str:
        path = self.raw_path if self.raw_path.isprintable() else repr(self.raw_path)[1:-1]
        status = "dropped" if self.status is None else str(self.status)
        line = f"{self.method} {path} -> {status} ({self.duration_secs * 1000:.1f} ms)"
        if self.fault is not None:
            what = f"drop={self.fault.drop}" if self.fault.drop else "scripted"
            line += f" [fault: {what}]"
        return line


@attrs.define
class _ScriptedFault:
    fault: Fault
    remaining: int


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads: stop() leaves no thread behind
    allow_reuse_address = True
    fake: FakeElevenLabs

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts, retries) are normal here: stay quiet about them."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class FakeElevenLabs:
    """A fake ElevenLabs PVC API, served on 127.0.0.1 from a background thread.

    Example::

        with FakeElevenLabs() as fake:
            client = SpeakerAudioClient("key", base_url=fake.base_url)
            audio = client.get_speaker_audio(*fake.demo_ids, "speaker-1")

    Args:
        api_key: when set, requests without this ``xi-api-key`` get 401.
        port: 0 picks a free port.
        with_demo_data: create ``voice-demo`` / ``sample-demo`` with two speakers (an MP3 and a WAV).
        record_responses: keep every response sent in :attr:`responses`.

    Every request is kept in :attr:`requests` (as received) and in :attr:`request_log` (one
    :class:`RequestLogEntry` per answer: method, path, status, duration), and each log line is also
    logged at INFO on the ``speaker_audio.testing`` logger (``speaker-audio -v fake-server`` prints them).
    A path of the API answered with another method gets 405 with an ``Allow`` header; any other path 404.
    """

    demo_ids: ClassVar[tuple[str, str]] = ("voice-demo", "sample-demo")
    _response_listeners: ClassVar[list[Callable[[RecordedResponse], None]]] = []

    def __init__(
        self,
        *,
        api_key: str | None = None,
        port: int = 0,
        with_demo_data: bool = True,
        record_responses: bool = False,
    ) -> None:
        self.api_key = api_key
        self._port = port
        self.with_demo_data = with_demo_data
        self.record_responses = record_responses
        self.responses: list[RecordedResponse] = []
        self.request_log: list[RequestLogEntry] = []
        self._lock = threading.Lock()
        self._generation = 0  # bumped by reset(): a request answered across it is not logged after it
        self.voices: dict[str, dict[str, FakeSample]] = {}
        self.requests: list[RecordedRequest] = []
        self._faults: list[_ScriptedFault] = []
        self._random_faults: list[Fault] = []
        self._random_fault_rate = 0.0
        self._random = random.Random(0)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()  # set by stop(): ends scripted delays, refuses new connections
        if with_demo_data:
            self._add_demo_data()

    # -- data --

    def _add_demo_data(self) -> None:
        clips = demo_clips()
        self.add_sample(
            *self.demo_ids,
            speakers={
                name: FakeSpeaker(audio=audio, media_type=media_type, duration_secs=secs)
                for name, (audio, media_type, secs) in clips.items()
            },
            audio=clips["speaker-1"][0],
            duration_secs=clips["speaker-1"][2],
        )

    def reset(self) -> None:
        """Return to the state of a new server, which keeps running on its port.

        Forgets every voice and sample (the demo data is created afresh when ``with_demo_data``), the
        scripted and random faults, the recorded requests and responses and the request log. For a
        server shared by several tests: call it between them, so nothing of one test reaches the next.
        """
        with self._lock:
            self._generation += 1
            self.voices.clear()
            self._faults.clear()
            self._random_faults = []
            self._random_fault_rate = 0.0
            self.requests.clear()
            self.responses.clear()
            self.request_log.clear()
        if self.with_demo_data:
            self._add_demo_data()

    def add_sample(
        self,
        voice_id: str,
        sample_id: str,
        *,
        speakers: Mapping[str, FakeSpeaker] | None = None,
        status: str = "not_started",
        polls_until_complete: int = 1,
        fail_separation: bool = False,
        audio: bytes = b"",
        media_type: str = "audio/mpeg",
        denoised_audio: bytes | None = None,
        duration_secs: float | None = None,
    ) -> FakeSample:
        """Create (or replace) a sample; its speakers become visible once separation completes.

        ``audio`` (of ``media_type``, ``duration_secs``) is the sample's own audio, served by
        ``GET …/samples/{sample_id}/audio``; ``denoised_audio``, if given, is served instead when the
        request asks for ``remove_background_noise=true``.
        """
        sample = FakeSample(
            speakers=dict(speakers or {}),
            status=status,
            polls_until_complete=polls_until_complete,
            fail_separation=fail_separation,
            audio=audio,
            media_type=media_type,
            denoised_audio=denoised_audio,
            duration_secs=duration_secs,
        )
        with self._lock:
            self.voices.setdefault(voice_id, {})[sample_id] = sample
        return sample

    def script(self, fault: Fault) -> None:
        """Queue a fault; faults apply in the order they were scripted."""
        with self._lock:
            self._faults.append(_ScriptedFault(fault, fault.times))

    def inject_random_faults(self, faults: Sequence[Fault], rate: float, *, seed: int = 0) -> None:
        """Answer a random ``rate`` of the requests no scripted fault matched with one of ``faults``.

        Their ``times``, ``method`` and ``path_contains`` are ignored; ``rate=0`` turns this off.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        with self._lock:
            self._random_faults = list(faults)
            self._random_fault_rate = rate
            self._random = random.Random(seed)

    def clear_faults(self) -> None:
        """Forget all scripted faults (also those not used up) and stop injecting random ones."""
        with self._lock:
            self._faults.clear()
            self._random_faults = []

    def _untouched_faults(self) -> list[Fault]:
        """The scripted faults that matched no request at all."""
        with self._lock:
            return [scripted.fault for scripted in self._faults if scripted.remaining == scripted.fault.times]

    @property
    def pending_faults(self) -> list[Fault]:
        """The scripted faults not used up yet, in order (each once, whatever its remaining count)."""
        with self._lock:
            return [scripted.fault for scripted in self._faults if scripted.remaining > 0]

    @classmethod
    def add_response_listener(cls, listener: Callable[[RecordedResponse], None]) -> None:
        """Call ``listener`` with every response any ``FakeElevenLabs`` in this process sends from now on.

        It runs on the server's thread, before the response is sent; for checks across a whole test
        session (e.g. validating every response against the OpenAPI spec).
        """
        cls._response_listeners.append(listener)

    @classmethod
    def remove_response_listener(cls, listener: Callable[[RecordedResponse], None]) -> None:
        """Stop calling a listener added with :meth:`add_response_listener`."""
        cls._response_listeners.remove(listener)

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests whose raw path contains ``path_contains``."""
        with self._lock:
            return [r for r in self.requests if path_contains in r.raw_path and (method is None or r.method == method)]

    # -- lifecycle --

    @property
    def port(self) -> int:
        """The port the server listens on (after ``start``)."""
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, to pass as a client's ``base_url``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeElevenLabs:
        """Start serving in a background thread."""
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-elevenlabs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # wake handlers idling on keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run(self, *, on_ready: Callable[[FakeElevenLabs], None] | None = None) -> None:
        """Serve in the foreground until Ctrl-C (``KeyboardInterrupt``) or :meth:`stop` from another thread.

        ``on_ready(fake)`` is called once the server listens (e.g. to print ``fake.base_url``).
        """
        self.start()
        try:
            if on_ready is not None:
                on_ready(self)
            while self._server is not None:
                time.sleep(0.1)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> FakeElevenLabs:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- used by the handler --

    def _take_fault(self, method: str, path: str, operation: str | None) -> Fault | None:
        with self._lock:
            for scripted in self._faults:
                if scripted.remaining <= 0 or not scripted.fault.matches(method, path, operation):
                    continue
                scripted.remaining -= 1
                return scripted.fault
            if self._random_faults and self._random.random() < self._random_fault_rate:
                return self._random.choice(self._random_faults)
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _log(self, entry: RequestLogEntry, generation: int) -> None:
        with self._lock:
            if generation != self._generation:  # the client had its answer and reset() came before this line
                return
            self.request_log.append(entry)
        _log.info("%s", entry)

    def _wants_responses(self) -> bool:
        return self.record_responses or bool(self._response_listeners)

    def _record_response(self, response: RecordedResponse) -> None:
        if self.record_responses:
            with self._lock:
                self.responses.append(response)
        for listener in list(self._response_listeners):
            listener(response)

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(conn)
                if self._stopping.is_set():  # accepted just before stop(): do not keep it open
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
            else:
                self._connections.discard(conn)


def _error_body(status: str, message: str) -> dict[str, Any]:
    return {"detail": {"status": status, "message": message}}


def _validation_body(loc: Sequence[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"detail": [{"loc": list(loc), "msg": msg, "type": kind}]}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeElevenLabs/1.0"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    timeout = 30  # idle keep-alive connections close after this
    server: _Server
    _query: dict[str, list[str]]  # the request's query parameters, set by _route

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests read fake.requests instead

    if not TYPE_CHECKING:  # (hidden from mypy, which would otherwise accept any attribute of the handler)

        def __getattr__(self, name: str) -> Any:
            """``do_<METHOD>`` for every method: any method gets an answer (405 or 404), never 501."""
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    # -- plumbing --

    def _routes_for(self, path: str) -> tuple[list[str], tuple[str, list[str]] | None]:
        """The methods ``path`` answers to, and the handler name and ids for this request's method."""
        allowed: list[str] = []
        found: tuple[str, list[str]] | None = None
        for method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            allowed.append(method)
            if method == self.command and found is None:
                found = name, [urllib.parse.unquote(part) for part in match.groups()]
        return allowed, found

    def _handle(self) -> None:
        started = time.perf_counter()
        generation = self.server.fake._generation
        self._status: int | None = None
        fault: Fault | None = None
        try:
            fault = self._answer()
        finally:
            entry = RequestLogEntry(self.command, self.path, self._status, time.perf_counter() - started, fault)
            self.server.fake._log(entry, generation)

    def _answer(self) -> Fault | None:
        fake = self.server.fake
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self._send(400, *self._json(400, {"detail": "Invalid Content-Length"})[1:3], {}, None)
            return None
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding"):  # a body we do not read: do not reuse the connection
            self.close_connection = True
        raw_path = self.path
        headers = {k.lower(): v for k, v in self.headers.items()}
        fake._record(RecordedRequest(self.command, raw_path, headers, body, int(self.client_address[1])))
        allowed, found = self._routes_for(raw_path.split("?", 1)[0])
        operation = _OPERATION_IDS.get(found[0]) if found is not None else None
        fault = fake._take_fault(self.command, raw_path, operation)
        if fault is not None and fault.delay:
            fake._stopping.wait(fault.delay)  # a stall that stop() cuts short
        if fault is not None and fault.drop == "before_headers":
            self._drop(reset=True)
            return fault
        if fault is not None and fault.status is not None:
            payload = fault.body
            if payload is None:
                payload = json.dumps(_error_body("fault", f"scripted {fault.status}")).encode()
            self._send(fault.status, [payload], len(payload), dict(fault.headers), fault)
            return fault
        extra = dict(fault.headers) if fault is not None else {}
        chunks: Iterator[bytes] | list[bytes]
        if found is None and allowed:
            status, chunks, size, content_type = self._json(405, {"detail": "Method Not Allowed"})
            extra.setdefault("Allow", ", ".join(allowed))
        elif found is None:
            status, chunks, size, content_type = self._json(404, {"detail": "Not Found"})
        else:
            status, chunks, size, content_type = self._route(found[0], found[1], headers)
        extra.setdefault("Content-Type", content_type)
        self._send(status, chunks, size, extra, fault)
        return fault

    def _drop(self, *, reset: bool = False) -> None:
        """Close the connection: a TCP reset (RST) when ``reset``, else an orderly close (FIN)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        status: int,
        chunks: Iterator[bytes] | list[bytes],
        size: int,
        headers: dict[str, str],
        fault: Fault | None,
    ) -> None:
        drop = fault.drop if fault is not None else None
        self._status = status
        self.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("request-id", f"req-{len(self.server.fake.requests)}")
        if self.server.fake._wants_responses():
            body: bytes | None = None
            if size <= _MAX_RECORDED_BODY:
                body = b"".join(chunks)
                chunks = [body]
            recorded_headers = {name.lower(): value for name, value in headers.items()}
            self.server.fake._record_response(
                RecordedResponse(self.command, self.path, status, recorded_headers, body, fault)
            )
        for name, value in headers.items():
            self.send_header(name, value)
        if drop == "chunked_cut":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            data = b"".join(chunks)
            half = data[: len(data) // 2]
            self.wfile.write(f"{len(half):x}\r\n".encode() + half + b"\r\n")
            self.wfile.flush()
            self._drop()
            return
        promised = size * 2 + 10 if drop == "short_body" else size
        self.send_header("Content-Length", str(promised))
        self.end_headers()
        if self.command == "HEAD":  # the headers a GET would get, and no body
            self.wfile.flush()
            return
        if drop in ("mid_body", "short_body"):
            data = b"".join(chunks)
            self.wfile.write(data[: max(1, len(data) // 2)] if drop == "mid_body" else data)
            self.wfile.flush()
            self._drop(reset=drop == "mid_body")
            return
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, payload: Any) -> tuple[int, list[bytes], int, str]:
        data = json.dumps(payload).encode()
        return status, [data], len(data), "application/json"

    def _route(
        self, name: str, ids: list[str], headers: Mapping[str, str]
    ) -> tuple[int, Iterator[bytes] | list[bytes], int, str]:
        fake = self.server.fake
        if fake.api_key is not None and headers.get("xi-api-key") != fake.api_key:
            return self._json(401, _error_body("invalid_api_key", "Invalid API key"))
        for position, value in enumerate(ids):
            if not value.strip() or len(value) > _MAX_ID_LENGTH:
                loc = ["path", ("voice_id", "sample_id", "speaker_id")[position]]
                return self._json(422, _validation_body(loc, "Invalid id", "value_error"))
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
        self._query = query
        for parameter in _BOOLEAN_QUERY.get(name, ()):
            values = query.get(parameter)
            if values is not None and values[-1].lower() not in _QUERY_BOOLEANS:  # the last one counts, as in FastAPI
                loc = ["query", parameter]
                return self._json(422, _validation_body(loc, "Input should be a valid boolean", "bool_parsing"))
        return getattr(self, f"_op_{name}")(*ids)  # type: ignore[no-any-return]

    def _sample_not_found(self, voice_id: str, sample_id: str) -> tuple[int, list[bytes], int, str]:
        """404 naming what is missing: the voice, or the sample of an existing voice."""
        if voice_id not in self.server.fake.voices:
            return self._json(404, _error_body("voice_not_found", f"Voice {voice_id} was not found"))
        return self._json(404, _error_body("sample_not_found", f"Sample {sample_id} was not found"))

    def _sample(self, voice_id: str, sample_id: str) -> FakeSample | None:
        return self.server.fake.voices.get(voice_id, {}).get(sample_id)

    def _op_separation_status(self, voice_id: str, sample_id: str) -> tuple[int, list[bytes], int, str]:
        fake = self.server.fake
        with fake._lock:
            sample = self._sample(voice_id, sample_id)
            if sample is None:
                return self._sample_not_found(voice_id, sample_id)
            if sample.status == "pending":
                sample.polls_seen += 1
                if sample.polls_seen >= sample.polls_until_complete:
                    sample.status = "failed" if sample.fail_separation else "completed"
            payload: dict[str, Any] = {"voice_id": voice_id, "sample_id": sample_id, "status": sample.status}
            if sample.status == "completed":
                payload["speakers"] = {
                    sid: {
                        "speaker_id": sid,
                        "duration_secs": sp.duration_secs,
                        "utterances": [{"start": a, "end": b} for a, b in sp.utterances],
                    }
                    for sid, sp in sample.speakers.items()
                }
                payload["selected_speaker_ids"] = list(sample.speakers)
            else:
                payload["speakers"] = None
                payload["selected_speaker_ids"] = None
        return self._json(200, payload)

    def _op_start_separation(self, voice_id: str, sample_id: str) -> tuple[int, list[bytes], int, str]:
        fake = self.server.fake
        with fake._lock:
            sample = self._sample(voice_id, sample_id)
            if sample is None:
                return self._sample_not_found(voice_id, sample_id)
            if sample.status in ("not_started", "failed"):
                sample.status = "pending"
                sample.polls_seen = 0
        return self._json(200, {"status": "ok"})

    def _op_speaker_audio(
        self, voice_id: str, sample_id: str, speaker_id: str
    ) -> tuple[int, Iterator[bytes] | list[bytes], int, str]:
        fake = self.server.fake
        with fake._lock:
            sample = self._sample(voice_id, sample_id)
            if sample is None:
                return self._sample_not_found(voice_id, sample_id)
            if sample.status != "completed":
                return self._json(400, _error_body("separation_not_completed", "Speaker separation is not completed"))
            speaker = sample.speakers.get(speaker_id)
            if speaker is None:
                return self._json(404, _error_body("speaker_not_found", f"Speaker {speaker_id} was not found"))
        tail = {"media_type": speaker.media_type, "duration_secs": speaker.duration_secs}
        return _audio_response(speaker.audio, tail)

    def _op_sample_audio(self, voice_id: str, sample_id: str) -> tuple[int, Iterator[bytes] | list[bytes], int, str]:
        values = self._query.get("remove_background_noise", ["false"])
        denoise = _QUERY_BOOLEANS[values[-1].lower()]  # a value that is not a boolean got 422 in _route
        with self.server.fake._lock:
            sample = self._sample(voice_id, sample_id)
            if sample is None:
                return self._sample_not_found(voice_id, sample_id)
            audio = sample.denoised_audio if denoise and sample.denoised_audio is not None else sample.audio
            tail = {
                "voice_id": voice_id,
                "sample_id": sample_id,
                "media_type": sample.media_type,
                "duration_secs": sample.duration_secs,
            }
        return _audio_response(audio, tail)


def _audio_response(audio: bytes, tail: Mapping[str, Any]) -> tuple[int, Iterator[bytes], int, str]:
    """Stream ``{"audio_base_64": ..., **tail}`` without building the whole base64 string."""
    head = b'{"audio_base_64": "'
    rest = b'", ' + json.dumps(tail).encode()[1:]
    size = len(head) + 4 * ((len(audio) + 2) // 3) + len(rest)

    def chunks() -> Iterator[bytes]:
        yield head
        view = memoryview(audio)
        for start in range(0, len(audio), _STREAM_QUANTUM):
            yield base64.b64encode(view[start : start + _STREAM_QUANTUM])
        yield rest

    return 200, chunks(), size, "application/json"

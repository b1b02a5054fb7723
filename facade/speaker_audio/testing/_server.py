"""A fake ElevenLabs API on 127.0.0.1 for tests and demos.

A real HTTP/1.1 server (keep-alive, Content-Length) in a background thread. It holds voices,
samples and their speaker separations in memory, serves real audio bytes, checks ``xi-api-key``
when configured, and can be scripted to misbehave (status, headers, delay, dropped connections,
truncated bodies) or to run ahead of the pinned spec (:class:`Drift`). Its routes, operationIds
and parameter rules are read from the pinned spec (``speaker_audio_api/openapi.json``); an
operation of the spec it has no behaviour for answers 501, naming it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
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

from speaker_audio.testing import _drift
from speaker_audio.testing._drift import Drift
from speaker_audio.testing._routes import Operation, Problem, Routes, pinned_routes

__all__ = [
    "Drift",
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

_STREAM_QUANTUM = 3 * 65536  # decoded bytes per base64 write: a multiple of 3 keeps chunks independent
_MAX_ID_LENGTH = 256
_MAX_RECORDED_RESPONSE_BODY = 1 << 20  # larger response bodies are recorded as None
_LINGER_BYTES = 64 << 20  # after a 413, discard at most this much of the body the client still sends ...
_LINGER_SECS = 2.0  # ... for at most this long, so that it reads the answer instead of a reset
# the defaults of FakeElevenLabs's limits (its docstring gives them)
MAX_REQUEST_BODY = 16 << 20
MAX_RECORDED_BODY = 64 << 10
MAX_RECORDED_REQUESTS = 10_000


@functools.cache
def _read_demo_clips() -> tuple[tuple[str, bytes, str, float], ...]:
    data = resources.files("speaker_audio.testing") / "data"
    return (
        ("speaker-1", (data / "speaker-1.mp3").read_bytes(), "audio/mpeg", 1.5),
        ("speaker-2", (data / "speaker-2.wav").read_bytes(), "audio/wav", 1.5),
    )


def demo_clips() -> dict[str, tuple[bytes, str, float]]:
    """The synthetic clips shipped with speaker-audio (no real voices), read once.

    Returns:
        ``{name: (audio bytes, media type, duration in seconds)}``: ``"speaker-1"`` (MP3, 1.5 s) and
        ``"speaker-2"`` (WAV, 1.5 s). The fake's demo sample and the defaults of :class:`FakeSpeaker` and
        :meth:`FakeElevenLabs.add_sample` serve them; use them to build your own samples::

            audio, media_type, secs = demo_clips()["speaker-2"]
            fake.add_sample("v1", "s1", speakers={"bob": FakeSpeaker(audio, media_type, secs)})
    """
    return {name: (audio, media_type, secs) for name, audio, media_type, secs in _read_demo_clips()}


def _demo_audio() -> bytes:
    return _read_demo_clips()[0][1]


def _demo_speakers() -> dict[str, FakeSpeaker]:
    return {name: FakeSpeaker(audio, media_type, secs) for name, audio, media_type, secs in _read_demo_clips()}


@attrs.define
class FakeSpeaker:
    """One separated speaker of a sample: what ``GET …/speakers/{speaker_id}/audio`` serves, and its timing.

    ``FakeSpeaker()`` is the demo clip ``speaker-1`` (1.5 s of MP3, see :func:`demo_clips`).

    Attributes:
        audio: the audio bytes (sent base64-encoded, as the API does).
        media_type: the ``media_type`` sent with it.
        duration_secs: the speaker's ``duration_secs`` (in the status and with the audio).
        utterances: ``(start, end)`` pairs in seconds, listed in the separation status.
    """

    audio: bytes = attrs.field(factory=_demo_audio)
    media_type: str = "audio/mpeg"
    duration_secs: float = 1.5
    utterances: list[tuple[float, float]] = attrs.field(factory=lambda: [(0.0, 0.7), (0.9, 1.5)])


@attrs.define
class FakeSample:
    """A voice sample and the state of its speaker separation (made by :meth:`FakeElevenLabs.add_sample`).

    ``status`` moves ``not_started`` → ``pending`` (on start) → ``completed`` after
    ``polls_until_complete`` status reads (or ``failed`` when ``fail_separation``). While
    ``status_sequence`` holds statuses, each status read answers the next one instead (and the
    sample keeps it), whether the pinned spec lists it or not; then the rules above go on.
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
    status_sequence: list[str] = attrs.field(factory=list)
    """The statuses the next status reads answer, one each, in order (consumed as they are sent)."""


def _check_operation(instance: Fault, attribute: attrs.Attribute[str | None], value: str | None) -> None:
    operations = pinned_routes().by_id
    if value is not None and value not in operations:
        raise ValueError(f"unknown operation {value!r}: expected one of {', '.join(sorted(operations))}")


def _upper(value: str | None) -> str | None:
    return None if value is None else value.upper()


@attrs.frozen
class Fault:
    """A scripted misbehaviour, applied to the next ``times`` matching requests.

    Which requests match: by default **GET requests only** (the calls a client retries), so a fault meant
    for a download never hits ``start_speaker_separation``'s POST. Set ``method="POST"`` (or ``"*"`` for
    any method), and/or ``operation`` (an operationId of the pinned spec, such as ``get_speaker_audio``,
    ``get_separation_status``, ``start_speaker_separation`` or ``get_sample_audio``; it implies that
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
    """A request the fake server received, as it arrived (its body cut to ``max_recorded_body`` bytes).

    Attributes:
        method: the HTTP method.
        raw_path: the path with its query, percent-encoded as sent.
        headers: the headers, names in lower case.
        body: the body's first ``max_recorded_body`` bytes (all of it when it is no longer).
        client_port: the client's source port: requests sharing a port shared a keep-alive connection.
        body_size: the length of the whole body as received (0 when it was refused unread, with 413).
    """

    method: str
    raw_path: str
    headers: Mapping[str, str]
    body: bytes
    client_port: int = 0
    body_size: int = 0


@attrs.frozen
class RecordedResponse:
    """A response the fake server sent (recorded when ``record_responses`` or a listener asks for it).

    Attributes:
        method / raw_path: the request it answers.
        status / headers: as sent (header names in lower case).
        body: the whole body, or ``None`` when it was larger than 1 MiB.
        fault: the scripted ``Fault`` that shaped it, if any (its body may be deliberately wrong).
        drifted: the body differs from the pinned spec on purpose (a :class:`Drift`, or a status from a
            sample's ``status_sequence`` that the spec does not list).
    """

    method: str
    raw_path: str
    status: int
    headers: Mapping[str, str]
    body: bytes | None
    fault: Fault | None = None
    drifted: bool = False


@attrs.frozen
class RequestLogEntry:
    """One line of the request log: a request the fake server answered, and how.

    ``str(entry)`` is the line itself, e.g. ``GET /v1/voices/pvc/v/samples/s/speakers -> 200 (1.2 ms)``.

    Attributes:
        method: the request's method.
        raw_path: the request's path with its query, percent-encoded as sent.
        status: the status sent, or ``None`` when a fault dropped the connection before any headers.
        duration_secs: from the end of the request's headers to the end of the answer.
        fault: the scripted ``Fault`` that shaped the answer, if any.
        drifted: the body differed from the pinned spec on purpose (see :attr:`RecordedResponse.drifted`).
    """

    method: str
    raw_path: str
    status: int | None
    duration_secs: float
    fault: Fault | None = None
    drifted: bool = False

    def __str__(self) -> str:
        path = self.raw_path if self.raw_path.isprintable() else repr(self.raw_path)[1:-1]
        status = "dropped" if self.status is None else str(self.status)
        line = f"{self.method} {path} -> {status} ({self.duration_secs * 1000:.1f} ms)"
        if self.fault is not None:
            what = f"drop={self.fault.drop}" if self.fault.drop else "scripted"
            line += f" [fault: {what}]"
        if self.drifted:
            line += " [drift]"
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
        record_responses: keep the responses sent in :attr:`responses`.
        drift: bodies that run ahead of the pinned spec (:class:`Drift`); also settable later as :attr:`drift`.
        max_request_body: a request body longer than this many bytes is refused unread with 413
            (default 16 MiB).
        max_recorded_body: :attr:`requests` keeps this many bytes of each request's body (default 64 KiB).
        max_recorded_requests: :attr:`requests`, :attr:`request_log` and :attr:`responses` keep this many
            entries each, the latest (default 10,000).
        spec: the OpenAPI document whose operations are served (default: the pinned spec shipped with
            speaker-audio, ``speaker_audio_api/openapi.json``), e.g. a newer pin's, to see what it changes.

    Raises:
        ValueError: a limit is negative.

    Every request is kept in :attr:`requests` (as received) and in :attr:`request_log` (one
    :class:`RequestLogEntry` per answer: method, raw_path, status, duration_secs), and each log line is also
    logged at INFO on the ``speaker_audio.testing`` logger (``speaker-audio -v fake-server`` prints them).
    Routes, operationIds and parameter rules come from the spec: a parameter that does not fit its schema
    (a query boolean that is not one, a value its enum does not list, a missing required one) gets the
    spec's 422; a path of the API asked with another method gets 405 with an ``Allow`` header; any other
    path 404; an operation of the spec that the fake has no behaviour for (:attr:`unimplemented_operations`)
    gets 501, naming it. A malformed ``Content-Length`` gets 400.
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
        drift: Drift | None = None,
        max_request_body: int = MAX_REQUEST_BODY,
        max_recorded_body: int = MAX_RECORDED_BODY,
        max_recorded_requests: int = MAX_RECORDED_REQUESTS,
        spec: Mapping[str, Any] | None = None,
    ) -> None:
        for name, limit in (
            ("max_request_body", max_request_body),
            ("max_recorded_body", max_recorded_body),
            ("max_recorded_requests", max_recorded_requests),
        ):
            if limit < 0:
                raise ValueError(f"{name} must be 0 or more, not {limit}")
        self.api_key = api_key
        self._port = port
        self.with_demo_data = with_demo_data
        self.record_responses = record_responses
        self.drift = drift
        """The :class:`Drift` applied to the API's successful answers from now on (``None``: none)."""
        self.max_request_body = max_request_body
        self.max_recorded_body = max_recorded_body
        self.max_recorded_requests = max_recorded_requests
        self._routes = pinned_routes() if spec is None else Routes(spec)
        self.responses: list[RecordedResponse] = []
        self._request_log: list[RequestLogEntry] = []
        self._lock = threading.Lock()
        self._logged = threading.Condition(self._lock)  # notified as each answer's log entry is written
        self._unlogged = 0  # answers sent (or being sent) whose log entry is not written yet
        self._generation = 0  # bumped by reset(): a request answered across it is not logged after it
        self._received = 0  # requests received since the start or the last reset (request-id: req-N)
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

    @property
    def unimplemented_operations(self) -> list[str]:
        """The operationIds of the spec that this fake has no behaviour for: they answer 501, naming themselves."""
        return [op.operation_id for op in self._routes.operations if _Handler.handler_name(op) is None]

    # -- data --

    def _add_demo_data(self) -> None:
        self.add_sample(*self.demo_ids)

    def reset(self) -> None:
        """Return to the state of a new server, which keeps running on its port.

        Forgets every voice and sample (the demo data is created afresh when ``with_demo_data``), the
        scripted and random faults, the recorded requests and responses and the request log. For a
        server shared by several tests: call it between them, so nothing of one test reaches the next.
        (``drift`` and the limits stay as they are.)
        """
        with self._lock:
            self._generation += 1
            self._received = 0
            self.voices.clear()
            self._faults.clear()
            self._random_faults = []
            self._random_fault_rate = 0.0
            self.requests.clear()
            self.responses.clear()
            self._request_log.clear()
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
        audio: bytes | None = None,
        media_type: str = "audio/mpeg",
        denoised_audio: bytes | None = None,
        duration_secs: float | None = None,
        status_sequence: Sequence[str] = (),
    ) -> FakeSample:
        """Create (or replace) a sample; its speakers become visible once its separation completes.

        By default it holds real audio: ``add_sample("v1", "s1", status="completed")`` is a completed
        separation with the two demo speakers (:func:`demo_clips`), and the sample's own audio is a demo clip.

        Args:
            voice_id / sample_id: where it is served.
            speakers: the speakers by id (default: ``speaker-1``, an MP3, and ``speaker-2``, a WAV; ``{}``
                for none).
            status: the separation's status now (``not_started``, ``pending``, ``completed``, ``failed``).
            polls_until_complete: status reads of a ``pending`` separation before it completes.
            fail_separation: the separation ends ``failed`` instead.
            audio: the sample's own audio, served by ``GET …/samples/{sample_id}/audio`` (default: the demo
                clip of ``media_type``, with its duration; ``b""`` for an empty one).
            media_type / duration_secs: sent with ``audio`` (``duration_secs`` ``None``: ``null``).
            denoised_audio: served instead of ``audio`` for ``remove_background_noise=true``.
            status_sequence: the statuses the next status reads answer, one each, before the rules above go
                on, e.g. ``["queued", "queued", "completed"]`` (a status the pinned spec does not list, on
                the way to ``completed``).

        Raises:
            ValueError: ``audio`` is left out and no demo clip has ``media_type``.
        """
        if audio is None:
            clip = next((c for c in _read_demo_clips() if c[2] == media_type), None)
            if clip is None:
                raise ValueError(f"no demo clip is {media_type!r}: pass the sample's audio")
            audio = clip[1]
            duration_secs = clip[3] if duration_secs is None else duration_secs
        sample = FakeSample(
            speakers=_demo_speakers() if speakers is None else dict(speakers),
            status=status,
            polls_until_complete=polls_until_complete,
            fail_separation=fail_separation,
            audio=audio,
            media_type=media_type,
            denoised_audio=denoised_audio,
            duration_secs=duration_secs,
            status_sequence=list(status_sequence),
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
        """The recorded requests whose raw path (with its query) contains ``path_contains``, in order.

        Args:
            path_contains: a substring of the percent-encoded path, e.g. ``"/speakers/speaker-1/audio"``.
            method: only requests with this method (e.g. ``"POST"``); ``None``: any.
        """
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

    def _record(self, request: RecordedRequest) -> int:
        """Keep ``request`` (the latest ``max_recorded_requests``); its number since the start or reset."""
        with self._lock:
            self._received += 1
            _append_bounded(self.requests, request, self.max_recorded_requests)
            return self._received

    @property
    def request_log(self) -> list[RequestLogEntry]:
        """One :class:`RequestLogEntry` per request answered, oldest first (the latest ``max_recorded_requests``).

        An answer's entry is written just after its last byte is sent: a read waits (up to a second) for the
        entries of answers already sent, so a client's call that has returned is always in it.
        """
        with self._logged:
            self._logged.wait_for(lambda: self._unlogged == 0, timeout=1.0)
            return self._request_log

    def _answering(self) -> None:
        with self._lock:
            self._unlogged += 1

    def _log(self, entry: RequestLogEntry, generation: int, answered: bool) -> None:
        with self._logged:
            self._unlogged -= answered
            self._logged.notify_all()
            if generation != self._generation:  # the client had its answer and reset() came before this line
                return
            _append_bounded(self._request_log, entry, self.max_recorded_requests)
        _log.info("%s", entry)

    def _wants_responses(self) -> bool:
        return self.record_responses or bool(self._response_listeners)

    def _record_response(self, response: RecordedResponse) -> None:
        if self.record_responses:
            with self._lock:
                _append_bounded(self.responses, response, self.max_recorded_requests)
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


def _append_bounded(entries: list[Any], entry: Any, limit: int) -> None:
    entries.append(entry)
    if len(entries) > limit:
        del entries[: len(entries) - limit]


def _error_body(status: str, message: str) -> dict[str, Any]:
    return {"detail": {"status": status, "message": message}}


def _validation_body(problems: Sequence[Problem]) -> dict[str, Any]:
    return {"detail": [{"loc": list(problem.loc), "msg": problem.msg, "type": problem.type} for problem in problems]}


_Reply = tuple[int, Iterator[bytes] | list[bytes], int, str]  # status, body chunks, body size, content type


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeElevenLabs/1.0"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    timeout = 30  # idle keep-alive connections close after this
    server: _Server
    _operation: Operation  # the operation being answered, set by _operate
    _params: dict[str, Any]  # its parameters as the spec types them, set by _operate

    @staticmethod
    def handler_name(operation: Operation) -> str | None:
        """The name of the method giving ``operation`` its behaviour (``_op_<operationId>``), if there is one."""
        name = f"_op_{operation.operation_id}"
        return name if callable(getattr(_Handler, name, None)) else None

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

    def handle_expect_100(self) -> bool:
        """No ``100 Continue`` for a body that will be refused: the 413 comes at once."""
        if self._declared_length() is not None and self._too_large():
            return True
        return super().handle_expect_100()

    if not TYPE_CHECKING:  # (hidden from mypy, which would otherwise accept any attribute of the handler)

        def __getattr__(self, name: str) -> Any:
            """``do_<METHOD>`` for every method: any method gets an answer (405 or 404), never 501."""
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

    # -- plumbing --

    def _handle(self) -> None:
        started = time.perf_counter()
        generation = self.server.fake._generation
        self._status: int | None = None
        self._drifted = False
        self._number = 0  # the request's number since the start or reset (0: not recorded)
        self._unread = 0  # the length of a body refused unread
        self._answered = False  # _send began: the fake counts the answer until its log entry is written
        fault: Fault | None = None
        try:
            fault = self._answer()
        finally:
            duration = time.perf_counter() - started
            entry = RequestLogEntry(self.command, self.path, self._status, duration, fault, self._drifted)
            self.server.fake._log(entry, generation, self._answered)
        if self._unread:
            self._linger(self._unread)  # (after the log line: the client sees the end of the answer after it)

    def _declared_length(self) -> int | None:
        """The body length the request declares (0 without one), or ``None`` when it is malformed."""
        values = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not values:
            return 0
        if len(values) > 1 or re.fullmatch(r"[0-9]+", next(iter(values)), flags=re.ASCII) is None:
            return None
        digits = next(iter(values)).lstrip("0") or "0"
        return int(digits) if len(digits) <= 18 else sys.maxsize  # (int() refuses very long digit strings)

    def _too_large(self) -> bool:
        length = self._declared_length()
        return length is not None and length > self.server.fake.max_request_body

    def _answer(self) -> Fault | None:
        fake = self.server.fake
        length = self._declared_length()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if length is None:
            self._refuse(400, {"detail": "Invalid Content-Length"})
            return None
        if length > fake.max_request_body:
            self._number = fake._record(RecordedRequest(self.command, self.path, headers, b"", self.client_address[1]))
            message = f"request body over this server's limit of {fake.max_request_body} bytes (max_request_body)"
            self._refuse(413, _error_body("payload_too_large", message))
            self._unread = length
            return None
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding"):  # a body we do not read: do not reuse the connection
            self.close_connection = True
        raw_path = self.path
        recorded = RecordedRequest(
            self.command, raw_path, headers, body[: fake.max_recorded_body], int(self.client_address[1]), len(body)
        )
        self._number = fake._record(recorded)
        allowed, operation, path_values = fake._routes.match(self.command, raw_path.split("?", 1)[0])
        fault = fake._take_fault(self.command, raw_path, operation.operation_id if operation else None)
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
        if operation is None and allowed:
            status, chunks, size, content_type = self._json(405, {"detail": "Method Not Allowed"})
            extra.setdefault("Allow", ", ".join(allowed))
        elif operation is None:
            status, chunks, size, content_type = self._json(404, {"detail": "Not Found"})
        else:
            status, chunks, size, content_type = self._operate(operation, path_values, headers)
        extra.setdefault("Content-Type", content_type)
        self._send(status, chunks, size, extra, fault)
        return fault

    def _refuse(self, status: int, payload: Any) -> None:
        """Answer ``status`` without reading the body, and close the connection."""
        self.close_connection = True
        _, chunks, size, _ = self._json(status, payload)
        self._send(status, chunks, size, {"Connection": "close"}, None)

    def _linger(self, declared: int) -> None:
        """After refusing a body unread: half-close, then discard (bounded) what the client still sends, so
        that it reads the answer rather than a connection reset."""
        budget = min(declared, _LINGER_BYTES)
        deadline = time.monotonic() + _LINGER_SECS
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            while budget > 0 and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(min(65536, budget))
                if not chunk:
                    break
                budget -= len(chunk)

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
        if not self._answered:
            self._answered = True
            self.server.fake._answering()
        self.send_response(status)
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("request-id", f"req-{self._number}")
        if self.server.fake._wants_responses():
            body: bytes | None = None
            if size <= _MAX_RECORDED_RESPONSE_BODY:
                body = b"".join(chunks)
                chunks = [body]
            recorded_headers = {name.lower(): value for name, value in headers.items()}
            self.server.fake._record_response(
                RecordedResponse(self.command, self.path, status, recorded_headers, body, fault, self._drifted)
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

    def _json(self, status: int, payload: Any) -> _Reply:
        data = json.dumps(payload).encode()
        return status, [data], len(data), "application/json"

    def _operate(self, operation: Operation, path_values: dict[str, str], headers: Mapping[str, str]) -> _Reply:
        """Check the key and the parameters (as the spec declares them), then run the operation's handler."""
        fake = self.server.fake
        if fake.api_key is not None and headers.get("xi-api-key") != fake.api_key:
            return self._json(401, _error_body("invalid_api_key", "Invalid API key"))
        problems = [
            Problem(("path", name), "Invalid id", "value_error")
            for name, value in path_values.items()
            if not value.strip() or len(value) > _MAX_ID_LENGTH
        ]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
        params, spec_problems = fake._routes.check(operation, path_values, query, headers)
        problems += [problem for problem in spec_problems if problem.loc not in {p.loc for p in problems}]
        if problems:
            return self._json(422, _validation_body(problems))
        name = self.handler_name(operation)
        if name is None:
            where = f"{operation.method} {operation.template}"
            message = f"FakeElevenLabs has no behaviour for {operation.operation_id} ({where}) yet"
            return self._json(501, _error_body("not_implemented", message))
        self._operation, self._params = operation, params
        handler: Callable[..., _Reply] = getattr(self, name)
        return handler(*path_values.values())

    def _ok(self, payload: dict[str, Any], *, drifted: bool = False) -> _Reply:
        """200 with ``payload``, drifted as the fake's :class:`Drift` says."""
        self._drifted = drifted | self._apply_drift(payload)
        return self._json(200, payload)

    def _apply_drift(self, payload: dict[str, Any]) -> bool:
        drift, schema = self.server.fake.drift, self._operation.response_schema
        if drift is None or schema is None:
            return False
        return _drift.apply(payload, schema, self.server.fake._routes.resolve, drift)[1]

    def _listed(self, member: str, value: Any) -> bool:
        """Whether the spec's response schema lets top-level ``member`` be ``value`` (as far as its enum goes)."""
        properties = (self._operation.response_schema or {}).get("properties") or {}
        listed = self.server.fake._routes.resolve(properties.get(member, {})).get("enum")
        return not isinstance(listed, list) or value in listed

    def _audio(self, audio: bytes, tail: dict[str, Any]) -> tuple[int, Iterator[bytes], int, str]:
        """200 with ``{"audio_base_64": ..., **tail}`` (drifted as the fake's :class:`Drift` says), streamed
        without building the whole base64 string."""
        self._drifted = self._apply_drift(tail)
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

    def _sample_not_found(self, voice_id: str, sample_id: str) -> _Reply:
        """404 naming what is missing: the voice, or the sample of an existing voice."""
        if voice_id not in self.server.fake.voices:
            return self._json(404, _error_body("voice_not_found", f"Voice {voice_id} was not found"))
        return self._json(404, _error_body("sample_not_found", f"Sample {sample_id} was not found"))

    def _sample(self, voice_id: str, sample_id: str) -> FakeSample | None:
        return self.server.fake.voices.get(voice_id, {}).get(sample_id)

    # -- the operations, by operationId --

    def _op_get_separation_status(self, voice_id: str, sample_id: str) -> _Reply:
        fake = self.server.fake
        with fake._lock:
            sample = self._sample(voice_id, sample_id)
            if sample is None:
                return self._sample_not_found(voice_id, sample_id)
            if sample.status_sequence:
                sample.status = sample.status_sequence.pop(0)
            elif sample.status == "pending":
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
        return self._ok(payload, drifted=not self._listed("status", payload["status"]))

    def _op_start_speaker_separation(self, voice_id: str, sample_id: str) -> _Reply:
        fake = self.server.fake
        with fake._lock:
            sample = self._sample(voice_id, sample_id)
            if sample is None:
                return self._sample_not_found(voice_id, sample_id)
            if sample.status in ("not_started", "failed"):
                sample.status = "pending"
                sample.polls_seen = 0
        return self._ok({"status": "ok"})

    def _op_get_speaker_audio(self, voice_id: str, sample_id: str, speaker_id: str) -> _Reply:
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
        return self._audio(speaker.audio, {"media_type": speaker.media_type, "duration_secs": speaker.duration_secs})

    def _op_get_sample_audio(self, voice_id: str, sample_id: str) -> _Reply:
        denoise = self._params.get("remove_background_noise") is True
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
        return self._audio(audio, tail)

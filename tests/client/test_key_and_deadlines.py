"""The key never reaches an error reporter or a plain-HTTP wire; deadlines bound whole calls; errors name the host.

Issue 10 items 3, 6, 7, 8 and issue 12 item 1. Every server here listens on 127.0.0.1 and is started by the test;
the non-loopback hosts below are refused at construction, so nothing ever connects to them.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from _clients import FakeClock, Kind, call, make_client
from _leaks import views_holding
from conftest import TEST_KEY

import speaker_audio
from speaker_audio import (
    APIConnectionError,
    APITimeoutError,
    AsyncSpeakerAudioClient,
    AuthenticationError,
    InsecureTransportError,
    SeparationTimeoutError,
    SpeakerAudioClient,
    SpeakerAudioError,
)
from speaker_audio.cli import main as cli_main
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids
AUDIO_PATH = f"/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers/speaker-1/audio"


# -- item 3: the key reaches no error reporter ------------------------------------------------------------------


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


# -- item 6: total_timeout ----------------------------------------------------------------------------------------


class DrippingServer:
    """Answers every request with a 200 promising 100,000 bytes, then sends one byte every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._threads: list[threading.Thread] = []
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> DrippingServer:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._drip, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
            while not self._stop.wait(self.interval):
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


# -- item 7: wait_for_separation's timeout bounds its retries -----------------------------------------------------


def test_wait_for_separation_timeout_bounds_retry_waits(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.script(Fault(method="GET", path_contains="/speakers", status=503, headers={"Retry-After": "2"}, times=9))
        client = make_client(kind, base_url=fake.base_url)
        clock.install(client)
        with pytest.raises(SeparationTimeoutError, match=r"within 0\.5s") as caught:
            call(client, "wait_for_separation", VOICE, SAMPLE, timeout=0.5)
        assert len(fake.requests) == 1
    assert sum(clock.sleeps) <= 0.5  # it was 4 s: two Retry-After waits past the timeout
    assert isinstance(caught.value.__cause__, speaker_audio.InternalServerError)


def test_wait_for_separation_timeout_cuts_a_stalled_poll(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.script(Fault(method="GET", path_contains="/speakers", delay=30, times=9))
        client = make_client(kind, base_url=fake.base_url, timeout=60)
        started = time.monotonic()
        with pytest.raises(SeparationTimeoutError):
            call(client, "wait_for_separation", VOICE, SAMPLE, timeout=0.5)
        assert len(fake.requests) == 1
    assert time.monotonic() - started < 10  # a 30 s stall, a 60 s read timeout, 2 retries


def test_wait_for_separation_polls_until_done_within_its_timeout(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.script(Fault(method="GET", path_contains="/speakers", status=503, headers={"Retry-After": "1"}, times=1))
        fake.voices[VOICE][SAMPLE].status = "completed"
        client = make_client(kind, base_url=fake.base_url)
        clock.install(client)
        status = call(client, "wait_for_separation", VOICE, SAMPLE, timeout=5)
    assert status.status == "completed"
    assert clock.sleeps == [1.0]


def test_total_timeout_shorter_than_the_wait_raises_api_timeout(kind: Kind) -> None:
    clock = FakeClock()
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = "pending"  # stays so (10**6 polls): polls until a deadline
        fake.voices[VOICE][SAMPLE].polls_until_complete = 10**6
        client = make_client(kind, base_url=fake.base_url, total_timeout=3.0)
        clock.install(client)
        with pytest.raises((APITimeoutError, SeparationTimeoutError)) as caught:
            call(client, "wait_for_separation", VOICE, SAMPLE, timeout=60, poll_interval=1)
    assert isinstance(caught.value, APITimeoutError)
    assert sum(clock.sleeps) <= 3.0


# -- item 8: no key over plain http to a host that is not loopback --------------------------------------------------

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


# -- issue 12 item 1: host and port in messages; a URL passed as the key ----------------------------------------------


def test_connection_errors_name_scheme_host_and_port(kind: Kind) -> None:
    with FakeElevenLabs() as closed:
        base_url = closed.base_url
    client = make_client(kind, api_key=TEST_KEY, base_url=base_url, max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
    assert f"connection failed for GET {base_url}{AUDIO_PATH}: " in str(caught.value)


def test_timeouts_name_scheme_host_and_port(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.script(Fault(path_contains="/audio", delay=5, times=9))
        client = make_client(kind, base_url=fake.base_url, timeout=0.2, max_retries=0)
        with pytest.raises(APITimeoutError) as caught:
            call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        assert f"for GET {fake.base_url}{AUDIO_PATH}" in str(caught.value)


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://api.elevenlabs.io", "https://api.elevenlabs.io:443"),
        ("http://user:pw@localhost/", "http://localhost:80"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_origin_makes_the_port_explicit_and_drops_user_info(base_url: str, origin: str) -> None:
    from speaker_audio._http_errors import origin_of

    assert origin_of(base_url) == origin


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


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_the_cli_refuses_a_url_as_key_with_a_hint(verbose: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["status", VOICE, SAMPLE, "--api-key", URL, *verbose], out=out, err=err)
    assert code == 2
    assert "did you mean --base-url" in err.getvalue()
    assert "127.0.0.1" not in err.getvalue() + out.getvalue()


@pytest.mark.parametrize(("state", "outcome"), [("completed", "returned"), ("pending", "timed out")])
def test_wait_for_separation_with_timeout_0_still_polls_once(kind: Kind, state: str, outcome: str) -> None:
    with FakeElevenLabs() as fake:
        fake.voices[VOICE][SAMPLE].status = state
        fake.voices[VOICE][SAMPLE].polls_until_complete = 100  # pending stays pending
        client = make_client(kind, base_url=fake.base_url)
        try:
            status = call(client, "wait_for_separation", VOICE, SAMPLE, timeout=0)
            result = "returned" if status.status == "completed" else "other"
        except SeparationTimeoutError:
            result = "timed out"
        assert len(fake.requests) == 1  # "give or take one poll's request": the first poll is always sent
    assert result == outcome

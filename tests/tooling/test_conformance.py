"""Conformance, checked by tools we did not write, against the spec we pin (``build_spec.build_spec()``).

1. openapi-core validates the fake API's responses: explicitly for every operation and status it
   produces, and, for the whole test session, every response any ``FakeElevenLabs`` sends (a response
   listener registered when this module is collected; checked when the session finishes).
2. Schemathesis, driven by the pinned spec (``generated/speaker_audio_api/openapi.json``), finds nothing
   wrong with the fake API: every check, on examples, the coverage phase (undeclared methods included)
   and fuzzed requests, with two exceptions stated where they are made.
3. Stoplight Prism, mocking the spec with request validation on, must accept every request the
   facade sends (installed by ``make prism`` into ``.tools/``; skipped, with the reason, when npm is
   absent or could not install it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import attrs
import httpx
import pytest
import schemathesis
from _repin import repinned
from hypothesis import HealthCheck, settings
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    status_code_conformance,
)

import build_spec
from speaker_audio import (
    AsyncSpeakerAudioClient,
    AudioDecodeError,
    SeparationNotCompletedError,
    SeparationTimeoutError,
    SpeakerAudioClient,
)
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, Fault, RecordedResponse

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = json.loads(build_spec.build_spec())
OPENAPI = OpenAPI.from_dict(SPEC)
SPEC_HOST = SPEC["servers"][0]["url"]
PRISM = ROOT / ".tools" / "node_modules" / ".bin" / "prism"
PRISM_UNAVAILABLE = ROOT / ".tools" / "prism-unavailable.txt"  # written by `make prism` when npm failed
Kind = Literal["sync", "async"]


# --- checking one response against the spec -----------------------------------------------------------


@attrs.frozen
class _Operation:
    operation_id: str
    method: str
    pattern: re.Pattern[str]
    statuses: frozenset[str]


def _operations() -> list[_Operation]:
    found = []
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
            found.append(
                _Operation(operation["operationId"], method.upper(), pattern, frozenset(operation["responses"]))
            )
    return found


OPERATIONS = _operations()


def operation_for(method: str, path: str) -> _Operation | None:
    """The spec operation a request went to, if any."""
    return next((op for op in OPERATIONS if op.method == method and op.pattern.match(path)), None)


@attrs.define
class _Request:
    """openapi-core's request protocol, for finding the operation a response answers."""

    host_url: str
    path: str
    method: str
    parameters: RequestParameters = attrs.field(factory=RequestParameters)
    body: bytes | None = None
    content_type: str = ""


@attrs.frozen
class _Response:
    """openapi-core's response protocol."""

    status_code: int
    data: bytes
    headers: dict[str, str]
    content_type: str


def is_shaped_by_a_test(response: RecordedResponse) -> bool:
    """A scripted status, a dropped connection or a drifted body: deliberately not what the pinned API sends."""
    if response.drifted:
        return True
    return response.fault is not None and (response.fault.status is not None or response.fault.drop is not None)


def conformance_problems(response: RecordedResponse) -> list[str]:
    """What is wrong with a fake response, judged by openapi-core against the pinned spec.

    Statuses the spec documents (200, 422) are validated against their schema; any other status
    (401, 404, 405, 400) must still be a JSON body served as ``application/json``.
    """
    if is_shaped_by_a_test(response) or response.body is None:
        return []
    path = response.raw_path.split("?", 1)[0]
    where = f"{response.method} {path} -> {response.status}"
    content_type = response.headers.get("content-type", "")
    operation = operation_for(response.method, path)
    if operation is None or str(response.status) not in operation.statuses:
        if not content_type.startswith("application/json"):
            return [f"{where}: content type {content_type!r} is not JSON"]
        try:
            json.loads(response.body)
        except ValueError:
            return [f"{where}: the body is not JSON: {response.body[:80]!r}"]
        return []
    try:
        OPENAPI.validate_response(
            _Request(SPEC_HOST, path, response.method.lower()),
            _Response(response.status, response.body, dict(response.headers), content_type),
        )
    except Exception as error:
        detail = " ".join(f"{error} {error.__cause__ or ''}".split())
        return [f"{where}: {type(error).__name__}: {detail[:400]}"]
    return []


# --- every response of the test session ------------------------------------------------------------


class SessionResponses:
    """Collects every distinct response any FakeElevenLabs sends; checks them all when the session ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seen: dict[tuple[Any, ...], tuple[str, RecordedResponse]] = {}
        self.count = 0
        self.problems: list[str] = []

    def __call__(self, response: RecordedResponse) -> None:
        test = os.environ.get("PYTEST_CURRENT_TEST", "outside a test").rsplit(" (", 1)[0]
        key: tuple[Any, ...] = (response.method, response.raw_path.split("?", 1)[0], response.status)
        key += (response.body, response.headers.get("content-type"), is_shaped_by_a_test(response))
        with self._lock:
            self.count += 1
            self.seen.setdefault(key, (test, response))

    def check(self) -> list[str]:
        with self._lock:
            items = list(self.seen.values())
        return [f"{test}: {problem}" for test, response in items for problem in conformance_problems(response)]

    # pytest hooks (registered as a plugin by the fixture below)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.problems = self.check()
        if self.problems and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.problems:
            terminalreporter.section(
                "fake API responses that do not conform to the pinned spec (this fails the run)", red=True
            )
            for problem in self.problems:
                terminalreporter.write_line(problem)
        else:
            terminalreporter.write_line(
                f"conformance: {len(self.seen)} distinct fake API responses ({self.count} in all) "
                "validated against the pinned spec by openapi-core"
            )


SESSION_RESPONSES = SessionResponses()
FakeElevenLabs.add_response_listener(SESSION_RESPONSES)  # at collection, before any test runs


@pytest.fixture(scope="module", autouse=True)
def _check_every_fake_response_when_the_session_ends(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.is_registered(SESSION_RESPONSES):
        manager.register(SESSION_RESPONSES, "speaker-audio-fake-conformance")


def test_the_session_check_sees_responses_of_every_fake() -> None:
    before = SESSION_RESPONSES.count
    with FakeElevenLabs() as fake:
        httpx.get(fake.base_url + "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers")
    assert SESSION_RESPONSES.count == before + 1
    assert SESSION_RESPONSES.check() == []  # everything so far conforms


# --- the checker is not vacuous ----------------------------------------------------------------------


def _recorded(method: str, path: str, status: int, body: bytes, **kwargs: Any) -> RecordedResponse:
    headers = {"content-type": kwargs.pop("content_type", "application/json")}
    return RecordedResponse(method, path, status, headers, body, **kwargs)


STATUS_PATH = "/v1/voices/pvc/v/samples/s/speakers"


@pytest.mark.parametrize(
    ("response", "complaint"),
    [
        (_recorded("GET", STATUS_PATH, 200, b'{"voice_id": "v", "sample_id": "s", "status": "done"}'), "done"),
        (_recorded("GET", STATUS_PATH, 200, b'{"voice_id": "v", "status": "pending"}'), "sample_id"),
        (
            _recorded(
                "GET", STATUS_PATH + "/x/audio", 200, b'{"audio_base_64": 1, "media_type": "a", "duration_secs": 1}'
            ),
            "audio_base_64",
        ),
        (_recorded("GET", STATUS_PATH, 422, b'{"detail": [{"loc": ["path"], "msg": "m"}]}'), "type"),
        (_recorded("POST", "/v1/voices/pvc/v/samples/s/separate-speakers", 200, b"{}"), "status"),
        (_recorded("GET", STATUS_PATH, 401, b"<html>no</html>", content_type="text/html"), "not JSON"),
        (_recorded("GET", "/elsewhere", 404, b"not json"), "not JSON"),
    ],
)
def test_non_conforming_responses_are_caught(response: RecordedResponse, complaint: str) -> None:
    [problem] = conformance_problems(response)
    assert complaint in problem


def test_responses_shaped_by_a_fault_are_not_judged() -> None:
    assert conformance_problems(_recorded("GET", STATUS_PATH, 200, b"garbage", fault=Fault(drop="mid_body"))) == []
    assert conformance_problems(_recorded("GET", STATUS_PATH, 500, b"garbage", fault=Fault(status=500))) == []
    assert conformance_problems(_recorded("GET", STATUS_PATH, 200, b"garbage", fault=Fault(delay=0.1))) != []
    assert conformance_problems(_recorded("GET", STATUS_PATH, 200, b"garbage", drifted=True)) == []


# --- every operation and status the fake produces ------------------------------------------------------


def test_every_operation_and_status_of_the_fake_conforms() -> None:
    v = "/v1/voices/pvc/voice-demo/samples"
    with (
        FakeElevenLabs(api_key="k", record_responses=True) as fake,
        httpx.Client(base_url=fake.base_url, headers={"xi-api-key": "k"}) as http,
    ):
        fake.add_sample("voice-demo", "sample-failing", fail_separation=True)
        fake.add_sample("voice-demo", "sample-wav", audio=b"RIFF", media_type="audio/wav", duration_secs=None)
        fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 2
        http.get(f"{v}/sample-demo/speakers")  # 200 not_started
        http.get(f"{v}/sample-demo/speakers/speaker-1/audio")  # 400: not completed yet
        http.post(f"{v}/sample-demo/separate-speakers")  # 200
        http.get(f"{v}/sample-demo/speakers")  # 200 pending
        http.get(f"{v}/sample-demo/speakers")  # 200 completed, with speakers
        http.get(f"{v}/sample-demo/speakers/speaker-1/audio")  # 200 MP3
        http.get(f"{v}/sample-demo/speakers/speaker-2/audio")  # 200 WAV
        http.get(f"{v}/sample-demo/speakers/nobody/audio")  # 404
        http.get(f"{v}/sample-demo/audio")  # 200 sample audio
        http.get(f"{v}/sample-demo/audio?remove_background_noise=true")  # 200
        http.get(f"{v}/sample-wav/audio?remove_background_noise=false")  # 200, duration_secs null
        http.get(f"{v}/sample-demo/audio?remove_background_noise=maybe")  # 422: not a boolean
        http.post(f"{v}/sample-failing/separate-speakers")
        http.get(f"{v}/sample-failing/speakers")  # 200 failed
        for path in ("speakers", "speakers/x/audio", "audio"):
            http.get(f"{v}/unknown/{path}")  # 404
            http.get(f"{v}/%20/{path}")  # 422: blank id
            http.get(f"{v}/{'x' * 300}/{path}")  # 422: too long
            http.get(f"{v}/sample-demo/{path}", headers={"xi-api-key": "wrong"})  # 401
        http.post(f"{v}/unknown/separate-speakers")  # 404
        http.post(f"{v}/%20/separate-speakers")  # 422
        http.post(f"{v}/sample-demo/separate-speakers", headers={"xi-api-key": "wrong"})  # 401
        http.delete(f"{v}/sample-demo/speakers")  # 405
        http.get("/v1/nowhere")  # 404, no operation
        responses = list(fake.responses)
    problems = [problem for response in responses for problem in conformance_problems(response)]
    assert problems == []
    seen = set()
    for response in responses:
        operation = operation_for(response.method, response.raw_path.split("?", 1)[0])
        seen.add((operation.operation_id if operation else None, response.status))
    assert {"not_started", "pending", "completed", "failed"} <= {
        json.loads(r.body)["status"]
        for r in responses
        if r.body and r.status == 200 and r.raw_path.endswith("/speakers")
    }
    for operation_id in ("get_speaker_audio", "get_separation_status", "start_speaker_separation", "get_sample_audio"):
        for status in (200, 401, 404, 422):
            assert (operation_id, status) in seen
    assert {("get_speaker_audio", 400), (None, 405), (None, 404)} <= seen


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_whole_workflow_sees_only_conforming_responses(tmp_path: Path, kind: Kind) -> None:
    hostile = {"../../x": FakeSpeaker(audio=b"a"), "Ünï 说": FakeSpeaker(audio=b"b", media_type="audio/ogg")}
    with FakeElevenLabs(api_key="k", record_responses=True) as fake:
        fake.add_sample("voice-demo", "sample-hostile", speakers=hostile, status="completed")
        ids = fake.demo_ids
        if kind == "sync":
            with SpeakerAudioClient("k", base_url=fake.base_url) as client:
                client.start_speaker_separation(*ids)
                client.wait_for_separation(*ids, poll_interval=0.01)
                client.get_speaker_audio(*ids, "speaker-1")
                client.get_sample_audio(*ids, remove_background_noise=True)
                client.download_sample_audio(*ids, tmp_path)
                client.download_all_speakers(*ids, tmp_path)
                client.download_all_speakers("voice-demo", "sample-hostile", tmp_path)
        else:
            import asyncio

            async def go() -> None:
                async with AsyncSpeakerAudioClient("k", base_url=fake.base_url) as client:
                    await client.start_speaker_separation(*ids)
                    await client.wait_for_separation(*ids, poll_interval=0.01)
                    await client.get_speaker_audio(*ids, "speaker-1")
                    await client.get_sample_audio(*ids, remove_background_noise=True)
                    await client.download_sample_audio(*ids, tmp_path)
                    await client.download_all_speakers(*ids, tmp_path)
                    await client.download_all_speakers("voice-demo", "sample-hostile", tmp_path)

            asyncio.run(go())
        responses = list(fake.responses)
    assert len(responses) >= 11
    assert sum(r.raw_path.endswith("/sample-demo/audio?remove_background_noise=true") for r in responses) == 1
    assert [p for r in responses for p in conformance_problems(r)] == []


# --- Schemathesis: the fake API as the spec describes it ---------------------------------------------------

SCHEMATHESIS_SCHEMA = schemathesis.openapi.from_path(ROOT / "generated" / "speaker_audio_api" / "openapi.json")
# The spec's example ids: Schemathesis' examples phase uses them, so they name a completed sample on the fake.
EXAMPLE_VOICE, EXAMPLE_SAMPLE, EXAMPLE_SPEAKER = "21m00Tcm4TlvDq8ikWAM", "VW7YKqPnjY4h39yTbx2L", "VW7YKqPnjY4h39yTbx2L"
FAKE_MAX_ID_LENGTH = 256  # the fake answers 422 to a blank id or one longer than this


@pytest.fixture(scope="module")
def schemathesis_fake() -> Iterator[FakeElevenLabs]:
    """One fake for the whole Schemathesis run, with a completed sample under the spec's example ids."""
    with FakeElevenLabs() as fake:
        add_example_sample(fake)
        yield fake


def add_example_sample(fake: FakeElevenLabs) -> None:
    """A completed sample under the spec's example ids (one speaker, an MP3; the sample's audio a WAV)."""
    demo_speakers = fake.voices["voice-demo"]["sample-demo"].speakers
    fake.add_sample(
        EXAMPLE_VOICE,
        EXAMPLE_SAMPLE,
        speakers={EXAMPLE_SPEAKER: demo_speakers["speaker-1"]},
        status="completed",
        audio=demo_speakers["speaker-2"].audio,
    )


def waived_checks(case: schemathesis.Case[Any], status: int, fake: FakeElevenLabs) -> list[Any]:
    """The checks not applied to this one response, each for a reason the spec itself gives.

    - A 404 for ids that name nothing on the fake: ``status_code_conformance`` is waived. The upstream spec
      declares only 200 and 422, yet any real API answers 404 for a voice, sample or speaker that does not
      exist (and Schemathesis generates such ids all the time); everything else about that 404 (JSON body,
      content type, and the other checks) is still checked.
    - A 422 for a blank id (or one over 256 characters): ``positive_data_acceptance`` is waived. The spec
      puts no constraint on ids, but the fake refuses these with the spec's own 422 body so that clients can
      exercise their 422 handling (tests rely on it); the 422 itself is declared and its body is validated.
    - A 501 for an operation the fake has no behaviour for (one a re-pin added): the checks of the answer's
      status are waived (``not_a_server_error``, ``status_code_conformance``, ``positive_data_acceptance``,
      ``negative_data_rejection``: the fake does not read request bodies); it must still be JSON naming the
      operation, and the operation's parameters are still checked (422) before it.
    """
    # the ids as the fake sees them (Schemathesis keeps them percent-encoded once the case was sent)
    ids = {name: urllib.parse.unquote(str(value)) for name, value in (case.path_parameters or {}).items()}
    if status == 501 and case.operation.definition.raw["operationId"] in fake.unimplemented_operations:
        return [not_a_server_error, status_code_conformance, positive_data_acceptance, negative_data_rejection]
    if status == 404:
        sample = fake.voices.get(ids.get("voice_id", ""), {}).get(ids.get("sample_id", ""))
        if sample is None or ("speaker_id" in ids and ids["speaker_id"] not in sample.speakers):
            return [status_code_conformance]
    if status == 422 and any(not i.strip() or len(i) > FAKE_MAX_ID_LENGTH for i in ids.values()):
        return [positive_data_acceptance]
    return []


@SCHEMATHESIS_SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_schemathesis_finds_nothing_wrong_with_the_fake(
    case: schemathesis.Case[Any], schemathesis_fake: FakeElevenLabs
) -> None:
    """Every Schemathesis check (positive and negative data, undeclared methods) passes against the fake."""
    response = case.call(base_url=schemathesis_fake.base_url)
    case.validate_response(response, excluded_checks=waived_checks(case, response.status_code, schemathesis_fake))


REPIN = repinned()
REPINNED_SCHEMA = schemathesis.openapi.from_dict(REPIN.spec).include(operation_id=[*REPIN.added, REPIN.extended])


@pytest.fixture(scope="module")
def repinned_fake() -> Iterator[FakeElevenLabs]:
    """The fake following a re-pinned spec (operations and query parameters added), for Schemathesis."""
    with FakeElevenLabs(spec=REPIN.spec) as fake:
        add_example_sample(fake)
        yield fake


@REPINNED_SCHEMA.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_schemathesis_finds_nothing_wrong_with_the_fake_after_a_re_pin(
    case: schemathesis.Case[Any], repinned_fake: FakeElevenLabs
) -> None:
    """A re-pin adding operations (answered 501) and query parameters (checked, 422) keeps the fake conforming."""
    response = case.call(base_url=repinned_fake.base_url)
    case.validate_response(response, excluded_checks=waived_checks(case, response.status_code, repinned_fake))
    if response.status_code == 501:
        assert case.operation.definition.raw["operationId"] in response.json()["detail"]["message"]


def test_undeclared_methods_get_405_with_allow_and_unknown_paths_404() -> None:
    v = "/v1/voices/pvc/voice-demo/samples/sample-demo"
    with FakeElevenLabs() as fake, httpx.Client(base_url=fake.base_url) as http:
        for method in ("TRACE", "PATCH", "PUT", "DELETE", "OPTIONS", "QUERY", "POST"):
            response = http.request(method, f"{v}/speakers")
            assert (response.status_code, response.headers.get("allow")) == (405, "GET"), method
            assert response.json() == {"detail": "Method Not Allowed"}
        response = http.get(f"{v}/separate-speakers")
        assert (response.status_code, response.headers["allow"]) == (405, "POST")
        head = http.head(f"{v}/speakers/speaker-1/audio")  # no body, and the connection stays usable
        assert (head.status_code, head.headers["allow"], head.content) == (405, "GET", b"")
        assert http.get(f"{v}/speakers").status_code == 200
        for method in ("GET", "TRACE", "POST"):
            assert http.request(method, "/v1/nowhere").status_code == 404
        assert {entry.status for entry in fake.request_log} == {200, 404, 405}


# --- Prism: every request we send is one the spec allows --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prism_skip_reason(prism: Path, unavailable: Path, npm: str | None) -> str | None:
    """Why the Prism contract test cannot run (no npm, or npm could not install Prism), else ``None``."""
    if prism.exists():
        return None
    if npm is None:
        return "npm is not installed, so neither is Prism (@stoplight/prism-cli): contract test skipped"
    if unavailable.exists():
        why = " ".join(unavailable.read_text(errors="replace").split())[:400]
        return f"Prism is not installed, contract test skipped: {why} (`make prism` tries again)"
    return None


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prism mocking the built spec on a loopback port (request validation on, as by default)."""
    reason = prism_skip_reason(PRISM, PRISM_UNAVAILABLE, shutil.which("npm"))
    if reason is not None:
        pytest.skip(reason)
    if not PRISM.exists():
        pytest.fail(f"npm is installed but Prism is not ({PRISM} is missing): run `make prism`")
    folder = tmp_path_factory.mktemp("prism")
    spec = folder / "openapi.json"
    spec.write_bytes(build_spec.build_spec())
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (folder / "prism.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"Prism exited ({proc.returncode}): {(folder / 'prism.log').read_text()[-2000:]}")
                try:
                    httpx.get(url + "/v1/voices/pvc/v/samples/s/speakers", timeout=1)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        pytest.fail("Prism did not start within 30 s")
                    time.sleep(0.1)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


def _assert_prism_accepted(responses: list[httpx.Response]) -> None:
    for response in responses:
        where = f"{response.request.method} {response.request.url.raw_path.decode()}"
        assert "sl-violations" not in response.headers, f"{where}: {response.headers['sl-violations']}"
        assert response.status_code == 200, f"{where}: {response.status_code} {response.text[:300]}"
    operations = {operation_for(r.request.method, r.request.url.raw_path.decode().split("?", 1)[0]) for r in responses}
    assert {op.operation_id for op in operations if op} == {
        "get_separation_status",
        "start_speaker_separation",
        "get_speaker_audio",
        "get_sample_audio",
    }


def test_prism_accepts_every_request_of_the_sync_client(prism: str, tmp_path: Path) -> None:
    responses: list[httpx.Response] = []
    ids = ("21m00Tcm4TlvDq8ikWAM", "VW7YKqPnjY4h39yTbx2L")
    for key in ("sk-key", None):
        http = httpx.Client(event_hooks={"response": [responses.append]})
        with http, SpeakerAudioClient(key, base_url=prism, http_client=http, max_retries=0) as client:
            status = client.get_separation_status(*ids)
            assert status.status in ("not_started", "pending", "completed", "failed")
            client.get_separation_status("v/../x", "s?a#b")
            client.get_separation_status("ü 1", "%2e%2e")
            client.start_speaker_separation(*ids)
            with contextlib.suppress(AudioDecodeError):  # Prism's example audio is the text "audio_base_64"
                client.get_speaker_audio(*ids, "DCwhRBWXzGAHq8TQ4Fs18")
            with contextlib.suppress(AudioDecodeError):
                client.download_speaker_audio(*ids, "a/b c", tmp_path)
            with contextlib.suppress(AudioDecodeError):
                client.get_sample_audio(*ids, remove_background_noise=True)
            with contextlib.suppress(AudioDecodeError):
                client.download_sample_audio(*ids, tmp_path)
            with pytest.raises((SeparationTimeoutError, SeparationNotCompletedError)):
                client.wait_for_separation(*ids, timeout=0, poll_interval=0.01)
            with contextlib.suppress(SeparationNotCompletedError):
                client.download_all_speakers(*ids, tmp_path)
    assert len(responses) >= 16
    _assert_prism_accepted(responses)
    assert list(tmp_path.iterdir()) == []


async def test_prism_accepts_every_request_of_the_async_client(prism: str, tmp_path: Path) -> None:
    responses: list[httpx.Response] = []

    async def record(response: httpx.Response) -> None:
        responses.append(response)

    ids = ("21m00Tcm4TlvDq8ikWAM", "VW7YKqPnjY4h39yTbx2L")
    async with (
        httpx.AsyncClient(event_hooks={"response": [record]}) as http,
        AsyncSpeakerAudioClient("sk-key", base_url=prism, http_client=http, max_retries=0) as client,
    ):
        await client.get_separation_status(*ids)
        await client.start_speaker_separation(*ids)
        with contextlib.suppress(AudioDecodeError):
            await client.get_speaker_audio(*ids, "speaker 1")
        with contextlib.suppress(AudioDecodeError):
            await client.download_speaker_audio(*ids, "s", tmp_path)
        with contextlib.suppress(AudioDecodeError):
            await client.get_sample_audio(*ids)
        with contextlib.suppress(SeparationNotCompletedError):
            await client.download_all_speakers(*ids, tmp_path)
    _assert_prism_accepted(responses)


def test_prism_does_validate_requests(prism: str) -> None:
    """The control: Prism rejects a request the spec does not allow (so its silence above means something)."""
    response = httpx.get(prism + "/v1/voices/pvc/v/samples/s/audio?remove_background_noise=notabool")
    assert response.status_code == 422
    assert "remove_background_noise" in response.headers["sl-violations"]


def test_the_cli_against_prism(prism: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    for args in (["status", "v", "s", "--json"], ["separate", "v", "s"]):
        result = subprocess.run(
            [sys.executable, "-m", "speaker_audio", "--base-url", prism, "--api-key", "k", *args],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stderr


# --- `make prism` when npm cannot install Prism ---------------------------------------------------------

FAILING_NPM = """#!/bin/sh
# a stand-in npm whose registry is unreachable
if [ "$1" = config ]; then echo "http://127.0.0.1:9/"; exit 0; fi
echo "npm error code ECONNREFUSED" >&2
echo "npm error FetchError: request to http://127.0.0.1:9/@stoplight%2fprism-cli failed" >&2
exit 1
"""
WORKING_NPM = """#!/bin/sh
# a stand-in npm that installs a stand-in Prism
if [ "$1" = config ]; then echo "http://127.0.0.1:9/"; exit 0; fi
mkdir -p .tools/node_modules/.bin && printf '#!/bin/sh\\n' > .tools/node_modules/.bin/prism
chmod +x .tools/node_modules/.bin/prism
"""


def make_prism(folder: Path, npm: str | None, **env: str) -> subprocess.CompletedProcess[str]:
    """``make prism`` on a copy of our Makefile in ``folder``; ``npm``: a stand-in script, or None: the real one."""
    shutil.copy(ROOT / "Makefile", folder / "Makefile")
    path = os.environ["PATH"]
    if npm is not None:
        (folder / "bin").mkdir(exist_ok=True)
        (folder / "bin" / "npm").write_text(npm)
        (folder / "bin" / "npm").chmod(0o755)
        path = f"{folder / 'bin'}{os.pathsep}{path}"
    return subprocess.run(
        ["make", "--no-print-directory", "prism"],
        cwd=folder,
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("npm", ["stand-in", "real npm"])
def test_make_prism_goes_on_and_the_test_skips_with_the_reason_when_npm_fails(tmp_path: Path, npm: str) -> None:
    if npm == "real npm":
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed")
        # the real npm, pointed at a closed loopback port: no network is ever reached
        env = {"npm_config_registry": "http://127.0.0.1:9/", "npm_config_fetch_retries": "0"}
        result = make_prism(tmp_path, None, npm_config_cache=str(tmp_path / "npm-cache"), **env)
    else:
        result = make_prism(tmp_path, FAILING_NPM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "npm could not install @stoplight/prism-cli@5 (registry: http://127.0.0.1:9/)" in result.stdout
    assert "contract test will be skipped" in result.stdout
    prism, unavailable = tmp_path / ".tools/node_modules/.bin/prism", tmp_path / ".tools/prism-unavailable.txt"
    reason = prism_skip_reason(prism, unavailable, "npm")
    assert reason is not None
    assert "ECONNREFUSED" in reason
    assert "registry: http://127.0.0.1:9/" in reason


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_prism_forgets_the_failure_once_npm_succeeds(tmp_path: Path) -> None:
    assert make_prism(tmp_path, FAILING_NPM).returncode == 0
    assert (tmp_path / ".tools/prism-unavailable.txt").exists()
    result = make_prism(tmp_path, WORKING_NPM)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / ".tools/node_modules/.bin/prism").exists()
    assert not (tmp_path / ".tools/prism-unavailable.txt").exists()


def test_prism_is_skipped_only_with_a_reason(tmp_path: Path) -> None:
    prism, unavailable = tmp_path / "prism", tmp_path / "prism-unavailable.txt"
    assert "npm is not installed" in str(prism_skip_reason(prism, unavailable, None))
    assert prism_skip_reason(prism, unavailable, "/usr/bin/npm") is None  # npm, no Prism, no reason: a failure
    unavailable.write_text("npm could not install it:\nnpm error code E503\n")
    assert "npm could not install it: npm error code E503" in str(prism_skip_reason(prism, unavailable, "npm"))
    prism.touch()
    assert prism_skip_reason(prism, unavailable, "npm") is None

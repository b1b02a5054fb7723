"""The fake API as a tool for consumers: precise 404s, scoped faults, the request log, reset()."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import pytest

from speaker_audio import NotFoundError, SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs, Fault, RequestLogEntry

SAMPLES = "/v1/voices/pvc/voice-demo/samples"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1/voices/pvc/nobody/samples/sample-demo/speakers", "voice_not_found", "Voice nobody was not found"),
        (f"{SAMPLES}/nothing/speakers", "sample_not_found", "Sample nothing was not found"),
        ("/v1/voices/pvc/nobody/samples/sample-demo/audio", "voice_not_found", "Voice nobody was not found"),
        (f"{SAMPLES}/nothing/audio", "sample_not_found", "Sample nothing was not found"),
        (f"{SAMPLES}/sample-demo/speakers/nobody/audio", "speaker_not_found", "Speaker nobody was not found"),
    ],
)
def test_a_404_names_what_is_missing(fake: FakeElevenLabs, path: str, status: str, message: str) -> None:
    fake.voices["voice-demo"]["sample-demo"].status = "completed"
    response = httpx.get(fake.base_url + path)
    assert response.status_code == 404
    assert response.json() == {"detail": {"status": status, "message": message}}


def test_a_wrong_voice_id_is_named_in_the_client_error(fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(NotFoundError, match="Voice nobody"):
        client.start_speaker_separation("nobody", "sample-demo")


def test_a_fault_without_method_or_operation_hits_get_only(fake: FakeElevenLabs) -> None:
    fake.script(Fault(status=503, times=1))
    with httpx.Client(base_url=fake.base_url) as http:
        assert http.post(f"{SAMPLES}/sample-demo/separate-speakers").status_code == 200
        assert http.put(f"{SAMPLES}/sample-demo/speakers").status_code == 405
        assert http.get(f"{SAMPLES}/sample-demo/speakers").status_code == 503
        assert http.get(f"{SAMPLES}/sample-demo/speakers").status_code == 200


@pytest.mark.parametrize(
    ("fault", "hit"),
    [
        (Fault(status=500, method="post"), "POST separate"),
        (Fault(status=500, method="*"), "POST separate"),
        (Fault(status=500, operation="start_speaker_separation"), "POST separate"),
        (Fault(status=500, operation="get_speaker_audio"), "GET audio"),
        (Fault(status=500, operation="get_separation_status"), "GET status"),
        (Fault(status=500, path_contains="/speakers/speaker-1/"), "GET audio"),
        (Fault(status=500, method="POST", operation="get_speaker_audio"), None),  # both must match: never
    ],
)
def test_a_fault_hits_the_requests_it_names(completed_fake: FakeElevenLabs, fault: Fault, hit: str | None) -> None:
    completed_fake.script(fault)
    with httpx.Client(base_url=completed_fake.base_url) as http:
        answers = {
            "POST separate": http.post(f"{SAMPLES}/sample-demo/separate-speakers").status_code,
            "GET status": http.get(f"{SAMPLES}/sample-demo/speakers").status_code,
            "GET audio": http.get(f"{SAMPLES}/sample-demo/speakers/speaker-1/audio").status_code,
        }
    assert [name for name, status in answers.items() if status == 500] == ([hit] if hit else [])
    assert completed_fake.pending_faults == ([] if hit else [fault])


def test_an_unknown_operation_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown operation 'get_audio'.*get_speaker_audio"):
        Fault(status=500, operation="get_audio")


def test_the_request_log_has_one_line_per_request(fake: FakeElevenLabs, caplog: pytest.LogCaptureFixture) -> None:
    fake.script(Fault(drop="before_headers", path_contains="/audio"))
    with caplog.at_level(logging.INFO, logger="speaker_audio.testing"), httpx.Client(base_url=fake.base_url) as http:
        http.get(f"{SAMPLES}/sample-demo/speakers?x=1")
        http.request("TRACE", f"{SAMPLES}/sample-demo/speakers")
        with pytest.raises(httpx.TransportError):
            http.get(f"{SAMPLES}/sample-demo/audio")
    log = list(fake.request_log)
    assert [(e.method, e.raw_path, e.status) for e in log] == [
        ("GET", f"{SAMPLES}/sample-demo/speakers?x=1", 200),
        ("TRACE", f"{SAMPLES}/sample-demo/speakers", 405),
        ("GET", f"{SAMPLES}/sample-demo/audio", None),
    ]
    assert all(0 <= entry.duration_secs < 10 for entry in log)
    assert str(log[0]).startswith(f"GET {SAMPLES}/sample-demo/speakers?x=1 -> 200 (")
    assert str(log[2]).endswith("ms) [fault: drop=before_headers]")
    assert " -> dropped (" in str(log[2])
    assert [r.getMessage() for r in caplog.records if r.name == "speaker_audio.testing"] == [str(e) for e in log]


def test_a_log_line_escapes_control_characters() -> None:
    entry = RequestLogEntry("GET", "/v1/\x1b[2J", 404, 0.001)
    assert str(entry) == "GET /v1/\\x1b[2J -> 404 (1.0 ms)"


def test_reset_returns_a_shared_server_to_its_first_state() -> None:
    with FakeElevenLabs() as fake, httpx.Client(base_url=fake.base_url) as http:
        port = fake.port
        fake.add_sample("v", "s")
        fake.voices["voice-demo"]["sample-demo"].status = "completed"
        fake.script(Fault(status=500, times=3))
        fake.inject_random_faults([Fault(status=502)], rate=1.0)
        http.get(f"{SAMPLES}/sample-demo/speakers")
        fake.reset()
        assert (fake.port, sorted(fake.voices), fake.pending_faults) == (port, ["voice-demo"], [])
        assert (fake.requests, fake.request_log) == ([], [])
        response = http.get(f"{SAMPLES}/sample-demo/speakers")
        assert (response.status_code, response.json()["status"]) == (200, "not_started")


def test_a_request_answered_before_reset_is_not_logged_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The log line is written once the answer went out; a reset() in between must still win."""
    with FakeElevenLabs() as fake, httpx.Client(base_url=fake.base_url) as http:
        real_log = fake._log
        may_log, logged = threading.Event(), threading.Event()

        def late_log(*args: Any) -> None:
            may_log.wait(5)
            real_log(*args)
            logged.set()

        monkeypatch.setattr(fake, "_log", late_log)
        assert http.get(f"{SAMPLES}/sample-demo/speakers").status_code == 200  # answered; not yet logged
        fake.reset()
        may_log.set()
        assert logged.wait(5)
        assert fake.request_log == []

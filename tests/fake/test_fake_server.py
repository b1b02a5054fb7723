"""The fake API as a tool for consumers: real demo data unless told otherwise, precise 404s, scoped faults, the
request log, reset(), its options (a required key, recorded responses, listeners, serving in the foreground, query
checks), and helpers that are public and documented."""

from __future__ import annotations

import inspect
import logging
import threading
import time
from typing import Any

import attrs
import httpx
import pytest

import speaker_audio.testing
from speaker_audio import NotFoundError, SpeakerAudioClient
from speaker_audio.testing import (
    FakeElevenLabs,
    FakeSpeaker,
    Fault,
    RecordedResponse,
    RequestLogEntry,
    demo_clips,
)

SAMPLES = "/v1/voices/pvc/voice-demo/samples"


# --- demo data unless told otherwise ---------------------------------------------------------------------------


def test_a_completed_sample_has_speakers_with_audio_by_default(fake: FakeElevenLabs) -> None:
    fake.add_sample("v1", "s1", status="completed")
    clips = demo_clips()
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        status = client.get_separation_status("v1", "s1")
        assert sorted(status.speakers) == sorted(clips) == ["speaker-1", "speaker-2"]
        for name, (audio, media_type, secs) in clips.items():
            assert status.speakers[name].duration_secs == secs
            assert status.speakers[name].utterances
            speaker = client.get_speaker_audio("v1", "s1", name)
            assert (speaker.data, speaker.media_type, speaker.duration_secs) == (audio, media_type, secs)
            assert len(speaker.data) > 1000
        sample = client.get_sample_audio("v1", "s1")
        assert (sample.data, sample.media_type, sample.duration_secs) == clips["speaker-1"]


def test_the_default_sample_audio_is_the_demo_clip_of_its_media_type(fake: FakeElevenLabs) -> None:
    clips = {media_type: (audio, secs) for audio, media_type, secs in demo_clips().values()}
    for media_type, (audio, secs) in clips.items():
        sample = fake.add_sample("v", media_type, media_type=media_type)
        assert (sample.audio, sample.duration_secs) == (audio, secs)
    assert fake.add_sample("v", "s", media_type="audio/wav", duration_secs=9.0).duration_secs == 9.0
    with pytest.raises(ValueError, match="no demo clip is 'audio/ogg': pass the sample's audio"):
        fake.add_sample("v", "s", media_type="audio/ogg")


def test_no_speakers_and_empty_audio_only_when_asked_for(fake: FakeElevenLabs) -> None:
    fake.add_sample("v1", "s1", status="completed", speakers={}, audio=b"")
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        assert client.get_separation_status("v1", "s1").speakers == {}
        assert client.get_sample_audio("v1", "s1").data == b""


def test_samples_do_not_share_their_default_speakers(fake: FakeElevenLabs) -> None:
    first = fake.add_sample("v", "a")
    second = fake.add_sample("v", "b")
    first.speakers["speaker-1"].audio = b"changed"
    assert second.speakers["speaker-1"].audio == demo_clips()["speaker-1"][0]
    assert fake.voices["voice-demo"]["sample-demo"].speakers["speaker-1"].audio == demo_clips()["speaker-1"][0]


def test_a_fake_speaker_is_a_demo_clip_by_default() -> None:
    audio, media_type, secs = demo_clips()["speaker-1"]
    assert (FakeSpeaker().audio, FakeSpeaker().media_type, FakeSpeaker().duration_secs) == (audio, media_type, secs)
    assert FakeSpeaker(b"own").audio == b"own"


# --- a 404 names what is missing -------------------------------------------------------------------------------


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


# --- faults hit the requests they name -------------------------------------------------------------------------


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


# --- the request log, and reset() ------------------------------------------------------------------------------


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


# --- options: a required key, recorded responses, listeners, the foreground, query checks ----------------------


def test_the_fake_checks_the_api_key() -> None:
    with FakeElevenLabs(api_key="right") as fake, httpx.Client(base_url=fake.base_url) as http:
        url = "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers"
        assert http.get(url).status_code == 401
        assert http.get(url, headers={"xi-api-key": "wrong"}).json()["detail"]["status"] == "invalid_api_key"
        assert http.get(url, headers={"xi-api-key": "right"}).status_code == 200


def test_the_fake_records_responses_when_asked(fake: FakeElevenLabs) -> None:
    assert fake.responses == []
    with FakeElevenLabs(record_responses=True) as recording, httpx.Client(base_url=recording.base_url) as http:
        http.get("/v1/voices/pvc/voice-demo/samples/sample-demo/speakers")
        http.get("/v1/voices/pvc/voice-demo/samples/%20/speakers")
    [ok, invalid] = recording.responses
    assert (ok.status, ok.method, ok.fault) == (200, "GET", None)
    assert ok.headers["content-type"] == "application/json"
    assert ok.body is not None
    assert b'"not_started"' in ok.body
    assert invalid.status == 422
    assert invalid.raw_path.endswith("/%20/speakers")


def test_response_listeners_see_every_fake_in_the_process() -> None:
    seen: list[RecordedResponse] = []
    FakeElevenLabs.add_response_listener(seen.append)
    try:
        for _ in range(2):
            with FakeElevenLabs() as fake:
                httpx.get(fake.base_url + "/nowhere")
    finally:
        FakeElevenLabs.remove_response_listener(seen.append)
    assert [r.status for r in seen if r.raw_path == "/nowhere"] == [404, 404]


def test_run_serves_in_the_foreground_until_stopped() -> None:
    fake = FakeElevenLabs()
    ready = threading.Event()
    thread = threading.Thread(target=fake.run, kwargs={"on_ready": lambda f: ready.set()})
    thread.start()
    assert ready.wait(5)
    assert httpx.get(fake.base_url + "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers").status_code == 200
    fake.stop()
    thread.join(5)
    assert not thread.is_alive()


def test_the_fake_refuses_a_query_value_that_is_not_a_boolean(fake: FakeElevenLabs) -> None:
    import httpx

    path = "/v1/voices/pvc/voice-demo/samples/sample-demo/audio?remove_background_noise=maybe"
    response = httpx.get(fake.base_url + path)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "remove_background_noise"]


# --- the helpers for consumers are public and documented -------------------------------------------------------


def test_the_helpers_for_consumers_are_public_and_documented() -> None:
    public = set(speaker_audio.testing.__all__)
    assert {"FakeElevenLabs", "FakeSpeaker", "FakeSample", "Fault", "Drift", "demo_clips"} <= public
    assert {"RecordedRequest", "RecordedResponse", "RequestLogEntry"} <= public
    assert set(dir(speaker_audio.testing)) >= public
    for name in public:
        assert inspect.getdoc(getattr(speaker_audio.testing, name)), name
    for method in ("requests_to", "inject_random_faults", "script", "add_sample", "reset", "clear_faults"):
        assert inspect.getdoc(getattr(FakeElevenLabs, method)), method
    fields = {field.name for field in attrs.fields(RequestLogEntry)}
    assert {"method", "raw_path", "status", "duration_secs", "fault"} <= fields
    documented = inspect.getdoc(RequestLogEntry) or ""
    assert all(f"{name}:" in documented for name in ("raw_path", "duration_secs"))
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        _ = speaker_audio.testing.NoSuchThing  # type: ignore[attr-defined]


def test_the_request_log_holds_every_answer_a_call_has_received(monkeypatch: pytest.MonkeyPatch) -> None:
    # an answer's entry is written just after its last byte: a call may return first, and the log read then must
    # still hold it (here the entry is written 0.3 s late)
    from speaker_audio.testing import _server

    written = _server.FakeElevenLabs._log

    def late(self: FakeElevenLabs, *args: Any) -> None:
        time.sleep(0.3)
        written(self, *args)

    monkeypatch.setattr(_server.FakeElevenLabs, "_log", late)
    with FakeElevenLabs() as fake, SpeakerAudioClient(base_url=fake.base_url) as client:
        client.get_separation_status(*fake.demo_ids)
        assert [entry.status for entry in fake.request_log] == [200]

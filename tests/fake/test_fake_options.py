"""The fake API's options: a required key, recorded responses, listeners, serving in the foreground, query checks."""

from __future__ import annotations

import threading

import httpx

from speaker_audio.testing import FakeElevenLabs, RecordedResponse


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

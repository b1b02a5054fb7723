"""Status errors, retries, Retry-After, timeouts and dropped connections, on both clients; errors survive pickling;
an injected http client is used and left open; connections are reused across calls."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time

import httpx
import pytest
from _clients import ClientRunner, Kind, call, make_client
from conftest import TEST_KEY

from speaker_audio import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncSpeakerAudioClient,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SpeakerAudio,
    SpeakerAudioClient,
    UnprocessableEntityError,
    ValidationErrorDetail,
)
from speaker_audio.testing import FakeElevenLabs, Fault

IDS = ("voice-demo", "sample-demo", "speaker-1")
AUDIO_PATH = "/speakers/speaker-1/audio"
VOICE, SAMPLE = FakeElevenLabs.demo_ids
FULL_AUDIO_PATH = f"/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers/speaker-1/audio"


def runner(kind: Kind, fake: FakeElevenLabs, **kwargs: object) -> ClientRunner:
    return ClientRunner(kind, fake.base_url, **kwargs)


@pytest.mark.parametrize(
    ("status", "error_class", "retried"),
    [
        (400, APIStatusError, False),
        (401, AuthenticationError, False),
        (403, PermissionDeniedError, False),
        (404, NotFoundError, False),
        (408, APIStatusError, True),
        (409, APIStatusError, True),
        (422, UnprocessableEntityError, False),
        (429, RateLimitError, True),
        (500, InternalServerError, True),
        (502, InternalServerError, True),
        (503, InternalServerError, True),
    ],
)
def test_status_classes_and_which_are_retried(
    completed_fake: FakeElevenLabs, kind: Kind, status: int, error_class: type[APIStatusError], retried: bool
) -> None:
    completed_fake.script(Fault(status=status, headers={"request-id": "rid-7"}, times=10))
    run = runner(kind, completed_fake, max_retries=2)
    with pytest.raises(error_class) as info:
        run.call("get_speaker_audio", *IDS)
    error = info.value
    assert type(error) is error_class
    assert error.status_code == status
    assert error.request_id == "rid-7"
    assert error.body == {"detail": {"status": "fault", "message": f"scripted {status}"}}
    assert error.response.status_code == status
    assert str(status) in str(error)
    assert "rid-7" in str(error)
    attempts = len(completed_fake.requests_to(AUDIO_PATH))
    assert attempts == (3 if retried else 1)
    assert len(run.sleeps) == attempts - 1


def test_html_error_page_is_kept_as_text(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    completed_fake.script(Fault(status=502, body=page, headers={"Content-Type": "text/html"}, times=5))
    with pytest.raises(InternalServerError) as info:
        runner(kind, completed_fake, max_retries=1).call("get_speaker_audio", *IDS)
    assert info.value.body == page.decode()
    assert "502 Bad Gateway" in str(info.value)


def test_422_carries_parsed_validation_details(fake: FakeElevenLabs, kind: Kind) -> None:
    with pytest.raises(UnprocessableEntityError) as info:
        runner(kind, fake).call("get_speaker_audio", "voice-demo", " ", "speaker-1")
    assert info.value.errors == [ValidationErrorDetail(("path", "sample_id"), "Invalid id", "value_error")]
    loc, msg, type_ = info.value.errors[0]
    assert (loc, msg, type_) == (("path", "sample_id"), "Invalid id", "value_error")


def test_status_error_response_can_be_read(fake: FakeElevenLabs, kind: Kind) -> None:
    fake.script(Fault(status=500, body=b'{"detail": "boom"}'))
    with pytest.raises(InternalServerError) as info:
        ClientRunner(kind, fake.base_url, max_retries=0).call("get_separation_status", "voice-demo", "sample-demo")
    assert info.value.response.json() == {"detail": "boom"}
    assert info.value.response.text == '{"detail": "boom"}'


def test_retry_schedule_backs_off_exponentially_with_jitter(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=503, times=3))
    run = runner(kind, completed_fake, max_retries=3)
    audio = run.call("get_speaker_audio", *IDS)
    assert isinstance(audio, SpeakerAudio)
    assert len(completed_fake.requests_to(AUDIO_PATH)) == 4
    assert len(run.sleeps) == 3
    for delay, base in zip(run.sleeps, (0.5, 1.0, 2.0), strict=True):
        assert base * 0.75 <= delay <= base


def test_backoff_is_capped_at_eight_seconds(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=500, times=6))
    run = runner(kind, completed_fake, max_retries=6)
    run.call("get_speaker_audio", *IDS)
    assert max(run.sleeps) <= 8.0
    assert run.sleeps[-1] >= 8.0 * 0.75


def test_max_retries_zero_disables_retries(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=503, times=5))
    run = runner(kind, completed_fake, max_retries=0)
    with pytest.raises(InternalServerError):
        run.call("get_speaker_audio", *IDS)
    assert len(completed_fake.requests_to(AUDIO_PATH)) == 1
    assert run.sleeps == []


def test_retry_after_seconds_is_honoured(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=429, headers={"Retry-After": "7"}, times=1))
    run = runner(kind, completed_fake)
    run.call("get_speaker_audio", *IDS)
    assert run.sleeps == [7.0]


def test_retry_after_http_date_is_honoured(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    completed_fake.script(Fault(status=503, headers={"Retry-After": when}, times=1))
    run = runner(kind, completed_fake)
    run.call("get_speaker_audio", *IDS)
    [delay] = run.sleeps
    assert 27.0 <= delay <= 30.0


def test_retry_after_over_sixty_seconds_falls_back_to_backoff(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=429, headers={"Retry-After": "3600"}, times=1))
    run = runner(kind, completed_fake)
    run.call("get_speaker_audio", *IDS)
    [delay] = run.sleeps
    assert 0.375 <= delay <= 0.5


def test_rate_limit_error_exposes_retry_after(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=429, headers={"Retry-After": "12"}, times=5))
    with pytest.raises(RateLimitError) as info:
        runner(kind, completed_fake, max_retries=0).call("get_speaker_audio", *IDS)
    assert info.value.retry_after == 12.0


def test_real_short_retry_after_wait(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(status=429, headers={"Retry-After": "0.3"}, times=1))
    run = runner(kind, completed_fake)
    run.real_sleep = True
    started = time.monotonic()
    run.call("get_speaker_audio", *IDS)
    assert time.monotonic() - started >= 0.3
    assert len(completed_fake.requests_to(AUDIO_PATH)) == 2


def test_read_timeout_raises_api_timeout_error_after_retries(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(delay=1.0, times=2))
    run = runner(kind, completed_fake, timeout=0.2, max_retries=1)
    with pytest.raises(APITimeoutError) as info:
        run.call("get_speaker_audio", *IDS)
    assert isinstance(info.value, APIConnectionError)
    assert len(completed_fake.requests_to(AUDIO_PATH)) == 2


def test_timeout_then_success(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(delay=1.0, times=1))
    run = runner(kind, completed_fake, timeout=0.3, max_retries=1)
    assert isinstance(run.call("get_speaker_audio", *IDS), SpeakerAudio)


def test_our_timeout_applies_to_an_injected_client(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(delay=1.0, times=9))
    http: httpx.Client | httpx.AsyncClient
    no_timeout = None  # the injected client would wait forever on its own
    http = httpx.Client(timeout=no_timeout) if kind == "sync" else httpx.AsyncClient(timeout=no_timeout)
    run = ClientRunner(kind, completed_fake.base_url, timeout=0.2, max_retries=0)
    with pytest.raises(APITimeoutError):
        run.call_with_http_client(http, "get_speaker_audio", *IDS)


@pytest.mark.parametrize("drop", ["before_headers", "mid_body", "short_body", "chunked_cut"])
def test_dropped_connections_are_retried_then_raised(completed_fake: FakeElevenLabs, kind: Kind, drop: str) -> None:
    completed_fake.script(Fault(drop=drop, times=3))  # type: ignore[arg-type]
    run = runner(kind, completed_fake, max_retries=2)
    with pytest.raises(APIConnectionError):
        run.call("get_speaker_audio", *IDS)
    assert len(completed_fake.requests_to(AUDIO_PATH)) == 3


def test_dropped_connection_then_success(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(drop="mid_body", times=1))
    run = runner(kind, completed_fake, max_retries=2)
    audio = run.call("get_speaker_audio", *IDS)
    assert audio.media_type == "audio/mpeg"
    assert len(completed_fake.requests_to(AUDIO_PATH)) == 2


def test_connection_refused_is_an_api_connection_error(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        base_url = fake.base_url
    run = ClientRunner(kind, base_url, max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        run.call("get_speaker_audio", *IDS)
    assert not isinstance(info.value, APITimeoutError)
    assert len(run.sleeps) == 2


def test_post_is_not_retried_once_it_reached_the_server(fake: FakeElevenLabs, kind: Kind) -> None:
    fake.script(Fault(status=503, method="POST", times=5))
    run = runner(kind, fake, max_retries=3)
    with pytest.raises(InternalServerError):
        run.call("start_speaker_separation", "voice-demo", "sample-demo")
    assert len(fake.requests_to("separate-speakers")) == 1
    fake.clear_faults()
    fake.script(Fault(drop="before_headers", method="POST", times=5))
    with pytest.raises(APIConnectionError):
        run.call("start_speaker_separation", "voice-demo", "sample-demo")
    assert len(fake.requests_to("separate-speakers")) == 2


def test_post_is_retried_when_it_never_connected(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        base_url = fake.base_url
    run = ClientRunner(kind, base_url, max_retries=2)
    with pytest.raises(APIConnectionError):
        run.call("start_speaker_separation", "voice-demo", "sample-demo")
    assert len(run.sleeps) == 2


def test_each_retry_is_logged_at_info(
    completed_fake: FakeElevenLabs, kind: Kind, caplog: pytest.LogCaptureFixture
) -> None:
    completed_fake.script(Fault(status=503, times=2))
    with caplog.at_level(logging.INFO, logger="speaker_audio"):
        runner(kind, completed_fake, max_retries=2).call("get_speaker_audio", *IDS)
    records = [r for r in caplog.records if r.name == "speaker_audio"]
    assert len(records) == 2
    assert all(r.levelno == logging.INFO for r in records)
    first = records[0].getMessage()
    assert "GET /v1/voices/pvc/voice-demo/samples/sample-demo/speakers/speaker-1/audio" in first
    assert "attempt 2" in first
    assert "503" in first
    assert "attempt 3" in records[1].getMessage()


def test_not_found_for_unknown_sample(fake: FakeElevenLabs, kind: Kind) -> None:
    with pytest.raises(NotFoundError) as info:
        runner(kind, fake).call("get_separation_status", "voice-demo", "nope")
    assert info.value.body["detail"]["status"] == "sample_not_found"


def test_auth_failure_with_wrong_key(kind: Kind) -> None:
    with FakeElevenLabs(api_key="right") as fake:
        with pytest.raises(AuthenticationError):
            runner(kind, fake, api_key="wrong").call("get_separation_status", "voice-demo", "sample-demo")
        ok = runner(kind, fake, api_key="right").call("get_separation_status", "voice-demo", "sample-demo")
        assert ok.status == "not_started"


def test_a_401_says_when_no_key_was_sent_and_how_to_set_one(kind: Kind) -> None:
    ids = ("voice-demo", "sample-demo")
    with FakeElevenLabs(api_key="right") as fake:
        with pytest.raises(AuthenticationError) as without_key:
            runner(kind, fake).call("get_separation_status", *ids)
        assert "no API key was sent" in str(without_key.value)
        assert "ELEVENLABS_API_KEY" in str(without_key.value)
        assert "api_key=" in str(without_key.value)
        with pytest.raises(AuthenticationError) as wrong_key:
            runner(kind, fake, api_key="wrong").call("get_separation_status", *ids)
        assert "no API key was sent" not in str(wrong_key.value)
        # a key header that an injected http client adds itself is a key sent, too
        own: httpx.Client | httpx.AsyncClient = (httpx.Client if kind == "sync" else httpx.AsyncClient)(
            headers={"xi-api-key": "wrong"}
        )
        with pytest.raises(AuthenticationError) as injected:
            runner(kind, fake).call_with_http_client(own, "get_separation_status", *ids)
        assert "no API key was sent" not in str(injected.value)
        assert [r.headers.get("xi-api-key") for r in fake.requests] == [None, "wrong", "wrong"]


def test_env_vars_supply_key_and_base_url(
    completed_fake: FakeElevenLabs, kind: Kind, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVENLABS_API_KEY", "from-env")
    monkeypatch.setenv("ELEVENLABS_BASE_URL", completed_fake.base_url)
    from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient

    if kind == "sync":
        with SpeakerAudioClient() as client:
            assert client.base_url == completed_fake.base_url
            client.get_separation_status("voice-demo", "sample-demo")
    else:
        import asyncio

        async def go() -> None:
            async with AsyncSpeakerAudioClient() as client:
                await client.get_separation_status("voice-demo", "sample-demo")

        asyncio.run(go())
    assert completed_fake.requests[0].headers["xi-api-key"] == "from-env"


def test_error_body_json_detail_is_in_the_message(fake: FakeElevenLabs, kind: Kind) -> None:
    body = json.dumps({"detail": {"status": "quota_exceeded", "message": "You are out of credits"}}).encode()
    fake.script(Fault(status=401, body=body))
    with pytest.raises(AuthenticationError, match="out of credits"):
        runner(kind, fake).call("get_separation_status", "voice-demo", "sample-demo")


def test_errors_survive_pickling(completed_fake: FakeElevenLabs) -> None:
    import pickle

    from speaker_audio import RateLimitError, SpeakerDownloadError, UnprocessableEntityError

    completed_fake.script(Fault(status=429, headers={"Retry-After": "3"}))
    with SpeakerAudioClient(base_url=completed_fake.base_url, max_retries=0) as client:
        with pytest.raises(RateLimitError) as rate:
            client.get_speaker_audio(*IDS)
        with pytest.raises(UnprocessableEntityError) as invalid:
            client.get_speaker_audio("voice-demo", " ", "x")
    for error in (rate.value, invalid.value):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert str(copy) == str(error)
        assert copy.status_code == error.status_code
        assert copy.body == error.body
    assert pickle.loads(pickle.dumps(rate.value)).retry_after == 3.0
    assert pickle.loads(pickle.dumps(invalid.value)).errors == invalid.value.errors
    download = SpeakerDownloadError("x failed", speaker_id="x", completed={}, not_downloaded=["x"])
    assert pickle.loads(pickle.dumps(download)).speaker_id == "x"


# --- an injected http client is used and left open; connections are reused across calls ---------------------


def test_injected_http_client_is_used_and_left_open(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    seen: list[str] = []
    http: httpx.Client | httpx.AsyncClient
    if kind == "sync":
        http = httpx.Client(event_hooks={"request": [lambda r: seen.append(str(r.url))]})
    else:

        async def hook(request: httpx.Request) -> None:
            seen.append(str(request.url))

        http = httpx.AsyncClient(event_hooks={"request": [hook]})
    run = ClientRunner(kind, completed_fake.base_url)
    audio = run.call_with_http_client(http, "get_speaker_audio", *IDS)
    assert isinstance(audio, SpeakerAudio)
    assert seen == [completed_fake.base_url + "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers/speaker-1/audio"]
    assert run.http_client_closed_after is False


def test_connections_are_reused_across_calls(completed_fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        for _ in range(5):
            client.get_speaker_audio(*IDS)

    async def go() -> None:
        async with AsyncSpeakerAudioClient(base_url=completed_fake.base_url) as aclient:
            for _ in range(5):
                await aclient.get_speaker_audio(*IDS)

    asyncio.run(go())
    ports = [r.client_port for r in completed_fake.requests]
    assert len(ports) == 10
    assert len(set(ports[:5])) == 1
    assert len(set(ports[5:])) == 1


# --- connection errors and timeouts name the scheme, host and port ------------------------------------------------


def test_connection_errors_name_scheme_host_and_port(kind: Kind) -> None:
    with FakeElevenLabs() as closed:
        base_url = closed.base_url
    client = make_client(kind, api_key=TEST_KEY, base_url=base_url, max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
    assert f"connection failed for GET {base_url}{FULL_AUDIO_PATH}: " in str(caught.value)


def test_timeouts_name_scheme_host_and_port(kind: Kind) -> None:
    with FakeElevenLabs() as fake:
        fake.script(Fault(path_contains="/audio", delay=5, times=9))
        client = make_client(kind, base_url=fake.base_url, timeout=0.2, max_retries=0)
        with pytest.raises(APITimeoutError) as caught:
            call(client, "get_speaker_audio", VOICE, SAMPLE, "speaker-1")
        assert f"for GET {fake.base_url}{FULL_AUDIO_PATH}" in str(caught.value)


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

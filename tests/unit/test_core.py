"""The sans-I/O core without sockets: ids, Retry-After, retry decisions, configuration, safe names, deadlines."""

from __future__ import annotations

import email.utils
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from speaker_audio import SpeakerAudioClient, _http_errors, _requests, _retry, _settings
from speaker_audio._files import safe_file_stem
from speaker_audio._operations import SPEAKER_AUDIO, START_SEPARATION
from speaker_audio.errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    InvalidIdError,
    NotFoundError,
    ResponseValidationError,
)

GET = SPEAKER_AUDIO.request(None, {"voice_id": "v", "sample_id": "s", "speaker_id": "sp"}, {})
POST = START_SEPARATION.request(None, {"voice_id": "v", "sample_id": "s"}, {})


def response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://x/p"))


def test_request_specs_come_from_the_generated_operations() -> None:
    spec = SPEAKER_AUDIO.request(
        _settings.Secret("SECRET-KEY"), {"voice_id": "a b", "sample_id": "c/d", "speaker_id": "é"}, {}
    )
    assert spec.method == "GET"
    assert spec.path == "/v1/voices/pvc/a%20b/samples/c%2Fd/speakers/%C3%A9/audio"
    # the key is not in the spec's headers: its auth writes it (under the spec's header name) as the request is sent
    assert spec.headers == {}
    assert spec.auth is not None
    assert spec.auth.header == "xi-api-key"
    request = httpx.Request("GET", "http://x/p")
    flow = spec.auth.auth_flow(request)
    assert next(flow).headers["xi-api-key"] == "SECRET-KEY"
    flow.close()
    assert request.headers["xi-api-key"] == _settings.REDACTED  # redacted once sent (or failed)
    assert spec.idempotent
    assert "SECRET-KEY" not in repr(spec) + repr(spec.auth) + repr(tuple(spec)) + str(list(spec))
    assert not POST.idempotent
    assert POST.path.endswith("/separate-speakers")
    unauthenticated = SPEAKER_AUDIO.request(None, {"voice_id": "v", "sample_id": "s", "speaker_id": "sp"}, {})
    assert unauthenticated.headers == {}
    assert unauthenticated.auth is None


@pytest.mark.parametrize("bad", ["", ".", "..", "a\x00", "\n", "x\r", "\x1b[31m", "\x85"])
def test_invalid_ids(bad: str) -> None:
    with pytest.raises(InvalidIdError):
        _requests.validate_id("speaker_id", bad)


@pytest.mark.parametrize("good", ["...", ".a", "a.", "a/b", "%2e%2e", "日本", " x ", "a b"])
def test_unusual_but_valid_ids(good: str) -> None:
    assert _requests.validate_id("speaker_id", good) == good


@given(st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127)), st.text(".", max_size=3)))
def test_the_quick_check_of_usual_ids_agrees_with_the_full_rules(value: str) -> None:
    value = value * (1 + 400 // (len(value) + 1)) if len(value) % 5 == 0 else value  # long ones too
    outcomes = []
    for check in (_requests.validate_id, _requests._validate_any_id):
        try:
            outcomes.append(check("speaker_id", value))
        except InvalidIdError as error:
            outcomes.append(str(error))
    assert outcomes[0] == outcomes[1]


def test_non_string_id() -> None:
    with pytest.raises(InvalidIdError, match="must be a str"):
        _requests.validate_id("voice_id", 5)


def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert _http_errors.parse_retry_after(httpx.Headers({"retry-after": "3"}), now=now) == 3.0
    assert _http_errors.parse_retry_after(httpx.Headers({"retry-after": " 1.5 "}), now=now) == 1.5
    assert _http_errors.parse_retry_after(httpx.Headers({"retry-after-ms": "250"}), now=now) == 0.25
    date = email.utils.formatdate(now + 20, usegmt=True)
    assert _http_errors.parse_retry_after(httpx.Headers({"retry-after": date}), now=now) == pytest.approx(20.0)
    past = email.utils.formatdate(now - 20, usegmt=True)
    assert _http_errors.parse_retry_after(httpx.Headers({"retry-after": past}), now=now) == 0.0
    for junk in ("soon", "-1", "nan", "inf", "", "Mon, 99 Foo 2020"):
        assert _http_errors.parse_retry_after(httpx.Headers({"retry-after": junk}), now=now) is None
    assert _http_errors.parse_retry_after(httpx.Headers({}), now=now) is None


@given(st.text(max_size=60), st.text(max_size=20))
def test_parse_retry_after_never_raises(value: str, ms: str) -> None:
    headers = httpx.Headers([(b"retry-after", value.encode("utf-8")), (b"retry-after-ms", ms.encode("utf-8"))])
    result = _http_errors.parse_retry_after(headers)
    assert result is None or result >= 0.0


@given(st.binary(max_size=200))
def test_status_error_never_raises_on_any_body(body: bytes) -> None:
    error = _http_errors.status_error(response(500), body)
    assert isinstance(error, InternalServerError)
    assert len(str(error)) < 500


def test_request_id_headers() -> None:
    assert _http_errors.request_id_of(httpx.Headers({"x-request-id": "b"})) == "b"
    assert _http_errors.request_id_of(httpx.Headers({"request-id": "a", "x-request-id": "b"})) == "a"
    assert _http_errors.request_id_of(httpx.Headers()) is None


def test_retry_policy_decisions() -> None:
    policy = _retry.RetryPolicy(max_retries=2, jitter=lambda: 0.0)
    err503 = _http_errors.status_error(response(503), b"")
    assert policy.next_delay(GET, err503, 0) == 0.5
    assert policy.next_delay(GET, err503, 1) == 1.0
    assert policy.next_delay(GET, err503, 2) is None
    assert policy.next_delay(POST, err503, 0) is None
    assert policy.next_delay(GET, _http_errors.status_error(response(404), b""), 0) is None
    assert policy.next_delay(GET, ResponseValidationError("x"), 0) is None
    refused = APIConnectionError("refused")
    refused.__cause__ = httpx.ConnectError("refused")
    dropped = APIConnectionError("dropped")
    dropped.__cause__ = httpx.ReadError("dropped")
    assert policy.next_delay(POST, refused, 0) == 0.5
    assert policy.next_delay(POST, dropped, 0) is None
    assert policy.next_delay(GET, dropped, 0) == 0.5
    assert isinstance(_http_errors.status_error(response(404), b""), NotFoundError)
    with pytest.raises(ValueError, match="max_retries"):
        _retry.RetryPolicy(max_retries=-1)


def test_configuration_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _settings.resolve_base_url(None) == "https://api.elevenlabs.io"
    monkeypatch.setenv("ELEVENLABS_BASE_URL", "http://127.0.0.1:9/")
    assert _settings.resolve_base_url(None) == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="http"):
        _settings.resolve_base_url("ftp://x")
    assert _settings.resolve_api_key(None) is None
    monkeypatch.setenv("ELEVENLABS_API_KEY", "env-key")
    secret = _settings.resolve_api_key(None)
    assert secret is not None
    assert secret.reveal() == "env-key"
    with pytest.raises(ValueError, match="line break"):
        _settings.resolve_api_key("a\nb")


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:9/?x=1", "http://127.0.0.1:9/#f", "ftp://x"])
def test_unusable_base_urls_are_value_errors(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        SpeakerAudioClient(base_url=url)


@pytest.mark.parametrize(
    "hostile", ["../../x", "/etc/passwd", "a\\b", "CON", "con.txt", "", "x" * 500, "日本語", "..", ".", "a\x00b"]
)
def test_safe_file_stem_never_leaves_the_directory(hostile: str, tmp_path: Path) -> None:
    stem = safe_file_stem(hostile)
    assert stem
    assert "/" not in stem
    assert "\\" not in stem
    assert stem not in (".", "..")
    assert len(stem) <= 120
    assert (tmp_path / f"{stem}.mp3").resolve().parent == tmp_path.resolve()
    assert stem.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL"}


@given(st.text(max_size=300), st.text(max_size=300))
def test_safe_file_stems_of_different_ids_differ(a: str, b: str) -> None:
    if a != b:
        assert safe_file_stem(a) != safe_file_stem(b)
    stem = safe_file_stem(a)
    assert stem
    assert "/" not in stem
    assert not stem.startswith(".")


def test_deadline_cuts_each_timeout_to_the_time_left() -> None:
    from speaker_audio._deadline import Deadline

    deadline = Deadline.total(5.0, now=100.0, where="GET /x")
    assert deadline is not None
    clipped = deadline.clip(httpx.Timeout(connect=1.0, read=60.0, write=60.0, pool=None), now=100.0)
    assert (clipped.connect, clipped.read, clipped.write, clipped.pool) == (1.0, 5.0, 5.0, 5.0)
    assert deadline.wait(2.0, now=104.0) == 1.0
    with pytest.raises(APITimeoutError, match=r"total_timeout of 5s ran out before the request was sent \(GET /x\)"):
        deadline.clip(httpx.Timeout(60.0), now=105.0)


def test_deadline_refuses_a_retry_wait_that_would_pass_it() -> None:
    from speaker_audio._deadline import Deadline

    deadline = Deadline.total(5.0, now=100.0, where="GET /x")
    assert deadline is not None
    error = APIConnectionError("reset")
    deadline.after_failure(error, 1.0, now=101.0)  # a wait that ends in time: retry
    deadline.after_failure(error, None, now=101.0)  # not retried: raised as is by the caller
    with pytest.raises(APITimeoutError, match="before retrying after APIConnectionError: reset") as caught:
        deadline.after_failure(error, 4.5, now=101.0)
    assert caught.value.__cause__ is error
    with pytest.raises(APITimeoutError) as again:  # the deadline's own error is not wrapped twice
        deadline.after_failure(caught.value, 1.0, now=106.0)
    assert again.value is caught.value

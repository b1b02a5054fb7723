"""Per-call options (timeout, total_timeout, max_retries, extra_headers, extra_query), default headers and
with_options, on both clients against the fake on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _clients import ClientRunner, Kind

from speaker_audio import APITimeoutError, AsyncSpeakerAudioClient, SpeakerAudioClient
from speaker_audio._version import USER_AGENT
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids
KINDS = ("sync", "async")


def call(kind: str, fake: FakeElevenLabs, method: str, *args: Any, client_args: Any = None, **kwargs: Any) -> Any:
    """``method(*args, **kwargs)`` on a new client of ``kind`` (sync or async) against ``fake``."""
    settings = {"base_url": fake.base_url, **(client_args or {})}
    if kind == "sync":
        with SpeakerAudioClient(**settings) as client:
            return getattr(client, method)(*args, **kwargs)

    async def go() -> Any:
        async with AsyncSpeakerAudioClient(**settings) as client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(go())


@pytest.mark.parametrize("kind", KINDS)
def test_a_per_call_timeout_bounds_that_call_only(kind: str, fake: FakeElevenLabs) -> None:
    fake.script(Fault(delay=3.0, times=5))
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        call(
            kind,
            fake,
            "get_separation_status",
            VOICE,
            SAMPLE,
            client_args={"timeout": 60.0},
            timeout=0.2,
            max_retries=0,
        )
    assert time.monotonic() - started < 2.0  # the client's own timeout is 60 s


@pytest.mark.parametrize("kind", KINDS)
def test_per_call_max_retries_overrides_the_clients(kind: str, fake: FakeElevenLabs) -> None:
    fake.script(Fault(status=503, times=5))
    with pytest.raises(Exception, match="503"):
        call(kind, fake, "get_separation_status", VOICE, SAMPLE, client_args={"max_retries": 3}, max_retries=0)
    assert len(fake.requests_to("/speakers")) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_extra_headers_and_query_reach_the_server_on_that_call_only(kind: str, fake: FakeElevenLabs) -> None:
    status = call(
        kind, fake, "get_separation_status", VOICE, SAMPLE, extra_headers={"x-trace": "1"}, extra_query={"a": "b"}
    )
    assert status.sample_id == SAMPLE
    first = fake.requests[-1]
    assert first.headers.get("x-trace") == "1"
    assert httpx.URL(first.raw_path).params.get("a") == "b"
    call(kind, fake, "get_separation_status", VOICE, SAMPLE)
    second = fake.requests[-1]
    assert "x-trace" not in second.headers
    assert "a" not in httpx.URL(second.raw_path).params


@pytest.mark.parametrize("kind", KINDS)
def test_options_apply_to_every_request_of_a_call(kind: str, fake: FakeElevenLabs, tmp_path: Any) -> None:
    speakers = {"a": FakeSpeaker(b"\xff\xfb" + bytes(200)), "b": FakeSpeaker(b"\xff\xfb" + bytes(300))}
    fake.add_sample("v-opts", "s-opts", status="completed", speakers=speakers)
    fake.script(Fault(status=503, operation="get_speaker_audio"))
    call(
        kind, fake, "download_all_speakers", "v-opts", "s-opts", tmp_path, extra_headers={"x-trace": "7"}, max_retries=1
    )
    sent = [r for r in fake.requests if "v-opts" in r.raw_path]
    assert len(sent) == 4  # the status, two speakers and one retry
    assert all(r.headers.get("x-trace") == "7" for r in sent)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["xi-api-key", "XI-API-KEY", " Xi-Api-Key "])
def test_the_key_header_cannot_be_set_or_removed(kind: str, name: str, fake: FakeElevenLabs) -> None:
    with pytest.raises(ValueError, match="key header"):
        call(kind, fake, "get_separation_status", VOICE, SAMPLE, extra_headers={name: "x"})
    with pytest.raises(ValueError, match="key header"):
        call(kind, fake, "get_separation_status", VOICE, SAMPLE, client_args={"default_headers": {name: ""}})
    assert fake.requests == []  # refused before any I/O


def test_the_key_header_refused_is_the_one_the_pinned_spec_sends_the_key_in(
    fake: FakeElevenLabs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from speaker_audio import _operations

    with SpeakerAudioClient(api_key="the-key", base_url=fake.base_url) as client:
        client.get_separation_status(VOICE, SAMPLE)
    sent_in = {name.lower() for name, value in fake.requests[-1].headers.items() if value == "the-key"}
    assert sent_in
    assert _operations.key_headers() == sent_in
    # a re-pin that renames the header: the new name is refused, the old one is an ordinary header again
    monkeypatch.setattr(_operations, "key_headers", lambda: frozenset({"x-renamed-key"}))
    with pytest.raises(ValueError, match="key header 'X-Renamed-Key'"):
        SpeakerAudioClient(base_url=fake.base_url, default_headers={"X-Renamed-Key": "k"})
    for name in sent_in:
        SpeakerAudioClient(base_url=fake.base_url, default_headers={name: "not the key"}).close()


@pytest.mark.parametrize("kind", KINDS)
def test_default_headers_arrive_on_every_call_beside_our_user_agent(kind: str, fake: FakeElevenLabs) -> None:
    call(kind, fake, "get_separation_status", VOICE, SAMPLE, client_args={"default_headers": {"x-team": "t"}})
    sent = fake.requests[-1]
    assert sent.headers.get("x-team") == "t"
    assert sent.headers.get("user-agent") == USER_AGENT
    call(kind, fake, "get_separation_status", VOICE, SAMPLE, client_args={"default_headers": {"User-Agent": "me/1"}})
    assert fake.requests[-1].headers.get("user-agent") == "me/1"


def test_an_injected_client_keeps_our_user_agent_unless_it_set_one(fake: FakeElevenLabs) -> None:
    with httpx.Client() as http, SpeakerAudioClient(base_url=fake.base_url, http_client=http) as client:
        client.get_separation_status(VOICE, SAMPLE)
    assert fake.requests[-1].headers.get("user-agent") == USER_AGENT
    with (
        httpx.Client(headers={"user-agent": "theirs/2"}) as http,
        SpeakerAudioClient(base_url=fake.base_url, http_client=http) as client,
    ):
        client.get_separation_status(VOICE, SAMPLE)
    assert fake.requests[-1].headers.get("user-agent") == "theirs/2"


def test_with_options_shares_the_pool_and_closing_it_keeps_the_pool_open(fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=fake.base_url, max_retries=2) as client:
        other = client.with_options(max_retries=0, default_headers={"x-other": "1"})
        assert (other.max_retries, client.max_retries) == (0, 2)
        assert type(other) is SpeakerAudioClient
        assert other._http is client._http
        other.get_separation_status(VOICE, SAMPLE)
        assert fake.requests[-1].headers.get("x-other") == "1"
        other.close()
        client.get_separation_status(VOICE, SAMPLE)  # the pool is still open
        assert "x-other" not in fake.requests[-1].headers
        with pytest.raises(TypeError, match="api_key"):
            client.with_options(api_key="k")


async def test_async_with_options_returns_an_async_client(fake: FakeElevenLabs) -> None:
    async with AsyncSpeakerAudioClient(base_url=fake.base_url) as client:
        other = client.with_options(timeout=5.0)
        assert isinstance(other, AsyncSpeakerAudioClient)
        assert other.timeout.read == 5.0
        assert client.timeout.read != 5.0
        await other.aclose()
        assert (await client.get_separation_status(VOICE, SAMPLE)).sample_id == SAMPLE


@pytest.mark.parametrize("kind", KINDS)
def test_wait_takes_request_timeout_for_its_polls(kind: str, fake: FakeElevenLabs) -> None:
    fake.add_sample("v-wait", "s-wait", status="completed")
    fake.script(Fault(delay=3.0, operation="get_separation_status"))
    started = time.monotonic()
    status = call(kind, fake, "wait_for_separation", "v-wait", "s-wait", timeout=30, request_timeout=0.2, max_retries=1)
    assert status.status == "completed"
    assert time.monotonic() - started < 2.5


def test_options_are_checked_before_any_io(fake: FakeElevenLabs) -> None:
    checks: list[Callable[[SpeakerAudioClient], Any]] = [
        lambda c: c.get_separation_status(VOICE, SAMPLE, max_retries=-1),
        lambda c: c.get_separation_status(VOICE, SAMPLE, total_timeout=0),
        lambda c: c.get_separation_status(VOICE, SAMPLE, extra_query={"a": 1}),  # type: ignore[dict-item]
        lambda c: c.get_separation_status(VOICE, SAMPLE, extra_headers={"x": "a\r\nb"}),
    ]
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        for check in checks:
            with pytest.raises((ValueError, TypeError)):
                check(client)
    assert fake.requests == []


def test_an_extra_header_replaces_a_default_header_of_the_same_name_in_any_case(kind: Kind) -> None:
    """One value per header name: the call's, as for User-Agent (never both, in two spellings)."""
    with FakeElevenLabs() as fake:
        fake.add_sample("v", "s", status="completed")
        run = ClientRunner(kind, fake.base_url, default_headers={"X-Trace": "default"})
        sent = run.call_seeing_requests("get_separation_status", "v", "s", extra_headers={"x-trace": "call"})
    assert [request.headers.get_list("x-trace") for request in sent] == [["call"]]

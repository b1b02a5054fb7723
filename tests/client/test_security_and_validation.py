"""The key never leaks; malformed 2xx bodies are typed errors; files are written atomically."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from _clients import ClientRunner, Kind

from speaker_audio import (
    AsyncSpeakerAudioClient,
    AudioDecodeError,
    ResponseTooLargeError,
    ResponseValidationError,
    SpeakerAudio,
    SpeakerAudioClient,
    SpeakerAudioError,
)
from speaker_audio.testing import FakeElevenLabs, Fault

IDS = ("voice-demo", "sample-demo", "speaker-1")


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


@pytest.mark.parametrize(
    ("body", "error_class", "match"),
    [
        (b"<html>oops</html>", ResponseValidationError, "JSON"),
        (b"[1, 2]", ResponseValidationError, None),
        (b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": "abc"}', ResponseValidationError, "duration_secs"),  # noqa: E501
        (b'{"audio_base_64": "AAAA", "duration_secs": 1.0}', ResponseValidationError, "media_type"),
        (b'{"audio_base_64": "AAAA", "media_type": 5, "duration_secs": 1.0}', ResponseValidationError, "media_type"),
        (b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": true}', ResponseValidationError, "duration_secs"),  # noqa: E501
        (b'{"media_type": "audio/mpeg", "duration_secs": 1.0}', ResponseValidationError, "audio_base_64"),
        (b'{"audio_base_64": 12, "media_type": "audio/mpeg", "duration_secs": 1.0}', ResponseValidationError, "audio_base_64"),  # noqa: E501
        (b'{"audio_base_64": "AA-A", "media_type": "audio/mpeg", "duration_secs": 1.0}', AudioDecodeError, None),
        (b'{"audio_base_64": "AAA", "media_type": "audio/mpeg", "duration_secs": 1.0}', AudioDecodeError, None),
        (b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": 1.0', ResponseValidationError, None),
    ],
)  # fmt: skip
def test_malformed_2xx_bodies_are_typed_errors(
    completed_fake: FakeElevenLabs, kind: Kind, body: bytes, error_class: type[Exception], match: str | None
) -> None:
    completed_fake.script(Fault(status=200, body=body, times=5))
    with pytest.raises(error_class, match=match):
        ClientRunner(kind, completed_fake.base_url).call("get_speaker_audio", *IDS)
    assert len(completed_fake.requests) == 1  # validation errors are not retried


@pytest.mark.parametrize(
    "payload",
    [
        {"voice_id": "v", "sample_id": "s", "status": "weird"},
        {"voice_id": "v", "sample_id": "s"},
        {"voice_id": 1, "sample_id": "s", "status": "pending"},
        {"voice_id": "v", "sample_id": "s", "status": "completed", "speakers": []},
        {"voice_id": "v", "sample_id": "s", "status": "completed", "speakers": {"a": {"speaker_id": "a"}}},
        {
            "voice_id": "v",
            "sample_id": "s",
            "status": "completed",
            "speakers": {"a": {"speaker_id": "a", "duration_secs": 1, "utterances": [{"start": "0", "end": 1}]}},
        },
        {"voice_id": "v", "sample_id": "s", "status": "completed", "selected_speaker_ids": [1]},
    ],
)
def test_malformed_status_bodies_are_typed_errors(fake: FakeElevenLabs, kind: Kind, payload: dict[str, Any]) -> None:
    fake.script(Fault(status=200, body=json.dumps(payload).encode()))
    with pytest.raises(ResponseValidationError):
        ClientRunner(kind, fake.base_url, strict=True).call("get_separation_status", "voice-demo", "sample-demo")
    fake.script(Fault(status=200, body=json.dumps(payload).encode()))
    if payload.get("status") == "weird":  # only an unknown status: accepted as drift unless strict
        status = ClientRunner(kind, fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")
        assert status.status == "weird"
        return
    with pytest.raises(ResponseValidationError):
        ClientRunner(kind, fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")


def test_response_larger_than_the_limit_is_an_error(completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path) -> None:
    run = ClientRunner(kind, completed_fake.base_url, max_response_bytes=1000)
    with pytest.raises(ResponseTooLargeError, match="1000"):
        run.call("get_speaker_audio", *IDS)
    with pytest.raises(ResponseTooLargeError):
        run.call("download_speaker_audio", *IDS, tmp_path / "a.mp3")
    assert list(tmp_path.iterdir()) == []


def test_download_writes_atomically_and_refuses_to_clobber(
    completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    run = ClientRunner(kind, completed_fake.base_url)
    expected = run.call("get_speaker_audio", *IDS).data
    path = run.call("download_speaker_audio", *IDS, tmp_path / "one.mp3")
    assert path == tmp_path / "one.mp3"
    assert path.read_bytes() == expected
    requests_before = len(completed_fake.requests)
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        run.call("download_speaker_audio", *IDS, path)
    assert len(completed_fake.requests) == requests_before  # refused before any request
    assert path.read_bytes() == b"precious"
    assert run.call("download_speaker_audio", *IDS, path, overwrite=True).read_bytes() == expected
    into_dir = run.call("download_speaker_audio", "voice-demo", "sample-demo", "speaker-2", tmp_path)
    assert into_dir == tmp_path / "speaker-2.wav"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.mp3", "speaker-2.wav"]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=200, body=b'{"audio_base_64": "AAAA!!", "media_type": "audio/mpeg", "duration_secs": 1}'),
        Fault(status=200, body=b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": "x"}'),
        Fault(status=500),
        Fault(drop="mid_body"),
    ],
    ids=["bad-base64", "bad-duration", "500", "mid-body"],
)
def test_failed_download_leaves_nothing_and_keeps_existing_file(
    completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path, fault: Fault
) -> None:
    target = tmp_path / "keep.mp3"
    target.write_bytes(b"old content")
    completed_fake.script(attrs.evolve(fault, times=10))
    with pytest.raises(SpeakerAudioError):
        ClientRunner(kind, completed_fake.base_url, max_retries=1).call(
            "download_speaker_audio", *IDS, target, overwrite=True
        )
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mp3"]


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path: Path) -> None:
    audio = SpeakerAudio(data=b"ID3abc", media_type="audio/mpeg", duration_secs=1)
    assert audio.duration_secs == 1.0
    path = audio.save(tmp_path / "x.mp3")
    assert path.read_bytes() == b"ID3abc"
    with pytest.raises(FileExistsError):
        SpeakerAudio(data=b"other", media_type="audio/mpeg", duration_secs=1.0).save(path)
    assert path.read_bytes() == b"ID3abc"
    SpeakerAudio(data=b"other", media_type="audio/mpeg", duration_secs=1.0).save(path, overwrite=True)
    assert path.read_bytes() == b"other"
    assert audio.save(tmp_path) == tmp_path / "audio.mp3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio.mp3", "x.mp3"]
    assert "ID3abc" not in repr(audio)
    assert "<6 bytes>" in repr(audio)


def test_results_are_frozen_and_typed() -> None:
    audio = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=2.5)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        audio.media_type = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SpeakerAudio(data="x", media_type="audio/wav", duration_secs=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs="2.5")  # type: ignore[arg-type]


def test_saved_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    path = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=1.0).save(tmp_path / "a.wav")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask

"""A consumer's typed use of the public API: clients, results with their ``.model``, errors.

Type checkers (mypy --strict, pyright strict) must accept it against the installed wheel, and every
``assert_type`` pins a type that the packages importing speaker-audio rely on; pytest runs it against the fake.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, assert_type

import httpx
import pytest

import speaker_audio
from speaker_audio import (
    APIStatusError,
    AsyncSpeakerAudioClient,
    InvalidIdError,
    NotFoundError,
    RateLimitError,
    RawResponse,
    SeparationNotCompletedError,
    SeparationStatus,
    Speaker,
    SpeakerAudio,
    SpeakerAudioClient,
    SpeakerAudioError,
    SpecDrift,
    UnprocessableEntityError,
    Utterance,
    ValidationErrorDetail,
    decode_audio_base64,
    extension_for_media_type,
    get_speaker_audio,
    sniff_media_type,
)
from speaker_audio.testing import FakeElevenLabs, Fault, demo_clips
from speaker_audio_api.models import (
    SpeakerAudioResponseModel,
    SpeakerResponseModel,
    SpeakerSeparationResponseModel,
    SpeakerSeparationResponseModelStatus,
    UtteranceResponseModel,
)

if TYPE_CHECKING:  # a result built by hand takes only its generated model (an unused ignore fails mypy --strict)
    Speaker("speaker", 1.0, model=SpeakerAudioResponseModel("", "audio/mpeg", 1.0))  # type: ignore[arg-type]
    Utterance(0.0, 1.0, model="not a model")  # type: ignore[arg-type]


def separated(client: SpeakerAudioClient, voice_id: str, sample_id: str) -> SeparationStatus:
    client.start_speaker_separation(voice_id, sample_id)
    return client.wait_for_separation(voice_id, sample_id, timeout=30.0, poll_interval=0.01)


def test_results_and_their_models(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    voice_id, sample_id = fake_elevenlabs.demo_ids
    with SpeakerAudioClient("sk-any", base_url=fake_elevenlabs.base_url, timeout=10.0, max_retries=0) as client:
        assert_type(client.base_url, str)
        assert_type(client.max_retries, int)
        status = separated(client, voice_id, sample_id)
        assert_type(status, SeparationStatus)
        assert_type(status.model, SpeakerSeparationResponseModel)
        assert_type(status.model.status, SpeakerSeparationResponseModelStatus)
        assert status.model.status is SpeakerSeparationResponseModelStatus.COMPLETED
        assert status.is_completed
        assert_type(status.speakers, dict[str, Speaker])
        assert_type(status.selected_speaker_ids, list[str])
        speaker = status.speakers["speaker-1"]
        assert_type(speaker.duration_secs, float)
        assert_type(speaker.model, SpeakerResponseModel)
        assert speaker.model.speaker_id == speaker.speaker_id
        for utterance in speaker.utterances:
            assert_type(utterance, Utterance)
            assert_type(utterance.model, UtteranceResponseModel)
            assert utterance.start <= utterance.end

        audio = client.get_speaker_audio(voice_id, sample_id, "speaker-1")
        assert_type(audio, SpeakerAudio)
        assert_type(audio.data, bytes)
        assert_type(audio.model, SpeakerAudioResponseModel)
        assert audio.model.audio_base_64 == ""
        assert audio.model.media_type == audio.media_type == "audio/mpeg"
        assert audio.data == demo_clips()["speaker-1"][0]
        saved: Path = audio.save(tmp_path, overwrite=False)
        assert saved.name == "audio" + audio.extension

        received: list[int] = []
        path = client.download_speaker_audio(
            voice_id, sample_id, "speaker-2", tmp_path, on_progress=lambda p: received.append(p.audio_bytes)
        )
        assert_type(path, Path)
        assert path.read_bytes() == demo_clips()["speaker-2"][0]
        (tmp_path / "all").mkdir()
        all_files = client.download_all_speakers(voice_id, sample_id, tmp_path / "all", concurrency=2)
        assert_type(all_files, dict[str, Path])
        assert sorted(all_files) == ["speaker-1", "speaker-2"]

    one = get_speaker_audio(voice_id, sample_id, "speaker-2", base_url=fake_elevenlabs.base_url)
    assert sniff_media_type(one.data) == one.media_type
    assert extension_for_media_type(one.media_type) == ".wav"
    assert decode_audio_base64("AAEC") == b"\x00\x01\x02"
    assert_type(speaker_audio.__version__, str)


def test_the_async_client(fake_elevenlabs: FakeElevenLabs) -> None:
    async def fetch() -> tuple[SeparationStatus, SpeakerAudio]:
        async with AsyncSpeakerAudioClient(base_url=fake_elevenlabs.base_url, max_retries=0) as client:
            await client.start_speaker_separation(*fake_elevenlabs.demo_ids)
            status = await client.wait_for_separation(*fake_elevenlabs.demo_ids, poll_interval=0.01)
            return status, await client.get_speaker_audio(*fake_elevenlabs.demo_ids, "speaker-2")

    status, audio = asyncio.run(fetch())
    assert status.model.voice_id == status.voice_id
    assert audio.model.duration_secs == audio.duration_secs


def test_typed_errors(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    voice_id, sample_id = fake_elevenlabs.demo_ids
    with SpeakerAudioClient(base_url=fake_elevenlabs.base_url, max_retries=0) as client:
        with pytest.raises(InvalidIdError):
            client.get_speaker_audio(voice_id, sample_id, "")

        with pytest.raises(NotFoundError) as not_found:
            client.get_separation_status("no-such-voice", sample_id)
        error: APIStatusError = not_found.value
        assert_type(error.status_code, int)
        assert_type(error.request_id, str | None)
        assert error.status_code == 404
        assert isinstance(error, SpeakerAudioError)

        with pytest.raises(UnprocessableEntityError) as unprocessable:
            client.get_separation_status(voice_id, " ")
        details = unprocessable.value.errors
        assert_type(details, list[ValidationErrorDetail])
        assert details[0].loc == ("path", "sample_id")

        fake_elevenlabs.script(Fault(status=429, headers={"Retry-After": "3"}))
        with pytest.raises(RateLimitError) as limited:
            client.get_separation_status(voice_id, sample_id)
        assert_type(limited.value.retry_after, float | None)
        assert limited.value.retry_after == 3.0

        with pytest.raises(SeparationNotCompletedError) as not_completed:
            client.download_all_speakers(voice_id, sample_id, tmp_path)
        assert_type(not_completed.value.status, str)


def test_per_call_options_metadata_and_drift(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    voice_id, sample_id = fake_elevenlabs.demo_ids
    drifts: list[SpecDrift] = []
    with SpeakerAudioClient(
        base_url=fake_elevenlabs.base_url, default_headers={"x-team": "t"}, strict=False, on_drift=drifts.append
    ) as client:
        quick = client.with_options(max_retries=0)
        assert_type(quick, SpeakerAudioClient)
        separated(client, voice_id, sample_id)
        audio = quick.get_speaker_audio(
            voice_id,
            sample_id,
            "speaker-1",
            timeout=10.0,
            total_timeout=30.0,
            max_retries=1,
            extra_headers={"x-trace": "1"},
            extra_query={"a": "b"},
        )
        assert_type(audio.request_id, str | None)
        assert_type(audio.headers, httpx.Headers)
        assert_type(audio.speaker_id, str)
        assert audio.speaker_id == "speaker-1"
        raw = client.with_raw_response.download_speaker_audio(voice_id, sample_id, "speaker-1", tmp_path)
        assert_type(raw, RawResponse[Path])
        assert_type(raw.status_code, int)
        assert_type(raw.request_id, str | None)
        assert_type(raw.parse(), Path)
        assert raw.parse().exists()
        status = client.wait_for_separation(voice_id, sample_id, request_timeout=5.0, poll_interval=0.01)
        assert_type(status.request_id, str | None)
    assert drifts == []

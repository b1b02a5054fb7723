"""Defects found in review, each pinned by a test: key hygiene, early refusals, robust parsing and cleanup."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from _clients import ClientRunner, Kind

from speaker_audio import (
    APITimeoutError,
    InternalServerError,
    InvalidIdError,
    ResponseValidationError,
    SpeakerAudioClient,
)
from speaker_audio._files import AtomicFile
from speaker_audio.testing import FakeElevenLabs, Fault

IDS = ("voice-demo", "sample-demo", "speaker-1")


@pytest.mark.parametrize("key", ["sk-SECRET ", " sk-SECRET", "sk-SEC RET", "sk-SECRÉT", "sk-SECRET\t", "sk\nSECRET"])
def test_unusable_keys_are_refused_without_echoing_them(key: str) -> None:
    with pytest.raises(ValueError, match="API key") as info:
        SpeakerAudioClient(key)
    assert "SECRET" not in str(info.value)
    assert "SEC RET" not in str(info.value)


def test_directory_destination_refuses_existing_file_before_any_request(
    completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    (tmp_path / "speaker-1.wav").write_bytes(b"keep")  # any audio extension counts: the type is not known yet
    with pytest.raises(FileExistsError):
        ClientRunner(kind, completed_fake.base_url).call("download_speaker_audio", *IDS, tmp_path)
    assert completed_fake.requests == []
    assert (tmp_path / "speaker-1.wav").read_bytes() == b"keep"


@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_json_is_a_typed_error(fake: FakeElevenLabs, kind: Kind, status: int) -> None:
    fake.script(Fault(status=status, body=b"[" * 200_000, times=9))
    expected = ResponseValidationError if status == 200 else InternalServerError
    with pytest.raises(expected):
        ClientRunner(kind, fake.base_url, max_retries=0).call("get_separation_status", "voice-demo", "sample-demo")


@pytest.mark.parametrize("number", [b"1e999", b"NaN", b"-Infinity"])
def test_non_finite_numbers_are_refused(completed_fake: FakeElevenLabs, kind: Kind, number: bytes) -> None:
    body = b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": ' + number + b"}"
    completed_fake.script(Fault(status=200, body=body))
    with pytest.raises(ResponseValidationError):
        ClientRunner(kind, completed_fake.base_url).call("get_speaker_audio", *IDS)


def test_status_error_response_can_be_read(fake: FakeElevenLabs, kind: Kind) -> None:
    fake.script(Fault(status=500, body=b'{"detail": "boom"}'))
    with pytest.raises(InternalServerError) as info:
        ClientRunner(kind, fake.base_url, max_retries=0).call("get_separation_status", "voice-demo", "sample-demo")
    assert info.value.response.json() == {"detail": "boom"}
    assert info.value.response.text == '{"detail": "boom"}'


def test_our_timeout_applies_to_an_injected_client(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    completed_fake.script(Fault(delay=1.0, times=9))
    http: httpx.Client | httpx.AsyncClient
    no_timeout = None  # the injected client would wait forever on its own
    http = httpx.Client(timeout=no_timeout) if kind == "sync" else httpx.AsyncClient(timeout=no_timeout)
    run = ClientRunner(kind, completed_fake.base_url, timeout=0.2, max_retries=0)
    with pytest.raises(APITimeoutError):
        run.call_with_http_client(http, "get_speaker_audio", *IDS)


def test_lone_surrogate_id_is_an_invalid_id(fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(InvalidIdError, match="surrogate"):
        client.get_speaker_audio("voice-demo", "sample-demo", "\ud800")
    assert fake.requests == []


@pytest.mark.parametrize("timeout", [float("nan"), -1.0])
def test_wait_for_separation_refuses_a_nan_or_negative_timeout(fake: FakeElevenLabs, timeout: float) -> None:
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(ValueError, match="timeout"):
        client.wait_for_separation("voice-demo", "sample-demo", timeout=timeout)


def test_abort_removes_the_temporary_file_even_when_close_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    atomic = AtomicFile(tmp_path / "x.mp3")
    atomic.write(b"partial")

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.file, "close", full_disk)
    atomic.abort()
    assert list(tmp_path.iterdir()) == []


def test_invalid_header_failures_do_not_quote_header_values() -> None:
    from speaker_audio import _http_errors
    from speaker_audio._operations import SPEAKER_AUDIO

    spec = SPEAKER_AUDIO.request(None, dict(zip(("voice_id", "sample_id", "speaker_id"), IDS, strict=True)), {})
    error = _http_errors.transport_error(httpx.LocalProtocolError("Illegal header value b'sk-SECRET '"), spec)
    assert "SECRET" not in str(error)
    assert "invalid request" in str(error)


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


def test_download_memory_does_not_grow_with_the_audio(fake: FakeElevenLabs, tmp_path: Path) -> None:
    """End to end through the client: a 24 MB download allocates a small, bounded amount at its peak."""
    import os
    import tracemalloc

    from speaker_audio.testing import FakeSpeaker

    audio = os.urandom(24 * 1024 * 1024)
    fake.add_sample("v", "big", speakers={"s": FakeSpeaker(audio=audio)}, status="completed")
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        client.get_separation_status("v", "big")  # warm the connection and the imports
        tracemalloc.start()
        try:
            path = client.download_speaker_audio("v", "big", "s", tmp_path / "big.mp3")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert path.stat().st_size == len(audio)
    assert path.read_bytes() == audio
    # the fake server (same process) encodes 256 KiB at a time; the client holds a chunk or two
    assert peak < 4 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 24 MiB download"


def test_download_reports_bytes_received(completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path) -> None:
    seen: list[int] = []
    path = ClientRunner(kind, completed_fake.base_url).call(
        "download_speaker_audio", "voice-demo", "sample-demo", "speaker-2", tmp_path, progress=seen.append
    )
    [request] = completed_fake.requests_to("/speakers/speaker-2/audio")
    assert seen == sorted(seen)
    assert seen[0] >= 0
    assert seen[-1] == len(path.read_bytes())  # decoded audio bytes, not the (4/3 larger) base64 body
    assert request.method == "GET"


def test_annotations_resolve_once_the_result_classes_are_loaded() -> None:
    import typing

    import speaker_audio

    assert speaker_audio.SpeakerAudio is not None  # loads the result classes (as building a client does)
    assert typing.get_type_hints(speaker_audio.SpeakerAudioClient.get_speaker_audio)["return"] is (
        speaker_audio.SpeakerAudio
    )
    hints = typing.get_type_hints(speaker_audio.AsyncSpeakerAudioClient.get_separation_status)
    assert hints["return"] is speaker_audio.SeparationStatus
    assert typing.get_type_hints(speaker_audio.get_speaker_audio)["return"] is speaker_audio.SpeakerAudio


def test_one_pass_route_refuses_an_escaped_duplicate_audio_member() -> None:
    from speaker_audio._operations import SPEAKER_AUDIO
    from speaker_audio._streaming import StreamingAudioDecoder, decode_whole_body

    AUDIO_MEMBER = SPEAKER_AUDIO.member()

    body = b'{"audio_base_64":"QUJD","audio\\u005fbase_64":"WFla","media_type":"audio/mpeg","duration_secs":1}'
    with pytest.raises(ResponseValidationError, match="more than one"):
        decode_whole_body(body, audio_field=AUDIO_MEMBER)
    with pytest.raises(ResponseValidationError, match="more than one"):
        StreamingAudioDecoder(audio_field=AUDIO_MEMBER).feed(body)
    nested = b'{"x": {"audio_base_64": 1, "audio_base_64": 2}, "audio_base_64": "QUJD"}'
    assert decode_whole_body(nested, audio_field=AUDIO_MEMBER) == (b"ABC", {"x": {"audio_base_64": 2}})


def test_missing_directory_with_a_trailing_slash_is_not_a_file_name(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    # a trailing slash names a directory: it is created, and the file is <speaker><ext> inside it
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        path = client.download_speaker_audio(*IDS, f"{tmp_path}/newdir/")
    assert path.parent == tmp_path / "newdir"
    assert [p.name for p in tmp_path.iterdir()] == ["newdir"]
    assert [p.name for p in (tmp_path / "newdir").iterdir()] == [path.name]


def test_files_follow_the_current_umask(tmp_path: Path) -> None:
    import os
    import stat

    from speaker_audio import SpeakerAudio

    previous = os.umask(0o077)
    try:
        path = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=1.0).save(tmp_path / "private.wav")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:9/?x=1", "http://127.0.0.1:9/#f", "ftp://x"])
def test_unusable_base_urls_are_value_errors(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        SpeakerAudioClient(base_url=url)


def test_cancelled_downloads_stop_at_the_next_chunk_and_leave_nothing(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    from speaker_audio._workflow import DownloadCancelled, SpeakerDownloads

    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        status = client.get_separation_status("voice-demo", "sample-demo")
    downloads = SpeakerDownloads(status, tmp_path)
    with downloads.open_file("speaker-1") as file:  # the clients discard the file as this block does
        sink = downloads.sink_factory("speaker-1", file, 1 << 20)()
        sink.feed(b'{"audio_base_64": "QUJD')
        downloads.cancel()
        with pytest.raises(DownloadCancelled):
            sink.feed(b'REVG", "media_type": "audio/mpeg", "duration_secs": 1}')
        sink.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DownloadCancelled):
        downloads.open_file("speaker-2")  # no new download starts either
    with AtomicFile(tmp_path / "x.mp3") as file, pytest.raises(DownloadCancelled):
        downloads.sink_factory("speaker-2", file, 1 << 20)()  # nor a new attempt

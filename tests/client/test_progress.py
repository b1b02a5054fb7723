"""Progress reports decoded audio bytes, with the expected total."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from _clients import ClientRunner, Kind
from hypothesis import given
from hypothesis import strategies as st

import speaker_audio
from speaker_audio import DownloadProgress
from speaker_audio._inflate import inflater_for
from speaker_audio._sinks import estimate_audio_bytes, expected_body_bytes
from speaker_audio.testing import FakeElevenLabs, demo_clips

MP3 = demo_clips()["speaker-1"][0]  # 6,336 bytes of audio in an 8,519-byte body


def test_progress_counts_audio_bytes_not_body_bytes(completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path) -> None:
    counts: list[int] = []
    events: list[DownloadProgress] = []
    ClientRunner(kind, completed_fake.base_url).call(
        "download_speaker_audio",
        "voice-demo",
        "sample-demo",
        "speaker-1",
        tmp_path,
        progress=counts.append,
        on_progress=events.append,
    )
    assert counts[-1] == len(MP3) == 6336  # was 8,519: the base64 JSON body
    assert counts == sorted(counts)
    *running, last = events
    assert [e.done for e in events] == [False] * len(running) + [True]
    assert (last.audio_bytes, last.expected_audio_bytes) == (len(MP3), len(MP3))  # exact when done
    assert last.body_bytes == last.expected_body_bytes == 8519  # Content-Length
    for event in running:
        assert event.expected_body_bytes == 8519
        # an estimate from Content-Length: never below the count, above the final size only by a few bytes
        assert event.expected_audio_bytes is not None
        assert event.audio_bytes <= event.expected_audio_bytes
        assert len(MP3) <= event.expected_audio_bytes <= len(MP3) + 100
    assert [e.audio_bytes for e in running] == counts


def test_a_large_download_reports_a_rising_count_against_a_steady_total(
    fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    audio = bytes(range(256)) * 8192  # 2 MiB: many chunks
    fake.add_sample("v", "s", audio=audio, media_type="audio/wav")
    events: list[DownloadProgress] = []
    path = ClientRunner(kind, fake.base_url).call(
        "download_sample_audio", "v", "s", tmp_path, on_progress=events.append
    )
    assert path.read_bytes() == audio
    assert len(events) > 3
    assert len({e.expected_audio_bytes for e in events[:-1]}) == 1  # known from the first chunk on
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions)  # type: ignore[type-var]
    assert fractions[-1] == 1.0
    assert events[-1].expected_audio_bytes == len(audio)


def test_download_all_keeps_its_callback_and_adds_totals_per_speaker(
    completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    legacy: list[tuple[str, int, bool]] = []
    events: list[DownloadProgress] = []
    lock = threading.Lock()

    def progress(speaker_id: str, received: int, done: bool) -> None:
        with lock:
            legacy.append((speaker_id, received, done))

    def on_progress(event: DownloadProgress) -> None:
        with lock:
            events.append(event)

    ClientRunner(kind, completed_fake.base_url).call(
        "download_all_speakers", "voice-demo", "sample-demo", tmp_path, progress=progress, on_progress=on_progress
    )
    sizes = {name: len(audio) for name, (audio, _, _) in demo_clips().items()}
    assert {(s, n) for s, n, done in legacy if done} == set(sizes.items())
    finals = {e.speaker_id: e for e in events if e.done}
    assert {s: (e.audio_bytes, e.expected_audio_bytes) for s, e in finals.items()} == {
        s: (n, n) for s, n in sizes.items()
    }


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


def test_no_content_length_means_no_total(fake: FakeElevenLabs, tmp_path: Path) -> None:
    from speaker_audio.testing import Fault

    fake.script(Fault(drop="chunked_cut", path_contains="/audio"))  # chunked: no Content-Length, then cut
    events: list[DownloadProgress] = []
    with pytest.raises(speaker_audio.APIConnectionError):
        ClientRunner("sync", fake.base_url, max_retries=0).call(
            "download_sample_audio", "voice-demo", "sample-demo", tmp_path, on_progress=events.append
        )
    assert events
    assert all(e.expected_audio_bytes is None and e.expected_body_bytes is None for e in events)
    assert list(tmp_path.iterdir()) == []


# --- the pure pieces -------------------------------------------------------------------------------------


def test_expected_body_bytes_reads_content_length_unless_compressed() -> None:
    def expected(headers: dict[str, str]) -> int | None:
        return expected_body_bytes(headers, inflater_for(httpx.Headers(headers)))

    assert expected({"content-length": "8519"}) == 8519
    assert expected({"content-length": "8519", "content-encoding": "identity"}) == 8519
    assert expected({"content-length": "300", "content-encoding": "gzip"}) is None
    assert expected({}) is None
    assert expected({"content-length": "x"}) is None
    assert expected({"content-length": "-1"}) is None


@given(audio=st.binary(max_size=3000), tail=st.text(max_size=80))
def test_the_estimate_is_exact_for_audio_last_and_above_by_the_tail_otherwise(audio: bytes, tail: str) -> None:
    import base64
    import json

    encoded = base64.b64encode(audio).decode()
    head = '{"media_type": "audio/mpeg", "audio_base_64": "'
    last = f'{head}{encoded}"}}'.encode()
    assert estimate_audio_bytes(len(last), len(head)) - len(audio) in (0, 1, 2)  # up to 2 bytes of "=" padding
    head = '{"audio_base_64": "'
    first = f'{head}{encoded}", "x": {json.dumps(tail)}}}'.encode()
    estimate = estimate_audio_bytes(len(first), len(head))
    other = len(first) - len(head) - len(encoded) - 2  # the members after the audio
    assert len(audio) <= estimate <= len(audio) + other * 3 // 4 + 2

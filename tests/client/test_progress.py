"""Progress reports decoded audio bytes, with the expected total (Python API and CLI)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _clients import ClientRunner, Kind
from hypothesis import given
from hypothesis import strategies as st

import speaker_audio
from speaker_audio import DownloadProgress
from speaker_audio._body import estimate_audio_bytes, expected_body_bytes
from speaker_audio._progress_text import format_duration, format_size, format_transfer
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, demo_clips

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
    assert expected_body_bytes({"content-length": "8519"}) == 8519
    assert expected_body_bytes({"content-length": "8519", "content-encoding": "identity"}) == 8519
    assert expected_body_bytes({"content-length": "300", "content-encoding": "gzip"}) is None
    assert expected_body_bytes({}) is None
    assert expected_body_bytes({"content-length": "x"}) is None
    assert expected_body_bytes({"content-length": "-1"}) is None


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


def test_format_transfer() -> None:
    assert format_transfer(0, None, 0.0) == "0 B"
    assert format_transfer(1_500_000, None, 1.0) == "1.5 MB, 1.5 MB/s"
    assert format_transfer(1_500_000, 3_000_000, 1.0) == "1.5 MB of 3.0 MB (50%), 1.5 MB/s, 1 s left"
    assert format_transfer(6336, 6336, 0.5) == "6.3 kB of 6.3 kB (100%), 12.7 kB/s"
    assert format_transfer(10, 5, 1.0) == "10 B of 10 B (100%), 10 B/s"  # an estimate below the count: capped
    assert format_transfer(1_000, 1_000_000, 1.0) == "1.0 kB of 1.0 MB (0%), 1.0 kB/s, 16 min 39 s left"
    assert format_transfer(0, 0, 1.0) == "0 B of 0 B (100%)"


def test_format_size_and_duration() -> None:
    assert [format_size(n) for n in (0, 999, 1000, 6336, 1_500_000, 2e9, 5e12)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "6.3 kB",
        "1.5 MB",
        "2.0 GB",
        "5000.0 GB",
    ]
    assert [format_duration(s) for s in (0, 0.4, 7, 59.6, 125, 3600, 3725, -3)] == [
        "0 s",
        "0 s",
        "7 s",
        "1 min 00 s",
        "2 min 05 s",
        "1 h 00 min",
        "1 h 02 min",
        "0 s",
    ]


# --- the CLI --------------------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "speaker_audio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_cli_progress_shows_total_percentage_and_rate_when_forced(fake: FakeElevenLabs, tmp_path: Path) -> None:
    audio = bytes(range(256)) * 4096  # 1 MiB
    fake.add_sample("v", "s", audio=audio, media_type="audio/wav")
    result = _cli("--base-url", fake.base_url, "--progress", "sample-audio", "v", "s", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    frames = [frame.removeprefix("\x1b[K") for frame in result.stderr.splitlines()]  # "\r" reads as a line end
    drawn = [f for f in frames if f.startswith("downloading sample s: ")]
    assert drawn[-1].startswith("downloading sample s: 1.0 MB of 1.0 MB (100%), ")  # the final, exact line
    assert drawn[-1].endswith("/s")
    assert (tmp_path / "s.wav").read_bytes() == audio


def test_cli_draws_no_progress_when_piped_without_the_option(fake: FakeElevenLabs, tmp_path: Path) -> None:
    result = _cli("--base-url", fake.base_url, "sample-audio", "voice-demo", "sample-demo", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "\x1b[K" not in result.stderr
    assert "%" not in result.stderr


def test_cli_download_all_progress_sums_every_speaker(fake: FakeElevenLabs, tmp_path: Path) -> None:
    speakers = {"a": FakeSpeaker(audio=b"\x00" * 3000), "b": FakeSpeaker(audio=b"\x01" * 7000)}
    fake.add_sample("v", "s", speakers=speakers, status="completed")
    result = _cli("--base-url", fake.base_url, "--progress", "download-all", "v", "s", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "downloading: 2/2 speakers done, 10.0 kB of 10.0 kB (100%)" in result.stderr

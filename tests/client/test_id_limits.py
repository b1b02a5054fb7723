"""Ids are bounded: an id too long for a URL path is an ``InvalidIdError`` before any I/O, never ``httpx.InvalidURL``.

A speaker id that the server lists and that is too long is skipped and reported by ``download_all_speakers``, like
other unusable ids; the CLI exits 2 for such an id on its command line and 3 for one listed by the server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from _clients import ClientRunner, Kind
from conftest import TEST_KEY
from hypothesis import given
from hypothesis import strategies as st

from speaker_audio import InvalidIdError, SpeakerAudioError, SpeakerDownloadError
from speaker_audio._ids import MAX_ID_BYTES, check_id_length, encoded_length
from speaker_audio._operations import SPEAKER_AUDIO
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker

VOICE, SAMPLE = FakeElevenLabs.demo_ids

# An id of 132,000 bytes once percent-encoded (httpx refuses URLs over 65,536 characters).
HUGE = "é" * 22000
# Just over the limit, in ASCII and in two-byte characters ("é" is "%C3%A9": 6 bytes).
JUST_OVER = ["x" * (MAX_ID_BYTES + 1), "é" * (MAX_ID_BYTES // 6 + 1), HUGE]
AT_THE_LIMIT = ["x" * MAX_ID_BYTES, "é" * (MAX_ID_BYTES // 6) + "x" * (MAX_ID_BYTES % 6)]


# --- the rule itself ---------------------------------------------------------------------------------


def segment_length_in_a_built_request(speaker_id: str) -> int:
    """How long the speaker id's segment is in the path the request builder makes (from the generated client)."""
    with_id = SPEAKER_AUDIO.request(None, {"voice_id": "v", "sample_id": "s", "speaker_id": speaker_id}, {}).path
    with_one_letter = SPEAKER_AUDIO.request(None, {"voice_id": "v", "sample_id": "s", "speaker_id": "x"}, {}).path
    return len(with_id) - len(with_one_letter) + 1


@given(
    st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=60).filter(
        lambda v: v not in (".", "..")
    )
)
def test_encoded_length_is_the_length_of_the_segment_the_request_carries(speaker_id: str) -> None:
    assert encoded_length(speaker_id) == segment_length_in_a_built_request(speaker_id)
    assert encoded_length(speaker_id) == len(quote(speaker_id, safe=""))


@given(st.text(max_size=400))
def test_encoded_length_agrees_with_quote_for_any_text(value: str) -> None:
    assert encoded_length(value) == len(quote(value.encode("utf-8", "surrogatepass"), safe=""))


@pytest.mark.parametrize("value", AT_THE_LIMIT, ids=["ascii", "two-byte"])
def test_an_id_of_exactly_the_limit_passes(value: str) -> None:
    assert encoded_length(value) == MAX_ID_BYTES
    assert check_id_length("speaker_id", value) is value


@pytest.mark.parametrize("value", JUST_OVER, ids=["ascii", "two-byte", "huge"])
def test_an_id_over_the_limit_is_an_invalid_id_error_naming_the_parameter(value: str) -> None:
    with pytest.raises(InvalidIdError, match=r"^speaker_id is too long") as caught:
        check_id_length("speaker_id", value)
    assert isinstance(caught.value, ValueError)
    assert str(MAX_ID_BYTES) in str(caught.value)
    assert len(str(caught.value)) < 400  # quotes the start of the id, not all of it


def test_the_limit_leaves_room_below_what_httpx_accepts() -> None:
    import httpx

    from speaker_audio._settings import MAX_BASE_URL_LENGTH

    longest = "https://" + "h" * (MAX_BASE_URL_LENGTH - len("https://"))
    segment = "%C3%A9" * (MAX_ID_BYTES // 6) + "x" * (MAX_ID_BYTES % 6)
    url = f"{longest}/v1/voices/pvc/{segment}/samples/{segment}/speakers/{segment}/audio?remove_background_noise=false"
    assert len(url) < 8 * 1024  # a request line that common servers and proxies accept
    httpx.URL(url)  # and one httpx builds (it refuses URLs over 65,536 characters)


# --- the clients: refused before any I/O --------------------------------------------------------------

# every call that takes ids, with the over-long id put in each of its id parameters in turn
CALLS: dict[str, Callable[[ClientRunner, str, Path], Any]] = {
    "get_speaker_audio(voice_id)": lambda run, bad, _: run.call("get_speaker_audio", bad, SAMPLE, "speaker-1"),
    "get_speaker_audio(sample_id)": lambda run, bad, _: run.call("get_speaker_audio", VOICE, bad, "speaker-1"),
    "get_speaker_audio(speaker_id)": lambda run, bad, _: run.call("get_speaker_audio", VOICE, SAMPLE, bad),
    "download_speaker_audio(speaker_id)": lambda run, bad, dest: run.call(
        "download_speaker_audio", VOICE, SAMPLE, bad, dest / "out.mp3"
    ),
    "get_sample_audio(sample_id)": lambda run, bad, _: run.call("get_sample_audio", VOICE, bad),
    "download_sample_audio(voice_id)": lambda run, bad, dest: run.call(
        "download_sample_audio", bad, SAMPLE, dest / "out.mp3"
    ),
    "get_separation_status(voice_id)": lambda run, bad, _: run.call("get_separation_status", bad, SAMPLE),
    "start_speaker_separation(sample_id)": lambda run, bad, _: run.call("start_speaker_separation", VOICE, bad),
    "wait_for_separation(sample_id)": lambda run, bad, _: run.call("wait_for_separation", VOICE, bad, timeout=1),
    "download_all_speakers(voice_id)": lambda run, bad, dest: run.call("download_all_speakers", bad, SAMPLE, dest),
}


@pytest.mark.parametrize("call", CALLS)
def test_an_over_long_id_is_refused_before_any_request(
    kind: Kind, completed_fake: FakeElevenLabs, tmp_path: Path, call: str
) -> None:
    run = ClientRunner(kind, completed_fake.base_url, api_key=TEST_KEY, max_retries=0)
    with pytest.raises(SpeakerAudioError) as caught:  # today: httpx.InvalidURL, which is no SpeakerAudioError
        CALLS[call](run, HUGE, tmp_path)
    assert isinstance(caught.value, InvalidIdError), repr(caught.value)
    assert completed_fake.requests == []
    assert list(tmp_path.iterdir()) == []  # no file, no folder, no temporary file


@pytest.mark.parametrize("value", JUST_OVER[:2], ids=["ascii", "two-byte"])
def test_an_id_just_over_the_limit_is_refused_before_any_request(
    kind: Kind, completed_fake: FakeElevenLabs, value: str
) -> None:
    run = ClientRunner(kind, completed_fake.base_url, api_key=TEST_KEY, max_retries=0)
    with pytest.raises(InvalidIdError, match="too long"):
        run.call("get_speaker_audio", VOICE, SAMPLE, value)
    assert completed_fake.requests == []


@pytest.mark.parametrize("value", AT_THE_LIMIT, ids=["ascii", "two-byte"])
def test_an_id_at_the_limit_is_sent(kind: Kind, completed_fake: FakeElevenLabs, value: str) -> None:
    run = ClientRunner(kind, completed_fake.base_url, api_key=TEST_KEY, max_retries=0)
    with pytest.raises(SpeakerAudioError) as caught:  # the fake answers 422 for ids over 256 characters
        run.call("get_speaker_audio", VOICE, SAMPLE, value)
    assert not isinstance(caught.value, InvalidIdError)
    assert len(completed_fake.requests) == 1
    assert completed_fake.requests[0].raw_path.endswith(f"/{quote(value, safe='')}/audio")


# --- download_all_speakers: a server-listed over-long id is skipped and reported ------------------------


def five_speakers_one_over_long(fake: FakeElevenLabs) -> list[str]:
    """A completed sample of five speakers whose third id is over-long (the order the server lists them in)."""
    clip = fake.voices[VOICE][SAMPLE].speakers["speaker-1"]
    ids = ["one", "two", HUGE, "four", "five"]
    fake.add_sample(
        VOICE, "five-speakers", status="completed", speakers={i: FakeSpeaker(audio=clip.audio) for i in ids}
    )
    return ids


@pytest.mark.parametrize("concurrency", [1, 4])
def test_download_all_speakers_skips_and_reports_a_server_listed_over_long_id(
    kind: Kind, fake: FakeElevenLabs, tmp_path: Path, concurrency: int
) -> None:
    ids = five_speakers_one_over_long(fake)
    run = ClientRunner(kind, fake.base_url, api_key=TEST_KEY, max_retries=0)
    with pytest.raises(SpeakerDownloadError) as caught:
        run.call("download_all_speakers", VOICE, "five-speakers", tmp_path, concurrency=concurrency)
    error = caught.value
    assert error.speaker_id == HUGE
    assert isinstance(error.__cause__, InvalidIdError)
    assert sorted(error.completed) == sorted(i for i in ids if i != HUGE)  # the other four: 4 of 5
    assert error.not_downloaded == [HUGE]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{i}.mp3" for i in ids if i != HUGE)
    audio_requests = [r for r in fake.requests if r.raw_path.endswith("/audio")]
    assert len(audio_requests) == 4


# --- the command line -----------------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "speaker_audio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))},
        check=False,
    )


def test_the_cli_exits_2_for_an_over_long_id_and_3_for_one_the_server_lists(
    fake: FakeElevenLabs, tmp_path: Path
) -> None:
    five_speakers_one_over_long(fake)
    fake.voices[VOICE][SAMPLE].status = "completed"
    got = cli("--base-url", fake.base_url, "get", VOICE, SAMPLE, "é" * 11000, "-o", "x.mp3", cwd=tmp_path)
    assert got.returncode == 2, got.stderr  # today 1: a raw httpx.InvalidURL
    assert "InvalidIdError" in got.stderr
    assert "too long" in got.stderr
    listed = cli("--base-url", fake.base_url, "download-all", VOICE, "five-speakers", "-o", "out", cwd=tmp_path)
    assert listed.returncode == 3, listed.stderr  # as for other unusable ids the server lists
    assert len(list((tmp_path / "out").iterdir())) == 4

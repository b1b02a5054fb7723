"""``download_all_speakers`` on both clients: every speaker, failures and cancellation, safe distinct file names."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from speaker_audio import (
    APIConnectionError,
    AsyncSpeakerAudioClient,
    InvalidIdError,
    NotFoundError,
    SeparationFailedError,
    SeparationNotCompletedError,
    SpeakerAudioClient,
    SpeakerAudioError,
    SpeakerDownloadError,
)
from speaker_audio._downloads import speaker_file_stems
from speaker_audio._files import AtomicFile
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, Fault, demo_clips

Kind = Literal["sync", "async"]
KINDS: tuple[Kind, ...] = ("sync", "async")

HOSTILE_IDS = [
    "../../x",
    "/etc/passwd",
    "a\\b",
    "CON",
    "con.txt",
    "nul",
    "x" * 200,
    "x" * 200 + "y",  # same first 100 characters as the previous id
    "Ünïcødé 说话人",
    "\u00e9",  # é, composed
    "e\u0301",  # é, decomposed: the same ASCII after normalisation
    "Speaker-A",
    "speaker-a",  # differs only by case
    "...",
    ".hidden",
    " spaced ",
    "speaker-1.mp3",
    "%2e%2e",
]
UNREQUESTABLE_IDS = ["", "..", ".", "tab\there"]


def download_all(kind: Kind, base_url: str, *args: Any, max_retries: int = 0, **kwargs: Any) -> dict[str, Path]:
    """``download_all_speakers`` on a fresh client of ``kind``."""
    if kind == "sync":
        with SpeakerAudioClient("k", base_url=base_url, max_retries=max_retries) as client:
            return client.download_all_speakers(*args, **kwargs)

    async def go() -> dict[str, Path]:
        async with AsyncSpeakerAudioClient("k", base_url=base_url, max_retries=max_retries) as client:
            return await client.download_all_speakers(*args, **kwargs)

    return asyncio.run(go())


def all_files(root: Path) -> list[str]:
    """Every file under ``root`` (hidden ones too), relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def add_completed_sample(fake: FakeElevenLabs, sample_id: str, speaker_ids: list[str]) -> dict[str, bytes]:
    """A completed sample whose speakers each serve distinct bytes; returns ``{speaker_id: audio}``."""
    audio = {sid: f"audio of {sid!r}".encode() for sid in speaker_ids}
    fake.add_sample("voice-demo", sample_id, speakers={sid: FakeSpeaker(audio=a) for sid, a in audio.items()})
    fake.voices["voice-demo"][sample_id].status = "completed"
    return audio


# --- download_all_speakers ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_download_all_writes_every_speaker(completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind) -> None:
    clips = demo_clips()
    files = download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path)
    assert files == {"speaker-1": tmp_path / "speaker-1.mp3", "speaker-2": tmp_path / "speaker-2.wav"}
    assert files["speaker-1"].read_bytes() == clips["speaker-1"][0]
    assert files["speaker-2"].read_bytes() == clips["speaker-2"][0]
    assert all_files(tmp_path) == ["speaker-1.mp3", "speaker-2.wav"]
    assert len(completed_fake.requests_to("/speakers", "GET")) == 3  # one status read, two downloads
    assert all(r.headers["xi-api-key"] == "k" for r in completed_fake.requests)


@pytest.mark.parametrize("kind", KINDS)
def test_progress_reports_bytes_and_each_finished_speaker(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    events: list[tuple[str, int, bool]] = []
    lock = threading.Lock()

    def progress(speaker_id: str, received: int, done: bool) -> None:
        with lock:
            events.append((speaker_id, received, done))

    download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path, progress=progress)
    done = {sid: received for sid, received, finished in events if finished}
    assert set(done) == {"speaker-1", "speaker-2"}
    for sid, total in done.items():
        counts = [received for s, received, finished in events if s == sid and not finished]
        assert counts == sorted(counts)
        assert counts[0] == 0
        assert counts[-1] == total == len(demo_clips()[sid][0])  # decoded audio bytes, not body bytes


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("state", ["not_started", "pending"])
def test_an_unfinished_separation_is_a_clear_error(
    fake: FakeElevenLabs, tmp_path: Path, kind: Kind, state: str
) -> None:
    fake.voices["voice-demo"]["sample-demo"].status = state
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 100
    with pytest.raises(SeparationNotCompletedError) as info:
        download_all(kind, fake.base_url, "voice-demo", "sample-demo", tmp_path)
    assert isinstance(info.value, SpeakerAudioError)
    assert info.value.status == state
    assert f"is {state!r}, not 'completed'" in str(info.value)
    assert fake.requests_to("/audio") == []
    assert all_files(tmp_path) == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_failed_separation_raises_separation_failed(fake: FakeElevenLabs, tmp_path: Path, kind: Kind) -> None:
    fake.voices["voice-demo"]["sample-demo"].status = "failed"
    with pytest.raises(SeparationFailedError):
        download_all(kind, fake.base_url, "voice-demo", "sample-demo", tmp_path)
    assert fake.requests_to("/audio") == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("concurrency", [0, -1, True, 1.5])
def test_concurrency_below_one_is_a_value_error_before_any_request(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind, concurrency: Any
) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path, concurrency=concurrency)
    assert completed_fake.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_directory_must_not_be_a_file(completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind) -> None:
    # a missing directory is created (tests/client/test_files.py); a file where a folder should be is refused
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path / "file")
    with pytest.raises(NotADirectoryError):
        download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path / "file" / "sub")
    assert completed_fake.requests == []
    assert all_files(tmp_path) == ["file"]


@pytest.mark.parametrize("kind", KINDS)
def test_existing_files_are_refused_before_any_download_unless_overwrite(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    (tmp_path / "speaker-2.wav").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="speaker-2"):
        download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path)
    assert completed_fake.requests_to("/audio") == []
    assert all_files(tmp_path) == ["speaker-2.wav"]
    files = download_all(kind, completed_fake.base_url, "voice-demo", "sample-demo", tmp_path, overwrite=True)
    assert files["speaker-2"].read_bytes() == demo_clips()["speaker-2"][0]


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_speaker_ids_stay_inside_the_directory_and_never_share_a_file(
    fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    audio = add_completed_sample(fake, "sample-hostile", HOSTILE_IDS)
    directory = tmp_path / "out" / "deep"
    directory.mkdir(parents=True)
    files = download_all(kind, fake.base_url, "voice-demo", "sample-hostile", directory, concurrency=3)
    assert list(files) == HOSTILE_IDS  # the server's order
    names = [path.name for path in files.values()]
    assert len({name.casefold() for name in names}) == len(HOSTILE_IDS)  # distinct, even ignoring case
    for speaker_id, path in files.items():
        assert path.parent == directory
        assert path.resolve().parent == directory.resolve()
        assert path.read_bytes() == audio[speaker_id]
        assert path.suffix == ".mp3"
        assert not path.name.startswith(".")
        assert len(path.name.encode()) <= 255
        assert path.name.isascii()
        assert path.name.isprintable()
    assert all_files(tmp_path) == sorted(f"out/deep/{name}" for name in names)  # nothing else, nowhere else
    assert files["Speaker-A"].name != "Speaker-A.mp3"  # case collisions are told apart
    by_name = {path.stem for path in files.values()}
    assert "CON" not in by_name
    assert "nul" not in by_name


@pytest.mark.parametrize("kind", KINDS)
def test_unrequestable_ids_fail_that_speaker_and_the_others_download(
    fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    audio = add_completed_sample(fake, "sample-bad-ids", [*UNREQUESTABLE_IDS, "fine"])
    with pytest.raises(SpeakerDownloadError) as info:
        download_all(kind, fake.base_url, "voice-demo", "sample-bad-ids", tmp_path)
    error = info.value
    assert isinstance(error, SpeakerAudioError)
    assert error.speaker_id == ""
    assert isinstance(error.__cause__, InvalidIdError)
    assert "speaker '' of voice 'voice-demo'" in str(error)
    assert error.completed == {"fine": tmp_path / "fine.mp3"}
    assert error.not_downloaded == UNREQUESTABLE_IDS
    assert (tmp_path / "fine.mp3").read_bytes() == audio["fine"]
    assert all_files(tmp_path) == ["fine.mp3"]
    assert [r.raw_path.rsplit("/", 2)[1] for r in fake.requests_to("/audio")] == ["fine"]


@pytest.mark.parametrize("kind", KINDS)
def test_one_failed_speaker_stops_new_downloads_and_leaves_nothing(
    fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    ids = ["s1", "s2", "s3", "s4"]
    add_completed_sample(fake, "sample-4", ids)
    fake.script(Fault(drop="mid_body", path_contains="/speakers/s2/audio", times=10))
    with pytest.raises(SpeakerDownloadError) as info:
        download_all(kind, fake.base_url, "voice-demo", "sample-4", tmp_path, concurrency=1)
    error = info.value
    assert error.speaker_id == "s2"
    assert isinstance(error.__cause__, APIConnectionError)
    assert "'s2'" in str(error)
    assert "1 of 4 speakers downloaded" in str(error)
    assert error.completed == {"s1": tmp_path / "s1.mp3"}
    assert error.not_downloaded == ["s2", "s3", "s4"]
    assert all_files(tmp_path) == ["s1.mp3"]  # no partial s2, no temporary file
    assert [r.raw_path.rsplit("/", 2)[1] for r in fake.requests_to("/audio")] == ["s1", "s2"]


@pytest.mark.parametrize("kind", KINDS)
def test_downloads_under_way_finish_when_another_fails(fake: FakeElevenLabs, tmp_path: Path, kind: Kind) -> None:
    ids = ["s1", "s2", "s3", "s4"]
    add_completed_sample(fake, "sample-4", ids)
    # all four are under way (answers delayed) when s3 fails; the other three still finish
    # (wide margins: all four worker threads must have started within 0.5 s, even on a slow 2-core machine)
    fake.script(Fault(status=404, delay=0.5, path_contains="/speakers/s3/audio"))
    for sid in ("s1", "s2", "s4"):
        fake.script(Fault(delay=1.0, path_contains=f"/speakers/{sid}/audio"))
    with pytest.raises(SpeakerDownloadError) as info:
        download_all(kind, fake.base_url, "voice-demo", "sample-4", tmp_path, concurrency=4)
    assert info.value.speaker_id == "s3"
    assert isinstance(info.value.__cause__, NotFoundError)
    assert set(info.value.completed) == {"s1", "s2", "s4"}
    assert all_files(tmp_path) == ["s1.mp3", "s2.mp3", "s4.mp3"]


@pytest.mark.parametrize("kind", KINDS)
def test_at_most_concurrency_downloads_run_at_once(fake: FakeElevenLabs, tmp_path: Path, kind: Kind) -> None:
    add_completed_sample(fake, "sample-6", [f"s{i}" for i in range(6)])
    active = peak = 0
    lock = threading.Lock()

    def enter() -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)

    def leave() -> None:
        nonlocal active
        with lock:
            active -= 1

    if kind == "sync":
        with SpeakerAudioClient(base_url=fake.base_url) as client:
            execute = client._execute

            def counting(spec: Any, make_sink: Any, deadline: Any = None, **options: Any) -> Any:
                enter()
                try:
                    time.sleep(0.05)
                    return execute(spec, make_sink, deadline, **options)
                finally:
                    leave()

            client._execute = counting  # type: ignore[method-assign]
            files = client.download_all_speakers("voice-demo", "sample-6", tmp_path, concurrency=2)
    else:

        async def go() -> dict[str, Path]:
            async with AsyncSpeakerAudioClient(base_url=fake.base_url) as client:
                execute = client._execute

                async def counting(spec: Any, make_sink: Any, deadline: Any = None, **options: Any) -> Any:
                    enter()
                    try:
                        await asyncio.sleep(0.05)
                        return await execute(spec, make_sink, deadline, **options)
                    finally:
                        leave()

                client._execute = counting  # type: ignore[method-assign]
                return await client.download_all_speakers("voice-demo", "sample-6", tmp_path, concurrency=2)

        files = asyncio.run(go())
    assert len(files) == 6
    assert peak == 2  # the status read is not counted: it runs before the downloads


async def test_cancelling_the_async_download_mid_body_leaves_no_partial_file(
    fake: FakeElevenLabs, tmp_path: Path
) -> None:
    fake.add_sample("voice-demo", "sample-2", speakers={"big": FakeSpeaker(audio=os.urandom(2 * 1024 * 1024))})
    fake.voices["voice-demo"]["sample-2"].status = "completed"
    cancelled_at: list[int] = []

    def progress(speaker_id: str, received: int, done: bool) -> None:
        if received > 0 and not cancelled_at:
            cancelled_at.append(received)
            assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]  # the temporary file exists
            task.cancel()

    async with AsyncSpeakerAudioClient(base_url=fake.base_url) as client:
        task = asyncio.create_task(client.download_all_speakers("voice-demo", "sample-2", tmp_path, progress=progress))
        with pytest.raises(asyncio.CancelledError):
            await task
    assert cancelled_at
    assert cancelled_at[0] < 2 * 1024 * 1024
    assert all_files(tmp_path) == []


def test_cancelled_downloads_stop_at_the_next_chunk_and_leave_nothing(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    from speaker_audio._downloads import DownloadCancelled, SpeakerDownloads

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


def test_a_large_speaker_arrives_intact(fake: FakeElevenLabs, tmp_path: Path) -> None:
    big = os.urandom(3 * 1024 * 1024)
    fake.add_sample("voice-demo", "sample-big", speakers={"big": FakeSpeaker(audio=big, media_type="audio/wav")})
    fake.voices["voice-demo"]["sample-big"].status = "completed"
    with SpeakerAudioClient(base_url=fake.base_url) as client:
        files = client.download_all_speakers("voice-demo", "sample-big", tmp_path)
    assert files["big"].read_bytes() == big


# --- file names -------------------------------------------------------------------------------------------


def test_stems_of_case_colliding_ids_get_distinct_hashes() -> None:
    stems = speaker_file_stems(["Alice", "alice", "bob"])
    assert stems["bob"] == "bob"
    assert stems["Alice"].startswith("Alice-")
    assert stems["alice"].startswith("alice-")
    assert stems["Alice"].casefold() != stems["alice"].casefold()


def test_a_remaining_collision_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import speaker_audio._downloads as downloads_module

    monkeypatch.setattr(downloads_module, "id_digest", lambda speaker_id: "0000000000")
    with pytest.raises(FileExistsError, match="same file name"):
        speaker_file_stems(["Alice", "alice"])


@given(st.lists(st.text(max_size=300), unique=True, max_size=8))
def test_stems_are_always_distinct_safe_names(ids: list[str]) -> None:
    stems = speaker_file_stems(ids)
    assert set(stems) == set(ids)
    assert len({stem.casefold() for stem in stems.values()}) == len(ids)
    base = Path("/downloads")
    for stem in stems.values():
        assert stem
        assert not stem.startswith(".")
        assert "/" not in stem
        assert "\\" not in stem
        assert "\x00" not in stem
        assert stem.isascii()
        assert stem.isprintable()
        assert len(stem) + len(".flac") <= 255
        assert os.path.normpath(base / f"{stem}.mp3").startswith("/downloads/")

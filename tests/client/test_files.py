"""Writing files: atomic downloads and saves, temporary files before any request, folders, off-loop file work.

Nothing is clobbered or left half-written; file-system failures cost no request; a folder renamed or removed during
the download keeps no temporary file; the async client's file work runs off the event loop; file systems without
hard links and platforms without folder descriptors; one rule for missing folders, in the clients and the CLI. On
both clients where they apply. Permission bits, owners and the umask: tests/client/test_file_permissions.py.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import attrs
import pytest
from _clients import ClientRunner, Kind
from conftest import TEST_KEY

from speaker_audio import NotFoundError, SpeakerAudio, SpeakerAudioClient, SpeakerAudioError, SpeakerDownloadError
from speaker_audio import _files as files
from speaker_audio._files import AtomicFile
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids
IDS = (VOICE, SAMPLE, "speaker-1")


def tree(root: Path) -> list[str]:
    """Every file and folder under ``root``, relative, sorted (temporary files included)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def runner(kind: Kind, fake: FakeElevenLabs, **kwargs: Any) -> ClientRunner:
    return ClientRunner(kind, fake.base_url, api_key=TEST_KEY, max_retries=2, **kwargs)


@pytest.fixture
def temp_creations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the ``.part`` files created (and the thread that created each, in ``threads``)."""
    created: list[str] = []
    real_open = os.open

    def recording_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith(".part"):
            created.append(threading.current_thread().name)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", recording_open)
    return created


def refuse_temporary_files(monkeypatch: pytest.MonkeyPatch, code: int = errno.EROFS) -> None:
    """Make creating a ``.part`` file fail as a read-only folder does (chmod does not stop root)."""
    real_open = os.open

    def failing_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith(".part"):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", failing_open)


# --- atomic writes: nothing clobbered, nothing half-written, no temporary file left ----------------------------


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


def test_directory_destination_refuses_existing_file_before_any_request(
    completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    (tmp_path / "speaker-1.wav").write_bytes(b"keep")  # any audio extension counts: the type is not known yet
    with pytest.raises(FileExistsError):
        ClientRunner(kind, completed_fake.base_url).call("download_speaker_audio", *IDS, tmp_path)
    assert completed_fake.requests == []
    assert (tmp_path / "speaker-1.wav").read_bytes() == b"keep"


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


@pytest.mark.skipif(os.name != "posix", reason="/dev/stdout is POSIX")
def test_dev_stdout_is_refused_even_when_standard_output_is_a_regular_file(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    """/dev/stdout -> /proc/self/fd/1 stats as a regular file when stdout is redirected to one: still refused.

    Only a symlink in ``tmp_path`` is used as the destination: were the refusal broken, that link (not the
    machine's /dev/stdout) is what would be replaced.
    """
    link = tmp_path / "out.mp3"
    link.symlink_to("/dev/stdout")
    assert files._through_kernel_file_system("/dev/stdout") == "/dev/stdout"  # pure: writes nothing
    with (tmp_path / "log").open("wb") as regular:
        saved = os.dup(1)
        os.dup2(regular.fileno(), 1)  # standard output is now a regular file, as in `… > log`
        try:
            with pytest.raises(FileExistsError, match="/dev or /proc"):
                SpeakerAudio(data=b"x", media_type="audio/mpeg", duration_secs=1.0).save(link, overwrite=True)
            with pytest.raises(FileExistsError, match="/dev or /proc"):
                runner(kind, completed_fake).call(
                    "download_speaker_audio", VOICE, SAMPLE, "speaker-1", link, overwrite=True
                )
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    assert completed_fake.requests_to("/audio") == []
    assert link.is_symlink()


# --- file-system failures cost no request ----------------------------------------------------------------------


DOWNLOADS: dict[str, Callable[..., Any]] = {
    "download_speaker_audio": lambda run, dest, **kw: run.call(
        "download_speaker_audio", VOICE, SAMPLE, "speaker-1", dest / "speaker-1.mp3", **kw
    ),
    "download_speaker_audio into a folder": lambda run, dest, **kw: run.call(
        "download_speaker_audio", VOICE, SAMPLE, "speaker-1", f"{dest}/", **kw
    ),
    "download_all_speakers": lambda run, dest, **kw: run.call("download_all_speakers", VOICE, SAMPLE, dest, **kw),
}


@pytest.mark.parametrize("operation", DOWNLOADS)
@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_folder_that_cannot_be_written_costs_no_request(
    completed_fake: FakeElevenLabs,
    tmp_path: Path,
    kind: Kind,
    operation: str,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refuse_temporary_files(monkeypatch, code)
    with pytest.raises(OSError, match=re.escape(os.strerror(code))) as caught:
        DOWNLOADS[operation](runner(kind, completed_fake), tmp_path)
    assert caught.value.errno == code
    assert completed_fake.requests == []  # not even the status request of download_all_speakers
    assert tree(tmp_path) == []


@pytest.mark.parametrize("operation", DOWNLOADS)
def test_a_folder_that_cannot_be_created_costs_no_request(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind, operation: str
) -> None:
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        DOWNLOADS[operation](runner(kind, completed_fake), tmp_path / "file" / "sub")
    assert completed_fake.requests == []
    assert tree(tmp_path) == ["file"]


def test_save_into_a_folder_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_temporary_files(monkeypatch)
    with pytest.raises(OSError, match="Read-only"):
        SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=1.0).save(tmp_path / "new" / "a.wav")
    assert tree(tmp_path) == []  # the folder it created is gone again


def test_one_temporary_file_serves_every_attempt(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind, temp_creations: list[str]
) -> None:
    expected = runner(kind, completed_fake).call("get_speaker_audio", VOICE, SAMPLE, "speaker-1").data
    completed_fake.script(Fault(path_contains="/audio", drop="mid_body", times=2))
    path = runner(kind, completed_fake).call("download_speaker_audio", VOICE, SAMPLE, "speaker-1", tmp_path)
    assert len(completed_fake.requests_to("/audio")) == 4  # the reference fetch, then two failures and a success
    assert len(temp_creations) == 1  # created once, before the first request, rewound for each retry
    assert path.read_bytes() == expected  # nothing of the failed attempts is left in it
    assert tree(tmp_path) == [path.name]


# --- a folder renamed or removed during the download -----------------------------------------------------------


@pytest.mark.parametrize("operation", ["download_speaker_audio", "download_all_speakers"])
def test_a_folder_renamed_during_the_download_keeps_no_temporary_file(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind, operation: str
) -> None:
    folder, moved = tmp_path / "out", tmp_path / "moved"
    folder.mkdir()

    def rename_once(*args: Any) -> None:  # progress(received) or progress(speaker_id, received, done)
        received = args[0] if len(args) == 1 else args[1]
        if received and folder.exists():  # mid-body: the temporary file exists and holds data
            folder.rename(moved)

    run = runner(kind, completed_fake)
    if operation == "download_speaker_audio":
        with pytest.raises(FileNotFoundError, match="moved or removed"):
            run.call(operation, VOICE, SAMPLE, "speaker-1", folder / "s.mp3", progress=rename_once)
    else:
        with pytest.raises(SpeakerDownloadError) as caught:
            run.call(operation, VOICE, SAMPLE, folder, progress=rename_once, concurrency=1)
        assert isinstance(caught.value.__cause__, FileNotFoundError)
    # refused, not written into the folder at its new place; and no temporary file anywhere
    assert tree(tmp_path) == ["moved"]


@pytest.mark.skipif(os.name != "posix", reason="needs dir_fd support (POSIX)")
def test_a_removed_folder_is_refused_at_commit(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    atomic = files.AtomicFile(folder / "a.wav")
    atomic.write(b"data")
    os.rename(folder, tmp_path / "elsewhere")
    folder.mkdir()  # a different folder now has the old name
    with pytest.raises(FileNotFoundError):
        atomic.commit()
    assert tree(tmp_path) == ["elsewhere", "out"]


# --- the async client's file work runs off the event loop ------------------------------------------------------


@pytest.mark.parametrize("fails", [False, True], ids=["commit", "abort"])
def test_async_file_work_runs_off_the_event_loop(
    completed_fake: FakeElevenLabs,
    tmp_path: Path,
    fails: bool,
    temp_creations: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loop_thread = threading.current_thread().name  # asyncio.run runs the loop on this thread
    fsyncs: list[str] = []
    unlinks: list[str] = []
    real_fsync, real_unlink = os.fsync, os.unlink

    def recording_fsync(fd: int) -> None:
        fsyncs.append(threading.current_thread().name)
        real_fsync(fd)

    def recording_unlink(path: Any, *, dir_fd: int | None = None) -> None:
        unlinks.append(threading.current_thread().name)
        real_unlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "unlink", recording_unlink)
    if fails:
        completed_fake.script(Fault(path_contains="/audio", status=404, times=9))
    run = runner("async", completed_fake)
    for operation, dest in (("download_speaker_audio", "a"), ("download_all_speakers", "b")):
        if fails:
            with pytest.raises((NotFoundError, SpeakerDownloadError)):
                DOWNLOADS[operation](run, tmp_path / dest)
        else:
            DOWNLOADS[operation](run, tmp_path / dest)
    assert temp_creations
    assert loop_thread not in temp_creations
    assert unlinks
    assert loop_thread not in unlinks
    if not fails:
        assert fsyncs
        assert loop_thread not in fsyncs
    assert tree(tmp_path) == ([] if fails else ["a", "a/speaker-1.mp3", "b", "b/speaker-1.mp3", "b/speaker-2.wav"])


@pytest.mark.parametrize("operation", DOWNLOADS)
def test_async_cancelled_while_the_file_is_created_leaves_nothing(
    completed_fake: FakeElevenLabs, tmp_path: Path, operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from speaker_audio import AsyncSpeakerAudioClient

    real_open = os.open
    creating = threading.Event()

    def slow_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith(".part"):
            creating.set()
            time.sleep(0.3)  # on the worker thread: the caller is cancelled meanwhile
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", slow_open)

    async def cancel_during_creation() -> None:
        async with AsyncSpeakerAudioClient(base_url=completed_fake.base_url) as client:
            starts: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
                "download_speaker_audio": lambda: client.download_speaker_audio(
                    VOICE, SAMPLE, "speaker-1", tmp_path / "new" / "s.mp3"
                ),
                "download_speaker_audio into a folder": lambda: client.download_speaker_audio(
                    VOICE, SAMPLE, "speaker-1", f"{tmp_path}/new/"
                ),
                "download_all_speakers": lambda: client.download_all_speakers(VOICE, SAMPLE, tmp_path / "new"),
            }
            task = asyncio.ensure_future(starts[operation]())
            while not creating.is_set():
                await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await asyncio.sleep(0.6)  # the worker thread finishes; what it made is discarded

    asyncio.run(cancel_during_creation())
    assert tree(tmp_path) == []
    assert completed_fake.requests_to("/audio") == []


# --- file systems without hard links, platforms without folder descriptors -------------------------------------


def failing_link(code: int) -> Callable[..., None]:
    def link(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    return link


@pytest.mark.parametrize("code", [errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS])
def test_without_hard_links_the_file_is_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(os, "link", failing_link(code))
    path = files.write_bytes_atomic(tmp_path / "a.wav", b"new")
    assert path.read_bytes() == b"new"
    assert tree(tmp_path) == ["a.wav"]


def test_without_hard_links_an_existing_file_is_still_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "link", failing_link(errno.EPERM))
    atomic = files.AtomicFile(tmp_path / "a.wav")
    atomic.write(b"new")
    (tmp_path / "a.wav").write_bytes(b"appeared meanwhile")
    with pytest.raises(FileExistsError):
        atomic.commit()
    assert (tmp_path / "a.wav").read_bytes() == b"appeared meanwhile"
    assert tree(tmp_path) == ["a.wav"]


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOSPC, errno.EIO, errno.EROFS, errno.EDQUOT])
def test_other_link_failures_are_raised_not_worked_around(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(os, "link", failing_link(code))
    with pytest.raises(OSError, match=re.escape(os.strerror(code))) as caught:
        files.write_bytes_atomic(tmp_path / "a.wav", b"new")
    assert caught.value.errno == code
    assert tree(tmp_path) == []


def test_the_path_based_fallback_without_dir_fd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Platforms without ``dir_fd`` (Windows) go by path: create, commit, refuse, discard, link fallback."""
    monkeypatch.setattr(files, "USE_DIR_FD", False)
    assert files.write_bytes_atomic(tmp_path / "new" / "a.wav", b"one").read_bytes() == b"one"
    with pytest.raises(FileExistsError):
        files.write_bytes_atomic(tmp_path / "new" / "a.wav", b"two")
    assert files.write_bytes_atomic(tmp_path / "new" / "a.wav", b"two", overwrite=True).read_bytes() == b"two"
    with files.AtomicFile(tmp_path / "gone" / "b.wav", make_parents=True) as discarded:
        discarded.write(b"partial")
    monkeypatch.setattr(os, "link", failing_link(errno.EPERM))
    assert files.write_bytes_atomic(tmp_path / "new" / "c.wav", b"three").read_bytes() == b"three"
    assert tree(tmp_path) == ["new", "new/a.wav", "new/c.wav"]


# --- one rule for folders: missing ones are created, and removed after a failure -------------------------------


def test_missing_folders_are_created_for_every_download(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    run = runner(kind, completed_fake)
    one = run.call("download_speaker_audio", VOICE, SAMPLE, "speaker-1", tmp_path / "a" / "b" / "s.mp3")
    into = run.call("download_speaker_audio", VOICE, SAMPLE, "speaker-1", f"{tmp_path}/c/d/")
    every = run.call("download_all_speakers", VOICE, SAMPLE, tmp_path / "e" / "f")
    saved = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=1.0).save(tmp_path / "g" / "h.wav")
    assert one == tmp_path / "a" / "b" / "s.mp3"
    assert into == tmp_path / "c" / "d" / "speaker-1.mp3"
    assert set(every.values()) == {tmp_path / "e" / "f" / "speaker-1.mp3", tmp_path / "e" / "f" / "speaker-2.wav"}
    assert saved == tmp_path / "g" / "h.wav"
    assert all(p.is_file() for p in (one, into, saved, *every.values()))


@pytest.mark.parametrize("operation", DOWNLOADS)
def test_a_failed_download_removes_the_folders_it_created(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind, operation: str
) -> None:
    (tmp_path / "kept").mkdir()  # a folder that existed before stays, even empty
    completed_fake.script(Fault(path_contains="/audio", status=404, times=9))
    with pytest.raises((NotFoundError, SpeakerDownloadError)):
        DOWNLOADS[operation](runner(kind, completed_fake), tmp_path / "kept" / "new" / "deeper")
    assert len(completed_fake.requests_to("/audio")) >= 1
    assert tree(tmp_path) == ["kept"]


@pytest.mark.parametrize("operation", DOWNLOADS)
def test_an_interrupted_download_removes_the_folders_it_created(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind, operation: str
) -> None:
    def interrupt(*_: object) -> None:
        # Ctrl-C while the body arrives: KeyboardInterrupt in a sync call; under asyncio.run it cancels the
        # running tasks (a KeyboardInterrupt raised inside a task would break the event loop itself)
        if kind == "sync":
            raise KeyboardInterrupt
        for task in asyncio.all_tasks():
            task.cancel()

    with pytest.raises((KeyboardInterrupt, asyncio.CancelledError, SpeakerDownloadError)):
        DOWNLOADS[operation](runner(kind, completed_fake), tmp_path / "new" / "deeper", progress=interrupt)
    assert len(completed_fake.requests_to("/audio")) >= 1
    assert tree(tmp_path) == []


def test_a_failed_download_all_keeps_a_folder_that_received_a_file(
    completed_fake: FakeElevenLabs, tmp_path: Path, kind: Kind
) -> None:
    completed_fake.script(Fault(path_contains="speaker-2", status=404, times=9))
    with pytest.raises(SpeakerDownloadError) as caught:
        runner(kind, completed_fake).call("download_all_speakers", VOICE, SAMPLE, tmp_path / "new", concurrency=1)
    assert list(caught.value.completed) == ["speaker-1"]
    assert tree(tmp_path) == ["new", "new/speaker-1.mp3"]


def test_a_failed_save_removes_the_folders_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=1.0).save(tmp_path / "new" / "a.wav")
    assert tree(tmp_path) == []


def test_missing_directory_with_a_trailing_slash_is_not_a_file_name(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    # a trailing slash names a directory: it is created, and the file is <speaker><ext> inside it
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        path = client.download_speaker_audio(*IDS, f"{tmp_path}/newdir/")
    assert path.parent == tmp_path / "newdir"
    assert [p.name for p in tmp_path.iterdir()] == ["newdir"]
    assert [p.name for p in (tmp_path / "newdir").iterdir()] == [path.name]


# --- the CLI follows the same folder rule ----------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "speaker_audio", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_cli_get_creates_missing_folders(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    ids = ("get", VOICE, SAMPLE, "speaker-1")
    into = cli("--base-url", completed_fake.base_url, *ids, "-o", f"{tmp_path}/new/")
    named = cli("--base-url", completed_fake.base_url, *ids, "-o", str(tmp_path / "a" / "b" / "s.mp3"))
    assert (into.returncode, named.returncode) == (0, 0), into.stderr + named.stderr
    assert tree(tmp_path) == ["a", "a/b", "a/b/s.mp3", "new", "new/speaker-1.mp3"]


def test_cli_failures_leave_no_folder_behind(fake: FakeElevenLabs, tmp_path: Path) -> None:
    # download-all of a separation that is not completed; get of a speaker that answers 404
    fake.script(Fault(path_contains="/audio", status=404, times=9))
    listed = cli("--base-url", fake.base_url, "download-all", VOICE, SAMPLE, "-o", str(tmp_path / "deep" / "new"))
    got = cli("--base-url", fake.base_url, "get", VOICE, SAMPLE, "speaker-1", "-o", f"{tmp_path}/missing/")
    assert (listed.returncode, got.returncode) == (3, 3), listed.stderr + got.stderr
    assert tree(tmp_path) == []

"""Replacing a file keeps its permission bits, owner and group; new files follow the umask.

Every route that can replace a file with ``overwrite=True`` (``SpeakerAudio.save``, ``download_speaker_audio`` to a
file or a folder, ``download_sample_audio``, ``download_all_speakers``), on both clients, by folder descriptor and
by path.
"""

from __future__ import annotations

import grp
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _clients import ClientRunner, Kind
from conftest import TEST_KEY

from speaker_audio import SpeakerAudio
from speaker_audio import _files as files
from speaker_audio.testing import FakeElevenLabs

pytestmark = pytest.mark.skipif(os.name != "posix", reason="permission bits, owners and groups are POSIX")

VOICE, SAMPLE = FakeElevenLabs.demo_ids

# each route: (what it writes, relative to the destination folder; how to call it with overwrite=True)
ROUTES: dict[str, tuple[list[str], Callable[[ClientRunner, Path], Any]]] = {
    "download_speaker_audio": (
        ["speaker-1.mp3"],
        lambda run, dest: run.call(
            "download_speaker_audio", VOICE, SAMPLE, "speaker-1", dest / "speaker-1.mp3", overwrite=True
        ),
    ),
    "download_speaker_audio into a folder": (
        ["speaker-1.mp3"],
        lambda run, dest: run.call("download_speaker_audio", VOICE, SAMPLE, "speaker-1", f"{dest}/", overwrite=True),
    ),
    "download_sample_audio": (
        ["sample.mp3"],
        lambda run, dest: run.call("download_sample_audio", VOICE, SAMPLE, dest / "sample.mp3", overwrite=True),
    ),
    "download_all_speakers": (
        ["speaker-1.mp3", "speaker-2.wav"],
        lambda run, dest: run.call("download_all_speakers", VOICE, SAMPLE, dest, overwrite=True),
    ),
}


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    """A known umask: a file written as new is 0644, so any kept mode below differs from it."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture(params=["by folder descriptor", "by path"])
def file_route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways ``AtomicFile`` works: relative to the held folder (POSIX), and by path (elsewhere)."""
    if request.param == "by path":
        monkeypatch.setattr(files, "USE_DIR_FD", False)
    elif not files.USE_DIR_FD:
        pytest.skip("this platform has no folder descriptors")
    route: str = request.param
    return route


def runner(kind: Kind, fake: FakeElevenLabs) -> ClientRunner:
    return ClientRunner(kind, fake.base_url, api_key=TEST_KEY, max_retries=0)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def put_old_files(dest: Path, names: list[str], mode: int) -> None:
    for name in names:
        (dest / name).write_bytes(b"old private content")
        (dest / name).chmod(mode)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604, 0o400], ids=oct)
@pytest.mark.parametrize("route", ROUTES)
def test_overwrite_keeps_the_replaced_files_permission_bits(
    kind: Kind, completed_fake: FakeElevenLabs, tmp_path: Path, route: str, mode: int, file_route: str
) -> None:
    names, call = ROUTES[route]
    put_old_files(tmp_path, names, mode)
    call(runner(kind, completed_fake), tmp_path)
    for name in names:
        assert (tmp_path / name).read_bytes() != b"old private content", "the file was not replaced"
        assert mode_of(tmp_path / name) == mode, f"{name}: {oct(mode_of(tmp_path / name))}, was {oct(mode)}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no temporary file left


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o444], ids=oct)
def test_save_with_overwrite_keeps_the_replaced_files_permission_bits(
    tmp_path: Path, mode: int, file_route: str
) -> None:
    target = tmp_path / "private.mp3"
    put_old_files(tmp_path, [target.name], mode)
    SpeakerAudio(data=b"new audio", media_type="audio/mpeg", duration_secs=1.0).save(target, overwrite=True)
    assert target.read_bytes() == b"new audio"
    assert mode_of(target) == mode


def test_setuid_setgid_and_sticky_bits_are_never_copied(tmp_path: Path) -> None:
    target = tmp_path / "odd.mp3"
    put_old_files(tmp_path, [target.name], 0o6750 | stat.S_ISVTX)
    SpeakerAudio(data=b"new audio", media_type="audio/mpeg", duration_secs=1.0).save(target, overwrite=True)
    assert mode_of(target) == 0o750


def test_overwrite_through_a_symlink_keeps_the_mode_of_the_file_it_named(tmp_path: Path) -> None:
    real = tmp_path / "real.mp3"
    put_old_files(tmp_path, [real.name], 0o600)
    link = tmp_path / "link.mp3"
    link.symlink_to(real.name)
    SpeakerAudio(data=b"new audio", media_type="audio/mpeg", duration_secs=1.0).save(link, overwrite=True)
    assert not link.is_symlink()  # the name is replaced, as before; the file it named is left alone
    assert mode_of(link) == 0o600
    assert real.read_bytes() == b"old private content"


def other_owner_and_group(path: Path) -> tuple[int, int]:
    """An owner and group the process may give ``path`` other than its own: root gives a file away, anyone
    else may only change its group to another group they are a member of (skips when there is none)."""
    if os.geteuid() == 0:
        return 65534, 65534  # nobody / nogroup
    mine = path.stat()
    others = [gid for gid in os.getgroups() if gid != mine.st_gid]
    if not others:
        pytest.skip("not root and a member of one group only: no owner or group to keep")
    return mine.st_uid, others[0]


@pytest.mark.parametrize("route", ["download_speaker_audio", "download_all_speakers"])
def test_overwrite_keeps_the_owner_and_group_where_the_process_may_set_them(
    kind: Kind, completed_fake: FakeElevenLabs, tmp_path: Path, route: str, file_route: str
) -> None:
    names, call = ROUTES[route]
    put_old_files(tmp_path, names, 0o640)
    uid, gid = other_owner_and_group(tmp_path / names[0])
    for name in names:
        os.chown(tmp_path / name, uid, gid)
    call(runner(kind, completed_fake), tmp_path)
    for name in names:
        found = (tmp_path / name).stat()
        assert (found.st_uid, found.st_gid) == (uid, gid), f"{name} now belongs to {found.st_uid}:{found.st_gid}"
        assert stat.S_IMODE(found.st_mode) == 0o640


def test_save_keeps_the_group_where_the_process_may_set_it(tmp_path: Path) -> None:
    target = tmp_path / "shared.mp3"
    put_old_files(tmp_path, [target.name], 0o640)
    uid, gid = other_owner_and_group(target)
    os.chown(target, uid, gid)
    SpeakerAudio(data=b"new audio", media_type="audio/mpeg", duration_secs=1.0).save(target, overwrite=True)
    found = target.stat()
    assert (found.st_uid, found.st_gid) == (uid, gid), grp.getgrgid(found.st_gid).gr_name


def test_the_temporary_file_of_an_overwrite_is_private_while_it_is_written(
    kind: Kind, completed_fake: FakeElevenLabs, tmp_path: Path, file_route: str
) -> None:
    target = tmp_path / "speaker-1.mp3"
    put_old_files(tmp_path, [target.name], 0o600)
    seen: list[int] = []

    def look(_received: int) -> None:
        seen.extend(mode_of(p) for p in tmp_path.glob(".*.part"))

    runner(kind, completed_fake).call(
        "download_speaker_audio", VOICE, SAMPLE, "speaker-1", target, overwrite=True, progress=look
    )
    assert seen, "no temporary file was seen during the download"
    assert all(mode & 0o077 == 0 for mode in seen), [oct(mode) for mode in seen]
    assert mode_of(target) == 0o600


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077], ids=oct)
@pytest.mark.parametrize("overwrite", [False, True])
def test_a_new_file_gets_the_umasks_mode_with_or_without_overwrite(
    kind: Kind, completed_fake: FakeElevenLabs, tmp_path: Path, umask: int, overwrite: bool, file_route: str
) -> None:
    os.umask(umask)
    path = runner(kind, completed_fake).call(
        "download_speaker_audio", VOICE, SAMPLE, "speaker-1", tmp_path / "new.mp3", overwrite=overwrite
    )
    assert mode_of(path) == 0o666 & ~umask
    saved = SpeakerAudio(data=b"x", media_type="audio/mpeg", duration_secs=1.0).save(
        tmp_path / "saved.mp3", overwrite=overwrite
    )
    assert mode_of(saved) == 0o666 & ~umask

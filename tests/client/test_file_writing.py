"""Writing downloads and saves: where the file goes, its permissions, and no temporary file left after a failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from _clients import ClientRunner, Kind

from speaker_audio import SpeakerAudioClient
from speaker_audio._files import AtomicFile
from speaker_audio.testing import FakeElevenLabs

IDS = ("voice-demo", "sample-demo", "speaker-1")


def test_directory_destination_refuses_existing_file_before_any_request(
    completed_fake: FakeElevenLabs, kind: Kind, tmp_path: Path
) -> None:
    (tmp_path / "speaker-1.wav").write_bytes(b"keep")  # any audio extension counts: the type is not known yet
    with pytest.raises(FileExistsError):
        ClientRunner(kind, completed_fake.base_url).call("download_speaker_audio", *IDS, tmp_path)
    assert completed_fake.requests == []
    assert (tmp_path / "speaker-1.wav").read_bytes() == b"keep"


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

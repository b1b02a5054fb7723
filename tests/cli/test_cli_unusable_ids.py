"""Speaker ids that the server lists but that cannot be requested (control characters, ``..``, too long) are an
API error (exit 3) of ``download-all``, after the usable speakers were downloaded; the line that says so stays
one short, printable line."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import assert_one_line_error, cli

from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, demo_clips


@pytest.mark.parametrize("bad_id", ["evil\x1b[2J\nid", "..", "é" * 3000], ids=["control characters", "dot-dot", "long"])
def test_an_unusable_listed_id_exits_3_after_the_others(fake: FakeElevenLabs, tmp_path: Path, bad_id: str) -> None:
    audio = demo_clips()["speaker-1"][0]
    fake.add_sample(
        "v", "s", status="completed", speakers={"ok": FakeSpeaker(audio=audio), bad_id: FakeSpeaker(audio=audio)}
    )
    result = cli("--base-url", fake.base_url, "download-all", "v", "s", "-o", str(tmp_path))
    assert_one_line_error(result, 3, "SpeakerDownloadError", "InvalidIdError", "(1 of 2 speakers downloaded)")
    assert len(result.stderr) < 1000
    assert [p.name for p in tmp_path.iterdir()] == ["ok.mp3"]
    assert len(fake.requests_to("/audio")) == 1  # the unusable id was never requested

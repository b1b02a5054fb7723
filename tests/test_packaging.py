"""One wheel ships both import packages, each with py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_both_packages_and_py_typed(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("speaker_audio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "speaker_audio/py.typed" in names
    assert "speaker_audio_api/py.typed" in names
    assert "speaker_audio/__init__.py" in names
    assert "speaker_audio_api/api/pvc_voices/get_speaker_audio.py" in names
    assert "speaker_audio/testing/data/speaker-1.mp3" in names
    assert not any(name.startswith(("facade/", "generated/", "tests/")) for name in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    requires = sorted(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist"))
    runtime = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("<")[0] for r in runtime] == ["attrs", "httpx"]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "speaker_audio.testing._pytest_plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()

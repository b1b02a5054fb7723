"""One wheel ships both import packages, each with py.typed."""

from __future__ import annotations

import os
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


def test_installed_wheel_works_on_its_own(tmp_path: Path) -> None:
    """`pip install` of the wheel (not the editable checkout) gives working packages with their data."""
    import site
    import textwrap

    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = (tmp_path / "dist").glob("speaker_audio-*.whl")
    target = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    script = textwrap.dedent(
        """
        import speaker_audio, speaker_audio_api
        from speaker_audio import SpeakerAudioClient
        from speaker_audio.testing import FakeElevenLabs, demo_clips
        with FakeElevenLabs() as fake, SpeakerAudioClient(base_url=fake.base_url) as client:
            client.start_speaker_separation(*fake.demo_ids)
            client.wait_for_separation(*fake.demo_ids, poll_interval=0.01)
            audio = client.get_speaker_audio(*fake.demo_ids, "speaker-2")
        assert audio.data == demo_clips()["speaker-2"][0]
        print(speaker_audio.__file__, speaker_audio_api.__file__, audio.media_type)
        """
    )
    # -S: no site processing, so the editable install's .pth is not seen; dependencies come from site-packages
    env = {"PYTHONPATH": os.pathsep.join([str(target), *site.getsitepackages()]), "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(
        [sys.executable, "-S", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    package_file, api_file, media_type = result.stdout.split()
    assert package_file.startswith(str(target))
    assert api_file.startswith(str(target))
    assert media_type == "audio/wav"

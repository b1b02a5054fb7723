"""One wheel ships both import packages, each with py.typed; what it installs is fully typed for its consumers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from verify_types import verify
from wheel_env import build_wheel, checker_env, install_wheel, isolated_python

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "consumer_pkg"


@dataclass(frozen=True)
class InstalledWheel:
    wheel: Path
    site: Path  # pip install --no-deps --target
    python: Path  # a launcher that sees `site` and the venv's dependencies, not the editable checkout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """The wheel of the checkout, built and installed once for this module's tests."""
    folder = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(folder / "dist")
    site = install_wheel(wheel, folder / "installed")
    return InstalledWheel(wheel, site, isolated_python(site, folder))


def test_wheel_contains_both_packages_and_py_typed(installed: InstalledWheel) -> None:
    wheel = installed.wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "speaker_audio/py.typed" in names
    assert "speaker_audio_api/py.typed" in names
    assert "speaker_audio/__init__.py" in names
    assert "speaker_audio_api/api/pvc_voices/get_speaker_audio.py" in names
    assert "speaker_audio_api/_validators.py" in names  # the response checks compiled from the spec
    assert "speaker_audio/testing/data/speaker-1.mp3" in names
    assert not any(name.startswith(("facade/", "generated/", "tests/")) for name in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    requires = sorted(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Dist"))
    runtime = [r for r in requires if "extra ==" not in r]
    assert [r.split(">")[0].split("<")[0] for r in runtime] == ["attrs", "httpx"]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "speaker_audio.testing._pytest_plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_works_on_its_own(installed: InstalledWheel) -> None:
    """`pip install` of the wheel (not the editable checkout) gives working packages with their data."""
    import site
    import textwrap

    target = installed.site
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


def test_verifytypes_fails_on_an_unannotated_public_function(installed: InstalledWheel, tmp_path: Path) -> None:
    """`make verifytypes` (100 % on the real wheel) can fail: one public function without annotations drops it."""
    site = tmp_path / "installed"
    shutil.copytree(installed.site / "speaker_audio", site / "speaker_audio")
    shutil.copytree(installed.site / "speaker_audio_api", site / "speaker_audio_api")
    init = site / "speaker_audio" / "__init__.py"
    init.write_text(
        init.read_text()
        + '\n\ndef scale(value, factor=2):\n    """Not annotated."""\n    return value * factor\n\n\n'
        + '__all__ += ["scale"]\n'
    )
    (tmp_path / "work").mkdir()
    result = verify(site, tmp_path / "work")
    assert result.score < 1.0
    assert not result.ok(site)
    assert any(problem.startswith("speaker_audio.scale:") for problem in result.problems), result.problems


def _run_checker(command: list[str], installed: InstalledWheel) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=CONSUMER,  # its pyproject.toml holds the checkers' settings: strict, Python 3.11
        env=checker_env(installed.python),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_consumer_pkg_passes_mypy_strict_against_the_installed_wheel(installed: InstalledWheel) -> None:
    """tests/consumer_pkg, checked as a package that depends on speaker-audio would be: from the wheel."""
    # mypy's cache is validated by file hashes: a kept one only saves re-reading httpx, pytest and typeshed
    cache = ROOT / "build" / f"mypy-consumer-py{sys.version_info.major}.{sys.version_info.minor}"
    command = [sys.executable, "-m", "mypy", "--python-executable", str(installed.python), "--cache-dir", str(cache)]
    result = _run_checker([*command, "-v", "."], installed)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Success: no issues found in 2 source files" in result.stdout
    log = result.stdout + result.stderr  # -v: every module it read (or found unchanged in its cache), with its file
    assert str(installed.site / "speaker_audio" / "__init__.py") in log
    assert str(ROOT / "facade") not in log


def test_consumer_pkg_passes_pyright_strict_against_the_installed_wheel(installed: InstalledWheel) -> None:
    command = [sys.executable, "-m", "pyright", "--pythonpath", str(installed.python), "--outputjson", "."]
    result = _run_checker(command, installed)
    report = json.loads(result.stdout)
    errors = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}" for d in report["generalDiagnostics"]]
    assert result.returncode == 0, "\n".join(errors) or result.stderr
    assert report["summary"]["filesAnalyzed"] == 2
    assert report["summary"]["errorCount"] == 0


def _package_version() -> str:
    """``__version__`` as written in facade/speaker_audio/_version.py, the one source of the version."""
    match = re.search(r'^__version__ = "([^"]+)"', (ROOT / "facade/speaker_audio/_version.py").read_text(), re.M)
    assert match is not None
    return match[1]


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()


def test_wheel_version_is_the_package_version(installed: InstalledWheel) -> None:
    version = _package_version()
    assert installed.wheel.name == f"speaker_audio-{version}-py3-none-any.whl"
    assert f"\nVersion: {version}\n" in _metadata(installed.wheel)
    assert f"speaker_audio-{version}.dist-info/licenses/LICENSE" in zipfile.ZipFile(installed.wheel).namelist()


# what an sdist must hold for a rebuild (and for `make test` from it), and nothing from outside these
SDIST_TOP = {
    "PKG-INFO",
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "CONTRIBUTING.md",
    "LICENSE",
    "Makefile",
    ".gitignore",
    "facade",
    "generated",
    "openapi",
    "scripts",
    "tests",
    "docs",
}


def test_sdist_holds_what_a_rebuild_needs_and_rebuilds_the_same_wheel(
    installed: InstalledWheel, tmp_path: Path
) -> None:
    import tarfile

    version = _package_version()
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [sdist] = (tmp_path / "dist").glob("*.tar.gz")
    assert sdist.name == f"speaker_audio-{version}.tar.gz"
    prefix = f"speaker_audio-{version}/"
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(prefix) for name in archive.getnames() if name.startswith(prefix)}
        archive.extractall(tmp_path / "src", filter="data")
    top = {name.split("/")[0] for name in names}
    assert top == SDIST_TOP, f"missing: {SDIST_TOP - top}, unexpected: {top - SDIST_TOP}"
    package = {p.relative_to(ROOT).as_posix() for p in (ROOT / "facade/speaker_audio").rglob("*") if p.is_file()}
    generated = {p.relative_to(ROOT).as_posix() for p in (ROOT / "generated").rglob("*") if p.is_file()}
    sources = {name for name in package | generated if "__pycache__" not in name}
    assert sources <= names, sorted(sources - names)
    for needed in ("facade/public-api.json", "openapi/spec.lock.json", "scripts/generate.py", "tests/conftest.py"):
        assert needed in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    assert f"\nVersion: {version}\n" in (tmp_path / "src" / prefix / "PKG-INFO").read_text()

    # the wheel built from the unpacked sdist is the wheel built from the checkout
    rebuilt_dir = tmp_path / "rebuilt"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(rebuilt_dir), prefix],
        cwd=tmp_path / "src",
        check=True,
        capture_output=True,
    )
    [rebuilt] = rebuilt_dir.glob("*.whl")
    assert rebuilt.name == installed.wheel.name
    with zipfile.ZipFile(rebuilt) as new, zipfile.ZipFile(installed.wheel) as old:
        assert sorted(new.namelist()) == sorted(old.namelist())
        differ = [n for n in old.namelist() if not n.endswith("RECORD") and new.read(n) != old.read(n)]
        assert differ == []

    # the metadata renders where an index would show it
    shutil.copy(installed.wheel, tmp_path / "dist")
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted((tmp_path / "dist").iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert twine.returncode == 0, twine.stdout + twine.stderr

"""The pytest plugin: the ``fake_elevenlabs`` fixture and marker, here and in a package that only installs us; the
plugin imports the fake server only once a test asks for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from speaker_audio import SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs

ROOT = Path(__file__).resolve().parents[2]


# --- the fixture and the marker --------------------------------------------------------------------------------


def test_the_plugin_fixture_serves_the_demo_sample(fake_elevenlabs: FakeElevenLabs, tmp_path: Path) -> None:
    with SpeakerAudioClient(base_url=fake_elevenlabs.base_url) as client:
        client.start_speaker_separation(*fake_elevenlabs.demo_ids)
        client.wait_for_separation(*fake_elevenlabs.demo_ids, poll_interval=0.01)
        files = client.download_all_speakers(*fake_elevenlabs.demo_ids, tmp_path)
    assert sorted(files) == ["speaker-1", "speaker-2"]


@pytest.mark.fake_elevenlabs(api_key="sk-marked", with_demo_data=False, record_responses=True)
def test_the_plugin_marker_configures_the_fake(fake_elevenlabs: FakeElevenLabs) -> None:
    assert fake_elevenlabs.voices == {}
    assert httpx.get(fake_elevenlabs.base_url + "/v1/voices/pvc/v/samples/s/speakers").status_code == 401
    assert [r.status for r in fake_elevenlabs.responses] == [401]


def test_the_fixture_works_in_a_package_that_only_installs_speaker_audio() -> None:
    """tests/consumer_pkg has its own config and no conftest: only the installed plugin provides the fixture."""
    package = ROOT / "tests" / "consumer_pkg"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_", "PYTHONPATH"))}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-c",
            str(package / "pyproject.toml"),
            "--rootdir",
            str(package),
            str(package),
        ],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed, 1 warning" in result.stdout
    # test_a_test_leaves_faults_unused: its fault never matched a request, and the fixture says so
    assert "fake_elevenlabs: 1 scripted fault(s) matched no request: Fault(status=500" in result.stdout


@pytest.mark.parametrize("option", ["--fixtures", "--markers"])
def test_pytest_shows_the_fixture_and_the_marker_with_their_docs(option: str) -> None:
    """A consumer finds both without reading our source: ``pytest --fixtures`` / ``--markers`` document them."""
    package = ROOT / "tests" / "consumer_pkg"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_", "PYTHONPATH"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", option, "-c", str(package / "pyproject.toml"), "--rootdir", str(package)],
        cwd=package,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    if option == "--fixtures":
        assert "fake_elevenlabs -- " in text
        for words in ("new for each test", "@pytest.mark.fake_elevenlabs(api_key=", "faults a test did not use up"):
            assert words in text
    else:
        assert "@pytest.mark.fake_elevenlabs(*, api_key=None, with_demo_data=True, record_responses=False" in text


# --- the plugin costs nothing until a test asks for its fixture -----------------------------------------------


def imported_modules(code: str) -> set[str]:
    """The ``speaker_audio`` modules a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint('\\n'.join(m for m in sys.modules if m.startswith('speaker_audio')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return set(result.stdout.split())


def test_the_pytest_plugin_does_not_import_the_fake_server() -> None:
    """pytest imports the plugin in every session of every project that installs speaker-audio."""
    server = "speaker_audio.testing._server"
    assert server not in imported_modules("import speaker_audio.testing._pytest_plugin")
    assert server not in imported_modules("import speaker_audio.testing")
    assert server in imported_modules("from speaker_audio.testing import FakeElevenLabs")  # the control

"""Shared fixtures: a fresh fake ElevenLabs server on 127.0.0.1 per test, and clients for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _clients import KINDS, Kind
from hypothesis import settings

from speaker_audio.testing import FakeElevenLabs

settings.register_profile("default", deadline=None, max_examples=200)
settings.register_profile("fuzz", deadline=None, max_examples=20_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TEST_KEY = "sk-test-0123456789abcdef-SECRET"

TOOLING = Path(__file__).parent / "tooling"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks every test under ``tests/tooling/`` ``tooling``: ``make check`` leaves them out.

    Here rather than in a ``tests/tooling/conftest.py``: a second module named ``conftest`` would replace this one
    in ``sys.modules`` and break the test files that import ``TEST_KEY`` from it.
    """
    for item in items:
        if item.path.is_relative_to(TOOLING):
            item.add_marker(pytest.mark.tooling)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Each test taking ``kind`` runs once with the sync and once with the async client."""
    kind: Kind = request.param
    return kind


@pytest.fixture
def fake() -> Iterator[FakeElevenLabs]:
    """A running fake API (demo data: voice-demo/sample-demo, separation not yet started)."""
    with FakeElevenLabs() as server:
        yield server


@pytest.fixture
def completed_fake(fake: FakeElevenLabs) -> FakeElevenLabs:
    """The fake API with the demo sample's separation already completed."""
    fake.voices["voice-demo"]["sample-demo"].status = "completed"
    return fake


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real key or base URL from the environment."""
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    monkeypatch.delenv("ELEVENLABS_BASE_URL", raising=False)

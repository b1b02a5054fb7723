"""pytest plugin (entry point ``pytest11``): the ``fake_elevenlabs`` fixture.

Installed with speaker-audio, so any package's tests can write::

    def test_my_code(fake_elevenlabs):
        client = SpeakerAudioClient(base_url=fake_elevenlabs.base_url)

The ``fake_elevenlabs`` marker passes keyword arguments to :class:`FakeElevenLabs`::

    @pytest.mark.fake_elevenlabs(api_key="sk-test", record_responses=True)
    def test_wrong_key_is_refused(fake_elevenlabs): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from speaker_audio.testing._server import FakeElevenLabs


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_elevenlabs(**kwargs): keyword arguments for the fake_elevenlabs fixture's FakeElevenLabs "
        "(api_key, with_demo_data, record_responses)",
    )


@pytest.fixture
def fake_elevenlabs(request: pytest.FixtureRequest) -> Iterator[FakeElevenLabs]:
    """A running fake ElevenLabs API on 127.0.0.1, with the demo voice/sample; stopped after the test."""
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("fake_elevenlabs")
    if marker is not None:
        if marker.args:
            raise TypeError("the fake_elevenlabs marker takes keyword arguments only")
        options.update(marker.kwargs)
    with FakeElevenLabs(**options) as server:
        yield server

"""pytest plugin (entry point ``pytest11``): the ``fake_elevenlabs`` fixture.

Installed with speaker-audio, so any package's tests can write::

    def test_my_code(fake_elevenlabs):
        client = SpeakerAudioClient(base_url=fake_elevenlabs.base_url)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from speaker_audio.testing._server import FakeElevenLabs


@pytest.fixture
def fake_elevenlabs() -> Iterator[FakeElevenLabs]:
    """A running fake ElevenLabs API on 127.0.0.1, with the demo voice/sample; stopped after the test."""
    with FakeElevenLabs() as server:
        yield server

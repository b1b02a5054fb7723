"""pytest plugin (entry point ``pytest11``): the ``fake_elevenlabs`` fixture and marker.

Installed with speaker-audio, so any package's tests can write::

    def test_my_code(fake_elevenlabs):
        client = SpeakerAudioClient(base_url=fake_elevenlabs.base_url)

The ``fake_elevenlabs`` marker passes keyword arguments to :class:`FakeElevenLabs`::

    @pytest.mark.fake_elevenlabs(api_key="sk-test", record_responses=True)
    def test_wrong_key_is_refused(fake_elevenlabs): ...

Both are documented where pytest shows them: ``pytest --fixtures`` and ``pytest --markers``.

pytest imports this module in every session of every project where speaker-audio is installed, so it
imports the fake server only when a test asks for the fixture.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from speaker_audio.testing._server import FakeElevenLabs

MARKER_HELP = (
    "fake_elevenlabs(*, api_key=None, with_demo_data=True, record_responses=False, drift=None, port=0, "
    "max_request_body=16 MiB, max_recorded_body=64 KiB, max_recorded_requests=10000): configure the "
    "fake_elevenlabs fixture's FakeElevenLabs for this test: api_key makes it answer 401 to requests without "
    "that xi-api-key; with_demo_data=False starts it empty; record_responses keeps fake.responses; "
    "drift=Drift(...) sends bodies that run ahead of the pinned spec."
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.fixture
def fake_elevenlabs(request: pytest.FixtureRequest) -> Iterator[FakeElevenLabs]:
    """A fake ElevenLabs API on 127.0.0.1, new for each test and stopped after it (speaker-audio's plugin).
    Configure it with @pytest.mark.fake_elevenlabs(api_key="sk-test", with_demo_data=False, ...);
    script faults with fake_elevenlabs.script(Fault(...)): faults a test did not use up end with it.

    Pass ``fake_elevenlabs.base_url`` to a client. It serves ``fake_elevenlabs.demo_ids``
    (voice-demo/sample-demo: two speakers, separation not started); add_sample("v1", "s1",
    status="completed") adds a completed one with two speakers of real audio. A ``Fault`` hits GET
    requests only unless it names a ``method`` or an ``operation``. drift=Drift(...) in the marker (or
    ``fake_elevenlabs.drift``) and add_sample(..., status_sequence=[...]) send what a newer API would.
    ``fake_elevenlabs.requests`` and ``fake_elevenlabs.request_log`` show what was asked and answered.
    A fault that matched no request is reported as a warning when the test ends. Works in async tests.
    """
    from speaker_audio.testing._server import FakeElevenLabs

    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("fake_elevenlabs")
    if marker is not None:
        if marker.args:
            raise TypeError("the fake_elevenlabs marker takes keyword arguments only")
        options.update(marker.kwargs)
    with FakeElevenLabs(**options) as server:
        try:
            yield server
        finally:
            never_used = server._untouched_faults()
            server.clear_faults()  # nothing scripted in this test can reach another one
        if never_used:
            warnings.warn(
                f"fake_elevenlabs: {len(never_used)} scripted fault(s) matched no request: "
                f"{', '.join(map(repr, never_used))} (a Fault without method or operation applies to GET only)",
                UserWarning,
                stacklevel=1,
            )

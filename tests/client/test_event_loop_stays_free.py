"""The async client keeps its event loop free: the download plan and large JSON bodies are worked on other threads.

What runs where is recorded (the thread of each file-system check of the plan, of each status parse), so these
tests assert no time; ``make bench`` measures the loop's longest stall for a 20,000-speaker plan and a 14 MB status.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from speaker_audio import AsyncSpeakerAudioClient, DownloadProgress, SpecDrift
from speaker_audio._operations import Operation
from speaker_audio.testing import Drift, FakeElevenLabs, FakeSpeaker, demo_clips

SPEAKERS = 2000  # a status of about 200 kB: above the size parsed on the loop


def add_sample(fake: FakeElevenLabs, speakers: int) -> None:
    audio, media_type, seconds = demo_clips()["speaker-1"]
    speaker = FakeSpeaker(audio, media_type, seconds)
    fake.add_sample("v", "s", status="completed", speakers={f"spk-{n:05d}": speaker for n in range(speakers)})


def run(coroutine: Callable[[AsyncSpeakerAudioClient], Any], fake: FakeElevenLabs, **settings: Any) -> int:
    """Run ``coroutine(client)`` on a new event loop; returns the loop thread's id."""

    async def go() -> int:
        async with AsyncSpeakerAudioClient(base_url=fake.base_url, **settings) as client:
            await coroutine(client)
        return threading.get_ident()

    return asyncio.run(go())


def test_the_download_plan_checks_no_file_on_the_event_loop(
    fake: FakeElevenLabs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_sample(fake, 50)
    folder = tmp_path / "out"
    checked: list[int] = []  # the thread of every stat of a path in the folder
    for name in ("stat", "lstat"):
        original = getattr(os, name)

        def recording(path: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            if str(path).startswith(str(folder)):
                checked.append(threading.get_ident())
            return __original(path, *args, **kwargs)

        monkeypatch.setattr(os, name, recording)
    loop = run(lambda client: client.download_all_speakers("v", "s", folder), fake)
    assert len(checked) > 50 * 9  # every speaker's file names were checked (9 audio extensions each) ...
    assert loop not in checked  # ... none on the loop (before: about 1,000 of them)


def test_a_large_status_is_parsed_off_the_event_loop(fake: FakeElevenLabs, monkeypatch: pytest.MonkeyPatch) -> None:
    add_sample(fake, SPEAKERS)
    parsed_on: list[int] = []
    original = Operation.from_json

    def recording(self: Operation[Any], *args: Any, **kwargs: Any) -> Any:
        parsed_on.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Operation, "from_json", recording)
    statuses: list[Any] = []

    async def read(client: AsyncSpeakerAudioClient) -> None:
        statuses.append(await client.get_separation_status("v", "s"))

    loop = run(read, fake)
    assert len(statuses[0].speakers) == SPEAKERS
    assert len(parsed_on) == 1
    assert parsed_on != [loop]


def test_drift_in_a_body_parsed_off_the_loop_is_reported_on_the_loop(fake: FakeElevenLabs) -> None:
    add_sample(fake, SPEAKERS)
    fake.drift = Drift(unknown_members=True)
    reported_on: list[tuple[int, SpecDrift]] = []

    def on_drift(drift: SpecDrift) -> None:
        reported_on.append((threading.get_ident(), drift))

    loop = run(lambda client: client.get_separation_status("v", "s"), fake, on_drift=on_drift)
    assert reported_on  # the body, each speaker: unknown members
    assert {thread for thread, _ in reported_on} == {loop}


def test_downloads_run_on_no_more_tasks_than_their_concurrency(fake: FakeElevenLabs, tmp_path: Path) -> None:
    add_sample(fake, 200)
    tasks: list[int] = []

    def on_progress(progress: DownloadProgress) -> None:
        tasks.append(len(asyncio.all_tasks()))

    run(lambda client: client.download_all_speakers("v", "s", tmp_path, concurrency=3, on_progress=on_progress), fake)
    assert tasks
    # the caller's, three workers, and the task each may have creating its temporary file (before: a task per
    # speaker, 201 and more)
    assert max(tasks) <= 1 + 3 * 2

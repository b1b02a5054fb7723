"""The async client keeps its event loop free: the download plan and large JSON bodies are worked on other threads,
and a large status is few objects for the garbage collector, whose full collections pause every thread.

What runs where is recorded (the thread of each file-system check of the plan, of each status parse), and the
objects a status holds are counted, so these tests assert no time; ``make bench`` measures the loop's longest stall
for a 20,000-speaker plan and a 14 MB status.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from speaker_audio import AsyncSpeakerAudioClient, DownloadProgress, SpecDrift
from speaker_audio._operations import Operation
from speaker_audio.testing import Drift, FakeElevenLabs, FakeSpeaker, Fault, demo_clips
from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel
from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
    SpeakerSeparationResponseModelSpeakersType0,
)
from speaker_audio_api.models.speaker_separation_response_model_status import SpeakerSeparationResponseModelStatus
from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel

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


def tracked_objects(root: object) -> int:
    """How many of the objects ``root`` holds, itself included, the garbage collector tracks (classes, modules and
    functions left out: they belong to the program, not to ``root``)."""
    program = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)
    seen: set[int] = set()
    stack, count = [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, program):
            continue
        seen.add(id(obj))
        count += gc.is_tracked(obj)
        stack.extend(gc.get_referents(obj))
    return count


def status_body(speakers: int, utterances: int) -> dict[str, Any]:
    """A completed status listing ``speakers`` speakers of ``utterances`` utterances each (``0``: ``null``)."""
    listed = SpeakerSeparationResponseModelSpeakersType0()
    listed.additional_properties = {
        f"spk-{n:06d}": SpeakerResponseModel(
            speaker_id=f"spk-{n:06d}",
            duration_secs=1.5,
            utterances=[UtteranceResponseModel(start=u, end=u + 0.5) for u in range(utterances)]
            if utterances
            else None,
        )
        for n in range(speakers)
    }
    completed = SpeakerSeparationResponseModelStatus.COMPLETED
    return SpeakerSeparationResponseModel(voice_id="v", sample_id="s", status=completed, speakers=listed).to_dict()


@pytest.mark.parametrize("utterances", [0, 2])
def test_a_large_status_holds_few_objects_for_the_garbage_collector(fake: FakeElevenLabs, utterances: int) -> None:
    # Every full collection walks every tracked object while holding the interpreter, whichever thread runs it:
    # building a status of 161,000 speakers triggers several, which paused the event loop 60-75 ms when each
    # speaker was three objects (itself, its utterances list, its generated model) and each utterance two.
    body = status_body(SPEAKERS, utterances)
    fake.script(Fault(status=200, body=json.dumps(body).encode(), operation="get_separation_status"))
    statuses: list[Any] = []

    async def read(client: AsyncSpeakerAudioClient) -> None:
        statuses.append(await client.get_separation_status("v", "s"))

    run(read, fake)
    (status,) = statuses
    assert len(status.speakers) == SPEAKERS
    # the speaker (no utterances: the one shared empty list); with utterances, also each of them, the list
    # holding them and its JSON item's dict and list
    per_speaker = 1 + (utterances + 3 if utterances else 0)
    assert tracked_objects(status) <= SPEAKERS * per_speaker + 100
    assert status.model.to_dict() == body  # the models are still there, built when first read


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

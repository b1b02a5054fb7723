"""Response metadata: request id and headers on results, whose audio it is, with_raw_response, the request log
(SPEAKER_AUDIO_LOG) and the deprecated progress= keyword, on both clients against the fake."""

from __future__ import annotations

import asyncio
import gc
import logging
import pickle
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from speaker_audio import AsyncSpeakerAudioClient, RawResponse, SpeakerAudio, SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs, Fault

KINDS = ("sync", "async")
KEY = "sk-metadata-SECRET-0123456789"


def completed(fake: FakeElevenLabs) -> tuple[str, str, str]:
    fake.add_sample("v-meta", "s-meta", status="completed")
    status = SpeakerAudioClient(base_url=fake.base_url).get_separation_status("v-meta", "s-meta")
    return "v-meta", "s-meta", next(iter(status.speakers))


def run(kind: str, fake: FakeElevenLabs, do: Any, **settings: Any) -> Any:
    if kind == "sync":
        with SpeakerAudioClient(base_url=fake.base_url, **settings) as client:
            return do(client)

    async def go() -> Any:
        async with AsyncSpeakerAudioClient(base_url=fake.base_url, **settings) as client:
            result = do(client)
            return await result

    return asyncio.run(go())


@pytest.mark.parametrize("kind", KINDS)
def test_results_carry_the_request_id_and_headers_out_of_equality(kind: str, fake: FakeElevenLabs) -> None:
    voice, sample, speaker = completed(fake)
    audio = run(kind, fake, lambda c: c.get_speaker_audio(voice, sample, speaker))
    served = fake.request_log[-1]
    assert audio.request_id is not None
    assert audio.headers.get("request-id") == audio.request_id
    assert (audio.voice_id, audio.sample_id, audio.speaker_id) == (voice, sample, speaker)
    status = run(kind, fake, lambda c: c.get_separation_status(voice, sample))
    assert status.request_id not in (None, audio.request_id)
    sample_audio = run(kind, fake, lambda c: c.get_sample_audio(voice, sample))
    assert sample_audio.request_id is not None
    again = run(kind, fake, lambda c: c.get_speaker_audio(voice, sample, speaker))
    assert again.request_id != audio.request_id
    assert again == audio  # metadata is not compared
    assert hash(again) == hash(audio)
    assert pickle.loads(pickle.dumps(audio)) == audio
    assert served.status == 200


@pytest.mark.parametrize("kind", KINDS)
def test_with_raw_response_gives_the_answer_and_parse_the_result(
    kind: str, fake: FakeElevenLabs, tmp_path: Path
) -> None:
    voice, sample, speaker = completed(fake)
    fake.script(Fault(status=503, operation="get_speaker_audio"))
    raw = run(kind, fake, lambda c: c.with_raw_response.download_speaker_audio(voice, sample, speaker, tmp_path))
    assert isinstance(raw, RawResponse)
    assert raw.status_code == 200
    assert raw.attempts == 2  # the 503 and its retry
    assert raw.request_id == raw.headers.get("request-id")
    assert raw.elapsed_secs > 0
    path = raw.parse()
    assert path.parent == tmp_path
    assert path.read_bytes()
    status = run(kind, fake, lambda c: c.with_raw_response.get_separation_status(voice, sample))
    assert status.parse().sample_id == sample
    assert "parse" not in repr(status)


@pytest.mark.parametrize("kind", KINDS)
def test_the_key_is_in_no_metadata(kind: str, fake: FakeElevenLabs) -> None:
    voice, sample, speaker = completed(fake)
    fake.api_key = KEY
    raw = run(kind, fake, lambda c: c.with_raw_response.get_speaker_audio(voice, sample, speaker), api_key=KEY)
    for text in (repr(raw), str(dict(raw.headers)), repr(raw.parse()), str(dict(raw.parse().headers))):
        assert KEY not in text


@pytest.mark.parametrize("level", ["info", "debug"])
def test_the_request_log_shows_each_attempt_and_never_the_key(level: str, tmp_path: Path) -> None:
    """A fresh interpreter with SPEAKER_AUDIO_LOG set; httpx's and httpcore's DEBUG loggers on too."""
    script = tmp_path / "log.py"
    script.write_text(
        "import logging, sys\n"
        "from speaker_audio import SpeakerAudioClient\n"
        "from speaker_audio.testing import FakeElevenLabs, Fault\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
        f"with FakeElevenLabs(api_key={KEY!r}) as fake:\n"
        "    fake.script(Fault(status=503))\n"
        f"    with SpeakerAudioClient({KEY!r}, base_url=fake.base_url) as client:\n"
        "        client.get_separation_status(*fake.demo_ids)\n"
    )
    env = {"SPEAKER_AUDIO_LOG": level, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "speaker_audio " in line or "speaker_audio:" in line]
    attempts = [line for line in lines if "-> " in line]
    assert len(attempts) == 2  # the 503 and the retry
    assert "-> 503" in attempts[0]
    assert "-> 200" in attempts[1]
    assert "attempt 2" in attempts[1]
    assert "request id req-" in attempts[1]
    assert ("request headers" in done.stderr) is (level == "debug")
    assert KEY not in done.stdout + done.stderr


def test_no_log_variable_leaves_logging_alone(caplog: pytest.LogCaptureFixture, fake: FakeElevenLabs) -> None:
    handlers = list(logging.getLogger("speaker_audio").handlers)  # what other code (e.g. the CLI's -v) installed
    with caplog.at_level(logging.INFO, logger="speaker_audio"), SpeakerAudioClient(base_url=fake.base_url) as client:
        client.get_separation_status(*fake.demo_ids)
    # without SPEAKER_AUDIO_LOG there are no request lines (INFO keeps its retry lines only), and no handler of ours
    assert not any("-> 200" in r.getMessage() for r in caplog.records if r.name == "speaker_audio")
    assert logging.getLogger("speaker_audio").handlers == handlers


def test_progress_is_deprecated_and_still_works(fake: FakeElevenLabs, tmp_path: Path) -> None:
    voice, sample, speaker = completed(fake)
    seen: list[int] = []
    gc.collect()  # earlier tests' garbage (an unclosed socket's ResourceWarning) is not this call's warning
    with SpeakerAudioClient(base_url=fake.base_url) as client, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.download_speaker_audio(voice, sample, speaker, tmp_path, progress=seen.append)
    assert seen
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "on_progress" in str(caught[0].message)
    assert caught[0].filename == __file__  # points at the caller


async def test_asave_writes_off_the_event_loop(tmp_path: Path) -> None:
    audio = SpeakerAudio(data=b"\xff\xfb" + bytes(10), media_type="audio/mpeg", duration_secs=1)
    path = await audio.asave(tmp_path)
    assert path == tmp_path / "audio.mp3"
    assert path.read_bytes() == audio.data
    with pytest.raises(FileExistsError):
        await audio.asave(path)

"""``--json``: status, wait, get, sample-audio and download-all print one JSON document on stdout (ids, paths,
media types, durations, request ids), so that scripts need not parse the tables."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from speaker_audio import SpeakerAudioClient, sniff_media_type
from speaker_audio.cli import main
from speaker_audio.testing import FakeElevenLabs

IDS = ("voice-demo", "sample-demo")


def document(*argv: str) -> Any:
    """The one JSON document that ``speaker-audio ARGV`` printed (it fails unless stdout holds exactly that)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    assert code == 0, err.getvalue()
    return json.loads(out.getvalue())


def check_request_id(value: object, fake: FakeElevenLabs, path_part: str) -> None:
    """``value`` is the ``request-id`` that the server sent with an answer to a request whose path holds
    ``path_part``."""
    sent = [r.headers.get("request-id") for r in fake.responses if path_part in r.raw_path and r.status == 200]
    assert sent, f"no answer to {path_part} was recorded"
    assert value in sent


def test_status_json(completed_fake: FakeElevenLabs) -> None:
    completed_fake.record_responses = True
    doc = document("--base-url", completed_fake.base_url, "status", *IDS, "--json")
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        status = client.get_separation_status(*IDS)
    assert (doc["voice_id"], doc["sample_id"], doc["status"]) == (*IDS, status.status)
    assert set(doc["speakers"]) == set(status.speakers)
    for speaker_id, speaker in status.speakers.items():
        assert doc["speakers"][speaker_id]["duration_secs"] == speaker.duration_secs
        assert doc["speakers"][speaker_id]["utterances"] == [
            {"start": u.start, "end": u.end} for u in speaker.utterances
        ]
    assert doc["selected_speaker_ids"] == status.selected_speaker_ids
    assert "request_id" in doc
    check_request_id(doc["request_id"], completed_fake, "/speakers")


def test_wait_json_is_the_final_status(fake: FakeElevenLabs) -> None:
    fake.record_responses = True
    doc = document("--base-url", fake.base_url, "wait", *IDS, "--start", "--poll-interval", "0.01", "--json")
    assert doc["status"] == "completed"
    check_request_id(doc["request_id"], fake, "/speakers")
    assert set(doc["speakers"]) == {"speaker-1", "speaker-2"}


@pytest.mark.parametrize("command", ["get", "sample-audio"])
def test_a_downloaded_files_json(completed_fake: FakeElevenLabs, tmp_path: Path, command: str) -> None:
    completed_fake.record_responses = True
    ids = [*IDS, "speaker-2"] if command == "get" else list(IDS)
    doc = document("--base-url", completed_fake.base_url, command, *ids, "-o", str(tmp_path), "--json")
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        if command == "get":
            audio: Any = client.get_speaker_audio(*ids)
        else:
            audio = client.get_sample_audio(*IDS)
    path = Path(doc["path"])
    assert path.parent == tmp_path
    assert path.read_bytes() == audio.data
    assert doc["voice_id"] == IDS[0]
    assert doc["sample_id"] == IDS[1]
    assert doc.get("speaker_id") == (ids[2] if command == "get" else None)
    assert doc["media_type"] == audio.media_type
    assert doc["duration_secs"] == audio.duration_secs
    assert doc["sniffed_media_type"] == sniff_media_type(audio.data)
    assert doc["size_bytes"] == len(audio.data)
    check_request_id(doc["request_id"], completed_fake, "/audio")


def test_download_all_json(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    completed_fake.record_responses = True
    doc = document("--base-url", completed_fake.base_url, "download-all", *IDS, "-o", str(tmp_path), "--json")
    assert (doc["voice_id"], doc["sample_id"], doc["directory"]) == (*IDS, str(tmp_path))
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        for speaker_id in ("speaker-1", "speaker-2"):
            audio = client.get_speaker_audio(*IDS, speaker_id)
            file = doc["speakers"][speaker_id]
            assert file["speaker_id"] == speaker_id
            assert Path(file["path"]).read_bytes() == audio.data
            assert Path(file["path"]).parent == tmp_path
            assert (file["media_type"], file["duration_secs"]) == (audio.media_type, audio.duration_secs)
            assert file["size_bytes"] == len(audio.data)
            assert file["request_id"] is None  # download_all_speakers gives no request id per speaker
    assert set(doc["speakers"]) == {"speaker-1", "speaker-2"}
    check_request_id(doc["request_id"], completed_fake, "/speakers")


@pytest.mark.parametrize("command", [["get", *IDS, "speaker-1"], ["sample-audio", *IDS]], ids=lambda c: c[0])
def test_json_with_dash_is_a_usage_error(completed_fake: FakeElevenLabs, command: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--base-url", completed_fake.base_url, *command, "-o", "-", "--json"], out=out, err=err)
    assert code == 2
    assert "--json describes a written file" in err.getvalue()
    assert completed_fake.requests == []

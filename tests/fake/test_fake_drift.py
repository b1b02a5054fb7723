"""The fake API can serve the future: statuses the pin does not list on the way to ``completed``, members it does
not declare at any depth, enum values it does not list; names derived from the spec, never colliding with it."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx
import pytest
from _repin import operations, shipped_spec, unused

from speaker_audio.testing import Drift, FakeElevenLabs, FakeSpeaker

SPEC = shipped_spec()
SHIPPED = operations(SPEC)
SCHEMAS = SPEC["components"]["schemas"]


def url(operation_id: str, **values: str) -> tuple[str, str]:
    method, template = SHIPPED[operation_id]
    values = {"voice_id": "v", "sample_id": "s", **values}
    return method, template.format(**values)


def response_schema(operation_id: str, spec: dict[str, Any] = SPEC) -> dict[str, Any]:
    method, template = SHIPPED[operation_id]
    ref = spec["paths"][template][method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def ref_target(schema: dict[str, Any]) -> dict[str, Any]:
    """The component a property refers to, through ``anyOf``/``items``/``additionalProperties``."""
    text = repr(schema)
    name = text.split("#/components/schemas/", 1)[1].split("'", 1)[0]
    target: dict[str, Any] = SCHEMAS[name]
    return target


STATUS = response_schema("get_separation_status")
SPEAKER = ref_target(STATUS["properties"]["speakers"])
UTTERANCE = ref_target(SPEAKER["properties"]["utterances"])
LISTED_STATUSES = set(STATUS["properties"]["status"]["enum"])
UNLISTED = unused("queued", LISTED_STATUSES)  # a status upstream may add; never one the pin lists


def member(schema: dict[str, Any]) -> str:
    """The name the fake gives the member it adds to an object of ``schema`` (documented on ``Drift``)."""
    return unused("unpinned_member", set(schema.get("properties", {})))


def send(fake: FakeElevenLabs, operation_id: str, **values: str) -> httpx.Response:
    method, path = url(operation_id, **values)
    return httpx.request(method, fake.base_url + path)


@pytest.fixture
def drifting() -> Any:
    with FakeElevenLabs(record_responses=True) as fake:
        fake.add_sample("v", "s", status="completed", speakers={"a": FakeSpeaker(b"AUDIO-A")}, audio=b"SAMPLE")
        yield fake


def test_unlisted_statuses_on_the_way_to_completed(fake: FakeElevenLabs) -> None:
    fake.add_sample("v", "s", status_sequence=[UNLISTED, UNLISTED, "completed"])
    bodies = [send(fake, "get_separation_status").json() for _ in range(4)]
    assert [body["status"] for body in bodies] == [UNLISTED, UNLISTED, "completed", "completed"]
    assert [body["speakers"] for body in bodies[:2]] == [None, None]
    assert sorted(bodies[2]["speakers"]) == ["speaker-1", "speaker-2"]
    assert [entry.drifted for entry in fake.request_log] == [True, True, False, False]
    assert str(fake.request_log[0]).endswith(" [drift]")


def test_a_status_sequence_then_hands_over_to_the_usual_rules(fake: FakeElevenLabs) -> None:
    fake.add_sample("v", "s", status_sequence=[UNLISTED, "pending"], polls_until_complete=2)
    statuses = [send(fake, "get_separation_status").json()["status"] for _ in range(5)]
    assert statuses == [UNLISTED, "pending", "pending", "completed", "completed"]


def test_unknown_members_at_every_depth_of_the_status(drifting: FakeElevenLabs) -> None:
    drifting.drift = Drift()
    body = send(drifting, "get_separation_status").json()
    assert body[member(STATUS)] == "unpinned"
    assert set(body) - set(STATUS["properties"]) == {member(STATUS)}
    assert sorted(body["speakers"]) == ["a"]  # a map gets no extra entry: that would be another speaker
    speaker = body["speakers"]["a"]
    assert set(speaker) - set(SPEAKER["properties"]) == {member(SPEAKER)}
    assert all(set(u) - set(UTTERANCE["properties"]) == {member(UTTERANCE)} for u in speaker["utterances"])
    assert body["selected_speaker_ids"] == ["a"]
    assert body["status"] == "completed"  # unknown members only: enums keep their values
    assert [r.drifted for r in drifting.responses] == [True]


@pytest.mark.parametrize(
    ("operation_id", "audio"), [("get_speaker_audio", b"AUDIO-A"), ("get_sample_audio", b"SAMPLE")]
)
def test_unknown_members_in_the_audio_bodies(drifting: FakeElevenLabs, operation_id: str, audio: bytes) -> None:
    drifting.drift = Drift()
    body = send(drifting, operation_id, speaker_id="a").json()
    schema = response_schema(operation_id)
    assert set(body) - set(schema["properties"]) == {member(schema)}
    assert base64.b64decode(body["audio_base_64"]) == audio


def test_unknown_members_in_the_start_answer_and_none_in_errors(drifting: FakeElevenLabs) -> None:
    drifting.drift = Drift()
    schema = response_schema("start_speaker_separation")
    assert set(send(drifting, "start_speaker_separation").json()) == {*schema["required"], member(schema)}
    assert send(drifting, "get_separation_status", voice_id="nobody").json() == {
        "detail": {"status": "voice_not_found", "message": "Voice nobody was not found"}
    }
    assert [r.drifted for r in drifting.responses] == [True, False]


def test_unknown_enum_values(drifting: FakeElevenLabs) -> None:
    drifting.drift = Drift(unknown_members=False, unknown_enum_values=True)
    body = send(drifting, "get_separation_status").json()
    assert body["status"] not in LISTED_STATUSES
    assert body["status"] == unused("unpinned_value", LISTED_STATUSES)
    assert set(body) <= set(STATUS["properties"])
    assert sorted(body["speakers"]) == ["a"]
    drifting.drift = None
    assert send(drifting, "get_separation_status").json()["status"] == "completed"
    assert [r.drifted for r in drifting.responses] == [True, False]


def test_the_injected_names_never_collide_with_the_spec() -> None:
    spec = copy.deepcopy(SPEC)
    status = response_schema("get_separation_status", spec)
    status["properties"]["unpinned_member"] = {"type": "string"}
    status["properties"]["status"]["enum"].append("unpinned_value")
    with FakeElevenLabs(spec=spec, drift=Drift(unknown_enum_values=True)) as fake:
        fake.add_sample("v", "s", status="completed")
        body = send(fake, "get_separation_status").json()
    assert body["unpinned_member_"] == "unpinned"
    assert "unpinned_member" not in body
    assert body["status"] == "unpinned_value_"


@pytest.mark.fake_elevenlabs(drift=Drift(unknown_enum_values=True))
def test_the_marker_sets_the_drift(fake_elevenlabs: FakeElevenLabs) -> None:
    method, path = url("get_separation_status", voice_id="voice-demo", sample_id="sample-demo")
    assert httpx.request(method, fake_elevenlabs.base_url + path).json()["status"] not in LISTED_STATUSES

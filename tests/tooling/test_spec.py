"""The pinned spec: the lock, the fragment and the overlay agree; pinning classifies every upstream change.

Hermetic: everything here reads the repository only. Pinning runs on temp copies of the lock, the
fragment and the overlay, against ``tests/fixtures/upstream-mini.openapi.json`` (the four pinned
operations, three unpinned siblings and their schemas) or a mutated copy of it. Checking the lock
against the full upstream document is ``make check-upstream SPEC=...``.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import http.server
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import spec_diff

import build_spec
import changelog
import generate
import pin_spec
from speaker_audio.errors import ResponseValidationError

ROOT = Path(__file__).resolve().parents[2]
LOCK_PATH = ROOT / "openapi" / "spec.lock.json"
LOCK = json.loads(LOCK_PATH.read_text())
FRAGMENT_PATH = ROOT / "openapi" / LOCK["fragment"]
OVERLAY_PATH = ROOT / "openapi" / "overlay.json"
FIXTURE = ROOT / "tests" / "fixtures" / "upstream-mini.openapi.json"
# The fixture's own baseline pin: independent of the committed one, so that re-pinning upstream never breaks
# these tests. The fixture's extraction of these four operations is kept as upstream-mini.fragment.json.
FIXTURE_OPERATIONS = [
    {"method": "GET", "path": "/v1/voices/pvc/{voice_id}/samples/{sample_id}/speakers/{speaker_id}/audio"},
    {"method": "GET", "path": "/v1/voices/pvc/{voice_id}/samples/{sample_id}/speakers"},
    {"method": "POST", "path": "/v1/voices/pvc/{voice_id}/samples/{sample_id}/separate-speakers"},
    {"method": "GET", "path": "/v1/voices/pvc/{voice_id}/samples/{sample_id}/audio"},
]
FIXTURE_FRAGMENT = ROOT / "tests" / "fixtures" / "upstream-mini.fragment.json"
FIXTURE_OVERLAY = {
    "description": "the overlay of the fixture's baseline pin",
    "info": {"title": "speaker-audio: ElevenLabs PVC speaker separation"},
    "servers": [{"url": "https://api.elevenlabs.io", "description": "Production"}],
    "operation_ids": {
        "GET /v1/voices/pvc/{voice_id}/samples/{sample_id}/speakers/{speaker_id}/audio": "get_speaker_audio",
        "GET /v1/voices/pvc/{voice_id}/samples/{sample_id}/speakers": "get_separation_status",
        "POST /v1/voices/pvc/{voice_id}/samples/{sample_id}/separate-speakers": "start_speaker_separation",
        "GET /v1/voices/pvc/{voice_id}/samples/{sample_id}/audio": "get_sample_audio",
    },
}
# The operations the facade calls: the overlay must keep naming them (more may be added).
FACADE_OPERATION_IDS = {"get_speaker_audio", "get_separation_status", "start_speaker_separation"}

AUDIO_PATH = "/v1/voices/pvc/{voice_id}/samples/{sample_id}/audio"
SAMPLE_AUDIO = f"GET {AUDIO_PATH}"
WAVEFORM = "GET /v1/voices/pvc/{voice_id}/samples/{sample_id}/waveform"
DELETE_SAMPLE = "DELETE /v1/voices/pvc/{voice_id}/samples/{sample_id}"
TRAIN = "POST /v1/voices/pvc/{voice_id}/train"
AUDIO_MODEL = "SpeakerAudioResponseModel"
STATUS_MODEL = "SpeakerSeparationResponseModel"
TRAIN_BODY = "Body_Run_PVC_training_v1_voices_pvc__voice_id__train_post"

Mutation = Callable[[dict[str, Any]], None]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def operation_keys(operations: list[dict[str, str]]) -> list[str]:
    return [f"{op['method']} {op['path']}" for op in operations]


# --- the repository agrees with itself ------------------------------------------------------------


def test_lock_records_the_fragment_checksum_and_the_provenance_of_the_document() -> None:
    assert LOCK["fragment_sha256"] == sha256(FRAGMENT_PATH)
    upstream = LOCK["upstream"]
    assert upstream["repository"] == "elevenlabs/elevenlabs-docs"
    assert upstream["info_version"] == json.loads(FRAGMENT_PATH.read_text())["info"]["version"]
    assert re.fullmatch("[0-9a-f]{64}", upstream["sha256"])
    assert isinstance(upstream["size"], int)
    assert upstream["size"] > 0
    assert datetime.datetime.fromisoformat(upstream["pinned_at"]).tzinfo is not None
    for name in ("commit", "last_changed_commit"):
        assert name not in upstream or pin_spec.COMMIT_ID.fullmatch(upstream[name])
    assert list(upstream) == [key for key in pin_spec.UPSTREAM_KEYS if key in upstream]


def test_lock_fragment_overlay_and_shipped_spec_name_the_same_operations() -> None:
    fragment = json.loads(FRAGMENT_PATH.read_text())
    pinned = operation_keys(LOCK["operations"])
    assert pinned
    assert list(spec_diff.operations(fragment)) == pinned
    assert sorted(json.loads(OVERLAY_PATH.read_text())["operation_ids"]) == sorted(pinned)
    shipped = json.loads((generate.TARGET / generate.SPEC_RESOURCE).read_text())
    assert list(spec_diff.operations(shipped)) == pinned


def test_extraction_from_the_fixture_reproduces_its_fragment_byte_for_byte() -> None:
    full = json.loads(FIXTURE.read_bytes())
    assert pin_spec.dump_json(pin_spec.extract_fragment(full, FIXTURE_OPERATIONS)) == FIXTURE_FRAGMENT.read_bytes()


def test_overlay_keeps_its_hand_written_layout_when_rewritten() -> None:
    assert pin_spec.dump_overlay(json.loads(OVERLAY_PATH.read_bytes())) == OVERLAY_PATH.read_bytes()


def test_extraction_follows_references_transitively() -> None:
    full: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "tags": [{"name": "a"}, {"name": "b"}],
        "paths": {
            "/x": {
                "get": {"tags": ["a"], "responses": {"200": {"$ref": "#/components/schemas/A"}}},
                "post": {"responses": {}},
            },
            "/y": {"get": {}},
        },
        "components": {
            "schemas": {
                "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"items": {"$ref": "#/components/schemas/C"}},
                "C": {},
                "Unused": {},
            }
        },
    }
    fragment = pin_spec.extract_fragment(full, [{"method": "GET", "path": "/x"}])
    assert list(fragment["paths"]) == ["/x"]
    assert list(fragment["paths"]["/x"]) == ["get"]
    assert list(fragment["components"]["schemas"]) == ["A", "B", "C"]
    assert fragment["tags"] == [{"name": "a"}]
    with pytest.raises(SystemExit, match="not in the upstream spec"):
        pin_spec.extract_fragment(full, [{"method": "GET", "path": "/missing"}])


def test_overlay_sets_short_operation_ids_and_servers() -> None:
    spec = json.loads(build_spec.build_spec())
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert set(ids) >= FACADE_OPERATION_IDS
    assert len(set(ids)) == len(ids)
    urls = [s["url"] for s in spec["servers"]]
    assert urls[0] == "https://api.elevenlabs.io"
    assert "https://api.sg.residency.elevenlabs.io" in urls
    assert len(urls) == 5
    # the overlay never changes the fragment itself
    fragment = json.loads(FRAGMENT_PATH.read_text())
    assert "servers" not in fragment


def test_overlay_rejects_an_operation_the_fragment_lacks_or_misses_one() -> None:
    fragment = json.loads(FRAGMENT_PATH.read_text())
    overlay = json.loads(OVERLAY_PATH.read_text())
    broken = copy.deepcopy(overlay)
    broken["operation_ids"]["GET /v1/gone"] = "gone"
    with pytest.raises(build_spec.OverlayError, match="lacks"):
        build_spec.apply_overlay(fragment, broken)
    broken = copy.deepcopy(overlay)
    broken["operation_ids"].popitem()
    with pytest.raises(build_spec.OverlayError, match="names no operationId"):
        build_spec.apply_overlay(fragment, broken)


def test_drift_report_names_edited_missing_and_extra_files() -> None:
    expected = {"a.py": b"x = 1\n", "b.py": b"y\n"}
    actual = {"a.py": b"x = 2\n", "c.py": b"z\n"}
    report = "\n".join(generate.describe_drift(expected, actual))
    assert "-x = 2" in report
    assert "+x = 1" in report
    assert "missing file in generated/: b.py" in report
    assert "unexpected file in generated/: c.py" in report
    assert generate.describe_drift(expected, dict(expected)) == []


def test_hand_edit_of_generated_code_is_detected(tmp_path: Path) -> None:
    fresh = generate.generate_into(tmp_path)
    committed = generate.tree(generate.TARGET)
    assert generate.describe_drift(generate.tree(fresh), committed) == []
    edited = dict(committed)
    edited["client.py"] = committed["client.py"] + b"# hand edit\n"
    assert any("hand edit" in line for line in generate.describe_drift(generate.tree(fresh), edited))


# --- pinning on temp copies -----------------------------------------------------------------------


@dataclass
class Pin:
    """Temp copies of the lock, the fragment and the overlay, pinned against the fixture; a temp CHANGELOG.md."""

    lock: Path
    fragment: Path
    overlay: Path
    changelog: Path

    def run(self, source: Path | str, *options: str) -> int:
        return pin_spec.main([str(source), *options, "--lock", str(self.lock), "--changelog", str(self.changelog)])

    def files(self) -> tuple[bytes, bytes, bytes]:
        return self.lock.read_bytes(), self.fragment.read_bytes(), self.overlay.read_bytes()

    def read(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        lock, fragment, overlay = (json.loads(data) for data in self.files())
        return lock, fragment, overlay


@pytest.fixture
def pin(tmp_path: Path) -> Pin:
    folder = tmp_path / "openapi"
    folder.mkdir()
    lock = copy.deepcopy(LOCK)
    lock["fragment"] = "fragment.json"
    lock["operations"] = copy.deepcopy(FIXTURE_OPERATIONS)
    lock["upstream"]["sha256"] = sha256(FIXTURE)  # pinned from the fixture, so the fixture itself is "no change"
    lock["upstream"]["info_version"] = json.loads(FIXTURE.read_text())["info"]["version"]
    lock["upstream"]["size"] = FIXTURE.stat().st_size
    lock["fragment_sha256"] = sha256(FIXTURE_FRAGMENT)
    (folder / "spec.lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    (folder / "fragment.json").write_bytes(FIXTURE_FRAGMENT.read_bytes())
    (folder / "overlay.json").write_bytes(pin_spec.dump_overlay(FIXTURE_OVERLAY))
    return Pin(folder / "spec.lock.json", folder / "fragment.json", folder / "overlay.json", tmp_path / "CHANGELOG.md")


def upstream(tmp_path: Path, *mutations: Mutation) -> Path:
    """A mutated copy of the fixture."""
    full = json.loads(FIXTURE.read_text())
    for mutate in mutations:
        mutate(full)
    path = tmp_path / "upstream.json"
    path.write_text(json.dumps(full, indent=2))
    return path


def schema(full: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = full["components"]["schemas"][name]
    return found


def add_optional_field(full: dict[str, Any]) -> None:
    schema(full, AUDIO_MODEL)["properties"]["sample_rate"] = {"type": "integer", "title": "Sample Rate"}


def add_required_response_field(full: dict[str, Any]) -> None:
    add_optional_field(full)
    schema(full, AUDIO_MODEL)["required"].append("sample_rate")


def rename_required_field(full: dict[str, Any]) -> None:
    model = schema(full, AUDIO_MODEL)
    model["properties"] = {
        ("length_secs" if name == "duration_secs" else name): value for name, value in model["properties"].items()
    }
    model["required"] = ["length_secs" if name == "duration_secs" else name for name in model["required"]]


def make_nullable(full: dict[str, Any]) -> None:
    field = schema(full, AUDIO_MODEL)["properties"]["duration_secs"]
    field["anyOf"] = [{"type": field.pop("type")}, {"type": "null"}]


def make_optional(full: dict[str, Any]) -> None:
    schema(full, AUDIO_MODEL)["required"].remove("duration_secs")


def change_type(full: dict[str, Any]) -> None:
    schema(full, AUDIO_MODEL)["properties"]["duration_secs"]["type"] = "string"


def add_enum_value(full: dict[str, Any]) -> None:
    schema(full, STATUS_MODEL)["properties"]["status"]["enum"].append("cancelled")


def remove_enum_value(full: dict[str, Any]) -> None:
    schema(full, STATUS_MODEL)["properties"]["status"]["enum"].remove("failed")


def query_parameter(required: bool) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        parameter = {"name": "format", "in": "query", "required": required, "schema": {"type": "string"}}
        full["paths"][AUDIO_PATH]["get"]["parameters"].insert(2, parameter)

    return mutate


def change_description(full: dict[str, Any]) -> None:
    full["paths"][AUDIO_PATH]["get"]["description"] = "Retrieve the first 30 seconds of a voice sample."
    schema(full, AUDIO_MODEL)["properties"]["media_type"]["description"] = "The audio's media type."


def bump_version(full: dict[str, Any]) -> None:
    full["info"]["version"] = "1.1"


def add_response_status(full: dict[str, Any]) -> None:
    full["paths"][AUDIO_PATH]["get"]["responses"]["404"] = {"description": "Not Found"}


def add_format(full: dict[str, Any]) -> None:
    schema(full, AUDIO_MODEL)["properties"]["media_type"]["format"] = "mime-type"


CASES: list[tuple[str, Mutation, int, str]] = [
    ("optional field", add_optional_field, 0, "[safe] field added (optional): SpeakerAudioResponseModel.sample_rate"),
    ("required field", add_required_response_field, 0, f"[review] field added (required): {AUDIO_MODEL}.sample_rate"),
    ("nullable", make_nullable, 3, "[breaking] field made nullable: SpeakerAudioResponseModel.duration_secs"),
    ("optional", make_optional, 3, "[breaking] field made optional: SpeakerAudioResponseModel.duration_secs"),
    ("type", change_type, 3, "[breaking] type changed: SpeakerAudioResponseModel.duration_secs: number -> string"),
    ("enum added", add_enum_value, 0, "[review] enum value added: SpeakerSeparationResponseModel.status: 'cancelled'"),
    ("enum removed", remove_enum_value, 3, f"[breaking] enum value removed: {STATUS_MODEL}.status: 'failed'"),
    (
        "required query",
        query_parameter(True),
        3,
        f"[breaking] parameter added (required): {SAMPLE_AUDIO}: query format",
    ),
    ("optional query", query_parameter(False), 0, f"[safe] parameter added (optional): {SAMPLE_AUDIO}: query format"),
    ("description", change_description, 0, f"[safe] operation metadata changed: {SAMPLE_AUDIO}: description"),
    ("info.version", bump_version, 0, "[safe] info.version changed: 1.0 -> 1.1"),
    ("status code", add_response_status, 0, f"[review] response added: {SAMPLE_AUDIO}: 404"),
    ("unclassified", add_format, 0, "[review] schema changed: SpeakerAudioResponseModel.media_type: format"),
]


# upstream changes once misclassified (each was [safe] or "no change" before)
NOT_ENFORCED = "keyword not enforced by the facade's validator"
EXTEND = "(extend scripts/compile_validators.py)"
RENAMES = "(renames a generated class)"
PARSED = "(the generated from_dict may refuse values the schema allows)"


def status_props(full: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = schema(full, STATUS_MODEL)["properties"]
    return props


def add_prefix_items_field(full: dict[str, Any]) -> None:
    schema(full, "SpeakerResponseModel")["properties"]["labels"] = {
        "type": "array",
        "prefixItems": [{"type": "string"}],
    }


def add_pattern_properties_deep(full: dict[str, Any]) -> None:
    status_props(full)["speakers"]["anyOf"][0]["patternProperties"] = {"^sp": {"type": "object"}}


def add_discriminator(full: dict[str, Any]) -> None:
    schema(full, "UtteranceResponseModel")["discriminator"] = {"propertyName": "start"}


def add_if_then_to_items(full: dict[str, Any]) -> None:
    status_props(full)["selected_speaker_ids"]["anyOf"][0]["items"] = {
        "type": "string",
        "if": {"minLength": 1},
        "then": {"pattern": "^s"},
    }


def add_unevaluated_to_response(full: dict[str, Any]) -> None:
    response = full["paths"][AUDIO_PATH]["get"]["responses"]["200"]["content"]["application/json"]
    response["schema"]["unevaluatedProperties"] = False


def add_unique_items(full: dict[str, Any]) -> None:
    status_props(full)["selected_speaker_ids"]["anyOf"][0]["uniqueItems"] = True


def retitle(get: Callable[[dict[str, Any]], dict[str, Any]], title: str | None) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        node = get(full)
        if title is None:
            node.pop("title", None)
        else:
            node["title"] = title

    return mutate


def add_field(model: str, name: str, field: dict[str, Any]) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        schema(full, model)["properties"][name] = field

    return mutate


def path_parameter(required: bool) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        parameter = {"name": "xi-workspace", "in": "header", "required": required, "schema": {"type": "string"}}
        full["paths"][AUDIO_PATH]["parameters"] = [parameter]

    return mutate


def path_servers(full: dict[str, Any]) -> None:
    full["paths"][AUDIO_PATH]["servers"] = [{"url": "https://audio.elevenlabs.io"}]


def reorder_enum(full: dict[str, Any]) -> None:
    status_props(full)["status"]["enum"].reverse()


def any_of_to_one_of(full: dict[str, Any]) -> None:
    speakers = status_props(full)["speakers"]
    speakers["oneOf"] = speakers.pop("anyOf")


def reorder_required_fields(full: dict[str, Any]) -> None:
    model = schema(full, AUDIO_MODEL)
    model["properties"] = dict(reversed(model["properties"].items()))


SPEAKER = "SpeakerResponseModel"
SPEAKERS_FIELD = f"{STATUS_MODEL}.speakers"
IDS_FIELD = f"{STATUS_MODEL}.selected_speaker_ids"
STATUS_ENUM_POINTER = f"/components/schemas/{STATUS_MODEL}/properties/status/enum/0"
CASES += [
    (
        "prefixItems",
        add_prefix_items_field,
        3,
        f"[breaking] {NOT_ENFORCED}: {SPEAKER}.labels: 'prefixItems' {EXTEND}",
    ),
    (
        "patternProperties",
        add_pattern_properties_deep,
        3,
        f"[breaking] {NOT_ENFORCED}: {SPEAKERS_FIELD}: 'patternProperties' {EXTEND}",
    ),
    (
        "discriminator",
        add_discriminator,
        3,
        f"[breaking] {NOT_ENFORCED}: UtteranceResponseModel: 'discriminator' {EXTEND}",
    ),
    ("if", add_if_then_to_items, 3, f"[breaking] {NOT_ENFORCED}: {IDS_FIELD}[]: 'if' {EXTEND}"),
    (
        "inline response keyword",
        add_unevaluated_to_response,
        3,
        f"[breaking] {NOT_ENFORCED}: {SAMPLE_AUDIO}: 200 application/json: 'unevaluatedProperties' {EXTEND}",
    ),
    (
        "uniqueItems",
        add_unique_items,
        0,
        f"[review] constraint tightened: {IDS_FIELD}: anyOf[array].uniqueItems: (none) -> true (the facade's validator"
        " enforces it on responses)",
    ),
    (
        "enum title",
        retitle(lambda full: status_props(full)["status"], "Separation State"),
        3,
        f"[breaking] title changed: {STATUS_MODEL}.status: 'Status' -> 'Separation State' {RENAMES}",
    ),
    (
        "object branch title",
        retitle(lambda full: status_props(full)["speakers"]["anyOf"][0], "Speaker Map"),
        3,
        f"[breaking] title changed: {SPEAKERS_FIELD}: anyOf[object].title: (none) -> 'Speaker Map' {RENAMES}",
    ),
    (
        "enum title removed, same class name",
        retitle(lambda full: status_props(full)["status"], None),
        0,
        f"[review] title changed: {STATUS_MODEL}.status: 'Status' -> (none)",
    ),
    (
        "union title",
        retitle(lambda full: status_props(full)["speakers"], "Speaker Map"),
        0,
        f"[review] title changed: {SPEAKERS_FIELD}: 'Speakers' -> 'Speaker Map'",
    ),
    (
        "string title",
        retitle(lambda full: schema(full, AUDIO_MODEL)["properties"]["media_type"], "Content Type"),
        0,
        f"[review] title changed: {AUDIO_MODEL}.media_type: 'Media Type' -> 'Content Type'",
    ),
    (
        "component title",
        retitle(lambda full: schema(full, AUDIO_MODEL), "Speaker Audio"),
        3,
        f"[breaking] title changed: {AUDIO_MODEL}: '{AUDIO_MODEL}' -> 'Speaker Audio' {RENAMES}",
    ),
    (
        "component title, same class name",
        retitle(lambda full: schema(full, AUDIO_MODEL), "Speaker Audio Response Model"),
        0,
        f"[review] title changed: {AUDIO_MODEL}: '{AUDIO_MODEL}' -> 'Speaker Audio Response Model'",
    ),
    (
        "parameter title",
        retitle(lambda full: full["paths"][AUDIO_PATH]["get"]["parameters"][0]["schema"], "Voice ID"),
        0,
        f"[review] title changed: {SAMPLE_AUDIO}: path voice_id: 'Voice Id' -> 'Voice ID'",
    ),
    (
        "reserved name additionalProperties",
        add_field(AUDIO_MODEL, "additionalProperties", {"type": "object"}),
        3,
        f"[breaking] field added (collides with a generated model attribute): {AUDIO_MODEL}.additionalProperties: "
        "additional_properties",
    ),
    (
        "reserved name to_dict",
        add_field(AUDIO_MODEL, "to_dict", {"type": "string"}),
        3,
        f"[breaking] field added (collides with a generated model attribute): {AUDIO_MODEL}.to_dict",
    ),
    (
        "reserved name from-dict",
        add_field(SPEAKER, "from-dict", {"type": "string"}),
        3,
        f"[breaking] field added (collides with a generated model attribute): {SPEAKER}.from-dict: from_dict",
    ),
    (
        "reserved name additionalKeys",
        add_field(SPEAKER, "additionalKeys", {"type": "string"}),
        3,
        f"[breaking] field added (collides with a generated model attribute): {SPEAKER}.additionalKeys: "
        "additional_keys",
    ),
    (
        "keyword name",
        add_field(SPEAKER, "class", {"type": "string"}),
        0,
        f"[safe] field added (optional): {SPEAKER}.class",
    ),
    (
        "new date-time field",
        add_field(AUDIO_MODEL, "created_at", {"type": "string", "format": "date-time"}),
        0,
        f"[review] field added with a format: {AUDIO_MODEL}.created_at: 'date-time' {PARSED}",
    ),
    (
        "new nullable uuid field",
        add_field(SPEAKER, "voice_uuid", {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}),
        0,
        f"[review] field added with a format: {SPEAKER}.voice_uuid: 'uuid' {PARSED}",
    ),
    (
        "new array of binary field",
        add_field(AUDIO_MODEL, "chunks", {"type": "array", "items": {"type": "string", "format": "binary"}}),
        0,
        f"[review] field added with a format: {AUDIO_MODEL}.chunks: 'binary' {PARSED}",
    ),
    (
        "format on a union branch",
        lambda full: schema(full, "VoiceSamplePreviewResponseModel")["properties"]["duration_secs"]["anyOf"][0].update(
            format="double"
        ),
        0,
        "[review] schema changed: VoiceSamplePreviewResponseModel.duration_secs: anyOf[number].format",
    ),
    (
        "path-level required header",
        path_parameter(True),
        3,
        f"[breaking] parameter added (required): {SAMPLE_AUDIO}: header xi-workspace",
    ),
    (
        "path-level optional header",
        path_parameter(False),
        0,
        f"[safe] parameter added (optional): {SAMPLE_AUDIO}: header xi-workspace",
    ),
    ("path-level servers", path_servers, 0, f"[review] path servers changed: {AUDIO_PATH}"),
    ("enum reordered", reorder_enum, 0, f"[review] unclassified change: {STATUS_ENUM_POINTER}"),
    ("anyOf to oneOf", any_of_to_one_of, 0, f"[review] combiner changed: {SPEAKERS_FIELD}: anyOf -> oneOf"),
    (
        "fields reordered",
        reorder_required_fields,
        0,
        f"[review] fields reordered: {AUDIO_MODEL}: the generated model's constructor takes them in order",
    ),
]


# what the facade cannot compile or enforce, direction, nullability spellings, encodings, defaults, headers, names
SPEAKER_AUDIO_PATH = "/v1/voices/pvc/{voice_id}/samples/{sample_id}/speakers/{speaker_id}/audio"
SPEAKER_AUDIO = f"GET {SPEAKER_AUDIO_PATH}"
UTTERANCE = "UtteranceResponseModel"
UNCOMPILED = "pattern Python's re cannot compile"
RECURSIVE = "recursive schema"
RECURSION = "(the facade refuses a body nested deeper than its validator's MAX_DEPTH)"


ECMA_CLASSES = r"^[\p{L}\p{N}_-]+$"  # valid ECMA-262 (with the u flag), refused by Python's re
ECMA_GROUP = "(?<name>x)"  # ECMA-262's named group; Python spells it (?P<name>x)


def re_error(pattern: str) -> str:
    """What Python's ``re`` says about ``pattern`` (which it must refuse)."""
    with pytest.raises(re.error) as refused:
        re.compile(pattern)
    return str(refused.value)


def member_pattern(pattern: str) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        status_props(full)["voice_id"]["pattern"] = pattern

    return mutate


def recursive_utterances(full: dict[str, Any]) -> None:
    schema(full, UTTERANCE)["properties"]["children"] = {
        "type": "array",
        "items": {"$ref": f"#/components/schemas/{UTTERANCE}"},
    }


def duration(change: Callable[[dict[str, Any]], None]) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        change(schema(full, AUDIO_MODEL)["properties"]["duration_secs"])

    return mutate


def null_spelling(spelling: str) -> Mutation:
    """``VoiceSamplePreviewResponseModel.duration_secs`` (``anyOf`` number | null) spelled another way."""

    def mutate(full: dict[str, Any]) -> None:
        field = schema(full, "VoiceSamplePreviewResponseModel")["properties"]["duration_secs"]
        del field["anyOf"]
        if spelling == "type list":
            field["type"] = ["number", "null"]
        else:
            field.update(type="number", nullable=True)

    return mutate


def audio_member(**keywords: str | None) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        member = schema(full, AUDIO_MODEL)["properties"]["audio_base_64"]
        for keyword, value in keywords.items():
            if value is None:
                member.pop(keyword, None)
            else:
                member[keyword] = value

    return mutate


def parameters_of(full: dict[str, Any], key: str) -> list[dict[str, Any]]:
    method, path = key.split(" ", 1)
    found: list[dict[str, Any]] = full["paths"][path][method.lower()]["parameters"]
    return found


def noise_default(value: object) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        parameter = next(p for p in parameters_of(full, SAMPLE_AUDIO) if p["name"] == "remove_background_noise")
        if value is None:
            del parameter["schema"]["default"]
        else:
            parameter["schema"]["default"] = value

    return mutate


def new_query_parameter(**schema_keywords: object) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        parameter_schema = {"type": "string", "enum": ["mp3_44100_128", "pcm_16000"], **schema_keywords}
        parameter = {"name": "output_format", "in": "query", "required": False, "schema": parameter_schema}
        parameters_of(full, SPEAKER_AUDIO).insert(3, parameter)

    return mutate


def response_header(required: bool | None) -> Mutation:
    """Declare (``required`` given) or drop (``None``) a ``request-id`` header on the speaker audio's 200."""

    def mutate(full: dict[str, Any]) -> None:
        response = full["paths"][SPEAKER_AUDIO_PATH]["get"]["responses"]["200"]
        if required is None:
            response.pop("headers", None)
        else:
            response["headers"] = {"request-id": {"required": required, "schema": {"type": "string"}}}

    return mutate


def operation_field(key: str, value: object) -> Mutation:
    def mutate(full: dict[str, Any]) -> None:
        full["paths"][SPEAKER_AUDIO_PATH]["get"][key] = value

    return mutate


CASES += [
    (
        "pattern with \\p{L}",
        member_pattern(ECMA_CLASSES),
        3,
        f"[breaking] {UNCOMPILED}: {STATUS_MODEL}.voice_id: {ECMA_CLASSES!r} (Python's re: {re_error(ECMA_CLASSES)})",
    ),
    (
        "pattern with a named group",
        member_pattern(ECMA_GROUP),
        3,
        f"[breaking] {UNCOMPILED}: {STATUS_MODEL}.voice_id: {ECMA_GROUP!r} (Python's re: {re_error(ECMA_GROUP)})",
    ),
    (
        "pattern Python compiles",
        member_pattern("^[A-Za-z0-9]+$"),
        0,
        f'[review] constraint tightened: {STATUS_MODEL}.voice_id: pattern: (none) -> "^[A-Za-z0-9]+$" (the facade\'s '
        "validator enforces it on responses)",
    ),
    (
        "recursive $ref",
        recursive_utterances,
        0,
        f"[review] {RECURSIVE}: {UTTERANCE}: {UTTERANCE} -> {UTTERANCE} {RECURSION}",
    ),
    (
        "response type widened",
        duration(lambda field: field.update(type=["number", "string"])),
        3,
        f"[breaking] type changed: {AUDIO_MODEL}.duration_secs: number -> number | string (widened)",
    ),
    (
        "response type narrowed",
        duration(lambda field: field.update(type="integer")),
        0,
        f"[review] type changed: {AUDIO_MODEL}.duration_secs: number -> integer (narrowed)",
    ),
    (
        "nullable as a type list",
        null_spelling("type list"),
        0,
        "[safe] nullable spelled another way: VoiceSamplePreviewResponseModel.duration_secs: a null branch -> "
        '"null" in type (the same nullability)',
    ),
    (
        "nullable: true",
        null_spelling("nullable"),
        0,
        "[safe] nullable spelled another way: VoiceSamplePreviewResponseModel.duration_secs: a null branch -> "
        "nullable: true (the same nullability)",
    ),
    (
        "audio encoding declared",
        audio_member(contentEncoding="base64"),
        0,
        f'[review] content encoding changed: {AUDIO_MODEL}.audio_base_64: contentEncoding: (none) -> "base64" (what '
        "the facade decodes)",
    ),
    (
        "audio encoding base32",
        audio_member(contentEncoding="base32"),
        3,
        f'[breaking] content encoding changed: {AUDIO_MODEL}.audio_base_64: contentEncoding: (none) -> "base32" (the '
        "facade decodes encoded members as base64)",
    ),
    (
        "audio media type declared",
        audio_member(contentMediaType="audio/mpeg"),
        0,
        f'[review] content media type changed: {AUDIO_MODEL}.audio_base_64: contentMediaType: (none) -> "audio/mpeg"',
    ),
    (
        "request default changed",
        noise_default(True),
        0,
        f"[review] default changed: {SAMPLE_AUDIO}: query remove_background_noise: default: false -> true (when the "
        "SDK sends no remove_background_noise, the server assumes true; the SDK never sends defaults)",
    ),
    (
        "request default removed",
        noise_default(None),
        0,
        f"[review] default changed: {SAMPLE_AUDIO}: query remove_background_noise: default: false -> (none) (the "
        "value the server assumes is no longer documented; the SDK never sends defaults)",
    ),
    (
        "new query parameter with a default",
        new_query_parameter(default="mp3_44100_128"),
        0,
        f"[review] parameter added (optional, with a default): {SPEAKER_AUDIO}: query output_format: when the SDK "
        'sends none, the server assumes output_format="mp3_44100_128"',
    ),
    (
        "new query parameter",
        new_query_parameter(),
        0,
        f"[safe] parameter added (optional): {SPEAKER_AUDIO}: query output_format",
    ),
    (
        "request constraint tightened",
        lambda full: parameters_of(full, SAMPLE_AUDIO)[0]["schema"].update(maxLength=64),
        3,
        f"[breaking] constraint tightened: {SAMPLE_AUDIO}: path voice_id: maxLength: (none) -> 64 (the server may "
        "refuse values sent today)",
    ),
    (
        "request type widened",
        lambda full: parameters_of(full, SAMPLE_AUDIO)[2]["schema"].update(type=["boolean", "string"]),
        0,
        f"[safe] type changed: {SAMPLE_AUDIO}: query remove_background_noise: boolean -> boolean | string (widened)",
    ),
    (
        "request type changed",
        lambda full: parameters_of(full, SAMPLE_AUDIO)[0]["schema"].update(type="integer"),
        3,
        f"[breaking] type changed: {SAMPLE_AUDIO}: path voice_id: string -> integer",
    ),
    (
        "response header added",
        response_header(True),
        0,
        f"[safe] response header added: {SPEAKER_AUDIO}: 200: request-id",
    ),
    (
        "upstream operationId",
        operation_field("operationId", "get_separated_speaker_audio"),
        0,
        f"[safe] upstream operationId changed: {SPEAKER_AUDIO}: "
        '"Retrieve_separated_speaker_audio_v1_voices_pvc__voice_id__samples__sample_id__speakers__speaker_id__audio_get"'
        ' -> "get_separated_speaker_audio" (the overlay\'s id names the generated code)',
    ),
    (
        "first tag",
        operation_field("tags", ["voices"]),
        3,
        f"[breaking] first tag changed: {SPEAKER_AUDIO}: ['pvc-voices'] -> ['voices']: moves the generated module "
        "from api/pvc_voices/ to api/voices/",
    ),
    (
        "second tag",
        operation_field("tags", ["pvc-voices", "audio"]),
        0,
        f"[safe] tags changed: {SPEAKER_AUDIO}: ['pvc-voices'] -> ['pvc-voices', 'audio']",
    ),
    ("deprecated", operation_field("deprecated", True), 0, f"[review] operation deprecated: {SPEAKER_AUDIO}"),
]


def test_pin_without_a_change_says_so_and_changes_nothing(pin: Pin, capsys: pytest.CaptureFixture[str]) -> None:
    before = pin.files()
    assert pin.run(FIXTURE) == 0
    out = capsys.readouterr().out
    assert "  no change against the previous pin\n" in out
    assert "[breaking]" not in out
    assert "[safe]" not in out
    assert pin.files() == before
    assert pin.run(FIXTURE, "--check") == 0


@pytest.mark.parametrize(("mutate", "status", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pin_classifies_the_change(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Mutation, status: int, line: str
) -> None:
    source = upstream(tmp_path, mutate)
    before = pin.files()
    assert pin.run(source) == status
    out = capsys.readouterr().out
    assert f"\n  {line}\n" in out
    if status == 3:
        assert "[breaking]" in out
        assert "breaking change(s)" in out
        assert "--accept-breaking" in out
        assert pin.files() == before  # nothing written
    else:
        assert "[breaking]" not in out
        lock, _, _ = pin.read()
        full = json.loads(source.read_text())
        assert pin.fragment.read_bytes() == pin_spec.dump_json(pin_spec.extract_fragment(full, FIXTURE_OPERATIONS))
        assert lock["fragment_sha256"] == sha256(pin.fragment)
        assert lock["upstream"]["sha256"] == sha256(source)
        assert pin.run(source, "--check") == 0  # written: the pin is now current


def test_a_new_request_parameter_is_usable_at_once_and_the_report_says_how(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def workspace_header(full: dict[str, Any]) -> None:
        header = {"name": "xi-workspace", "in": "header", "required": False, "schema": {"type": "string"}}
        parameters_of(full, SAMPLE_AUDIO).append(header)

    source = upstream(tmp_path, new_query_parameter(default="mp3_44100_128"), workspace_header)
    assert pin.run(source) == 0
    out = capsys.readouterr().out
    _, _, overlay = pin.read()
    ids = overlay["operation_ids"]
    report = out[out.index("new request parameters") :].splitlines()
    assert report[:6] == [
        "new request parameters (the SDK never sends a spec default: it sends only what the caller gives):",
        f'  {SPEAKER_AUDIO}: query output_format (optional, default "mp3_44100_128": the server assumes it)',
        f'    usable at once: the client methods of {ids[SPEAKER_AUDIO]}(..., extra_query={{"output_format": ...}})',
        f"  {SAMPLE_AUDIO}: header xi-workspace (optional)",
        f'    usable at once: the client methods of {ids[SAMPLE_AUDIO]}(..., extra_headers={{"xi-workspace": ...}})',
        f"  to name one in the facade: {pin_spec.STEPS_DOC}",
    ]
    assert (ROOT / pin_spec.STEPS_DOC.split(",")[0]).is_file()
    heading = pin_spec.STEPS_DOC.split('"')[1]
    assert f"## {heading}" in (ROOT / pin_spec.STEPS_DOC.split(",")[0]).read_text()
    assert pin.run(source) == 0
    assert "new request parameters" not in capsys.readouterr().out  # pinned: nothing new any more


def test_renamed_required_field_is_breaking_until_accepted(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = upstream(tmp_path, rename_required_field, bump_version)
    before = pin.files()
    assert pin.run(source) == 3
    out = capsys.readouterr().out
    rename = f"field renamed?: {AUDIO_MODEL}.duration_secs -> {AUDIO_MODEL}.length_secs"
    assert f"  [breaking] {rename}\n" in out
    assert "1 breaking, 0 review, 1 safe" in out
    assert "breaking change(s)" in out
    assert "--accept-breaking" in out
    assert pin.files() == before

    assert pin.run(source, "--accept-breaking") == 0
    out = capsys.readouterr().out
    assert f"  [breaking] {rename}\n" in out
    entry = out[out.index("changelog entry:\n") :].splitlines()
    assert entry[1:5] == [
        "### Changed",
        f"- Upstream spec re-pinned (info.version 1.0 -> 1.1, sha256 {sha256(source)[:12]}): "
        "1 breaking, 0 review, 1 safe",
        "### Removed",
        f"- **Breaking:** {rename}",
    ]
    lock, fragment, _ = pin.read()
    assert "length_secs" in fragment["components"]["schemas"][AUDIO_MODEL]["properties"]
    assert lock["fragment_sha256"] == sha256(pin.fragment)
    assert lock["upstream"]["info_version"] == "1.1"


CHANGELOG_BEFORE = """# Changelog

## [Unreleased]

### Added
- Something added by hand.

### Fixed
- Something fixed.

## [0.1.0] - 2026-01-01

### Added
- The first release.
"""


def test_a_written_pin_adds_its_changelog_entry_under_unreleased(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pin.changelog.write_text(CHANGELOG_BEFORE)
    source = upstream(tmp_path, rename_required_field, bump_version)
    assert pin.run(source) == 3  # refused: the changelog is left alone
    assert pin.run(source, "--check") == 1  # a check writes nothing either
    assert pin.changelog.read_text() == CHANGELOG_BEFORE

    assert pin.run(source, "--accept-breaking") == 0
    out = capsys.readouterr().out
    entry = out[out.index("changelog entry:\n") :].splitlines()[1:5]
    assert "changelog: entry added under ## [Unreleased]" in out
    text = pin.changelog.read_text()
    unreleased = changelog.section(text, "Unreleased")
    assert unreleased is not None
    assert changelog.bullets(unreleased) == [
        ("Added", "Something added by hand."),
        ("Changed", entry[1][2:]),
        ("Removed", entry[3][2:]),
        ("Fixed", "Something fixed."),
    ]
    assert changelog.section(text, "0.1.0") == changelog.section(CHANGELOG_BEFORE, "0.1.0")
    assert text.startswith("# Changelog\n\n## [Unreleased]\n\n### Added\n- Something added by hand.\n\n### Changed\n")

    # a second pin appends to the same subsections; --no-changelog leaves the file alone
    assert pin.run(upstream(tmp_path, rename_required_field, bump_version, change_description), "--no-changelog") == 0
    assert pin.changelog.read_text() == text
    assert pin.run(upstream(tmp_path, rename_required_field, bump_version, change_description, add_optional_field)) == 0
    later = changelog.bullets(changelog.section(pin.changelog.read_text(), "Unreleased") or "")
    assert [title for title, _ in later] == ["Added", "Added", "Changed", "Changed", "Removed", "Fixed"]
    assert "SpeakerAudioResponseModel.sample_rate" in later[1][1]


def test_a_changelog_without_unreleased_gets_one_above_the_newest_version(tmp_path: Path) -> None:
    text = "# Changelog\n\nIntro.\n\n## [0.1.0]\n\n### Added\n- First.\n"
    updated = changelog.add_to_unreleased(text, ["### Changed", "- Re-pinned."])
    unreleased = "## [Unreleased]\n\n### Changed\n- Re-pinned.\n\n"
    assert updated == f"# Changelog\n\nIntro.\n\n{unreleased}## [0.1.0]\n\n### Added\n- First.\n"
    created = changelog.add_to_unreleased("", ["### Changed", "- Re-pinned."])
    assert created.startswith(changelog.HEADER)
    assert changelog.bullets(changelog.section(created, "Unreleased") or "") == [("Changed", "Re-pinned.")]


def test_check_reports_a_change_exits_1_and_writes_nothing(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = pin.files()
    assert pin.run(upstream(tmp_path, add_optional_field), "--check") == 1
    assert "[safe] field added (optional): SpeakerAudioResponseModel.sample_rate" in capsys.readouterr().out
    assert pin.run(upstream(tmp_path, change_type), "--check") == 1  # --check keeps exit 1 on breaking changes
    assert "pinning needs --accept-breaking" in capsys.readouterr().out
    assert pin.run(upstream(tmp_path, add_optional_field), "--check", "--add-operation", WAVEFORM) == 1
    assert pin.files() == before


def test_new_required_property_of_a_request_body_is_breaking(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pin.run(FIXTURE, "--add-operation", TRAIN) == 0
    before = pin.files()

    def optional_body_field(full: dict[str, Any]) -> None:
        schema(full, TRAIN_BODY)["properties"]["seed"] = {"type": "integer"}

    def required_body_field(full: dict[str, Any]) -> None:
        optional_body_field(full)
        schema(full, TRAIN_BODY)["required"] = ["seed"]

    capsys.readouterr()
    assert pin.run(upstream(tmp_path, required_body_field)) == 3
    assert f"  [breaking] field added (required): {TRAIN_BODY}.seed\n" in capsys.readouterr().out
    assert pin.files() == before
    assert pin.run(upstream(tmp_path, optional_body_field)) == 0
    assert f"  [safe] field added (optional): {TRAIN_BODY}.seed\n" in capsys.readouterr().out


def test_removed_operation_is_breaking_and_accepting_it_drops_it_everywhere(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def remove_sample_audio(full: dict[str, Any]) -> None:
        del full["paths"][AUDIO_PATH]

    source = upstream(tmp_path, remove_sample_audio)
    before = pin.files()
    assert pin.run(source) == 3
    assert f"  [breaking] operation removed: {SAMPLE_AUDIO}\n" in capsys.readouterr().out
    assert pin.files() == before
    assert pin.run(source, "--accept-breaking") == 0
    lock, fragment, overlay = pin.read()
    assert SAMPLE_AUDIO not in operation_keys(lock["operations"])
    assert SAMPLE_AUDIO not in overlay["operation_ids"]
    build_spec.apply_overlay(fragment, overlay)


def test_unpinned_siblings_are_listed(pin: Pin, capsys: pytest.CaptureFixture[str]) -> None:
    assert pin.run(FIXTURE) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if "unpinned upstream operation" in line]
    assert listed == [
        f'  unpinned upstream operation: {key} (add with --add-operation "{key}")'
        for key in (WAVEFORM, DELETE_SAMPLE, TRAIN)
    ]


def test_add_operation_pins_it_and_proposes_an_overlay_id(pin: Pin, capsys: pytest.CaptureFixture[str]) -> None:
    assert pin.run(FIXTURE, "--add-operation", WAVEFORM) == 0
    out = capsys.readouterr().out
    assert f"  [safe] operation added: {WAVEFORM}\n" in out
    assert "  [safe] schema added: VoiceSampleVisualWaveformResponseModel\n" in out
    assert (
        f"overlay: proposed operationId 'retrieve_voice_sample_visual_waveform' for {WAVEFORM}"
        f" (rename it in {pin.overlay} if you like)\n"
    ) in out
    assert "unpinned upstream operation: " + WAVEFORM not in out
    lock, fragment, overlay = pin.read()
    assert operation_keys(lock["operations"]) == [*operation_keys(FIXTURE_OPERATIONS), WAVEFORM]
    assert WAVEFORM in spec_diff.operations(fragment)
    assert "VoiceSampleVisualWaveformResponseModel" in fragment["components"]["schemas"]
    assert overlay["operation_ids"][WAVEFORM] == "retrieve_voice_sample_visual_waveform"
    spec = build_spec.apply_overlay(fragment, overlay)
    assert spec["paths"][WAVEFORM.split(" ", 1)[1]]["get"]["operationId"] == "retrieve_voice_sample_visual_waveform"
    # the overlay keeps its hand-written layout: one server per line, one new line for the new id
    old_lines = pin_spec.dump_overlay(FIXTURE_OVERLAY).decode().splitlines()
    last_id = len(old_lines) - 3  # the file ends with the last id, "  }" and "}"
    assert pin.overlay.read_text().splitlines() == [
        *old_lines[:last_id],
        old_lines[last_id] + ",",
        f'    "{WAVEFORM}": "retrieve_voice_sample_visual_waveform"',
        *old_lines[last_id + 1 :],
    ]


def test_add_operation_proposes_a_unique_id(pin: Pin) -> None:
    overlay = json.loads(pin.overlay.read_text())
    overlay["operation_ids"][SAMPLE_AUDIO] = "retrieve_voice_sample_visual_waveform"
    pin.overlay.write_bytes(pin_spec.dump_overlay(overlay))
    assert pin.run(FIXTURE, "--add-operation", "get " + WAVEFORM.split(" ", 1)[1]) == 0
    _, fragment, overlay = pin.read()
    assert overlay["operation_ids"][WAVEFORM] == "retrieve_voice_sample_visual_waveform_2"
    build_spec.apply_overlay(fragment, overlay)


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ("GET /v1/voices/pvc/{voice_id}/nowhere", "not in the upstream spec"),
        (SAMPLE_AUDIO, "already pinned"),
        ("/v1/voices/pvc/{voice_id}/train", "expected 'METHOD /path'"),
    ],
)
def test_add_operation_refuses_unknown_or_pinned_operations(
    pin: Pin, capsys: pytest.CaptureFixture[str], operation: str, message: str
) -> None:
    before = pin.files()
    assert pin.run(FIXTURE, "--add-operation", operation) == 2
    assert message in capsys.readouterr().err
    assert pin.files() == before


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_source_url_and_commit_are_recorded(pin: Pin, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pin.run(FIXTURE, "--source-url", "https://example.test/openapi.json", "--commit", COMMIT.upper()) == 0
    lock, _, _ = pin.read()
    assert lock["upstream"]["source_url"] == "https://example.test/openapi.json"
    assert lock["upstream"]["commit"] == COMMIT  # stored lower-case
    assert set(LOCK["upstream"]) <= set(lock["upstream"])  # the same document: every existing key kept
    assert list(lock) == list(LOCK)
    assert lock["operations"] == FIXTURE_OPERATIONS

    # an http(s) source is its own source_url
    url = "https://raw.example.test/fern/apis/api/openapi.json"
    monkeypatch.setattr(pin_spec, "read_source", lambda source: (FIXTURE.read_bytes() if source == url else b"", None))
    assert pin.run(url) == 0
    lock, _, _ = pin.read()
    assert lock["upstream"]["source_url"] == url
    assert lock["upstream"]["commit"] == COMMIT


def test_a_new_document_drops_the_provenance_it_cannot_vouch_for(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, _, _ = pin.read()
    before["upstream"].update(commit=COMMIT, last_changed_commit=COMMIT[::-1], date="2025-08-24")
    pin.lock.write_text(json.dumps(before, indent=2) + "\n")
    source = upstream(tmp_path, add_optional_field)
    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    assert pin.run(source) == 0
    out = capsys.readouterr().out
    lock, _, _ = pin.read()
    recorded = lock["upstream"]
    for name in ("commit", "last_changed_commit", "date"):
        assert name not in recorded
        assert f"  lock: upstream.{name}: {before['upstream'][name]} (dropped: recorded for another document" in out
    assert recorded["sha256"] == sha256(source)
    assert recorded["size"] == source.stat().st_size
    assert recorded["info_version"] == json.loads(source.read_text())["info"]["version"]
    pinned_at = datetime.datetime.fromisoformat(recorded["pinned_at"])
    assert started <= pinned_at <= datetime.datetime.now(datetime.UTC)
    assert recorded["pinned_at"].endswith("Z")
    assert (recorded["repository"], recorded["path"]) == (before["upstream"]["repository"], before["upstream"]["path"])

    # re-pinning the same document keeps what was recorded for it, pinned_at included
    assert pin.run(source, "--commit", COMMIT, "--date", "2025-09-01") == 0
    again, _, _ = pin.read()
    assert again["upstream"] == {**recorded, "commit": COMMIT, "date": "2025-09-01"}
    files = pin.files()
    assert pin.run(source) == 0
    assert pin.files() == files
    assert pin.run(source, "--check") == 0


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--commit", "0123abc"),
        ("--commit", "main"),
        ("--commit", COMMIT + "0"),
        ("--commit", "g" * 40),
        ("--date", "yesterday"),
        ("--date", "2025-13-01"),
    ],
)
def test_commit_and_date_must_look_like_one(
    pin: Pin, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    before = pin.files()
    assert pin.run(FIXTURE, option, value) == 2
    assert f"pin_spec: error: {option}: expected" in capsys.readouterr().err
    assert pin.files() == before


@pytest.mark.parametrize(
    ("recorded", "given", "message"),
    [
        ({"info_version": "1.10"}, {"version": "1.9"}, "info.version 1.10 -> 1.9"),
        ({"info_version": "1.0", "date": "2025-08-24"}, {"date": "2025-08-23T23:00:00+00:00"}, "date 2025-08-24 ->"),
    ],
)
def test_a_document_older_than_the_pinned_one_is_reported(
    pin: Pin,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    recorded: dict[str, str],
    given: dict[str, str],
    message: str,
) -> None:
    lock = json.loads(pin.lock.read_text())
    lock["upstream"].update(recorded)
    pin.lock.write_text(json.dumps(lock))

    def version(full: dict[str, Any]) -> None:
        full["info"]["version"] = given.get("version", full["info"]["version"])

    options = ["--date", given["date"]] if "date" in given else []
    assert pin.run(upstream(tmp_path, version), *options, "--check") == 1
    assert f"\n  [review] older than the pinned document: {message}" in capsys.readouterr().out
    # a newer one is not
    newer = {"info_version": "1.0", "date": "2025-08-01"}
    lock["upstream"].update(newer)
    pin.lock.write_text(json.dumps(lock))
    assert pin.run(upstream(tmp_path), "--date", "2025-08-24", "--check") == 1
    assert "older than the pinned document" not in capsys.readouterr().out


def test_a_url_source_records_its_last_modified_date(pin: Pin, capsys: pytest.CaptureFixture[str]) -> None:
    body = FIXTURE.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Last-Modified", "Sun, 24 Aug 2025 20:59:16 GMT")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/openapi.json"
        assert pin.run(url) == 0
    finally:
        server.shutdown()
        server.server_close()
    lock, _, _ = pin.read()
    assert lock["upstream"]["source_url"] == url
    assert lock["upstream"]["date"] == "2025-08-24T20:59:16Z"


def test_a_source_that_cannot_be_read_is_a_usage_error(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = pin.files()
    not_json = tmp_path / "openapi.json"
    not_json.write_text("<html>")
    for source in (tmp_path / "missing.json", not_json, tmp_path):
        assert pin.run(source) == 2
        assert f"pin_spec: error: cannot read {source}" in capsys.readouterr().err
    not_openapi = tmp_path / "list.json"
    not_openapi.write_text("[]")
    assert pin.run(not_openapi) == 2
    assert "is not an OpenAPI document" in capsys.readouterr().err
    assert pin.files() == before


# --- the classifier on its own (dicts, no files) --------------------------------------------------


def fragment_from_fixture(*mutations: Mutation) -> dict[str, Any]:
    full = json.loads(FIXTURE.read_text())
    for mutate in mutations:
        mutate(full)
    fragment: dict[str, Any] = pin_spec.extract_fragment(full, FIXTURE_OPERATIONS)
    return fragment


def lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [change.line.strip() for change in spec_diff.diff_fragments(old, new)]


def test_classifier_reads_through_anyof_items_and_additional_properties() -> None:
    base = fragment_from_fixture()

    def nest(full: dict[str, Any]) -> None:
        props = schema(full, STATUS_MODEL)["properties"]
        status = props["status"]
        props["status"] = {"anyOf": [{"type": "string", "enum": [*status.pop("enum"), "cancelled"]}, {"type": "null"}]}
        props["status"].update({k: v for k, v in status.items() if k != "type"})
        props["speakers"]["anyOf"][0]["additionalProperties"] = {"$ref": "#/components/schemas/UtteranceResponseModel"}
        props["selected_speaker_ids"]["anyOf"][0]["items"] = {"type": "string", "enum": ["a"]}
        schema(full, "VoiceSamplePreviewResponseModel")["properties"]["duration_secs"]["anyOf"].pop()

    assert lines(base, fragment_from_fixture(nest)) == [
        "[breaking] schema removed: SpeakerResponseModel",
        f"[breaking] field made nullable: {STATUS_MODEL}.status",
        f"[breaking] type changed: {STATUS_MODEL}.speakers{{}}: SpeakerResponseModel -> UtteranceResponseModel",
        f"[review] enum value added: {STATUS_MODEL}.status: 'cancelled'",
        f"[review] enum introduced: {STATUS_MODEL}.selected_speaker_ids[]",
        "[safe] field no longer nullable: VoiceSamplePreviewResponseModel.duration_secs",
    ]

    def type_list(full: dict[str, Any]) -> None:
        schema(full, AUDIO_MODEL)["properties"]["duration_secs"]["type"] = ["number", "null"]

    assert lines(base, fragment_from_fixture(type_list)) == [
        f"[breaking] field made nullable: {AUDIO_MODEL}.duration_secs"
    ]


def body_and_response_fragment(model: dict[str, Any]) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/M"}
    operation = {
        "requestBody": {"content": {"application/json": {"schema": ref}}},
        "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
    }
    return {"info": {"version": "1"}, "paths": {"/m": {"put": operation}}, "components": {"schemas": {"M": model}}}


def test_a_schema_on_both_sides_takes_the_worse_class() -> None:
    model: dict[str, Any] = {
        "type": "object",
        "properties": {"a": {"type": "string", "enum": ["x"]}},
        "required": ["a"],
    }
    old = body_and_response_fragment(model)
    assert spec_diff.schema_sides(old) == {"M": frozenset({"request", "response"})}
    changed = copy.deepcopy(model)
    changed["properties"]["b"] = {"type": "string"}
    changed["required"] = ["b"]  # a made optional (response: breaking), b required (request: breaking)
    changed["properties"]["a"]["enum"].append("y")  # response: [review], request: [safe]
    assert lines(old, body_and_response_fragment(changed)) == [
        "[breaking] field added (required): M.b",
        "[breaking] field made optional: M.a",
        "[review] enum value added: M.a: 'y'",
    ]
    request_only = old | {"paths": {"/m": {"put": {"requestBody": old["paths"]["/m"]["put"]["requestBody"]}}}}
    assert spec_diff.schema_sides(request_only) == {"M": frozenset({"request"})}
    new_request_only = request_only | {"components": {"schemas": {"M": changed}}}
    assert lines(request_only, new_request_only) == [
        "[breaking] field added (required): M.b",
        "[safe] field made optional: M.a",
        "[safe] enum value added: M.a: 'y'",
    ]


def request_only_fragment(model: dict[str, Any]) -> dict[str, Any]:
    fragment = body_and_response_fragment(model)
    del fragment["paths"]["/m"]["put"]["responses"]
    return fragment


def test_the_same_edit_is_classed_by_the_direction_it_travels() -> None:
    """Widening a type, loosening or tightening a constraint, nullability: opposite classes in a request and a
    response; and a schema on both sides takes the worse."""
    member: dict[str, Any] = {"type": "number", "minimum": 0, "maxLength": 8}
    edits: list[tuple[str, Callable[[dict[str, Any]], object], spec_diff.Severity, spec_diff.Severity]] = [
        ("widened", lambda m: m.update(type=["number", "string"]), "breaking", "safe"),
        ("narrowed", lambda m: m.update(type="integer"), "review", "breaking"),
        ("lower bound raised", lambda m: m.update(minimum=1), "review", "breaking"),
        ("lower bound dropped", lambda m: m.pop("minimum"), "review", "safe"),
        ("upper bound raised", lambda m: m.update(maxLength=16), "review", "safe"),
        ("nullable", lambda m: m.update(nullable=True), "breaking", "safe"),
    ]
    for label, edit, response, request in edits:
        changed = copy.deepcopy(member)
        edit(changed)
        old_model = {"type": "object", "properties": {"a": member}}
        new_model = {"type": "object", "properties": {"a": changed}}
        for build, expected in (
            (response_only_fragment, response),
            (request_only_fragment, request),
            (body_and_response_fragment, spec_diff.worst([response, request])),
        ):
            found = spec_diff.diff_fragments(build(old_model), build(new_model))
            assert [c.severity for c in found] == [expected], (label, build.__name__, found)

    # nullability through "null" in an enum is the same as the other spellings
    old_enum = {"type": "object", "properties": {"a": {"type": ["string", "null"], "enum": ["x", None]}}}
    new_enum = {"type": "object", "properties": {"a": {"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "null"}]}}}
    assert lines(response_only_fragment(old_enum), response_only_fragment(new_enum)) == [
        '[safe] nullable spelled another way: M.a: "null" in type, null in enum -> a null branch (the same nullability)'
    ]


def test_every_schema_on_a_cycle_below_a_response_is_named_once_and_only_when_new() -> None:
    a = {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}}
    b = {"type": "object", "properties": {"a": {"anyOf": [{"$ref": "#/components/schemas/M"}, {"type": "null"}]}}}
    model: dict[str, Any] = {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}}
    flat = response_only_fragment({"type": "object", "properties": {}})
    cyclic = response_only_fragment(model)
    cyclic["components"]["schemas"].update(A=a, B=b)
    found = [line for line in lines(flat, cyclic) if RECURSION in line]
    assert found == [
        f"[review] {RECURSIVE}: B: B -> M -> B {RECURSION}",
        f"[review] {RECURSIVE}: M: M -> B -> M {RECURSION}",
    ]  # A is not reached from a response
    assert not [line for line in lines(cyclic, cyclic | {"info": {"version": "2"}}) if RECURSION in line]
    request_cycle = request_only_fragment(model)
    request_cycle["components"]["schemas"].update(B=b)
    assert not [line for line in lines(request_only_fragment({}), request_cycle) if RECURSION in line]


def test_response_headers_status_codes_and_media_types_removed() -> None:
    def fragment(headers: dict[str, Any] | None, codes: tuple[str, ...] = ("200", "404"), media: str = "a/b") -> Any:
        responses: dict[str, Any] = {code: {"content": {media: {"schema": {"type": "string"}}}} for code in codes}
        if headers is not None:
            responses["200"]["headers"] = headers
        return {"paths": {"/m": {"get": {"responses": responses}}}}

    string = {"schema": {"type": "string"}}
    both = fragment({"request-id": {"required": True, **string}, "x-trace": string})
    assert lines(both, fragment({"x-trace": string})) == ["[breaking] response header removed: GET /m: 200: request-id"]
    assert lines(both, fragment({"request-id": {"required": True, **string}})) == [
        "[review] response header removed: GET /m: 200: x-trace"
    ]
    assert lines(both, fragment({"Request-Id": string, "x-trace": string})) == [
        "[breaking] response header made optional: GET /m: 200: request-id"
    ]
    retyped = fragment({"request-id": {"required": True, "schema": {"type": "integer"}}, "x-trace": string})
    assert lines(both, retyped) == ["[breaking] type changed: GET /m: 200: header request-id: string -> integer"]
    assert lines(both, fragment({"request-id": {"required": True, **string}, "x-trace": string}, ("200",))) == [
        "[breaking] response removed: GET /m: 404"
    ]
    assert lines(fragment(None), fragment(None, media="a/c")) == [
        "[breaking] media type removed: GET /m: 200 a/b",
        "[breaking] media type removed: GET /m: 404 a/b",
        "[review] media type added: GET /m: 200 a/c",
        "[review] media type added: GET /m: 404 a/c",
    ]


def test_new_parameters_are_listed_with_their_place_and_default() -> None:
    def fragment(*parameters: dict[str, Any]) -> Any:
        return {"paths": {"/m": {"get": {"parameters": list(parameters)}, "parameters": []}}}

    kept = {"name": "k", "in": "query", "schema": {"type": "string"}}
    fmt = {"name": "fmt", "in": "query", "schema": {"anyOf": [{"type": "string", "default": "mp3"}, {"type": "null"}]}}
    header = {"name": "xi-workspace", "in": "header", "required": True, "schema": {"type": "string"}}
    new = fragment(kept, fmt, header)
    assert spec_diff.new_parameters(fragment(kept), new) == [
        spec_diff.NewParameter("GET /m", "query", "fmt", required=False, default="mp3"),
        spec_diff.NewParameter("GET /m", "header", "xi-workspace", required=True, default=None),
    ]
    assert spec_diff.new_parameters(new, new) == []
    assert spec_diff.new_parameters({"paths": {}}, new) == []  # a new operation's parameters are not "added"


def test_identical_fragments_have_no_changes_and_an_empty_summary() -> None:
    assert spec_diff.diff_fragments(fragment_from_fixture(), fragment_from_fixture()) == []
    assert spec_diff.summary([]) == "0 breaking, 0 review, 0 safe"


# --- the harder cases: keywords, titles, reserved names, formats, path-level parameters, leftovers -------


def response_only_fragment(model: dict[str, Any]) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/M"}
    operation = {"responses": {"200": {"content": {"application/json": {"schema": ref}}}}}
    return {"info": {"version": "1"}, "paths": {"/m": {"get": operation}}, "components": {"schemas": {"M": model}}}


# Each keyword the classifier says the facade's validator enforces: a schema using it and a value it must refuse
# (or, for nullable, accept). The validator must refuse every other keyword of JSON Schema 2020-12 and OpenAPI.
ENFORCED: dict[str, tuple[dict[str, Any], object, bool]] = {
    "$ref": ({"$ref": "#/components/schemas/S"}, 1, False),
    "type": ({"type": "string"}, 1, False),
    "nullable": ({"type": "string", "nullable": True}, None, True),
    "enum": ({"enum": ["a"]}, "b", False),
    "const": ({"const": "a"}, "b", False),
    "properties": ({"properties": {"a": {"type": "string"}}}, {"a": 1}, False),
    "required": ({"required": ["a"]}, {}, False),
    "additionalProperties": ({"additionalProperties": False}, {"a": 1}, False),
    "items": ({"items": {"type": "string"}}, [1], False),
    "anyOf": ({"anyOf": [{"type": "string"}]}, 1, False),
    "oneOf": ({"oneOf": [{"type": "string"}, {"minLength": 0}]}, "a", False),
    "allOf": ({"allOf": [{"type": "string"}]}, 1, False),
    "not": ({"not": {"type": "string"}}, "a", False),
    "uniqueItems": ({"uniqueItems": True}, [1, 1], False),
    "multipleOf": ({"multipleOf": 2}, 3, False),
    "pattern": ({"pattern": "^a"}, "b", False),
    "minimum": ({"minimum": 1}, 0, False),
    "maximum": ({"maximum": 1}, 2, False),
    "exclusiveMinimum": ({"exclusiveMinimum": 1}, 1, False),
    "exclusiveMaximum": ({"exclusiveMaximum": 1}, 1, False),
    "minLength": ({"minLength": 2}, "a", False),
    "maxLength": ({"maxLength": 1}, "ab", False),
    "minItems": ({"minItems": 1}, [], False),
    "maxItems": ({"maxItems": 0}, [1], False),
    "minProperties": ({"minProperties": 1}, {}, False),
    "maxProperties": ({"maxProperties": 0}, {"a": 1}, False),
}
# Each keyword it says the validator ignores, with an argument that would refuse the value 12345 if enforced.
IGNORED: dict[str, object] = {
    "title": "t",
    "description": "d",
    "example": "x",
    "examples": ["x"],
    "default": "x",
    "deprecated": True,
    "readOnly": True,
    "writeOnly": True,
    "format": "date",
    "$comment": "c",
    "externalDocs": {"url": "https://docs.example.test"},
    "xml": {"name": "x"},
    "contentMediaType": "audio/mpeg",
    "contentEncoding": "base64",
}
VOCABULARY = {  # JSON Schema 2020-12 (core, applicator, unevaluated, validation, meta-data, format, content), older
    # drafts' spellings, and OpenAPI's own schema keywords
    *("$ref", "$defs", "$id", "$schema", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "$comment"),
    *("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas", "prefixItems", "items"),
    *("contains", "properties", "patternProperties", "additionalProperties", "propertyNames"),
    *("unevaluatedItems", "unevaluatedProperties", "type", "enum", "const", "multipleOf", "maximum"),
    *("exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems"),
    *("uniqueItems", "maxContains", "minContains", "maxProperties", "minProperties", "required", "dependentRequired"),
    *("title", "description", "default", "deprecated", "readOnly", "writeOnly", "examples", "format"),
    *("contentEncoding", "contentMediaType", "contentSchema", "dependencies", "additionalItems", "definitions"),
    *("nullable", "discriminator", "xml", "externalDocs", "example"),
}


def test_the_classifier_knows_what_the_facade_validator_enforces_ignores_and_refuses() -> None:
    """``spec_diff``'s two keyword sets (its one copy of them) against the facade's validator itself."""
    from _compiled import compile_validator

    from speaker_audio.errors import UnsupportedSchemaError

    spec = {"components": {"schemas": {"S": {"type": "string"}}}}

    def verdict(schema: dict[str, Any], value: object) -> bool | None:
        """True: accepted; False: refused; None: the validator refuses to compile the schema."""
        try:
            validate = compile_validator(schema, spec, "test")
        except UnsupportedSchemaError:
            return None
        try:
            validate(value)
        except ResponseValidationError:
            return False
        return True

    assert set(ENFORCED) == spec_diff.FACADE_ENFORCED_KEYWORDS
    assert set(IGNORED) == spec_diff.FACADE_IGNORED_KEYWORDS
    assert spec_diff.FACADE_KNOWN_KEYWORDS <= VOCABULARY
    for keyword, (schema, value, accepted) in ENFORCED.items():
        assert verdict(schema, value) is accepted, keyword
    for keyword, argument in IGNORED.items():
        assert verdict({keyword: argument}, 12345) is True, keyword
    for keyword in sorted(VOCABULARY - spec_diff.FACADE_KNOWN_KEYWORDS):
        assert verdict({keyword: {}}, 1) is None, keyword


def test_only_keywords_the_facade_does_not_enforce_are_breaking_and_only_when_new() -> None:
    model: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    old = response_only_fragment(model)
    for keyword in sorted({*spec_diff.FACADE_KNOWN_KEYWORDS, "x-fern-type"} - {"type", "properties"}):
        changed = copy.deepcopy(model)
        changed["properties"]["a"][keyword] = {}
        found = lines(old, response_only_fragment(changed))
        assert not any(NOT_ENFORCED in line for line in found), (keyword, found)
    for keyword in ("prefixItems", "patternProperties", "discriminator", "if", "dependentRequired", "propertyNames"):
        changed = copy.deepcopy(model)
        changed["properties"]["a"][keyword] = {}
        assert f"[breaking] {NOT_ENFORCED}: M.a: {keyword!r} {EXTEND}" in lines(old, response_only_fragment(changed))

    # a keyword the old pin already had at that place is not news; one at another place is
    had = copy.deepcopy(model)
    had["properties"]["a"]["contains"] = {"const": "x"}
    more = copy.deepcopy(had)
    more["properties"]["a"]["contains"] = {"const": "y"}
    more["properties"]["b"] = {"type": "array", "contains": {}}
    assert [
        line for line in lines(response_only_fragment(had), response_only_fragment(more)) if NOT_ENFORCED in line
    ] == [f"[breaking] {NOT_ENFORCED}: M.b: 'contains' {EXTEND}"]
    # nor is a keyword below a request body only (the facade validates responses)
    request_only = body_and_response_fragment(model)
    del request_only["paths"]["/m"]["put"]["responses"]
    request_changed = copy.deepcopy(request_only)
    request_changed["components"]["schemas"]["M"]["properties"]["a"]["prefixItems"] = []
    assert not any(NOT_ENFORCED in line for line in lines(request_only, request_changed))


def test_reserved_names_collide_on_the_request_side_too_and_formats_matter_only_in_responses() -> None:
    model: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}}
    request_only = body_and_response_fragment(model)
    del request_only["paths"]["/m"]["put"]["responses"]
    changed = copy.deepcopy(request_only)
    changed["components"]["schemas"]["M"]["properties"]["toDict"] = {"type": "string"}
    changed["components"]["schemas"]["M"]["properties"]["at"] = {"type": "string", "format": "date-time"}
    assert lines(request_only, changed) == [
        "[breaking] field added (collides with a generated model attribute): M.toDict: to_dict",
        "[safe] field added (optional): M.at",
    ]
    # a new response field that reaches a format through a reference: the referenced model is parsed too
    new_model = copy.deepcopy(model)
    new_model["properties"]["when"] = {"$ref": "#/components/schemas/W"}
    new = response_only_fragment(new_model)
    new["components"]["schemas"]["W"] = {"type": "object", "properties": {"at": {"type": "string", "format": "date"}}}
    assert f"[review] field added with a format: M.when: 'date' {PARSED}" in lines(response_only_fragment(model), new)


def test_path_level_parameters_apply_to_every_operation_of_the_path() -> None:
    operation: dict[str, Any] = {"parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}]}
    old: dict[str, Any] = {"paths": {"/m": {"get": copy.deepcopy(operation), "put": copy.deepcopy(operation)}}}
    new = copy.deepcopy(old)
    new["paths"]["/m"]["parameters"] = [{"name": "h", "in": "header", "required": True, "schema": {"type": "string"}}]
    assert lines(old, new) == [
        "[breaking] parameter added (required): GET /m: header h",
        "[breaking] parameter added (required): PUT /m: header h",
    ]
    assert lines(new, old) == [
        "[breaking] parameter removed: GET /m: header h",
        "[breaking] parameter removed: PUT /m: header h",
    ]
    # an operation's own parameter of the same name and place overrides the path's
    overridden = copy.deepcopy(new)
    overridden["paths"]["/m"]["get"]["parameters"].append({"name": "h", "in": "header", "schema": {"type": "string"}})
    assert lines(old, overridden) == [
        "[breaking] parameter added (required): PUT /m: header h",
        "[safe] parameter added (optional): GET /m: header h",
    ]
    # moving a parameter from the operations to the path is no parameter change (only a difference to look at)
    moved: dict[str, Any] = {"paths": {"/m": {"get": {}, "put": {}, "parameters": operation["parameters"]}}}
    assert lines(old, moved) == ["[review] unclassified change: /paths/~1m/get/parameters"]


def test_extraction_keeps_path_level_parameters_and_servers_only_when_present() -> None:
    full: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "tags": [{"name": "a"}],
        "paths": {
            "/x": {
                "summary": "dropped",
                "parameters": [{"name": "h", "in": "header", "schema": {"$ref": "#/components/schemas/H"}}],
                "get": {"tags": ["a"], "responses": {}},
                "servers": [{"url": "https://x.test"}],
                "post": {"responses": {}},
            },
            "/y": {"get": {"responses": {}}},
        },
        "components": {"schemas": {"H": {"type": "string"}, "Unused": {}}},
    }
    fragment = pin_spec.extract_fragment(full, [{"method": "GET", "path": "/x"}, {"method": "GET", "path": "/y"}])
    assert list(fragment["paths"]["/x"]) == ["parameters", "get", "servers"]
    assert list(fragment["paths"]["/y"]) == ["get"]
    assert list(fragment["components"]["schemas"]) == ["H"]
    assert fragment["tags"] == [{"name": "a"}]


def test_path_level_parameter_removed_upstream_is_breaking(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pin.run(upstream(tmp_path, path_parameter(False))) == 0
    _, fragment, _ = pin.read()
    assert fragment["paths"][AUDIO_PATH]["parameters"][0]["name"] == "xi-workspace"
    capsys.readouterr()
    before = pin.files()
    assert pin.run(FIXTURE) == 3
    assert f"\n  [breaking] parameter removed: {SAMPLE_AUDIO}: header xi-workspace\n" in capsys.readouterr().out
    assert pin.files() == before


def test_key_order_alone_is_formatting_and_a_combiner_change_is_never_lost(
    pin: Pin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def title_first(full: dict[str, Any]) -> None:
        model = schema(full, AUDIO_MODEL)
        full["components"]["schemas"][AUDIO_MODEL] = {"title": model.pop("title"), **model}

    assert pin.run(upstream(tmp_path, title_first)) == 0
    out = capsys.readouterr().out
    assert "\n  [safe] formatting or key order changed (same content)\n" in out
    assert "[review]" not in out

    base = fragment_from_fixture()
    assert lines(base, fragment_from_fixture(any_of_to_one_of, bump_version)) == [
        f"[review] combiner changed: {SPEAKERS_FIELD}: anyOf -> oneOf",
        "[safe] info.version changed: 1.0 -> 1.1",
    ]

    def any_of_to_all_of(full: dict[str, Any]) -> None:
        status_props(full)["selected_speaker_ids"]["allOf"] = status_props(full)["selected_speaker_ids"].pop("anyOf")

    found = lines(base, fragment_from_fixture(any_of_to_all_of, bump_version))
    assert any(line.startswith(("[review]", "[breaking]")) and IDS_FIELD in line for line in found), found


def test_only_a_reorder_that_reorders_the_generated_constructor_is_reported() -> None:
    def optional_first(full: dict[str, Any]) -> None:
        model = schema(full, SPEAKER)  # speaker_id, duration_secs (required), utterances (optional)
        model["properties"] = {"utterances": model["properties"].pop("utterances"), **model["properties"]}

    def required_swapped(full: dict[str, Any]) -> None:
        model = schema(full, SPEAKER)
        model["properties"] = {"duration_secs": model["properties"].pop("duration_secs"), **model["properties"]}

    base = fragment_from_fixture()
    assert lines(base, fragment_from_fixture(optional_first)) == []
    assert lines(base, fragment_from_fixture(required_swapped)) == [
        f"[review] fields reordered: {SPEAKER}: the generated model's constructor takes them in order"
    ]


def test_first_difference_is_a_json_pointer() -> None:
    assert spec_diff.first_difference({"a": [1, 2]}, {"a": [1, 3]}) == "/a/1"
    assert spec_diff.first_difference({"p": {"/x~y": 1}}, {"p": {"/x~y": 2}}) == "/p/~1x~0y"
    assert spec_diff.first_difference({"a": 1}, {"a": 1, "b": 2}) == "/b"
    assert spec_diff.first_difference([1], [1, 2]) == "/1"
    assert spec_diff.first_difference(1, "1") == ""
    assert spec_diff.first_difference({"a": 1, "b": 2}, {"b": 2, "a": 1}) is None


def fake_generate_into(workdir: Path, openapi_dir: Path = generate.OPENAPI_DIR) -> Path:
    out = workdir / "speaker_audio_api"
    out.mkdir()
    (out / "py.typed").write_text(generate.PY_TYPED)
    (out / generate.SPEC_RESOURCE).write_text("{}\n")
    return out


def test_generate_out_refuses_a_folder_that_is_not_a_generated_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(generate, "generate_into", fake_generate_into)
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    (precious / "py.typed").write_text("")  # one marker alone is not enough
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    elsewhere = tmp_path / "elsewhere"  # looks generated, but --out reaches it through a link
    elsewhere.mkdir()
    for name in ("py.typed", generate.SPEC_RESOURCE):
        (elsewhere / name).write_text("")
    link = tmp_path / "link"
    link.symlink_to(elsewhere, target_is_directory=True)
    for target in (precious, a_file, link):
        assert generate.main(["--out", str(target)]) == 1
        assert "refusing to replace" in capsys.readouterr().err
    assert (precious / "thesis.tex").read_text() == "years of work"
    assert a_file.read_text() == "keep me"
    assert link.is_symlink()
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted(["py.typed", generate.SPEC_RESOURCE])

    # a generated package (py.typed and openapi.json), an empty folder or nothing at all is replaced
    stale = tmp_path / "generated" / "speaker_audio_api"
    stale.mkdir(parents=True)
    for name in ("py.typed", generate.SPEC_RESOURCE, "stale.py"):
        (stale / name).write_text("")
    empty = tmp_path / "empty"
    empty.mkdir()
    for target in (stale, empty, tmp_path / "new" / "pkg"):
        assert generate.main(["--out", str(target)]) == 0
        assert sorted(p.name for p in target.iterdir()) == sorted(["py.typed", generate.SPEC_RESOURCE])

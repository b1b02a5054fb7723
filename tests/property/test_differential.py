"""Facade ≡ spec: a differential property test of response validation against an independent JSON Schema validator.

For each response body the facade reads, bodies are generated from the pinned spec's schema (and
mutated), and the facade's verdict is compared with ``jsonschema``'s (Draft 2020-12, which OpenAPI 3.1
uses) on the same schema:

- every body the oracle accepts is accepted, and its values round-trip (the curated fields and
  ``result.model.to_dict()``);
- every body the oracle refuses is refused with ``ResponseValidationError``.

Drift is judged the same way, by the oracle on the pinned schema *widened* (each enum of strings or numbers opened to
any string or finite number, every object open): a body it accepts is accepted with ``strict=False`` and reported
(no drift exactly when the pinned schema with its objects *closed* accepts it), and accepted with ``strict=True``
exactly when the pinned schema accepts it; a body it refuses is refused either way.

The oracle is stricter than plain JSON Schema in the one way the facade promises to be: a ``number``
must be finite. The audio member is always replaced by valid base64 when it is a string, so that base64
checking (tested elsewhere) does not blur the comparison. The audio body is run through both audio
routes: the one-pass route (``AudioMemorySink``, small bodies), the in-memory streaming route (``AudioMemorySink``
past its one-pass size) and the file streaming route (``AudioFileSink``, which also proves no file is left after a
refusal), the streaming ones fed in random chunks.

hypothesis-jsonschema (0.23.1, its latest release) does not run on the hypothesis this project pins
(it calls a private ``many.more()`` that hypothesis removed), so bodies come from the small
schema-to-strategy function below; the oracle that judges them is ``jsonschema``, not our code.
"""

from __future__ import annotations

import base64
import itertools
import json
import math
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _oracle import FiniteValidator
from _spec import load_spec, response_schema
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from speaker_audio import _sinks
from speaker_audio._drift import UNKNOWN_ENUM_VALUE, UNKNOWN_MEMBER
from speaker_audio._files import AtomicFile
from speaker_audio._operations import OPERATIONS as OPERATION_ROWS
from speaker_audio._operations import SAMPLE_AUDIO, SEPARATION_STATUS, SPEAKER_AUDIO, Operation
from speaker_audio._schema import response_validator
from speaker_audio.errors import ResponseValidationError

SPEC = load_spec()
COMPONENTS: Mapping[str, Any] = SPEC["components"]["schemas"]
AUDIO_MEMBER = SPEAKER_AUDIO.member()
OPERATIONS = [row.name for row in OPERATION_ROWS]
separation_status_from_json = SEPARATION_STATUS.from_json
JSON = Any

examples = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# the refusals are rarer than the acceptances: more examples for the mutated bodies
mutations = settings(examples, max_examples=max(600, (settings.default or settings()).max_examples))


def inline(schema: JSON) -> JSON:
    """``schema`` with every ``#/components/schemas/…`` reference replaced by its target."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline(COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]])
        return {key: inline(value) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inline(item) for item in schema]
    return schema


def oracle(operation: str) -> Callable[[object], bool]:
    validator = FiniteValidator(inline(response_schema(operation)))
    return validator.is_valid  # type: ignore[no-any-return]


# --- bodies from a schema ----------------------------------------------------------------------------

KEYS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)


def any_json(depth: int = 2) -> st.SearchStrategy[JSON]:
    """Any JSON value, nested at most ``depth`` levels (fixed depth: no st.recursive)."""
    if depth == 0:
        return SCALARS
    inner = any_json(depth - 1)
    return SCALARS | st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3)


def from_schema(schema: JSON) -> st.SearchStrategy[JSON]:
    """Values that fit ``schema`` (the keywords the pinned response schemas use)."""
    if schema is True or schema == {}:
        return any_json()
    if "$ref" in schema:
        return from_schema(COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return st.one_of([from_schema(option) for option in schema[keyword]])
    types = schema.get("type")
    if isinstance(types, list):
        return st.one_of([from_schema({**schema, "type": t}) for t in types])
    if types == "object":
        return _object(schema)
    if types == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=4)
    scalar: dict[str, st.SearchStrategy[JSON]] = {
        "string": st.text(max_size=16),
        "number": st.integers(-(2**60), 2**60) | st.floats(allow_nan=False, allow_infinity=False),
        "integer": st.integers(),
        "boolean": st.booleans(),
        "null": st.none(),
    }
    if types in scalar:
        return scalar[types]
    raise AssertionError(f"the test's generator does not know {schema!r}: extend from_schema")


def _object(schema: JSON) -> st.SearchStrategy[JSON]:
    properties: dict[str, JSON] = schema.get("properties", {})
    required = set(schema.get("required", []))
    extra = schema.get("additionalProperties", True)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, JSON]:
        value: dict[str, JSON] = {}
        for name, sub in properties.items():
            if name in required or draw(st.booleans()):
                value[name] = draw(from_schema(sub))
        if extra is not False:
            values = any_json(1) if extra is True else from_schema(extra)
            names = KEYS.filter(lambda k: k not in properties)
            value.update(draw(st.dictionaries(names, values, max_size=3)))
        return value

    return build()


# One of each JSON type, and the values validators most often get wrong.
ODD_VALUES: list[JSON] = [None, True, False, 0, -1, 1.5, 1e308, 2**80, 10**400, math.inf, "", "x", [], {}, [None]]
ODD = st.sampled_from(ODD_VALUES)
REPLACEMENTS = st.one_of(ODD, ODD, ODD, any_json(1))


@st.composite
def mutated(draw: st.DrawFn, schema: JSON) -> JSON:
    """A body from ``schema`` with one random change somewhere inside (often still valid, often not)."""
    body = draw(from_schema(schema))
    if draw(st.integers(0, 19)) == 0:
        return draw(any_json())
    slots: list[tuple[Any, Any]] = []  # (container, key or index) of every value in the body
    containers: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict | list):
            containers.append(node)
            for key in list(node) if isinstance(node, dict) else range(len(node)):
                slots.append((node, key))
                walk(node[key])

    walk(body)
    action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
    if slots and action in ("replace", "delete"):
        container, key = draw(st.sampled_from(slots))
        if action == "replace":
            container[key] = draw(REPLACEMENTS)
        else:
            del container[key]
    elif containers:
        target = draw(st.sampled_from(containers))
        value = draw(REPLACEMENTS)
        if isinstance(target, dict):
            target[draw(KEYS)] = value
        else:
            target.append(value)
    return body


# --- the routes -------------------------------------------------------------------------------------


def with_valid_audio(body: JSON, audio: bytes) -> JSON:
    if isinstance(body, dict) and isinstance(body.get(AUDIO_MEMBER), str):
        return {**body, AUDIO_MEMBER: base64.b64encode(audio).decode("ascii")}
    return body


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def one_pass_route(raw: bytes, cuts: list[int], operation: Operation[Any]) -> tuple[bytes, Any]:
    sink = _sinks.AudioMemorySink(1 << 30, operation)
    assert len(raw) <= _sinks.SMALL_BODY_BYTES  # the one-pass route
    sink.feed(raw)
    audio = sink.finish()
    return audio.data, audio


def memory_streaming_route(raw: bytes, cuts: list[int], operation: Operation[Any]) -> tuple[bytes, Any]:
    """``AudioMemorySink`` past its one-pass size (lowered to 0 here), fed in random chunks."""
    small, _sinks.SMALL_BODY_BYTES = _sinks.SMALL_BODY_BYTES, 0
    try:
        sink = _sinks.AudioMemorySink(1 << 30, operation)
        for chunk in chunked(raw, cuts):
            sink.feed(chunk)
        audio = sink.finish()
    finally:
        _sinks.SMALL_BODY_BYTES = small
    return audio.data, audio


def streaming_route(raw: bytes, cuts: list[int], operation: Operation[Any]) -> tuple[bytes, Any]:
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder) / "speaker.mp3"
        file = AtomicFile(dest)
        sink = _sinks.AudioFileSink(file, max_bytes=1 << 30, route=operation)
        try:
            for chunk in chunked(raw, cuts):
                sink.feed(chunk)
            path = file.commit(sink.finish())
        except BaseException:
            sink.abort()
            file.abort()
            assert list(Path(folder).iterdir()) == []  # nothing left behind after a refusal
            raise
        return path.read_bytes(), None


ROUTES = {"one-pass": one_pass_route, "memory-streaming": memory_streaming_route, "file-streaming": streaming_route}
# every operation whose 200 body carries base64 audio, through the same sinks
AUDIO_OPERATIONS: dict[str, Operation[Any]] = {"get_speaker_audio": SPEAKER_AUDIO, "get_sample_audio": SAMPLE_AUDIO}
AUDIO_SCHEMAS = {operation: response_schema(operation) for operation in AUDIO_OPERATIONS}
STATUS_SCHEMA = response_schema("get_separation_status")
CUTS = st.lists(st.integers(0, 10_000), max_size=6)


@pytest.mark.parametrize("operation", sorted(AUDIO_OPERATIONS))
@pytest.mark.parametrize("route", sorted(ROUTES))
@examples
@given(data=st.data(), audio=st.binary(max_size=200), cuts=CUTS)
def test_every_spec_valid_audio_body_is_accepted_and_round_trips(
    operation: str, route: str, data: st.DataObject, audio: bytes, cuts: list[int]
) -> None:
    body = with_valid_audio(data.draw(from_schema(AUDIO_SCHEMAS[operation])), audio)
    assert oracle(operation)(body)
    decoded, result = ROUTES[route](json.dumps(body).encode(), cuts, AUDIO_OPERATIONS[operation])
    assert decoded == audio
    if result is not None:
        assert result.media_type == body["media_type"]
        duration = body.get("duration_secs")  # nullable and optional in the sample audio's schema
        assert result.duration_secs == (None if duration is None else float(duration))
        if operation == "get_sample_audio":
            assert (result.voice_id, result.sample_id) == (body["voice_id"], body["sample_id"])
        assert result.model.to_dict() == {**body, AUDIO_MEMBER: ""}  # upstream's extra members included


@pytest.mark.parametrize("operation", sorted(AUDIO_OPERATIONS))
@pytest.mark.parametrize("route", sorted(ROUTES))
@mutations
@given(data=st.data(), audio=st.binary(max_size=200), cuts=CUTS)
def test_audio_route_accepts_exactly_what_the_spec_accepts(
    operation: str, route: str, data: st.DataObject, audio: bytes, cuts: list[int]
) -> None:
    body = with_valid_audio(data.draw(mutated(AUDIO_SCHEMAS[operation])), audio)
    try:
        raw = json.dumps(body, allow_nan=False).encode()
    except ValueError:
        assume(False)  # no JSON text holds an infinity (the status test below covers it after json.loads)
    if oracle(operation)(body):
        decoded, _ = ROUTES[route](raw, cuts, AUDIO_OPERATIONS[operation])
        assert decoded == audio
    else:
        with pytest.raises(ResponseValidationError):
            ROUTES[route](raw, cuts, AUDIO_OPERATIONS[operation])


@examples
@given(body=from_schema(STATUS_SCHEMA))
def test_every_spec_valid_status_body_is_accepted_and_round_trips(body: dict[str, JSON]) -> None:
    assert oracle("get_separation_status")(body)
    status = separation_status_from_json(json.loads(json.dumps(body)))
    assert (status.voice_id, status.sample_id, status.status) == (body["voice_id"], body["sample_id"], body["status"])
    assert status.model.to_dict() == body
    speakers = body.get("speakers") or {}
    assert list(status.speakers) == list(speakers)
    for key, speaker in status.speakers.items():
        assert speaker.speaker_id == speakers[key]["speaker_id"]
        assert speaker.duration_secs == float(speakers[key]["duration_secs"])
        assert [(u.start, u.end) for u in speaker.utterances] == [
            (float(u["start"]), float(u["end"])) for u in speakers[key].get("utterances") or []
        ]
    assert status.selected_speaker_ids == (body.get("selected_speaker_ids") or [])


@mutations
@given(body=mutated(STATUS_SCHEMA))
def test_status_parser_accepts_exactly_what_the_spec_accepts(body: JSON) -> None:
    payload = json.loads(json.dumps(body))
    if oracle("get_separation_status")(payload):
        assert separation_status_from_json(payload).model.to_dict() == payload
    else:
        with pytest.raises(ResponseValidationError):
            separation_status_from_json(payload)


def test_every_response_the_facade_reads_is_covered_and_its_schema_compiles() -> None:
    """The operations above are all the facade parses; each has a schema that the generator and oracle accept."""
    assert set(OPERATIONS) == {
        "get_speaker_audio",
        "get_separation_status",
        "start_speaker_separation",
        "get_sample_audio",
    }
    assert set(AUDIO_OPERATIONS) == {operation for operation in OPERATIONS if operation.endswith("_audio")}
    for operation in OPERATIONS:
        jsonschema.Draft202012Validator.check_schema(inline(response_schema(operation)))


def test_the_oracle_is_not_vacuous() -> None:
    """The oracle refuses what it should (so the 'refused' branch above is exercised for real)."""
    good = {"audio_base_64": "", "media_type": "audio/mpeg", "duration_secs": 1.5}
    check = oracle("get_speaker_audio")
    assert check(good)
    assert check({**good, "extra": [1, {"x": None}]})
    assert not check({**good, "duration_secs": None})
    assert not check({**good, "duration_secs": math.inf})
    assert not check({k: v for k, v in good.items() if k != "media_type"})
    assert not check({**good, "duration_secs": True})
    sample = {**good, "voice_id": "v", "sample_id": "s", "duration_secs": None}
    check = oracle("get_sample_audio")
    assert check(sample)  # nullable here
    assert check({k: v for k, v in sample.items() if k != "duration_secs"})  # and optional
    assert not check({k: v for k, v in sample.items() if k != "voice_id"})
    assert not check({**sample, "duration_secs": "1.5"})


# --- drift: the pinned schema widened ---------------------------------------------------------------------------


def reshape(schema: JSON, edit: Callable[[dict[str, JSON]], dict[str, JSON]]) -> JSON:
    """``schema`` (inlined) with ``edit`` applied to it and to every schema inside it."""
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {name: reshape(sub, edit) for name, sub in schema["properties"].items()}
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(keyword), dict):
            schema[keyword] = reshape(schema[keyword], edit)
    for keyword in ("anyOf", "oneOf", "allOf"):
        if keyword in schema:
            schema[keyword] = [reshape(sub, edit) for sub in schema[keyword]]
    return edit(schema)


def opened(schema: dict[str, JSON]) -> dict[str, JSON]:
    """An enum (or const) of strings or numbers also takes any string or finite number; an object takes any member."""
    values = schema.get("enum", [schema["const"]] if "const" in schema else [])
    kinds = {"string" if isinstance(v, str) else "number" for v in values if isinstance(v, str | int | float)}
    kinds -= {"number"} if not any(isinstance(v, int | float) and not isinstance(v, bool) for v in values) else set()
    if kinds:
        rest = {key: value for key, value in schema.items() if key not in ("enum", "const")}
        schema = {**rest, "anyOf": [{"enum": values}, *({"type": kind} for kind in sorted(kinds))]}
    if schema.get("additionalProperties") is False:
        schema = {key: value for key, value in schema.items() if key != "additionalProperties"}
    return schema


def closed(schema: dict[str, JSON]) -> dict[str, JSON]:
    """An object takes no member that its ``properties`` do not declare (where ``additionalProperties`` is absent)."""
    if "properties" in schema and "additionalProperties" not in schema:
        return {**schema, "additionalProperties": False}
    return schema


def judge(schema: JSON) -> Callable[[object], bool]:
    return FiniteValidator(schema).is_valid  # type: ignore[no-any-return]


def at_pointer(body: JSON, pointer: str) -> JSON:
    """The value at an RFC 6901 ``pointer`` into ``body`` (KeyError/IndexError if there is none)."""
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        body = body[int(key)] if isinstance(body, list) else body[key]
    return body


PINNED = {operation: inline(response_schema(operation)) for operation in OPERATIONS}
WIDENED = {operation: reshape(schema, opened) for operation, schema in PINNED.items()}
CLOSED = {operation: reshape(schema, closed) for operation, schema in PINNED.items()}


def test_the_widened_and_closed_oracles_are_not_vacuous() -> None:
    """Widening opens what the pin lists, closing refuses what it does not declare (so the test below can fail)."""
    assert WIDENED != PINNED
    assert CLOSED != PINNED
    for operation in OPERATIONS:
        jsonschema.Draft202012Validator.check_schema(WIDENED[operation])
        jsonschema.Draft202012Validator.check_schema(CLOSED[operation])


@pytest.mark.parametrize("operation", OPERATIONS)
@mutations
@given(data=st.data())
def test_drift_is_accepted_and_reported_when_tolerant_and_refused_when_strict(
    operation: str, data: st.DataObject
) -> None:
    schema = WIDENED[operation]
    body = json.loads(json.dumps(data.draw(st.one_of(from_schema(schema), mutated(schema)))))
    validate = response_validator(operation)
    if not judge(WIDENED[operation])(body):
        for strict in (True, False):
            with pytest.raises(ResponseValidationError):
                validate(body, strict=strict)
        return
    drifts = validate(body, strict=False)
    assert (drifts == ()) == judge(CLOSED[operation])(body)
    if judge(PINNED[operation])(body):
        assert validate(body, strict=True) == drifts  # members the pin does not declare: reported, not refused
        assert {drift.kind for drift in drifts} <= {UNKNOWN_MEMBER}
    else:
        with pytest.raises(ResponseValidationError, match="unknown value"):
            validate(body, strict=True)
        assert UNKNOWN_ENUM_VALUE in {drift.kind for drift in drifts}
    for drift in drifts:
        value = at_pointer(body, drift.pointer)  # every pointer leads to the value it names
        assert drift.operation == operation
        if drift.kind == UNKNOWN_ENUM_VALUE:
            assert isinstance(value, str | int | float)
            assert drift.detail.startswith(repr(value)[:20])
        else:  # the member's name, shortened
            name = drift.pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")
            assert drift.detail.startswith(f"member {repr(name)[:20]}")

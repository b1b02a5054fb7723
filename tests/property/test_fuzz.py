"""Fuzzing: the streaming decoder and the header/status parsing never fail with anything but our errors.

`make test` runs a few thousand examples per target; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs far more.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speaker_audio import _http_errors
from speaker_audio._decode import decode_audio_base64
from speaker_audio._models import ResponseMeta
from speaker_audio._operations import SEPARATION_STATUS, SPEAKER_AUDIO, START_SEPARATION, Operation
from speaker_audio._streaming import StreamingAudioDecoder, decode_whole_body
from speaker_audio.errors import APIStatusError, SpeakerAudioError

AUDIO_MEMBER = SPEAKER_AUDIO.member()

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = 20_000 if LONG else 2_000
fuzz = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def decode_chunks(chunks: list[bytes]) -> tuple[bytes, dict[str, object]] | SpeakerAudioError:
    decoder = StreamingAudioDecoder(audio_field=AUDIO_MEMBER)
    try:
        audio = b"".join(decoder.feed(chunk) for chunk in chunks)
        return audio, decoder.finish()
    except SpeakerAudioError as exc:
        return exc


def valid_document(audio: bytes) -> bytes:
    body = {"media_type": "audio/mpeg", "audio_base_64": base64.b64encode(audio).decode(), "duration_secs": 2.5}
    return json.dumps(body).encode()


def mutate(document: bytes, mutations: list[tuple[int, int, str]]) -> bytes:
    """``document`` with bytes flipped, inserted or deleted at the given positions."""
    doc = bytearray(document)
    for position, value, how in mutations:
        at = position % (len(doc) + 1)
        if how == "insert":
            doc[at:at] = bytes([value])
        elif at < len(doc):
            if how == "flip":
                doc[at] = value
            else:
                del doc[at]
    return bytes(doc)


MUTATIONS = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from(["flip", "insert", "delete"])), max_size=4
)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos = [], 0
    for size in sizes:
        chunks.append(data[pos : pos + size])
        pos += size
    chunks.append(data[pos:])
    return chunks


@fuzz
@given(st.binary(max_size=300), st.lists(st.integers(1, 64), max_size=8))
def test_decoder_on_arbitrary_bytes(data: bytes, sizes: list[int]) -> None:
    outcome = decode_chunks(chunked(data, sizes))
    assert isinstance(outcome, SpeakerAudioError | tuple)


@fuzz
@given(
    st.binary(max_size=200),
    MUTATIONS,
    st.lists(st.integers(1, 40), max_size=6),
)
def test_decoder_on_mutated_valid_documents(
    audio: bytes, mutations: list[tuple[int, int, str]], sizes: list[int]
) -> None:
    doc = mutate(valid_document(audio), mutations)
    outcome = decode_chunks(chunked(doc, sizes))
    if isinstance(outcome, tuple):
        # whatever it accepted must be exactly what the standard library reads from the same bytes
        expected = json.loads(doc)
        audio_text = "".join(expected.pop("audio_base_64").split())
        assert outcome == (base64.b64decode(audio_text, validate=True), expected)


@fuzz
@given(st.one_of(st.text(max_size=120), st.binary(max_size=120)))
def test_decode_audio_base64_on_anything(text: str | bytes) -> None:
    try:
        decoded = decode_audio_base64(text)
    except SpeakerAudioError as exc:
        assert len(str(exc)) < 400  # noqa: PT017 - a fuzz target, not a unit test of one error
    else:
        raw = text.encode("latin-1", "replace") if isinstance(text, str) else text
        assert decoded == base64.b64decode(b"".join(raw.split()), validate=True)


header_bytes = st.binary(max_size=60).filter(lambda b: b"\r" not in b and b"\n" not in b)


@fuzz
@given(
    st.lists(
        st.tuples(st.sampled_from([b"retry-after", b"retry-after-ms", b"request-id", b"x-request-id"]), header_bytes),
        max_size=4,
    )
)
def test_header_parsing_on_anything(headers: list[tuple[bytes, bytes]]) -> None:
    parsed = httpx.Headers(headers)
    delay = _http_errors.parse_retry_after(parsed)
    assert delay is None or 0.0 <= delay < float("inf")
    request_id = _http_errors.request_id_of(parsed)
    assert request_id is None or isinstance(request_id, str)


@fuzz
@given(
    st.integers(100, 599),
    st.binary(max_size=200),
    st.lists(st.tuples(st.sampled_from([b"retry-after", b"request-id", b"content-type"]), header_bytes), max_size=3),
)
def test_status_error_on_anything(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    response = httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://127.0.0.1/x"))
    error = _http_errors.status_error(response, body)
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert len(str(error)) < 600


@fuzz
@given(
    st.binary(max_size=200),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255), st.sampled_from("flip insert delete")), max_size=3),
)
def test_whole_body_route_agrees_with_the_streaming_decoder(
    audio: bytes, mutations: list[tuple[int, int, str]]
) -> None:
    doc = mutate(valid_document(audio), mutations)
    streamed = decode_chunks([doc])
    try:
        whole: tuple[bytes, dict[str, object]] | SpeakerAudioError = decode_whole_body(doc, audio_field=AUDIO_MEMBER)
    except SpeakerAudioError as exc:
        whole = exc
    if isinstance(streamed, tuple):
        assert whole == streamed
    else:
        assert type(whole) is type(streamed)


# JSON values two levels deep, built without st.recursive (whose size limiter made long runs report
# "inconsistent data generation" in hypothesis itself)
json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8)


def json_containers(inner: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


json_values = json_leaves | json_containers(json_leaves | json_containers(json_leaves))
status_like = st.fixed_dictionaries(
    {},
    optional={
        "voice_id": json_values | st.text(max_size=5),
        "sample_id": json_values | st.text(max_size=5),
        "status": st.sampled_from(["not_started", "pending", "completed", "failed", "odd"]) | json_values,
        "speakers": json_values
        | st.dictionaries(
            st.text(max_size=5),
            st.fixed_dictionaries(
                {}, optional={"speaker_id": json_values, "duration_secs": json_values, "utterances": json_values}
            ),
            max_size=3,
        ),
        "selected_speaker_ids": json_values,
    },
)


@fuzz
@given(st.one_of(json_values, status_like), st.integers(0, 3000))
def test_json_body_parsers_on_anything(payload: object, nesting: int) -> None:
    from speaker_audio._sinks import JsonSink
    from speaker_audio.errors import ResponseValidationError

    operations: tuple[Operation[Any], ...] = (SEPARATION_STATUS, START_SEPARATION)
    for operation in operations:

        def parse(document: object, meta: ResponseMeta | None, operation: Operation[Any] = operation) -> object:
            return operation.from_json(document, meta=meta)

        body = json.dumps(payload).encode()
        if nesting > 2500:
            body = b"[" * nesting * 100 + body  # deep nesting must not escape as RecursionError
        sink = JsonSink(parse, "fuzz", 1 << 24)
        sink.feed(body)
        try:
            sink.finish()
        except ResponseValidationError as exc:
            assert len(str(exc)) < 2000  # noqa: PT017 - a fuzz target: only our own error may escape

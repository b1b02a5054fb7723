"""Tests of StreamingAudioDecoder: any valid body, cut anywhere, decodes exactly; anything else is refused cleanly."""

from __future__ import annotations

import base64
import itertools
import json
import re
import tracemalloc
from collections.abc import Iterator
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from speaker_audio._operations import SPEAKER_AUDIO
from speaker_audio._streaming import StreamingAudioDecoder
from speaker_audio.errors import (
    AudioDecodeError,
    ResponseTooLargeError,
    ResponseValidationError,
)

FIELD = AUDIO_MEMBER = SPEAKER_AUDIO.member()  # "audio_base_64", from the generated model
ASCII_WHITESPACE = " \t\n\r\f\v"
CANONICAL_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
UTF8_BOM = b"\xef\xbb\xbf"

slow_data = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def run(chunks: list[bytes], **options: Any) -> tuple[bytes, dict[str, object]]:
    """Feed ``chunks`` to a fresh decoder; return the audio and the other members."""
    decoder = StreamingAudioDecoder(**{"audio_field": AUDIO_MEMBER, **options})
    audio = b"".join([decoder.feed(chunk) for chunk in chunks])
    return audio, decoder.finish()


def split_at(doc: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(doc)]
    return [doc[start:end] for start, end in itertools.pairwise(bounds)]


def strip_ascii_whitespace(text: str) -> str:
    return text.translate({ord(c): None for c in ASCII_WHITESPACE})


class Pairs(list[tuple[str, Any]]):
    """A JSON object as its list of members, duplicates kept."""


def plain(value: Any) -> Any:
    if isinstance(value, Pairs):
        return {key: plain(item) for key, item in value}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def reject_constant(name: str) -> Any:
    raise ValueError(name)


def reference(doc: bytes) -> tuple[bytes, dict[str, object]]:
    """What ``json.loads`` and strict base64 make of a body; ``ValueError`` when it is not a valid response."""
    text = doc.removeprefix(UTF8_BOM).decode("utf-8")
    document = json.loads(text, object_pairs_hook=Pairs, parse_constant=reject_constant)
    if not isinstance(document, Pairs):
        raise ValueError("not an object")
    audio = [value for key, value in document if key == FIELD]
    if len(audio) != 1 or not isinstance(audio[0], str):
        raise ValueError("no single audio string")
    encoded = strip_ascii_whitespace(audio[0])
    if CANONICAL_BASE64.fullmatch(encoded) is None:
        raise ValueError("not strict base64")
    members = {key: plain(value) for key, value in document if key != FIELD}
    return base64.b64decode(encoded, validate=True), members


# -- strategies ---------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=10,
)
WHITESPACE_RUNS = ["", "", "", " ", "\n", "\t", "\r\n", " \n\t "]
LINE_BREAKS = ["\\n", "\\r\\n", "\\r", "\\t", "\\f", " ", "\\u000a", "\\u0020", "\\u000B"]


def encode_audio_string(encoded: str, rnd: Random, line_length: int | None, line_break: str) -> str:
    """Write ``encoded`` as the inside of a JSON string, with random escapes and MIME-like line breaks."""
    p_slash = rnd.choice([0.0, 0.5, 1.0])
    p_unicode = rnd.choice([0.0, 0.0, 0.05, 0.3])
    parts: list[str] = []
    for index, char in enumerate(encoded):
        if line_length and index and index % line_length == 0:
            parts.append(line_break)
        if rnd.random() < p_unicode:
            escape = f"\\u{ord(char):04x}"
            parts.append(escape.upper().replace("\\U", "\\u") if rnd.random() < 0.5 else escape)
        elif char == "/" and rnd.random() < p_slash:
            parts.append("\\/")
        else:
            parts.append(json.dumps(char, ensure_ascii=rnd.random() < 0.5)[1:-1])
    if line_length and rnd.random() < 0.5:
        parts.append(line_break)
    return "".join(parts)


@st.composite
def corrupted_base64(draw: st.DrawFn) -> str:
    """Base64 of random bytes, broken in one way that strict decoding must refuse."""
    encoded = base64.b64encode(draw(st.binary(max_size=300))).decode()
    kind = draw(st.sampled_from(["bad character", "deleted character", "extra padding", "data after padding"]))
    if kind == "deleted character" and encoded:
        index = draw(st.integers(min_value=0, max_value=len(encoded) - 1))
        broken = encoded[:index] + encoded[index + 1 :]
    elif kind == "extra padding":
        broken = encoded + draw(st.sampled_from(["=", "==", "===", "===="]))
    elif kind == "data after padding" and len(encoded) >= 4:
        if encoded.endswith("="):
            broken = encoded + draw(st.sampled_from(["QUJD", "QQ==", "=QQ="]))
        else:
            quantum = draw(st.integers(min_value=0, max_value=len(encoded) // 4 - 1))
            broken = encoded[: quantum * 4] + "QQ==" + encoded[quantum * 4 :]
    else:
        index = draw(st.integers(min_value=0, max_value=len(encoded)))
        bad = draw(st.sampled_from([*"-_*.!~#%é€\x7f", "\U0001f3b5"]))
        broken = encoded[:index] + bad + encoded[index:]
    assert CANONICAL_BASE64.fullmatch(broken) is None
    return broken


@st.composite
def documents(draw: st.DrawFn, max_audio: int = 3000, corrupt: bool = False) -> tuple[bytes, bytes]:
    """A response body (members in any order, whitespace and escapes anywhere) and the audio it holds."""
    rnd = draw(st.randoms(use_true_random=False))
    audio = draw(st.binary(max_size=max_audio))
    encoded = draw(corrupted_base64()) if corrupt else base64.b64encode(audio).decode()
    line_length = draw(st.sampled_from([None, None, 4, 7, 64, 76]))
    line_break = draw(st.sampled_from(LINE_BREAKS))
    audio_text = encode_audio_string(encoded, rnd, line_length, line_break)

    others: dict[str, Any] = {}
    if draw(st.booleans()):
        others["media_type"] = draw(st.sampled_from(["audio/mpeg", "audio/wav", "audio/ogg; codecs=opus"]))
        others["duration_secs"] = draw(st.floats(min_value=0, max_value=1e6, allow_nan=False))
    others.update(draw(st.dictionaries(st.text(max_size=8).filter(lambda key: key != FIELD), json_values, max_size=4)))

    def ws() -> str:
        return rnd.choice(WHITESPACE_RUNS)

    members = []
    for key, value in others.items():
        ensure_ascii = rnd.random() < 0.5
        key_json = json.dumps(key, ensure_ascii=ensure_ascii)
        value_json = json.dumps(value, ensure_ascii=ensure_ascii, indent=rnd.choice([None, None, 0, 2]))
        members.append(f"{ws()}{key_json}{ws()}:{ws()}{value_json}{ws()}")
    audio_key = rnd.choice(['"audio_base_64"', '"audio_base_64"', '"audio\\u005fbase_64"', '"\\u0061udio_base_64"'])
    members.insert(rnd.randint(0, len(members)), f'{ws()}{audio_key}{ws()}:{ws()}"{audio_text}"{ws()}')
    body = f"{ws()}{{{','.join(members)}}}{ws()}"
    return body.encode("utf-8"), audio


@st.composite
def chunkings(draw: st.DrawFn, doc: bytes) -> list[bytes]:
    """Ways to cut a body into chunks: whole, byte by byte, fixed sizes, or random cuts (empty chunks too)."""
    mode = draw(st.sampled_from(["whole", "bytes", "fixed", "cuts", "cuts"]))
    if mode == "whole":
        return [doc]
    if mode == "bytes":
        return [doc[i : i + 1] for i in range(len(doc))]
    if mode == "fixed":
        size = draw(st.integers(min_value=1, max_value=97))
        return [doc[i : i + size] for i in range(0, len(doc), size)]
    return split_at(doc, draw(st.lists(st.integers(min_value=0, max_value=len(doc)), max_size=30)))


INTERESTING = [
    b'"',
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"=",
    b"==",
    b"QQ==",
    b"\\u",
    b"\\u0041",
    b"\\/",
    b"\\n",
    b" ",
    b"\n",
    b"\x00",
    b"\xc3",
    b"\xff",
    b"null",
    b"1e5",
    b"NaN",
    UTF8_BOM,
    b'"audio_base_64":"QUJD"',
    b',"audio_base_64":',
]


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    """Arbitrary bytes, or a valid body with a few byte-level mutations."""
    if draw(st.integers(min_value=0, max_value=4)) == 0:
        return draw(st.binary(max_size=200))
    doc = bytearray(draw(documents(max_audio=120))[0])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(doc)))
        operation = draw(st.sampled_from(["replace", "insert", "delete", "truncate", "duplicate"]))
        if operation == "replace" and index < len(doc):
            doc[index] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "insert":
            doc[index:index] = draw(st.sampled_from(INTERESTING))
        elif operation == "delete":
            del doc[index : index + draw(st.integers(min_value=1, max_value=8))]
        elif operation == "truncate":
            del doc[index:]
        else:
            doc[index:index] = doc[index : index + draw(st.integers(min_value=1, max_value=12))]
    return bytes(doc)


# -- properties ---------------------------------------------------------------------------------------


@slow_data
@given(case=documents(), data=st.data())
def test_decodes_every_valid_document_however_it_is_cut(case: tuple[bytes, bytes], data: st.DataObject) -> None:
    doc, audio = case
    chunks = data.draw(chunkings(doc))
    decoded, members = run(chunks)
    expected = json.loads(doc)
    expected_audio = base64.b64decode(strip_ascii_whitespace(expected.pop(FIELD)), validate=True)
    assert decoded == expected_audio == audio
    assert members == expected


@slow_data
@given(case=documents(max_audio=300), data=st.data())
def test_every_truncation_is_refused(case: tuple[bytes, bytes], data: st.DataObject) -> None:
    body = case[0].rstrip(b" \t\r\n")
    cut = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    with pytest.raises(ResponseValidationError):
        run(data.draw(chunkings(body[:cut])))


@slow_data
@given(case=documents(corrupt=True), data=st.data())
def test_corrupted_base64_raises_audio_decode_error(case: tuple[bytes, bytes], data: st.DataObject) -> None:
    doc = case[0]
    with pytest.raises(AudioDecodeError):
        run(data.draw(chunkings(doc)))


non_objects = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps([value]).encode()),
    json_scalars.map(lambda value: json.dumps(value).encode()),
    st.just(json.dumps([{FIELD: "QUJD", "media_type": "audio/mpeg"}]).encode()),
    st.just(b'"audio_base_64"'),
    st.just(b"<html><body>502 Bad Gateway</body></html>"),
)


@given(doc=non_objects, data=st.data())
def test_non_json_and_non_objects_are_refused(doc: bytes, data: st.DataObject) -> None:
    with pytest.raises(ResponseValidationError):
        run(data.draw(chunkings(doc)))


@slow_data
@given(doc=mutated_documents(), data=st.data())
def test_agrees_with_json_loads_on_arbitrary_bytes(doc: bytes, data: st.DataObject) -> None:
    """Fuzz: only SpeakerAudioError escapes, and the decoder accepts exactly what json.loads + base64 accept."""
    chunks = data.draw(chunkings(doc))
    try:
        expected: tuple[bytes, dict[str, object]] | None = reference(doc)
    except (ValueError, RecursionError):
        expected = None
    event("valid body" if expected is not None else "invalid body")
    if expected is None:
        with pytest.raises(ResponseValidationError) as info:
            run(chunks)
        assert len(str(info.value)) < 400
    else:
        assert run(chunks) == expected


# -- examples ----------------------------------------------------------------------------------------

AUDIO = bytes(range(256)) * 3
ENCODED = base64.b64encode(AUDIO).decode()


def every_two_way_split(doc: bytes) -> Iterator[list[bytes]]:
    for cut in range(len(doc) + 1):
        yield [doc[:cut], doc[cut:]]


@pytest.mark.parametrize(
    "doc",
    [
        f'{{"audio_base_64": "{ENCODED}", "media_type": "audio/mpeg", "duration_secs": 1.5}}',
        f'{{"media_type": "audio/mpeg", "duration_secs": 1.5, "audio_base_64": "{ENCODED}"}}',
        f'{{"media_type":"audio/mpeg","audio_base_64":"{ENCODED}","duration_secs":1.5}}',
        '\n{ "media_type" : "audio\\/mpeg" ,\r\n "duration_secs" : 1.5e0 ,\t"audio\\u005fbase_64" : "'
        + ENCODED.replace("/", "\\/").replace("A", "\\u0041")
        + '\\r\\n"\n}\n',
    ],
)
def test_member_order_escapes_and_every_split_point(doc: str) -> None:
    body = doc.encode()
    for chunks in every_two_way_split(body):
        assert run(chunks) == (AUDIO, {"media_type": "audio/mpeg", "duration_secs": 1.5})


def test_other_members_keep_their_json_values() -> None:
    body = json.dumps(
        {
            "media_type": 'audio/ogg; codecs="opus"',
            "extra": {"nested": [1, 2.5, None, True, {"é": "\u2603\n"}], "audio_base_64": 7},
            FIELD: "QUJD",
            "null": None,
            "text": "multi-byte: \u00e9\u4e2d\U0001f3b5",
        },
        ensure_ascii=False,
    ).encode()
    audio, members = run([body[i : i + 1] for i in range(len(body))])
    assert audio == b"ABC"
    assert members == {k: v for k, v in json.loads(body).items() if k != FIELD}


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        (b"", ResponseValidationError, "ended after 0 bytes"),
        (b"   ", ResponseValidationError, "ended"),
        (b"[]", ResponseValidationError, "an array"),
        (b"null", ResponseValidationError, "not a JSON object"),
        (b"{}", ResponseValidationError, "no 'audio_base_64'"),
        (b'{"media_type": "audio/mpeg"}', ResponseValidationError, "no 'audio_base_64'"),
        (b'{"audio_base_64": null}', ResponseValidationError, "not a string"),
        (b'{"audio_base_64": ["QQ=="]}', ResponseValidationError, "not a string"),
        (b'{"audio_base_64": "QQ==", "audio_base_64": "QQ=="}', ResponseValidationError, "more than one"),
        (b'{"audio_base_64": "QQ=="} x', ResponseValidationError, "data after its JSON object"),
        (b'{"audio_base_64": "QQ=="}{}', ResponseValidationError, "data after its JSON object"),
        (b'{"audio_base_64": "QQ==",}', ResponseValidationError, "expected a member name"),
        (b'{"audio_base_64" "QQ=="}', ResponseValidationError, "expected ':'"),
        (b'{"audio_base_64": "QQ==" "x": 1}', ResponseValidationError, "expected ',' or '}'"),
        (b'{"audio_base_64": "QQ==", "d": NaN}', ResponseValidationError, "not valid JSON"),
        (b'{"audio_base_64": "QQ==", "d": [1}', ResponseValidationError, "mismatched"),
        (b'{"audio_base_64": "QQ==", "d": 1]}', ResponseValidationError, "expected a value"),
        (b'{"audio_base_64": "QQ==", "d": "\xff"}', ResponseValidationError, "not valid JSON"),
        (b'{"audio_base_64": "QQ==", "d": }', ResponseValidationError, "not valid JSON"),
        (b'{"audio_base_64": "QQ\n=="}', ResponseValidationError, "control character"),
        (b'{"audio_base_64": "QQ\\x=="}', ResponseValidationError, "invalid escape"),
        (b'{"audio_base_64": "QQ\\u00"}', ResponseValidationError, "invalid escape"),
        (b'{"audio_base_64": "QUJD-_=="}', AudioDecodeError, "URL-safe"),
        (b'{"audio_base_64": "QUJD\xc3\xa9"}', AudioDecodeError, "non-ASCII"),
        (b'{"audio_base_64": "QUJD\\u00e9"}', AudioDecodeError, "not a base64 character"),
        (b'{"audio_base_64": "QUJD\\u005c"}', AudioDecodeError, "not a base64 character"),
        (b'{"audio_base_64": "QU\\"JD"}', AudioDecodeError, "quote"),
        (b'{"audio_base_64": "QUJD\\\\"}', AudioDecodeError, "backslash"),
        (b'{"audio_base_64": "QU\\\\nJD"}', AudioDecodeError, "escaped backslash is not a base64"),
        (b'{"audio_base_64": "QU\\bJD"}', AudioDecodeError, "\\b escape is not a base64"),
        (b'{"audio_base_64": "QUJDR"}', AudioDecodeError, "not a multiple of 4"),
        (b'{"audio_base_64": "QQ="}', AudioDecodeError, "not a multiple of 4"),
        (b'{"audio_base_64": "QUJD="}', AudioDecodeError, "not a multiple of 4"),
        (b'{"audio_base_64": "QUJD===="}', AudioDecodeError, "invalid base64"),
        (b'{"audio_base_64": "QQ==QUJD"}', AudioDecodeError, "data after '=' padding"),
        (b'{"audio_base_64": "QQ==\\nQUJD"}', AudioDecodeError, "data after '=' padding"),
    ],
)
def test_refuses_invalid_bodies(body: bytes, error: type[ResponseValidationError], fragment: str) -> None:
    for chunks in [[body], [body[i : i + 1] for i in range(len(body))], *every_two_way_split(body)]:
        with pytest.raises(error) as info:
            run(chunks)
        assert fragment in str(info.value)


def test_whitespace_after_padding_and_utf8_bom_are_accepted() -> None:
    body = UTF8_BOM + b' {"audio_base_64": "QQ==\\r\\n \\u0020\\t"}\r\n'
    for chunks in [[body[i : i + 1] for i in range(len(body))], *every_two_way_split(body)]:
        assert run(chunks) == (b"A", {})


def test_a_failed_decoder_stays_failed() -> None:
    decoder = StreamingAudioDecoder(audio_field=AUDIO_MEMBER)
    assert decoder.feed(b'{"audio_base_64": "QUJD') == b"ABC"
    with pytest.raises(AudioDecodeError):
        decoder.feed(b"-_==")
    for _ in range(2):
        with pytest.raises(AudioDecodeError):
            decoder.feed(b'QUJD"}')
        with pytest.raises(AudioDecodeError):
            decoder.finish()


def test_finish_on_a_truncated_body_poisons_the_decoder() -> None:
    decoder = StreamingAudioDecoder(audio_field=AUDIO_MEMBER)
    decoder.feed(b'{"audio_base_64": "QUJD"')
    with pytest.raises(ResponseValidationError, match="before its JSON object was complete"):
        decoder.finish()
    with pytest.raises(ResponseValidationError):
        decoder.feed(b"}")


def test_feed_after_finish_is_a_programming_error() -> None:
    decoder = StreamingAudioDecoder(audio_field=AUDIO_MEMBER)
    assert decoder.feed(b'{"audio_base_64": ""}') == b""
    assert decoder.finish() == {}
    with pytest.raises(RuntimeError):
        decoder.feed(b" ")


def test_one_pass_route_refuses_an_escaped_duplicate_audio_member() -> None:
    from speaker_audio._operations import SPEAKER_AUDIO
    from speaker_audio._streaming import StreamingAudioDecoder, decode_whole_body

    AUDIO_MEMBER = SPEAKER_AUDIO.member()

    body = b'{"audio_base_64":"QUJD","audio\\u005fbase_64":"WFla","media_type":"audio/mpeg","duration_secs":1}'
    with pytest.raises(ResponseValidationError, match="more than one"):
        decode_whole_body(body, audio_field=AUDIO_MEMBER)
    with pytest.raises(ResponseValidationError, match="more than one"):
        StreamingAudioDecoder(audio_field=AUDIO_MEMBER).feed(body)
    nested = b'{"x": {"audio_base_64": 1, "audio_base_64": 2}, "audio_base_64": "QUJD"}'
    assert decode_whole_body(nested, audio_field=AUDIO_MEMBER) == (b"ABC", {"x": {"audio_base_64": 2}})


def test_custom_audio_field() -> None:
    body = b'{"audio_base_64": "not audio", "audio": "QUJD"}'
    assert run([body], audio_field="audio") == (b"ABC", {"audio_base_64": "not audio"})


def test_other_members_are_bounded() -> None:
    body = json.dumps({FIELD: ENCODED * 10, "media_type": "audio/mpeg", "big": "x" * 5000}).encode()
    with pytest.raises(ResponseTooLargeError, match="exceed 4096 bytes"):
        run([body[i : i + 100] for i in range(0, len(body), 100)], max_other_bytes=4096)
    # The audio does not count against the limit.
    audio, members = run([body], max_other_bytes=5100)
    assert audio == AUDIO * 10
    assert members["big"] == "x" * 5000


def test_error_messages_stay_short() -> None:
    junk = b"A" * 1_000_000
    for body in (b"[" + junk, b'{"audio_base_64": "' + junk + b'-"}', b'{"x": ' + junk + b"}"):
        with pytest.raises(ResponseValidationError) as info:
            run([body[i : i + 65536] for i in range(0, len(body), 65536)])
        assert len(str(info.value)) < 300


def test_memory_does_not_grow_with_the_audio() -> None:
    audio = bytes(range(256)) * (8 * 4096)  # 8 MiB of audio, 10.7 MB of base64
    body = b'{"audio_base_64": "' + base64.b64encode(audio) + b'", "duration_secs": 1.0}'
    decoder = StreamingAudioDecoder(audio_field=AUDIO_MEMBER)
    total = 0
    tracemalloc.start()
    try:
        for start in range(0, len(body), 65536):
            total += len(decoder.feed(body[start : start + 65536]))
        members = decoder.finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == len(audio)
    assert members == {"duration_secs": 1.0}
    # One input chunk and its decoded output, plus a little state: far below the 8 MiB of audio.
    assert peak < 512 * 1024

"""Tests of the decode helpers: strict base64, media type -> extension, magic-byte sniffing."""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import wave

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from speaker_audio._decode import decode_audio_base64, extension_for_media_type, sniff_media_type
from speaker_audio.errors import AudioDecodeError, ResponseValidationError

ASCII_WHITESPACE = " \t\n\r\f\v"
BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# The grammar of strict standard base64 once whitespace is removed (an oracle independent of binascii).
CANONICAL_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def strip_ascii_whitespace(text: str) -> str:
    return text.translate({ord(c): None for c in ASCII_WHITESPACE})


# -- decode_audio_base64: examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", b""),
        ("QQ==", b"A"),
        ("QUI=", b"AB"),
        ("QUJD", b"ABC"),
        ("QUJDRA==", b"ABCD"),
        ("SUQzBA==", b"ID3\x04"),
        ("++//", b"\xfb\xef\xff"),
        ("  QU\tJD\r\nRA=\f=\v ", b"ABCD"),
        ("\n", b""),
        ("QR==", b"A"),  # non-zero unused bits are accepted, as by the standard library
    ],
)
def test_decodes_valid_base64(text: str, expected: bytes) -> None:
    assert decode_audio_base64(text) == expected
    assert decode_audio_base64(text.encode("ascii")) == expected


def test_decodes_large_input() -> None:
    data = bytes(range(256)) * 4096
    encoded = base64.b64encode(data)
    assert decode_audio_base64(encoded) == data
    assert decode_audio_base64(encoded.decode("ascii")) == data
    assert decode_audio_base64(base64.encodebytes(data)) == data  # MIME: a newline every 76 characters


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("QUJD-_==", "URL-safe"),
        ("QUJD_w==", "URL-safe"),
        ("QUJ*", "character b'*' at offset 3"),
        ("QU\nJ.", "at offset 4"),
        ("QUJDRA==\x00", "character"),
        ("QQ=", "not a multiple of 4"),
        ("QQ", "not a multiple of 4"),
        ("QUJDR", "not a multiple of 4"),
        ("QUJD=", "not a multiple of 4"),
        ("QUJD==", "not a multiple of 4"),
        ("QUJD====", "more than two"),
        ("Q===", "more than two"),
        ("====", "more than two"),
        ("=QQ=", "data after '=' padding"),
        ("QQ==QQ==", "data after '=' padding at offset 4"),
        ("QQ== QUJD", "data after '=' padding at offset 5"),
        ("QQ=a", "data after '=' padding"),
        ("Q=Q=", "data after '=' padding"),
    ],
)
def test_rejects_invalid_base64(text: str, fragment: str) -> None:
    for value in (text, text.encode("ascii")):
        with pytest.raises(AudioDecodeError) as info:
            decode_audio_base64(value)
        assert fragment in str(info.value)


def test_rejects_non_ascii() -> None:
    with pytest.raises(AudioDecodeError, match="non-ASCII character at offset 4"):
        decode_audio_base64("QUJDé===")
    with pytest.raises(AudioDecodeError, match="non-ASCII"):
        decode_audio_base64("QUJD\u00a0QUJD")  # NO-BREAK SPACE is not ASCII whitespace
    with pytest.raises(AudioDecodeError, match="non-ASCII"):
        decode_audio_base64(b"QUJD\xc3\xa9QQ==")


def test_audio_decode_error_is_a_response_validation_error() -> None:
    with pytest.raises(ResponseValidationError):
        decode_audio_base64("not base64!")


def test_error_message_never_quotes_the_input() -> None:
    body = base64.b64encode(b"\x00" * 300_000).decode()
    for bad in (body + "-", "-" + body, body[:-1], body + "=", body + "QQ==QQ=="):
        with pytest.raises(AudioDecodeError) as info:
            decode_audio_base64(bad)
        message = str(info.value)
        assert len(message) < 200
        assert "AAAAAAAA" not in message


# -- decode_audio_base64: properties ----------------------------------------------------------------


def with_whitespace(text: str, draw_positions: list[int], spaces: list[str]) -> str:
    out = text
    for position, space in sorted(zip(draw_positions, spaces, strict=False), reverse=True):
        index = position % (len(out) + 1)
        out = out[:index] + space + out[index:]
    return out


@given(
    data=st.binary(max_size=600),
    positions=st.lists(st.integers(min_value=0), max_size=20),
    spaces=st.lists(st.text(alphabet=ASCII_WHITESPACE, min_size=1, max_size=3), max_size=20),
)
def test_roundtrip_with_whitespace_anywhere(data: bytes, positions: list[int], spaces: list[str]) -> None:
    text = with_whitespace(base64.b64encode(data).decode(), positions, spaces)
    assert decode_audio_base64(text) == data
    assert decode_audio_base64(text.encode("ascii")) == data


@st.composite
def base64_like_text(draw: st.DrawFn) -> str:
    """Text near the valid/invalid frontier: mutated encodings, and soup of base64, '=', whitespace and junk."""
    if draw(st.booleans()):
        soup = st.sampled_from(BASE64_ALPHABET[:6] + "+/" + "=" * 4 + " \n\t" + "-_.*é\x00\x80")
        return draw(st.text(alphabet=soup, max_size=24))
    text = base64.b64encode(draw(st.binary(max_size=40))).decode()
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        char = draw(st.sampled_from("A/+=\n -_é"))
        if action == "insert":
            text = text[:index] + char + text[index:]
        elif action == "delete":
            text = text[:index] + text[index + 1 :]
        else:
            text = text[:index] + char + text[index + 1 :]
    return text


@given(text=base64_like_text())
@example(text="QUJD=")
@example(text="QUJD====")
@example(text="QQ==\nQQ==")
@example(text="QUJD \n")
def test_agrees_with_the_standard_library(text: str) -> None:
    stripped = strip_ascii_whitespace(text)
    valid = CANONICAL_BASE64.fullmatch(stripped) is not None
    try:
        expected: bytes | None = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        expected = None
    if valid:
        assert expected is not None
        assert decode_audio_base64(text) == expected
        assert decode_audio_base64(text.encode("ascii")) == expected
    else:
        with pytest.raises(AudioDecodeError):
            decode_audio_base64(text)
        with pytest.raises(AudioDecodeError):
            decode_audio_base64(text.encode("utf-8"))


@given(data=st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_audio_decode_error(data: bytes) -> None:
    stripped = data.translate(None, ASCII_WHITESPACE.encode())
    if CANONICAL_BASE64.fullmatch(stripped.decode("latin-1")):
        assert decode_audio_base64(data) == base64.b64decode(stripped, validate=True)
    else:
        with pytest.raises(AudioDecodeError, match="invalid base64"):
            decode_audio_base64(data)


# -- extension_for_media_type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media_type", "extension"),
    [
        ("audio/mpeg", ".mp3"),
        ("audio/mp3", ".mp3"),
        ("AUDIO/MPEG", ".mp3"),
        ("audio/mpeg; charset=binary", ".mp3"),
        (" audio/mpeg ;rate=44100", ".mp3"),
        ("audio/wav", ".wav"),
        ("audio/x-wav", ".wav"),
        ("audio/wave", ".wav"),
        ("audio/vnd.wave", ".wav"),
        ("audio/ogg", ".ogg"),
        ("audio/ogg; codecs=vorbis", ".ogg"),
        ("audio/flac", ".flac"),
        ("audio/x-flac", ".flac"),
        ("audio/opus", ".opus"),
        ("audio/pcm", ".pcm"),
        ("audio/L16; rate=16000; channels=1", ".pcm"),
        ("audio/mp4", ".m4a"),
        ("audio/aac", ".aac"),
        ("audio/x-unknown", ".bin"),
        ("application/octet-stream", ".bin"),
        ("text/html", ".bin"),
        ("", ".bin"),
        (";", ".bin"),
        ("mpeg", ".bin"),
    ],
)
def test_extension_for_media_type(media_type: str, extension: str) -> None:
    assert extension_for_media_type(media_type) == extension


@given(media_type=st.text(max_size=40))
def test_extension_for_any_text_is_a_known_extension(media_type: str) -> None:
    extension = extension_for_media_type(media_type)
    assert extension in {".mp3", ".wav", ".ogg", ".flac", ".opus", ".pcm", ".m4a", ".aac", ".webm", ".bin"}


# -- sniff_media_type ---------------------------------------------------------------------------------


def ogg_crc(data: bytes) -> int:
    """The Ogg page checksum (CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_page(packet: bytes) -> bytes:
    """A beginning-of-stream Ogg page holding one packet (under 255 bytes)."""
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, 0x02, 0, 0x1234, 0, 0, 1) + bytes([len(packet)])
    page = header + packet
    return page[:22] + struct.pack("<I", ogg_crc(page)) + page[26:]


def wav_header() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16_000)
        writer.writeframes(b"\x00\x00" * 16)
    return buffer.getvalue()


OPUS_HEAD = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48_000, 0, 0)
VORBIS_ID = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 2, 44_100, 0, 128_000, 0, 0xB8, 1)
FLAC_STREAMINFO = b"fLaC" + bytes([0x80, 0, 0, 34]) + bytes(34)
MP4_FTYP = struct.pack(">I4s4sI", 24, b"ftyp", b"M4A ", 0) + b"M4A isom"
ID3_TAG = b"ID3" + bytes([4, 0, 0, 0, 0, 0, 0]) + b"\xff\xfb\x90\x64"


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (ID3_TAG, "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + bytes(413), "audio/mpeg"),  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz
        (b"\xff\xf3\x64\xc4", "audio/mpeg"),  # MPEG-2 Layer III
        (b"\xff\xe3\x18\xc4", "audio/mpeg"),  # MPEG-2.5 Layer III
        (b"\xff\xfd\x94\x00", "audio/mpeg"),  # MPEG-1 Layer II
        (b"\xff\xfb", "audio/mpeg"),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "audio/aac"),  # ADTS, MPEG-4 AAC LC, no CRC
        (b"\xff\xf9\x50\x80\x02\x1f\xfc", "audio/aac"),  # ADTS, MPEG-2 AAC
        (b"\xff\xf0\x50\x80", "audio/aac"),  # ADTS with CRC
        (wav_header(), "audio/wav"),
        (b"RF64\xff\xff\xff\xffWAVEds64", "audio/wav"),
        (ogg_page(VORBIS_ID), "audio/ogg"),
        (ogg_page(OPUS_HEAD), "audio/opus"),
        (ogg_page(b"OpusTags"), "audio/ogg"),
        (b"OggS\x00\x02", "audio/ogg"),  # too short to see the first packet
        (FLAC_STREAMINFO, "audio/flac"),
        (MP4_FTYP, "audio/mp4"),
        (b"", None),
        (b"\xff", None),
        (b"ID", None),
        (b"RIFF\x24\x00\x00\x00AVI ", None),
        (b"\xff\xe8\x90\x64", None),  # MPEG version "reserved"
        (b"\xff\xe0\x90\x64", None),  # 11-bit sync but layer "reserved" and no ADTS 12-bit sync
        (b"\xff\xfb\xf0\x64", None),  # bitrate index 1111
        (b"\xff\xfb\x9c\x64", None),  # sample-rate index 11
        (b"\xfe\xfb\x90\x64", None),
        (b'{"audio_base_64": ""}', None),
        (b"\x00" * 64, None),
    ],
)
def test_sniff_media_type(data: bytes, media_type: str | None) -> None:
    assert sniff_media_type(data) == media_type


def test_sniffed_types_have_extensions() -> None:
    samples = [ID3_TAG, wav_header(), ogg_page(VORBIS_ID), ogg_page(OPUS_HEAD), FLAC_STREAMINFO, MP4_FTYP]
    extensions = [extension_for_media_type(sniff_media_type(sample) or "") for sample in samples]
    assert extensions == [".mp3", ".wav", ".ogg", ".opus", ".flac", ".m4a"]


@given(data=st.binary(max_size=80))
def test_sniff_never_fails(data: bytes) -> None:
    assert sniff_media_type(data) in {
        None,
        "audio/mpeg",
        "audio/wav",
        "audio/ogg",
        "audio/opus",
        "audio/flac",
        "audio/aac",
        "audio/mp4",
    }


def test_ogg_page_helper_builds_valid_checksums() -> None:
    assert ogg_crc(b"123456789") == 0x89A1897F  # the check value of Ogg's CRC-32 variant
    page = ogg_page(OPUS_HEAD)
    assert ogg_crc(page[:22] + bytes(4) + page[26:]) == struct.unpack("<I", page[22:26])[0]

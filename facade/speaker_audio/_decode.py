"""Strict base64 decoding of the audio, and media-type helpers (file extension, magic-byte sniffing)."""

from __future__ import annotations

import binascii
import contextlib
import re

from speaker_audio.errors import AudioDecodeError

#: ASCII whitespace that base64 decoding ignores.
ASCII_WHITESPACE = b" \t\n\r\f\v"

# ``\s`` in a bytes pattern is exactly ASCII_WHITESPACE.
_BAD_CHAR = re.compile(rb"[^A-Za-z0-9+/=\s]")
_NOT_PAD = re.compile(rb"[^=\s]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def decode_audio_base64(text: str | bytes) -> bytes:
    r"""Decode strict standard base64 (``A-Z a-z 0-9 + /``, ``=`` padding only at the end), ignoring ASCII whitespace.

    Raises:
        AudioDecodeError: for any other character (URL-safe ``-`` ``_``, non-ASCII, ...), misplaced or
            excess ``=`` padding, data after the padding, or a length (whitespace excluded) that is not
            a multiple of 4. The message names the offending offset, never the input.

    >>> decode_audio_base64("SUQz\nBA==")
    b'ID3\x04'
    """
    if isinstance(text, str) and not text.isascii():
        match = _NON_ASCII.search(text)
        pos = match.start() if match else 0
        raise AudioDecodeError(f"invalid base64: non-ASCII character at offset {pos}")
    # Fast path: no whitespace, so no copy (binascii reads an ASCII str or a bytes buffer in place).
    try:  # (try/except rather than contextlib.suppress: this is every call's path)
        decoded = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error:
        pass
    else:
        if is_well_padded(text):
            return decoded
    data = text.encode("ascii") if isinstance(text, str) else bytes(text)
    stripped = data.translate(None, ASCII_WHITESPACE)
    if len(stripped) != len(data):
        with contextlib.suppress(binascii.Error):
            decoded = binascii.a2b_base64(stripped, strict_mode=True)
            if is_well_padded(stripped):
                return decoded
    raise AudioDecodeError(explain_base64_error(data))


def is_well_padded(data: str | bytes | memoryview) -> bool:
    """Whether whitespace-free base64 that binascii's strict mode accepted has a legal length and padding (Python
    3.11's strict mode accepts extra ``=`` after a complete quantum: ``QUJD=``, ``QUJD====``)."""
    n = len(data)
    return n % 4 == 0 and (n < 3 or data[n - 3] not in (0x3D, "="))


def explain_base64_error(data: bytes, *, offset: int | None = 0) -> str:
    """Why ``data`` (base64, whitespace allowed) is invalid, without quoting it; positions from ``offset`` (or none)."""

    def at(index: int) -> str:
        return "" if offset is None else f" at offset {offset + index}"

    bad = _BAD_CHAR.search(data)
    if bad is not None:
        pos = bad.start()
        byte = data[pos]
        if byte in b"-_":
            hint = " (URL-safe base64 is not accepted)"
        elif byte >= 0x80:
            hint = " (non-ASCII)"
        else:
            hint = ""
        return f"invalid base64: character {bytes([byte])!r}{at(pos)}{hint}"
    first_pad = data.find(b"=")
    if first_pad >= 0:
        after = _NOT_PAD.search(data, first_pad)
        if after is not None:
            return f"invalid base64: data after '=' padding{at(after.start())}"
    length = len(data) - sum(data.count(bytes([c])) for c in ASCII_WHITESPACE)
    if length % 4:
        return (
            f"invalid base64: length {length} (whitespace excluded) is not a multiple of 4; "
            "the data is truncated or its '=' padding is missing"
        )
    if first_pad >= 0:
        return "invalid base64: more than two '=' padding characters"
    return "invalid base64"


_EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/mpeg3": ".mp3",
    "audio/x-mpeg-3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/vnd.wave": ".wav",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/opus": ".opus",
    "audio/pcm": ".pcm",
    "audio/l16": ".pcm",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/aac": ".aac",
    "audio/x-aac": ".aac",
    "audio/webm": ".webm",
}


def extension_for_media_type(media_type: str) -> str:
    """Return the file extension for a media type (case-insensitive, parameters ignored), ``.bin`` if unknown.

    >>> extension_for_media_type("Audio/MPEG; charset=binary")
    '.mp3'
    """
    essence = media_type.partition(";")[0].strip().lower()
    return _EXTENSIONS.get(essence, ".bin")


def sniff_media_type(data: bytes) -> str | None:
    """Guess the media type of audio from its first bytes; ``None`` when no known signature matches.

    Recognises MP3 (ID3 tag or MPEG frame sync), WAV (RIFF/RF64 ``WAVE``), Ogg (``audio/opus`` when the
    first page holds ``OpusHead``), FLAC, ADTS AAC and MP4/M4A (``ftyp``).

    >>> sniff_media_type(b"fLaC\\x00\\x00\\x00\\x22")
    'audio/flac'
    """
    head = bytes(data[:64])
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        return "audio/opus" if _ogg_first_packet(data).startswith(b"OpusHead") else "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if len(head) >= 2 and head[0] == 0xFF:
        second = head[1]
        if second & 0xF6 == 0xF0:
            # ADTS: 12-bit sync, MPEG version bit, layer 00.
            return "audio/aac"
        if _is_mpeg_frame_header(head):
            return "audio/mpeg"
    return None


def _is_mpeg_frame_header(head: bytes) -> bool:
    """Tell whether ``head`` starts with an MPEG audio frame header (the caller checked the first byte)."""
    second = head[1]
    # 11-bit sync, version not "reserved" (01), layer not "reserved" (00: that is ADTS).
    if second & 0xE0 != 0xE0 or second & 0x18 == 0x08 or second & 0x06 == 0:
        return False
    # Bitrate index 1111 and sample-rate index 11 are invalid.
    return len(head) < 3 or (head[2] & 0xF0 != 0xF0 and head[2] & 0x0C != 0x0C)


def _ogg_first_packet(data: bytes) -> bytes:
    """Return the start of the payload of the first Ogg page (empty when the header is incomplete)."""
    if len(data) < 27:
        return b""
    start = 27 + data[26]
    return bytes(data[start : start + 8])

"""A sans-I/O incremental decoder for the speaker-audio response body, for bounded-memory downloads."""

from __future__ import annotations

import binascii
import functools
import json
import re
from typing import Any

from speaker_audio._decode import ASCII_WHITESPACE, decode_audio_base64, explain_base64_error, is_well_padded
from speaker_audio._json import reject_json_constant
from speaker_audio.errors import (
    AudioDecodeError,
    ResponseTooLargeError,
    ResponseValidationError,
    SpeakerAudioError,
)

# Parser states.
_START = 0  # before the top-level "{"
_KEY_OR_END = 1  # after "{": a member name or "}"
_KEY_AFTER_COMMA = 2  # after ",": a member name
_KEY = 3  # inside a member name
_COLON = 4  # after a member name
_VALUE = 5  # after ":"
_AUDIO = 6  # inside the audio string
_OTHER = 7  # inside any other member's value
_COMMA_OR_END = 8  # after a value: "," or "}"
_DONE = 9  # after the top-level "}": only whitespace may follow

_QUOTE = 0x22
_PAD = 0x3D
_UTF8_BOM = b"\xef\xbb\xbf"

_JSON_WS = re.compile(rb"[ \t\n\r]*")
_STRING_SPECIAL = re.compile(rb'["\\]')
_VALUE_SPECIAL = re.compile(rb'["\[\]{},]')
_BASE64_ONLY = re.compile(rb"[A-Za-z0-9+/=]*")
_SIMPLE_ESCAPE = re.compile(rb"\\(?:[nrtf]|(?=/))")
_ANY_ESCAPE = re.compile(rb"\\(u[0-9A-Fa-f]{4}|.)", re.DOTALL)
_CONTROL = re.compile(rb"[\x00-\x1f]")

# What a "\uXXXX" escape may stand for inside the audio string (base64 alphabet, "=", ASCII whitespace).
_UNICODE_ESCAPE_TARGETS = {
    **{c: bytes([c]) for c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="},
    **{c: b"" for c in ASCII_WHITESPACE},
}


_ESCAPE_NAMES = {b'"': "an escaped quote", b"\\": "an escaped backslash", b"b": "a \\b escape"}


class StreamingAudioDecoder:
    r"""Decode a speaker-audio response body fed in chunks, yielding the audio bytes as they arrive.

    Parses the top-level JSON object incrementally: the audio member (``audio_base_64``) is decoded
    as strict base64 quantum by quantum and never held whole; every other member's raw JSON (at most
    ``max_other_bytes`` in all) is kept and parsed with :func:`json.loads`. Sans-I/O: it only
    transforms bytes. After any error the decoder is poisoned and every later call raises again.

    Example::

        decoder = StreamingAudioDecoder(audio_field="audio_base_64")
        for chunk in response.iter_bytes():
            out.write(decoder.feed(chunk))
        fields = decoder.finish()  # {"media_type": "audio/mpeg", "duration_secs": 1.5}

    Raises (from :meth:`feed` and :meth:`finish`):
        ResponseValidationError: the body is not one JSON object, is truncated, has trailing data,
            or its audio member is missing, repeated or not a string.
        AudioDecodeError: the audio string is not valid strict base64.
        ResponseTooLargeError: the other members exceed ``max_other_bytes``.
    """

    __slots__ = (
        "_audio_field",
        "_audio_seen",
        "_audio_start",
        "_carry",
        "_depth",
        "_error",
        "_escape",
        "_finished",
        "_in_string",
        "_key",
        "_max_other_bytes",
        "_members",
        "_offset",
        "_other_bytes",
        "_padded",
        "_raw",
        "_remainder",
        "_state",
    )

    def __init__(self, *, audio_field: str, max_other_bytes: int = 1 << 20) -> None:
        """Create a decoder for a body whose audio member is ``audio_field`` (an ``Operation.member()``)."""
        self._audio_field = audio_field
        self._max_other_bytes = max_other_bytes
        self._state = _START
        self._offset = 0  # body offset of the chunk being fed
        self._error: SpeakerAudioError | None = None
        self._finished = False
        self._members: dict[str, object] = {}
        self._audio_seen = False
        self._audio_start: int | None = None
        self._key = ""
        self._other_bytes = 0
        # Raw text of the member name or value being read, and the scanner state for it.
        self._raw: list[bytes] = []
        self._in_string = False
        self._escape = False
        self._depth: list[int] = []
        # Audio string: raw bytes of an escape cut by a chunk boundary, the base64 characters
        # (fewer than 4) not decoded yet, and whether the "=" padding was seen.
        self._carry = b""
        self._remainder = b""
        self._padded = False

    def feed(self, chunk: bytes) -> bytes:
        """Consume the next chunk of the body; return the audio bytes it completed (possibly ``b""``).

        Raises:
            ResponseValidationError, AudioDecodeError, ResponseTooLargeError: see the class.
        """
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        if self._finished:
            raise RuntimeError("feed() called after finish()")
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)
        start = self._offset
        try:
            out = self._feed(chunk)
        except SpeakerAudioError as exc:
            self._error = exc
            raise
        self._offset = start + len(chunk)
        return out

    @property
    def audio_start(self) -> int | None:
        """The body offset of the audio string's first character, once the decoder has reached it."""
        return self._audio_start

    def finish(self) -> dict[str, object]:
        """Check that the body was one complete JSON object; return its members other than the audio.

        Raises:
            ResponseValidationError: the body is truncated or its audio member is missing.
        """
        if self._error is not None:
            raise type(self._error)(*self._error.args)
        try:
            if self._state != _DONE:
                raise ResponseValidationError(
                    f"response body ended after {self._offset} bytes, before its JSON object was complete"
                )
            if not self._audio_seen:
                raise ResponseValidationError(f"response JSON has no {self._audio_field!r} member")
        except SpeakerAudioError as exc:
            self._error = exc
            raise
        self._finished = True
        return dict(self._members)

    # -- parsing ---------------------------------------------------------------------------------

    def _feed(self, chunk: bytes) -> bytes:
        """Run the state machine over ``chunk``."""
        out: list[bytes] = []
        pos = 0
        if self._state == _START and self._carry:
            # The start of a UTF-8 byte order mark was cut by a chunk boundary.
            chunk = self._carry + chunk
            self._offset = 0
            self._carry = b""
        end = len(chunk)
        while pos < end:
            state = self._state
            if state == _AUDIO:
                pos = self._feed_audio(chunk, pos, out)
                continue
            if state == _OTHER:
                pos = self._feed_other(chunk, pos)
                continue
            if state == _KEY:
                pos = self._feed_key(chunk, pos)
                continue
            pos = _JSON_WS.match(chunk, pos).end()  # type: ignore[union-attr]  # "*" always matches
            if pos == end:
                break
            byte = chunk[pos]
            if state == _START:
                if self._offset == 0 and pos == 0 and byte == _UTF8_BOM[0]:
                    if len(chunk) < 3 and _UTF8_BOM.startswith(chunk):
                        self._carry = chunk
                        return b""
                    if chunk.startswith(_UTF8_BOM):
                        pos = 3
                        continue
                if byte != 0x7B:  # {
                    what = "an array" if byte == 0x5B else "not a JSON object"
                    raise ResponseValidationError(f"response body is {what}; expected a JSON object")
                self._state = _KEY_OR_END
                pos += 1
            elif state in (_KEY_OR_END, _KEY_AFTER_COMMA):
                if byte == _QUOTE:
                    self._state = _KEY
                    self._in_string = True
                    self._add_raw(b'"')  # the opening quote is part of the key's raw JSON text
                    pos += 1
                elif byte == 0x7D and state == _KEY_OR_END:  # }
                    self._state = _DONE
                    pos += 1
                else:
                    raise self._syntax_error("a member name", chunk, pos)
            elif state == _COLON:
                if byte != 0x3A:  # :
                    raise self._syntax_error("':'", chunk, pos)
                self._state = _VALUE
                pos += 1
            elif state == _VALUE:
                if self._key == self._audio_field:
                    if byte != _QUOTE:
                        raise ResponseValidationError(f"response member {self._audio_field!r} is not a string")
                    self._state = _AUDIO
                    pos += 1
                    self._audio_start = self._offset + pos
                else:  # the scanner's state is as a finished value left it: no raw text, no string, no depth
                    self._state = _OTHER
            elif state == _COMMA_OR_END:
                if byte == 0x2C:  # ,
                    self._state = _KEY_AFTER_COMMA
                elif byte == 0x7D:  # }
                    self._state = _DONE
                else:
                    raise self._syntax_error("',' or '}'", chunk, pos)
                pos += 1
            else:  # _DONE
                raise ResponseValidationError(
                    f"response body has data after its JSON object (at byte {self._offset + pos})"
                )
        return b"".join(out)  # one piece is returned as it is, not copied

    def _syntax_error(self, expected: str, chunk: bytes, pos: int) -> ResponseValidationError:
        """Build the error for an unexpected byte where ``expected`` was due."""
        return ResponseValidationError(
            f"response body is not valid JSON: expected {expected} at byte {self._offset + pos}, "
            f"found {chunk[pos : pos + 1]!r}"
        )

    def _add_raw(self, piece: bytes) -> None:
        """Keep raw JSON text of a member name or non-audio value, within ``max_other_bytes``."""
        self._other_bytes += len(piece)
        if self._other_bytes > self._max_other_bytes:
            raise ResponseTooLargeError(
                f"response members other than {self._audio_field!r} exceed {self._max_other_bytes} bytes"
            )
        self._raw.append(piece)

    def _parse_raw(self) -> Any:
        """Parse the raw JSON text collected for a member name (a str) or value."""
        raw = b"".join(self._raw)
        self._raw = []
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=reject_json_constant)
        except (ValueError, RecursionError) as exc:
            # UnicodeDecodeError and json.JSONDecodeError are ValueErrors; their messages hold no data.
            raise ResponseValidationError(f"response body is not valid JSON: {exc}") from None

    def _scan_string(self, chunk: bytes, pos: int) -> int:
        """Advance through a JSON string: the position after its closing quote, else (still in it) ``len(chunk)``."""
        end = len(chunk)
        while pos < end:
            if self._escape:
                self._escape = False
                pos += 1
                continue
            match = _STRING_SPECIAL.search(chunk, pos)
            if match is None:
                return end
            pos = match.end()
            if chunk[pos - 1] == _QUOTE:
                self._in_string = False
                return pos
            self._escape = True
        return end

    def _feed_key(self, chunk: bytes, pos: int) -> int:
        """Read (part of) a member name."""
        stop = self._scan_string(chunk, pos)
        self._add_raw(chunk[pos:stop])
        if self._in_string:
            return stop
        key: str = self._parse_raw()
        if key == self._audio_field:
            if self._audio_seen:
                raise ResponseValidationError(f"response JSON has more than one {self._audio_field!r} member")
            self._audio_seen = True
        self._key = key
        self._state = _COLON
        return stop

    def _feed_other(self, chunk: bytes, pos: int) -> int:
        """Read (part of) a non-audio value: find where it ends, keeping its raw text."""
        start = pos
        end = len(chunk)
        depth = self._depth
        while pos < end:
            if self._in_string:
                pos = self._scan_string(chunk, pos)
                continue
            match = _VALUE_SPECIAL.search(chunk, pos)
            if match is None:
                pos = end
                break
            i = match.start()
            byte = chunk[i]
            pos = i + 1
            if byte == _QUOTE:
                self._in_string = True
            elif byte in b"[{":
                depth.append(byte)
            elif depth and byte in b"]}":
                if depth.pop() != (0x5B if byte == 0x5D else 0x7B):
                    raise ResponseValidationError(
                        f"response body is not valid JSON: mismatched {chr(byte)!r} at byte {self._offset + i}"
                    )
            elif not depth and byte in b",}":
                # The value ends here; the "," or "}" belongs to the object.
                self._add_raw(chunk[start:i])
                self._members[self._key] = self._parse_raw()
                self._state = _COMMA_OR_END
                return i
            elif not depth:  # "]" outside any array
                raise self._syntax_error("a value", chunk, i)
        self._add_raw(chunk[start:pos])
        return pos

    # -- the audio string ------------------------------------------------------------------------

    def _feed_audio(self, chunk: bytes, pos: int, out: list[bytes]) -> int:
        """Decode (part of) the audio string; append the decoded bytes to ``out``."""
        quote = chunk.find(b'"', pos)
        closing = quote >= 0
        stop = quote if closing else len(chunk)
        decoded = None
        if not self._carry and not self._padded:
            # Fast path: a run of plain base64 characters, decoded without copying the chunk.
            segment = memoryview(chunk)[pos:stop] if pos or stop < len(chunk) else chunk
            try:  # noqa: SIM105 (try/except rather than contextlib.suppress: this is every chunk's path)
                decoded = self._decode_plain(segment)
            except binascii.Error:
                pass
        if decoded is None:
            raw = self._carry + chunk[pos:stop]
            self._carry = b""
            cleaned = self._unescape(raw, closing, self._offset + pos)
            decoded = self._decode_cleaned(cleaned, self._offset + pos)
        if decoded:
            out.append(decoded)
        if not closing:
            return stop
        if self._remainder:
            raise AudioDecodeError(
                f"invalid base64 in {self._audio_field!r}: its length (whitespace excluded) is not a multiple of 4; "
                "the data is truncated or its '=' padding is missing"
            )
        self._state = _COMMA_OR_END
        return stop + 1

    def _decode_plain(self, segment: bytes | memoryview) -> bytes:
        """Decode whole quanta of ``remainder + segment``, all plain base64; raise ``binascii.Error`` otherwise.

        State changes only on success, so a failed attempt can be redone on the slow path.
        """
        remainder = self._remainder
        data = remainder + segment if remainder else segment
        whole = len(data) & ~3
        tail = data[whole:]
        if _BASE64_ONLY.fullmatch(tail) is None:
            raise binascii.Error("not plain base64")
        if whole == 0:
            self._remainder = bytes(tail)
            return b""
        block = data if whole == len(data) else data[:whole]
        decoded = binascii.a2b_base64(block, strict_mode=True)
        if block[-1] == _PAD:
            if tail or not is_well_padded(block):
                raise binascii.Error("bad padding")
            self._padded = True
        self._remainder = bytes(tail)
        return decoded

    def _decode_cleaned(self, cleaned: bytes, offset: int) -> bytes:
        """Decode whole quanta of ``remainder + cleaned`` (whitespace and escapes already removed)."""
        if not cleaned:
            return b""
        if self._padded:
            raise AudioDecodeError(
                f"invalid base64 in {self._audio_field!r}: data after '=' padding (near byte {offset})"
            )
        try:
            return self._decode_plain(cleaned)
        except binascii.Error:
            pass
        control = _CONTROL.search(cleaned)
        if control is not None:
            raise ResponseValidationError(
                f"response body is not valid JSON: raw control character in the {self._audio_field!r} string "
                f"(near byte {offset})"
            ) from None
        reason = explain_base64_error(self._remainder + cleaned, offset=None)
        raise AudioDecodeError(f"{reason} in {self._audio_field!r} (near byte {offset})") from None

    def _unescape(self, raw: bytes, closing: bool, offset: int) -> bytes:
        """Resolve the JSON escapes of a piece of the audio string and drop whitespace.

        An escape cut by the end of the chunk is kept in ``_carry`` for the next one.
        """
        if closing:
            if raw.endswith(b"\\"):  # '\"' or '\\' before the closing quote: a '"' or '\' in the audio
                raise self._not_base64("an escaped quote or backslash", offset)
        else:
            cut = raw.rfind(b"\\", max(0, len(raw) - 5))
            if cut >= 0 and (cut + 1 == len(raw) or (raw[cut + 1] == 0x75 and len(raw) - cut < 6)):
                if cut and raw[cut - 1] == 0x5C:  # a run of backslashes starts with an escape: an escaped backslash
                    raise self._not_base64("an escaped backslash", offset)
                self._carry = raw[cut:]
                raw = raw[:cut]
        if b"\\" in raw:
            # One C-level pass resolves the common escapes: "\n" "\r" "\t" "\f" go, "\/" keeps its "/".
            # It drops only backslashes followed by one of those characters, so a backslash is left over
            # exactly when some other escape is present ("\uXXXX", or one that is not base64).
            resolved = _SIMPLE_ESCAPE.sub(b"", raw)
            raw = resolved if b"\\" not in resolved else self._resolve_escapes(raw, offset)
        if b" " in raw:
            raw = raw.replace(b" ", b"")
        return raw

    def _resolve_escapes(self, raw: bytes, offset: int) -> bytes:
        """Resolve every JSON escape of a piece of the audio string, one by one (the rare, slow way)."""
        invalid = f"response body is not valid JSON: invalid escape in the {self._audio_field!r} string"

        def resolve(match: re.Match[bytes]) -> bytes:
            escape = match.group(1)
            if len(escape) == 5:  # uXXXX
                target = _UNICODE_ESCAPE_TARGETS.get(int(escape[1:], 16))
                if target is None:
                    raise self._not_base64(f"the escape {match.group(0).decode()}", offset)
                return target
            if escape in b"nrtf":
                return b""
            if escape == b"/":
                return escape
            if escape in b'"\\b':
                raise self._not_base64(_ESCAPE_NAMES[escape], offset)
            raise ResponseValidationError(f"{invalid} (near byte {offset})")

        resolved = _ANY_ESCAPE.sub(resolve, raw)
        if b"\\" in resolved:  # a lone backslash at the very end
            raise ResponseValidationError(f"{invalid} (near byte {offset})")
        return resolved

    def _not_base64(self, what: str, offset: int) -> AudioDecodeError:
        """The error for ``what``, found in the audio string near body byte ``offset``."""
        return AudioDecodeError(
            f"invalid base64 in {self._audio_field!r}: {what} is not a base64 character (near byte {offset})"
        )


@functools.cache
def _whole_body_decoder(audio_field: str) -> json.JSONDecoder:
    """A strict JSON decoder that refuses any object with ``audio_field`` twice (json would keep the last)."""

    def pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        members = dict(pairs)
        if len(members) != len(pairs) and sum(key == audio_field for key, _ in pairs) > 1:
            raise ValueError(f"repeated {audio_field!r} member")
        return members

    return json.JSONDecoder(parse_constant=reject_json_constant, object_pairs_hook=pairs_to_dict)


def decode_whole_body(body: bytes, *, audio_field: str) -> tuple[bytes, dict[str, object]]:
    """Decode a complete (small) body at once: ``(audio, other members)``.

    Accepts and refuses exactly what :class:`StreamingAudioDecoder` does: the one-pass route
    (``json`` + :func:`decode_audio_base64`) is taken only for a plainly valid body; anything else
    goes through the streaming decoder, whose errors are the reference.
    """
    try:
        text = body.decode("utf-8")
        # a repeated audio member (even spelled with escapes) is refused, then judged by the streaming decoder
        document = _whole_body_decoder(audio_field).decode(text[1:] if text.startswith("\ufeff") else text)
        if isinstance(document, dict) and audio_field in document:
            audio_text = document.pop(audio_field)
            if isinstance(audio_text, str):
                return decode_audio_base64(audio_text), document
    except (ValueError, RecursionError, KeyError, SpeakerAudioError):
        pass
    decoder = StreamingAudioDecoder(audio_field=audio_field)
    audio = decoder.feed(body)
    return audio, decoder.finish()

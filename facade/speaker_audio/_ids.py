"""Rules for the ids a request puts in its URL path (sans-I/O)."""

from __future__ import annotations

from speaker_audio.errors import InvalidIdError

MAX_ID_BYTES = 1024
"""The longest id sent, in bytes of its percent-encoded path segment (``urllib.parse.quote(id, safe="")``): three
such ids and the longest base URL stay under 5.3 KB, below the 8 KiB request line that common servers accept."""

# the bytes that ``quote(..., safe="")`` leaves as they are; every other byte becomes "%XX"
_UNRESERVED = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"


def encoded_length(value: str) -> int:
    """The length of ``value`` as one percent-encoded URL path segment (its UTF-8 bytes, each but
    ``A-Z a-z 0-9 _ . - ~`` written ``%XX``), as the generated client encodes path parameters."""
    data = value.encode("utf-8", "surrogatepass")
    return len(data) + 2 * len(data.translate(None, _UNRESERVED))


def check_id_length(name: str, value: str) -> str:
    """Return ``value`` if its percent-encoded path segment is at most :data:`MAX_ID_BYTES` bytes long.

    Raises:
        InvalidIdError: a longer id (the message quotes its first 32 characters only).
    """
    # a character is at least one encoded byte and at most twelve ("%F0%9F%98%80"): most ids need no encoding
    if len(value) * 12 <= MAX_ID_BYTES:
        return value
    if len(value) > MAX_ID_BYTES:
        size = f"{len(value)} characters"
    elif encoded_length(value) > MAX_ID_BYTES:
        size = f"{encoded_length(value)} bytes once percent-encoded"
    else:
        return value
    raise InvalidIdError(
        f"{name} is too long: {size}, where at most {MAX_ID_BYTES} bytes are allowed once percent-encoded "
        f"for the URL path (it starts {value[:32]!r})"
    )

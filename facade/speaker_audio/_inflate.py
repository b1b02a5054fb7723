"""Compressed response bodies (sans-I/O): the codings we ask for, and inflating them in bounded steps.

httpx would inflate each network read whole (a few kilobytes of gzip can become gigabytes before any size check),
so the shells read the raw body and inflate it here, ``INFLATE_STEP`` bytes at a time, under every size limit.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from speaker_audio.errors import ResponseValidationError

ACCEPT_ENCODING = "gzip, deflate"
"""The ``Accept-Encoding`` sent with every request: exactly the codings :class:`Inflater` decodes."""

INFLATE_STEP = 256 * 1024
"""The most bytes one call to ``zlib`` may inflate: the memory a compressed chunk can cost at once."""

_CODINGS = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}


def inflater_for(headers: httpx.Headers) -> Inflater | None:
    """The :class:`Inflater` for a response's ``Content-Encoding``; ``None`` when the body is not encoded.

    Raises ``ResponseValidationError`` for a coding other than gzip or deflate, or more than one (``gzip, gzip``).
    """
    values = headers.get_list("content-encoding")
    if not values:  # the usual answer, at once
        return None
    codings = [name.strip().lower() for value in values for name in value.split(",")]  # as split_commas=True
    codings = [name for name in codings if name and name != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in _CODINGS:
        raise ResponseValidationError(
            f"unsupported Content-Encoding {', '.join(codings)!r}: speaker-audio asks for and decodes "
            f"one of {ACCEPT_ENCODING}"
        )
    return Inflater(_CODINGS[codings[0]])


class Inflater:
    """Inflates a gzip (of one or more members) or deflate (zlib or raw) body fed in chunks.

    Raises ``ResponseValidationError`` for data that is not valid in the coding, data after its end, and (from
    :meth:`finish`) a stream cut short.
    """

    __slots__ = ("_head", "_inflater", "coding", "compressed")

    def __init__(self, coding: str) -> None:
        if coding not in ("gzip", "deflate"):
            raise ValueError(f"unknown coding {coding!r}")
        self.coding = coding
        """``gzip`` or ``deflate``."""
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16) if coding == "gzip" else None
        self._head = b""  # a first byte held until the second tells the format (deflate) or a new member (gzip)
        self.compressed = 0
        """Compressed bytes fed so far."""

    def inflate(self, data: bytes) -> Iterator[bytes]:
        """Inflate ``data``, the next chunk of the body, yielding pieces of at most ``INFLATE_STEP`` bytes."""
        self.compressed += len(data)
        if self._head:
            data, self._head = self._head + data, b""
        inflater = self._inflater
        if inflater is None:  # deflate, format not yet known
            if len(data) < 2:
                self._head = data
                return
            zlib_format = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            inflater = self._inflater = zlib.decompressobj(zlib.MAX_WBITS if zlib_format else -zlib.MAX_WBITS)
        while data:
            if inflater.eof:
                if len(data) < 2 and self.coding == "gzip" and b"\x1f\x8b".startswith(data):
                    self._head = data  # perhaps the start of another member
                    return
                inflater = self._next_member(data)
            try:
                piece = inflater.decompress(data, INFLATE_STEP)
            except zlib.error as exc:
                raise ResponseValidationError(f"the response body is not valid {self.coding} data: {exc}") from None
            data = inflater.unconsumed_tail or inflater.unused_data
            if piece:
                yield piece

    def _next_member(self, data: bytes) -> zlib._Decompress:
        if self.coding != "gzip" or not data.startswith(b"\x1f\x8b"):
            raise ResponseValidationError(f"the response body has data after the end of its {self.coding} stream")
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        return self._inflater

    def finish(self) -> None:
        """Check that the body ended where the compressed stream ends (an empty body is accepted)."""
        if self.compressed == 0:
            return
        if self._inflater is None or not self._inflater.eof or self._head:
            raise ResponseValidationError(f"the response body ended before the end of its {self.coding} stream")


def unread(response: httpx.Response) -> httpx.Response:
    """``response``, or, if an httpx event hook has already read its body, a copy that can be read again.

    httpx inflated such a body as it read it, so the copy streams that content and has no ``Content-Encoding``
    (the hook took the memory it needed; the limits still apply to what is fed on).
    """
    if not response.is_stream_consumed:
        return response
    headers = [(name, value) for name, value in response.headers.raw if name.lower() != b"content-encoding"]  # bytes
    return httpx.Response(
        response.status_code,
        headers=headers,
        stream=httpx.ByteStream(response.content),
        request=response.request,
        extensions=response.extensions,
    )

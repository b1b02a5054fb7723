"""Response-body consumers (sans-I/O): the shells feed them chunks, they build the result.

Each sink counts what it receives against ``max_bytes`` so that an oversized response is an
error, not an out-of-memory kill.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from speaker_audio._files import AtomicFile
from speaker_audio._models import SpeakerAudio
from speaker_audio._responses import parse_json_body, speaker_audio_from_parts, speaker_audio_member
from speaker_audio._streaming import StreamingAudioDecoder, decode_whole_body
from speaker_audio.errors import ResponseTooLargeError

T = TypeVar("T")

__all__ = ["AudioFileSink", "AudioMemorySink", "BodySink", "JsonSink"]


class BodySink(Generic[T]):
    """Base of the body consumers: ``feed`` chunks, then ``finish`` (or ``abort`` on error)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.received = 0

    def feed(self, chunk: bytes) -> None:
        """Consume one chunk of the body."""
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise ResponseTooLargeError(f"response body exceeds max_response_bytes ({self.max_bytes} bytes)")
        self._consume(chunk)

    def _consume(self, chunk: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> T:
        """The result, once the whole body was fed."""
        raise NotImplementedError

    def abort(self) -> None:
        """Discard everything (called on any error); idempotent."""


class JsonSink(BodySink[T]):
    """Buffers a small JSON body and parses it with ``parse`` at the end."""

    def __init__(self, parse: Callable[[object], T], where: str, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self._parse = parse
        self._where = where
        self._buffer = bytearray()

    def _consume(self, chunk: bytes) -> None:
        self._buffer += chunk

    def finish(self) -> T:
        return self._parse(parse_json_body(bytes(self._buffer), self._where))


SMALL_BODY_BYTES = 64 * 1024


class AudioMemorySink(BodySink["SpeakerAudio"]):
    """Decodes the audio while it streams in, holding only the decoded bytes (no body/str copies).

    A body that ends within ``SMALL_BODY_BYTES`` is decoded in one pass instead (faster for
    small answers, same acceptance: see ``decode_whole_body``).
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self._decoder: StreamingAudioDecoder | None = None
        self._small: list[bytes] | None = []
        self._small_size = 0
        # BytesIO.getvalue() hands over its buffer without a copy when nothing else shares it
        self._audio = io.BytesIO()

    def _consume(self, chunk: bytes) -> None:
        if self._small is not None:
            self._small.append(chunk)
            self._small_size += len(chunk)
            if self._small_size <= SMALL_BODY_BYTES:
                return
            chunks, self._small = self._small, None  # too large: switch to streaming
            self._decoder = StreamingAudioDecoder(audio_field=speaker_audio_member())
            for piece in chunks:
                self._write(self._decoder.feed(piece))
            return
        assert self._decoder is not None
        self._write(self._decoder.feed(chunk))

    def _write(self, decoded: bytes) -> None:
        if decoded:
            self._audio.write(decoded)

    def finish(self) -> SpeakerAudio:
        if self._small is not None:
            data, fields = decode_whole_body(b"".join(self._small), audio_field=speaker_audio_member())
            self._small = None
            return speaker_audio_from_parts(data, fields)
        assert self._decoder is not None
        fields = self._decoder.finish()
        data = self._audio.getvalue()
        self._audio = io.BytesIO()
        return speaker_audio_from_parts(data, fields)

    def abort(self) -> None:
        self._small = None
        self._audio = io.BytesIO()


class AudioFileSink(BodySink[Path]):
    """Decodes the audio straight into ``file``; :meth:`finish` returns the path to commit it to.

    The owner creates ``file`` before the request (so a folder that cannot be written costs no
    request), keeps it across retries (each new sink empties it first), commits it with the path
    that :meth:`finish` returns (the async client does so off its event loop), and discards it on
    failure. With ``stem`` set, the file is ``<stem><extension>`` in ``file``'s folder, the extension
    coming from the response's media type. ``on_received(bytes_so_far)`` is called after each chunk.
    """

    def __init__(
        self,
        file: AtomicFile,
        *,
        max_bytes: int,
        stem: str | None = None,
        on_received: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(max_bytes)
        self._on_received = on_received
        self._decoder = StreamingAudioDecoder(audio_field=speaker_audio_member())
        self._stem = stem
        self._file = file
        file.rewind()  # a retry starts the file again (a no-op for the first attempt)

    def _consume(self, chunk: bytes) -> None:
        decoded = self._decoder.feed(chunk)
        if decoded:
            self._file.write(decoded)
        if self._on_received is not None:
            self._on_received(self.received)

    def finish(self) -> Path:
        fields = self._decoder.finish()
        audio = speaker_audio_from_parts(b"", fields)  # validates media_type and duration_secs
        if self._stem is not None:
            return self._file.directory / f"{self._stem}{audio.extension}"
        return self._file.target

    def abort(self) -> None:
        """Nothing to do: the owner of the file keeps it for a retry or discards it."""

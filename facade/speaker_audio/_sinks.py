"""Response-body consumers (sans-I/O): the shells feed them chunks, they build the result.

Each sink counts what it receives against ``max_bytes``: an oversized response is an error, not an out-of-memory kill.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Generic, TypeVar

from speaker_audio._files import AtomicFile
from speaker_audio._inflate import Inflater
from speaker_audio._json import parse_json_body
from speaker_audio._models import DownloadProgress, ResponseMeta
from speaker_audio._operations import SPEAKER_AUDIO, STRICT, Checks, Operation
from speaker_audio._streaming import StreamingAudioDecoder, decode_whole_body
from speaker_audio.errors import ResponseTooLargeError

T = TypeVar("T")
A = TypeVar("A")


def expected_body_bytes(headers: Mapping[str, str], inflater: Inflater | None) -> int | None:
    """The body size a response announces (``Content-Length``), or ``None`` when unknown or compressed (an
    ``inflater`` from ``inflater_for``: the length then counts compressed bytes, not the JSON the sinks see)."""
    if inflater is not None:
        return None
    try:
        size = int(headers.get("content-length", ""))
    except ValueError:
        return None
    return size if size >= 0 else None


def estimate_audio_bytes(body_bytes: int, audio_start: int | None) -> int:
    """Audio bytes a ``body_bytes`` long body holds, its audio string starting at ``audio_start``: 3 per 4 base64
    characters, counting only the closing quote and brace after it (an upper bound by the members after it)."""
    characters = max(0, body_bytes - (audio_start or 0) - 2)
    return characters * 3 // 4


class BodySink(Generic[T]):
    """Base of the body consumers: ``feed`` chunks, then ``finish`` (or ``abort`` on error).

    ``limit_name`` is the client setting that ``max_bytes`` comes from, named in the error.
    """

    limit_name = "max_response_bytes"

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.received = 0
        self.expected_body_bytes: int | None = None
        """The body's announced size (set by the shells from the headers; see ``expected_body_bytes``)."""
        self.meta: ResponseMeta | None = None
        """What the result carries from the response (set by the shells once its head has arrived)."""

    def feed(self, chunk: bytes) -> None:
        """Consume one chunk of the (inflated) body."""
        self.received += len(chunk)
        if self.received > self.max_bytes:
            raise self._too_large()
        self._consume(chunk)

    def feed_compressed(self, chunk: bytes, inflater: Inflater) -> None:
        """Consume one chunk of a compressed body: its compressed and its inflated bytes both count."""
        if inflater.compressed + len(chunk) > self.max_bytes:
            raise self._too_large()
        for piece in inflater.inflate(chunk):
            self.feed(piece)

    def _too_large(self) -> ResponseTooLargeError:
        return ResponseTooLargeError(f"response body exceeds {self.limit_name} ({self.max_bytes} bytes)")

    def _consume(self, chunk: bytes) -> None:
        raise NotImplementedError

    def finish(self) -> T:
        """The result, once the whole body was fed."""
        raise NotImplementedError

    def abort(self) -> None:
        """Discard everything (called on any error); idempotent."""


class JsonSink(BodySink[T]):
    """Buffers a small JSON body and parses it with ``parse`` at the end (``max_bytes`` is ``max_json_bytes``)."""

    limit_name = "max_json_bytes"

    def __init__(self, parse: Callable[[object, ResponseMeta | None], T], where: str, max_bytes: int) -> None:
        super().__init__(max_bytes)
        self._parse = parse
        self._where = where
        self._buffer = bytearray()

    def _consume(self, chunk: bytes) -> None:
        self._buffer += chunk

    def finish(self) -> T:
        # parsed where it was received (no copy of it), and let go of before the result is built
        body, self._buffer = self._buffer, bytearray()
        document = parse_json_body(body, self._where)
        del body
        return self._parse(document, self.meta)


SMALL_BODY_BYTES = 64 * 1024


class AudioMemorySink(BodySink[A]):
    """Decodes the audio of ``route``'s result while it streams in, holding only the decoded bytes.

    A body that ends within ``SMALL_BODY_BYTES`` is decoded in one pass instead (faster, same acceptance).
    """

    def __init__(
        self,
        max_bytes: int,
        route: Operation[A] = SPEAKER_AUDIO,  # type: ignore[assignment]
        checks: Checks = STRICT,
    ) -> None:
        super().__init__(max_bytes)
        self._route: Operation[A] = route
        self._checks = checks
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
            self._decoder = StreamingAudioDecoder(audio_field=self._route.member())
            for piece in chunks:
                self._audio.write(self._decoder.feed(piece))
            return
        assert self._decoder is not None
        self._audio.write(self._decoder.feed(chunk))

    def finish(self) -> A:
        if self._small is not None:
            data, fields = decode_whole_body(b"".join(self._small), audio_field=self._route.member())
            self._small = None
            return self._route.from_parts(data, fields, self._checks, self.meta)
        assert self._decoder is not None
        fields = self._decoder.finish()
        data = self._audio.getvalue()
        self._audio = io.BytesIO()
        return self._route.from_parts(data, fields, self._checks, self.meta)

    def abort(self) -> None:
        self._small = None
        self._audio = io.BytesIO()


class AudioFileSink(BodySink[Path]):
    """Decodes the audio straight into ``file``; :meth:`finish` returns the path to commit it to.

    The owner makes ``file`` before the request, keeps it across retries (each new sink empties it), commits it
    and discards it on failure. With ``stem``, the path is ``<stem><extension>`` in ``file``'s folder, by the media
    type. After each chunk ``on_received(audio_bytes)`` and ``on_progress(DownloadProgress)`` are called, the
    latter once more with ``done=True``; ``check()`` runs before each chunk is used and raises to stop.
    """

    def __init__(
        self,
        file: AtomicFile,
        *,
        max_bytes: int,
        stem: str | None = None,
        on_received: Callable[[int], None] | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        route: Operation[Any] = SPEAKER_AUDIO,
        check: Callable[[], None] | None = None,
        checks: Checks = STRICT,
    ) -> None:
        super().__init__(max_bytes)
        self._check = check
        self._checks = checks
        self._on_received = on_received
        self._on_progress = on_progress
        self._route = route
        self._decoder = StreamingAudioDecoder(audio_field=route.member())
        self.audio_bytes = 0
        self._stem = stem
        self._file = file
        file.rewind()  # a retry starts the file again (a no-op for the first attempt)

    def _consume(self, chunk: bytes) -> None:
        if self._check is not None:  # first: it may stop a cancelled download before anything is written
            self._check()
        decoded = self._decoder.feed(chunk)
        if decoded:
            self._file.write(decoded)
            self.audio_bytes += len(decoded)
        if self._on_received is not None:
            self._on_received(self.audio_bytes)
        if self._on_progress is not None:
            self._on_progress(self.progress())

    def progress(self, audio: Any = None) -> DownloadProgress:
        """The progress so far: audio and body bytes, with the expected sizes; with ``audio`` (the validated
        result, once the body is complete) the exact size, the media type and the duration."""
        done = audio is not None
        expected: int | None = self.audio_bytes
        if not done:
            total = self.expected_body_bytes
            expected = (
                None if total is None else max(self.audio_bytes, estimate_audio_bytes(total, self._decoder.audio_start))
            )
        return DownloadProgress(
            audio_bytes=self.audio_bytes,
            expected_audio_bytes=expected,
            body_bytes=self.received,
            expected_body_bytes=self.expected_body_bytes,
            done=done,
            media_type=audio.media_type if done else None,
            duration_secs=audio.duration_secs if done else None,
        )

    def finish(self) -> Path:
        fields = self._decoder.finish()
        audio = self._route.from_parts(b"", fields, self._checks)  # validates the other members against the spec
        if self._on_progress is not None:
            self._on_progress(self.progress(audio))
        if self._stem is not None:
            return self._file.directory / f"{self._stem}{audio.extension}"
        return self._file.target

    def abort(self) -> None:
        """Nothing to do: the owner of the file keeps it for a retry or discards it."""


class AudioStreamSink(BodySink[A]):
    """Decodes the audio as it streams in and hands each decoded piece to ``write`` at once (e.g. a pipe).

    A failure after the first byte leaves a partial stream behind (``written`` counts the bytes handed over).
    ``finish`` returns the validated result of ``route`` with empty ``data``.
    """

    def __init__(
        self, write: Callable[[bytes], object], max_bytes: int, route: Operation[A], checks: Checks = STRICT
    ) -> None:
        super().__init__(max_bytes)
        self._checks = checks
        self._write = write
        self._route = route
        self._decoder = StreamingAudioDecoder(audio_field=route.member())
        self.written = 0

    def _consume(self, chunk: bytes) -> None:
        decoded = self._decoder.feed(chunk)
        if decoded:
            self._write(decoded)
            self.written += len(decoded)

    def finish(self) -> A:
        return self._route.from_parts(b"", self._decoder.finish(), self._checks, self.meta)

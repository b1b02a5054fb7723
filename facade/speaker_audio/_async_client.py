"""The asynchronous client: the same operations as :class:`SpeakerAudioClient`, as coroutines."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from speaker_audio import _deadline, _http_errors, _inflate, _requests, _responses, _retry, _settings
from speaker_audio._base import ClientSettings
from speaker_audio._body import AudioFileSink, AudioMemorySink, AudioStreamSink, BodySink, expected_body_bytes
from speaker_audio._files import AtomicFile
from speaker_audio._models import DownloadProgress, SampleAudio, SeparationStatus, SpeakerAudio
from speaker_audio._responses import SAMPLE_AUDIO, SPEAKER_AUDIO, AudioResponse
from speaker_audio._version import USER_AGENT
from speaker_audio._workflow import (
    SeparationPoller,
    SpeakerDownloads,
    check_concurrency,
    open_download_file,
    prepare_download_directory,
)
from speaker_audio.errors import SpeakerAudioError

T = TypeVar("T")
logger = logging.getLogger("speaker_audio")

__all__ = ["AsyncSpeakerAudioClient"]


class AsyncSpeakerAudioClient(ClientSettings):
    """Async client for ElevenLabs' PVC speaker-separation endpoints.

    Takes the same arguments as :class:`SpeakerAudioClient` (``http_client`` is an
    ``httpx.AsyncClient``, used as is and never closed by us) and has the same methods, as coroutines.

    Attributes:
        base_url: the base URL in use, without a trailing slash.
        timeout: the ``httpx.Timeout`` of every request.
        max_retries: retries after the first try.
        retry_policy: when and how long to wait before a retry (its back-off and ``Retry-After`` limits).
        max_response_bytes: the largest response body accepted.
        total_timeout: the bound on one whole call, or ``None``.
        max_json_bytes: the largest JSON (status, start) response body accepted.

    Example::

        async with AsyncSpeakerAudioClient() as client:
            audio = await client.get_speaker_audio("voice", "sample", "speaker")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = _settings.DEFAULT_TIMEOUT,
        max_retries: int = _settings.DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        max_response_bytes: int = _settings.DEFAULT_MAX_RESPONSE_BYTES,
        max_json_bytes: int = _settings.DEFAULT_MAX_JSON_BYTES,
        total_timeout: float | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        key = _settings.conceal(api_key)
        del api_key  # from here on only the Secret: tracebacks with locals must not show the key
        super().__init__(
            key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            max_response_bytes=max_response_bytes,
            max_json_bytes=max_json_bytes,
            total_timeout=total_timeout,
            allow_insecure_http=allow_insecure_http,
        )
        self._owns_http_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            mounts=self._direct_mounts(),
        )
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._clock: Callable[[], float] = time.monotonic

    # -- lifecycle --

    async def aclose(self) -> None:
        """Close the connection pool (not a client passed in as ``http_client``)."""
        if self._owns_http_client:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- operations --

    async def get_speaker_audio(self, voice_id: str, sample_id: str, speaker_id: str) -> SpeakerAudio:
        """Fetch one speaker's separated audio, decoded and validated (see the sync client)."""
        spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
        return await self._execute(spec, lambda: AudioMemorySink(self.max_response_bytes))

    async def download_speaker_audio(
        self,
        voice_id: str,
        sample_id: str,
        speaker_id: str,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Callable[[int], None] | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
    ) -> Path:
        """Stream one speaker's audio to ``dest`` in bounded memory, atomically (see the sync client).

        The file work that can block (creating folders and the temporary file, fsync and rename,
        cleanup) runs on a worker thread, never on the event loop.
        """
        return await self._download_speaker_audio(
            voice_id, sample_id, speaker_id, dest, overwrite=overwrite, progress=progress, on_progress=on_progress
        )

    async def _download_speaker_audio(
        self,
        voice_id: str,
        sample_id: str,
        speaker_id: str,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        progress: Callable[[int], None] | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        on_audio: Callable[[SpeakerAudio], None] | None = None,
    ) -> Path:
        """:meth:`download_speaker_audio`; ``on_audio`` gets the server's media type and duration."""
        spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
        return await self._download_audio(
            spec, SPEAKER_AUDIO, dest, speaker_id, overwrite, progress, on_progress, on_audio=on_audio
        )

    async def get_sample_audio(
        self, voice_id: str, sample_id: str, *, remove_background_noise: bool = False
    ) -> SampleAudio:
        """Fetch a voice sample's own audio, decoded and validated (see the sync client)."""
        spec = _requests.build_get_sample_audio(
            voice_id, sample_id, self._api_key, remove_background_noise=remove_background_noise
        )
        return await self._execute(spec, lambda: AudioMemorySink(self.max_response_bytes, SAMPLE_AUDIO))

    async def download_sample_audio(
        self,
        voice_id: str,
        sample_id: str,
        dest: str | os.PathLike[str],
        *,
        remove_background_noise: bool = False,
        overwrite: bool = False,
        progress: Callable[[int], None] | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
    ) -> Path:
        """Stream a voice sample's own audio to ``dest`` in bounded memory, atomically (see the sync client)."""
        spec = _requests.build_get_sample_audio(
            voice_id, sample_id, self._api_key, remove_background_noise=remove_background_noise
        )
        return await self._download_audio(spec, SAMPLE_AUDIO, dest, sample_id, overwrite, progress, on_progress)

    async def _download_audio(
        self,
        spec: _requests.RequestSpec,
        route: AudioResponse[Any],
        dest: str | os.PathLike[str],
        name: str,
        overwrite: bool,
        progress: Callable[[int], None] | None,
        on_progress: Callable[[DownloadProgress], None] | None,
        *,
        on_audio: Callable[[Any], None] | None = None,
    ) -> Path:
        file, stem = await _make_off_loop(
            lambda: open_download_file(dest, name, overwrite=overwrite), lambda made: made[0].abort()
        )
        return await self._download(
            spec,
            file,
            lambda: AudioFileSink(
                file,
                max_bytes=self.max_response_bytes,
                stem=stem,
                on_received=progress,
                on_progress=on_progress,
                route=route,
                on_audio=on_audio,
            ),
        )

    async def _stream_speaker_audio(
        self, voice_id: str, sample_id: str, speaker_id: str, write: Callable[[bytes], object]
    ) -> SpeakerAudio:
        """Hand the decoded audio to ``write`` piece by piece; returns its media type and duration (no data)."""
        spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
        return await self._execute(spec, lambda: AudioStreamSink(write, self.max_response_bytes, SPEAKER_AUDIO))

    async def get_separation_status(self, voice_id: str, sample_id: str) -> SeparationStatus:
        """The speaker-separation state of a sample, with its speakers once completed."""
        spec = _requests.build_get_separation_status(voice_id, sample_id, self._api_key)
        return await self._execute(spec, self._json_sink(_responses.separation_status_from_json, spec))

    async def start_speaker_separation(self, voice_id: str, sample_id: str) -> None:
        """Start speaker separation for a sample (retried only when the request surely never left)."""
        spec = _requests.build_start_speaker_separation(voice_id, sample_id, self._api_key)
        await self._execute(spec, self._json_sink(_responses.start_separation_from_json, spec))

    async def wait_for_separation(
        self,
        voice_id: str,
        sample_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        start: bool = False,
    ) -> SeparationStatus:
        """Poll until separation is ``completed`` (returned) or ``failed`` (``SeparationFailedError``).

        If the first poll finds ``not_started``: with ``start=True`` the separation is started
        (:meth:`start_speaker_separation`) and waited for; otherwise ``SeparationNotStartedError`` is
        raised at once. ``not_started`` at a later poll is waited through, like ``pending``.
        Raises ``SeparationTimeoutError`` when ``timeout`` seconds pass first: it bounds everything the
        call does (each request is cut to the time left, and no retry wait may pass it), give or
        take one poll's request. ``total_timeout``, if set and shorter, raises ``APITimeoutError`` instead.
        """
        poller = SeparationPoller(
            voice_id, sample_id, timeout=timeout, poll_interval=poll_interval, start=start, clock=self._clock
        )
        spec = _requests.build_get_separation_status(voice_id, sample_id, self._api_key)
        call_deadline = self._call_deadline(spec, self._clock())
        deadline = _deadline.earliest(call_deadline, poller.deadline())
        # the first poll (and a start it calls for) is always sent, even with timeout=0
        this_poll = _deadline.earliest(call_deadline, poller.deadline(first_poll_from=self._clock()))
        parse = self._json_sink(_responses.separation_status_from_json, spec)
        while True:
            status = await self._execute(spec, parse, this_poll)
            if poller.should_start(status):
                start_spec = _requests.build_start_speaker_separation(voice_id, sample_id, self._api_key)
                await self._execute(
                    start_spec, self._json_sink(_responses.start_separation_from_json, start_spec), this_poll
                )
            this_poll = deadline
            wait = poller.next_wait(status)
            if wait is None:
                return status
            await self._sleep(deadline.wait(wait, self._clock()) if deadline is not None else wait)

    async def download_all_speakers(
        self,
        voice_id: str,
        sample_id: str,
        directory: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        concurrency: int = 4,
        progress: Callable[[str, int, bool], None] | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
    ) -> dict[str, Path]:
        """Download every speaker of a completed separation into ``directory``; returns ``{speaker_id: path}``.

        As the sync client's method, with at most ``concurrency`` downloads in flight as tasks (bounded
        by a semaphore); ``progress`` is called on the event loop. Cancelling the call cancels the
        downloads under way, which leave nothing behind.
        """
        check_concurrency(concurrency)
        folder, created = await _make_off_loop(
            lambda: prepare_download_directory(directory), lambda made: made[1].remove_empty()
        )
        try:
            status = await self.get_separation_status(voice_id, sample_id)
            downloads = SpeakerDownloads(
                status, folder, overwrite=overwrite, progress=progress, on_progress=on_progress
            )

            async def fetch(speaker_id: str) -> Path:
                spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
                file = await _make_off_loop(lambda: downloads.open_file(speaker_id), AtomicFile.abort)
                return await self._download(
                    spec, file, downloads.sink_factory(speaker_id, file, self.max_response_bytes)
                )

            return await downloads.run_in_tasks(fetch, concurrency)
        finally:
            if created.paths:  # the folders it created, if no file was written into them
                await asyncio.to_thread(created.remove_empty)

    # -- the I/O loop --

    async def _download(
        self, spec: _requests.RequestSpec, file: AtomicFile, make_sink: Callable[[], AudioFileSink]
    ) -> Path:
        """Fill ``file`` from the response and commit it; fsync, rename and cleanup run off the event loop."""
        try:
            final = await self._execute(spec, make_sink)
            return await asyncio.to_thread(file.commit, final)
        finally:
            if not file.done:  # an error or a cancellation: discard it (waits for a commit under way)
                await asyncio.to_thread(file.abort)

    async def _execute(
        self,
        spec: _requests.RequestSpec,
        make_sink: Callable[[], BodySink[T]],
        deadline: _deadline.Deadline | None = None,
    ) -> T:
        """One public call's requests: the first try and its retries, within ``deadline`` (else ``total_timeout``)."""
        if deadline is None:
            deadline = self._call_deadline(spec, self._clock())
        retries = 0
        while True:
            try:
                return await self._attempt(spec, make_sink, deadline)
            except SpeakerAudioError as error:
                delay = self.retry_policy.next_delay(spec, error, retries)
                if deadline is not None:
                    deadline.after_failure(error, delay, self._clock())
                if delay is None:
                    raise
                logger.info(_retry.describe_retry(spec, retries + 1, delay, error))
                retries += 1
                await self._sleep(delay)

    async def _attempt(
        self, spec: _requests.RequestSpec, make_sink: Callable[[], BodySink[T]], deadline: _deadline.Deadline | None
    ) -> T:
        timeout = deadline.clip(self.timeout, self._clock()) if deadline is not None else self.timeout
        request = self._http.build_request(
            spec.method, self.base_url + spec.path, headers=spec.headers, timeout=timeout
        )
        request.headers["accept-encoding"] = _inflate.ACCEPT_ENCODING  # exactly what _inflate decodes
        sink: BodySink[T] | None = None
        try:
            auth = spec.auth or httpx.USE_CLIENT_DEFAULT  # the key is written into the request only as it is sent
            response = _inflate.unread(await self._http.send(request, stream=True, follow_redirects=False, auth=auth))
            try:
                if not response.is_success:
                    body = await _read_error_body(response, self._between_chunks(deadline))
                    raise _http_errors.status_error(response, body)
                inflater = _inflate.inflater_for(response.headers)
                sink = make_sink()
                sink.expected_body_bytes = expected_body_bytes(response.headers)
                if inflater is None:  # the identity path: chunks go to the sink as they arrive
                    async for chunk in response.aiter_raw():
                        if deadline is not None:
                            deadline.check(self._clock(), "while receiving the response")
                        sink.feed(chunk)
                else:
                    async for chunk in response.aiter_raw():
                        if deadline is not None:
                            deadline.check(self._clock(), "while receiving the response")
                        sink.feed_compressed(chunk, inflater)
                    inflater.finish()
                result = sink.finish()
                sink = None
                return result
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            # the chained httpx error keeps its type and message, not its frames (which hold the sent headers)
            raise _http_errors.transport_error(exc, spec, self._origin) from _http_errors.detach_tracebacks(exc)
        finally:
            if sink is not None:
                sink.abort()

    def _between_chunks(self, deadline: _deadline.Deadline | None) -> Callable[[], None]:
        def check() -> None:
            if deadline is not None:
                deadline.check(self._clock(), "while receiving the error response")

        return check


async def _make_off_loop(make: Callable[[], T], discard: Callable[[T], None]) -> T:
    """``make()`` on a worker thread; if the caller is cancelled meanwhile, what it made is discarded.

    The thread cannot be stopped: without this, a download cancelled while its temporary file (or
    folder) was being created would leave that file behind.
    """
    work = asyncio.ensure_future(asyncio.to_thread(make))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:

        def discard_when_made(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                discard(done.result())

        work.add_done_callback(discard_when_made)
        raise


async def _read_error_body(response: httpx.Response, between_chunks: Callable[[], None]) -> bytes:
    reader = _http_errors.ErrorBodyReader(response.headers)
    if reader.wants_more:
        async for chunk in response.aiter_raw():
            between_chunks()
            if not reader.feed(chunk):
                break
    return bytes(reader.body)

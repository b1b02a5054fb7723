"""The async client, and the source of the sync one: ``scripts/unasync.py`` writes ``_client.py`` from this file.

Everything the two clients share is written here once; what differs (sleeping, file work off the event
loop, tasks against threads) lives in ``_async_io`` and its twin ``_sync_io``.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Self, TypeVar, Unpack

import httpx

from speaker_audio import _async_io, _deadline, _exchange, _http_errors, _inflate, _retry, _settings
from speaker_audio._client_settings import CallOptions, CallSettings, ClientSettings, WaitOptions
from speaker_audio._connections import EndOfBody, forget_key, forget_keys_in_frames
from speaker_audio._downloads import (
    SpeakerDownloads,
    open_download_file,
    prepare_download_directory,
    raise_if_cancelled,
    warn_if_progress,
)
from speaker_audio._exchange import Exchange, RawResponse
from speaker_audio._files import AtomicFile
from speaker_audio._models import DownloadProgress, ResponseMeta, SampleAudio, SeparationStatus, SpeakerAudio
from speaker_audio._operations import SAMPLE_AUDIO, SEPARATION_STATUS, SPEAKER_AUDIO, START_SEPARATION, Operation
from speaker_audio._polling import SeparationPoller
from speaker_audio._pool import ForkSafePool
from speaker_audio._requests import RequestSpec
from speaker_audio._sinks import AudioFileSink, AudioMemorySink, AudioStreamSink, BodySink, expected_body_bytes
from speaker_audio._version import USER_AGENT
from speaker_audio.errors import SpeakerAudioError

T = TypeVar("T")
P = ParamSpec("P")
logger = logging.getLogger("speaker_audio")


class AsyncSpeakerAudioClient(ClientSettings):
    """Async client for ElevenLabs' PVC speaker-separation endpoints.

    Args:
        api_key: the ``xi-api-key``; defaults to ``ELEVENLABS_API_KEY``. With neither, no key header is sent.
        base_url: defaults to ``ELEVENLABS_BASE_URL``, else ``https://api.elevenlabs.io``.
        timeout: seconds (or an ``httpx.Timeout``) for connecting and for each read/write.
        max_retries: retries after the first try (0 disables); see the README's "Errors and retries".
        http_client: your own ``httpx.AsyncClient`` (proxies, mounts); never closed by us. Our ``timeout``
            applies to its requests, and redirects are never followed.
        max_response_bytes: a response body larger than this raises ``ResponseTooLargeError``. A compressed
            body counts with its inflated size, which is checked as it is inflated.
        max_json_bytes: a status or start-separation (JSON) body larger than this (16 MiB by default)
            raises ``ResponseTooLargeError``; ``max_response_bytes`` is the limit for audio.
        total_timeout: seconds that one whole call may take, retries and their waits included (each request's
            timeouts are cut to the time left); past it, ``APITimeoutError``. ``None`` (default): no such bound.
            ``download_all_speakers`` applies it to each of its requests, not to the whole run.
        allow_insecure_http: send the key over plain ``http://`` to a host that is not loopback. Without it
            such a ``base_url`` with a key raises ``InsecureTransportError`` (a ``ValueError``) here.
        default_headers: headers sent on every request; our ``User-Agent`` stays unless they set one. The key
            header cannot be set or removed this way (``ValueError``).
        strict: ``True`` refuses any response that differs from the pinned spec (``ResponseValidationError``);
            ``False`` (default) accepts what upstream only added (an unknown enum value, unknown members) and
            reports it: a WARNING on the ``speaker_audio`` logger and ``on_drift``, once per distinct difference.
        on_drift: ``on_drift(SpecDrift)``, called once per distinct difference from the pinned spec.

    Every operation method also takes the per-call options of :class:`CallOptions` (``timeout=``,
    ``total_timeout=``, ``max_retries=``, ``extra_headers=``, ``extra_query=``), keyword-only; they apply to
    every request of that call, retries and polls included.

    Attributes:
        base_url: the base URL in use, without a trailing slash.
        timeout: the ``httpx.Timeout`` of every request.
        max_retries: retries after the first try.
        retry_policy: when and how long to wait before a retry (its back-off and ``Retry-After`` limits).
        max_response_bytes: the largest response body accepted.
        total_timeout: the bound on one whole call, or ``None``.
        max_json_bytes: the largest JSON (status, start) response body accepted.
        default_headers: the headers sent on every request (``default_headers=``), beside our ``User-Agent``
            unless they set one.
        strict: true when any difference from the pinned spec in a response raises ``ResponseValidationError``.
        on_drift: called once per distinct difference from the pinned spec that this client sees (``strict=False``).

    Example::

        async with AsyncSpeakerAudioClient() as client:
            audio = await client.get_speaker_audio("voice", "sample", "speaker")
            audio.save("speaker.mp3")
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
        default_headers: Mapping[str, str] | None = None,
        strict: bool = False,
        on_drift: Callable[[Any], None] | None = None,
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
            default_headers=default_headers,
            strict=strict,
            on_drift=on_drift,
        )
        self._owns_http_client = http_client is None

        def make_pool() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                headers={"user-agent": USER_AGENT, "accept-encoding": _inflate.ACCEPT_ENCODING},
                mounts=self._direct_mounts(),
            )

        # a forked child makes its own pool; a caller's http_client used there raises ForkedClientError
        self._pool = ForkSafePool(http_client or make_pool(), None if http_client is not None else make_pool)
        # set on each request through an injected client: our Accept-Encoding, and our User-Agent over httpx's own
        self._request_headers: dict[str, str] = {}
        if http_client is not None:
            default_agent = self._http.headers.get("user-agent", "").startswith("python-httpx/")
            self._request_headers = {"user-agent": USER_AGENT} if default_agent else {}
            self._request_headers["accept-encoding"] = _inflate.ACCEPT_ENCODING
        self._sleep: _async_io.Sleep = _async_io.sleep
        self._clock: Callable[[], float] = time.monotonic

    @property
    def with_raw_response(self) -> AsyncRawResponses:
        """Each operation method, returning a ``RawResponse`` (status, headers, request id, attempts, time) whose
        ``parse()`` gives what the method returns: ``client.with_raw_response.get_speaker_audio(...)``."""
        return AsyncRawResponses(self)

    # -- lifecycle --

    @property
    def _http(self) -> httpx.AsyncClient:
        """The connection pool of this process (see ``ForkSafePool``)."""
        return self._pool.get()

    async def aclose(self) -> None:
        """Close the connection pool (not a client passed in as ``http_client``)."""
        pool = self._pool.to_close() if self._owns_http_client else None
        if pool is not None:
            await pool.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- operations --

    async def get_speaker_audio(
        self, voice_id: str, sample_id: str, speaker_id: str, **options: Unpack[CallOptions]
    ) -> SpeakerAudio:
        """Fetch one speaker's separated audio, decoded and validated.

        Raises:
            InvalidIdError: an unusable id, before any I/O.
            APIStatusError: an error status (a subclass per status).
            ResponseValidationError: a malformed 2xx body (``AudioDecodeError`` for invalid base64).
            APIConnectionError: the network failed after all retries (``APITimeoutError`` for timeouts).
        """
        call = self._call(options)
        spec = self._request(SPEAKER_AUDIO, call, voice_id=voice_id, sample_id=sample_id, speaker_id=speaker_id)
        return await self._execute(
            spec, lambda: AudioMemorySink(self.max_response_bytes, SPEAKER_AUDIO, self._checks), call=call
        )

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
        **options: Unpack[CallOptions],
    ) -> Path:
        """Stream one speaker's audio to ``dest`` in bounded memory; returns the path written.

        The file appears atomically and only once the whole response was received and decoded; on any
        error nothing is left behind. Missing folders are created, and removed again if the download fails.
        The async client does the blocking file work (folders, the temporary file, fsync, rename) on a
        worker thread, never on the event loop.

        Args:
            dest: a file path, or a directory (an existing one, or any path ending with ``/``): the file is
                then ``<speaker_id><ext>`` inside it, the id made safe as a file name.
            overwrite: replace an existing file.
            progress: deprecated (a ``DeprecationWarning``): use ``on_progress``. ``progress(audio_bytes)`` after
                each chunk of the body, with the decoded audio bytes written so far (from 0 again on a retry).
            on_progress: ``on_progress(DownloadProgress)`` likewise, with the expected total (an estimate from
                ``Content-Length``, when the server sent one), and once more with ``done=True``, the exact
                size, the media type and the duration.

        Raises:
            FileExistsError: before any request, if ``dest`` exists and ``overwrite`` is false, or is a FIFO,
                device or socket (never replaced).
            OSError: before any request, for a folder that cannot be created or written
                (``NotADirectoryError``, ``PermissionError``, ...).
            SpeakerAudioError: as :meth:`get_speaker_audio`.
        """
        call = self._call(options)
        warn_if_progress(progress)
        spec = self._request(SPEAKER_AUDIO, call, voice_id=voice_id, sample_id=sample_id, speaker_id=speaker_id)
        return await self._download_audio(spec, call, SPEAKER_AUDIO, dest, speaker_id, overwrite, progress, on_progress)

    async def stream_speaker_audio(
        self,
        voice_id: str,
        sample_id: str,
        speaker_id: str,
        write: Callable[[bytes], object],
        **options: Unpack[CallOptions],
    ) -> SpeakerAudio:
        """Hand one speaker's decoded audio to ``write`` piece by piece as it arrives (e.g. a pipe's ``write``).

        Memory stays bounded and nothing is held. What was written cannot be taken back: a request is retried
        only until the first audio byte was handed over, and a failure after it leaves a partial stream.
        Returns the validated result with its media type and duration, and empty ``data``.

        Raises:
            SpeakerAudioError: as :meth:`get_speaker_audio`.
        """
        call = self._call(options)
        spec = self._request(SPEAKER_AUDIO, call, voice_id=voice_id, sample_id=sample_id, speaker_id=speaker_id)
        return await self._stream_audio(spec, call, SPEAKER_AUDIO, write)

    async def get_sample_audio(
        self,
        voice_id: str,
        sample_id: str,
        *,
        remove_background_noise: bool = False,
        **options: Unpack[CallOptions],
    ) -> SampleAudio:
        """Fetch a voice sample's own audio (``GET …/samples/{sample_id}/audio``), decoded and validated.

        Args:
            remove_background_noise: ask the server for the audio with background noise removed.

        Raises:
            TypeError: a non-bool ``remove_background_noise``.
            SpeakerAudioError: as :meth:`get_speaker_audio`.
        """
        call = self._call(options)
        spec = self._sample_request(call, voice_id, sample_id, remove_background_noise)
        return await self._execute(
            spec, lambda: AudioMemorySink(self.max_response_bytes, SAMPLE_AUDIO, self._checks), call=call
        )

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
        **options: Unpack[CallOptions],
    ) -> Path:
        """Stream a voice sample's own audio to ``dest`` in bounded memory; returns the path written.

        As :meth:`download_speaker_audio` (atomic, missing folders created, ``FileExistsError`` before any
        request, the same ``progress``/``on_progress``); a directory ``dest`` gets ``<sample_id><ext>``
        (the id made safe). ``remove_background_noise`` as in :meth:`get_sample_audio`.
        """
        call = self._call(options)
        warn_if_progress(progress)
        spec = self._sample_request(call, voice_id, sample_id, remove_background_noise)
        return await self._download_audio(spec, call, SAMPLE_AUDIO, dest, sample_id, overwrite, progress, on_progress)

    async def stream_sample_audio(
        self,
        voice_id: str,
        sample_id: str,
        write: Callable[[bytes], object],
        *,
        remove_background_noise: bool = False,
        **options: Unpack[CallOptions],
    ) -> SampleAudio:
        """Hand a voice sample's decoded audio to ``write`` piece by piece, as :meth:`stream_speaker_audio`."""
        call = self._call(options)
        spec = self._sample_request(call, voice_id, sample_id, remove_background_noise)
        return await self._stream_audio(spec, call, SAMPLE_AUDIO, write)

    async def get_separation_status(
        self, voice_id: str, sample_id: str, **options: Unpack[CallOptions]
    ) -> SeparationStatus:
        """The speaker-separation state of a sample, with its speakers once completed.

        Raises:
            SpeakerAudioError: as :meth:`get_speaker_audio`.
        """
        call = self._call(options)
        spec = self._request(SEPARATION_STATUS, call, voice_id=voice_id, sample_id=sample_id)
        return await self._execute(spec, self._json_sink(SEPARATION_STATUS, spec), call=call)

    async def start_speaker_separation(self, voice_id: str, sample_id: str, **options: Unpack[CallOptions]) -> None:
        """Start speaker separation for a sample (retried only when the request surely never left).

        Raises:
            SpeakerAudioError: as :meth:`get_speaker_audio`.
        """
        call = self._call(options)
        spec = self._request(START_SEPARATION, call, voice_id=voice_id, sample_id=sample_id)
        await self._execute(spec, self._json_sink(START_SEPARATION, spec), call=call)

    async def wait_for_separation(
        self,
        voice_id: str,
        sample_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        start: bool = False,
        after_start: bool = False,
        on_poll: Callable[[SeparationStatus], None] | None = None,
        request_timeout: float | httpx.Timeout | None = None,
        **options: Unpack[WaitOptions],
    ) -> SeparationStatus:
        """Poll until separation is ``completed`` (returned) or ``failed`` (``SeparationFailedError``).

        ``not_started`` at a later poll is waited through, like ``pending``.

        Args:
            timeout: seconds the whole wait may take: it bounds everything the call does (each request is cut
                to the time left, and no retry wait may pass it), give or take one poll's request.
            poll_interval: seconds between polls.
            start: if the first poll finds ``not_started``, start the separation
                (:meth:`start_speaker_separation`) and wait for it.
            after_start: the caller has just started the separation itself: a first ``not_started`` (a start
                the server does not show yet) is waited through.
            on_poll: ``on_poll(status)`` after each poll (and after the start it called for), e.g. to show
                progress.
            request_timeout: the connect/read timeout of each poll (``None``: the client's).
            options: the other per-call options (:class:`WaitOptions`).

        Raises:
            SeparationNotStartedError: the first poll found ``not_started``, and neither ``start`` nor
                ``after_start`` was given.
            SeparationFailedError: the separation failed.
            SeparationTimeoutError: ``timeout`` passed first (``total_timeout``, if set and shorter, raises
                ``APITimeoutError`` instead).
            SpeakerAudioError: as :meth:`get_speaker_audio`.
        """
        poller = SeparationPoller(
            voice_id,
            sample_id,
            timeout=timeout,
            poll_interval=poll_interval,
            start=start,
            started=after_start,
            clock=self._clock,
        )
        call = self._call(options, request_timeout)
        spec = self._request(SEPARATION_STATUS, call, voice_id=voice_id, sample_id=sample_id)
        call_deadline = self._call_deadline(spec, self._clock(), call)
        deadline = _deadline.earliest(call_deadline, poller.deadline())
        # the first poll (and a start it calls for) is always sent, even with timeout=0
        this_poll = _deadline.earliest(call_deadline, poller.deadline(first_poll_from=self._clock()))
        parse = self._json_sink(SEPARATION_STATUS, spec)
        while True:
            status = await self._execute(spec, parse, this_poll, call=call)
            if poller.should_start(status):
                start_spec = self._request(START_SEPARATION, call, voice_id=voice_id, sample_id=sample_id)
                start_sink = self._json_sink(START_SEPARATION, start_spec)
                await self._execute(start_spec, start_sink, this_poll, call=call)
            this_poll = deadline
            if on_poll is not None:
                on_poll(status)
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
        **options: Unpack[CallOptions],
    ) -> dict[str, Path]:
        """Download every speaker of a completed separation into ``directory``; returns ``{speaker_id: path}``.

        Each speaker is streamed and written atomically like :meth:`download_speaker_audio`, at most
        ``concurrency`` at a time (threads for the sync client, tasks for the async one). File names are
        ``<speaker_id><ext>`` with the id made safe: they never leave ``directory`` and never share a file
        (ids that would collide, e.g. by case, get a short hash of the id appended). ``directory`` and its
        missing parents are created, and removed again if the call writes no file into them. A speaker whose
        id cannot be requested (``InvalidIdError``) is skipped and reported once the others are done.
        Cancelling the call (an interrupt, or cancelling the task) stops the downloads under way, which leave
        nothing behind.

        Args:
            overwrite: replace existing files.
            concurrency: downloads in flight at most.
            progress: deprecated (a ``DeprecationWarning``): use ``on_progress``. ``progress(speaker_id,
                audio_bytes, done)`` as data arrives (from the worker threads of the sync client).
            on_progress: ``on_progress(DownloadProgress)`` likewise, with ``speaker_id`` set and the expected sizes.

        Raises:
            ValueError: before any request, if ``concurrency`` < 1.
            OSError: before any request, for a ``directory`` that cannot be created or written.
            SeparationNotCompletedError: before any audio is requested, unless the separation is completed
                (``SeparationFailedError`` if it failed).
            FileExistsError: before any audio is requested, if a speaker's file exists and ``overwrite`` is false.
            SpeakerDownloadError: names the first speaker that failed (cause in ``__cause__``, files already
                written in ``.completed``); no new download starts after a failure.
        """
        _settings.check_int("concurrency", concurrency, 1)
        warn_if_progress(progress)
        call = self._call(options)
        folder, created = await _async_io.make_off_loop(
            lambda: prepare_download_directory(directory), lambda made: made[1].remove_empty()
        )
        try:
            status = await self.get_separation_status(voice_id, sample_id, **options)
            # the plan checks every speaker's file names (about 20 file-system calls each): off the event loop
            downloads = await _async_io.run_blocking(
                lambda: SpeakerDownloads(
                    status, folder, overwrite=overwrite, progress=progress, on_progress=on_progress
                )
            )

            async def fetch(speaker_id: str) -> Path:
                spec = self._request(SPEAKER_AUDIO, call, voice_id=voice_id, sample_id=sample_id, speaker_id=speaker_id)
                # the file is made before the request: a file-system error costs none
                file = await _async_io.make_off_loop(lambda: downloads.open_file(speaker_id), AtomicFile.abort)
                make_sink = downloads.sink_factory(speaker_id, file, self.max_response_bytes, self._checks)
                return await self._download(spec, call, file, make_sink, cancel=downloads.cancel_event)

            return await _async_io.run_downloads(downloads, fetch, concurrency)
        finally:
            if created.paths:  # the folders it created, if no file was written into them
                await _async_io.run_blocking(created.remove_empty)

    # -- requests --

    def _request(self, operation: Operation[Any], call: CallSettings, **ids: str) -> RequestSpec:
        return call.apply(operation.request(self._api_key, ids, {}))

    def _sample_request(
        self, call: CallSettings, voice_id: str, sample_id: str, remove_background_noise: bool
    ) -> RequestSpec:
        if not isinstance(remove_background_noise, bool):
            raise TypeError(f"remove_background_noise must be a bool, got {type(remove_background_noise).__name__}")
        ids = {"voice_id": voice_id, "sample_id": sample_id}
        return call.apply(
            SAMPLE_AUDIO.request(self._api_key, ids, {"remove_background_noise": remove_background_noise})
        )

    # -- the I/O loop --

    async def _download_audio(
        self,
        spec: RequestSpec,
        call: CallSettings,
        operation: Operation[Any],
        dest: str | os.PathLike[str],
        name: str,
        overwrite: bool,
        progress: Callable[[int], None] | None,
        on_progress: Callable[[DownloadProgress], None] | None,
    ) -> Path:
        file, stem = await _async_io.make_off_loop(
            lambda: open_download_file(dest, name, overwrite=overwrite), lambda made: made[0].abort()
        )

        def make_sink() -> AudioFileSink:
            return AudioFileSink(
                file,
                max_bytes=self.max_response_bytes,
                stem=stem,
                on_received=progress,
                on_progress=on_progress,
                route=operation,
                checks=self._checks,
            )

        return await self._download(spec, call, file, make_sink)

    async def _download(
        self,
        spec: RequestSpec,
        call: CallSettings,
        file: AtomicFile,
        make_sink: Callable[[], AudioFileSink],
        *,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Fill ``file`` from the response and commit it; fsync, rename and cleanup run off the event loop."""
        try:
            final = await self._execute(spec, make_sink, call=call, cancel=cancel)
            return await _async_io.run_blocking(lambda: file.commit(final))
        finally:
            if not file.done:  # an error or a cancellation: discard it (waits for a commit under way)
                await _async_io.run_blocking(file.abort)

    async def _stream_audio(
        self, spec: RequestSpec, call: CallSettings, operation: Operation[T], write: Callable[[bytes], object]
    ) -> T:
        sinks: list[AudioStreamSink[T]] = []

        def make_sink() -> AudioStreamSink[T]:
            sinks.append(AudioStreamSink(write, self.max_response_bytes, operation, self._checks))
            return sinks[-1]

        return await self._execute(
            spec, make_sink, call=call, may_retry=lambda: not any(sink.written for sink in sinks)
        )

    async def _execute(
        self,
        spec: RequestSpec,
        make_sink: Callable[[], BodySink[T]],
        deadline: _deadline.Deadline | None = None,
        *,
        call: CallSettings | None = None,
        cancel: threading.Event | None = None,
        may_retry: Callable[[], bool] | None = None,
    ) -> T:
        """One public call's requests: the first try and its retries, within ``deadline`` (else ``total_timeout``).

        ``cancel``: no attempt (nor retry) starts once it is set. ``may_retry()``: false once a retry would
        repeat what cannot be taken back.
        """
        if call is None:
            call = self._call({})
        if deadline is None:
            deadline = self._call_deadline(spec, self._clock(), call)
        exchange = _exchange.current()
        retries = 0
        while True:
            if cancel is not None:
                raise_if_cancelled(cancel, f"{spec.method} {spec.path}")
            if exchange is not None:
                exchange.attempts += 1
            http = self._http
            try:
                if deadline is None:
                    return await self._attempt(http, spec, make_sink, None, call, exchange, _deadline.UNGUARDED)
                async with _async_io.DeadlineGuard(deadline, self._clock, http) as guard:
                    return await self._attempt(http, spec, make_sink, deadline, call, exchange, guard)
            except SpeakerAudioError as error:
                delay = call.retry_policy.next_delay(spec, error, retries)
                if may_retry is not None and not may_retry():
                    delay = None
                if deadline is not None:
                    deadline.after_failure(error, delay, self._clock())
                if delay is None:
                    raise
                logger.info(_retry.describe_retry(spec, retries + 1, delay, error))
                retries += 1
                await self._sleep(delay)

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        spec: RequestSpec,
        make_sink: Callable[[], BodySink[T]],
        deadline: _deadline.Deadline | None,
        call: CallSettings,
        exchange: Exchange | None,
        guard: _async_io.DeadlineGuard | _deadline.Unguarded,
    ) -> T:
        """One request (through ``http``, the pool) and its response; ``guard`` ends it at ``deadline``, response
        head included."""
        timeout = deadline.clip(call.timeout, self._clock()) if deadline is not None else call.timeout
        # Accept-Encoding is exactly what _inflate decodes: the pool's, or _request_headers' (check_headers keeps the
        # caller's out of default_headers and extra_headers)
        headers = {**self._request_headers, **self.default_headers, **spec.headers}
        request = http.build_request(spec.method, self.base_url + spec.path, headers=headers, timeout=timeout)
        guard.watch(request)
        sink: BodySink[T] | None = None
        try:
            auth = spec.auth or httpx.USE_CLIENT_DEFAULT  # the key is written into the request only as it is sent
            try:
                sent = await http.send(request, stream=True, follow_redirects=False, auth=auth)
            except BaseException as exc:
                if not isinstance(exc, httpx.HTTPError):  # a caller's event hook raised its own error in httpx
                    forget_keys_in_frames(exc, spec.auth)
                raise
            forget_key(sent, spec.auth)  # before anything else runs: an error from here on may hold the response
            response = _inflate.unread(sent)
            try:
                if exchange is not None:
                    exchange.received(response, request)
                guard.started(response)
                # at the body's end, before the connection is released: the guard lets go of it, and a connection
                # holding bytes past the body is closed rather than reused (they would answer the next request)
                response.stream = EndOfBody(response.stream, guard.release)
                if not response.is_success:
                    body = await _read_error_body(response, self._between_chunks(deadline))
                    raise _http_errors.status_error(response, body)
                inflater = _inflate.inflater_for(response.headers)
                sink = make_sink()
                sink.expected_body_bytes = expected_body_bytes(response.headers, inflater)
                sink.meta = ResponseMeta(response.headers, _http_errors.request_id_of(response.headers), spec.ids)
                async for chunk in response.aiter_raw():
                    if deadline is not None:
                        deadline.check(self._clock(), "while receiving the response")
                    if inflater is None:  # the identity path: chunks go to the sink as they arrive
                        sink.feed(chunk)
                    else:
                        sink.feed_compressed(chunk, inflater)
                if inflater is not None:
                    inflater.finish()
                # a large JSON body is parsed off the event loop
                result = await _async_io.finish_body(sink)
                sink = None
                return result
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.HTTPStatusError):  # a caller's event hook raised for the response's status
                forget_key(exc.response, spec.auth)
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


async def _read_error_body(response: httpx.Response, between_chunks: Callable[[], None]) -> bytes:
    reader = _http_errors.ErrorBodyReader(response.headers)
    if reader.wants_more:
        async for chunk in response.aiter_raw():
            between_chunks()
            if not reader.feed(chunk):
                break
    return bytes(reader.body)


_Raw = Callable[..., Awaitable[RawResponse[T]]]  # an operation method that returns a RawResponse of its result


class AsyncRawResponses:
    """``client.with_raw_response``: every operation method of the client, returning a ``RawResponse`` of what the
    method returns (for ``download_all_speakers``: of its status request). Each takes the method's arguments."""

    get_speaker_audio: _Raw[SpeakerAudio]
    download_speaker_audio: _Raw[Path]
    stream_speaker_audio: _Raw[SpeakerAudio]
    get_sample_audio: _Raw[SampleAudio]
    download_sample_audio: _Raw[Path]
    stream_sample_audio: _Raw[SampleAudio]
    get_separation_status: _Raw[SeparationStatus]
    start_speaker_separation: _Raw[None]
    wait_for_separation: _Raw[SeparationStatus]
    download_all_speakers: _Raw[dict[str, Path]]

    def __init__(self, client: AsyncSpeakerAudioClient) -> None:
        for name in AsyncRawResponses.__annotations__:  # the methods named above
            setattr(self, name, _raw(getattr(client, name)))


def _raw(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[RawResponse[T]]]:
    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> RawResponse[T]:
        exchange, token = _exchange.start_recording()
        try:
            result = await method(*args, **kwargs)
        finally:
            _exchange.stop_recording(token)
        return exchange.raw(result)

    return call

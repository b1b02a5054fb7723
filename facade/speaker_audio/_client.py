"""The synchronous client: a thin I/O shell around the sans-I/O core."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import httpx

from speaker_audio import _deadline, _http_errors, _inflate, _requests, _responses, _retry, _settings
from speaker_audio._base import ClientSettings
from speaker_audio._body import AudioFileSink, AudioMemorySink, AudioStreamSink, BodySink, expected_body_bytes
from speaker_audio._models import DownloadProgress, SampleAudio, SeparationStatus, SpeakerAudio
from speaker_audio._responses import SAMPLE_AUDIO, SPEAKER_AUDIO, AudioResponse
from speaker_audio._version import USER_AGENT
from speaker_audio._workflow import (
    SeparationPoller,
    SpeakerDownloads,
    check_concurrency,
    open_download_file,
    prepare_download_directory,
    raise_if_cancelled,
)
from speaker_audio.errors import SpeakerAudioError

T = TypeVar("T")
logger = logging.getLogger("speaker_audio")

__all__ = ["SpeakerAudioClient", "get_speaker_audio"]


class SpeakerAudioClient(ClientSettings):
    """Client for ElevenLabs' PVC speaker-separation endpoints.

    Args:
        api_key: the ``xi-api-key``; defaults to ``ELEVENLABS_API_KEY``. With neither, no key header is sent.
        base_url: defaults to ``ELEVENLABS_BASE_URL``, else ``https://api.elevenlabs.io``.
        timeout: seconds (or an ``httpx.Timeout``) for connecting and for each read/write.
        max_retries: retries after the first try (0 disables); see the README's "Errors and retries".
        http_client: your own ``httpx.Client`` (proxies, mounts); never closed by us. Our ``timeout`` applies
            to its requests, and redirects are never followed.
        max_response_bytes: a response body larger than this raises ``ResponseTooLargeError``. A compressed
            body counts with its inflated size, which is checked as it is inflated.
        max_json_bytes: a status or start-separation (JSON) body larger than this (16 MiB by default)
            raises ``ResponseTooLargeError``; ``max_response_bytes`` is the limit for audio.
        total_timeout: seconds that one whole call may take, retries and their waits included (each request's
            timeouts are cut to the time left); past it, ``APITimeoutError``. ``None`` (default): no such bound.
            ``download_all_speakers`` applies it to each of its requests, not to the whole run.
        allow_insecure_http: send the key over plain ``http://`` to a host that is not loopback. Without it
            such a ``base_url`` with a key raises ``InsecureTransportError`` (a ``ValueError``) here.

    Attributes:
        base_url: the base URL in use, without a trailing slash.
        timeout: the ``httpx.Timeout`` of every request.
        max_retries: retries after the first try.
        retry_policy: when and how long to wait before a retry (its back-off and ``Retry-After`` limits).
        max_response_bytes: the largest response body accepted.
        total_timeout: the bound on one whole call, or ``None``.
        max_json_bytes: the largest JSON (status, start) response body accepted.

    Example::

        with SpeakerAudioClient() as client:
            audio = client.get_speaker_audio("voice", "sample", "speaker")
            audio.save("speaker.mp3")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = _settings.DEFAULT_TIMEOUT,
        max_retries: int = _settings.DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
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
        self._http = http_client or httpx.Client(
            timeout=self.timeout,
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            mounts=self._direct_mounts(),
        )
        self._sleep: Callable[[float], None] = time.sleep
        self._clock: Callable[[], float] = time.monotonic

    # -- lifecycle --

    def close(self) -> None:
        """Close the connection pool (not a client passed in as ``http_client``)."""
        if self._owns_http_client:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- operations --

    def get_speaker_audio(self, voice_id: str, sample_id: str, speaker_id: str) -> SpeakerAudio:
        """Fetch one speaker's separated audio, decoded and validated.

        Raises ``InvalidIdError`` before any I/O for an unusable id; ``APIStatusError`` subclasses for
        error statuses; ``ResponseValidationError``/``AudioDecodeError`` for a malformed 2xx body;
        ``APIConnectionError``/``APITimeoutError`` when the network fails after all retries.
        """
        spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
        return self._execute(spec, lambda: AudioMemorySink(self.max_response_bytes))

    def download_speaker_audio(
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
        """Stream one speaker's audio to ``dest`` in bounded memory; returns the path written.

        ``dest`` is a file path, or a directory (an existing one, or any path ending with ``/``): the
        file is then ``<speaker_id><ext>`` inside it, the id made safe as a file name. Missing folders
        are created, and removed again if the download fails. The file appears atomically and only
        once the whole response was received and decoded; on any error nothing is left behind.
        ``progress(audio_bytes)``, if given, is called after each chunk of the response body with the
        decoded audio bytes written so far (it starts again from 0 if the request is retried).
        ``on_progress(DownloadProgress)`` is called likewise, with the expected total (an estimate from
        ``Content-Length``, when the server sent one) and once more with ``done=True`` and the exact size.
        Raises, before any request: ``FileExistsError`` if ``dest`` exists and ``overwrite`` is false
        or is a FIFO, device or socket (never replaced);
        the ``OSError`` of a folder that cannot be created or written (``NotADirectoryError``,
        ``PermissionError``, ...). Then the errors of :meth:`get_speaker_audio`.
        """
        return self._download_speaker_audio(
            voice_id, sample_id, speaker_id, dest, overwrite=overwrite, progress=progress, on_progress=on_progress
        )

    def _download_speaker_audio(
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
        """:meth:`download_speaker_audio`; ``on_audio`` gets the server's media type and duration (the CLI)."""
        spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
        return self._download(
            spec, SPEAKER_AUDIO, dest, speaker_id, overwrite, progress, on_progress, on_audio=on_audio
        )

    def get_sample_audio(self, voice_id: str, sample_id: str, *, remove_background_noise: bool = False) -> SampleAudio:
        """Fetch a voice sample's own audio (``GET …/samples/{sample_id}/audio``), decoded and validated.

        ``remove_background_noise=True`` asks the server for the audio with background noise removed.
        Raises as :meth:`get_speaker_audio` (and ``TypeError`` for a non-bool ``remove_background_noise``).
        """
        spec = _requests.build_get_sample_audio(
            voice_id, sample_id, self._api_key, remove_background_noise=remove_background_noise
        )
        return self._execute(spec, lambda: AudioMemorySink(self.max_response_bytes, SAMPLE_AUDIO))

    def download_sample_audio(
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
        """Stream a voice sample's own audio to ``dest`` in bounded memory; returns the path written.

        As :meth:`download_speaker_audio` (atomic, missing folders created, ``FileExistsError`` before any
        request, the same ``progress``/``on_progress``); a directory ``dest`` gets ``<sample_id><ext>``
        (the id made safe).
        """
        return self._download_sample_audio(
            voice_id,
            sample_id,
            dest,
            remove_background_noise=remove_background_noise,
            overwrite=overwrite,
            progress=progress,
            on_progress=on_progress,
        )

    def _download_sample_audio(
        self,
        voice_id: str,
        sample_id: str,
        dest: str | os.PathLike[str],
        *,
        remove_background_noise: bool = False,
        overwrite: bool = False,
        progress: Callable[[int], None] | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
        on_audio: Callable[[SampleAudio], None] | None = None,
    ) -> Path:
        """:meth:`download_sample_audio`; ``on_audio`` gets the server's media type and duration (the CLI)."""
        spec = _requests.build_get_sample_audio(
            voice_id, sample_id, self._api_key, remove_background_noise=remove_background_noise
        )
        return self._download(spec, SAMPLE_AUDIO, dest, sample_id, overwrite, progress, on_progress, on_audio=on_audio)

    def _download(
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
        file, stem = open_download_file(dest, name, overwrite=overwrite)
        with file:
            final = self._execute(
                spec,
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
            return file.commit(final)

    def _stream_speaker_audio(
        self, voice_id: str, sample_id: str, speaker_id: str, write: Callable[[bytes], object]
    ) -> SpeakerAudio:
        """Stream the decoded audio to ``write`` piece by piece; returns its media type and duration (no data).

        For ``speaker-audio get … -o -``; see ``AudioStreamSink`` (bytes written are never taken back).
        """
        spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
        return self._execute(spec, lambda: AudioStreamSink(write, self.max_response_bytes, SPEAKER_AUDIO))

    def _stream_sample_audio(
        self,
        voice_id: str,
        sample_id: str,
        write: Callable[[bytes], object],
        *,
        remove_background_noise: bool = False,
    ) -> SampleAudio:
        """As :meth:`_stream_speaker_audio`, for a sample's own audio (``speaker-audio sample-audio … -o -``)."""
        spec = _requests.build_get_sample_audio(
            voice_id, sample_id, self._api_key, remove_background_noise=remove_background_noise
        )
        return self._execute(spec, lambda: AudioStreamSink(write, self.max_response_bytes, SAMPLE_AUDIO))

    def get_separation_status(self, voice_id: str, sample_id: str) -> SeparationStatus:
        """The speaker-separation state of a sample, with its speakers once completed."""
        spec = _requests.build_get_separation_status(voice_id, sample_id, self._api_key)
        return self._execute(spec, self._json_sink(_responses.separation_status_from_json, spec))

    def start_speaker_separation(self, voice_id: str, sample_id: str) -> None:
        """Start speaker separation for a sample (retried only when the request surely never left)."""
        spec = _requests.build_start_speaker_separation(voice_id, sample_id, self._api_key)
        self._execute(spec, self._json_sink(_responses.start_separation_from_json, spec))

    def wait_for_separation(
        self,
        voice_id: str,
        sample_id: str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        start: bool = False,
        _started: bool = False,
        _on_poll: Callable[[SeparationStatus, bool], None] | None = None,
    ) -> SeparationStatus:
        """Poll until separation is ``completed`` (returned) or ``failed`` (``SeparationFailedError``).

        If the first poll finds ``not_started``: with ``start=True`` the separation is started
        (:meth:`start_speaker_separation`) and waited for; otherwise ``SeparationNotStartedError`` is
        raised at once. ``not_started`` at a later poll is waited through, like ``pending``.
        Raises ``SeparationTimeoutError`` when ``timeout`` seconds pass first: it bounds everything the
        call does (each request is cut to the time left, and no retry wait may pass it), give or
        take one poll's request. ``total_timeout``, if set and shorter, raises ``APITimeoutError`` instead.
        """
        # private, for the CLI: ``_started`` (the caller has just started the separation itself: a first
        # ``not_started`` is waited through); ``_on_poll(status, started)`` after each poll (``started``: this
        # poll made the call start the separation), to show progress
        poller = SeparationPoller(
            voice_id,
            sample_id,
            timeout=timeout,
            poll_interval=poll_interval,
            start=start,
            started=_started,
            clock=self._clock,
        )
        spec = _requests.build_get_separation_status(voice_id, sample_id, self._api_key)
        call_deadline = self._call_deadline(spec, self._clock())
        deadline = _deadline.earliest(call_deadline, poller.deadline())
        # the first poll (and a start it calls for) is always sent, even with timeout=0
        this_poll = _deadline.earliest(call_deadline, poller.deadline(first_poll_from=self._clock()))
        parse = self._json_sink(_responses.separation_status_from_json, spec)
        while True:
            status = self._execute(spec, parse, this_poll)
            started = poller.should_start(status)
            if started:
                start_spec = _requests.build_start_speaker_separation(voice_id, sample_id, self._api_key)
                self._execute(start_spec, self._json_sink(_responses.start_separation_from_json, start_spec), this_poll)
            this_poll = deadline
            if _on_poll is not None:
                _on_poll(status, started)
            wait = poller.next_wait(status)
            if wait is None:
                return status
            self._sleep(deadline.wait(wait, self._clock()) if deadline is not None else wait)

    def download_all_speakers(
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

        Each speaker is streamed and written atomically like :meth:`download_speaker_audio`, at most
        ``concurrency`` at a time (on threads). File names are ``<speaker_id><ext>`` with the id made
        safe: they never leave ``directory`` and never share a file (ids that would collide, e.g. by
        case, get a short hash of the id appended). ``progress(speaker_id, audio_bytes, done)``,
        if given, is called from the worker threads as data arrives (decoded audio bytes so far);
        ``on_progress(DownloadProgress)`` likewise, with ``speaker_id`` set and the expected sizes.

        ``directory`` and its missing parents are created, and removed again if the call writes no file
        into them. Raises, before any request: ``ValueError`` if ``concurrency`` < 1, the ``OSError`` of a
        ``directory`` that cannot be created or written (``NotADirectoryError``, ``PermissionError``, ...).
        Before any audio is requested: ``SeparationNotCompletedError``
        or ``SeparationFailedError`` unless the separation is completed, ``FileExistsError`` if a
        speaker's file exists and ``overwrite`` is false. ``SpeakerDownloadError`` names the first
        speaker that failed (cause in ``__cause__``, files already written in ``.completed``; no new
        download starts after a failure). A speaker whose id cannot be requested (``InvalidIdError``)
        is skipped and reported that way once the others are done.
        """
        check_concurrency(concurrency)
        folder, created = prepare_download_directory(directory)
        try:
            status = self.get_separation_status(voice_id, sample_id)
            downloads = SpeakerDownloads(
                status, folder, overwrite=overwrite, progress=progress, on_progress=on_progress
            )

            def fetch(speaker_id: str) -> Path:
                spec = _requests.build_get_speaker_audio(voice_id, sample_id, speaker_id, self._api_key)
                with downloads.open_file(speaker_id) as file:  # before the request: a file-system error costs none
                    make_sink = downloads.sink_factory(speaker_id, file, self.max_response_bytes)
                    final = self._execute(spec, make_sink, cancel=downloads.cancel_event)
                    return file.commit(final)

            return downloads.run_in_threads(fetch, concurrency)
        finally:
            created.remove_empty()  # the folders it created, if no file was written into them

    # -- the I/O loop --

    def _execute(
        self,
        spec: _requests.RequestSpec,
        make_sink: Callable[[], BodySink[T]],
        deadline: _deadline.Deadline | None = None,
        *,
        cancel: threading.Event | None = None,
    ) -> T:
        """One public call's requests: the first try and its retries, within ``deadline`` (else ``total_timeout``)."""
        if deadline is None:
            deadline = self._call_deadline(spec, self._clock())
        retries = 0
        while True:
            raise_if_cancelled(cancel, f"{spec.method} {spec.path}")  # no attempt (nor retry) once cancelled
            try:
                return self._attempt(spec, make_sink, deadline)
            except SpeakerAudioError as error:
                delay = self.retry_policy.next_delay(spec, error, retries)
                if deadline is not None:
                    deadline.after_failure(error, delay, self._clock())
                if delay is None:
                    raise
                logger.info(_retry.describe_retry(spec, retries + 1, delay, error))
                retries += 1
                self._sleep(delay)

    def _attempt(
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
            response = _inflate.unread(self._http.send(request, stream=True, follow_redirects=False, auth=auth))
            try:
                if not response.is_success:
                    body = _read_error_body(response, self._between_chunks(deadline))
                    raise _http_errors.status_error(response, body)
                inflater = _inflate.inflater_for(response.headers)
                sink = make_sink()
                sink.expected_body_bytes = expected_body_bytes(response.headers)
                if inflater is None:  # the identity path: chunks go to the sink as they arrive
                    for chunk in response.iter_raw():
                        if deadline is not None:
                            deadline.check(self._clock(), "while receiving the response")
                        sink.feed(chunk)
                else:
                    for chunk in response.iter_raw():
                        if deadline is not None:
                            deadline.check(self._clock(), "while receiving the response")
                        sink.feed_compressed(chunk, inflater)
                    inflater.finish()
                result = sink.finish()
                sink = None
                return result
            finally:
                response.close()
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


def _read_error_body(response: httpx.Response, between_chunks: Callable[[], None]) -> bytes:
    reader = _http_errors.ErrorBodyReader(response.headers)
    if reader.wants_more:
        for chunk in response.iter_raw():
            between_chunks()
            if not reader.feed(chunk):
                break
    return bytes(reader.body)


def get_speaker_audio(
    voice_id: str,
    sample_id: str,
    speaker_id: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    allow_insecure_http: bool = False,
) -> SpeakerAudio:
    """One-shot: fetch one speaker's audio with a short-lived :class:`SpeakerAudioClient`.

    Raises as :class:`SpeakerAudioClient` and its :meth:`~SpeakerAudioClient.get_speaker_audio` do.
    """
    key = _settings.conceal(api_key)
    del api_key  # tracebacks with locals must not show the key
    # the constructor takes the Secret as is (see _settings.conceal); its public type stays ``str | None``
    with SpeakerAudioClient(
        cast("str | None", key), base_url=base_url, allow_insecure_http=allow_insecure_http
    ) as client:
        return client.get_speaker_audio(voice_id, sample_id, speaker_id)

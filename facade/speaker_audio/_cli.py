"""The ``speaker-audio`` command line (also ``python -m speaker_audio``), on stdlib argparse.

Results go to stdout; progress, notes and errors to stderr. A progress line is drawn only when
stderr is a terminal or ``--progress`` asks for it (and never with ``--quiet``). Exit codes: 0 success,
1 other failure (e.g. a file exists), 2 usage error (bad arguments, ids or key file), 3 API error (error
status, malformed response, separation failed / not started / not completed / timed out), 4 network error,
130 interrupted (Ctrl-C), 141 output pipe closed, 143 terminated (SIGTERM). Everything printed that came
from the server is escaped (:func:`_printable`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shlex
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import attrs

from speaker_audio._client import SpeakerAudioClient
from speaker_audio._decode import _EXTENSIONS, extension_for_media_type, sniff_media_type
from speaker_audio._models import DownloadProgress, SampleAudio, SeparationStatus, SpeakerAudio
from speaker_audio._progress_text import format_size, format_transfer
from speaker_audio._settings import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, REGION_BASE_URLS
from speaker_audio._version import __version__
from speaker_audio.errors import (
    APIConnectionError,
    AuthenticationError,
    InsecureTransportError,
    InvalidBaseUrlError,
    InvalidIdError,
    SeparationNotCompletedError,
    SeparationNotStartedError,
    SpeakerAudioError,
    SpeakerDownloadError,
)

__all__ = [
    "EXIT_API",
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "build_parser",
    "exit_code_for",
    "main",
    "read_api_key_file",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NETWORK = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as tools killed by a closed pipe report
EXIT_TERMINATED = 143  # 128 + SIGTERM

PROG = "speaker-audio"
_MEDIA_TYPE_FOR_EXTENSION = {ext: media_type for media_type, ext in reversed(_EXTENSIONS.items())}

_DESCRIPTION = f"""\
Separate the speakers of an ElevenLabs PVC voice sample and download their audio.

The API key comes from ${API_KEY_ENV} or --api-key-file PATH ('-' reads standard input); --api-key KEY
works too but is visible to other users in `ps`. The server comes from --base-url, --region or
${BASE_URL_ENV} (default {DEFAULT_BASE_URL}). Try it without a key against the built-in fake API:

  speaker-audio fake-server --port 8765 &
  speaker-audio --base-url http://127.0.0.1:8765 download-all voice-demo sample-demo --separate -o out/
"""

_EPILOG = """\
exit codes: 0 ok, 1 other failure (e.g. a file exists, a destination that is not a regular file),
2 usage error, 3 API error (error status, malformed response, separation failed/not completed/timed
out), 4 network error, 130 interrupted (Ctrl-C), 141 output pipe closed, 143 terminated (SIGTERM).
Errors are one line on stderr; -v adds the traceback and INFO logs (retries). Text from the server is
shown with control characters escaped."""


# --- output helpers ---------------------------------------------------------------------------------


def _printable(text: str) -> str:
    r"""``text`` safe to show on a terminal: every character that is not printable is shown escaped.

    Server-provided text (ids, error bodies, media types, messages) could otherwise drive the terminal:
    C0 controls (ESC sequences retitle the window, clear the screen, plant hidden links; BEL), DEL, C1
    controls (``\x9b`` is a one-byte CSI), bidi overrides (``\u202e``) and lone surrogates all become
    escapes such as ``\x1b`` or ``\u202e``.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _printable_lines(text: str) -> str:
    """``text`` with each line made :func:`_printable` (for tracebacks and log records)."""
    return "\n".join(_printable(line) for line in text.split("\n"))


_size = format_size


def _table(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_status(status: SeparationStatus) -> str:
    """The separation status as a readable table of speakers, durations and utterance counts."""
    head = f"{_printable(status.voice_id)} / {_printable(status.sample_id)}: {status.status}"
    if not status.speakers:
        return head + ("" if status.status != "completed" else "\n(no speakers)")
    rows = [["SPEAKER", "DURATION", "UTTERANCES", "SELECTED"]]
    for speaker_id, speaker in status.speakers.items():
        selected = "yes" if speaker_id in status.selected_speaker_ids else ""
        rows.append([_printable(speaker_id), f"{speaker.duration_secs:.2f} s", str(len(speaker.utterances)), selected])
    return f"{head}\n{_table(rows, right=frozenset({1, 2}))}"


def _status_json(status: SeparationStatus) -> str:
    # the curated fields (not .model, the generated view of the same body); ASCII: any id can be printed
    return json.dumps(attrs.asdict(status, filter=lambda field, _: field.name != "model"), indent=2)


def _sniff_file(path: Path) -> str | None:
    with path.open("rb") as f:
        return sniff_media_type(f.read(4096))


def _file_row(speaker_id: str, path: Path, duration: float | None, media_type: str | None = None) -> list[str]:
    """``media_type`` is the server's; without it, the one that chose the file's extension (download-all)."""
    return [
        _printable(speaker_id),
        _printable(str(path)),
        _printable(media_type) if media_type is not None else _MEDIA_TYPE_FOR_EXTENSION.get(path.suffix, "?"),
        _sniff_file(path) or "unknown",
        "?" if duration is None else f"{duration:.2f} s",
        _size(path.stat().st_size),
    ]


def format_files(files: dict[str, Path], status: SeparationStatus | None = None) -> str:
    """A table of downloaded files: the server's media type (it chose the extension), sniffed type, duration, size."""
    rows = [["SPEAKER", "FILE", "MEDIA TYPE", "SNIFFED", "DURATION", "SIZE"]]
    for speaker_id, path in files.items():
        speaker = status.speakers.get(speaker_id) if status is not None else None
        rows.append(_file_row(speaker_id, path, speaker.duration_secs if speaker is not None else None))
    return _table(rows, right=frozenset({4, 5}))


# extensions that name one kind of audio (an Ogg file may hold Opus; .mp4 and .m4a are both MP4 audio)
_SAME_KIND = {".opus": ".ogg", ".oga": ".ogg", ".mp4": ".m4a", ".raw": ".pcm", ".wave": ".wav", ".mpga": ".mp3"}


def _kind(extension: str) -> str:
    extension = extension.lower()
    return _SAME_KIND.get(extension, extension)


def media_type_warning(path: Path | None, media_type: str, sniffed: str | None) -> str | None:
    """Why the audio and its file disagree, or ``None``: the extension of ``path`` against the server's
    ``media_type``, and the ``sniffed`` type of the bytes against it (unknown types are not compared)."""
    expected = extension_for_media_type(media_type)
    if expected == ".bin":
        return None
    problems = []
    if path is not None and _kind(path.suffix) != _kind(expected):
        problems.append(
            f"its extension {path.suffix or '(none)'} does not match the server's media type "
            f"{_printable(media_type)} ({expected})"
        )
    sniffed_extension = ".bin" if sniffed is None else extension_for_media_type(sniffed)
    if sniffed_extension != ".bin" and _kind(sniffed_extension) != _kind(expected):
        problems.append(f"its bytes look like {sniffed}, not {_printable(media_type)} as the server said")
    if not problems:
        return None
    where = "the audio" if path is None else _printable(str(path))
    return f"{where}: " + "; ".join(problems)


class ProgressLine:
    """One status line on a terminal, redrawn in place (thread-safe, at most ~10 redraws a second).

    Disabled (draws nothing) when the stream is not a terminal or the user asked for ``--quiet``.
    """

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._lock = threading.Lock()
        self._last = 0.0
        self._drawn = False

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``text`` (dropped when the last redraw was under 0.1 s ago, unless ``force``)."""
        if not self.enabled:
            return
        with self._lock:
            now = time.monotonic()
            if not force and now - self._last < 0.1:
                return
            self._last = now
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._drawn = True

    def close(self) -> None:
        """Clear the line (so that the next output starts on a clean line)."""
        with self._lock:
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self._drawn = False


class _TransferProgress:
    """Feeds a ``ProgressLine`` from a download's ``on_progress``: audio bytes, total, percentage, rate, time left."""

    def __init__(self, line: ProgressLine, label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.line = line
        self.label = label
        self._clock = clock
        self._started = clock()

    final: DownloadProgress | None = None
    """The last call's progress once the download is done: it carries the media type and duration."""

    def __call__(self, progress: DownloadProgress) -> None:
        if progress.done:
            self.final = progress
        elapsed = self._clock() - self._started
        text = format_transfer(progress.audio_bytes, progress.expected_audio_bytes, elapsed)
        self.line.update(f"{self.label}: {text}", force=progress.done)


class _DownloadProgress:
    """Feeds a ``ProgressLine`` from ``download_all_speakers``' ``on_progress`` callback (all speakers summed)."""

    def __init__(self, line: ProgressLine, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.line = line
        self.total = total
        self.received: dict[str, int] = {}
        self.expected: dict[str, int | None] = {}
        self.done: set[str] = set()
        self._lock = threading.Lock()
        self._clock = clock
        self._started = clock()

    def __call__(self, progress: DownloadProgress) -> None:
        speaker_id = progress.speaker_id or ""
        with self._lock:
            self.received[speaker_id] = progress.audio_bytes
            self.expected[speaker_id] = progress.expected_audio_bytes
            if progress.done:
                self.done.add(speaker_id)
            expected = list(self.expected.values())
            # the total is known once every speaker's response has announced its size
            total = (
                sum(e for e in expected if e is not None)
                if len(expected) == self.total and None not in expected
                else None
            )
            transfer = format_transfer(sum(self.received.values()), total, self._clock() - self._started)
            text = f"downloading: {len(self.done)}/{self.total} speakers done, {transfer}"
        self.line.update(text, force=progress.done)


# --- commands --------------------------------------------------------------------------------------


@attrs.define
class _Context:
    args: argparse.Namespace
    out: TextIO
    err: TextIO

    @property
    def quiet(self) -> bool:
        return bool(self.args.quiet)

    def note(self, text: str) -> None:
        """An informational line on stderr (not with --quiet)."""
        if not self.quiet:
            print(text, file=self.err, flush=True)

    def progress_line(self) -> ProgressLine:
        return ProgressLine(self.err, enabled=not self.quiet and (bool(self.args.progress) or _isatty(self.err)))

    def client(self) -> SpeakerAudioClient:
        base_url = self.args.base_url or (REGION_BASE_URLS[self.args.region] if self.args.region else None)
        retries = DEFAULT_MAX_RETRIES if self.args.max_retries is None else self.args.max_retries
        return SpeakerAudioClient(
            self.args.api_key,
            base_url=base_url,
            max_retries=retries,
            total_timeout=getattr(self.args, "total_timeout", None),
            allow_insecure_http=bool(getattr(self.args, "allow_insecure_http", False)),
        )


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _wait(
    ctx: _Context,
    client: SpeakerAudioClient,
    voice_id: str,
    sample_id: str,
    *,
    start: bool = False,
    already_started: bool = False,
) -> SeparationStatus:
    """``wait_for_separation`` (``--timeout`` bounds every poll and retry wait), showing the state and elapsed time.

    ``start``: start the separation if the first poll finds it ``not_started`` (else that raises
    ``SeparationNotStartedError``). ``already_started``: the command has just started it itself.
    """
    line = ctx.progress_line()
    started = time.monotonic()
    polls = 0

    def show(status: SeparationStatus) -> None:
        nonlocal polls
        if start and polls == 0 and status.status == "not_started":  # the wait starts it now
            ctx.note(f"started speaker separation of {_printable(voice_id)} / {_printable(sample_id)}")
        polls += 1
        plural = "" if polls == 1 else "s"
        elapsed = time.monotonic() - started
        line.update(f"waiting for separation: {status.status} ({polls} poll{plural}, {elapsed:.1f} s)", force=True)

    try:
        return client.wait_for_separation(
            voice_id,
            sample_id,
            timeout=ctx.args.timeout,
            poll_interval=ctx.args.poll_interval,
            start=start,
            after_start=already_started,
            on_poll=show,
        )
    finally:
        line.close()


def _warn(ctx: _Context, text: str) -> None:
    """A warning on stderr (shown even with --quiet)."""
    print(f"{PROG}: warning: {text}", file=ctx.err, flush=True)


def _cmd_get(ctx: _Context) -> int:
    args = ctx.args
    if args.output == "-":
        return _stream_to_stdout(
            ctx,
            args.speaker,
            lambda client, write: client.stream_speaker_audio(args.voice, args.sample, args.speaker, write),
        )
    return _download_to_file(
        ctx,
        args.speaker,
        "downloading",
        lambda client, on_progress: client.download_speaker_audio(
            args.voice, args.sample, args.speaker, args.output, overwrite=args.overwrite, on_progress=on_progress
        ),
    )


def _download_to_file(
    ctx: _Context,
    name: str,
    doing: str,
    download: Callable[[SpeakerAudioClient, Callable[[DownloadProgress], None]], Path],
) -> int:
    """``get``/``sample-audio`` into a file: ``download(client, on_progress)`` with the progress line, then the
    path on stdout and a note with the server's media type (a warning when the file disagrees)."""
    line = ctx.progress_line()
    with ctx.client() as client:
        label = f"{doing} {_printable(name)}"
        line.update(f"{label} ...", force=True)
        progress = _TransferProgress(line, label)
        try:
            path = download(client, progress)
        finally:
            line.close()
    print(path, file=ctx.out)
    media_type = progress.final.media_type if progress.final is not None else None
    row = _file_row(name, path, progress.final.duration_secs if progress.final is not None else None, media_type or "")
    ctx.note(f"saved {row[1]} ({row[2]}, sniffed {row[3]}, {row[4]}, {row[5]})")
    warning = media_type_warning(path, media_type or "", _sniff_file(path))
    if warning is not None:
        _warn(ctx, warning)
    return EXIT_OK


class _StandardOutputAudio:
    """Writes decoded audio to a binary stream as it arrives (``-o -``), keeping its first bytes for sniffing."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.written = 0
        self.head = b""

    def write(self, data: bytes) -> None:
        if len(self.head) < 4096:
            self.head += data[: 4096 - len(self.head)]
        self.stream.write(data)
        self.stream.flush()  # the player downstream gets each piece at once
        self.written += len(data)


def _stream_to_stdout(
    ctx: _Context,
    name: str,
    stream_audio: Callable[[SpeakerAudioClient, Callable[[bytes], None]], SpeakerAudio | SampleAudio],
) -> int:
    """``get``/``sample-audio … -o -``: stream the decoded audio of ``name`` (the speaker or sample id) to
    standard output in bounded memory; notes go to stderr. ``stream_audio(client, write)`` makes the request."""
    stream = getattr(ctx.out, "buffer", None)
    if stream is None:
        raise ValueError("-o - needs a binary standard output")
    output = _StandardOutputAudio(stream)
    with ctx.client() as client:
        try:
            audio = stream_audio(client, output.write)
        except SpeakerAudioError:
            if output.written:
                ctx.note(f"{_size(output.written)} of audio had been written to standard output (not retried)")
            raise
    sniffed = sniff_media_type(output.head)
    duration = "?" if audio.duration_secs is None else f"{audio.duration_secs:.2f} s"  # a sample's may be unknown
    ctx.note(
        f"streamed {_printable(name)} to standard output ({_printable(audio.media_type)}, "
        f"sniffed {sniffed or 'unknown'}, {duration}, {_size(output.written)})"
    )
    warning = media_type_warning(None, audio.media_type, sniffed)
    if warning is not None:
        _warn(ctx, warning)
    return EXIT_OK


def _cmd_sample_audio(ctx: _Context) -> int:
    args = ctx.args
    if args.output == "-":
        return _stream_to_stdout(
            ctx,
            args.sample,
            lambda client, write: client.stream_sample_audio(
                args.voice, args.sample, write, remove_background_noise=args.remove_background_noise
            ),
        )
    return _download_to_file(
        ctx,
        args.sample,
        "downloading sample",
        lambda client, on_progress: client.download_sample_audio(
            args.voice,
            args.sample,
            args.output,
            remove_background_noise=args.remove_background_noise,
            overwrite=args.overwrite,
            on_progress=on_progress,
        ),
    )


def _cmd_wait(ctx: _Context) -> int:
    args = ctx.args
    with ctx.client() as client:
        status = _wait(ctx, client, args.voice, args.sample, start=args.start)
    print(_status_json(status) if args.json else format_status(status), file=ctx.out)
    return EXIT_OK


def _cmd_status(ctx: _Context) -> int:
    with ctx.client() as client:
        status = client.get_separation_status(ctx.args.voice, ctx.args.sample)
    print(_status_json(status) if ctx.args.json else format_status(status), file=ctx.out)
    return EXIT_OK


def _cmd_separate(ctx: _Context) -> int:
    args = ctx.args
    with ctx.client() as client:
        client.start_speaker_separation(args.voice, args.sample)
        ctx.note(f"started speaker separation of {_printable(args.voice)} / {_printable(args.sample)}")
        if not args.wait:
            return EXIT_OK
        status = _wait(ctx, client, args.voice, args.sample, already_started=True)
    print(format_status(status), file=ctx.out)
    return EXIT_OK


def _cmd_download_all(ctx: _Context) -> int:
    args = ctx.args
    if args.output == "-":
        raise ValueError(
            "download-all writes one file per speaker: -o - (standard output) works with get and sample-audio only"
        )
    directory = Path(args.output)  # created by download_all_speakers, and removed again if it stays empty
    with ctx.client() as client:
        if args.separate:
            client.start_speaker_separation(args.voice, args.sample)
            ctx.note(f"started speaker separation of {_printable(args.voice)} / {_printable(args.sample)}")
            status = _wait(ctx, client, args.voice, args.sample, already_started=True)
            if not ctx.quiet:
                print(format_status(status), file=ctx.err, flush=True)
        else:
            status = client.get_separation_status(args.voice, args.sample)
        line = ctx.progress_line()
        progress = _DownloadProgress(line, len(status.speakers))
        try:
            files = client.download_all_speakers(
                args.voice,
                args.sample,
                directory,
                overwrite=args.overwrite,
                concurrency=args.concurrency,
                on_progress=progress,
            )
        finally:
            line.close()
    if args.json:
        print(json.dumps({k: str(v) for k, v in files.items()}, indent=2), file=ctx.out)
    elif files:
        print(format_files(files, status), file=ctx.out)
    for path in files.values():  # each extension came from the server's media type: check the bytes agree
        media_type = _MEDIA_TYPE_FOR_EXTENSION.get(path.suffix)
        warning = None if media_type is None else media_type_warning(None, media_type, _sniff_file(path))
        if warning is not None:
            _warn(ctx, warning.replace("the audio", _printable(str(path)), 1))
    ctx.note(f"{len(files)} speaker file(s) in {directory}")
    return EXIT_OK


_CLIENT_ONLY_OPTIONS = {
    "api_key": "--api-key",
    "api_key_file": "--api-key-file",
    "base_url": "--base-url",
    "region": "--region",
    "total_timeout": "--total-timeout",
    "allow_insecure_http": "--allow-insecure-http",
}


def _cmd_fake_server(ctx: _Context) -> int:
    from speaker_audio.testing import FakeElevenLabs

    args = ctx.args
    given = [flag for name, flag in _CLIENT_ONLY_OPTIONS.items() if getattr(args, name, None) not in (None, False)]
    if getattr(args, "max_retries", None) is not None:  # 0 is given too
        given.append("--max-retries")
    if given:
        print(f"{PROG} fake-server: error: {', '.join(given)} configure a client, not the fake server", file=ctx.err)
        return EXIT_USAGE
    fake = FakeElevenLabs(port=args.port, api_key=args.require_api_key)
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = args.polls

    def ready(server: FakeElevenLabs) -> None:
        print(server.base_url, file=ctx.out, flush=True)
        voice, sample = server.demo_ids
        # the fake's own key (never a real one) goes into the example, so that it works as printed
        key = f"{API_KEY_ENV}={shlex.quote(server.api_key)} " if server.api_key is not None else ""
        ctx.note(
            f"fake ElevenLabs API on {server.base_url} (demo voice {voice!r}, sample {sample!r}); Ctrl-C stops it\n"
            f"  try: {key}{PROG} --base-url {server.base_url} download-all {voice} {sample} --separate -o out/"
            + ("" if args.verbose else "\n  (-v logs every request: method, path, status, duration)")
        )

    fake.run(on_ready=ready)  # until Ctrl-C or SIGTERM (main's _interrupt_once)
    ctx.note("fake ElevenLabs API stopped")
    return EXIT_OK


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's ``KeyboardInterrupt`` (exit code 143 instead of 130)."""


@contextlib.contextmanager
def _interrupt_once(*, restore_after_signal: bool = True) -> Iterator[None]:
    """Let SIGINT and SIGTERM stop the command once, cleanups included (main thread only).

    The first of them raises ``KeyboardInterrupt`` (SIGINT) or :class:`Terminated` (SIGTERM) in the main
    thread; from then on both are ignored, so that a second one (Ctrl-C pressed twice, SIGTERM right after
    SIGINT) cannot interrupt the cleanup the first one started (cancelling the downloads, deleting their
    temporary files and the folders made for them) nor the exit code. The previous handlers are restored
    on the way out (after such a signal, only with ``restore_after_signal``). A SIGINT that Python does not
    handle itself (ignored, as in a background job, or an embedding program's handler) is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    signalled: list[int] = []

    def ignore(signum: int, frame: object) -> None:
        # a Python no-op, not SIG_IGN: a signal that arrived just before the switch is then dropped silently
        # (with SIG_IGN, Python reports it as "Signal 15 ignored due to race condition" on stderr)
        pass

    def shut_down(signum: int, frame: object) -> None:
        signalled.append(signum)
        for handled in previous:
            signal.signal(handled, ignore)
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, shut_down)
    previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, shut_down)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if restore_after_signal or not signalled:
                signal.signal(signum, handler)
            else:  # SIG_IGN itself now: Python resets its own handlers to SIG_DFL as the process exits
                signal.signal(signum, signal.SIG_IGN)


# --- the parser --------------------------------------------------------------------------------------


def _number(convert: Callable[[str], float], *, minimum: float, inclusive: bool) -> Callable[[str], Any]:
    """An argparse ``type`` that parses with ``convert`` and refuses values below ``minimum``."""
    noun = "an integer" if convert is int else "a number"
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
        if not (value >= minimum if inclusive else value > minimum):  # also refuses NaN
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


_positive_int = _number(int, minimum=1, inclusive=True)
_non_negative_int = _number(int, minimum=0, inclusive=True)
_positive_float = _number(float, minimum=0, inclusive=False)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535, got {value}")
    return value


def _fake_api_key(text: str) -> str:
    """A key for the fake server: one that a client can send (printable ASCII, no spaces)."""
    if not text or not all("!" <= char <= "~" for char in text):
        raise argparse.ArgumentTypeError("must be printable ASCII without spaces, as an API key is")
    return text


def _add_global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options accepted before and after the command (defaults only on the main parser)."""
    group = parser.add_argument_group("connection and output")
    where = group.add_mutually_exclusive_group()

    def option(container: Any, *names: str, **kwargs: Any) -> None:
        if suppress:
            kwargs["default"] = argparse.SUPPRESS
        container.add_argument(*names, **kwargs)

    option(
        group,
        "--api-key",
        metavar="KEY",
        help=f"the xi-api-key (default: ${API_KEY_ENV}); never printed, but visible to other users in `ps`: "
        f"${API_KEY_ENV} or --api-key-file is safer",
    )
    option(
        group,
        "--api-key-file",
        metavar="PATH",
        help="read the xi-api-key from PATH ('-': standard input); one trailing newline is ignored",
    )
    option(where, "--base-url", metavar="URL", help=f"API server (default: ${BASE_URL_ENV}, else {DEFAULT_BASE_URL})")
    option(where, "--region", choices=sorted(REGION_BASE_URLS), help="a data-residency server instead of --base-url")
    option(
        group,
        "--max-retries",
        type=_non_negative_int,
        metavar="N",
        help=f"retries of a failed request (default: {DEFAULT_MAX_RETRIES})",
    )
    option(
        group,
        "--total-timeout",
        type=_positive_float,
        metavar="SECS",
        help="give up on a request after SECS in all, retries and their waits included (default: no bound)",
    )
    option(
        group,
        "--allow-insecure-http",
        action="store_true",
        help="send the key over a plain http:// --base-url to a host other than this machine (readable on the way)",
    )
    option(group, "-v", "--verbose", action="store_true", help="log retries and requests; tracebacks on errors")
    option(group, "-q", "--quiet", action="store_true", help="no progress line and no notes on stderr")
    option(
        group,
        "--progress",
        action="store_true",
        help="draw the progress line on stderr even when it is not a terminal",
    )


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout", type=_positive_float, default=600.0, metavar="SECS", help="give up waiting after SECS (600)"
    )
    parser.add_argument(
        "--poll-interval", type=_positive_float, default=2.0, metavar="SECS", help="seconds between polls (2)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``speaker-audio`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_text, description=description, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        _add_global_options(sub, suppress=True)
        return sub

    def ids(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("voice", metavar="VOICE", help="the voice id")
        sub.add_argument("sample", metavar="SAMPLE", help="the sample id")

    get = command(
        "get",
        "download one speaker's audio",
        "Download one speaker's separated audio, streamed to disk and written atomically.\n"
        "Prints the path written; warns when the file's extension or bytes disagree with the server's\n"
        "media type. With -o -, streams the decoded audio to standard output instead (in bounded memory;\n"
        "a request is retried only until the first audio byte was written).",
    )
    ids(get)
    get.add_argument("speaker", metavar="SPEAKER", help="the speaker id (see `status`)")
    get.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=".",
        help="a file, or a directory for <speaker><ext> (an existing one or a path ending with /; "
        "default: the current directory), or - to stream the decoded audio to standard output (e.g. "
        "`| ffplay -`; messages go to stderr). Missing folders are created, and removed again if the download fails",
    )
    get.add_argument("--overwrite", action="store_true", help="replace an existing file")
    get.set_defaults(run=_cmd_get)

    sample_audio = command(
        "sample-audio",
        "download a sample's own audio",
        "Download a voice sample's own audio (not separated), streamed to disk and written\n"
        "atomically. Prints the path written. With -o -, streams the decoded audio to standard output\n"
        "instead, as get does.",
    )
    ids(sample_audio)
    sample_audio.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        default=".",
        help="a file, or a directory for <sample><ext> (an existing one or a path ending with /; "
        "default: the current directory), or - to stream the decoded audio to standard output. Missing folders "
        "are created, and removed again if the download fails",
    )
    sample_audio.add_argument(
        "--remove-background-noise",
        action="store_true",
        help="ask the server to remove background noise (it can make clean samples worse)",
    )
    sample_audio.add_argument("--overwrite", action="store_true", help="replace an existing file")
    sample_audio.set_defaults(run=_cmd_sample_audio)

    status = command(
        "status",
        "show the separation status and speakers",
        "Show a sample's speaker-separation status and, once completed, its speakers\n"
        "(duration, number of utterances, whether selected).",
    )
    ids(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=_cmd_status)

    separate = command(
        "separate",
        "start speaker separation",
        "Start speaker separation of a sample; with --wait, wait until it completes\nand print its speakers.",
    )
    ids(separate)
    separate.add_argument("--wait", action="store_true", help="wait for the separation to complete")
    _wait_options(separate)
    separate.set_defaults(run=_cmd_separate)

    wait = command(
        "wait",
        "wait for speaker separation to complete",
        "Wait until a sample's speaker separation completes and print its speakers.\n"
        "A separation that was never started fails at once (exit 3), unless --start starts it.",
    )
    ids(wait)
    wait.add_argument("--start", action="store_true", help="start the separation if it was never started")
    wait.add_argument("--json", action="store_true", help="print the final status as JSON")
    _wait_options(wait)
    wait.set_defaults(run=_cmd_wait)

    download_all = command(
        "download-all",
        "download every speaker's audio",
        "Download every speaker of a completed separation into a directory, concurrently;\n"
        "each file is streamed and written atomically, named after its (sanitised) speaker id.\n"
        "With --separate, start the separation and wait for it first. Prints a table of the files.",
    )
    ids(download_all)
    download_all.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=".",
        help="directory for the files (default: .); missing folders are created, and removed again if no file "
        "is written into them",
    )
    download_all.add_argument(
        "--concurrency", type=_positive_int, default=4, metavar="N", help="downloads at a time (default: 4)"
    )
    download_all.add_argument("--separate", action="store_true", help="start the separation and wait for it first")
    download_all.add_argument("--overwrite", action="store_true", help="replace existing files")
    download_all.add_argument("--json", action="store_true", help="print {speaker_id: path} as JSON")
    _wait_options(download_all)
    download_all.set_defaults(run=_cmd_download_all)

    fake_server = commands.add_parser(  # not command(): the client's connection options mean nothing here
        "fake-server",
        help="run the built-in fake ElevenLabs API",
        description="Run the built-in fake ElevenLabs API on 127.0.0.1 until Ctrl-C or SIGTERM. Prints its URL on\n"
        "stdout, and on stderr a command to try against it. It serves the demo voice 'voice-demo' with\n"
        "sample 'sample-demo' (two speakers); with -v it logs each request (method, path, status, duration)\n"
        "on stderr.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for names, help_text in (
        (("-v", "--verbose"), "log every request on stderr: method, path, status, duration"),
        (("-q", "--quiet"), "print only the URL (no notes on stderr)"),
    ):
        fake_server.add_argument(*names, action="store_true", default=argparse.SUPPRESS, help=help_text)
    fake_server.add_argument("--port", type=_port, default=8765, help="port to listen on; 0 picks one (8765)")
    fake_server.add_argument(
        "--require-api-key",
        metavar="KEY",
        type=_fake_api_key,
        default=None,
        help="answer 401 to requests without this xi-api-key (a made-up key: it is printed)",
    )
    fake_server.add_argument(
        "--polls", type=_positive_int, default=3, metavar="N", help="status reads until separation completes (3)"
    )
    fake_server.set_defaults(run=_cmd_fake_server)
    return parser


# --- errors and the entry point ---------------------------------------------------------------------


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error: 2 usage, 3 API, 4 network, 1 anything else."""
    if isinstance(error, SpeakerDownloadError):
        cause = error.__cause__
        if cause is not None and not isinstance(cause, InvalidIdError):
            return exit_code_for(cause)
        return EXIT_API  # an unusable speaker id came from the server
    if isinstance(error, APIConnectionError):
        return EXIT_NETWORK
    if isinstance(error, InvalidIdError | InsecureTransportError | InvalidBaseUrlError):
        return EXIT_USAGE
    if isinstance(error, SpeakerAudioError):
        return EXIT_API
    if isinstance(error, ValueError) and not isinstance(error, UnicodeError):
        return EXIT_USAGE
    return EXIT_FAILURE


def _error_line(error: BaseException) -> str:
    text = _printable(" ".join(str(error).split())) or "(no details)"  # error bodies come from the server
    text = text.replace("overwrite=True", "--overwrite").replace("base_url=…", "--base-url …")
    text = text.replace("allow_insecure_http=True", "--allow-insecure-http").replace("total_timeout", "--total-timeout")
    cause = error.__cause__ if isinstance(error, SpeakerDownloadError) else error
    if isinstance(cause, AuthenticationError):
        text += f" (set ${API_KEY_ENV} or pass --api-key-file)"
    elif isinstance(cause, SeparationNotStartedError):
        text = re.sub(r"call start_speaker_separation\(.*\) first", "run `separate` first", text)
        text = text.replace("pass start=True to wait_for_separation", "pass --start")
    elif isinstance(cause, SeparationNotCompletedError):
        text += " (run `separate --wait` first, or pass --separate)"
    return f"{PROG}: error: {type(error).__name__}: {text}"


class _PrintableFormatter(logging.Formatter):
    """Log records with control characters escaped (a retry's reason quotes the server)."""

    def format(self, record: logging.LogRecord) -> str:
        return _printable_lines(super().format(record))


def read_api_key_file(path: str, stdin: TextIO | None = None) -> str:
    """The key held in the file ``path`` (``-``: standard input), without one trailing newline.

    At most 64 KiB are read (``/dev/zero`` or a large file by mistake must not exhaust memory).
    Raises ``ValueError`` for an empty key, one with a control character (a second line), or more than
    64 KiB; ``OSError`` when the file cannot be read. The key itself is never quoted in a message.
    """
    limit = 64 * 1024
    where = "standard input" if path == "-" else repr(path)
    try:
        if path == "-":
            data: str | bytes = (stdin or sys.stdin).read(limit + 1)
        else:
            with open(path, "rb") as file:
                data = file.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"--api-key-file: {where} holds more than 64 KiB, not one API key")
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise ValueError(f"--api-key-file: {where} is not UTF-8 text") from None
    except OSError as error:
        raise OSError(f"--api-key-file: cannot read {where}: {error.strerror or error}") from None
    key = text.removesuffix("\n").removesuffix("\r")
    if not key.strip():
        raise ValueError(f"--api-key-file: {where} holds no key (it is empty)")
    if not key.isprintable():
        raise ValueError(f"--api-key-file: the key in {where} holds a line break or another control character")
    return key


def _configure_logging(verbose: bool, err: TextIO) -> None:
    if not verbose:
        return
    handler = logging.StreamHandler(err)
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    for name in ("speaker_audio", "httpx"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)


def _replace_unencodable(stream: TextIO) -> None:
    """Let ``stream`` print what its encoding cannot encode as escapes (``\u2014``) instead of failing.

    With e.g. ``PYTHONIOENCODING=ascii`` or ``LANG=C``, a speaker table or an error naming a non-ASCII id
    would otherwise raise ``UnicodeEncodeError`` half-way through.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(AttributeError, ValueError, OSError):
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (``speaker-audio --help`` lists the commands)."""
    out = out or sys.stdout
    err = err or sys.stderr
    for stream in (out, err):
        _replace_unencodable(stream)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    if args.base_url and args.region:
        parser.print_usage(err)
        print(f"{PROG}: error: --base-url and --region cannot be used together", file=err)
        return EXIT_USAGE
    if args.api_key_file is not None:
        try:
            if args.api_key is not None:
                raise ValueError("--api-key and --api-key-file cannot be used together")
            args.api_key = read_api_key_file(args.api_key_file)
        except (OSError, ValueError) as error:
            parser.print_usage(err)
            print(f"{PROG}: error: {_printable(str(error))}", file=err)
            return EXIT_USAGE
    _configure_logging(args.verbose, err)
    # SIGTERM cleans up partial files just as Ctrl-C does; a second signal cannot cut that cleanup short,
    # nor the report and exit code that follow it
    # (called without arguments, main is the program's entry: the process exits next, so after a signal
    # the handlers are not restored, and a late second signal cannot kill it with a signal's status instead)
    with _interrupt_once(restore_after_signal=argv is not None):
        return _run(_Context(args, out, err))


def _run(ctx: _Context) -> int:
    args, out, err = ctx.args, ctx.out, ctx.err
    run: Callable[[_Context], int] = args.run
    try:
        return run(ctx)
    except KeyboardInterrupt as interrupt:
        # the downloads under way were cancelled and their temporary files deleted; workers blocked in a
        # socket read are daemon threads that the exit does not wait for
        terminated = isinstance(interrupt, Terminated)
        print(f"{PROG}: {'terminated' if terminated else 'interrupted'}", file=err, flush=True)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): the work is done; exit as a piped tool does
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if args.verbose:
            print(_printable_lines("".join(traceback.format_exception(error))).rstrip("\n"), file=err)
        print(_error_line(error), file=err)
        return exit_code_for(error)

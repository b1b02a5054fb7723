"""The commands: each runs on a :class:`Context` (the parsed arguments and the two output streams)."""

from __future__ import annotations

import argparse
import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import attrs

from speaker_audio import (
    API_KEY_ENV,
    REGION_BASE_URLS,
    DownloadProgress,
    RawResponse,
    SampleAudio,
    SeparationStatus,
    SpeakerAudio,
    SpeakerAudioClient,
    SpeakerAudioError,
    SpecDrift,
    sniff_media_type,
)
from speaker_audio.cli._errors import EXIT_OK, EXIT_USAGE, PROG, OutputError, UsageError
from speaker_audio.cli._output import (
    file_document,
    file_row,
    format_files,
    format_status,
    json_text,
    media_type_warning,
    printable,
    sniff_file,
    status_document,
)
from speaker_audio.cli._progress import DownloadAllProgress, ProgressLine, TransferProgress, format_size

__all__ = [
    "Context",
    "cmd_download_all",
    "cmd_fake_server",
    "cmd_get",
    "cmd_sample_audio",
    "cmd_separate",
    "cmd_status",
    "cmd_wait",
    "writes_to_stdout",
]


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@attrs.define
class Context:
    """What a command runs with: the parsed ``args``, standard output (``None`` when it is closed) and stderr."""

    args: argparse.Namespace
    out: TextIO | None
    err: TextIO

    @property
    def quiet(self) -> bool:
        return bool(self.args.quiet)

    def print(self, text: str) -> None:
        """``text`` and a line end on standard output; ``OutputError`` when it cannot take them."""
        if self.out is None:
            raise OutputError("standard output is closed: nothing can be printed")
        try:
            print(text, file=self.out)
        except BrokenPipeError:
            raise  # the reader went away: exit 141, as a piped tool does
        except OSError as error:
            raise OutputError(f"cannot write to standard output: {error.strerror or error}") from error

    def binary_out(self) -> BinaryIO:
        """Standard output for bytes (``-o -``)."""
        if self.out is None:
            raise OutputError("standard output is closed: the audio cannot be written there")
        stream = getattr(self.out, "buffer", None)
        if stream is None:
            raise ValueError("-o - needs a binary standard output")
        return stream  # type: ignore[no-any-return]

    def note(self, text: str) -> None:
        """An informational line on stderr (not with --quiet)."""
        if not self.quiet:
            print(text, file=self.err, flush=True)

    def warn(self, text: str) -> None:
        """A warning on stderr (shown even with --quiet)."""
        print(f"{PROG}: warning: {text}", file=self.err, flush=True)

    def progress_line(self) -> ProgressLine:
        return ProgressLine(self.err, enabled=not self.quiet and (bool(self.args.progress) or _isatty(self.err)))

    def drift_note(self, drift: SpecDrift) -> None:
        """The note for one difference between a response and the pinned spec (the client reports each once)."""
        self.note(
            f"{PROG}: note: the server sent what the pinned spec does not list ({printable(drift.operation)} "
            f"{printable(drift.pointer)}: {printable(drift.detail)}); this version of {PROG} is behind the API"
        )

    def client(self) -> SpeakerAudioClient:
        """The client the global options describe (unset ones keep the client's defaults)."""
        args = self.args
        settings: dict[str, Any] = {}
        if args.max_retries is not None:
            settings["max_retries"] = args.max_retries
        return SpeakerAudioClient(
            args.api_key,
            base_url=args.base_url or (REGION_BASE_URLS[args.region] if args.region else None),
            total_timeout=args.total_timeout,
            allow_insecure_http=args.allow_insecure_http,
            default_headers=dict(args.headers or ()),
            on_drift=self.drift_note,
            **settings,
        )


def writes_to_stdout(args: argparse.Namespace) -> bool:
    """Whether the command prints its result on standard output (all but ``separate`` without ``--wait``)."""
    return not (args.command == "separate" and not args.wait)


def _ids(ctx: Context) -> str:
    return f"{printable(ctx.args.voice)} / {printable(ctx.args.sample)}"


def _wait(
    ctx: Context, client: SpeakerAudioClient, *, start: bool = False, already_started: bool = False
) -> SeparationStatus:
    """``wait_for_separation`` (``--wait-timeout`` bounds every poll and retry wait), showing state and time.

    ``start``: start the separation if the first poll finds it ``not_started`` (else that raises
    ``SeparationNotStartedError``). ``already_started``: the command has just started it itself.
    """
    line = ctx.progress_line()
    started = time.monotonic()
    polls = 0

    def show(status: SeparationStatus) -> None:
        nonlocal polls
        if start and polls == 0 and status.status == "not_started":  # the wait starts it now
            ctx.note(f"started speaker separation of {_ids(ctx)}")
        polls += 1
        plural = "" if polls == 1 else "s"
        elapsed = time.monotonic() - started
        text = f"waiting for separation: {printable(status.status)} ({polls} poll{plural}, {elapsed:.1f} s)"
        line.update(text, force=True)

    try:
        return client.wait_for_separation(
            ctx.args.voice,
            ctx.args.sample,
            timeout=ctx.args.wait_timeout,
            poll_interval=ctx.args.poll_interval,
            start=start,
            after_start=already_started,
            on_poll=show,
        )
    finally:
        line.close()


def _download_to_file(
    ctx: Context,
    name: str,
    doing: str,
    download: Callable[[SpeakerAudioClient, Callable[[DownloadProgress], None]], RawResponse[Path]],
    ids: dict[str, str],
) -> int:
    """``get``/``sample-audio`` into a file: ``download(client, on_progress)`` with the progress line, then the
    path (or with ``--json`` the file's document) on stdout and a note with the server's media type (a warning
    when the file disagrees)."""
    line = ctx.progress_line()
    with ctx.client() as client:
        label = f"{doing} {printable(name)}"
        line.update(f"{label} ...", force=True)
        progress = TransferProgress(line, label)
        try:
            raw = download(client, progress)
        finally:
            line.close()
    path, final = raw.parse(), progress.final
    media_type = final.media_type if final is not None else None
    ctx.print(json_text(file_document(path, final, raw.request_id, **ids)) if ctx.args.json else str(path))
    row = file_row(name, path, final.duration_secs if final is not None else None, media_type)
    ctx.note(f"saved {row[1]} ({row[2]}, sniffed {row[3]}, {row[4]}, {row[5]})")
    warning = media_type_warning(path, media_type or "", sniff_file(path))
    if warning is not None:
        ctx.warn(warning)
    return EXIT_OK


class _StandardOutputAudio:
    """Writes decoded audio to a binary stream as it arrives (``-o -``), keeping its first bytes for sniffing."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.written = 0
        self.head = b""

    def write(self, data: bytes) -> None:
        if len(self.head) < 4096:
            self.head += data[: 4096 - len(self.head)]
        try:
            self.stream.write(data)
            self.stream.flush()  # the player downstream gets each piece at once
        except BrokenPipeError:
            raise
        except OSError as error:
            raise OutputError(f"cannot write the audio to standard output: {error.strerror or error}") from error
        self.written += len(data)


def _stream_to_stdout(
    ctx: Context,
    name: str,
    stream_audio: Callable[[SpeakerAudioClient, Callable[[bytes], None]], SpeakerAudio | SampleAudio],
) -> int:
    """``get``/``sample-audio … -o -``: stream the decoded audio of ``name`` (the speaker or sample id) to
    standard output in bounded memory; notes go to stderr. ``stream_audio(client, write)`` makes the request.

    A terminal is refused unless ``--force``: audio bytes would garble it (and may hold escape sequences).
    """
    if ctx.args.json:
        raise UsageError("--json describes a written file: with -o - the audio itself goes to standard output")
    if _isatty(ctx.out) and not ctx.args.force:
        raise UsageError(
            "refusing to write audio to a terminal (-o - with standard output on a terminal): redirect it "
            "(`> file.mp3`, `| ffplay -`), or pass --force"
        )
    output = _StandardOutputAudio(ctx.binary_out())
    with ctx.client() as client:
        try:
            audio = stream_audio(client, output.write)
        except (SpeakerAudioError, OutputError):
            if output.written:
                ctx.note(f"{format_size(output.written)} of audio had been written to standard output (not retried)")
            raise
    sniffed = sniff_media_type(output.head)
    duration = "?" if audio.duration_secs is None else f"{audio.duration_secs:.2f} s"  # a sample's may be unknown
    ctx.note(
        f"streamed {printable(name)} to standard output ({printable(audio.media_type)}, "
        f"sniffed {sniffed or 'unknown'}, {duration}, {format_size(output.written)})"
    )
    warning = media_type_warning(None, audio.media_type, sniffed)
    if warning is not None:
        ctx.warn(warning)
    return EXIT_OK


def cmd_get(ctx: Context) -> int:
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
        lambda client, on_progress: client.with_raw_response.download_speaker_audio(
            args.voice, args.sample, args.speaker, args.output, overwrite=args.overwrite, on_progress=on_progress
        ),
        {"voice_id": args.voice, "sample_id": args.sample, "speaker_id": args.speaker},
    )


def cmd_sample_audio(ctx: Context) -> int:
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
        lambda client, on_progress: client.with_raw_response.download_sample_audio(
            args.voice,
            args.sample,
            args.output,
            remove_background_noise=args.remove_background_noise,
            overwrite=args.overwrite,
            on_progress=on_progress,
        ),
        {"voice_id": args.voice, "sample_id": args.sample},
    )


def _print_status(ctx: Context, status: SeparationStatus) -> None:
    ctx.print(json_text(status_document(status, status.request_id)) if ctx.args.json else format_status(status))


def cmd_wait(ctx: Context) -> int:
    with ctx.client() as client:
        status = _wait(ctx, client, start=ctx.args.start)
    _print_status(ctx, status)
    return EXIT_OK


def cmd_status(ctx: Context) -> int:
    with ctx.client() as client:
        status = client.get_separation_status(ctx.args.voice, ctx.args.sample)
    _print_status(ctx, status)
    return EXIT_OK


def cmd_separate(ctx: Context) -> int:
    args = ctx.args
    with ctx.client() as client:
        client.start_speaker_separation(args.voice, args.sample)
        ctx.note(f"started speaker separation of {_ids(ctx)}")
        if not args.wait:
            return EXIT_OK
        status = _wait(ctx, client, already_started=True)
    ctx.print(format_status(status))
    return EXIT_OK


def cmd_download_all(ctx: Context) -> int:
    args = ctx.args
    if args.output == "-":
        raise ValueError(
            "download-all writes one file per speaker: -o - (standard output) works with get and sample-audio only"
        )
    directory = Path(args.output)  # created by download_all_speakers, and removed again if it stays empty
    with ctx.client() as client:
        if args.separate:
            client.start_speaker_separation(args.voice, args.sample)
            ctx.note(f"started speaker separation of {_ids(ctx)}")
            status = _wait(ctx, client, already_started=True)
            if not ctx.quiet:
                print(format_status(status), file=ctx.err, flush=True)
        else:
            status = client.get_separation_status(args.voice, args.sample)
        line = ctx.progress_line()
        progress = DownloadAllProgress(line, len(status.speakers))
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
        speakers = {
            speaker_id: file_document(path, progress.finals.get(speaker_id), speaker_id=speaker_id)
            for speaker_id, path in files.items()
        }
        # each speaker's request id is not known here (download_all_speakers gives paths): null
        document = {
            "voice_id": args.voice,
            "sample_id": args.sample,
            "directory": str(directory),
            "request_id": status.request_id,  # of the status read (or the wait's last poll)
        }
        ctx.print(json_text({**document, "speakers": speakers}))
    elif files:
        ctx.print(format_files(files, progress.finals, status))
    for speaker_id, path in files.items():  # each extension came from the server's media type: check the bytes
        final = progress.finals.get(speaker_id)
        media_type = final.media_type if final is not None else None
        warning = None if media_type is None else media_type_warning(path, media_type, sniff_file(path))
        if warning is not None:
            ctx.warn(warning)
    ctx.note(f"{len(files)} speaker file(s) in {directory}")
    return EXIT_OK


_CLIENT_ONLY_OPTIONS = {
    "api_key": "--api-key",
    "api_key_file": "--api-key-file",
    "base_url": "--base-url",
    "region": "--region",
    "total_timeout": "--total-timeout",
    "allow_insecure_http": "--allow-insecure-http",
    "headers": "--header",
}


def cmd_fake_server(ctx: Context) -> int:
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
        ctx.print(server.base_url)
        if ctx.out is not None:
            ctx.out.flush()
        voice, sample = server.demo_ids
        # the fake's own key (never a real one) goes into the example, so that it works as printed
        key = f"{API_KEY_ENV}={shlex.quote(server.api_key)} " if server.api_key is not None else ""
        ctx.note(
            f"fake ElevenLabs API on {server.base_url} (demo voice {voice!r}, sample {sample!r}); Ctrl-C stops it\n"
            f"  try: {key}{PROG} --base-url {server.base_url} download-all {voice} {sample} --separate -o out/"
            + ("" if args.verbose else "\n  (-v logs every request: method, path, status, duration)")
        )

    fake.run(on_ready=ready)  # until Ctrl-C or SIGTERM (main's interrupt_once)
    ctx.note("fake ElevenLabs API stopped")
    return EXIT_OK

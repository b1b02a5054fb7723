"""The entry point: parse, check what argparse cannot, set up logging and signals, run the command, report."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from speaker_audio import API_KEY_ENV
from speaker_audio.cli._commands import Context, writes_to_stdout
from speaker_audio.cli._errors import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    PROG,
    OutputError,
    error_line,
    exit_code_for,
)
from speaker_audio.cli._output import printable, printable_lines
from speaker_audio.cli._parser import build_parser
from speaker_audio.cli._signals import Terminated, interrupt_once

__all__ = ["main", "read_api_key_file"]

_KEY_FILE_LIMIT = 64 * 1024


class _PrintableFormatter(logging.Formatter):
    """Log records with control characters escaped (a retry's reason quotes the server)."""

    def format(self, record: logging.LogRecord) -> str:
        return printable_lines(super().format(record))


def read_api_key_file(path: str, stdin: TextIO | None = None) -> str:
    """The key held in the file ``path`` (``-``: standard input), without one trailing newline.

    At most 64 KiB are read (``/dev/zero`` or a large file by mistake must not exhaust memory).
    Raises ``ValueError`` for an empty key, one with a control character (a second line), or more than
    64 KiB; ``OSError`` when the file cannot be read. The key itself is never quoted in a message.
    """
    where = "standard input" if path == "-" else repr(path)
    try:
        if path == "-":
            data: str | bytes = (stdin or sys.stdin).read(_KEY_FILE_LIMIT + 1)
        else:
            with Path(path).open("rb") as file:
                data = file.read(_KEY_FILE_LIMIT + 1)
        if len(data) > _KEY_FILE_LIMIT:
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


@contextlib.contextmanager
def _logging(verbose: bool, err: TextIO) -> Iterator[None]:
    """With ``verbose``, the ``speaker_audio`` and ``httpx`` loggers' INFO records on ``err``; without it, none
    (the CLI says what matters itself: a drift WARNING would otherwise reach stderr through Python's last-resort
    handler beside the CLI's note). Undone on the way out."""
    handler: logging.Handler = logging.StreamHandler(err) if verbose else logging.NullHandler()
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in (("speaker_audio", "httpx") if verbose else ("speaker_audio",))]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        if verbose:
            logger.setLevel(logging.INFO)
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _replace_unencodable(stream: TextIO | None) -> None:
    """Let ``stream`` print what its encoding cannot encode as escapes (``\u2014``) instead of failing.

    With e.g. ``PYTHONIOENCODING=ascii`` or ``LANG=C``, a speaker table or an error naming a non-ASCII id
    would otherwise raise ``UnicodeEncodeError`` half-way through.
    """
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(AttributeError, ValueError, OSError):
            reconfigure(errors="backslashreplace")


def _usage_error(parser: argparse.ArgumentParser, err: TextIO, message: str) -> int:
    parser.print_usage(err)
    print(f"{PROG}: error: {printable(message)}", file=err)
    return EXIT_USAGE


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace, err: TextIO) -> int | None:
    """What argparse cannot check: exclusions across both positions, headers, the key file. ``None``: fine."""
    if args.base_url and args.region:
        return _usage_error(parser, err, "--base-url and --region cannot be used together")
    headers = [*(args.headers or []), *getattr(args, "headers_after_command", [])]
    names = [name.lower() for name, _ in headers]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        return _usage_error(parser, err, f"-H/--header: {', '.join(repeated)} given more than once")
    args.headers = headers
    if args.api_key_file is not None:
        try:
            if args.api_key is not None:
                raise ValueError("--api-key and --api-key-file cannot be used together")
            args.api_key = read_api_key_file(args.api_key_file)
        except (OSError, ValueError) as error:
            return _usage_error(parser, err, str(error))
    return None


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (``speaker-audio --help`` lists the commands).

    ``out`` and ``err`` default to ``sys.stdout`` and ``sys.stderr``; Python sets those to ``None`` when the
    process started with them closed: then a command that prints its result fails (exit code 1) rather than
    succeed silently, and nothing goes to a closed stderr.
    """
    stdout = out if out is not None else sys.stdout
    stderr = err if err is not None else (sys.stderr or io.StringIO())  # a closed stderr: nowhere to say it
    for stream in (stdout, stderr):
        _replace_unencodable(stream)
    parser = build_parser()
    try:  # argparse prints its help and errors on sys.stdout and sys.stderr: send them where the caller said
        with contextlib.redirect_stdout(stdout or stderr), contextlib.redirect_stderr(stderr):
            args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    for note in getattr(args, "deprecations", []):
        print(f"{PROG}: warning: {note}", file=stderr, flush=True)
    if args.command != "fake-server":
        problem = _check(parser, args, stderr)
        if problem is not None:
            return problem
    ctx = Context(args, stdout, stderr)
    if stdout is None and writes_to_stdout(args):  # before any request: its result could not be shown
        print(f"{PROG}: error: standard output is closed: {args.command} prints its result there", file=stderr)
        return EXIT_FAILURE
    # SIGTERM cleans up partial files just as Ctrl-C does; a second signal cannot cut that cleanup short,
    # nor the report and exit code that follow it
    # (called without arguments, main is the program's entry: the process exits next, so after a signal
    # the handlers are not restored, and a late second signal cannot kill it with a signal's status instead)
    with _logging(args.verbose, stderr), interrupt_once(restore_after_signal=argv is not None):
        return _run(ctx)


def _discard_stdout(stream: TextIO | None) -> None:
    """Point file descriptor of ``stream`` at /dev/null, so that the flush at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())  # type: ignore[union-attr]


def _run(ctx: Context) -> int:
    args, err = ctx.args, ctx.err
    run: Callable[[Context], int] = args.run
    try:
        code = run(ctx)
        if ctx.out is not None:
            try:
                ctx.out.flush()  # a full disk or a broken descriptor shows here, not at exit
            except BrokenPipeError:
                raise
            except OSError as error:
                raise OutputError(f"cannot write to standard output: {error.strerror or error}") from error
        return code
    except KeyboardInterrupt as interrupt:
        # the downloads under way were cancelled and their temporary files deleted; workers blocked in a
        # socket read are daemon threads that the exit does not wait for
        terminated = isinstance(interrupt, Terminated)
        print(f"{PROG}: {'terminated' if terminated else 'interrupted'}", file=err, flush=True)
        return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (e.g. `| head`): the work is done; exit as a piped tool does
        _discard_stdout(ctx.out)
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if isinstance(error, OutputError):
            _discard_stdout(ctx.out)
        if args.verbose:
            print(printable_lines("".join(traceback.format_exception(error))).rstrip("\n"), file=err)
        print(error_line(error, command=args.command, api_key_env=API_KEY_ENV), file=err)
        return exit_code_for(error)

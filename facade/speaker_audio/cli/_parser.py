"""The argument parser: global options (listed once, in ``speaker-audio --help``) and each command's own."""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

from speaker_audio import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    REGION_BASE_URLS,
    SpeakerAudioClient,
    __version__,
)
from speaker_audio.cli import _commands
from speaker_audio.cli._errors import PROG

__all__ = ["KEY_HEADER", "build_parser"]

KEY_HEADER = "xi-api-key"
"""The header that carries the API key: never settable with ``-H``."""

_DESCRIPTION = f"""\
Separate the speakers of an ElevenLabs PVC voice sample and download their audio.

The API key comes from ${API_KEY_ENV} or --api-key-file PATH ('-' reads standard input); --api-key KEY
works too but is visible to other users in `ps`. The server comes from --base-url, --region or
${BASE_URL_ENV} (default {DEFAULT_BASE_URL}). Try it without a key against the built-in fake API:

  speaker-audio fake-server --port 8765 &
  speaker-audio --base-url http://127.0.0.1:8765 download-all voice-demo sample-demo --separate -o out/

The global options below may also follow the command; `speaker-audio COMMAND --help` lists the command's own.
With --json, status, wait, get, sample-audio and download-all print one JSON document on stdout (ids, paths,
media types, durations, request ids) for scripts.
"""

_EPILOG = """\
exit codes: 0 ok, 1 other failure (e.g. a file exists, a destination that is not a regular file, standard
output closed), 2 usage error, 3 API error (error status, malformed response, separation failed/not
completed/timed out, an unusable speaker id from the server), 4 network error, 130 interrupted (Ctrl-C),
141 output pipe closed, 143 terminated (SIGTERM).
Errors are one line on stderr; -v adds the traceback and INFO logs (retries). Text from the server is
shown with control characters escaped."""

_COMMAND_EPILOG = "Global options (see `speaker-audio --help`) may also follow the command."


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


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)


def _header(text: str) -> tuple[str, str]:
    """``'Name: value'`` as ``(name, value)``; the key header is refused. The value is never echoed (it may be
    a credential)."""
    name, colon, value = text.partition(":")
    if not colon or not _TOKEN.fullmatch(name):
        raise argparse.ArgumentTypeError(
            "expected 'Name: value', a header name of letters, digits and !#$%&'*+-.^_`|~ before the colon"
        )
    if name.lower() == KEY_HEADER:
        raise argparse.ArgumentTypeError(
            f"the API key header {KEY_HEADER} cannot be set with -H: set ${API_KEY_ENV} or pass --api-key-file"
        )
    value = value.strip(" \t")
    if not all(" " <= char <= "~" or char == "\t" for char in value):
        raise argparse.ArgumentTypeError(f"the value of {name} must be printable ASCII on one line")
    return name, value


class _DeprecatedAlias(argparse.Action):
    """An old name of an option: stores under the new one's ``dest`` and records a deprecation note."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, replacement: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        notes = [*getattr(namespace, "deprecations", []), f"{option_string} is deprecated: use {self.replacement}"]
        namespace.deprecations = notes


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """The client and output options: described on the main parser; on a command's parser accepted but not
    listed, and without defaults (so that they do not undo the ones given before the command)."""
    group = parser.add_argument_group("global options (before or after the command)")
    # (hidden members of an exclusive group garble argparse's usage line: main checks the exclusion after the command)
    where = group if after_command else group.add_mutually_exclusive_group()

    def option(container: Any, *names: str, **kwargs: Any) -> None:
        if after_command:
            kwargs["default"] = argparse.SUPPRESS
            kwargs["help"] = argparse.SUPPRESS
        container.add_argument(*names, **kwargs)

    retries = inspect.signature(SpeakerAudioClient).parameters["max_retries"].default
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
        "-H",
        "--header",
        type=_header,
        action="append",
        metavar="'NAME: VALUE'",
        dest="headers_after_command" if after_command else "headers",
        help=f"send this header with every request (repeatable; e.g. a tracing header); not {KEY_HEADER}",
    )
    option(
        group,
        "--max-retries",
        type=_non_negative_int,
        metavar="N",
        help=f"retries of a failed request (default: {retries})",
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
        help="draw the progress line on stderr even when it is not a terminal (get, sample-audio, the waits, "
        "download-all)",
    )


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait-timeout",
        type=_positive_float,
        default=600.0,
        metavar="SECS",
        help="give up waiting for the separation after SECS (600)",
    )
    parser.add_argument(  # its old name, before the client's own timeouts were options too
        "--timeout",
        type=_positive_float,
        dest="wait_timeout",
        action=_DeprecatedAlias,
        replacement="--wait-timeout",
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--poll-interval", type=_positive_float, default=2.0, metavar="SECS", help="seconds between polls (2)"
    )


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print one JSON document on stdout: {what}")


def build_parser() -> argparse.ArgumentParser:
    """The ``speaker-audio`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, after_command=False)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description,
            epilog=_COMMAND_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_global_options(sub, after_command=True)
        return sub

    def ids(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("voice", metavar="VOICE", help="the voice id")
        sub.add_argument("sample", metavar="SAMPLE", help="the sample id")

    def to_stdout(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--force",
            action="store_true",
            help="with -o -, write the audio even when standard output is a terminal (refused otherwise)",
        )

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
    to_stdout(get)
    _json_option(get, "ids, path, media type, duration, sniffed type, size and request id (not with -o -)")
    get.set_defaults(run=_commands.cmd_get)

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
    to_stdout(sample_audio)
    _json_option(sample_audio, "ids, path, media type, duration, sniffed type, size and request id (not with -o -)")
    sample_audio.set_defaults(run=_commands.cmd_sample_audio)

    status = command(
        "status",
        "show the separation status and speakers",
        "Show a sample's speaker-separation status and, once completed, its speakers\n"
        "(duration, number of utterances, whether selected).",
    )
    ids(status)
    _json_option(status, "ids, status, speakers with their utterances, selected speakers and request id")
    status.set_defaults(run=_commands.cmd_status)

    separate = command(
        "separate",
        "start speaker separation",
        "Start speaker separation of a sample; with --wait, wait until it completes\nand print its speakers.",
    )
    ids(separate)
    separate.add_argument("--wait", action="store_true", help="wait for the separation to complete")
    _wait_options(separate)
    separate.set_defaults(run=_commands.cmd_separate)

    wait = command(
        "wait",
        "wait for speaker separation to complete",
        "Wait until a sample's speaker separation completes and print its speakers.\n"
        "A separation that was never started fails at once (exit 3), unless --start starts it.\n"
        "A status that this version does not know is waited through (with a note on stderr).",
    )
    ids(wait)
    wait.add_argument("--start", action="store_true", help="start the separation if it was never started")
    _json_option(wait, "the final status as `status --json` prints it (ids, speakers, request id)")
    _wait_options(wait)
    wait.set_defaults(run=_commands.cmd_wait)

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
    _json_option(
        download_all,
        "ids, directory, the status read's request id, and per speaker its path, media type, duration and size",
    )
    _wait_options(download_all)
    download_all.set_defaults(run=_commands.cmd_download_all)

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
    fake_server.set_defaults(run=_commands.cmd_fake_server)
    return parser

"""Exit codes, and the one line on stderr that says what went wrong and, for an error's ``hint``, what to do."""

from __future__ import annotations

from speaker_audio import (
    APIConnectionError,
    InsecureTransportError,
    InvalidBaseUrlError,
    InvalidIdError,
    SpeakerAudioError,
    SpeakerDownloadError,
)
from speaker_audio.cli._output import printable

__all__ = [
    "CLI_WORDING",
    "EXIT_API",
    "EXIT_BROKEN_PIPE",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "PROG",
    "OutputError",
    "UsageError",
    "error_line",
    "exit_code_for",
]

PROG = "speaker-audio"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_API = 3
EXIT_NETWORK = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as tools killed by a closed pipe report
EXIT_TERMINATED = 143  # 128 + SIGTERM

# The CLI's words for each hint code of speaker_audio.errors ({message}: what happened, the error's args[0]).
CLI_WORDING = {
    "start_separation": "{message}: run `separate` first, or pass --start",
    "wait_for_separation": "{message} (run `separate --wait` first)",
    "set_api_key": "{message} (set ${env} or pass --api-key-file)",
    "allow_insecure_http": (
        "{message}; use an https:// --base-url, or pass --allow-insecure-http if you accept that anyone on the "
        "path (or an HTTP_PROXY from the environment) can read the key"
    ),
    "total_timeout": "--total-timeout of {message}",
    "overwrite": "{message}; pass --overwrite to replace it",
    "base_url": "{message}: did you mean --base-url …?",
}
# where a command has its own way to avoid the error
_COMMAND_WORDING = {
    ("download-all", "wait_for_separation"): "{message} (run `separate --wait` first, or pass --separate)",
}


class OutputError(Exception):
    """Standard output cannot take what the command prints (closed, or a write failed); exit code 1."""


class UsageError(Exception):
    """Arguments that cannot work together, found when the command runs; exit code 2."""


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error: 2 usage, 3 API, 4 network, 1 anything else."""
    if isinstance(error, UsageError):
        return EXIT_USAGE
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


def _shortened(speaker_id: str) -> str:
    """``speaker_id`` quoted, its start only when long (an id that the server lists may be of any length)."""
    return repr(speaker_id) if len(speaker_id) <= 80 else f"{speaker_id[:60]!r}… ({len(speaker_id)} characters)"


def _text(error: BaseException, command: str | None, api_key_env: str) -> str:
    """What ``error`` says, in the CLI's words when it carries a ``hint``.

    A ``SpeakerDownloadError`` is told from its attributes, with its cause in the CLI's words.
    """
    cause = error.__cause__
    if isinstance(error, SpeakerDownloadError) and cause is not None:
        total = len(error.completed) + len(error.not_downloaded)
        return (
            f"speaker {_shortened(error.speaker_id)} was not downloaded: {type(cause).__name__}: "
            f"{_text(cause, command, api_key_env)} ({len(error.completed)} of {total} speakers downloaded)"
        )
    hint = getattr(error, "hint", None)  # SpeakerAudioError's, or one set on a FileExistsError or ValueError
    wording = _COMMAND_WORDING.get((command or "", hint or "")) or CLI_WORDING.get(hint or "")
    if wording is None or not error.args or not isinstance(error.args[0], str):
        return str(error)
    return wording.format(message=error.args[0], env=api_key_env)


def error_line(error: BaseException, *, command: str | None, api_key_env: str) -> str:
    """``speaker-audio: error: TYPE: MESSAGE`` on one line, with control characters escaped."""
    if isinstance(error, OutputError | UsageError):  # the CLI's own: no Python class name
        return f"{PROG}: error: {printable(str(error))}"
    text = printable(" ".join(_text(error, command, api_key_env).split())) or "(no details)"  # server text
    return f"{PROG}: error: {type(error).__name__}: {text}"

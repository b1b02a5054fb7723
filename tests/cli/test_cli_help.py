"""The help: ``speaker-audio --help`` lists the global options once; each command's ``--help`` lists only its own
options, and the global ones still work after the command."""

from __future__ import annotations

import argparse
import io
import re

import pytest

from speaker_audio.cli import main
from speaker_audio.cli._parser import build_parser
from speaker_audio.testing import FakeElevenLabs

CLIENT_COMMANDS = ["get", "sample-audio", "status", "separate", "wait", "download-all"]
JSON_COMMANDS = ["get", "sample-audio", "status", "wait", "download-all"]


def _command_help(parser: argparse.ArgumentParser, command: str) -> str:
    """The text of ``speaker-audio COMMAND --help``."""
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return str(commands.choices[command].format_help())


def listed_options(help_text: str) -> list[str]:
    """The long option names that ``help_text`` describes (one per line that starts with an option)."""
    names = []
    for line in help_text.splitlines():
        match = re.match(r"^  (-[\w-]+)(?: [^,]+)?(?:, (--[\w-]+))?", line)
        if match:
            names.append(match.group(2) or match.group(1))
    return names


def global_options() -> list[str]:
    text = build_parser().format_help()
    section = text[text.index("\nglobal options (before or after the command):\n") : text.index("exit codes:")]
    return listed_options(section)


def test_the_global_options_are_listed_once_in_the_main_help() -> None:
    options = global_options()
    assert {"--api-key", "--api-key-file", "--base-url", "--region", "--header", "--max-retries"} <= set(options)
    assert {"--total-timeout", "--allow-insecure-http", "--verbose", "--quiet", "--progress"} <= set(options)
    assert len(options) == len(set(options))
    assert listed_options(build_parser().format_help()).count("--api-key") == 1


@pytest.mark.parametrize("command", [*CLIENT_COMMANDS, "fake-server"])
def test_a_commands_help_lists_only_its_own_options(command: str) -> None:
    text = _command_help(build_parser(), command)
    usage = text[: text.index("\n\n")]
    own = listed_options(text)
    assert "--help" in own
    for option in global_options():
        if command == "fake-server" and option in ("--verbose", "--quiet"):
            continue  # the fake server's own -v and -q (its request log, its notes)
        assert option not in own
        assert f"[{option}" not in usage


def test_status_does_not_offer_progress() -> None:
    text = _command_help(build_parser(), "status")
    assert "--progress" not in text
    assert listed_options(text) == ["--help", "--json"]


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_json_is_offered_and_says_what_it_prints(command: str) -> None:
    text = " ".join(_command_help(build_parser(), command).split())
    assert "--json print one JSON document on stdout" in text
    assert "request id" in text


@pytest.mark.parametrize(
    ("argv", "attribute", "value"),
    [
        (["--api-key", "k"], "api_key", "k"),
        (["--base-url", "http://127.0.0.1:9"], "base_url", "http://127.0.0.1:9"),
        (["--region", "eu"], "region", "eu"),
        (["--max-retries", "0"], "max_retries", 0),
        (["--total-timeout", "2.5"], "total_timeout", 2.5),
        (["--allow-insecure-http"], "allow_insecure_http", True),
        (["-v"], "verbose", True),
        (["-q"], "quiet", True),
        (["--progress"], "progress", True),
    ],
)
def test_a_global_option_works_before_and_after_the_command(argv: list[str], attribute: str, value: object) -> None:
    before = build_parser().parse_args([*argv, "status", "v", "s"])
    after = build_parser().parse_args(["status", "v", "s", *argv])
    assert getattr(before, attribute) == getattr(after, attribute) == value


def test_headers_before_and_after_the_command_are_all_kept(
    fake: FakeElevenLabs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from speaker_audio.cli import _commands

    seen: list[object] = []

    def record(ctx: _commands.Context) -> int:
        seen.append(ctx.args.headers)
        return 0

    monkeypatch.setattr(_commands, "cmd_status", record)
    argv = ["-H", "x-one: 1", "--base-url", fake.base_url, "status", "v", "s", "--header", "x-two:  2 "]
    assert main(argv, out=io.StringIO(), err=io.StringIO()) == 0
    assert seen == [[("x-one", "1"), ("x-two", "2")]]

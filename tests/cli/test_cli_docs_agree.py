"""docs/cli.md agrees with ``--help``: each command's synopsis names exactly the options its help lists, the global
options it names are the ones ``speaker-audio --help`` lists, and no option it names is unknown or deprecated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_cli_help import _command_help, global_options, listed_options

from speaker_audio.cli._parser import build_parser

DOC = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
COMMANDS = ["status", "separate", "wait", "get", "sample-audio", "download-all", "fake-server"]
SHORT = {"-o": "--output", "-v": "--verbose", "-q": "--quiet", "-H": "--header"}


def synopsis(command: str) -> str:
    """The line of docs/cli.md's command list for ``command``, without its comment."""
    block = DOC[DOC.index("## Commands and options") :]
    block = block[block.index("```sh") : block.index("```", block.index("```sh") + 5)]
    (line,) = [line for line in block.splitlines() if line.startswith(f"speaker-audio {command} ")]
    return line.split("  #")[0]


def named_options(text: str) -> set[str]:
    return {SHORT.get(option, option) for option in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", text)}


@pytest.mark.parametrize("command", COMMANDS)
def test_the_synopsis_names_exactly_the_options_of_the_help(command: str) -> None:
    listed = set(listed_options(_command_help(build_parser(), command))) - {"--help"}
    assert named_options(synopsis(command)) == listed


def test_the_global_options_named_are_the_helps() -> None:
    text = DOC[DOC.index("Global options:") : DOC.index("Downloads draw a progress line")]
    named = named_options(text) - {"--help"}
    assert named == set(global_options())


def test_no_deprecated_option_is_documented_as_current() -> None:
    assert "--timeout SECS`" not in DOC.replace("`--timeout SECS`, its old name", "")

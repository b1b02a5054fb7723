"""The README, the help and the Makefile agree with the program (issue 12 item 7).

Every error class of ``speaker_audio.errors`` is in the README's error table and every name there is
one; the exit codes in the README, in ``speaker-audio --help`` and in ``speaker_audio.cli`` are the same set; every
Makefile target is listed by ``make help`` with its ``##`` text, and the README mentions ``make help``.
"""

from __future__ import annotations

import builtins
import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from speaker_audio import cli, errors
from speaker_audio.cli import _errors
from speaker_audio.cli._parser import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end >= 0 else None]


def test_the_readme_error_table_names_exactly_the_error_classes() -> None:
    section = readme_section("Errors and retries")
    table = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [line.split(" | ")[0] for line in table]
    # Python's own bases (``InvalidIdError`` is also a `ValueError`) are not ours
    named = {name for cell in cells for name in re.findall(r"`(\w+Error)`", cell) if not hasattr(builtins, name)}
    named |= set(re.findall(r"`speaker_audio\.(\w+Error)`", section))  # the base, in the sentence above the table
    classes = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.SpeakerAudioError)
    }
    assert named == classes, f"missing from the README: {classes - named}; not in the program: {named - classes}"


def program_exit_codes() -> set[int]:
    return {value for name, value in vars(_errors).items() if name.startswith("EXIT_") and isinstance(value, int)}


def test_the_readme_exit_codes_are_the_programs() -> None:
    section = readme_section("Command line")
    rows = re.findall(r"^\| (\d+) \| ", section, flags=re.MULTILINE)
    assert {int(code) for code in rows} == program_exit_codes()


def test_the_help_exit_codes_are_the_programs() -> None:
    epilog = " ".join(build_parser().epilog.split())  # type: ignore[union-attr]
    listed = epilog[epilog.index("exit codes:") : epilog.index("Errors are")]
    assert {int(code) for code in re.findall(r"(?:^|[:,] )(\d+) ", listed)} == program_exit_codes()
    assert {int(code) for code in re.findall(r"\b(\d{1,3}) ", cli.__doc__ or "")} >= program_exit_codes()


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-zA-Z][\w-]*):(?!=)", text, flags=re.MULTILINE))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target_with_its_text() -> None:
    result = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    described = dict(re.findall(r"^  (\S+) +(\S.*)$", result.stdout, flags=re.MULTILINE))
    targets = makefile_targets()
    assert {"help", "install", "test", "demo"} <= targets
    assert targets == set(described), f"without a ## text: {targets - set(described)}"


def test_the_readme_mentions_make_help() -> None:
    assert "`make help`" in readme_section("Make targets")

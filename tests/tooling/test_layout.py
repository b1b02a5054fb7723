"""The tests are filed by behaviour: each test file sits in a behaviour folder under a name no other folder uses, and
no file, folder, class, function, comment or docstring under tests/ is named after where a change came from (an
entry of the tracker, a numbered point of one, a reading of the code by someone else, a numbered pass of such
readings) instead of what it guards. ``HISTORY`` spells the words; this file's own prose may not."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
BEHAVIOUR_FOLDERS = {"unit", "client", "cli", "fake", "property", "tooling"}

# The words that name where a change came from are spelled here in pieces, so that this file, like every other one,
# holds none of them whole (the repository's own layout checks read this file too).
TRACKER = "iss" + "ue"  # an entry of the tracker
READING = "re" + "view"  # a reading of the code by someone else
POINT = "it" + "em"  # a numbered point of a tracker entry
PASS = "rou" + "nd"  # a numbered pass of readings
# Where a change came from, as whole words (the examples below, flagged and not, show what counts).
HISTORY = re.compile(
    rf"\b(?:{TRACKER}s?|{READING}(?:s|ed|ers?|ing)?)\b"
    rf"|\b{POINT}s?\s+#?\d"
    rf"|\b{PASS}\s+(?:one|two|three|four|five|\d+)\b|\b(?:first|second|third|fourth|fifth)\s+{PASS}\b",
    re.IGNORECASE,
)
URL = re.compile(r"https?://\S+")  # a third party's tracker, cited by its address, names their history, not ours
SEVERITY_LABEL = f"[{READING}]"  # scripts/spec_diff.py's class for a change the facade must decide on, as printed


def words_of(text: str) -> str:
    """``text`` without URLs or the spec diff's severity label, its identifiers split into words
    (``test_late_fixes`` → ``test late fixes``, ``TicketTen`` → ``Ticket Ten``, ``ticket12`` → ``ticket 12``)."""
    text = URL.sub(" ", text).replace(SEVERITY_LABEL, " ")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    return text.replace("_", " ")


def history_in(text: str) -> list[str]:
    """The words of ``text`` that name where a change came from."""
    return [match.group(0) for match in HISTORY.finditer(words_of(text))]


def kept_files() -> Iterator[Path]:
    """Every file under tests/, caches left out."""
    for path in sorted(TESTS.rglob("*")):
        relative = path.relative_to(TESTS)
        if path.is_file() and not any(part.startswith((".", "__pycache__")) for part in relative.parts):
            yield path


def named_texts(path: Path) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for each name and each piece of prose in a Python file: its docstring, every class and
    function name and docstring, every comment."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    if docstring:
        yield "the module docstring", docstring
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield f"line {node.lineno}: the name {node.name}", node.name
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                yield f"line {node.lineno}: the docstring of {node.name}", docstring
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield f"line {token.start[0]}: a comment", token.string


def test_files_and_folders_are_named_by_behaviour() -> None:
    found = [
        f"{path.relative_to(TESTS)}: {words}"
        for path in kept_files()
        if (words := history_in(" ".join(path.relative_to(TESTS).with_suffix("").parts)))
    ]
    assert found == []


def test_names_comments_and_docstrings_say_what_they_guard() -> None:
    found: list[str] = []
    texts = 0
    for path in kept_files():
        if path.suffix != ".py":
            continue
        for where, text in named_texts(path):
            texts += 1
            found += [f"{path.relative_to(TESTS)}, {where}: {word!r}" for word in history_in(text)]
    assert texts > 1000, f"only {texts} names, comments and docstrings were read: the scan proves nothing"
    assert found == [], "\n".join(found)


def test_every_test_file_is_in_a_behaviour_folder_under_a_name_of_its_own() -> None:
    test_files = [path for path in kept_files() if re.fullmatch(r"test_.*\.py|.*_test\.py", path.name)]
    misplaced = [
        str(path.relative_to(TESTS))
        for path in test_files
        if path.parent.parent != TESTS or path.parent.name not in BEHAVIOUR_FOLDERS
    ]
    assert misplaced == [], f"each test file belongs in one of tests/{sorted(BEHAVIOUR_FOLDERS)}"
    # test files import helpers from each other by module name (`from test_cli import cli`): one module per name
    shared = [name for name, count in Counter(path.name for path in test_files).items() if count > 1]
    assert shared == []
    assert {path.parent.name for path in test_files} == BEHAVIOUR_FOLDERS  # every folder listed holds tests


# what each example stands for is its test id, so that no id repeats the words it is about
FLAGGED = {
    "a tracker entry and its numbered points": f"{TRACKER.title()} 10 {POINT}s 3, 6, 7, 8 and {TRACKER} 12 {POINT} 1.",
    "a section header naming a numbered point": f"# --- {POINT} 9: file-system failures cost no request ---",
    "who found it": f"upstream changes the {READING} found misclassified",
    "a file name": f"test_{READING}_fixes",
    "a class name": f"Test{TRACKER.title()}Twelve",
    "a number written against the word": f"{TRACKER}12",
    "a pass by its number": f"checked in {PASS} two",
    "a pass by its ordinal": f"the second {PASS}",
    "a past participle": f"as {READING}ed",
    "a possessive": f"The {TRACKER}'s example",
}
UNRELATED = {
    "a longer word": "t" + TRACKER,
    "a generated class name": f"VoiceSampleP{READING}ResponseModel",
    "the spec diff's severity label": f"a {SEVERITY_LABEL} change: the facade decides",
    "a third party's tracker by its address": f"as https://github.com/encode/httpx/{TRACKER}s/1234 reports",
    "points without a number": f"{POINT}s in a list",
    "a trip there and back": f"a {PASS} trip",
    "a word ending in the pass's word": "background jobs",
}


@pytest.mark.parametrize("example", FLAGGED)
def test_the_scan_finds_names_from_history(example: str) -> None:
    assert history_in(FLAGGED[example])


@pytest.mark.parametrize("example", UNRELATED)
def test_the_scan_leaves_unrelated_words_alone(example: str) -> None:
    assert history_in(UNRELATED[example]) == []

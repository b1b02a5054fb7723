"""Write the sync client from the async one: facade/speaker_audio/_async_client.py -> _client.py.

As httpcore does (its ``scripts/unasync.py``): the async client is the only hand-written one, and the sync
client is the same text with each substitution below applied, word by word. ``--check`` fails when
``_client.py`` differs from what this script writes (someone edited it by hand, or forgot to run it) and
when a substitution no longer applies anywhere (the table has drifted from the source).

Usage: python scripts/unasync.py [--check]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "facade" / "speaker_audio"
SOURCE = PACKAGE / "_async_client.py"
TARGET = PACKAGE / "_client.py"

# (pattern, replacement), applied in order; a pattern is a regular expression matched on whole words
SUBSTITUTIONS: tuple[tuple[str, str], ...] = (
    (r"AsyncSpeakerAudioClient", "SpeakerAudioClient"),
    (r"AsyncRawResponses", "RawResponses"),
    (r"Awaitable\[RawResponse\[T\]\]", "RawResponse[T]"),
    (r"Awaitable\[T\]", "T"),
    (r"Awaitable, Callable, Mapping", "Callable, Mapping"),
    (r"httpx\.AsyncClient", "httpx.Client"),
    (r"_async_io", "_sync_io"),
    (r"async def", "def"),
    (r"async for", "for"),
    (r"async with", "with"),
    (r"await ", ""),
    (r"aiter_raw", "iter_raw"),
    (r"aclose", "close"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"Async client for", "Client for"),
)

HEADER = (
    '"""The sync client. Generated from _async_client.py by scripts/unasync.py: do not edit (make generate).\n\n'
    "Everything here is the async client's text without ``async``/``await``; what differs (sleeping, file\n"
    "work, threads against tasks) lives in ``_sync_io``, the twin of ``_async_io``.\n"
    '"""\n'
)

_COMPILED = [
    (re.compile(rf"\b{pattern}\b" if pattern[-1].isalnum() or pattern[-1] == "_" else rf"\b{pattern}"), replacement)
    for pattern, replacement in SUBSTITUTIONS
]


def unasync(text: str) -> tuple[str, list[str]]:
    """The sync text of ``text``, and the substitutions that applied nowhere."""
    body = text.split('"""\n', 1)[1] if text.startswith('"""') else text  # drop the module docstring
    unused = []
    for (pattern, replacement), (original, _) in zip(_COMPILED, SUBSTITUTIONS, strict=True):
        body, count = pattern.subn(replacement, body)
        if count == 0:
            unused.append(original)
    return tidy(HEADER + body), unused


def tidy(text: str) -> str:
    """``text`` with its imports sorted and formatted by the project's ruff (the substitutions reorder names)."""
    ruff = [str(Path(sys.executable).with_name("ruff")), "--quiet"]
    name = ["--stdin-filename", str(TARGET)]
    fixed = subprocess.run(
        [*ruff, "check", "--fix-only", "--select", "I", *name, "-"],
        input=text,
        text=True,
        capture_output=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return subprocess.run(
        [*ruff, "format", *name, "-"], input=fixed, text=True, capture_output=True, check=True, cwd=ROOT
    ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if _client.py is not what this script writes")
    args = parser.parse_args(argv)
    text, unused = unasync(SOURCE.read_text(encoding="utf-8"))
    if unused:
        print(f"unasync: substitutions that no longer apply to {SOURCE.name}: {', '.join(unused)}", file=sys.stderr)
        return 1
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(
                f"unasync: {TARGET.relative_to(ROOT)} differs from what scripts/unasync.py writes from "
                f"{SOURCE.name}: edit the async client, then run `make generate`",
                file=sys.stderr,
            )
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

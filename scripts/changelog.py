"""CHANGELOG.md in the Keep a Changelog format: read a version's section, add an entry under ``## [Unreleased]``.

Used by ``scripts/pin_spec.py`` (a pin's entry lands under Unreleased) and ``scripts/api_check.py`` (a breaking
change is accepted only when the new major version's section names it).
"""

from __future__ import annotations

import re

UNRELEASED = "Unreleased"
# Keep a Changelog's order of the ``### …`` subsections inside a version
ORDER = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]
HEADER = (
    "# Changelog\n\n"
    "All notable changes to this project are documented in this file.\n"
    "The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\n"
    "and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n\n"
)
_VERSION_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\]")
_SUBSECTION_HEADING = re.compile(r"^### (?P<title>.+?)\s*$")


def _section_span(lines: list[str], version: str) -> tuple[int, int] | None:
    """Line range of ``## [version]`` (its heading excluded), up to the next ``## `` heading."""
    start = next(
        (i for i, line in enumerate(lines) if (m := _VERSION_HEADING.match(line)) and m["version"] == version), None
    )
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start + 1, end


def section(text: str, version: str) -> str | None:
    """The body of the ``## [version]`` section (``"Unreleased"`` for the one in progress), or ``None``."""
    lines = text.splitlines()
    span = _section_span(lines, version)
    return None if span is None else "\n".join(lines[span[0] : span[1]])


def versions(text: str) -> list[str]:
    """The versions that have a section, newest first (as written)."""
    return [m["version"] for line in text.splitlines() if (m := _VERSION_HEADING.match(line))]


def bullets(body: str) -> list[tuple[str | None, str]]:
    """``(subsection title or None, bullet text)`` for every bullet of a section; continuation lines joined."""
    found: list[tuple[str | None, str]] = []
    title: str | None = None
    for line in body.splitlines():
        if m := _SUBSECTION_HEADING.match(line):
            title = m["title"]
        elif line.lstrip().startswith(("- ", "* ")) and not line.startswith(" "):
            found.append((title, line.strip()[2:]))
        elif line.strip() and found and line.startswith(" "):
            found[-1] = (found[-1][0], f"{found[-1][1]} {line.strip()}")
    return found


def _parse_entry(entry: list[str]) -> dict[str, list[str]]:
    """``### Title`` + bullet lines into ``{title: [lines]}`` (lines before any title go under Changed)."""
    parsed: dict[str, list[str]] = {}
    title = "Changed"
    for line in entry:
        if m := _SUBSECTION_HEADING.match(line):
            title = m["title"]
        elif line.strip():
            parsed.setdefault(title, []).append(line.rstrip())
    return parsed


def _strip_blank(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return lines


def add_to_unreleased(text: str, entry: list[str]) -> str:
    """``text`` with ``entry`` (``### Title`` lines and bullets) merged into ``## [Unreleased]``.

    Bullets go to the end of the subsection of the same title, which is created in Keep a Changelog's order
    when missing; the Unreleased section is created above the newest version when missing.
    """
    new = _parse_entry(entry)
    if not new:
        return text
    if not text.strip():
        text = HEADER
    lines = text.splitlines()
    span = _section_span(lines, UNRELEASED)
    if span is None:
        at = next((i for i, line in enumerate(lines) if line.startswith("## ")), len(lines))
        lines[at:at] = [f"## [{UNRELEASED}]", ""]
        span = (at + 1, at + 2)
    start, end = span
    body = lines[start:end]
    preamble: list[str] = []
    subsections: dict[str, list[str]] = {}
    current: list[str] = preamble
    for line in body:
        if m := _SUBSECTION_HEADING.match(line):
            current = subsections.setdefault(m["title"], [])
        else:
            current.append(line)
    for title, added in new.items():
        subsections[title] = [*_strip_blank(subsections.get(title, [])), *added]

    def rank(title: str) -> int:
        return ORDER.index(title) if title in ORDER else len(ORDER)

    rendered = [""]
    if _strip_blank(preamble):
        rendered += [*_strip_blank(preamble), ""]
    for title in sorted(subsections, key=rank):  # stable: unknown titles keep their order, last
        rendered += [f"### {title}", *_strip_blank(subsections[title]), ""]
    lines[start:end] = rendered
    return "\n".join(lines).rstrip("\n") + "\n"

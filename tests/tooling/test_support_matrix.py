"""The support matrix says one thing everywhere: pyproject, docs/compatibility.md (which the README links to), the
noxfile and the lowest constraints.

Fast and static: reads files only (the noxfile is parsed, not imported, so this runs where nox is not installed,
e.g. in the matrix's own lowest leg).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMPATIBILITY = (ROOT / "docs" / "compatibility.md").read_text(encoding="utf-8")
NOXFILE = ROOT / "scripts" / "noxfile.py"
CONSTRAINTS = ROOT / "scripts" / "constraints-lowest.txt"
SECTION = "## Pythons and dependencies"
SECTION_LINK = "docs/compatibility.md#pythons-and-dependencies"


def _noxfile_pythons() -> tuple[str, ...]:
    """The noxfile's PYTHONS, read from its source (importing it would need nox)."""
    for node in ast.parse(NOXFILE.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PYTHONS" for t in node.targets):
            value = ast.literal_eval(node.value)
            assert isinstance(value, tuple), "PYTHONS is a tuple"
            assert all(isinstance(v, str) and re.fullmatch(r"3\.\d+", v) for v in value), value
            return value
    raise AssertionError(f"PYTHONS is not a literal assignment in {NOXFILE}")


NOX_PYTHONS = _noxfile_pythons()


def _table_section() -> str:
    assert SECTION in COMPATIBILITY, f"docs/compatibility.md has no {SECTION!r} section"
    section = COMPATIBILITY.split(SECTION, 1)[1]
    return section.split("\n## ", 1)[0]


def _table_rows(text: str) -> list[list[str]]:
    """The body rows of every markdown table in `text`, as stripped cells (header and rule rows left out)."""
    rows: list[list[str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("|"):
            continue
        if re.fullmatch(r"\|[\s:|-]+\|", line) or (i + 1 < len(lines) and re.fullmatch(r"\|[\s:|-]+\|", lines[i + 1])):
            continue
        rows.append([cell.strip().strip("`") for cell in line.strip().strip("|").split("|")])
    return rows


def _tabled_pythons() -> list[str]:
    return [row[0] for row in _table_rows(_table_section()) if re.fullmatch(r"3\.\d+", row[0])]


def _tabled_dependency(name: str) -> list[str]:
    rows = [row for row in _table_rows(_table_section()) if row[0] == name]
    assert len(rows) == 1, f"the {SECTION!r} table of docs/compatibility.md needs exactly one row for {name}"
    return rows[0]


def _floors() -> dict[str, str]:
    """Each runtime dependency's lowest allowed version, from pyproject's `>=`."""
    floors: dict[str, str] = {}
    for text in PROJECT["dependencies"]:
        requirement = Requirement(text)
        (floor,) = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        floors[requirement.name] = floor
    return floors


def _release(version: str) -> tuple[int, ...]:
    """ "0.27" and "0.27.0" are the same release."""
    parts = [int(part) for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def test_the_noxfile_lists_the_supported_pythons_oldest_first() -> None:
    assert len(NOX_PYTHONS) >= 2
    assert list(NOX_PYTHONS) == sorted(NOX_PYTHONS, key=_release)


def test_classifiers_name_exactly_the_supported_pythons() -> None:
    classifiers: list[str] = PROJECT["classifiers"]
    prefix = "Programming Language :: Python :: "
    minors = [c.removeprefix(prefix) for c in classifiers if re.fullmatch(re.escape(prefix) + r"3\.\d+", c)]
    assert minors == list(NOX_PYTHONS)
    assert prefix + "3" in classifiers
    assert prefix + "3 :: Only" in classifiers
    assert "Typing :: Typed" in classifiers
    # The licence is PEP 639's SPDX expression; a "License ::" classifier beside it is deprecated (PyPI refuses it).
    assert PROJECT["license"] == "MIT"
    assert not [c for c in classifiers if c.startswith("License :: ")]


def test_requires_python_starts_at_the_oldest_supported_python() -> None:
    requires = SpecifierSet(PROJECT["requires-python"])
    oldest = NOX_PYTHONS[0]
    major, minor = (int(part) for part in oldest.split("."))
    assert f"{oldest}.0" in requires
    assert f"{major}.{minor - 1}.99" not in requires, f"requires-python {requires} admits a Python older than {oldest}"
    for version in NOX_PYTHONS:
        assert f"{version}.0" in requires


def test_the_table_lists_the_supported_pythons() -> None:
    assert _tabled_pythons() == list(NOX_PYTHONS)


def test_the_readme_links_to_the_table() -> None:
    assert f"]({SECTION_LINK})" in README


def test_this_python_is_a_supported_one() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in NOX_PYTHONS


def test_the_lowest_leg_pins_the_floors_of_pyproject() -> None:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    floors = _floors()
    assert set(pins) == set(floors), "scripts/constraints-lowest.txt pins exactly the runtime dependencies"
    for name, floor in floors.items():
        assert _release(pins[name]) == _release(floor), f"{name}: pyproject's floor {floor}, pinned {pins[name]}"


@pytest.mark.parametrize("name", ["httpx", "attrs"])
def test_the_table_states_the_tested_range_of_each_dependency(name: str) -> None:
    requirement = next(Requirement(r) for r in PROJECT["dependencies"] if Requirement(r).name == name)
    row = _tabled_dependency(name)
    # | dependency | pyproject allows | lowest tested | newest tested |
    assert SpecifierSet(row[1]) == requirement.specifier
    assert _release(row[2]) == _release(_floors()[name])
    assert row[3] in requirement.specifier, f"{name} {row[3]} in docs/compatibility.md is not allowed by {requirement}"


def test_make_matrix_exists_and_is_named_beside_the_table_and_in_the_readme() -> None:
    assert re.search(r"^matrix:", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    make_targets = README.split("## Make targets", 1)[1].split("\n## ", 1)[0]
    assert "`matrix`" in make_targets
    assert "make matrix" in _table_section()

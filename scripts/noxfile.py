"""The support matrix: the test suite on every supported Python, and on the lowest dependency set.

Run through `make matrix` (which prints a summary with each leg's tests and duration), or directly:

    nox -f scripts/noxfile.py                 # every leg
    nox -f scripts/noxfile.py -s tests-3.13   # one leg; arguments after `--` go to pytest

Legs: ``tests-3.11``, ``tests-3.12``, ``tests-3.13`` (each Python with the newest dependencies that pyproject
allows, even where a dev tool caps one lower) and ``lowest`` (the oldest Python with httpx and attrs pinned to their
floors by ``scripts/constraints-lowest.txt``). Each leg gets a fresh venv under ``.matrix/`` with the package
installed in editable mode. A Python that is not installed (looked for on PATH, then in pyenv's versions folder) is
skipped with its reason, not failed, unless nox is given ``--error-on-missing-interpreters`` (as CI does for the
legs it runs). Each leg writes ``.matrix/<leg>.json`` (interpreter, httpx, attrs) and ``.matrix/<leg>.xml``
(pytest's JUnit report) for the summary.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import nox

# The supported Pythons: the same list as pyproject's classifiers and requires-python and docs/compatibility.md's table
# (tests/tooling/test_support_matrix.py checks that they agree). The first is the oldest.
PYTHONS = ("3.11", "3.12", "3.13")
ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"
LOWEST_CONSTRAINTS = ROOT / "scripts" / "constraints-lowest.txt"
# Dev tools that cannot be installed beside the lowest set and that no test imports: nox needs attrs>=24.1.
NOT_IN_LOWEST = frozenset({"nox"})

nox.options.envdir = str(MATRIX)
nox.options.default_venv_backend = "venv"
nox.options.download_python = "never"  # no interpreter downloads: only registries are reachable here
nox.options.error_on_missing_interpreters = False  # a missing Python is skipped (CI passes the flag to fail)
nox.options.reuse_venv = "no"  # every run resolves the newest dependencies afresh

# Written into each leg's venv: what the leg actually ran on.
_RECORD = """
import json, platform, sys
from importlib.metadata import version
info = {"python": platform.python_version(), "httpx": version("httpx"), "attrs": version("attrs")}
with open(sys.argv[1], "w", encoding="utf-8") as out:
    json.dump(info, out)
"""


def find_python(version: str) -> str | None:
    """An interpreter of `version` ("3.12"): ``python3.12`` on PATH, else the newest in ``$PYENV_ROOT/versions``.

    Each candidate is run once to make sure it works (a pyenv shim for a version that is not active does not)
    and its base interpreter is returned, so a venv is never made from another venv.
    """
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = [p for p in (pyenv_root / "versions").glob(f"{version}.*") if re.fullmatch(r"\d+\.\d+\.\d+", p.name)]
    for folder in sorted(installed, key=lambda p: int(p.name.rsplit(".", 1)[1]), reverse=True):
        candidates.append(str(folder / "bin" / f"python{version}"))
    major, minor = (int(part) for part in version.split("."))
    probe = f"import sys; assert sys.version_info[:2] == ({major}, {minor}); print(sys._base_executable)"
    for candidate in candidates:
        try:
            done = subprocess.run([candidate, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def dev_requirements(*, leave_out: frozenset[str] = frozenset()) -> list[str]:
    """pyproject's `dev` extra (its exact pins), less the named distributions."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev: list[str] = project["optional-dependencies"]["dev"]
    return [req for req in dev if re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower() not in leave_out]


def runtime_requirements() -> list[str]:
    """pyproject's runtime dependencies, as written there (e.g. ``httpx>=0.23.1,<0.30``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return list(project["dependencies"])


def _run_tests(session: nox.Session, leg: str, *, lowest: bool) -> None:
    session.chdir(ROOT)
    session.env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for stale in (MATRIX / f"{leg}.json", MATRIX / f"{leg}.xml"):
        stale.unlink(missing_ok=True)
    if lowest:
        session.install("-c", str(LOWEST_CONSTRAINTS), "-e", ".", *dev_requirements(leave_out=NOT_IN_LOWEST))
    else:
        session.install("-e", ".[dev]")
        # A dev tool may cap a runtime dependency below what pyproject allows (openapi-python-client: httpx<0.29):
        # the runtime dependencies are then upgraded to the newest that pyproject allows, over that cap.
        session.install("--upgrade", *runtime_requirements())
    session.run("python", "-c", _RECORD, str(MATRIX / f"{leg}.json"), silent=True, log=False)
    session.run("python", "-m", "pytest", f"--junitxml={MATRIX / f'{leg}.xml'}", *session.posargs)


def _leg(leg: str, version: str, *, lowest: bool) -> None:
    def run(session: nox.Session) -> None:
        _run_tests(session, leg, lowest=lowest)

    run.__doc__ = (
        f"pytest on Python {version} with httpx and attrs at their floors (scripts/constraints-lowest.txt)"
        if lowest
        else f"pytest on Python {version} with the newest dependencies pyproject allows"
    )
    # The resolved path when the interpreter was found; else the bare version, which nox then reports as
    # "Python interpreter X.Y not found" and skips (or fails, with --error-on-missing-interpreters).
    nox.session(name=leg, python=find_python(version) or version)(run)


for _version in PYTHONS:
    _leg(f"tests-{_version}", _version, lowest=False)
_leg("lowest", PYTHONS[0], lowest=True)

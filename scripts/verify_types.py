"""`make verifytypes`: pyright's type completeness of the *installed wheel* must be 100 %.

Runs ``pyright --verifytypes speaker_audio --ignoreexternal`` the way a consumer's checker sees the package:
on the wheel built from the checkout and installed with ``pip install --no-deps --target`` (see
``wheel_env``), never on the editable checkout. Exits 1 below 100 %, naming every symbol pyright found
incomplete, and also when pyright did not analyse the installed copy.

    python scripts/verify_types.py              # build + install the wheel into a temporary folder
    python scripts/verify_types.py --site DIR   # an already installed tree (the tests use this)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wheel_env import build_wheel, checker_env, install_wheel, isolated_python

PACKAGE = "speaker_audio"

__all__ = ["Completeness", "main", "verify"]


@dataclass
class Completeness:
    """What ``pyright --verifytypes`` reported."""

    score: float
    package_dir: str
    exported: dict[str, int]
    referenced: dict[str, int]
    missing_docstrings: int
    problems: list[str] = field(default_factory=list)

    def ok(self, site_dir: Path) -> bool:
        """100 %, measured on the copy installed in ``site_dir``."""
        return self.score >= 1.0 and Path(self.package_dir).resolve().is_relative_to(site_dir.resolve())

    def summary(self) -> str:
        """The one line ``make verifytypes`` ends with."""
        return (
            f"pyright --verifytypes {PACKAGE} --ignoreexternal: {self.score:.1%} type completeness "
            f"({self.exported.get('withKnownType', 0)}/{_total(self.exported)} exported symbols and "
            f"{self.referenced.get('withKnownType', 0)}/{_total(self.referenced)} referenced ones known; "
            f"measured on {self.package_dir})"
        )


def _total(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in ("withKnownType", "withAmbiguousType", "withUnknownType"))


def verify(site_dir: Path, workdir: Path) -> Completeness:
    """Run pyright's completeness check on the package installed in ``site_dir`` (``workdir``: scratch)."""
    launcher = isolated_python(site_dir, workdir)
    command = [sys.executable, "-m", "pyright", "--pythonpath", str(launcher)]
    command += ["--verifytypes", PACKAGE, "--ignoreexternal", "--outputjson"]
    # --verifytypes ignores --pythonpath: the launcher is also the first python on PATH
    env = checker_env(launcher)
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        message = f"pyright gave no JSON report (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        raise SystemExit(message) from None
    completeness = report["typeCompleteness"]
    problems = [
        f"{symbol['name']}: {diagnostic['message']}".replace("\n", "\n    ")
        for symbol in completeness["symbols"]
        for diagnostic in symbol["diagnostics"]
        if diagnostic["severity"] == "error"
    ]
    problems += [
        f"{PACKAGE}: {diagnostic['message']}"
        for diagnostic in report.get("generalDiagnostics", [])
        if diagnostic["severity"] == "error"
    ]
    return Completeness(
        score=float(completeness["completenessScore"]),
        package_dir=completeness["packageRootDirectory"],
        exported=completeness["exportedSymbolCounts"],
        referenced=completeness["otherSymbolCounts"],
        missing_docstrings=completeness["missingFunctionDocStringCount"] + completeness["missingClassDocStringCount"],
        problems=problems,
    )


def main(argv: list[str] | None = None) -> int:
    """Print the completeness report; 0 at 100 %, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="an installed tree holding speaker_audio (default: build one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="verifytypes-") as scratch:
        workdir = Path(scratch)
        site_dir: Path = args.site or install_wheel(build_wheel(workdir / "dist"), workdir / "site")
        result = verify(site_dir, workdir)
    for problem in result.problems:
        print(f"  {problem}")
    print(result.summary())
    if not result.ok(site_dir):
        print(f"FAILED: {PACKAGE}'s public API must be 100 % typed for the packages that import it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

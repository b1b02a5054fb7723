"""`make matrix`: run the legs of scripts/noxfile.py, then print one line per leg.

    python scripts/matrix.py [NOX ARGS...]     # e.g. -s tests-3.13, --error-on-missing-interpreters, -- -x

Each line says the leg's result (passed, failed or skipped, with the reason), the interpreter and the httpx and
attrs versions it ran with, pytest's counts and the leg's duration. Exits with nox's status (1 if a leg failed;
a leg skipped for a missing Python does not fail the run unless nox was asked to).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOXFILE = ROOT / "scripts" / "noxfile.py"
MATRIX = ROOT / ".matrix"
REPORT = MATRIX / "report.json"

RESULTS = {"success": "passed", "failed": "failed", "skipped": "skipped", "aborted": "failed"}


def _fresh(path: Path, since: float) -> bool:
    return path.is_file() and path.stat().st_mtime >= since


def pytest_counts(junit: Path) -> str:
    """Pytest's counts ("768 passed, 2 skipped") from its JUnit XML report."""
    suite = ET.parse(junit).getroot()  # noqa: S314 (our own pytest's report)
    if suite.tag == "testsuites":
        suite = suite[0]
    total, failed, errors, skipped = (int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped"))
    counts = {"passed": total - failed - errors - skipped, "failed": failed, "errors": errors, "skipped": skipped}
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n or what == "passed")


def leg_line(session: dict[str, Any], since: float) -> list[str]:
    name = str(session["name"])
    result = RESULTS.get(str(session["result"]), str(session["result"]))
    info_path, junit = MATRIX / f"{name}.json", MATRIX / f"{name}.xml"
    info = json.loads(info_path.read_text(encoding="utf-8")) if _fresh(info_path, since) else {}
    if _fresh(junit, since):
        tests = pytest_counts(junit)
    elif result == "skipped" and "not found" in str(session.get("reason")):
        tests = f"({session['reason']}: neither on PATH nor in $PYENV_ROOT/versions, so this leg did not run)"
    elif result == "skipped":
        tests = f"({session.get('reason') or 'skipped'})"
    else:
        tests = f"({session.get('reason') or 'pytest did not run'}: see the log above)"
    duration = f"{float(session.get('duration') or 0):.0f} s"
    return [name, result, info.get("python", "-"), info.get("httpx", "-"), info.get("attrs", "-"), duration, tests]


def summary(report: dict[str, Any], since: float) -> str:
    rows = [["leg", "result", "python", "httpx", "attrs", "duration", "tests"]]
    rows += [leg_line(session, since) for session in report.get("sessions", [])]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    padded = [[cell.ljust(width) for cell, width in zip(row, widths, strict=False)] for row in rows]
    lines = ["  ".join([*cells, row[-1]]) for cells, row in zip(padded, rows, strict=True)]
    return "\n".join(["", "support matrix:", *("  " + line for line in lines)])


def main(argv: list[str]) -> int:
    MATRIX.mkdir(exist_ok=True)
    REPORT.unlink(missing_ok=True)
    since = time.time() - 1
    nox = [sys.executable, "-m", "nox", "-f", str(NOXFILE), "--report", str(REPORT), *argv]
    status = subprocess.run(nox, check=False).returncode
    if REPORT.is_file():
        print(summary(json.loads(REPORT.read_text(encoding="utf-8")), since), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

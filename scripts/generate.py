"""Regenerate ``generated/speaker_audio_api`` from ``openapi/``, or check that it is current.

    python scripts/generate.py           # rewrite generated/speaker_audio_api
    python scripts/generate.py --check   # regenerate into a temporary folder; exit 1 with a diff on drift

Runs openapi-python-client (the version pinned in pyproject.toml) with the ruff found beside
this interpreter, so the output depends on nothing outside the project's virtualenv.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_spec import OverlayError, build_spec

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "openapi" / "generator-config.yaml"
TARGET = ROOT / "generated" / "speaker_audio_api"
PY_TYPED = "# Marker file for PEP 561: this package ships type information.\n"


def generate_into(workdir: Path) -> Path:
    """Generate the package inside ``workdir`` and return its folder."""
    spec_path = workdir / "speaker-audio.openapi.json"
    spec_path.write_bytes(build_spec())
    out = workdir / "speaker_audio_api"
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    generator = shutil.which("openapi-python-client", path=env["PATH"])
    if generator is None:
        raise SystemExit("openapi-python-client is not installed: run `make install` first")
    command = [
        generator, "generate",
        "--path", str(spec_path),
        "--config", str(CONFIG_PATH),
        "--meta", "none",
        "--output-path", str(out),
        "--fail-on-warning",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    (out / "py.typed").write_text(PY_TYPED, encoding="utf-8")
    return out


def tree(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes for every file below ``folder`` (caches ignored)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def describe_drift(expected: dict[str, bytes], actual: dict[str, bytes]) -> list[str]:
    """Readable diff lines between the expected and the committed trees (empty when equal)."""
    lines: list[str] = []
    for name in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(name), actual.get(name)
        if want == have:
            continue
        if want is None:
            lines.append(f"unexpected file in generated/: {name}")
        elif have is None:
            lines.append(f"missing file in generated/: {name}")
        else:
            lines.extend(
                difflib.unified_diff(
                    have.decode("utf-8", "replace").splitlines(),
                    want.decode("utf-8", "replace").splitlines(),
                    f"generated/speaker_audio_api/{name} (committed)",
                    f"generated/speaker_audio_api/{name} (from openapi/)",
                    lineterm="",
                )
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail with a diff if generated/ is not current")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="speaker-audio-gen-") as tmp:
        try:
            fresh = generate_into(Path(tmp))
        except OverlayError as exc:
            print(f"generate: {exc}", file=sys.stderr)
            return 1
        if args.check:
            drift = describe_drift(tree(fresh), tree(TARGET))
            if drift:
                print("generated/ differs from what openapi/ produces (run `make generate`):", file=sys.stderr)
                print("\n".join(drift), file=sys.stderr)
                return 1
            print("generated/ is up to date with openapi/")
            return 0
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, TARGET)
    print(f"generated {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

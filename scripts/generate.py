"""Regenerate ``generated/speaker_audio_api`` from ``openapi/``, or check that it is current.

    python scripts/generate.py           # rewrite generated/speaker_audio_api
    python scripts/generate.py --check   # regenerate into a temporary folder; exit 1 with a diff on drift
    python scripts/generate.py --openapi-dir DIR --out PKG   # another pin (e.g. a copy), another target

Besides the generator's output, the package gets ``py.typed``, ``openapi.json`` (the very spec the models were
generated from) and ``_validators.py``: its response schemas compiled into checks (``compile_validators.py``), which
the facade validates responses with (so schemas, checks and models are always from the same pin), formatted by the
generator configuration's post-hooks. Runs openapi-python-client (the version pinned in pyproject.toml) with the ruff
found beside this interpreter, so the output depends on nothing outside the project's virtualenv.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build_spec import OverlayError, build_spec
from compile_validators import module_source

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "openapi" / "generator-config.yaml"
OPENAPI_DIR = ROOT / "openapi"
TARGET = ROOT / "generated" / "speaker_audio_api"
SPEC_RESOURCE = "openapi.json"
VALIDATORS_MODULE = "_validators.py"
PY_TYPED = "# Marker file for PEP 561: this package ships type information.\n"


def generate_into(workdir: Path, openapi_dir: Path = OPENAPI_DIR) -> Path:
    """Generate the package from ``openapi_dir`` inside ``workdir`` and return its folder."""
    spec = build_spec(openapi_dir)
    spec_path = workdir / "speaker-audio.openapi.json"
    spec_path.write_bytes(spec)
    out = workdir / "speaker_audio_api"
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    generator = shutil.which("openapi-python-client", path=env["PATH"])
    if generator is None:
        raise SystemExit("openapi-python-client is not installed: run `make install` first")
    command = [
        generator, "generate",
        "--path", str(spec_path),
        "--config", str(openapi_dir / CONFIG_PATH.name),
        "--meta", "none",
        "--output-path", str(out),
        "--fail-on-warning",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}")
    (out / "py.typed").write_text(PY_TYPED, encoding="utf-8")
    (out / SPEC_RESOURCE).write_bytes(spec)
    (out / VALIDATORS_MODULE).write_text(module_source(json.loads(spec)), encoding="utf-8")
    for hook in post_hooks(openapi_dir / CONFIG_PATH.name):  # formatted as the generator formats its own code
        result = subprocess.run(shlex.split(hook), cwd=out, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SystemExit(f"post-hook {hook!r} failed on {VALIDATORS_MODULE}:\n{result.stdout}\n{result.stderr}")
    return out


def post_hooks(config: Path) -> list[str]:
    """The ``post_hooks`` commands of the generator's configuration (a YAML list of strings, each on one line)."""
    text = config.read_text(encoding="utf-8")
    block = re.search(r"^post_hooks:\n((?:[ \t]+-[^\n]*\n?)+)", text, flags=re.MULTILINE)
    if block is None:
        raise SystemExit(f"{config}: no post_hooks to format {VALIDATORS_MODULE} with")
    hooks = [line.split("-", 1)[1].strip() for line in block.group(1).splitlines()]
    return [json.loads(hook) if hook.startswith('"') else hook.strip("'") for hook in hooks]


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


def replaceable(target: Path) -> bool:
    """May ``--out`` be deleted and rewritten? Only if it is absent, or a real (not linked) folder that is empty or
    looks like a package this script wrote (it holds ``py.typed`` and ``openapi.json``)."""
    if not target.exists() and not target.is_symlink():
        return True
    if target.is_symlink() or not target.is_dir():
        return False
    return not any(target.iterdir()) or ((target / "py.typed").is_file() and (target / SPEC_RESOURCE).is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail with a diff if generated/ is not current")
    parser.add_argument("--openapi-dir", type=Path, default=OPENAPI_DIR, help="lock, fragment, overlay (%(default)s)")
    parser.add_argument("--out", type=Path, default=TARGET, help="the package folder to write (%(default)s)")
    args = parser.parse_args(argv)
    target: Path = args.out
    if not args.check and not replaceable(target):
        print(
            f"generate: refusing to replace {target}: --out must not exist yet, be an empty folder or a package"
            f" generated before (one with py.typed and {SPEC_RESOURCE}); nothing was deleted",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="speaker-audio-gen-") as tmp:
        try:
            fresh = generate_into(Path(tmp), args.openapi_dir)
        except OverlayError as exc:
            print(f"generate: {exc}", file=sys.stderr)
            return 1
        if args.check:
            drift = describe_drift(tree(fresh), tree(target))
            if drift:
                print("generated/ differs from what openapi/ produces (run `make generate`):", file=sys.stderr)
                print("\n".join(drift), file=sys.stderr)
                return 1
            print("generated/ is up to date with openapi/")
            return 0
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(fresh, target)
    print(f"generated {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

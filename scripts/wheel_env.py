"""The built wheel, installed into a folder and seen the way a consumer sees it (not the editable checkout).

The dev venv has speaker-audio installed in editable mode: a ``.pth`` file puts ``facade/`` and ``generated/``
on ``sys.path``. A type checker asked about ``speaker_audio`` in that venv would read the checkout, not what
the wheel ships. :func:`isolated_python` writes a small launcher whose ``sys.path`` is the installed wheel,
then the venv's site-packages *without* ``.pth`` processing (``python -S``); ``pyright --pythonpath`` and
``mypy --python-executable`` take their search paths from it. ``pyright --verifytypes`` ignores
``--pythonpath`` and runs the ``python`` found on ``PATH``: :func:`checker_env` puts the launcher first there.
"""

from __future__ import annotations

import os
import shlex
import site
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT", "build_wheel", "checker_env", "install_wheel", "isolated_python"]


def build_wheel(outdir: Path) -> Path:
    """Build the wheel of the checkout into ``outdir`` (no isolation: the venv has hatchling) and return it."""
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(outdir), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = outdir.glob("speaker_audio-*.whl")
    return wheel


def install_wheel(wheel: Path, target: Path) -> Path:
    """``pip install --no-deps --target target wheel``; returns ``target``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def isolated_python(site_dir: Path, folder: Path) -> Path:
    """Write ``folder/bin/python`` (and ``python3``): this interpreter, ``sys.path`` = ``site_dir`` + site-packages.

    The dependencies (httpx, attrs, pytest) come from the venv's site-packages, added as plain path entries
    so that its ``.pth`` files (the editable install's among them) are not read.
    """
    path = os.pathsep.join([str(site_dir), *site.getsitepackages()])
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    for name in ("python3", "python"):
        launcher = folder / "bin" / name
        launcher.write_text(f'#!/bin/sh\nPYTHONPATH={shlex.quote(path)} exec {shlex.quote(sys.executable)} -S "$@"\n')
        launcher.chmod(0o755)
    found = subprocess.run(
        [str(launcher), "-c", "import sys, speaker_audio; print(speaker_audio.__file__); print(*sys.path, sep='\\n')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    checkout = {str(ROOT / "facade"), str(ROOT / "generated")}
    if not found[0].startswith(str(site_dir)) or checkout & set(found[1:]):
        raise RuntimeError(f"{launcher} still sees the checkout: {found}")
    return launcher


def checker_env(launcher: Path) -> dict[str, str]:
    """The environment for pyright and mypy: ``launcher`` is the first ``python`` on ``PATH``, no inherited
    search paths, the pinned pyright, its wrapper quiet and offline."""
    dropped = {"PYTHONPATH", "MYPYPATH", "PYTHONHOME", "PYRIGHT_PYTHON_FORCE_VERSION", "PYRIGHT_PYTHON_PYLANCE_VERSION"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}  # the pinned pyright, no inherited paths
    env["PYRIGHT_PYTHON_IGNORE_WARNINGS"] = "1"  # no "new version available" check against PyPI
    env["PATH"] = os.pathsep.join([str(launcher.parent), env.get("PATH", os.defpath)])
    return env

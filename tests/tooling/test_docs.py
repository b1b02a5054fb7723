"""`make docs`: the API reference builds, opens with the README, and refuses an undocumented public name."""

from __future__ import annotations

import ast
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from check_docstrings import undocumented

ROOT = Path(__file__).resolve().parents[2]
FACADE = ROOT / "facade" / "speaker_audio"
GENERATED = ROOT / "generated"
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def test_every_public_name_has_a_docstring() -> None:
    assert undocumented([ROOT / "facade", GENERATED]) == []


def _strip_docstring(source: str, qualname: str) -> str:
    """``source`` with the docstring of the function or class ``qualname`` replaced by ``pass``."""
    nodes: list[ast.stmt] = ast.parse(source).body
    node: ast.stmt | None = None
    for part in qualname.split("."):
        node = next(n for n in nodes if isinstance(n, DEFINITIONS) and n.name == part)
        nodes = node.body
    assert isinstance(node, DEFINITIONS)
    docstring = node.body[0]
    assert isinstance(docstring, ast.Expr)
    assert isinstance(docstring.value, ast.Constant)
    assert docstring.end_lineno is not None
    lines = source.splitlines(keepends=True)
    indent = " " * docstring.col_offset
    return "".join([*lines[: docstring.lineno - 1], f"{indent}pass\n", *lines[docstring.end_lineno :]])


@pytest.mark.parametrize(
    ("module", "stripped", "reported"),
    [
        ("_decode.py", "sniff_media_type", "speaker_audio.sniff_media_type"),
        (
            "_client.py",
            "SpeakerAudioClient.get_separation_status",
            "speaker_audio.SpeakerAudioClient.get_separation_status",
        ),
        ("_async_client.py", "AsyncSpeakerAudioClient.aclose", "speaker_audio.AsyncSpeakerAudioClient.aclose"),
        ("errors.py", "SeparationFailedError", "speaker_audio.errors.SeparationFailedError"),
        ("_models.py", "Speaker.duration_secs", "speaker_audio.Speaker.duration_secs"),
    ],
)
def test_the_checker_fails_on_a_copy_with_a_public_name_undocumented(
    tmp_path: Path, module: str, stripped: str, reported: str
) -> None:
    copy = tmp_path / "speaker_audio"
    shutil.copytree(FACADE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    source = (copy / module).read_text()
    if stripped == "Speaker.duration_secs":  # a result field: its entry in the class's Attributes section
        entry = "        duration_secs: the duration of the speaker's audio, in seconds.\n"
        assert source.count(entry) == 1
        changed = source.replace(entry, "")
    else:
        changed = _strip_docstring(source, stripped)
    assert changed != source
    (copy / module).write_text(changed)
    command = [sys.executable, str(ROOT / "scripts" / "check_docstrings.py"), "--search-path", str(tmp_path)]
    result = subprocess.run([*command, "--search-path", str(GENERATED)], capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    reported_names = [line.removeprefix("no docstring: ").split(" (")[0] for line in result.stdout.splitlines()]
    assert reported in reported_names
    assert "FAILED: " in result.stderr


def test_the_reference_builds_and_opens_with_the_readme(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'url=./speaker_audio.html"' in (out / "index.html").read_text()
    page = (out / "speaker_audio.html").read_text()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # every section of the README, in its order, before the API
    positions = [page.index(f">{html.escape(heading)}</h2>") for heading in re.findall(r"^## (.+)$", readme, re.M)]
    assert len(positions) > 1
    assert positions == sorted(positions)
    assert positions[-1] < page.index('id="SpeakerAudioClient"')
    for name in ("get_speaker_audio", "SeparationStatus.model", "UnprocessableEntityError"):
        assert f'id="{name}"' in page
    # the README's attributes (`.errors`, `.status_code`, …) stay code, not links to a module of that name
    attributes = set(re.findall(r"`\.([A-Za-z_]\w*)`", readme))
    assert "errors" in attributes
    for attribute in attributes:
        assert f"<code>&#46;{attribute}</code>" in page
    assert (out / "speaker_audio" / "errors.html").is_file()
    assert (out / "speaker_audio" / "testing.html").is_file()

"""``make demo``: it runs the Python API and the CLI against the fake, and ends with commands that work as printed."""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

from speaker_audio.cli._parser import build_parser
from speaker_audio.testing import demo_clips

NEXT_STEPS = "Next steps"


class DemoRun(NamedTuple):
    cwd: Path
    stdout: str
    env: dict[str, str]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ELEVENLABS_")}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    cwd = tmp_path_factory.mktemp("demo")
    env = _clean_env()
    result = subprocess.run(
        [sys.executable, "-m", "speaker_audio._demo"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return DemoRun(cwd, result.stdout, env)


def _indented_code(stdout: str) -> str:
    """The first block of lines indented by four spaces (blank lines inside it kept), dedented."""
    match = re.search(r"(^    .*\n(?:^    .*\n|^\n)*)", stdout, flags=re.MULTILINE)
    assert match, "the demo shows no indented code block"
    return textwrap.dedent(match.group(1)).rstrip("\n") + "\n"


def test_the_demo_shows_the_python_api_and_the_code_shown_is_what_ran(demo: DemoRun) -> None:
    before_next_steps = demo.stdout.split(NEXT_STEPS, 1)[0]
    code = _indented_code(before_next_steps)
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert "from speaker_audio import" in code
    assert {"get_speaker_audio", "save"} <= calls, calls
    saved = re.findall(r"^(\S+\.py)\b", before_next_steps, flags=re.MULTILINE) + re.findall(
        r"\(([\w./-]+\.py)\)", before_next_steps
    )
    assert saved, "the demo names no file holding the Python it shows"
    assert (demo.cwd / saved[0]).read_text(encoding="utf-8") == code
    # what that code wrote: each demo speaker's audio, byte for byte
    for name, (audio, _, _) in demo_clips().items():
        (written,) = (demo.cwd / "demo-output").glob(f"{name}.*")
        assert written.read_bytes() == audio
    # and the command line, after it
    assert before_next_steps.index("from speaker_audio import") < before_next_steps.index("$ speaker-audio ")


def _steps(stdout: str) -> list[str]:
    """The commands of the closing block (its comment lines left out); it must be the end of the output."""
    assert NEXT_STEPS in stdout, "the demo ends with no next steps"
    block = stdout.rsplit(NEXT_STEPS, 1)[1].splitlines()[1:]
    assert block, "the next steps are empty"
    assert all(line.startswith("  ") for line in block), f"something follows the next steps: {block}"
    return [line.strip() for line in block if not line.strip().startswith("#")]


def _fake_server_default_port() -> int:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    port = commands.choices["fake-server"].get_default("port")
    assert isinstance(port, int)
    return port


def test_the_demo_ends_with_commands_that_work_as_printed(demo: DemoRun) -> None:
    steps = _steps(demo.stdout)
    (help_step,) = [s for s in steps if s.endswith(" --help")]
    cli = shlex.split(help_step)[:-1]
    assert Path(cli[0]).is_absolute()  # the demo ran outside the venv's folder: where the CLI lives, in full
    assert subprocess.run([*cli, "--help"], capture_output=True, timeout=60).returncode == 0
    for activate in re.findall(r"`source (\S+)`", demo.stdout.rsplit(NEXT_STEPS, 1)[1]):
        assert Path(activate).is_file()

    (server_step,) = [s for s in steps if " fake-server" in s]
    assert shlex.split(server_step)[: len(cli)] == cli, server_step
    assert server_step.endswith(" &"), server_step
    (export,) = [s for s in steps if s.startswith("export ELEVENLABS_BASE_URL=")]
    assert export.endswith(f":{_fake_server_default_port()}"), "the exported URL is not where fake-server listens"
    # the printed server, on a free port rather than its default one (tests may run side by side)
    argv = [*shlex.split(server_step.removesuffix("&")), "--port", "0"]
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=demo.cwd)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        env = {**demo.env, "ELEVENLABS_BASE_URL": url}
        later = steps[steps.index(export) + 1 :]
        runnable = [s for s in later if not s.startswith(("kill ", "export ", "unset "))]
        assert any(" download-all " in s for s in runnable), runnable
        assert any(s.endswith(".py") for s in runnable), runnable
        for step in runnable:
            done = subprocess.run(shlex.split(step), cwd=demo.cwd, env=env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"{step}\n{done.stdout}{done.stderr}"
        assert sorted(p.stem for p in (demo.cwd / "out").iterdir()) == sorted(demo_clips())
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert server.returncode == 0
    assert any(s.startswith("kill %1") for s in steps[steps.index(server_step) :]), "nothing stops the fake server"

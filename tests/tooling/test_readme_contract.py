"""The README, the docs, the help and the Makefile agree with the program.

Every error class of ``speaker_audio.errors`` is in the error table of ``docs/python-api.md``, and every name there
is one; the README's errors, in brief, are real ones and link to that table; the exit codes in ``docs/cli.md``, in
``speaker-audio --help`` and in ``speaker_audio.cli`` are the same set; every Makefile target is listed by
``make help`` with its ``##`` text and named in ``docs/maintaining.md``, and the README mentions ``make help``. The
README's Python examples run against the fake API (its tests pass under pytest, and so do those of the fixture's
section in ``docs/python-api.md``, which it links to), the fixture fields, fake attributes and environment variables
they name exist, every local link of the README and the docs reaches a file and heading, and the README's install
lines cannot take a package of the same name from a public index.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import speaker_audio
from speaker_audio import cli, errors, testing
from speaker_audio.cli import _errors
from speaker_audio.cli._parser import build_parser
from speaker_audio.testing import FakeElevenLabs, demo_clips

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"


def section(text: str, title: str) -> str:
    """The ``## title`` section of a markdown text, up to the next ``## `` heading."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else None]


def readme_section(title: str) -> str:
    return section(README, title)


def doc_section(name: str, title: str) -> str:
    return section((DOCS / name).read_text(encoding="utf-8"), title)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


# -- errors, exit codes, make targets ------------------------------------------------------------------------------


def error_classes() -> set[str]:
    return {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, errors.SpeakerAudioError)
    }


def tabled_error_names(text: str) -> set[str]:
    """The error classes named in the first cells of a section's table, and the base named above it."""
    table = [line for line in text.splitlines() if line.startswith("| `")]
    cells = [line.split(" | ")[0] for line in table]
    # Python's own bases (``InvalidIdError`` is also a `ValueError`) are not ours
    named = {name for cell in cells for name in re.findall(r"`(\w+Error)`", cell) if not hasattr(builtins, name)}
    named |= set(re.findall(r"`speaker_audio\.(\w+Error)`", text))  # the base, in the sentence above the table
    return named


def test_the_error_table_names_exactly_the_error_classes() -> None:
    named = tabled_error_names(doc_section("python-api.md", "Errors"))
    classes = error_classes()
    assert named == classes, f"missing from the table: {classes - named}; not in the program: {named - classes}"


def test_the_readme_names_real_errors_and_links_to_the_table() -> None:
    text = readme_section("Errors and retries")
    assert "](docs/python-api.md#errors)" in text
    named = set(re.findall(r"`(?:speaker_audio\.)?(\w+Error)`", text)) - set(dir(builtins))
    assert {"SpeakerAudioError", "APIStatusError"} <= named
    assert named <= error_classes(), f"not in the program: {named - error_classes()}"


def program_exit_codes() -> set[int]:
    return {value for name, value in vars(_errors).items() if name.startswith("EXIT_") and isinstance(value, int)}


def test_the_documented_exit_codes_are_the_programs() -> None:
    rows = re.findall(r"^\| (\d+) \| ", doc_section("cli.md", "Exit codes"), flags=re.MULTILINE)
    assert {int(code) for code in rows} == program_exit_codes()


def test_the_help_exit_codes_are_the_programs() -> None:
    epilog = " ".join(build_parser().epilog.split())  # type: ignore[union-attr]
    listed = epilog[epilog.index("exit codes:") : epilog.index("Errors are")]
    assert {int(code) for code in re.findall(r"(?:^|[:,] )(\d+) ", listed)} == program_exit_codes()
    assert {int(code) for code in re.findall(r"\b(\d{1,3}) ", cli.__doc__ or "")} >= program_exit_codes()


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-zA-Z][\w-]*):(?!=)", text, flags=re.MULTILINE))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target_with_its_text() -> None:
    result = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    described = dict(re.findall(r"^  (\S+) +(\S.*)$", result.stdout, flags=re.MULTILINE))
    targets = makefile_targets()
    assert {"help", "install", "test", "demo"} <= targets
    assert targets == set(described), f"without a ## text: {targets - set(described)}"


def test_the_readme_mentions_make_help() -> None:
    assert "`make help`" in readme_section("Make targets")


def test_the_maintainers_page_names_every_make_target() -> None:
    text = doc_section("maintaining.md", "Make targets")
    assert "`make help`" in text
    named = set(re.findall(r"`([a-z][\w-]*)`", text))
    assert makefile_targets() <= named, f"not in docs/maintaining.md: {makefile_targets() - named}"


def test_the_readme_opens_with_make_demo_and_make_test() -> None:
    first_block = code_blocks(README, "sh")[0]
    assert README.index(first_block) < README.index("\n## ")
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == ["make demo", "make test"]


# -- the README's Python runs ------------------------------------------------------------------------------------


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a call the example did not aim at the fake fails there at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "SPEAKER_AUDIO_"))}
    return {**env, **extra}


def run_python(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = cwd / "example.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_quick_start_without_a_key_runs_against_the_fake_alone(tmp_path: Path) -> None:
    (code,) = code_blocks(readme_section("Quick start without a key"), "python")
    assert "FakeElevenLabs" in code
    result = run_python(code, tmp_path, clean_env(ELEVENLABS_BASE_URL=closed_port_url()))
    assert result.returncode == 0, result.stdout + result.stderr
    for name, (audio, media_type, _) in demo_clips().items():  # what it printed is what the fake served
        line = next(line for line in result.stdout.splitlines() if line.startswith(f"{name} "))
        assert media_type in line
        assert str(len(audio)) in line
    written = sorted(tmp_path.rglob("*.*"))
    for name, (audio, _, _) in demo_clips().items():
        assert any(path.stem == name and path.read_bytes() == audio for path in written), written


PLACEHOLDERS = {"VOICE_ID": "voice-demo", "SAMPLE_ID": "sample-demo", "SPEAKER_ID": "speaker-1"}


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_real_key_examples_run_with_the_key_and_server_from_the_environment(tmp_path: Path, kind: str) -> None:
    blocks = code_blocks(readme_section("With a real key"), "python")
    (code,) = [block for block in blocks if ("AsyncSpeakerAudioClient" in block) == (kind == "async")]
    assert "VOICE_ID" in code
    for placeholder, demo_id in PLACEHOLDERS.items():
        code = code.replace(f'"{placeholder}"', repr(demo_id))
    with FakeElevenLabs(api_key="sk-from-the-environment") as fake:
        fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 0
        env = clean_env(ELEVENLABS_API_KEY="sk-from-the-environment", ELEVENLABS_BASE_URL=fake.base_url)
        result = run_python(code, tmp_path, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert fake.request_log
        assert all(entry.status == 200 for entry in fake.request_log), fake.request_log
    assert any(path.is_file() for path in tmp_path.rglob("speaker*")), "the example wrote no audio"


COMMON_TASKS_PREAMBLE = """\
import os
from speaker_audio import SpeakerAudioClient
from speaker_audio.testing import demo_clips
client = SpeakerAudioClient(base_url=os.environ["FAKE_URL"])
voice, sample = "voice-demo", "sample-demo"
speaker = sorted(demo_clips())[0]
"""


def test_each_common_task_line_runs_in_order(tmp_path: Path) -> None:
    (code,) = code_blocks(readme_section("Common tasks"), "python")
    lines = [line for line in code.splitlines() if line.strip()]
    assert all(ast.parse(line) for line in lines)  # one line each
    with FakeElevenLabs() as fake:
        fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 0
        env = clean_env(FAKE_URL=fake.base_url, ELEVENLABS_BASE_URL=closed_port_url())
        result = run_python(COMMON_TASKS_PREAMBLE + code, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_common_task_writes_the_file_its_comment_names(tmp_path: Path) -> None:
    # a comment such as "one/<speaker>.mp3" names the file the line writes, the placeholder standing for the id
    (code,) = code_blocks(readme_section("Common tasks"), "python")
    named = re.findall(r"#[^\n]*?\b(\w+)/<(\w+)>(\.\w+)", code)
    assert named, "no comment names a file: the test proves nothing"
    ids = {"voice": "voice-demo", "sample": "sample-demo", "speaker": sorted(demo_clips())[0]}
    with FakeElevenLabs() as fake:
        fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 0
        env = clean_env(FAKE_URL=fake.base_url, ELEVENLABS_BASE_URL=closed_port_url())
        result = run_python(COMMON_TASKS_PREAMBLE + code, tmp_path, env)
    assert result.returncode == 0, result.stdout + result.stderr
    for folder, placeholder, extension in named:
        written = sorted(path.name for path in (tmp_path / folder).iterdir())
        assert f"{ids[placeholder]}{extension}" in written, (folder, placeholder, written)


TESTING_README = "Testing your package against a fake ElevenLabs"
TESTING_DOC = ("python-api.md", "Testing with the fake API")


def fixture_texts() -> dict[str, str]:
    """The README's section on testing with the fixture, and the section of the docs it links to for the rest."""
    name, title = TESTING_DOC
    return {"readme": readme_section(TESTING_README), "python-api": doc_section(name, title)}


def test_the_readme_links_to_the_rest_of_the_fixture() -> None:
    slug = TESTING_DOC[1].lower().replace(" ", "-")
    assert f"](docs/{TESTING_DOC[0]}#{slug})" in readme_section(TESTING_README)


@pytest.mark.parametrize(("where", "least"), [("readme", 3), ("python-api", 2)])
def test_the_fixture_examples_pass_under_pytest(tmp_path: Path, where: str, least: int) -> None:
    (code,) = code_blocks(fixture_texts()[where], "python")
    functions = [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    tests = [function.name for function in functions if function.name.startswith("test_")]
    assert len(tests) >= least
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # this folder's own (empty) configuration
    (tmp_path / "test_readme_example.py").write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=clean_env(ELEVENLABS_BASE_URL=closed_port_url()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(tests)} passed" in result.stdout, result.stdout


# -- the names it uses exist -------------------------------------------------------------------------------------


def named_fields(text: str) -> dict[str, list[str]]:
    """``{Class: [names]}`` for each "`Class`…: `a`, `b`, …" in ``text`` (a class, then the fields it lists)."""
    found: dict[str, list[str]] = {}
    pattern = r"`([A-Z]\w+)`[^`:\n]{0,20}: ((?:`[a-z_]\w*`,\s+)*`[a-z_]\w*`)"
    for name, fields in re.findall(pattern, text):
        found.setdefault(name, []).extend(re.findall(r"`(\w+)`", fields))
    return found


@pytest.mark.parametrize("where", ["readme", "python-api"])
def test_the_fixture_fields_named_exist(where: str) -> None:
    listed = named_fields(" ".join(fixture_texts()[where].split()))
    assert {"RequestLogEntry", "RecordedRequest"} <= set(listed), listed
    for name, fields in listed.items():
        cls = getattr(testing, name)
        real = set(attrs.fields_dict(cls))
        assert set(fields) <= real, f"{name} has no {set(fields) - real} (its fields: {sorted(real)})"


@pytest.mark.parametrize("where", ["readme", "python-api"])
def test_the_fake_attributes_used_exist(where: str) -> None:
    text = README if where == "readme" else fixture_texts()[where]
    used = set(re.findall(r"\bfake(?:_elevenlabs)?\.(\w+)", text))
    assert {"request_log", "requests_to", "inject_random_faults", "script"} <= used
    with FakeElevenLabs() as fake:
        missing = {name for name in used if not hasattr(fake, name)}
    assert not missing, f"FakeElevenLabs has no {missing}"
    assert set(re.findall(r"`(\w+)` \(from `speaker_audio\.testing`\)", text)) <= set(testing.__all__)


def test_the_environment_variables_named_are_the_ones_read() -> None:
    named = set(re.findall(r"\b(ELEVENLABS_\w+)", README))
    assert named == {speaker_audio.API_KEY_ENV, speaker_audio.BASE_URL_ENV}


# -- links -------------------------------------------------------------------------------------------------------

MARKDOWN_PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a markdown text (code blocks left out)."""
    prose = re.sub(r"^```.*?^```$", "", text, flags=re.MULTILINE | re.DOTALL)
    headings = re.findall(r"^#+ (.+)$", prose, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", MARKDOWN_PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_local_link_reaches_a_file_and_heading(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]
    if page.name == "README.md":  # where the README's deeper material lives
        assert {"docs/python-api.md", "docs/cli.md", "docs/compatibility.md", "docs/reliability.md"} <= {
            target.partition("#")[0] for target in targets
        }
    for target in targets:
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        assert destination.is_file(), f"{page.name}: {target} is no file"
        if anchor:
            anchors = heading_anchors(destination.read_text(encoding="utf-8"))
            assert anchor in anchors, f"{page.name}: {target} is no heading of {destination.name}"


# -- installing --------------------------------------------------------------------------------------------------


def test_the_install_lines_never_ask_a_public_index_for_the_package() -> None:
    text = readme_section("Install")
    assert "PyPI" in text
    assert "unclaimed" in text  # and why it matters
    commands = [line.split("#")[0] for block in code_blocks(text, "sh") for line in block.splitlines()]
    installs = [shlex.split(line) for line in commands if line.startswith("pip install")]
    assert installs
    for words in installs:
        if "--no-index" in words or "--index-url" in words:
            assert not {"--extra-index-url", "-i"} & set(words), words
            continue
        targets = [word for word in words[2:] if not word.startswith("-")]
        # a file or a direct reference: no index is asked for speaker-audio itself
        assert all(word.startswith(("./", "/")) or " @ " in word for word in targets), words
    # every mention of --find-links comes with --no-index, in the same sentence
    for sentence in re.split(r"(?<=[.:])\s", " ".join(README.split())):
        if "--find-links" in sentence:
            assert "--no-index" in sentence, sentence

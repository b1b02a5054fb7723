"""What the CLI prints is safe and always printable; the key can come from a file; special destinations.

Issue 10 items 12 (terminal escapes), 13 (``--api-key-file``), 14 (non-UTF-8 output), 15 (special
destinations and ``-o -``) and issue 12 item 5 (the media type shown is the server's).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import SECRET, clean_env, cli

from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, Fault

# ESC sequences that retitle the window, clear the screen and plant a hidden link; BEL; DEL; a C1 CSI;
# a bidi override; a lone surrogate
HOSTILE = "\x1b]0;pwned\x07 \x1b[2J \x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\ \x7f \x9b31m \u202egnp.exe"
RAW = ("\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066")


def assert_no_raw_controls(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"


# --- item 12: terminal escapes ------------------------------------------------------------------------


@pytest.mark.parametrize("verbose", [[], ["-v"]])
@pytest.mark.parametrize("as_json", [True, False])
def test_server_text_in_errors_is_escaped(completed_fake: FakeElevenLabs, verbose: list[str], as_json: bool) -> None:
    text = json.dumps({"detail": {"status": "bad", "message": HOSTILE}}, ensure_ascii=False) if as_json else HOSTILE
    completed_fake.script(Fault(status=404, body=text.encode(), times=9))
    result = cli(*verbose, "--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 3
    assert "NotFoundError" in result.stderr
    assert_no_raw_controls(result.stdout + result.stderr)
    assert "pwned" in result.stderr
    assert "\\x9b31m \\u202egnp.exe" in result.stderr
    if not as_json:
        assert "\\x1b]0;pwned\\x07" in result.stderr


def test_server_text_in_retry_logs_is_escaped(completed_fake: FakeElevenLabs) -> None:
    body = json.dumps({"detail": HOSTILE}, ensure_ascii=False).encode()
    completed_fake.script(Fault(status=503, body=body, headers={"Retry-After": "0"}))
    completed_fake.script(Fault(status=404, body=body))
    result = cli("-v", "--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 3
    assert "Retrying GET" in result.stderr
    assert_no_raw_controls(result.stderr)


def test_hostile_ids_are_escaped_in_every_table(fake: FakeElevenLabs, tmp_path: Path) -> None:
    # bidi controls are valid ids (C0/C1 ones are refused before any request: tests/test_cli.py)
    fake.add_sample("v", "s", speakers={"a\u202eb": FakeSpeaker(audio=b"x"), "c\u2066d": FakeSpeaker(audio=b"y")})
    fake.voices["v"]["s"].status = "completed"
    for args in (["status", "v", "s"], ["download-all", "v", "s", "-o", str(tmp_path)]):
        result = cli("--base-url", fake.base_url, *args)
        assert result.returncode == 0, result.stderr
        assert_no_raw_controls(result.stdout + result.stderr)
        assert "a\\u202eb" in result.stdout
        assert "c\\u2066d" in result.stdout


# --- item 13: --api-key-file -------------------------------------------------------------------------


@pytest.mark.parametrize("content", [SECRET, SECRET + "\n", SECRET + "\r\n"])
def test_the_key_can_come_from_a_file(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(content.encode())
    with FakeElevenLabs(api_key=SECRET) as fake:
        result = cli(
            "--api-key-file", str(key_file), "--base-url", fake.base_url, "status", "voice-demo", "sample-demo"
        )
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].headers["xi-api-key"] == SECRET


def test_the_key_can_come_from_standard_input() -> None:
    with FakeElevenLabs(api_key=SECRET) as fake:
        command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "--api-key-file", "-"]
        result = subprocess.run(
            [*command, "status", "voice-demo", "sample-demo"],
            input=SECRET + "\n",
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].headers["xi-api-key"] == SECRET


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no key"),
        ("\n", "holds no key"),
        (f"{SECRET}\n{SECRET}\n", "line break"),
        (None, "cannot read"),
    ],
)
def test_an_unusable_key_file_is_a_usage_error(
    fake: FakeElevenLabs, tmp_path: Path, content: str | None, message: str
) -> None:
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_text(content)
    result = cli("--api-key-file", str(key_file), "--base-url", fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 2
    assert message in result.stderr
    assert SECRET not in result.stderr
    assert fake.requests == []


def test_api_key_and_api_key_file_exclude_each_other(fake: FakeElevenLabs, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(SECRET)
    result = cli("--api-key", "x", "--base-url", fake.base_url, "status", "v", "s", "--api-key-file", str(key_file))
    assert result.returncode == 2
    assert "--api-key and --api-key-file" in result.stderr
    assert fake.requests == []


def test_help_says_the_environment_or_a_file_is_safer() -> None:
    text = " ".join(cli("--help").stdout.split())
    assert "--api-key-file PATH" in text
    assert "visible to other users in `ps`" in text
    assert "ELEVENLABS_API_KEY or --api-key-file is safer" in text


# --- item 14: output in any encoding ----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_output_an_encoding_cannot_show_is_escaped_not_fatal(fake: FakeElevenLabs, encoding: str) -> None:
    fake.add_sample("v", "s", speakers={"Zoë—1": FakeSpeaker(audio=b"x"), "\u4e2d": FakeSpeaker(audio=b"y")})
    fake.voices["v"]["s"].status = "completed"
    env = clean_env(PYTHONIOENCODING=encoding)

    def run(*args: str) -> tuple[int, str, str]:
        command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, *args]
        done = subprocess.run(command, capture_output=True, timeout=30, env=env, check=False)
        return done.returncode, done.stdout.decode(encoding), done.stderr.decode(encoding)

    code, out, err = run("status", "v", "s")
    assert code == 0, err
    assert "\\u2014" in out
    assert "\\u4e2d" in out
    code, out, err = run("status", "v", "s\u2014-nowhere")  # an error line naming the id
    assert code == 3
    assert "NotFoundError" in err
    assert "Traceback" not in err

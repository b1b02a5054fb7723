"""The CLI's API key: from the environment, an option, a file or standard input (at most 64 KiB); never printed,
never taken from a URL given in its place, never sent over plain http to another host.

The endless key files run in a child process whose address space is capped (``RLIMIT_AS``), so that reading
without a bound fails there with ``MemoryError`` instead of taking the memory of the machine.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import SECRET, clean_env, cli, run_main

from speaker_audio import SpeakerAudioClient
from speaker_audio.cli import _commands, _errors, main
from speaker_audio.cli._main import read_api_key_file
from speaker_audio.testing import FakeElevenLabs

VOICE, SAMPLE = FakeElevenLabs.demo_ids
LIMIT = 64 * 1024
KEY = "sk-key-file-0123456789"
URL = "http://127.0.0.1:8765"


# --- the key from a file or standard input --------------------------------------------------------------------


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


# --- a key file or standard input of more than 64 KiB is a usage error, in bounded memory ------------------


def cli_with_capped_memory(*args: str, stdin: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m speaker_audio ARGS`` in a process that may use at most 1 GiB of address space."""
    cap = (
        "import resource, runpy, sys; "
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
        "sys.argv = ['speaker-audio', *sys.argv[1:]]; "
        "runpy.run_module('speaker_audio', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-c", cap, *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))},
        check=False,
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.parametrize("how", ["path", "standard input"])
def test_dev_zero_as_the_key_file_is_a_usage_error_in_bounded_memory(fake: FakeElevenLabs, how: str) -> None:
    if how == "path":
        result = cli_with_capped_memory("--api-key-file", "/dev/zero", "--base-url", fake.base_url, "status", "v", "s")
    else:
        with open("/dev/zero", "rb") as zero:
            result = cli_with_capped_memory(
                "--api-key-file", "-", "--base-url", fake.base_url, "status", "v", "s", stdin=zero.fileno()
            )
    assert result.returncode == 2, result.stderr[-2000:]  # today 1, with MemoryError (unbounded: all memory)
    assert "more than 64 KiB" in result.stderr
    assert "MemoryError" not in result.stderr
    assert fake.requests == []


@pytest.mark.parametrize(("size", "accepted"), [(LIMIT, True), (LIMIT + 1, False), (50 * LIMIT, False)])
def test_a_key_file_of_more_than_64_kib_is_refused(tmp_path: Path, size: int, accepted: bool) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY.encode() + b"k" * (size - len(KEY) - 1) + b"\n")
    assert key_file.stat().st_size == size
    if accepted:
        assert read_api_key_file(str(key_file)) == KEY + "k" * (size - len(KEY) - 1)
        return
    with pytest.raises(ValueError, match="more than 64 KiB") as caught:
        read_api_key_file(str(key_file))
    assert KEY not in str(caught.value)


def test_a_large_file_cut_inside_a_utf8_character_is_too_large_not_undecodable(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"k" * (LIMIT - 1) + "é".encode() * 10)  # the 64 KiB cut falls inside an "é"
    with pytest.raises(ValueError, match="more than 64 KiB"):
        read_api_key_file(str(key_file))


@pytest.mark.parametrize(("size", "accepted"), [(LIMIT, True), (LIMIT + 1, False), (50 * LIMIT, False)])
def test_standard_input_of_more_than_64_kib_is_refused(size: int, accepted: bool) -> None:
    stdin = io.StringIO(KEY + "k" * (size - len(KEY) - 1) + "\n")
    if accepted:
        assert read_api_key_file("-", stdin).startswith(KEY)
        return
    with pytest.raises(ValueError, match="more than 64 KiB"):
        read_api_key_file("-", stdin)
    assert stdin.tell() <= LIMIT + 1  # no more was read than needed to know


# --- the key is never printed, never taken for a URL, never sent over plain http to another host -------------


def test_the_api_key_is_used_and_never_printed(tmp_path: Path) -> None:
    with FakeElevenLabs(api_key=SECRET) as fake:
        ok = cli(
            "--base-url", fake.base_url, "status", "voice-demo", "sample-demo", env=clean_env(ELEVENLABS_API_KEY=SECRET)
        )
        assert ok.returncode == 0
        assert fake.requests[-1].headers["xi-api-key"] == SECRET
    with FakeElevenLabs(api_key="another-key") as fake:
        for verbose in ([], ["-v"]):
            result = cli(
                "--api-key", SECRET, "--base-url", fake.base_url, *verbose, "status", "voice-demo", "sample-demo"
            )
            assert result.returncode == 3
            assert "AuthenticationError" in result.stderr
            assert "ELEVENLABS_API_KEY or pass --api-key" in result.stderr
            assert SECRET not in result.stdout + result.stderr
            assert SECRET[:12] not in result.stdout + result.stderr
        assert "Traceback" in result.stderr  # -v: the traceback, still without the key


def test_allow_insecure_http_is_needed_for_a_key_over_plain_http_to_another_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-cli-secret-0123456789"
    base = ("--api-key", key, "--base-url", "http://192.0.2.1:9")  # TEST-NET-1: refused before any connection
    code, _, err = run_main(*base, "status", "v", "s")
    assert code == _errors.EXIT_USAGE
    assert "--allow-insecure-http" in err
    assert "allow_insecure_http" not in err
    assert key not in err

    built: list[dict[str, object]] = []

    class Recording(SpeakerAudioClient):
        def __init__(self, *args: object, **kwargs: object) -> None:
            built.append(kwargs)
            raise RuntimeError("stop here: no connection to a non-loopback host in a test")

    monkeypatch.setattr(_commands, "SpeakerAudioClient", Recording)
    code, _, err = run_main(*base, "--allow-insecure-http", "status", "v", "s")
    assert built
    assert built[0]["allow_insecure_http"] is True
    assert key not in err


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_the_cli_refuses_a_url_as_key_with_a_hint(verbose: list[str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["status", VOICE, SAMPLE, "--api-key", URL, *verbose], out=out, err=err)
    assert code == 2
    assert "did you mean --base-url" in err.getvalue()
    assert "127.0.0.1" not in err.getvalue() + out.getvalue()

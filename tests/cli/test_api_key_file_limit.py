"""``--api-key-file`` reads at most 64 KiB: ``/dev/zero`` or a large file named by mistake is a usage error.

The endless cases run in a child process whose address space is capped (``RLIMIT_AS``), so that reading without a
bound fails there with ``MemoryError`` instead of taking the memory of the machine.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from speaker_audio.cli._main import read_api_key_file
from speaker_audio.testing import FakeElevenLabs

LIMIT = 64 * 1024
KEY = "sk-key-file-0123456789"


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

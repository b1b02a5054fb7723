"""The CLI's errors: one line each, an exit code per kind, the server's message whatever the body's content coding;
retries logged with ``-v``."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import assert_one_line_error, cli

from speaker_audio.cli import _errors
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids


# --- a compressed error body -----------------------------------------------------------------------------------


def test_cli_exits_3_for_a_compressed_error_body() -> None:
    payload = gzip.compress(json.dumps({"detail": "no such sample here"}).encode())
    with FakeElevenLabs() as fake:
        fake.script(Fault(status=404, headers={"Content-Encoding": "gzip"}, body=payload, times=9))
        result = subprocess.run(
            [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "status", VOICE, SAMPLE],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))},
        )
        assert len(fake.requests) == 1
    assert result.returncode == 3, result.stderr
    assert "no such sample here" in result.stderr
    assert "decompressing" not in result.stderr


# --- exit codes, one line per error, retries logged with -v ----------------------------------------------------


def test_api_errors_exit_3_on_one_line(completed_fake: FakeElevenLabs) -> None:
    result = cli("--base-url", completed_fake.base_url, "status", "voice-demo", "no-such-sample")
    assert_one_line_error(result, 3, "NotFoundError", "404", "sample_not_found")


def test_network_errors_exit_4(tmp_path: Path) -> None:
    with FakeElevenLabs() as fake:
        base_url = fake.base_url
    result = cli("--base-url", base_url, "--max-retries", "0", "status", "voice-demo", "sample-demo")
    assert_one_line_error(result, 4, "APIConnectionError")


def test_verbose_logs_retries(completed_fake: FakeElevenLabs) -> None:
    completed_fake.script(Fault(status=503, headers={"Retry-After": "0"}))
    result = cli("-v", "--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 0
    assert "Retrying GET" in result.stderr


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (FileExistsError("x"), 1),
        (ValueError("x"), 2),
        (KeyError("x"), 1),
    ],
)
def test_exit_code_mapping(error: BaseException, code: int) -> None:
    assert _errors.exit_code_for(error) == code

"""The CLI's errors: the exit code and the server's message, whatever the body's content coding."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids


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

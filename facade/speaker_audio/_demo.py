"""``make demo``: the whole workflow with the ``speaker-audio`` CLI against the built-in fake API.

No key, no network: a fake ElevenLabs API runs on 127.0.0.1 in this process, and the CLI's own
``main`` runs each step, exactly as the printed commands would.
"""

from __future__ import annotations

import sys
from pathlib import Path

from speaker_audio.cli import main as cli_main
from speaker_audio.testing import FakeElevenLabs

OUTPUT_DIR = Path("demo-output")


def main() -> int:
    """Check status, separate (waiting with progress), show the speakers, download them all, list the files."""
    with FakeElevenLabs() as fake:
        voice_id, sample_id = fake.demo_ids
        fake.voices[voice_id][sample_id].polls_until_complete = 4
        print(f"fake ElevenLabs API on {fake.base_url}  (the commands below run with --base-url {fake.base_url})")
        steps = [
            ["status", voice_id, sample_id],
            ["separate", voice_id, sample_id, "--wait", "--poll-interval", "0.3"],
            ["download-all", voice_id, sample_id, "-o", str(OUTPUT_DIR), "--overwrite"],
        ]
        for argv in steps:
            print(f"\n$ speaker-audio {' '.join(argv)}", flush=True)
            code = cli_main(["--base-url", fake.base_url, *argv])
            if code != 0:
                return code
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make demo``: the Python API and the ``speaker-audio`` CLI against a fake ElevenLabs API, then what to try next.

No key, no network: a fake ElevenLabs API (``speaker_audio.testing.FakeElevenLabs``) runs on 127.0.0.1 in this
process, and ``ELEVENLABS_BASE_URL`` points at it. The Python shown is the code that runs (it is also saved as
``demo-output/quickstart.py``), and the CLI's own ``main`` runs each command shown, exactly as typed. The demo ends
with commands to copy: where the CLI lives, and a fake server that keeps running for them.
"""

from __future__ import annotations

import os
import shlex
import sys
import sysconfig
import textwrap
from pathlib import Path

from speaker_audio import BASE_URL_ENV
from speaker_audio.cli import main as cli_main
from speaker_audio.testing import FakeElevenLabs

OUTPUT_DIR = Path("demo-output")
QUICKSTART = OUTPUT_DIR / "quickstart.py"
FAKE_SERVER_URL = "http://127.0.0.1:8765"  # where `speaker-audio fake-server` listens by default

PYTHON_EXAMPLE = """\
from speaker_audio import SpeakerAudioClient

# the server comes from ELEVENLABS_BASE_URL (the fake here) and the key from ELEVENLABS_API_KEY (the fake needs none)
with SpeakerAudioClient() as client:
    status = client.wait_for_separation("voice-demo", "sample-demo", start=True, poll_interval=0.2)
    print("separation:", status.status, "| speakers:", ", ".join(status.speakers))
    for speaker_id in status.speakers:
        audio = client.get_speaker_audio("voice-demo", "sample-demo", speaker_id)
        path = audio.save(f"demo-output/{speaker_id}{audio.extension}", overwrite=True)
        print(f"{speaker_id}: {len(audio.data)} bytes of {audio.media_type}, {audio.duration_secs} s -> {path}")
"""

CLI_STEPS = (
    ("status", "voice-demo", "sample-demo"),
    ("download-all", "voice-demo", "sample-demo", "-o", "demo-output/cli", "--overwrite"),
)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (``.venv/bin/...``), else as it is."""
    return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


def cli_command() -> str:
    """How to run the CLI of this Python: its ``speaker-audio`` script, else ``python -m speaker_audio``."""
    script = Path(sysconfig.get_path("scripts")) / "speaker-audio"
    if script.is_file() and os.access(script, os.X_OK):
        return shlex.quote(_shown(script))
    return f"{shlex.quote(_shown(Path(sys.executable)))} -m speaker_audio"


def next_steps(cli: str) -> str:
    """The closing block: shell commands that work as printed, in order, each under a comment saying what it does."""
    python = shlex.quote(_shown(Path(sys.executable)))
    activate = shlex.quote(_shown(Path(sysconfig.get_path("scripts")) / "activate"))
    steps = [
        (f"the CLI lives here (`source {activate}` puts it on PATH)", f"{cli} --help"),
        (f"a fake API that keeps running, on {FAKE_SERVER_URL} (`kill %1` stops it)", f"{cli} fake-server &"),
        ("send the SDK and the CLI there (the fake needs no key)", f"export {BASE_URL_ENV}={FAKE_SERVER_URL}"),
        ("separate, wait, download every speaker", f"{cli} download-all voice-demo sample-demo --separate -o out/"),
        ("the Python above, saved", f"{python} {QUICKSTART}"),
        (
            "stop the fake server, back to the real API (then: export ELEVENLABS_API_KEY=...)",
            f"kill %1; unset {BASE_URL_ENV}",
        ),
    ]
    body = "\n".join(f"  # {what}\n  {command}" for what, command in steps)
    return f"Next steps (copy and paste into a shell):\n{body}"


def main() -> int:
    """Run the Python example and the CLI commands against a fake API in this process; print the next steps."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    QUICKSTART.write_text(PYTHON_EXAMPLE, encoding="utf-8")
    with FakeElevenLabs() as fake:
        voice_id, sample_id = fake.demo_ids
        fake.voices[voice_id][sample_id].polls_until_complete = 3
        os.environ[BASE_URL_ENV] = fake.base_url
        print(f"A fake ElevenLabs API runs on {fake.base_url}, with {BASE_URL_ENV} set to it: no key, no network.")

        print(f"\n1. The Python API ({QUICKSTART}):\n")
        print(textwrap.indent(PYTHON_EXAMPLE, "    "))
        sys.stdout.flush()
        exec(compile(PYTHON_EXAMPLE, str(QUICKSTART), "exec"), {"__name__": "__main__"})  # noqa: S102 (our own code)

        print("\n2. The same with the speaker-audio command line:")
        for argv in CLI_STEPS:
            print(f"\n$ speaker-audio {shlex.join(argv)}", flush=True)
            code = cli_main(list(argv))
            sys.stdout.flush()  # its table before its notes on stderr, also when the output is a pipe
            if code != 0:
                return code
    print("\n" + next_steps(cli_command()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

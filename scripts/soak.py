"""``make soak``: thousands of calls through one async client (concurrency 32) against the fake API
with random injected faults, in a separate server process; reports calls, retries, failures by class,
RSS and open file descriptors at start and end, and leftover files.

    python scripts/soak.py [--calls 3000] [--concurrency 32] [--fault-rate 0.1] [--write-doc]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reliability.md"
START_MARK, END_MARK = "<!-- soak:start -->", "<!-- soak:end -->"

SERVER_CODE = """
import sys, time
from speaker_audio.testing import FakeElevenLabs, Fault
rate = float(sys.argv[1])
fake = FakeElevenLabs(api_key="soak-key")
fake.voices["voice-demo"]["sample-demo"].status = "completed"
fake.inject_random_faults(
    [
        Fault(status=503, body=b"<html>busy</html>"),
        Fault(status=429, headers={"Retry-After": "0.05"}),
        Fault(status=500),
        Fault(drop="before_headers"),
        Fault(drop="mid_body"),
        Fault(drop="short_body"),
        Fault(delay=1.0),
        Fault(status=200, body=b'{"audio_base_64": "!!", "media_type": "audio/mpeg", "duration_secs": 1}'),
    ],
    rate,
    seed=1234,
)
fake.start()
print(fake.base_url, flush=True)
sys.stdin.read()
fake.stop()
"""


def current_rss_kib() -> int:
    """Resident set size now, in KiB (Linux)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


class RetryCounter(logging.Handler):
    """Counts the client's retry log records."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Retrying"):
            self.retries += 1


async def soak(base_url: str, calls: int, concurrency: int, workdir: Path) -> dict[str, object]:
    from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioError

    counter = RetryCounter()
    logging.getLogger("speaker_audio").addHandler(counter)
    logging.getLogger("speaker_audio").setLevel(logging.INFO)
    outcomes: collections.Counter[str] = collections.Counter()
    rng = random.Random(99)
    semaphore = asyncio.Semaphore(concurrency)
    samples: dict[str, int] = {}

    async with AsyncSpeakerAudioClient("soak-key", base_url=base_url, timeout=0.5, max_retries=2) as client:

        async def one(index: int) -> None:
            choice = rng.random()
            async with semaphore:
                try:
                    if choice < 0.75:
                        await client.get_speaker_audio(
                            "voice-demo", "sample-demo", rng.choice(["speaker-1", "speaker-2"])
                        )
                    elif choice < 0.95:
                        await client.download_speaker_audio(
                            "voice-demo", "sample-demo", "speaker-2", workdir / f"{index}.wav"
                        )
                    else:
                        await client.get_separation_status("voice-demo", "sample-demo")
                    outcomes["ok"] += 1
                except SpeakerAudioError as exc:
                    outcomes[type(exc).__name__] += 1
            if index == calls // 5:
                samples["rss_warm_kib"] = current_rss_kib()
                samples["fds_warm"] = open_fd_count()

        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(calls)))
        elapsed = time.monotonic() - started
    logging.getLogger("speaker_audio").removeHandler(counter)
    leftovers = [p.name for p in workdir.iterdir() if not p.name.endswith(".wav") or p.name.startswith(".")]
    return {
        "elapsed": elapsed,
        "outcomes": dict(outcomes),
        "retries": counter.retries,
        "leftovers": leftovers,
        "files": sum(1 for _ in workdir.iterdir()),
        **samples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--write-doc", action="store_true", help=f"write the figures into {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)

    server = subprocess.Popen(
        [sys.executable, "-c", SERVER_CODE, str(args.fault_rate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    base_url = server.stdout.readline().strip()
    try:
        import speaker_audio  # noqa: F401  (imported before the baseline is taken)

        rss_start, fds_start = current_rss_kib(), open_fd_count()
        with tempfile.TemporaryDirectory(prefix="speaker-audio-soak-") as tmp:
            result = asyncio.run(soak(base_url, args.calls, args.concurrency, Path(tmp)))
        rss_end, fds_end = current_rss_kib(), open_fd_count()
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcomes: dict[str, int] = result["outcomes"]  # type: ignore[assignment]
    warm_rss = int(str(result.get("rss_warm_kib", 0)))
    failures = {k: v for k, v in sorted(outcomes.items()) if k != "ok"}
    lines = [
        f"soak run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.calls} calls, concurrency "
        f"{args.concurrency}, fault rate {args.fault_rate:.0%}, max_retries 2, timeout 0.5 s, "
        f"{result['elapsed']:.1f} s",
        "",
        "| figure | value |",
        "|---|---|",
        f"| calls made | {sum(outcomes.values())} |",
        f"| succeeded | {outcomes.get('ok', 0)} |",
        f"| retries | {result['retries']} |",
        f"| failures by class | {', '.join(f'{k}: {v}' for k, v in failures.items()) or 'none'} |",
        f"| RSS at start / after 20 % / at end | {rss_start / 1024:.1f} / {warm_rss / 1024:.1f}"
        f" / {rss_end / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB) |",
        f"| open fds at start / after 20 % / at end | {fds_start} / {result.get('fds_warm', '?')} / {fds_end} |",
        f"| files written / leftover temporary files | {result['files']} / {len(result['leftovers'])} |",  # type: ignore[arg-type]
    ]
    report = "\n".join(lines)
    print(report)
    leaked = fds_end > fds_start or result["leftovers"] or sum(outcomes.values()) != args.calls
    if args.write_doc:
        text = DOC.read_text(encoding="utf-8")
        head, _, rest = text.partition(START_MARK)
        _, _, tail = rest.partition(END_MARK)
        DOC.write_text(f"{head}{START_MARK}\n{report}\n{END_MARK}{tail}", encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())

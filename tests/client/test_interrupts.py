"""Interrupts (Ctrl-C, SIGTERM, task cancellation) end a run at once, whatever the server does.

A purpose-built loopback server answers the status read and then stalls every audio request, either
before its headers or in the middle of its body, and records when each request arrived. The CLI runs
in a subprocess; the signal is sent once the server saw the audio requests (and, mid-body, once a
temporary file exists). Expected: the exit code of the signal, within a few seconds (the bug took
58 s to 179 s), no request started after the signal, and no ``.part`` file left.
"""

from __future__ import annotations

import _thread
import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

import pytest

from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient, SpeakerDownloadError
from speaker_audio.testing import FakeElevenLabs

VOICE, SAMPLE = "v", "s"
SPEAKERS = [f"speaker-{n}" for n in range(1, 5)]
Stall = Literal["before_headers", "mid_body"]


class StallingServer:
    """Answers the status of a completed separation with four speakers, then stalls each audio request."""

    def __init__(self, stall: Stall) -> None:
        self.stall = stall
        self.audio_requests: list[float] = []  # monotonic arrival times
        self.body_started = threading.Event()
        self.release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path.endswith("/speakers"):
                    self._status()
                elif self.path.endswith("/audio"):
                    owner.audio_requests.append(time.monotonic())
                    self._stalled_audio()
                else:
                    self.send_error(404)

            def _status(self) -> None:
                speakers = {
                    s: {"speaker_id": s, "duration_secs": 1.0, "utterances": [{"start": 0.0, "end": 1.0}]}
                    for s in SPEAKERS
                }
                body = json.dumps(
                    {
                        "voice_id": VOICE,
                        "sample_id": SAMPLE,
                        "status": "completed",
                        "speakers": speakers,
                        "selected_speaker_ids": SPEAKERS,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stalled_audio(self) -> None:
                if owner.stall == "mid_body":
                    head = b'{"audio_base_64": "' + b"SUQz" * 16384  # 64 KiB of base64: decoded into a .part file
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(head) * 4))
                    self.end_headers()
                    self.wfile.write(head)
                    self.wfile.flush()
                    owner.body_started.set()
                owner.release.wait(60)  # the stall: the test ends it
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StallingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def requests_after(self, moment: float) -> int:
        return sum(1 for arrival in self.audio_requests if arrival > moment)


@pytest.fixture(autouse=True)
def _ctrl_c_is_delivered() -> Iterator[None]:
    """Python's own SIGINT handling, even when this run inherited SIGINT ignored.

    A job started with ``&`` by a non-interactive shell (as CI runs its second leg) inherits SIGINT set to
    ignored, and Python then leaves it so: neither ``_thread.interrupt_main()`` nor a terminal's Ctrl-C would
    reach the code under test. The CLI subprocesses get the default disposition back through ``preexec_fn``.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # in the child, before exec: Python installs its handler again


@pytest.fixture(params=["before_headers", "mid_body"])
def stalling(request: pytest.FixtureRequest) -> Iterator[StallingServer]:
    with StallingServer(request.param) as server:
        yield server


def wait_for(predicate: Callable[[], object], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the client never reached the stall"
        time.sleep(0.02)


def part_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def wait_for_the_stall(server: StallingServer, folder: Path, requests: int) -> None:
    """Until the server holds ``requests`` audio requests (mid-body: and a temporary file exists)."""
    wait_for(lambda: len(server.audio_requests) >= requests)
    if server.stall == "mid_body":
        wait_for(lambda: part_files(folder))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("command", ["get", "download-all"])
def test_the_cli_exits_at_once_on_a_signal(
    stalling: StallingServer, tmp_path: Path, command: str, signum: int, code: int
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    if command == "get":
        args = ["get", VOICE, SAMPLE, SPEAKERS[0], "-o", str(out / "a.mp3")]
        in_flight = 1
    else:
        args = ["download-all", VOICE, SAMPLE, "-o", str(out), "--concurrency", "2"]
        in_flight = 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_audio", "--base-url", stalling.base_url, "--max-retries", "5", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_default_sigint,
    )
    try:
        wait_for_the_stall(stalling, out, in_flight)
        signalled = time.monotonic()
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=30)
        elapsed = time.monotonic() - signalled
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == code, stderr
    assert elapsed < 5, f"exited {elapsed:.1f} s after the signal"
    time.sleep(0.3)  # a request that a leftover worker would send now is still counted
    assert stalling.requests_after(signalled) == 0
    assert part_files(tmp_path) == []
    assert list(out.iterdir()) == []
    assert b"Traceback" not in stderr
    assert stderr.decode().strip() == f"speaker-audio: {'interrupted' if code == 130 else 'terminated'}"


def test_the_sync_api_stops_at_once_and_starts_no_request_after_an_interrupt(
    stalling: StallingServer, tmp_path: Path
) -> None:
    # a short read timeout: a worker that outlived the interrupt would time out and retry within the wait below
    client = SpeakerAudioClient(base_url=stalling.base_url, timeout=0.5, max_retries=5)
    client._sleep = lambda seconds: None
    moments: list[float] = []

    def interrupt_when_stalled() -> None:
        wait_for_the_stall(stalling, tmp_path, 2)
        moments.append(time.monotonic())
        _thread.interrupt_main()  # KeyboardInterrupt in the main thread, as Ctrl-C

    watcher = threading.Thread(target=interrupt_when_stalled, daemon=True)
    watcher.start()
    with pytest.raises(KeyboardInterrupt):
        client.download_all_speakers(VOICE, SAMPLE, tmp_path, concurrency=2)
    returned = time.monotonic()
    interrupted_at = moments[0]
    assert returned - interrupted_at < 5
    assert part_files(tmp_path) == []
    time.sleep(1.5)  # three read timeouts: the stalled workers gave up, and must not have retried
    assert stalling.requests_after(interrupted_at) == 0
    assert part_files(tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    client.close()


def test_cancelling_the_async_download_all_ends_it_at_once(stalling: StallingServer, tmp_path: Path) -> None:
    async def scenario() -> float:
        async with AsyncSpeakerAudioClient(base_url=stalling.base_url, max_retries=5) as client:
            task = asyncio.create_task(client.download_all_speakers(VOICE, SAMPLE, tmp_path, concurrency=2))
            while len(stalling.audio_requests) < 2 or (stalling.stall == "mid_body" and not part_files(tmp_path)):
                await asyncio.sleep(0.02)
            cancelled_at = time.monotonic()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(task, 5)
            assert time.monotonic() - cancelled_at < 5
            assert part_files(tmp_path) == []
            return cancelled_at

    cancelled_at = asyncio.run(asyncio.wait_for(scenario(), 30))
    time.sleep(0.3)
    assert stalling.requests_after(cancelled_at) == 0
    assert list(tmp_path.iterdir()) == []


def test_a_speaker_whose_download_is_cancelled_alone_is_never_a_silent_partial_result(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    """A worker task cancelled on its own (not the caller's task) must not vanish from an async run's result."""
    voice, sample = FakeElevenLabs.demo_ids

    def cancel_the_first(speaker_id: str, received: int, done: bool) -> None:
        if speaker_id == "speaker-1":
            raise asyncio.CancelledError  # this worker task ends as cancelled; the caller's is not

    async def run() -> object:
        async with AsyncSpeakerAudioClient(base_url=completed_fake.base_url, max_retries=0) as client:
            return await client.download_all_speakers(voice, sample, tmp_path, progress=cancel_the_first)

    with pytest.raises(SpeakerDownloadError, match=r"speaker-1.*cancelled") as caught:
        asyncio.run(run())
    assert caught.value.speaker_id == "speaker-1"
    assert "speaker-1" in caught.value.not_downloaded
    assert not list(tmp_path.glob(".*.part"))


def both_in_flight(server: StallingServer, folder: Path, requests: int) -> bool:
    """The server holds ``requests`` audio requests, and two temporary files exist under ``folder``."""
    return len(server.audio_requests) >= requests and len(part_files(folder)) >= 2


@pytest.mark.parametrize(
    ("signals", "code"), [((signal.SIGINT, signal.SIGINT), 130), ((signal.SIGTERM, signal.SIGTERM), 143)]
)
def test_a_second_signal_does_not_cut_the_cleanup_short(tmp_path: Path, signals: tuple[int, int], code: int) -> None:
    """Ctrl-C twice (or SIGTERM twice) in quick succession: the second one arrives during the first one's
    cleanup, which must still delete every temporary file and every folder the command created."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    with StallingServer("mid_body") as server:
        command = [sys.executable, "-m", "speaker_audio", "--base-url", server.base_url, "--max-retries", "5"]
        command += ["download-all", VOICE, SAMPLE, "--concurrency", "2"]
        for run in range(5):
            work = tmp_path / f"run-{run}"
            work.mkdir()
            out = work / "new" / "deep"
            proc = subprocess.Popen(
                [*command, "-o", f"{out}/"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                preexec_fn=_default_sigint,
            )
            try:
                wait_for(functools.partial(both_in_flight, server, work, 2 * (run + 1)))
                proc.send_signal(signals[0])
                time.sleep(0.0003)
                proc.send_signal(signals[1])
                _, stderr = proc.communicate(timeout=30)
            finally:
                proc.kill()
                proc.wait()
            assert proc.returncode == code, stderr
            assert b"Traceback" not in stderr
            assert b"race condition" not in stderr
            assert list(work.iterdir()) == [], f"run {run}: left {sorted(work.rglob('*'))}"

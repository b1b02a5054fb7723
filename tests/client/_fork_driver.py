"""A client used before ``os.fork()``, then by parent and child at once; run by tests/client/test_fork_safety.py.

Usage: python tests/_fork_driver.py sync|async own|injected BASE_URL CALLS WORKERS

It warms the client's pool in the parent (``WORKERS`` concurrent calls, so several keep-alive connections are
open when it forks), forks, and has both processes fetch ``CALLS`` speakers each on ``WORKERS`` threads (tasks
for the async client, on a new event loop in the child) at the same time. Every speaker id has its own audio
(``expected_audio``): a result with any other audio crossed over from the other process. Prints one JSON line:
``{"parent": tally, "child": tally}``, a tally being ``{"ok": n, "crossed": n, "errors": [...]}``.
Runs in its own process, so that the fork copies no thread of pytest's.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient

VOICE, SAMPLE = "voice", "sample"


def expected_audio(speaker_id: str) -> bytes:
    """The audio the test server serves for ``speaker_id`` (distinct for every id)."""
    return hashlib.sha256(speaker_id.encode()).digest() * 8


def tally(outcomes: list[tuple[str, bytes | BaseException]]) -> dict[str, Any]:
    """Counts of right answers, crossed answers and errors (as ``Type: message``)."""
    ok = crossed = 0
    errors: list[str] = []
    for speaker_id, outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors.append(f"{type(outcome).__name__}: {outcome}")
        elif outcome == expected_audio(speaker_id):
            ok += 1
        else:
            crossed += 1
    return {"ok": ok, "crossed": crossed, "errors": errors}


def sync_calls(client: SpeakerAudioClient, role: str, calls: int, workers: int) -> dict[str, Any]:
    def one(number: int) -> tuple[str, bytes | BaseException]:
        speaker_id = f"{role}-{number}"
        try:
            return speaker_id, client.get_speaker_audio(VOICE, SAMPLE, speaker_id).data
        except Exception as error:
            return speaker_id, error

    with ThreadPoolExecutor(workers) as pool:
        return tally(list(pool.map(one, range(calls))))


async def async_calls(client: AsyncSpeakerAudioClient, role: str, calls: int, workers: int) -> dict[str, Any]:
    numbers = iter(range(calls))
    outcomes: list[tuple[str, bytes | BaseException]] = []

    async def worker() -> None:
        for number in numbers:
            speaker_id = f"{role}-{number}"
            try:
                outcomes.append((speaker_id, (await client.get_speaker_audio(VOICE, SAMPLE, speaker_id)).data))
            except Exception as error:
                outcomes.append((speaker_id, error))

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(workers))), 60)
    return tally(outcomes)


def fork_and_run(run: Any, calls: int) -> dict[str, Any]:
    """Fork; both processes ``run(role)``; the child's tally comes back through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's frames
        os.close(read_end)
        code = 1
        try:
            os.write(write_end, json.dumps(run("child")).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    parent = run("parent")
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read()
    _, status = os.waitpid(pid, 0)
    child = json.loads(answer) if answer else {"ok": 0, "crossed": 0, "errors": [f"child exit status {status}"]}
    return {"parent": parent, "child": child}


def main(kind: str, pool: str, base_url: str, calls: int, workers: int) -> dict[str, Any]:
    options: dict[str, Any] = {"base_url": base_url, "api_key": "test-key", "max_retries": 0, "timeout": 10}
    if kind == "sync":
        if pool == "injected":
            options["http_client"] = httpx.Client()
        with SpeakerAudioClient(**options) as client:
            sync_calls(client, "warm", workers, workers)
            return fork_and_run(lambda role: sync_calls(client, role, calls, workers), calls)
    if pool == "injected":
        options["http_client"] = httpx.AsyncClient()
    aclient = AsyncSpeakerAudioClient(**options)
    loop = asyncio.new_event_loop()  # the parent's loop, alive across the fork; the child runs a new one
    loop.run_until_complete(async_calls(aclient, "warm", workers, workers))

    def run(role: str) -> dict[str, Any]:
        if role == "child":
            return asyncio.run(async_calls(aclient, role, calls, workers))
        return loop.run_until_complete(async_calls(aclient, role, calls, workers))

    try:
        return fork_and_run(run, calls)
    finally:
        loop.run_until_complete(aclient.aclose())
        loop.close()


if __name__ == "__main__":
    kind, pool, base_url, calls, workers = sys.argv[1:]
    print(json.dumps(main(kind, pool, base_url, int(calls), int(workers))))

"""A client used before ``os.fork()`` never shares a connection with the other process, and no answer crosses over.

Parent and child (sync: threads; async: tasks, the child on its own event loop) fetch 100 speakers each at the
same time from a loopback server that gives every speaker id its own audio; the driver (tests/_fork_driver.py)
runs in a fresh process. The server notes which connection served which speaker.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from _clients import Kind
from _fork_driver import expected_audio

DRIVER = Path(__file__).with_name("_fork_driver.py")
CALLS = 100  # per process: 200 in all
WORKERS = 4

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="os.fork() is POSIX")


class AudioServer(ThreadingHTTPServer):
    """Answers ``…/speakers/{id}/audio`` with that id's audio (after 2 ms); notes the client port of each request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.served: list[tuple[int, str]] = []  # (client port, speaker id)
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def roles_by_connection(self) -> dict[int, set[str]]:
        """For each connection (client port), the roles (``warm``, ``parent``, ``child``) whose speakers it served."""
        roles: dict[int, set[str]] = {}
        with self.lock:
            for port, speaker_id in self.served:
                roles.setdefault(port, set()).add(speaker_id.rsplit("-", 1)[0])
        return roles


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: AudioServer

    def do_GET(self) -> None:
        speaker_id = self.path.split("/speakers/", 1)[-1].split("/", 1)[0]
        with self.server.lock:
            self.server.served.append((self.client_address[1], speaker_id))
        time.sleep(0.002)  # both processes' requests are in flight together
        audio = base64.b64encode(expected_audio(speaker_id)).decode()
        body = json.dumps({"audio_base_64": audio, "media_type": "audio/mpeg", "duration_secs": 1.0}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[AudioServer]:
    audio_server = AudioServer()
    thread = threading.Thread(target=audio_server.serve_forever, daemon=True)
    thread.start()
    try:
        yield audio_server
    finally:
        audio_server.shutdown()
        audio_server.server_close()
        thread.join(5)


def run_driver(kind: Kind, pool: str, base_url: str) -> dict[str, dict[str, object]]:
    command = [sys.executable, str(DRIVER), kind, pool, base_url, str(CALLS), str(WORKERS)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    answer: dict[str, dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def test_a_forked_child_gets_its_own_pool_and_no_answer_crosses(kind: Kind, server: AudioServer) -> None:
    tallies = run_driver(kind, "own", server.base_url)
    for role in ("parent", "child"):
        assert tallies[role] == {"ok": CALLS, "crossed": 0, "errors": []}, (role, tallies)
    connections = server.roles_by_connection()
    # no connection served the child and the parent (whose pool was warmed before the fork)
    assert {port: roles for port, roles in connections.items() if "child" in roles and len(roles) > 1} == {}


def test_an_injected_http_client_is_refused_in_a_forked_child(kind: Kind, server: AudioServer) -> None:
    tallies = run_driver(kind, "injected", server.base_url)
    assert tallies["parent"] == {"ok": CALLS, "crossed": 0, "errors": []}  # the parent's client keeps working
    child = tallies["child"]
    assert child["ok"] == 0
    assert child["crossed"] == 0
    errors = child["errors"]
    assert isinstance(errors, list)
    assert len(errors) == CALLS
    assert all(error.startswith("ForkedClientError: ") and "a fork of it" in error for error in errors), errors[:3]
    assert not any(speaker_id.startswith("child-") for _, speaker_id in server.served)  # refused before any I/O

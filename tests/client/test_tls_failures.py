"""A TLS certificate that fails verification is not retried; other broken handshakes still are.

A loopback TLS server with a certificate made for the test (``openssl req -x509``) counts the connections it
accepts: one per attempt. Both clients; GET and the POST that starts a separation.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _clients import ClientRunner, Kind
from conftest import TEST_KEY

from speaker_audio import APIConnectionError

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test's certificates")


def make_certificate(folder: Path, subject_alt_name: str) -> tuple[Path, Path]:
    """A self-signed certificate and its key, valid for ``subject_alt_name`` (e.g. ``IP:127.0.0.1``)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=speaker-audio test",
            "-addext", f"subjectAltName={subject_alt_name}",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


class TlsServer:
    """Accepts connections on 127.0.0.1 and counts them; each gets a TLS handshake (or, without a certificate,
    is closed at once, which breaks the client's handshake with an EOF); nothing is ever answered."""

    def __init__(self, cert: Path | None, key: Path | None) -> None:
        self.context: ssl.SSLContext | None = None
        if cert is not None and key is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(cert, key)
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(5)
            try:
                if self.context is not None:
                    self.context.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                pass  # the client refused the certificate
            finally:
                conn.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()


@pytest.fixture
def untrusted_server(tmp_path: Path) -> Iterator[TlsServer]:
    """A self-signed certificate for 127.0.0.1, which no default trust store holds."""
    server = TlsServer(*make_certificate(tmp_path, "IP:127.0.0.1"))
    yield server
    server.stop()


def runner(kind: Kind, server: TlsServer, **kwargs: Any) -> ClientRunner:
    return ClientRunner(kind, server.base_url, api_key=TEST_KEY, max_retries=2, **kwargs)


CALLS = {
    "get_speaker_audio": ("get_speaker_audio", "voice", "sample", "speaker"),
    "start_speaker_separation": ("start_speaker_separation", "voice", "sample"),
}


@pytest.mark.parametrize("call", CALLS)
def test_an_untrusted_certificate_is_not_retried(kind: Kind, untrusted_server: TlsServer, call: str) -> None:
    run = runner(kind, untrusted_server)
    with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        run.call(*CALLS[call])
    assert untrusted_server.connections == 1  # today 3: the first try and both retries
    assert run.sleeps == []
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_a_certificate_for_another_host_name_is_not_retried(kind: Kind, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path, "DNS:other.invalid")
    server = TlsServer(cert, key)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))  # trusted, but not for 127.0.0.1
        http_client = (httpx.Client if kind == "sync" else httpx.AsyncClient)(verify=trusting)
        run = runner(kind, server)
        with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED") as caught:
            run.call_with_http_client(http_client, "get_separation_status", "voice", "sample")
    finally:
        server.stop()
    assert "127.0.0.1" in str(caught.value)  # the host name it was checked against
    assert server.connections == 1
    assert run.sleeps == []


def test_a_handshake_cut_short_is_still_retried(kind: Kind) -> None:
    server = TlsServer(None, None)  # closes every connection before the handshake ends: maybe transient
    try:
        run = runner(kind, server)
        with pytest.raises(APIConnectionError):
            run.call("get_speaker_audio", "voice", "sample", "speaker")
    finally:
        server.stop()
    assert server.connections == 3
    assert len(run.sleeps) == 2

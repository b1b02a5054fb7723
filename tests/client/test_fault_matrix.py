"""The fault-injection matrix: {sync, async} x {operation} x {fault}, each against a real loopback server.

Every cell checks: the error class (or success after retries), the attempts the server saw, that no
partial or temporary file is left, that a pre-existing destination is unchanged byte for byte, that no
socket, file descriptor or thread is left behind, and that the key is in no log record or exception.
"""

from __future__ import annotations

import errno
import gzip
import logging
import os
import threading
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from _clients import KINDS, ClientRunner, Kind
from _leaks import views_holding
from conftest import TEST_KEY

from speaker_audio import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AudioDecodeError,
    AuthenticationError,
    InsecureTransportError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    SpeakerAudioError,
)
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = FakeElevenLabs.demo_ids
PRECIOUS = b"pre-existing content that must survive"
HTML = b"<!DOCTYPE html><html><head><title>Bad Gateway</title></head><body>upstream error</body></html>"


def audio_body(audio: str = "SUQzAwAAAAAA", media_type: object = "audio/mpeg", duration: object = 1.5) -> bytes:
    import json

    return json.dumps({"audio_base_64": audio, "media_type": media_type, "duration_secs": duration}).encode()


FileFault = Callable[[pytest.MonkeyPatch, Path], None]


@attrs.frozen
class Case:
    """One fault: how to script it, what the caller must see, how many attempts the server must see.

    A file-system fault (``file_fault``) touches only the downloads: ``get_speaker_audio`` must succeed.
    """

    name: str
    faults: tuple[Fault, ...] = ()
    error: type[SpeakerAudioError] | type[OSError] | None = None
    attempts: int = 1
    client_kwargs: dict[str, Any] = attrs.field(factory=dict)
    refused: bool = False
    redirect: bool = False
    file_fault: FileFault | None = None
    base_url: str | None = None  # instead of the fake's (only for clients refused at construction)


def read_only_folder(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Creating the temporary file fails as in a read-only folder (chmod does not stop root)."""
    real_open = os.open

    def failing_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).endswith(".part"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", failing_open)


def folder_renamed_before_commit(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """The destination folder is renamed once the body arrived (just before the fsync of the commit)."""
    real_fsync = os.fsync

    def renaming_fsync(fd: int) -> None:
        if folder.exists():
            folder.rename(folder.with_name(MOVED))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", renaming_fsync)


def disk_full_at_commit(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)


MOVED = "moved-away"


def gzipped(data: bytes, *, times: int = 1) -> bytes:
    for _ in range(times):
        data = gzip.compress(data)
    return data


ERROR_JSON = b'{"detail": {"status": "fault", "message": "compressed error body"}}'
GZIP_BOMB = gzipped(b'{"audio_base_64": "' + b"A" * (8 << 20))  # 8 MiB of base64 in 8 KiB


def audio_fault(**kwargs: Any) -> Fault:
    return Fault(path_contains="/audio", **kwargs)


def ok_body(body: bytes) -> Fault:
    return audio_fault(status=200, body=body, times=99)


def ok_body_encoded(body: bytes, encoding: str) -> Fault:
    return audio_fault(status=200, body=body, times=99, headers={"Content-Encoding": encoding})


CASES = [
    Case("connection refused", refused=True, error=APIConnectionError, attempts=0),
    Case("reset before headers", (audio_fault(drop="before_headers", times=99),), APIConnectionError, 3),
    Case("reset mid-body", (audio_fault(drop="mid_body", times=99),), APIConnectionError, 3),
    Case("reset once, then success", (audio_fault(drop="mid_body"),), None, 2),
    Case("body shorter than Content-Length", (audio_fault(drop="short_body", times=99),), APIConnectionError, 3),
    Case("chunked body cut off", (audio_fault(drop="chunked_cut", times=99),), APIConnectionError, 3),
    Case("stall past the read timeout", (audio_fault(delay=0.5, times=99),), APITimeoutError, 3, {"timeout": 0.15}),
    Case("429 with Retry-After", (audio_fault(status=429, headers={"Retry-After": "0"}, times=99),), RateLimitError, 3),
    Case("429 without Retry-After", (audio_fault(status=429, times=99),), RateLimitError, 3),
    Case("429 once, then success", (audio_fault(status=429, headers={"Retry-After": "1"}),), None, 2),
    *[
        Case(f"{status} with an HTML body", (audio_fault(status=status, body=HTML, times=99),), InternalServerError, 3)
        for status in (500, 502, 503)
    ],
    Case("503 once, then success", (audio_fault(status=503, body=HTML),), None, 2),
    Case("200 with non-JSON", (audio_fault(status=200, body=HTML, times=99),), ResponseValidationError),
    Case(
        "200 with JSON missing fields",
        (audio_fault(status=200, body=b'{"audio_base_64": "AAAA"}', times=99),),
        ResponseValidationError,
    ),
    Case("200 with wrong types", (ok_body(audio_body(duration="long")),), ResponseValidationError),
    Case("200 with invalid base64", (ok_body(audio_body(audio="SUQz*AAA")),), AudioDecodeError),
    Case("200 with wrong base64 padding", (ok_body(audio_body(audio="SUQzAA=")),), AudioDecodeError),
    Case("redirect to another host", redirect=True, error=APIStatusError),
    Case("response over max_response_bytes", (), ResponseTooLargeError, 1, {"max_response_bytes": 3000}),
    Case("read-only destination folder", error=OSError, attempts=0, file_fault=read_only_folder),
    Case("folder renamed during the download", error=FileNotFoundError, file_fault=folder_renamed_before_commit),
    Case("disk full at commit", error=OSError, file_fault=disk_full_at_commit),
    Case("401 wrong key", (audio_fault(status=401, times=99),), AuthenticationError),
    Case("stall past total_timeout", (audio_fault(delay=5, times=99),), APITimeoutError, 1, {"total_timeout": 0.3}),
    Case(
        "503 Retry-After past total_timeout",
        (audio_fault(status=503, headers={"Retry-After": "2"}, times=99),),
        APITimeoutError,
        1,
        {"total_timeout": 1.0},
    ),
    Case("key over plain http", (), InsecureTransportError, 0, base_url="http://speaker-audio.invalid"),
    Case("429 with a gzip body and Retry-After", (audio_fault(status=429, body=gzipped(ERROR_JSON), times=99,
         headers={"Content-Encoding": "gzip", "Retry-After": "0"}),), RateLimitError, 3),
    Case("404 with a deflate body", (audio_fault(status=404, body=zlib.compress(ERROR_JSON), times=99,
         headers={"Content-Encoding": "deflate"}),), NotFoundError, 1),
    Case("503 with a gzip body once, then success", (audio_fault(status=503, body=gzipped(ERROR_JSON),
         headers={"Content-Encoding": "gzip"}),), None, 2),
    Case("503 with a gzip bomb body", (audio_fault(status=503, body=GZIP_BOMB, times=99,
         headers={"Content-Encoding": "gzip"}),), InternalServerError, 3),
    Case("200 with a gzip body", (Fault(path_contains="speaker-1/audio", status=200, body=gzipped(audio_body()),
         times=99, headers={"Content-Encoding": "gzip"}),), None, 1),
    Case("200 with stacked codings (gzip, gzip)", (ok_body_encoded(gzipped(audio_body(), times=2), "gzip, gzip"),),
         ResponseValidationError),
    Case("200 gzip bomb over max_response_bytes", (ok_body_encoded(GZIP_BOMB, "gzip"),), ResponseTooLargeError, 1,
         {"max_response_bytes": 1 << 20}),
]  # fmt: skip

OPERATIONS = ("get_speaker_audio", "download_speaker_audio", "download_all_speakers")


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def settle(predicate: Callable[[], bool], seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def exception_text(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error)) + repr(error)
    if isinstance(error, APIStatusError):
        text += repr(dict(error.response.request.headers)) + repr(error.body)
    for linked in (error.__cause__, error.__context__):
        request = getattr(linked, "_request", None)
        if request is not None:
            text += repr(dict(request.headers))
    return text


def run_operation(run: ClientRunner, operation: str, dest_dir: Path) -> Any:
    if operation == "get_speaker_audio":
        return run.call(operation, VOICE, SAMPLE, "speaker-1")
    if operation == "download_speaker_audio":
        return run.call(operation, VOICE, SAMPLE, "speaker-1", dest_dir / "speaker-1.mp3", overwrite=True)
    return run.call(operation, VOICE, SAMPLE, dest_dir, overwrite=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_fault_cell(
    kind: Kind,
    operation: str,
    case: Case,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads_before = threading.active_count()
    fds_before = open_fds()
    dest_dir = tmp_path / "out"
    dest_dir.mkdir()
    existing = {"speaker-1.mp3": PRECIOUS, "speaker-2.wav": PRECIOUS + b"2"}
    for name, content in existing.items():
        (dest_dir / name).write_bytes(content)
    expected_error, expected_attempts = case.error, case.attempts
    if case.file_fault is not None:
        case.file_fault(monkeypatch, dest_dir)
        if operation == "get_speaker_audio":  # no file: the fault does not touch it
            expected_error, expected_attempts = None, 1

    with FakeElevenLabs() as fake, FakeElevenLabs() as elsewhere:
        fake.voices[VOICE][SAMPLE].status = "completed"
        for fault in case.faults:
            fake.script(fault)
        if case.redirect:
            fake.script(audio_fault(status=307, headers={"Location": elsewhere.base_url + "/steal"}, body=b"", times=9))
        base_url = case.base_url or fake.base_url  # a non-loopback base_url is refused before any connection
        if case.refused:
            with FakeElevenLabs() as closed:
                base_url = closed.base_url  # nothing listens there any more
        run = ClientRunner(kind, base_url, api_key=TEST_KEY, max_retries=2, **case.client_kwargs)
        outcome: BaseException | None = None
        with caplog.at_level(logging.DEBUG):
            try:
                result = run_operation(run, operation, dest_dir)
            except (SpeakerAudioError, OSError) as exc:
                outcome = exc
        monkeypatch.undo()
        if (tmp_path / MOVED).exists():  # put the renamed folder back to check what it holds
            (tmp_path / MOVED).rename(dest_dir)
        speakers = 2 if operation == "download_all_speakers" else 1
        audio_attempts = len(fake.requests_to("/audio"))
        all_requests = len(fake.requests)
        assert elsewhere.requests == []

    # 1. the right error class, or success
    if expected_error is None:
        assert outcome is None, f"expected success, got {outcome!r}"
        if operation == "get_speaker_audio":
            assert result.media_type == "audio/mpeg"
    else:
        assert outcome is not None, "expected an error"
        errors = [outcome]
        if outcome.__cause__ is not None and isinstance(outcome.__cause__, (SpeakerAudioError, OSError)):
            errors.append(outcome.__cause__)  # download_all wraps the per-speaker error
        assert any(isinstance(e, expected_error) for e in errors), (
            f"expected {expected_error.__name__}, got {outcome!r}"
        )
    # 2. the attempts the server saw (per speaker for download_all, where a failure may stop the others early)
    if operation == "download_all_speakers" and expected_error is not None:
        assert expected_attempts <= audio_attempts <= expected_attempts * speakers
    elif expected_error is None:  # a one-off fault: one speaker needed the extra attempts
        assert audio_attempts == speakers + expected_attempts - 1
    else:
        assert audio_attempts == expected_attempts
    if expected_attempts == 0:  # refused before anything was sent: no status request either
        assert all_requests == 0
    # 3. no partial or temporary file; pre-existing files unchanged unless the download succeeded
    names = sorted(p.name for p in dest_dir.iterdir())
    assert names == sorted(existing), f"unexpected files: {names}"
    for name, content in existing.items():
        written = (dest_dir / name).read_bytes()
        if (
            expected_error is None
            and (operation == "download_all_speakers" or name == "speaker-1.mp3")
            and (operation != "get_speaker_audio")
        ):
            assert written != content
        else:
            assert written == content
    # 4. no socket, file or thread left behind
    assert settle(lambda: threading.active_count() <= threads_before), threading.enumerate()
    assert settle(lambda: open_fds() <= fds_before), open_fds() - fds_before
    # 5. the key is in no log record and no exception
    for record in caplog.records:
        assert TEST_KEY not in record.getMessage()
        assert TEST_KEY not in repr(record.__dict__)
    if outcome is not None:
        assert TEST_KEY not in exception_text(outcome)
        # ... nor in what an error reporter would send (sentry-sdk with locals), a traceback with locals, pickle
        assert views_holding(TEST_KEY, outcome) == []

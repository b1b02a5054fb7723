"""Sans-I/O pieces of the multi-step workflow: polling decisions and download targets."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from speaker_audio._files import safe_file_stem
from speaker_audio._models import SeparationStatus
from speaker_audio.errors import SeparationFailedError, SeparationTimeoutError

__all__ = ["SeparationPoller", "resolve_download_target"]


class SeparationPoller:
    """Decides, after each status read, whether to stop (done), fail, or wait and poll again."""

    def __init__(
        self,
        voice_id: str,
        sample_id: str,
        *,
        timeout: float,
        poll_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if timeout < 0 or poll_interval <= 0:
            raise ValueError("timeout must be >= 0 and poll_interval > 0")
        self._where = f"voice {voice_id!r}, sample {sample_id!r}"
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._clock = clock
        self._deadline = clock() + timeout

    def next_wait(self, status: SeparationStatus) -> float | None:
        """``None`` when ``status`` is completed; else seconds to wait before the next poll.

        Raises ``SeparationFailedError`` on ``failed`` and ``SeparationTimeoutError`` past the deadline.
        """
        if status.status == "completed":
            return None
        if status.status == "failed":
            raise SeparationFailedError(f"speaker separation failed for {self._where}")
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise SeparationTimeoutError(
                f"speaker separation for {self._where} still {status.status!r} after {self._timeout:g}s"
            )
        return min(self._poll_interval, remaining)


def resolve_download_target(
    dest: str | os.PathLike[str], speaker_id: str, *, overwrite: bool
) -> tuple[Path, str | None]:
    """Where a download goes: ``(file, None)`` for a file path, ``(directory, stem)`` for a directory.

    Raises ``FileExistsError`` for an existing file when ``overwrite`` is false, and
    ``FileNotFoundError`` when the parent directory does not exist, before any request is sent.
    """
    path = Path(dest)
    if path.is_dir():
        return path, safe_file_stem(speaker_id)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"directory {path.parent} does not exist")
    return path, None

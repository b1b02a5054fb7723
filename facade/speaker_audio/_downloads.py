"""Downloads (sans-I/O): where a download goes, the plan and bookkeeping of downloading every speaker.

The runners that schedule the client's own download calls are ``run_downloads`` of ``_sync_io`` (threads) and
``_async_io`` (tasks).
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import attrs

from speaker_audio._decode import _EXTENSIONS
from speaker_audio._files import (
    AtomicFile,
    CreatedDirectories,
    destination_exists,
    directory_target,
    id_digest,
    refuse_special_file,
    safe_file_stem,
)
from speaker_audio._models import DownloadProgress, SeparationStatus
from speaker_audio._operations import STRICT, Checks
from speaker_audio._requests import validate_id
from speaker_audio._sinks import AudioFileSink
from speaker_audio.errors import (
    InvalidIdError,
    SeparationFailedError,
    SeparationNotCompletedError,
    SpeakerDownloadError,
    _with_hint,
)

_AUDIO_EXTENSIONS = frozenset(_EXTENSIONS.values()) | {".bin"}


def check_audio_targets(
    directory: Path, stems: Mapping[str, str], *, overwrite: bool, name_the_speaker: bool = False
) -> None:
    """The download-target rule for files named ``<stem><extension>`` in ``directory``, the extension known only
    from the response: any audio file of that name counts.

    Raises:
        FileExistsError: one of them is a FIFO, device or socket (even with ``overwrite``), or exists and
            ``overwrite`` is false. Checks only: creates nothing.
    """
    for stem in stems.values():
        for extension in sorted(_AUDIO_EXTENSIONS):
            refuse_special_file(directory / f"{stem}{extension}")
    if not overwrite:
        for speaker_id, stem in stems.items():
            for extension in sorted(_AUDIO_EXTENSIONS):
                existing = directory / f"{stem}{extension}"
                if os.path.lexists(existing):
                    raise destination_exists(existing, detail=f" (speaker {speaker_id!r})" if name_the_speaker else "")


def open_download_file(
    dest: str | os.PathLike[str], speaker_id: str, *, overwrite: bool
) -> tuple[AtomicFile, str | None]:
    """The temporary file of one download, made before its request with any missing folders; and, for a
    directory (one that exists or a ``dest`` ending with a path separator), the file's stem.

    Raises:
        FileExistsError: the target (for a directory, any audio file of the stem) exists and ``overwrite`` is
            false, or is a FIFO, device or socket.
        OSError: a folder cannot be created or written.
    """
    refuse_special_file(Path(dest))
    folder = directory_target(dest)
    if folder is None:
        return AtomicFile(dest, overwrite=overwrite, make_parents=True), None
    stem = safe_file_stem(speaker_id)
    check_audio_targets(folder, {speaker_id: stem}, overwrite=overwrite)
    return AtomicFile.in_directory(folder, stem, overwrite=overwrite, make_parents=True), stem


# --- downloading every speaker ----------------------------------------------------------------------

ProgressCallback = Callable[[str, int, bool], None]
"""``progress(speaker_id, audio_bytes, done)``: after each chunk (``audio_bytes`` of the current attempt), and with
``done=True`` once that speaker's file is in place. The sync client calls it from its worker threads."""


def warn_if_progress(progress: object) -> None:
    """The ``DeprecationWarning`` of a download method given ``progress=`` (attributed to the method's caller)."""
    if progress is not None:
        warnings.warn("progress= is deprecated: use on_progress=", DeprecationWarning, stacklevel=3)


def prepare_download_directory(directory: str | os.PathLike[str]) -> tuple[Path, CreatedDirectories]:
    """``directory`` as a ``Path``, created with its missing parents and checked to be writable, and the folders
    it created (for the caller to remove if they stay empty); the ``OSError`` of a folder that cannot be either."""
    path = Path(directory)
    created = CreatedDirectories()
    created.make(path)
    try:
        AtomicFile.in_directory(path, "probe", overwrite=False).abort()  # its OSError if it cannot be written
    except BaseException:
        created.remove_empty()
        raise
    return path, created


def speaker_file_stems(speaker_ids: Iterable[str]) -> dict[str, str]:
    """A distinct, safe file stem for each speaker id (see ``safe_file_stem``).

    Ids whose stems are equal ignoring case (``"Speaker"``, ``"speaker"``) each get a hash of the id appended;
    ``FileExistsError`` if two stems still collide.
    """
    stems = {speaker_id: safe_file_stem(speaker_id) for speaker_id in speaker_ids}
    groups: dict[str, list[str]] = {}
    for speaker_id, stem in stems.items():
        groups.setdefault(stem.casefold(), []).append(speaker_id)
    for members in groups.values():
        if len(members) > 1:
            for speaker_id in members:
                stems[speaker_id] = f"{stems[speaker_id]}-{id_digest(speaker_id)}"
    owners: dict[str, str] = {}
    for speaker_id, stem in stems.items():
        other = owners.setdefault(stem.casefold(), speaker_id)
        if other != speaker_id:
            raise FileExistsError(f"speaker ids {other!r} and {speaker_id!r} map to the same file name {stem!r}")
    return stems


class DownloadCancelled(BaseException):  # like KeyboardInterrupt: not an error for retries to catch
    """Raised inside a download's worker when the run was interrupted; never escapes ``download_all_speakers``."""


def raise_if_cancelled(cancel: threading.Event | None, what: str) -> None:
    """``DownloadCancelled`` if ``cancel`` is set: checked before every attempt, so no request starts after it."""
    if cancel is not None and cancel.is_set():
        raise DownloadCancelled(f"{what} cancelled")


class SpeakerDownloads:
    """Plan and bookkeeping of one ``download_all_speakers`` run; the clients move the bytes.

    Speakers whose id cannot be requested (``InvalidIdError``) are not: the others are downloaded, then the run
    fails for the first of them. After a failed download no new one starts, and the run fails for it.

    Raises:
        SeparationNotCompletedError: the separation is ``not_started`` or ``pending``.
        SeparationFailedError: it ``failed``.
        FileExistsError: unless ``overwrite``, a speaker's file (any audio extension) exists.
    """

    def __init__(
        self,
        status: SeparationStatus,
        directory: Path,
        *,
        overwrite: bool = False,
        progress: ProgressCallback | None = None,
        on_progress: Callable[[DownloadProgress], None] | None = None,
    ) -> None:
        self._where = f"voice {status.voice_id!r}, sample {status.sample_id!r}"
        if status.status == "failed":
            raise SeparationFailedError(f"speaker separation failed for {self._where}")
        if status.status != "completed":
            raise _with_hint(
                SeparationNotCompletedError(
                    f"speaker separation for {self._where} is {status.status!r}, not 'completed'", status=status.status
                ),
                "wait_for_separation",
            )
        self.directory = directory
        self.overwrite = overwrite
        self._progress = progress
        self._on_progress = on_progress
        self.all_speaker_ids = list(status.speakers)
        self.unrequestable: dict[str, InvalidIdError] = {}
        for speaker_id in self.all_speaker_ids:
            try:
                validate_id("speaker_id", speaker_id)
            except InvalidIdError as error:
                self.unrequestable[speaker_id] = error
        self.speaker_ids = [s for s in self.all_speaker_ids if s not in self.unrequestable]
        self.stems = speaker_file_stems(self.speaker_ids)
        check_audio_targets(directory, self.stems, overwrite=overwrite, name_the_speaker=True)
        self.completed: dict[str, Path] = {}
        self.failures: dict[str, Exception] = {}
        self.received: dict[str, int] = {}
        self._lock = threading.Lock()  # the sync client records outcomes from its worker threads
        self.cancel_event = threading.Event()
        """Set once the run is interrupted: no attempt starts after it (see ``raise_if_cancelled``)."""
        self._open_files: list[AtomicFile] = []  # every temporary file made, so that cancel() can discard them

    @property
    def stopped(self) -> bool:
        """True once a download failed: no new download may start."""
        return bool(self.failures)

    def open_file(self, speaker_id: str) -> AtomicFile:
        """Create the temporary file of one speaker's download (before its request)."""
        with self._lock:  # a file is either made before cancel() (which then discards it) or never
            raise_if_cancelled(self.cancel_event, f"download of speaker {speaker_id!r}")
            file = AtomicFile.in_directory(self.directory, self.stems[speaker_id], overwrite=self.overwrite)
            self._open_files.append(file)
        return file

    def sink_factory(
        self, speaker_id: str, file: AtomicFile, max_bytes: int, checks: Checks = STRICT
    ) -> Callable[[], AudioFileSink]:
        """The sink maker for one speaker's download into ``file`` (a new sink per attempt)."""
        stem = self.stems[speaker_id]

        def check() -> None:  # before each chunk is used, and before an attempt (cancel() discarded its file)
            raise_if_cancelled(self.cancel_event, f"download of speaker {speaker_id!r}")

        def report(received: int) -> None:
            check()
            self.received[speaker_id] = received
            if self._progress is not None:
                self._progress(speaker_id, received, False)

        def detailed(progress: DownloadProgress) -> None:
            if self._on_progress is not None:
                self._on_progress(attrs.evolve(progress, speaker_id=speaker_id))

        def make() -> AudioFileSink:
            report(0)
            return AudioFileSink(
                file,
                max_bytes=max_bytes,
                stem=stem,
                on_received=report,
                on_progress=detailed if self._on_progress is not None else None,
                check=check,
                checks=checks,
            )

        return make

    def cancel(self) -> None:
        """Interrupt the run at once: start no new download or retry, and delete every temporary file now.

        It does not wait for the downloads under way (perhaps blocked in a read): they stop at their next chunk.
        """
        with self._lock:
            self.cancel_event.set()
            files, self._open_files = self._open_files, []
        for file in files:
            file.abort()  # closes and unlinks the temporary file; a no-op for a committed one

    def succeeded(self, speaker_id: str, path: Path) -> None:
        """Record a finished download."""
        with self._lock:
            self.completed[speaker_id] = path
        if self._progress is not None:
            self._progress(speaker_id, self.received.get(speaker_id, 0), True)

    def failed(self, speaker_id: str, error: Exception) -> None:
        """Record a failed download; no new download starts after this."""
        with self._lock:
            self.failures.setdefault(speaker_id, error)

    def result(self) -> dict[str, Path]:
        """``{speaker_id: path}`` in the server's order, or ``SpeakerDownloadError`` for the first failure."""
        completed = {s: self.completed[s] for s in self.all_speaker_ids if s in self.completed}
        failure: tuple[str, Exception] | None = next(iter(self.failures.items()), None)
        if failure is None:
            failure = next(iter(self.unrequestable.items()), None)
        if failure is None:
            missing = [s for s in self.speaker_ids if s not in self.completed]
            if not missing:
                return completed
            # neither downloaded nor failed: its download was cancelled on its own (never a silent partial result)
            failure = (missing[0], RuntimeError("its download was cancelled"))
        speaker_id, error = failure
        raise SpeakerDownloadError(
            f"speaker {speaker_id!r} of {self._where} was not downloaded: {type(error).__name__}: {error} "
            f"({len(self.completed)} of {len(self.all_speaker_ids)} speakers downloaded)",
            speaker_id=speaker_id,
            completed=completed,
            not_downloaded=[s for s in self.all_speaker_ids if s not in self.completed],
        ) from error

"""Atomic file writing and safe file names."""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

__all__ = ["AtomicFile", "id_digest", "safe_file_stem", "write_bytes_atomic"]

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
_MAX_STEM = 100


def id_digest(name: str) -> str:
    """A short, stable hash of ``name`` (10 hex digits), to keep derived file names distinct."""
    import hashlib  # imported on first use: keeps `import speaker_audio` fast

    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]


def safe_file_stem(name: str) -> str:
    """A file-name stem derived from ``name`` that can never leave its directory.

    Letters, digits, ``.``, ``_`` and ``-`` are kept; anything else (``/``, ``\\``, control
    characters, non-ASCII) is replaced. When anything had to change, a short hash of the
    original is appended so that two different ids never map to the same name.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem = _UNSAFE_CHARS.sub("_", ascii_name).strip(".")[:_MAX_STEM]
    if stem.split(".")[0].upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    if stem != name or not stem:
        digest = id_digest(name)
        stem = f"{stem}-{digest}" if stem else f"speaker-{digest}"
    return stem


class AtomicFile:
    """A temporary file beside ``target`` that becomes ``target`` only on :meth:`commit`.

    Use as a context manager: leaving the block without committing (an error) deletes the
    temporary file, so neither a partial file nor a changed ``target`` is ever left behind.
    """

    def __init__(self, target: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        if not overwrite and os.path.lexists(target):
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
        self._open(Path(target), overwrite)

    @classmethod
    def in_directory(cls, directory: Path, stem: str, *, overwrite: bool) -> AtomicFile:
        """A temporary file in ``directory`` whose final name is passed to :meth:`commit` (and checked there)."""
        atomic = cls.__new__(cls)
        atomic._open(directory / stem, overwrite)
        return atomic

    def _open(self, target: Path, overwrite: bool) -> None:
        self.target = target
        self.overwrite = overwrite
        fd, self.temp_path = _create_temporary_beside(target)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes) -> None:
        """Append ``data`` to the temporary file."""
        self.file.write(data)

    def commit(self, target: Path | None = None) -> Path:
        """Flush, fsync and move the temporary file onto the target; returns the target.

        ``target`` may name a different file in the same directory (decided once the content is known).
        """
        if target is not None:
            self.target = target
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            if self.overwrite:
                os.replace(self.temp_path, self.target)
            else:
                _move_without_clobbering(self.temp_path, self.target)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return self.target

    def abort(self) -> None:
        """Close and delete the temporary file (idempotent)."""
        if self._done:
            return
        self._done = True
        try:
            with contextlib.suppress(OSError):  # e.g. a full disk refusing the final flush
                self.file.close()
        finally:
            self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


def _create_temporary_beside(target: Path) -> tuple[int, Path]:
    """Create a new hidden ``.part`` file next to ``target``; return its descriptor and path.

    Created with mode 0666, so the process's current umask applies as for any new file
    (``mkstemp`` would make it 0600).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = target.parent / f".{target.name[:50]}.{os.urandom(6).hex()}.part"
        try:
            return os.open(candidate, flags, 0o666), candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {target}")


def _move_without_clobbering(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``, failing with ``FileExistsError`` if ``target`` exists."""
    try:
        # link() fails if the target appeared meanwhile: never clobber without consent
        os.link(source, target)
    except FileExistsError:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it") from None
    except OSError:
        # file systems without hard links: check, then rename (a narrow race, but no partial file)
        if os.path.lexists(target):
            raise FileExistsError(f"{target} exists; pass overwrite=True to replace it") from None
        os.replace(source, target)
        return
    os.unlink(source)


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``target`` atomically; ``FileExistsError`` if it exists and not ``overwrite``."""
    with AtomicFile(target, overwrite=overwrite) as out:
        out.write(data)
        return out.commit()

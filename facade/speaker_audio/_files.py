"""Atomic file writing, the folders a call creates, and safe file names."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import threading
import unicodedata
from pathlib import Path
from typing import BinaryIO

from speaker_audio.errors import _with_hint

_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}
_MAX_STEM = 100

# Work relative to an open directory where the platform can (Linux, macOS, BSDs): a folder that is renamed
# or removed mid-download then still gets its temporary file deleted. Elsewhere (Windows), paths as before.
USE_DIR_FD = (
    hasattr(os, "O_DIRECTORY") and {os.open, os.link, os.unlink, os.stat} <= os.supports_dir_fd and os.name == "posix"
)

# link() errors that mean "this file system has no hard links" (FAT, some network and FUSE file systems);
# only these fall back to check-then-rename. Any other error (no space, read-only, permission) is raised.
NO_HARD_LINK_ERRNOS = frozenset(
    code
    for code in (getattr(errno, name, None) for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "ENOSYS"))
    if code is not None
)


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


class CreatedDirectories:
    """The missing folders a call created (not those another process made meanwhile), to remove them again."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def make(self, directory: Path) -> None:
        """Create ``directory`` and its missing parents, recording them; ``NotADirectoryError`` if a part is a file."""
        missing: list[Path] = []
        path = directory
        while not path.is_dir():  # a file on the way is met by its mkdir() below
            missing.append(path)
            if path.parent == path:
                break
            path = path.parent
        try:
            for folder in reversed(missing):
                try:
                    folder.mkdir()
                except FileExistsError:
                    if not folder.is_dir():
                        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(folder)) from None
                else:
                    self.paths.append(folder)
        except BaseException:
            self.remove_empty()
            raise

    def remove_empty(self) -> None:
        """Remove the folders :meth:`make` created, deepest first, where still empty (and in place)."""
        while self.paths:
            with contextlib.suppress(OSError):  # not empty, moved or already gone: leave it
                self.paths.pop().rmdir()


class AtomicFile:
    """A temporary file beside ``target`` that becomes ``target`` only on :meth:`commit`.

    The ``.<name>.<random>.part`` file is created at once, so a folder that cannot be written fails before any
    request. With ``make_parents``, missing folders are created, and removed on :meth:`abort` if still empty. Where
    the platform allows, every step works relative to the folder held open: the temporary file is deleted even if
    the folder moved, and :meth:`commit` then raises ``FileNotFoundError``. As a context manager, leaving without
    committing deletes the temporary file. :meth:`commit` and :meth:`abort` may run on any thread.

    A new file gets mode 0666 minus the umask; with ``overwrite``, the temporary file is private to its owner
    until :meth:`commit` gives it the replaced file's mode (see :func:`match_replaced_file`).
    """

    def __init__(self, target: str | os.PathLike[str], *, overwrite: bool = False, make_parents: bool = False) -> None:
        if not overwrite and os.path.lexists(target):
            raise destination_exists(target)
        self._open(Path(target), overwrite, make_parents)

    @classmethod
    def in_directory(cls, directory: Path, stem: str, *, overwrite: bool, make_parents: bool = False) -> AtomicFile:
        """A temporary file in ``directory`` whose final name is passed to :meth:`commit` (and checked there)."""
        atomic = cls.__new__(cls)
        atomic._open(directory / stem, overwrite, make_parents)
        return atomic

    def _open(self, target: Path, overwrite: bool, make_parents: bool) -> None:
        self.target = target
        self.overwrite = overwrite
        self.directory = target.parent
        self._lock = threading.Lock()
        self._done = False
        self._dir_fd: int | None = None
        self.created = CreatedDirectories()
        try:
            if make_parents:
                self.created.make(self.directory)
            if USE_DIR_FD:
                self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
            fd, self._temp_name = _create_temporary(self.directory, self._dir_fd, target.name)
        except BaseException:
            self._close_directory()
            self.created.remove_empty()
            raise
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self._new_file_mode: int | None = None
        if overwrite and _POSIX_MODES:
            # it may replace a private file: until the commit knows, no one but the owner may read what is written
            self._new_file_mode = stat.S_IMODE(os.fstat(fd).st_mode)  # 0666 & ~umask: a new file's mode
            with contextlib.suppress(OSError):  # a file system without modes (FAT): nothing to keep private
                os.fchmod(fd, self._new_file_mode & 0o600)

    @property
    def done(self) -> bool:
        """True once committed or aborted."""
        return self._done

    def write(self, data: bytes) -> None:
        """Append ``data`` to the temporary file."""
        self.file.write(data)

    def rewind(self) -> None:
        """Empty the temporary file, to write it again from the start (a retried download)."""
        if self.file.tell():
            self.file.seek(0)
            self.file.truncate()

    def commit(self, target: Path | None = None) -> Path:
        """Flush, fsync and move the temporary file onto the target (or ``target``, in the same folder); return it.

        Raises:
            FileExistsError: the target appeared meanwhile (unless ``overwrite``).
            FileNotFoundError: the folder was moved or removed since. On any error the temporary file is deleted.
        """
        with self._lock:
            if self._done:
                raise ValueError("this temporary file was already committed or discarded")
            if target is not None:
                if target.parent != self.directory:
                    raise ValueError(f"{target} is not in {self.directory}")
                self.target = target
            try:
                self.file.flush()
                if self._new_file_mode is not None:
                    match_replaced_file(
                        self.file.fileno(), self.target.name, self._dir_fd, self.directory, self._new_file_mode
                    )
                os.fsync(self.file.fileno())
                self.file.close()
                self._check_directory_in_place()
                if self.overwrite:
                    _replace(self._temp_name, self.target.name, self._dir_fd, self.directory)
                else:
                    _move_without_clobbering(self._temp_name, self.target.name, self._dir_fd, self.directory)
                if self._dir_fd is not None:
                    with contextlib.suppress(OSError):  # the new name is durable too (not every FS allows it)
                        os.fsync(self._dir_fd)
            except BaseException:
                self._abort_locked()
                raise
            self._done = True
            self._close_directory()
            return self.target

    def abort(self) -> None:
        """Close and delete the temporary file, and the folders it created if still empty (idempotent)."""
        with self._lock:
            self._abort_locked()

    def _abort_locked(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            with contextlib.suppress(OSError):  # e.g. a full disk refusing the final flush
                self.file.close()
        finally:
            try:
                _unlink(self._temp_name, self._dir_fd, self.directory)
            finally:
                self._close_directory()
                self.created.remove_empty()

    def _check_directory_in_place(self) -> None:
        if self._dir_fd is None:
            return
        held = os.fstat(self._dir_fd)
        try:
            now = os.stat(self.directory)
        except OSError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            raise FileNotFoundError(
                errno.ENOENT,
                "the folder was moved or removed during the download; nothing was written",
                str(self.directory),
            )

    def _close_directory(self) -> None:
        fd, self._dir_fd = self._dir_fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.abort()


_POSIX_MODES = os.name == "posix" and hasattr(os, "fchmod") and hasattr(os, "fchown")


def match_replaced_file(fd: int, name: str, dir_fd: int | None, directory: Path, new_file_mode: int) -> None:
    """Give the open file ``fd`` the ``rwx`` bits, and where the process may set them the owner and group, of the
    file ``name`` (through symlinks) that it is to replace; ``new_file_mode`` without a regular file there. POSIX."""
    try:
        replaced = os.stat(_at(name, dir_fd, directory), dir_fd=dir_fd)
    except (OSError, ValueError):
        replaced = None
    if replaced is None or not stat.S_ISREG(replaced.st_mode):
        with contextlib.suppress(OSError):
            os.fchmod(fd, new_file_mode)
        return
    mine = os.fstat(fd)
    if (mine.st_uid, mine.st_gid) != (replaced.st_uid, replaced.st_gid):
        try:
            os.fchown(fd, replaced.st_uid, replaced.st_gid)
        except OSError:  # only root may give a file away; a member of the group may still set the group
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, replaced.st_gid)
    with contextlib.suppress(OSError):
        os.fchmod(fd, stat.S_IMODE(replaced.st_mode) & 0o777)


def _at(name: str, dir_fd: int | None, directory: Path) -> str | Path:
    """``name`` for an ``os`` function given ``dir_fd``: relative to that folder if held, else in ``directory``."""
    return directory / name if dir_fd is None else name


def _create_temporary(directory: Path, dir_fd: int | None, name: str | None) -> tuple[int, str]:
    """Create a new hidden ``.part`` file in ``directory`` (mode 0666 minus the umask); its descriptor and name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        candidate = f".{(name or 'speaker-audio')[:50]}.{os.urandom(6).hex()}.part"
        try:
            return os.open(_at(candidate, dir_fd, directory), flags, 0o666, dir_fd=dir_fd), candidate
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", str(directory))


def _unlink(name: str, dir_fd: int | None, directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_at(name, dir_fd, directory), dir_fd=dir_fd)


def _replace(source: str, target: str, dir_fd: int | None, directory: Path) -> None:
    os.replace(_at(source, dir_fd, directory), _at(target, dir_fd, directory), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def _exists(name: str, dir_fd: int | None, directory: Path) -> bool:
    try:
        os.stat(_at(name, dir_fd, directory), dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _move_without_clobbering(source: str, target: str, dir_fd: int | None, directory: Path) -> None:
    """Rename ``source`` to ``target`` (names in ``directory``); ``FileExistsError`` if ``target`` exists."""
    try:
        # link() fails if the target appeared meanwhile: never clobber without consent
        os.link(_at(source, dir_fd, directory), _at(target, dir_fd, directory), src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except FileExistsError:
        raise destination_exists(directory / target) from None
    except OSError as error:
        if error.errno not in NO_HARD_LINK_ERRNOS:
            raise
        # a file system without hard links: check, then rename. A file created at ``target`` between the
        # two steps would be replaced (a window of microseconds; see docs/reliability.md), never a partial file.
        if _exists(target, dir_fd, directory):
            raise destination_exists(directory / target) from None
        _replace(source, target, dir_fd, directory)
        return
    _unlink(source, dir_fd, directory)


def destination_exists(path: str | os.PathLike[str], *, detail: str = "") -> FileExistsError:
    """The ``FileExistsError`` for a destination that exists: ``hint`` ``"overwrite"``, and that advice as a note."""
    return _with_hint(FileExistsError(f"{os.fspath(path)} exists{detail}"), "overwrite")


def directory_target(path: str | os.PathLike[str]) -> Path | None:
    """``path`` as the folder a file goes into, when it names one: an existing folder, or any path ending with a path
    separator (the download-target rule of ``save`` and the download methods); else ``None``."""
    target = Path(path)
    return target if target.is_dir() or os.fspath(path).endswith(_SEPARATORS) else None


_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep) if sep)


def write_bytes_atomic(
    target: str | os.PathLike[str], data: bytes, *, overwrite: bool = False, make_parents: bool = True
) -> Path:
    """Write ``data`` to ``target`` atomically (missing folders too); ``FileExistsError`` if it exists."""
    with AtomicFile(target, overwrite=overwrite, make_parents=make_parents) as out:
        out.write(data)
        return out.commit()


_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def refuse_special_file(path: str | os.PathLike[str]) -> None:
    """``FileExistsError`` if ``path`` names (through symlinks) a FIFO, device or socket, or is in /dev or /proc.

    An atomic write would replace it with a regular file even with ``overwrite``; it is refused before any request.
    """
    kernel_path = _through_kernel_file_system(path)
    if kernel_path is not None:
        raise FileExistsError(
            f"{os.fspath(path)} is, or links to, {kernel_path} (in /dev or /proc, the kernel's files): nothing is "
            "ever written or replaced there (not even when overwriting)"
        )
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    for test, kind in _SPECIAL_KINDS:
        if test(mode):
            raise FileExistsError(
                f"{os.fspath(path)} is {kind}, not a regular file: it is never replaced (not even when overwriting)"
            )


def _through_kernel_file_system(path: str | os.PathLike[str]) -> str | None:
    """The first path in ``/dev`` or ``/proc`` that ``path`` is or links through (``None`` if none; POSIX only).

    ``/dev/stdout`` links to ``/proc/self/fd/1``, which stats as a regular file when output is redirected to one.
    """
    if os.name != "posix":
        return None
    try:
        current = os.path.abspath(os.fspath(path))
        for _ in range(40):  # the kernel's own limit on symlink hops
            if current.startswith(("/dev/", "/proc/")) or os.path.dirname(current) in ("/dev", "/proc"):
                return current
            if not os.path.islink(current):
                return None
            current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    except (OSError, ValueError):
        return None
    return None

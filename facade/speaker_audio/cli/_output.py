"""What the CLI prints: server text escaped, tables, JSON documents, and media-type checks of the files it wrote."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from speaker_audio import DownloadProgress, SeparationStatus, extension_for_media_type, sniff_media_type
from speaker_audio.cli._progress import format_size

__all__ = [
    "file_document",
    "file_row",
    "format_files",
    "format_status",
    "json_text",
    "media_type_warning",
    "printable",
    "printable_lines",
    "sniff_file",
    "status_document",
]


def printable(text: str) -> str:
    r"""``text`` safe to show on a terminal: every character that is not printable is shown escaped.

    Server-provided text (ids, error bodies, media types, messages) could otherwise drive the terminal:
    C0 controls (ESC sequences retitle the window, clear the screen, plant hidden links; BEL), DEL, C1
    controls (``\x9b`` is a one-byte CSI), bidi overrides (``\u202e``) and lone surrogates all become
    escapes such as ``\x1b`` or ``\u202e``.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def printable_lines(text: str) -> str:
    """``text`` with each line made :func:`printable` (for tracebacks and log records)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _table(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_status(status: SeparationStatus) -> str:
    """The separation status as a readable table of speakers, durations and utterance counts."""
    head = f"{printable(status.voice_id)} / {printable(status.sample_id)}: {printable(status.status)}"
    if not status.speakers:
        return head + ("" if status.status != "completed" else "\n(no speakers)")
    rows = [["SPEAKER", "DURATION", "UTTERANCES", "SELECTED"]]
    for speaker_id, speaker in status.speakers.items():
        selected = "yes" if speaker_id in status.selected_speaker_ids else ""
        rows.append([printable(speaker_id), f"{speaker.duration_secs:.2f} s", str(len(speaker.utterances)), selected])
    return f"{head}\n{_table(rows, right=frozenset({1, 2}))}"


def json_text(document: Mapping[str, Any]) -> str:
    """``document`` as indented JSON, ASCII only (any id can be printed, escaped by JSON itself)."""
    return json.dumps(document, indent=2)


def status_document(status: SeparationStatus, request_id: str | None = None) -> dict[str, Any]:
    """The JSON document of a separation status: its ids, status, speakers (with utterances), selection."""
    return {
        "voice_id": status.voice_id,
        "sample_id": status.sample_id,
        "status": status.status,
        "speakers": {
            speaker_id: {
                "speaker_id": speaker.speaker_id,
                "duration_secs": speaker.duration_secs,
                "utterances": [{"start": u.start, "end": u.end} for u in speaker.utterances],
            }
            for speaker_id, speaker in status.speakers.items()
        },
        "selected_speaker_ids": list(status.selected_speaker_ids),
        "request_id": request_id,
    }


def sniff_file(path: Path) -> str | None:
    """The media type that the first bytes of the file at ``path`` show (``None``: not recognised)."""
    with path.open("rb") as f:
        return sniff_media_type(f.read(4096))


def file_document(
    path: Path, final: DownloadProgress | None, request_id: str | None = None, **ids: str
) -> dict[str, Any]:
    """The JSON document of one written file: ``ids``, path, the server's media type and duration, the type
    its bytes show, its size and the request id of its response."""
    return {
        **ids,
        "path": str(path),
        "media_type": final.media_type if final is not None else None,
        "duration_secs": final.duration_secs if final is not None else None,
        "sniffed_media_type": sniff_file(path),
        "size_bytes": path.stat().st_size,
        "request_id": request_id,
    }


def file_row(name: str, path: Path, duration: float | None, media_type: str | None) -> list[str]:
    """A table row for a written file: ``name``, path, the server's media type, the sniffed one, duration, size."""
    return [
        printable(name),
        printable(str(path)),
        "?" if media_type is None else printable(media_type),
        sniff_file(path) or "unknown",
        "?" if duration is None else f"{duration:.2f} s",
        format_size(path.stat().st_size),
    ]


def format_files(files: Mapping[str, Path], finals: Mapping[str, DownloadProgress], status: SeparationStatus) -> str:
    """A table of downloaded files: the server's media type (it chose the extension), sniffed type, duration, size."""
    rows = [["SPEAKER", "FILE", "MEDIA TYPE", "SNIFFED", "DURATION", "SIZE"]]
    for speaker_id, path in files.items():
        final = finals.get(speaker_id)
        speaker = status.speakers.get(speaker_id)
        duration = final.duration_secs if final is not None else None
        if duration is None and speaker is not None:
            duration = speaker.duration_secs
        rows.append(file_row(speaker_id, path, duration, final.media_type if final is not None else None))
    return _table(rows, right=frozenset({4, 5}))


# extensions that name one kind of audio (an Ogg file may hold Opus; .mp4 and .m4a are both MP4 audio)
_SAME_KIND = {".opus": ".ogg", ".oga": ".ogg", ".mp4": ".m4a", ".raw": ".pcm", ".wave": ".wav", ".mpga": ".mp3"}


def _kind(extension: str) -> str:
    extension = extension.lower()
    return _SAME_KIND.get(extension, extension)


def media_type_warning(path: Path | None, media_type: str, sniffed: str | None) -> str | None:
    """Why the audio and its file disagree, or ``None``: the extension of ``path`` against the server's
    ``media_type``, and the ``sniffed`` type of the bytes against it (unknown types are not compared)."""
    expected = extension_for_media_type(media_type)
    if expected == ".bin":
        return None
    problems = []
    if path is not None and _kind(path.suffix) != _kind(expected):
        problems.append(
            f"its extension {path.suffix or '(none)'} does not match the server's media type "
            f"{printable(media_type)} ({expected})"
        )
    sniffed_extension = ".bin" if sniffed is None else extension_for_media_type(sniffed)
    if sniffed_extension != ".bin" and _kind(sniffed_extension) != _kind(expected):
        problems.append(f"its bytes look like {sniffed}, not {printable(media_type)} as the server said")
    if not problems:
        return None
    where = "the audio" if path is None else printable(str(path))
    return f"{where}: " + "; ".join(problems)

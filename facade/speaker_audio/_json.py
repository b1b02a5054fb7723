"""Strict JSON (sans-I/O): what ``json`` accepts beyond the standard is refused."""

from __future__ import annotations

import json
from typing import Any

from speaker_audio.errors import ResponseValidationError


def reject_json_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: refuse ``NaN`` and ``Infinity``, which JSON does not define."""
    raise ValueError(f"{name} is not valid JSON")


def _each_object(value: dict[str, Any]) -> dict[str, Any]:
    # json's C parser calls it for every object it completes, which lets the interpreter switch threads: without it
    # a 14 MB body holds the interpreter for 0.3-0.5 s, and an event loop waiting on the worker thread that parses it.
    return value


def parse_json_body(body: bytes | bytearray, where: str) -> object:
    """``json.loads`` of a UTF-8 body (a BOM allowed, as on the audio routes); else ``ResponseValidationError``."""
    try:
        text = body.decode("utf-8")  # strictly: json.loads(bytes) would also take UTF-16/32 and encoded surrogates
        value: Any = json.loads(
            text.removeprefix("\ufeff"), parse_constant=reject_json_constant, object_hook=_each_object
        )
    except (ValueError, RecursionError):
        excerpt = body[:60].decode("utf-8", "replace")
        raise ResponseValidationError(f"{where}: body is not JSON (starts with {excerpt!r})") from None
    return value

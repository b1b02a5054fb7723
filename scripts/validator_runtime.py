"""The runtime of the compiled response validators: ``compile_validators.py`` copies this file, from the line
after ``# --- runtime ---``, into ``generated/speaker_audio_api/_validators.py``, then the checks it compiles.

A compiled check is ``check(value, walk) -> str | None``: the first problem with ``value`` (a message naming its JSON
pointer), else None, the drift seen going onto ``walk.drifts`` as ``(pointer, kind, detail, location, pinned)`` tuples
(``pinned``: for an unknown enum value, its path in the body and the pin's first value, to build a model with; else
None). Nothing here imports ``speaker_audio``: the facade (``speaker_audio._schema``) turns a message into
``ResponseValidationError`` and a drift into ``SpecDrift``.
"""

# --- runtime ---
from __future__ import annotations

import json
import math
import re  # noqa: F401  (the compiled patterns: re.compile(...))
import reprlib
import sys
from collections.abc import Callable
from typing import Any

MAX_DEPTH = 100  # nested $refs a body may go through (recursive schemas); deeper is a validation error
UNKNOWN_ENUM_VALUE = "unknown_enum_value"
UNKNOWN_MEMBER = "unknown_member"
Pinned = tuple[tuple[Any, ...], object]  # where an unknown enum value is (keys and indexes), a value pinned
Drift = tuple[str, str, str, str, Pinned | None]  # pointer, kind, detail, location (indexes, map keys as *), pinned
Check = Callable[[Any, "Walk"], str | None]
MAX_FLOAT = sys.float_info.max
isfinite = math.isfinite
DEPTH = f"nested more than {MAX_DEPTH} levels deep"
_KINDS = {type(None): "null", bool: "boolean", dict: "object", list: "array", str: "string", int: "number"}
_KINDS[float] = "number"
_MAP = object()  # in a walk's path: the next part is a map key (additionalProperties), not a declared member
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlevel, _REPR.maxdict, _REPR.maxlist = 60, 60, 2, 4, 4


class Walk:
    """One validation: its mode, where it is in the body (keys and indexes), the drift seen so far."""

    __slots__ = ("drifts", "path", "refs", "strict")

    def __init__(self, strict: bool) -> None:
        self.strict, self.refs = strict, 0
        self.path: list[object] = []
        self.drifts: list[Drift] = []

    def pointer(self, wild: bool = False) -> str:
        """The JSON pointer to here; with ``wild``, array indexes and map keys are ``*``."""
        parts, key = [], False
        for part in self.path:
            if part is not _MAP:
                text = "*" if wild and (key or isinstance(part, int)) else str(part)
                parts.append("/" + text.replace("~", "~0").replace("/", "~1"))
            key = part is _MAP
        return "".join(parts)

    def fail(self, text: str) -> str:
        return f"{printable(self.pointer()) or 'the body'}: {text}"

    def drift(self, kind: str, detail: str, pinned: Pinned | None = None) -> None:
        self.drifts.append((self.pointer(), kind, detail, self.pointer(wild=True), pinned))

    def here(self) -> tuple[Any, ...]:
        """The keys and indexes from the body to here."""
        return tuple(part for part in self.path if part is not _MAP)


def run(check: Check, document: object, strict: bool) -> tuple[str | None, list[Drift]]:
    """``check`` on ``document``: its first problem (None if it fits) and the drift seen."""
    walk = Walk(strict)
    try:
        message = check(document, walk)
    except RecursionError:  # deep data in a deep schema (or deep enum values): the path says where
        message = walk.fail("nested too deeply to validate")
    return message, walk.drifts


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (server text is safe to log or show)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown(value: object, as_json: bool = False) -> str:
    """``value`` for a message, shortened: as JSON text (``as_json``, for scalars) or as Python's repr."""
    if as_json and isinstance(value, str):
        return json.dumps(value[:60]) + ("…" if len(value) > 60 else "")
    if as_json and (value is None or isinstance(value, bool)):
        return json.dumps(value)
    try:
        return _REPR.repr(value)
    except ValueError:  # an int past Python's digit limit
        return "a very long integer"


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite(value: Any) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def open_kind(value: object) -> str | None:
    """What an open enum widens to: a string, or a finite number (booleans and containers stay closed)."""
    return "string" if isinstance(value, str) else "number" if is_number(value) and is_finite(value) else None


def json_equal(a: object, b: object) -> bool:
    """Equality as JSON means it (``true`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def type_problem(value: object, label: str, number: bool) -> str:
    """Why ``value`` does not fit a ``type`` (``label``: e.g. "a string or null"; ``number``: it lists number)."""
    if number and is_number(value):
        return "must be a finite number"
    return f"expected {label}, got {_KINDS.get(type(value), type(value).__name__)}"


class Values:
    """``enum`` or ``const``: the values listed, and the kinds (string, number) a tolerant walk opens it to."""

    __slots__ = ("const", "opens", "options", "pinned", "strings")

    def __init__(self, options: tuple[object, ...], const: bool) -> None:
        self.options, self.const = options, const
        self.strings = frozenset(option for option in options if type(option) is str)
        self.opens = {open_kind(option) for option in options} - {None}
        self.pinned = ", ".join(o if isinstance(o, str) else shown(o, as_json=True) for o in options)

    def check(self, value: object, walk: Walk) -> str | None:
        if type(value) is str and value in self.strings:
            return None
        if any(json_equal(value, option) for option in self.options):
            return None
        if not walk.strict and open_kind(value) in self.opens:
            walk.drift(UNKNOWN_ENUM_VALUE, f"{shown(value)} (pinned: {self.pinned})", (walk.here(), self.options[0]))
            return None
        if self.const:
            return walk.fail(f"must be {shown(self.options[0], as_json=True)}")
        return walk.fail(f"unknown value {shown(value, as_json=True)} (the pinned spec allows {self.pinned})")


def undeclared(name: str, item: object, walk: Walk, closed: bool) -> str | None:
    """A member ``properties`` do not declare: refused if ``closed`` (``additionalProperties: false``) and strict,
    else reported as drift."""
    walk.path.append(name)
    message = None
    if closed and walk.strict:
        message = walk.fail("member not allowed by the pinned spec")
    else:
        walk.drift(UNKNOWN_MEMBER, f"member {shown(name)} (value {shown(item)})")
    walk.path.pop()
    return message


def branches(
    one_of: bool, options: tuple[Check, ...], value: object, walk: Walk, known: int = -1, refusal: str = ""
) -> str | None:
    """``anyOf`` (an exact match preferred to one with drift) or ``oneOf``; the match's drift kept.

    ``refusal``: what ``options[known]`` said of ``value`` already (not asked again: its own options may be these).
    """
    drifts, messages, found = walk.drifts, [], []
    mark = len(drifts)
    for index, option in enumerate(options):
        message = refusal if index == known else option(value, walk)
        if message is None and len(drifts) == mark and not one_of:
            return None
        if message is None:
            found.append(drifts[mark:])
        else:
            messages.append(message)
        del drifts[mark:]
    if not found:
        return _none_matched(messages, walk)
    if len(found) > 1 and one_of:
        return walk.fail(f"matches {len(found)} alternatives, the pinned spec wants exactly one")
    best: list[Drift] = min(found, key=len)
    drifts += best
    return None


def _none_matched(messages: list[str], walk: Walk) -> str:
    """One message for a value that fits none of the alternatives: the closest one's, when clear."""
    top = walk.fail("expected ")
    deeper = [m for m in messages if not m.startswith(top)]
    if len(deeper) == 1:
        return deeper[0]  # the value had the right type for one alternative: that one's own message
    if deeper:
        return walk.fail(f"fits none of the alternatives the pinned spec allows ({'; '.join(messages)})")
    wanted = " or ".join(m[len(top) :].rsplit(", got ", 1)[0] for m in messages)
    return f"{top}{wanted}, got {messages[0].rsplit(', got ', 1)[1]}"


def multiple_of(value: Any, walk: Walk, divisor: float) -> str | None:
    try:  # exact for an int divisor; for a float one as jsonschema does
        fits = not is_number(value) or (
            value % divisor == 0 if isinstance(divisor, int) else float(value / divisor).is_integer()
        )
    except OverflowError:
        fits = False
    return None if fits else walk.fail(f"must be a multiple of {divisor}")


def unique(value: object, walk: Walk) -> str | None:
    for index, item in enumerate(value if isinstance(value, list) else ()):
        if any(json_equal(item, other) for other in value[:index]):  # type: ignore[index]
            return walk.fail(f"items must be unique (item {index} repeats an earlier one)")
    return None


def forbidden(check: Check, value: object, walk: Walk) -> str | None:
    """``not``: judged by the pinned schema (widening it would narrow what the body may be)."""
    strict, mark = walk.strict, len(walk.drifts)
    walk.strict = True
    message = check(value, walk)
    walk.strict = strict
    del walk.drifts[mark:]
    return walk.fail("matches a schema the pinned spec forbids") if message is None else None

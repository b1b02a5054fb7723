"""Response validation (sans-I/O): the checks ``make generate`` compiled from the pinned spec, with the facade's errors.

``make generate`` ships the spec it generated from inside the generated package (``speaker_audio_api/openapi.json``)
and compiles each operation response's schema into ``speaker_audio_api/_validators.py``
(``scripts/compile_validators.py``), so the schemas enforced here and the generated models come from the same pin.
:func:`response_validator` gives an operation's validator, called as ``validator(document, strict=...)``. With
``strict=True`` it accepts what JSON Schema (as OpenAPI 3.1 uses it) accepts, numbers finite; with ``strict=False``
also additive drift: what the schema accepts with each ``enum``/``const`` of strings or numbers opened to any string or
finite number and each object open. It returns the drift seen (``()`` when the body is what the pin describes), members
that ``properties`` do not declare included, and else raises ``ResponseValidationError`` naming the JSON pointer at
fault. A schema that could not be compiled (a keyword the compiler does not enforce, a ``pattern`` Python's ``re``
cannot compile) raises ``UnsupportedSchemaError`` for that operation only. The validator also carries what the facade
reads of the response's members, computed by ``make generate`` too: nothing here reads the spec at run time.
"""

from __future__ import annotations

import functools
from types import ModuleType
from typing import Any

from speaker_audio._drift import SpecDrift
from speaker_audio.errors import ResponseValidationError, UnsupportedSchemaError
from speaker_audio_api import _validators

MAX_DEPTH = _validators.MAX_DEPTH  # nested $refs a body may go through (recursive schemas); deeper is refused
_BEHIND = "the server's response no longer matches the pinned spec (re-pin with `make pin`)"
_compiled: ModuleType = _validators  # the compiled checks (tests swap in ones compiled from another spec)

Pinned = tuple[tuple[Any, ...], object]
"""Where in a body an unknown enum value is (its keys and indexes), and the value the pin lists first."""


class Validator:
    """A response's compiled check, ``validator(document, strict=...)``, and what the pinned spec says of its members.

    Attributes:
        formatted_optional: the optional members with a ``format`` (kept as text where the model cannot parse them).
        string_members: the members of type string.
    """

    __slots__ = ("_check", "_operation", "_run", "_where", "formatted_optional", "string_members")

    def __init__(self, compiled: ModuleType, key: tuple[str, str], where: str, operation: str) -> None:
        self._check, self._run, self._where, self._operation = compiled.VALIDATORS[key], compiled.run, where, operation
        self.formatted_optional: frozenset[str] = compiled.FORMATTED_OPTIONAL[key]
        self.string_members: frozenset[str] = compiled.STRING_MEMBERS[key]

    def __call__(
        self, document: object, *, strict: bool = True, pinned: list[Pinned] | None = None
    ) -> tuple[SpecDrift, ...]:
        """The drift in ``document`` (a ``json.loads`` value); ``ResponseValidationError`` if it does not fit.

        Args:
            pinned: a list that gets a ``Pinned`` for each unknown enum value (to build the generated model with).
        """
        message, drifts = self._run(self._check, document, strict)
        if message is not None:
            raise ResponseValidationError(f"{self._where}: {message}; {_BEHIND}")
        if not drifts:
            return ()
        if pinned is not None:
            pinned += [drift[4] for drift in drifts if drift[4] is not None]
        return tuple([SpecDrift(self._operation, *drift[:4]) for drift in drifts])


def response_validator(operation_id: str, status: str = "200") -> Validator:
    """``operation_id``'s validator, built once; ``UnsupportedSchemaError`` at every call if it cannot be built."""
    built = _build(operation_id, status)
    if isinstance(built, UnsupportedSchemaError):
        raise UnsupportedSchemaError(*built.args)
    return built


@functools.cache
def _build(operation_id: str, status: str) -> Validator | UnsupportedSchemaError:
    return adapt(_compiled, (operation_id, status), f"{operation_id} response", operation_id)


def adapt(compiled: ModuleType, key: tuple[str, str], where: str, operation: str) -> Validator | UnsupportedSchemaError:
    """The validator of ``compiled.VALIDATORS[key]`` (messages start with ``where``, drifts name ``operation``), or
    the error that says why it cannot be had."""
    cause = compiled.UNSUPPORTED.get(key)
    if cause is not None:
        return UnsupportedSchemaError(f"{where}: the pinned schema cannot be enforced: {cause}")
    if key in compiled.VALIDATORS:
        return Validator(compiled, key, where, operation)
    if key[0] not in compiled.OPERATION_IDS:
        return UnsupportedSchemaError(f"the pinned spec has no operation {key[0]!r}")
    return UnsupportedSchemaError(f"the pinned spec gives {key[0]} {key[1]} no JSON schema")

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
cannot compile) raises ``UnsupportedSchemaError`` for that operation only.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from types import ModuleType
from typing import Any, Protocol

from speaker_audio._drift import SpecDrift
from speaker_audio.errors import ResponseValidationError, UnsupportedSchemaError
from speaker_audio_api import _validators

__all__ = ["MAX_DEPTH", "SPEC_RESOURCE", "UnsupportedSchemaError", "Validator"]
__all__ += ["adapt", "load_spec", "response_schema", "response_validator"]

SPEC_RESOURCE = "openapi.json"
MAX_DEPTH = _validators.MAX_DEPTH  # nested $refs a body may go through (recursive schemas); deeper is refused
_BEHIND = "the server's response no longer matches the pinned spec (re-pin with `make pin`)"
_compiled: ModuleType = _validators  # the compiled checks (tests swap in ones compiled from another spec)


class Validator(Protocol):
    def __call__(self, document: object, *, strict: bool = True) -> tuple[SpecDrift, ...]:
        """The drift in ``document`` (a ``json.loads`` value); ``ResponseValidationError`` if it does not fit."""


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The spec the generated package was built from (``speaker_audio_api/openapi.json``)."""
    import importlib.resources

    spec: Mapping[str, Any] = json.loads(
        importlib.resources.files("speaker_audio_api").joinpath(SPEC_RESOURCE).read_bytes()
    )
    return spec


def _get(node: object, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def response_schema(operation_id: str, status: str = "200", spec: Mapping[str, Any] | None = None) -> Any:
    """The JSON schema of ``operation_id``'s ``status`` response (``application/json``); else UnsupportedSchemaError."""
    paths = _get(load_spec() if spec is None else spec, "paths")
    for item in paths.values() if isinstance(paths, Mapping) else ():
        for operation in item.values() if isinstance(item, Mapping) else ():
            if _get(operation, "operationId") == operation_id:
                media = _get(operation, "responses", status, "content", "application/json")
                if not isinstance(media, Mapping) or "schema" not in media:
                    raise UnsupportedSchemaError(f"the pinned spec gives {operation_id} {status} no JSON schema")
                return media["schema"]
    raise UnsupportedSchemaError(f"the pinned spec has no operation {operation_id!r}")


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
    check, run = compiled.VALIDATORS.get(key), compiled.run
    if check is None:
        try:
            response_schema(*key)
        except UnsupportedSchemaError as error:
            return error
        return UnsupportedSchemaError(f"{where}: no validator was compiled for it (run `make generate`)")

    def validate(document: object, *, strict: bool = True) -> tuple[SpecDrift, ...]:
        message, drifts = run(check, document, strict)
        if message is not None:
            raise ResponseValidationError(f"{where}: {message}; {_BEHIND}")
        return tuple([SpecDrift(operation, *drift) for drift in drifts]) if drifts else ()

    return validate

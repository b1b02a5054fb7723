"""Validators compiled in memory, as ``make generate`` compiles the pin's (``scripts/compile_validators.py``).

``compile_validator`` compiles any schema into the facade's validator: the keyword-by-keyword tests use it;
``compiled_pin`` compiles every response of a spec (a copy of the pin with a schema edited) into the module the facade
reads its validators from.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import compile_validators
from speaker_audio import _schema
from speaker_audio.errors import UnsupportedSchemaError

_KEY = ("schema", "200")


def compile_validator(schema: Any, spec: Any, where: str, operation: str | None = None) -> _schema.Validator:
    """A validator of ``schema`` (``$ref``s into ``spec``); messages start with ``where``, drifts name ``operation``.

    Raises:
        UnsupportedSchemaError: ``schema`` uses a keyword or a ``pattern`` the compiler cannot enforce.
    """
    compiled = compile_validators.load({_KEY: schema}, compile_validators.components_of(spec))
    built = _schema.adapt(compiled, _KEY, where, where if operation is None else operation)
    if isinstance(built, UnsupportedSchemaError):
        raise built
    return built


def compiled_pin(spec: Any) -> ModuleType:
    """Every response of ``spec`` compiled: what ``make generate`` would write for it, in memory."""
    return compile_validators.load_spec(spec)

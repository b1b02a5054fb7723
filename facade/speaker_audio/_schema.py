"""Response validation derived from the pinned spec (sans-I/O).

``make generate`` ships the spec it generated from inside the generated package
(``speaker_audio_api/openapi.json``), so the schemas enforced here and the generated models
always come from the same pin: a re-pin changes both, and nothing in ``facade/`` keeps a copy.

:func:`response_validator` compiles an operation's response schema (JSON Schema, as OpenAPI 3.1
uses it) into a check that raises ``ResponseValidationError`` naming the member at fault. It is
stricter than JSON Schema in one way only: a ``number`` must be finite (JSON has no infinities,
but ``json.loads`` turns ``1e999`` into one). A keyword it does not enforce is refused when the
schema is compiled (``UnsupportedSchemaError``), so a re-pin that brings one fails the test suite
instead of being silently ignored.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from speaker_audio.errors import ResponseValidationError

__all__ = ["SPEC_RESOURCE", "UnsupportedSchemaError", "Validator", "load_spec", "response_schema", "response_validator"]

SPEC_RESOURCE = "openapi.json"
_REF_PREFIX = "#/components/schemas/"

Validator = Callable[[object], None]
"""Raises ``ResponseValidationError`` unless the JSON value (as ``json.loads`` returns it) fits."""

_Check = Callable[[object, str], str | None]  # (value, path) -> an error message, or None when it fits

# Keywords that describe but never constrain (JSON Schema annotations, OpenAPI extras).
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "example",
        "examples",
        "default",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
        "$comment",
        "externalDocs",
        "xml",
        "contentMediaType",
        "contentEncoding",
    }
)
_TYPE_LABELS = {
    "null": "null",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
}
_JSON_TYPES = tuple(_TYPE_LABELS)


class UnsupportedSchemaError(Exception):
    """The pinned spec uses something this validator does not enforce (fix the validator or the pin)."""


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The spec the generated package was built from (``speaker_audio_api/openapi.json``)."""
    import importlib.resources

    data = importlib.resources.files("speaker_audio_api").joinpath(SPEC_RESOURCE).read_bytes()
    spec: Mapping[str, Any] = json.loads(data)
    return spec


def response_schema(operation_id: str, status: str = "200", spec: Mapping[str, Any] | None = None) -> Any:
    """The JSON schema of ``operation_id``'s ``status`` response (``application/json``)."""
    spec = load_spec() if spec is None else spec
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                try:
                    return operation["responses"][status]["content"]["application/json"]["schema"]
                except KeyError:
                    raise UnsupportedSchemaError(
                        f"the pinned spec gives no application/json schema for {operation_id} {status}"
                    ) from None
    raise UnsupportedSchemaError(f"the pinned spec has no operation {operation_id!r}")


@functools.cache
def response_validator(operation_id: str, status: str = "200") -> Validator:
    """A validator for ``operation_id``'s ``status`` response body, compiled from the pinned spec."""
    spec = load_spec()
    return compile_validator(response_schema(operation_id, status, spec), spec, f"{operation_id} response")


def compile_validator(schema: Any, spec: Mapping[str, Any], where: str) -> Validator:
    """Compile ``schema`` (whose ``$ref``s point into ``spec``'s components) into a validator."""
    check = _Compiler(spec.get("components", {}).get("schemas", {})).compile(schema)

    def validate(value: object) -> None:
        message = check(value, "")
        if message is not None:
            raise ResponseValidationError(f"{where}: {message}")

    return validate


# --- the compiler ---------------------------------------------------------------------------------


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _at(path: str) -> str:
    return path or "the body"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _has_type(value: object, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "number":
        return _is_number(value)
    # integer: JSON Schema counts 1.0 as an integer
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


def _json_equal(a: object, b: object) -> bool:
    """Equality as JSON means it (``true`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class _Compiler:
    """Turns a schema into nested checks; each ``$ref`` is compiled once (recursion allowed)."""

    def __init__(self, components: Mapping[str, Any]) -> None:
        self._components = components
        self._refs: dict[str, _Check] = {}

    def compile(self, schema: Any) -> _Check:
        if schema is True or schema == {}:
            return lambda value, path: None
        if schema is False:
            return lambda value, path: f"{_at(path)}: no value is allowed here"
        if not isinstance(schema, dict):
            raise UnsupportedSchemaError(f"a schema must be an object or a boolean, got {schema!r}")
        checks: list[_Check] = []
        for keyword, argument in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            build = _KEYWORDS.get(keyword)
            if build is None:
                raise UnsupportedSchemaError(
                    f"JSON Schema keyword {keyword!r} is not enforced by speaker_audio._schema"
                )
            if keyword in _OBJECT_KEYWORDS and keyword != next(k for k in schema if k in _OBJECT_KEYWORDS):
                continue  # the object keywords compile as one check, at the first of them
            checks.append(build(self, argument, schema))
        return _all(checks)

    def ref(self, ref: object, schema: Mapping[str, Any]) -> _Check:
        if not isinstance(ref, str) or not ref.startswith(_REF_PREFIX):
            raise UnsupportedSchemaError(f"only local {_REF_PREFIX}* references are supported, got {ref!r}")
        name = ref.removeprefix(_REF_PREFIX)
        if name not in self._components:
            raise UnsupportedSchemaError(f"reference to a missing schema: {ref}")
        if name not in self._refs:
            cell: list[_Check] = []
            self._refs[name] = lambda value, path: cell[0](value, path)  # until compiled: recursion
            cell.append(self.compile(self._components[name]))
            self._refs[name] = cell[0]
        return self._refs[name]

    def type_(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        names = [argument] if isinstance(argument, str) else argument
        if not isinstance(names, list) or not names or any(n not in _JSON_TYPES for n in names):
            raise UnsupportedSchemaError(f"unsupported type {argument!r}")
        wanted = tuple(names)
        allows_null = schema.get("nullable") is True
        label = " or ".join(_TYPE_LABELS[n] for n in wanted)

        def check(value: object, path: str) -> str | None:
            if value is None and allows_null:
                return None
            infinite = False
            for name in wanted:
                if _has_type(value, name):
                    if name != "number" or _is_finite(value):  # type: ignore[arg-type]
                        return None
                    infinite = True  # another listed type (integer) may still take it
            if infinite:
                return f"{_at(path)}: must be a finite number"
            return f"{_at(path)}: expected {label}, got {_kind(value)}"

        return check

    def nullable(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        if not isinstance(argument, bool):
            raise UnsupportedSchemaError(f"nullable must be a boolean, got {argument!r}")
        return lambda value, path: None  # honoured by "type"

    def enum(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        if not isinstance(argument, list) or not argument:
            raise UnsupportedSchemaError(f"enum must be a non-empty list, got {argument!r}")
        allowed = list(argument)
        if schema.get("nullable") is True:
            allowed.append(None)

        def check(value: object, path: str) -> str | None:
            if any(_json_equal(value, option) for option in allowed):
                return None
            shown = ", ".join(json.dumps(option) for option in argument)
            return f"{_at(path)}: unknown value {json.dumps(value)[:80]} (the pinned spec allows {shown})"

        return check

    def const(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        return lambda value, path: (
            None if _json_equal(value, argument) else f"{_at(path)}: must be {json.dumps(argument)}"
        )

    def object_members(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        """``properties``, ``required`` and ``additionalProperties`` together (they apply to objects only)."""
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise UnsupportedSchemaError(f"properties must be an object, got {properties!r}")
        members = {name: self.compile(sub) for name, sub in properties.items()}
        required = self._required(schema.get("required", []))
        extra = self._extra(schema.get("additionalProperties", True))

        def check(value: object, path: str) -> str | None:
            if not isinstance(value, dict):
                return None
            for name in required:
                if name not in value:
                    return f"{_at(path)}: missing required member {name!r}"
            for name, item in value.items():
                member = members.get(name)
                if member is not None:
                    message = member(item, f"{path}.{name}" if path else name)
                elif extra is not None:
                    message = extra(item, f"{path}[{name!r}]")
                else:
                    continue
                if message is not None:
                    return message
            return None

        return check

    def _required(self, argument: object) -> Sequence[str]:
        if not isinstance(argument, list) or not all(isinstance(n, str) for n in argument):
            raise UnsupportedSchemaError(f"required must be a list of names, got {argument!r}")
        return tuple(argument)

    def _extra(self, argument: object) -> _Check | None:
        if argument is True or argument == {}:
            return None
        if argument is False:
            return lambda value, path: f"{path}: member not allowed by the pinned spec"
        return self.compile(argument)

    def items(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        item_check = self.compile(argument)

        def check(value: object, path: str) -> str | None:
            if isinstance(value, list):
                for index, item in enumerate(value):
                    message = item_check(item, f"{path}[{index}]")
                    if message is not None:
                        return message
            return None

        return check

    def any_of(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        options = self._options(argument)

        def check(value: object, path: str) -> str | None:
            messages = []
            for option in options:
                message = option(value, path)
                if message is None:
                    return None
                messages.append(message)
            return _none_matched(messages, path)

        return check

    def one_of(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        options = self._options(argument)

        def check(value: object, path: str) -> str | None:
            messages = [option(value, path) for option in options]
            matched = messages.count(None)
            if matched == 1:
                return None
            if matched > 1:
                return f"{_at(path)}: matches {matched} alternatives, the pinned spec wants exactly one"
            return _none_matched([m for m in messages if m is not None], path)

        return check

    def all_of(self, argument: object, schema: Mapping[str, Any]) -> _Check:
        return _all(self._options(argument))

    def _options(self, argument: object) -> list[_Check]:
        if not isinstance(argument, list) or not argument:
            raise UnsupportedSchemaError(f"anyOf/oneOf/allOf must be a non-empty list, got {argument!r}")
        return [self.compile(option) for option in argument]


def _not(compiler: _Compiler, argument: object, schema: Mapping[str, Any]) -> _Check:
    forbidden = compiler.compile(argument)
    return lambda value, path: (
        f"{_at(path)}: matches a schema the pinned spec forbids" if forbidden(value, path) is None else None
    )


def _unique_items(compiler: _Compiler, argument: object, schema: Mapping[str, Any]) -> _Check:
    if not isinstance(argument, bool):
        raise UnsupportedSchemaError(f"uniqueItems must be a boolean, got {argument!r}")

    def check(value: object, path: str) -> str | None:
        if argument and isinstance(value, list):
            for index, item in enumerate(value):
                if any(_json_equal(item, other) for other in value[:index]):
                    return f"{_at(path)}: items must be unique ({path}[{index}] repeats an earlier one)"
        return None

    return check


def _multiple_of(compiler: _Compiler, argument: object, schema: Mapping[str, Any]) -> _Check:
    if not _is_number(argument) or argument <= 0:  # type: ignore[operator]
        raise UnsupportedSchemaError(f"multipleOf must be a number > 0, got {argument!r}")
    divisor: float = argument  # type: ignore[assignment]

    def check(value: object, path: str) -> str | None:
        if not _is_number(value):
            return None
        if isinstance(divisor, int):
            fits = value % divisor == 0  # type: ignore[operator]  # exact for ints; as jsonschema does for floats
        else:
            try:
                fits = float(value / divisor).is_integer()  # type: ignore[operator]
            except OverflowError:
                fits = False
        return None if fits else f"{_at(path)}: must be a multiple of {divisor}"

    return check


def _all(checks: list[_Check]) -> _Check:
    """One check that runs ``checks`` in order and reports the first failure (``allOf``, and a schema's keywords)."""
    if len(checks) == 1:
        return checks[0]

    def check(value: object, path: str) -> str | None:
        for each in checks:
            message = each(value, path)
            if message is not None:
                return message
        return None

    return check


def _none_matched(messages: list[str], path: str) -> str:
    """One message for a value that fits none of the alternatives: the closest one's, when clear."""
    top = f"{_at(path)}: expected "
    deeper = [m for m in messages if not m.startswith(top)]
    if len(deeper) == 1:
        return deeper[0]  # the value had the right type for one alternative: that one's own message
    if not deeper:
        wanted = [m[len(top) :].rsplit(", got ", 1)[0] for m in messages]
        got = messages[0].rsplit(", got ", 1)[1]
        return f"{top}{' or '.join(wanted)}, got {got}"
    return f"{_at(path)}: fits none of the alternatives the pinned spec allows ({'; '.join(messages)})"


def _limit(keyword: str) -> Callable[[_Compiler, object, Mapping[str, Any]], _Check]:
    """Numeric, length, size and pattern keywords: each applies only to values of its kind."""

    def build(compiler: _Compiler, argument: object, schema: Mapping[str, Any]) -> _Check:
        if keyword == "pattern":
            if not isinstance(argument, str):
                raise UnsupportedSchemaError(f"pattern must be a string, got {argument!r}")
            regex = re.compile(argument)
            return lambda value, path: (
                f"{_at(path)}: does not match {argument!r}"
                if isinstance(value, str) and regex.search(value) is None
                else None
            )
        if not _is_number(argument) or (isinstance(argument, float) and not math.isfinite(argument)):
            raise UnsupportedSchemaError(f"{keyword} must be a number, got {argument!r}")
        limit: float = argument  # type: ignore[assignment]
        test, applies, measure = _LIMITS[keyword]

        def check(value: object, path: str) -> str | None:
            if not applies(value):
                return None
            if test(measure(value), limit):
                return None
            return f"{_at(path)}: violates {keyword} {limit:g}"

        return check

    return build


def _size(value: Any) -> float:
    return float(len(value))


def _number(value: Any) -> float:
    return value  # type: ignore[no-any-return]  # int or float, compared exactly (no float() overflow)


_LIMITS: dict[str, tuple[Callable[[float, float], bool], Callable[[object], bool], Callable[[Any], float]]] = {
    "minimum": (lambda v, lim: v >= lim, _is_number, _number),
    "maximum": (lambda v, lim: v <= lim, _is_number, _number),
    "exclusiveMinimum": (lambda v, lim: v > lim, _is_number, _number),
    "exclusiveMaximum": (lambda v, lim: v < lim, _is_number, _number),
    "minLength": (lambda v, lim: v >= lim, lambda v: isinstance(v, str), _size),
    "maxLength": (lambda v, lim: v <= lim, lambda v: isinstance(v, str), _size),
    "minItems": (lambda v, lim: v >= lim, lambda v: isinstance(v, list), _size),
    "maxItems": (lambda v, lim: v <= lim, lambda v: isinstance(v, list), _size),
    "minProperties": (lambda v, lim: v >= lim, lambda v: isinstance(v, dict), _size),
    "maxProperties": (lambda v, lim: v <= lim, lambda v: isinstance(v, dict), _size),
}

_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties")
_KEYWORDS: dict[str, Callable[[_Compiler, object, Mapping[str, Any]], _Check]] = {
    "$ref": _Compiler.ref,
    "type": _Compiler.type_,
    "nullable": _Compiler.nullable,
    "enum": _Compiler.enum,
    "const": _Compiler.const,
    **dict.fromkeys(_OBJECT_KEYWORDS, _Compiler.object_members),
    "items": _Compiler.items,
    "anyOf": _Compiler.any_of,
    "oneOf": _Compiler.one_of,
    "allOf": _Compiler.all_of,
    "not": _not,
    "uniqueItems": _unique_items,
    "multipleOf": _multiple_of,
    "pattern": _limit("pattern"),
    **{keyword: _limit(keyword) for keyword in _LIMITS},
}

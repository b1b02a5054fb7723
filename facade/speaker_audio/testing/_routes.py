"""The fake API's routes and parameter rules, read from an OpenAPI document (by default the pinned spec).

Nothing here is a copy of the spec: each operation's method, path template, operationId, parameters and 2xx
response schema come from ``speaker_audio_api/openapi.json`` (the spec the generated client was built from),
so a re-pin changes what the fake routes and validates with no edit here.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import attrs

SPEC_PACKAGE = "speaker_audio_api"
SPEC_RESOURCE = "openapi.json"
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_PARAMETER = re.compile(r"\{([^{}/]+)\}")
_SEGMENT = "([^/?#]+)"  # one percent-encoded path segment
BOOLEANS = {  # how FastAPI (pydantic) reads a boolean query parameter
    **dict.fromkeys(("true", "1", "yes", "on", "t", "y"), True),
    **dict.fromkeys(("false", "0", "no", "off", "f", "n"), False),
}


@attrs.frozen
class Parameter:
    """A path, query or header parameter of an operation (its schema with a top-level ``$ref`` resolved)."""

    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]


@attrs.frozen
class Operation:
    """One operation of the document, with the matcher of its path template."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    path_names: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    response_schema: Mapping[str, Any] | None
    """The JSON schema of its first 2xx ``application/json`` response, if any."""


@attrs.frozen
class Problem:
    """One entry of a 422 body: where, what, and pydantic's error type."""

    loc: tuple[str | int, ...]
    msg: str
    type: str


class Routes:
    """The operations of one OpenAPI document, and the rules for their parameters."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        operations = []
        for template, item in (document.get("paths") or {}).items():
            shared = item.get("parameters", [])
            for method, definition in item.items():
                if method not in _METHODS or not isinstance(definition, Mapping):
                    continue
                operations.append(self._operation(template, method, definition, shared))
        # a literal segment is more specific than a parameter (OpenAPI: concrete paths match first)
        operations.sort(key=lambda operation: len(operation.path_names))
        self.operations: tuple[Operation, ...] = tuple(operations)
        self.by_id = {operation.operation_id: operation for operation in operations}

    def _operation(self, template: str, method: str, definition: Mapping[str, Any], shared: Sequence[Any]) -> Operation:
        merged: dict[tuple[str, str], Parameter] = {}
        for raw in [*shared, *definition.get("parameters", [])]:  # the operation's own win over the path item's
            parameter = self.resolve(raw)
            merged[(parameter["name"], parameter["in"])] = Parameter(
                parameter["name"],
                parameter["in"],
                bool(parameter.get("required", parameter["in"] == "path")),
                self.resolve(parameter.get("schema", {})),
            )
        pieces = _PARAMETER.split(template)  # literal, name, literal, name, ..., literal
        pattern = "".join(re.escape(piece) if i % 2 == 0 else _SEGMENT for i, piece in enumerate(pieces))
        method = method.upper()
        return Operation(
            operation_id=definition.get("operationId") or f"{method} {template}",
            method=method,
            template=template,
            pattern=re.compile(f"^{pattern}$"),
            path_names=tuple(pieces[1::2]),
            parameters=tuple(merged.values()),
            response_schema=self._response_schema(definition),
        )

    def _response_schema(self, definition: Mapping[str, Any]) -> Mapping[str, Any] | None:
        for status, response in sorted((definition.get("responses") or {}).items()):
            if str(status).startswith("2"):
                schema = self.resolve(response).get("content", {}).get("application/json", {}).get("schema")
                return None if schema is None else self.resolve(schema)
        return None

    def resolve(self, node: Any) -> Any:
        """``node`` with its ``$ref`` (to this document) followed, as often as it takes."""
        seen = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and seen < 32:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node, seen = target, seen + 1
        return node

    def match(self, method: str, path: str) -> tuple[list[str], Operation | None, dict[str, str]]:
        """The methods ``path`` (raw, without its query) answers to, and the operation and path values for
        ``method`` (percent-decoded), if it has one."""
        allowed: list[str] = []
        found: Operation | None = None
        values: dict[str, str] = {}
        for operation in self.operations:
            matched = operation.pattern.match(path)
            if matched is None:
                continue
            if operation.method not in allowed:
                allowed.append(operation.method)
            if found is None and operation.method == method:
                found = operation
                segments = zip(operation.path_names, matched.groups(), strict=True)
                values = {name: urllib.parse.unquote(value) for name, value in segments}
        return allowed, found, values

    def check(
        self,
        operation: Operation,
        path_values: Mapping[str, str],
        query: Mapping[str, Sequence[str]],
        headers: Mapping[str, str],
    ) -> tuple[dict[str, Any], list[Problem]]:
        """The parameters of a request read as the spec types them (defaults filled in), and what is wrong.

        Path values come percent-decoded, ``query`` as ``parse_qs`` gives it (the last value counts, as in
        FastAPI, unless the schema is an array), header names in lower case. Parameters the spec does not
        declare are ignored, as FastAPI does.
        """
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for parameter in operation.parameters:
            if parameter.location == "path":
                texts: Sequence[str] | None = [path_values[parameter.name]] if parameter.name in path_values else None
            elif parameter.location == "query":
                texts = query.get(parameter.name)
            elif parameter.location == "header":
                header = headers.get(parameter.name.lower())
                texts = None if header is None else [header]
            else:  # cookies: the API takes none
                continue
            loc = (parameter.location, parameter.name)
            if texts is None:
                if parameter.required:
                    problems.append(Problem(loc, "Field required", "missing"))
                elif "default" in parameter.schema:
                    values[parameter.name] = parameter.schema["default"]
                continue
            if self.resolve(parameter.schema).get("type") == "array":
                items = self.resolve(parameter.schema.get("items", {}))
                read = [self.read(text, items) for text in texts]
                problems += [Problem((*loc, i), *error) for i, (_, error) in enumerate(read) if error]
                values[parameter.name] = [value for value, _ in read]
                continue
            value, error = self.read(texts[-1], parameter.schema)
            if error is not None:
                problems.append(Problem(loc, *error))
            values[parameter.name] = value
        return values, problems

    def read(self, text: str, schema: Mapping[str, Any]) -> tuple[Any, tuple[str, str] | None]:
        """``text`` read as ``schema`` says, and the (message, type) of pydantic's error if it does not fit."""
        schema = self.resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if branches:
            error: tuple[str, str] | None = None
            for branch in branches:
                if self.resolve(branch).get("type") == "null":
                    continue
                read, error = self.read(text, branch)
                if error is None:
                    return read, None
            return text, error
        kind = schema.get("type")
        value: Any = text
        if kind == "boolean":
            if text.lower() not in BOOLEANS:
                return text, ("Input should be a valid boolean", "bool_parsing")
            value = BOOLEANS[text.lower()]
        elif kind == "integer":
            if re.fullmatch(r"[+-]?[0-9]+", text.strip()) is None:
                return text, ("Input should be a valid integer, unable to parse string as an integer", "int_parsing")
            value = int(text)
        elif kind == "number":
            try:
                value = float(text)
            except ValueError:
                return text, ("Input should be a valid number, unable to parse string as a number", "float_parsing")
            if not math.isfinite(value):
                return text, ("Input should be a finite number", "finite_number")
        if "enum" in schema and value not in schema["enum"]:
            listed = [repr(option) for option in schema["enum"]]
            allowed = " or ".join([", ".join(listed[:-1]), listed[-1]] if len(listed) > 1 else listed)
            return text, (f"Input should be {allowed}", "enum")
        return value, _bound_problem(value, schema)


def _bound_problem(value: Any, schema: Mapping[str, Any]) -> tuple[str, str] | None:
    """pydantic's error for a value outside the schema's bounds (length, pattern, range), if it is."""
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"String should have at least {schema['minLength']} characters", "string_too_short"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"String should have at most {schema['maxLength']} characters", "string_too_long"
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            return f"String should match pattern '{schema['pattern']}'", "string_pattern_mismatch"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        for keyword, holds, words, kind in (
            ("minimum", operator.ge, "greater than or equal to", "greater_than_equal"),
            ("maximum", operator.le, "less than or equal to", "less_than_equal"),
            ("exclusiveMinimum", operator.gt, "greater than", "greater_than"),
            ("exclusiveMaximum", operator.lt, "less than", "less_than"),
        ):
            bound = schema.get(keyword)
            if isinstance(bound, int | float) and not isinstance(bound, bool) and not holds(value, bound):
                return f"Input should be {words} {bound}", kind
    return None


@functools.cache
def pinned_routes() -> Routes:
    """The routes of the pinned spec shipped with the generated client (read once, on first use)."""
    return Routes(json.loads(resources.files(SPEC_PACKAGE).joinpath(SPEC_RESOURCE).read_bytes()))

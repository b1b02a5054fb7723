"""A re-pinned spec for tests of the fake: the shipped pin plus what a safe upstream change adds.

It adds every operation of the fixture upstream spec that the pin lacks (operations the fake has no behaviour
for), and two optional query parameters (an enum and a bounded integer, named so that they collide with nothing)
to a GET operation of the pin that the fake implements. Everything is derived from the two documents, so a
real re-pin keeps it meaningful.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import attrs
import spec_diff

from speaker_audio.testing import FakeElevenLabs

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "generated" / "speaker_audio_api" / "openapi.json"
FIXTURE = ROOT / "tests" / "fixtures" / "upstream-mini.openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")


def shipped_spec() -> dict[str, Any]:
    """The pinned spec as the wheel ships it."""
    spec: dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    return spec


def operations(spec: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{operationId: (METHOD, path template)}`` of a document."""
    return {
        op["operationId"]: (method.upper(), path)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    }


def unused(base: str, taken: set[str]) -> str:
    while base in taken:
        base += "_"
    return base


@attrs.frozen
class Repin:
    spec: dict[str, Any]
    added: dict[str, tuple[str, str]]
    """The operations the re-pin added: ``{operationId: (METHOD, path template)}``."""
    extended: str
    """The pinned operation that got the new query parameters."""
    enum_parameter: str
    enum_values: tuple[str, ...]
    integer_parameter: str
    integer_maximum: int


@functools.cache
def repinned() -> Repin:
    spec = shipped_spec()
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    schemas = spec["components"]["schemas"]
    added = {}
    for path, item in fixture["paths"].items():
        for method, operation in item.items():
            if method not in METHODS or method in spec["paths"].get(path, {}):
                continue
            spec["paths"].setdefault(path, {})[method] = copy.deepcopy(operation)
            added[operation["operationId"]] = (method.upper(), path)
            for name in spec_diff.referenced_schemas(operation, fixture["components"]["schemas"]):
                schemas.setdefault(name, fixture["components"]["schemas"][name])
    implemented = set(operations(spec)) - set(FakeElevenLabs(with_demo_data=False, spec=spec).unimplemented_operations)
    extended = min(op for op, (method, _) in operations(spec).items() if method == "GET" and op in implemented)
    method, path = operations(spec)[extended]
    definition = spec["paths"][path][method.lower()]
    taken = {parameter["name"] for parameter in definition["parameters"]}
    enum_parameter = unused("output_format", taken)
    integer_parameter = unused("optimize_streaming_latency", taken | {enum_parameter})
    enum_values = ["mp3_44100_128", "pcm_16000"]
    definition["parameters"] += [
        {"name": enum_parameter, "in": "query", "required": False, "schema": {"type": "string", "enum": enum_values}},
        {
            "name": integer_parameter,
            "in": "query",
            "required": False,
            "schema": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 4}, {"type": "null"}]},
        },
    ]
    return Repin(spec, added, extended, enum_parameter, tuple(enum_values), integer_parameter, 4)

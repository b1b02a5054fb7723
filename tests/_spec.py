"""The spec the generated client was built from (``speaker_audio_api/openapi.json``), as the tests read it."""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The shipped spec (read once: copy it before editing)."""
    spec: Mapping[str, Any] = json.loads(
        importlib.resources.files("speaker_audio_api").joinpath("openapi.json").read_bytes()
    )
    return spec


def response_schema(operation_id: str, status: str = "200", spec: Mapping[str, Any] | None = None) -> Any:
    """The JSON schema of ``operation_id``'s ``status`` response in ``spec`` (by default the shipped one)."""
    for item in (load_spec() if spec is None else spec)["paths"].values():
        for operation in item.values():
            if isinstance(operation, Mapping) and operation.get("operationId") == operation_id:
                return operation["responses"][status]["content"]["application/json"]["schema"]
    raise KeyError(f"no operation {operation_id!r}")

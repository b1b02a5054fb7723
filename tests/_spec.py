"""The spec the generated client was built from (``speaker_audio_api/openapi.json``), as the tests read it."""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from typing import Any

from compile_validators import operation_schemas


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The shipped spec (read once: copy it before editing)."""
    spec: Mapping[str, Any] = json.loads(
        importlib.resources.files("speaker_audio_api").joinpath("openapi.json").read_bytes()
    )
    return spec


def response_schema(operation_id: str, status: str = "200", spec: Mapping[str, Any] | None = None) -> Any:
    """The JSON schema of ``operation_id``'s ``status`` response in ``spec`` (by default the shipped one), found as
    ``make generate`` finds the schemas it compiles; ``KeyError`` when there is none."""
    return operation_schemas(load_spec() if spec is None else spec)[(operation_id, status)]

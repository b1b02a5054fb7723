"""Build the spec the generator reads: the pinned upstream fragment plus our overlay.

    python scripts/build_spec.py OUT.json

The overlay (``openapi/overlay.json``) may set ``info`` fields, the ``servers`` list and
short ``operation_ids`` keyed by ``"METHOD /path"``. Every operation it names must exist
in the fragment, and every operation in the fragment must be named, so an upstream change
cannot slip past silently.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCK_PATH = ROOT / "openapi" / "spec.lock.json"
OVERLAY_PATH = ROOT / "openapi" / "overlay.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class OverlayError(Exception):
    """The overlay does not fit the fragment."""


def apply_overlay(fragment: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Return a new spec: ``fragment`` with ``overlay`` applied (neither input is changed)."""
    spec = copy.deepcopy(fragment)
    spec["info"] = {**spec["info"], **overlay.get("info", {})}
    if "servers" in overlay:
        # servers go right after info, as OpenAPI documents usually order them
        spec = {k: v for k, v in spec.items() if k != "servers"}
        ordered: dict[str, Any] = {}
        for key, value in spec.items():
            ordered[key] = value
            if key == "info":
                ordered["servers"] = copy.deepcopy(overlay["servers"])
        spec = ordered
    wanted: dict[str, str] = dict(overlay.get("operation_ids", {}))
    seen: set[str] = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            key = f"{method.upper()} {path}"
            if key not in wanted:
                raise OverlayError(f"overlay names no operationId for {key}")
            operation["operationId"] = wanted[key]
            seen.add(key)
    missing = sorted(wanted.keys() - seen)
    if missing:
        raise OverlayError(f"overlay names operations the fragment lacks: {', '.join(missing)}")
    ids = list(wanted.values())
    if len(set(ids)) != len(ids):
        raise OverlayError("overlay operation_ids are not unique")
    return spec


def build_spec(openapi_dir: Path = LOCK_PATH.parent) -> bytes:
    """The generator's input spec, as bytes, from ``openapi_dir`` (its lock, fragment and overlay)."""
    lock = json.loads((openapi_dir / LOCK_PATH.name).read_text(encoding="utf-8"))
    fragment = json.loads((openapi_dir / lock["fragment"]).read_text(encoding="utf-8"))
    overlay = json.loads((openapi_dir / OVERLAY_PATH.name).read_text(encoding="utf-8"))
    spec = apply_overlay(fragment, overlay)
    return (json.dumps(spec, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="where to write the built spec")
    parser.add_argument("--openapi-dir", type=Path, default=LOCK_PATH.parent, help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        data = build_spec(args.openapi_dir)
    except OverlayError as exc:
        print(f"build_spec: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

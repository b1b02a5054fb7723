"""Pin a fragment of the upstream ElevenLabs OpenAPI document.

Reads the full upstream spec (a path, or an http(s) URL when one is reachable),
keeps the operations listed in ``openapi/spec.lock.json`` and every component
schema they reference (transitively), writes the fragment to
``openapi/upstream/`` and refreshes the lock, then prints what changed against
the previous pin.

    python scripts/pin_spec.py ../shared/upstream/elevenlabs-openapi.full.json
    python scripts/pin_spec.py FULL.json --check    # fail if the pin would change
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCK_PATH = ROOT / "openapi" / "spec.lock.json"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_PREFIX = "#/components/schemas/"

JSON = Any


def read_source(source: str) -> bytes:
    """Return the bytes of a local path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=60) as response:
            data: bytes = response.read()
            return data
    return Path(source).read_bytes()


def iter_refs(node: JSON) -> Iterator[str]:
    """Yield every ``$ref`` string found anywhere below ``node``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_refs(item)


def referenced_schemas(roots: JSON, schemas: dict[str, JSON]) -> set[str]:
    """Names of every component schema reachable from ``roots``."""
    found: set[str] = set()
    pending = list(iter_refs(roots))
    while pending:
        ref = pending.pop()
        if not ref.startswith(SCHEMA_PREFIX):
            raise SystemExit(f"unsupported reference {ref!r}: only {SCHEMA_PREFIX}* is handled")
        name = ref.removeprefix(SCHEMA_PREFIX)
        if name in found:
            continue
        if name not in schemas:
            raise SystemExit(f"reference to a missing schema: {ref}")
        found.add(name)
        pending.extend(iter_refs(schemas[name]))
    return found


def extract_fragment(full: JSON, operations: list[dict[str, str]]) -> JSON:
    """Build the fragment document from the full spec and the (method, path) list."""
    paths: dict[str, dict[str, JSON]] = {}
    for op in operations:
        method, path = op["method"].lower(), op["path"]
        try:
            operation = full["paths"][path][method]
        except KeyError:
            raise SystemExit(f"operation {method.upper()} {path} is not in the upstream spec") from None
        paths.setdefault(path, {})[method] = operation
    # keep upstream's method order inside each path item
    for path, item in paths.items():
        upstream_item = full["paths"][path]
        paths[path] = {m: item[m] for m in upstream_item if m in item}
    schemas = full.get("components", {}).get("schemas", {})
    names = referenced_schemas(paths, schemas)
    used_tags = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}
    return {
        "openapi": full["openapi"],
        "info": full["info"],
        "tags": [tag for tag in full.get("tags", []) if tag.get("name") in used_tags],
        "paths": paths,
        "components": {"schemas": {name: schemas[name] for name in sorted(names)}},
    }


def dump_json(document: JSON) -> bytes:
    """Serialise the way the pinned files are written (2-space indent, UTF-8, final newline)."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _operations(doc: JSON) -> dict[str, JSON]:
    return {
        f"{method.upper()} {path}": op
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if method in HTTP_METHODS
    }


def _fields(schema: JSON) -> dict[str, JSON]:
    props = schema.get("properties", {})
    return props if isinstance(props, dict) else {}


def summarize_changes(old: JSON | None, new: JSON) -> list[str]:
    """Human-readable lines describing what changed between two fragments."""
    if old is None:
        return ["new pin: " + ", ".join(sorted(_operations(new)))]
    lines: list[str] = []
    old_ops, new_ops = _operations(old), _operations(new)
    for key in sorted(new_ops.keys() - old_ops.keys()):
        lines.append(f"operation added: {key}")
    for key in sorted(old_ops.keys() - new_ops.keys()):
        lines.append(f"operation removed: {key}")
    for key in sorted(old_ops.keys() & new_ops.keys()):
        if old_ops[key] != new_ops[key]:
            changed = sorted(
                k for k in old_ops[key].keys() | new_ops[key].keys() if old_ops[key].get(k) != new_ops[key].get(k)
            )
            lines.append(f"operation changed: {key} ({', '.join(changed)})")
    old_schemas = old.get("components", {}).get("schemas", {})
    new_schemas = new.get("components", {}).get("schemas", {})
    for name in sorted(new_schemas.keys() - old_schemas.keys()):
        lines.append(f"schema added: {name}")
    for name in sorted(old_schemas.keys() - new_schemas.keys()):
        lines.append(f"schema removed: {name}")
    for name in sorted(old_schemas.keys() & new_schemas.keys()):
        before, after = old_schemas[name], new_schemas[name]
        if before == after:
            continue
        old_fields, new_fields = _fields(before), _fields(after)
        for field in sorted(new_fields.keys() - old_fields.keys()):
            lines.append(f"field added: {name}.{field}")
        for field in sorted(old_fields.keys() - new_fields.keys()):
            lines.append(f"field removed: {name}.{field}")
        for field in sorted(old_fields.keys() & new_fields.keys()):
            if old_fields[field] != new_fields[field]:
                lines.append(f"field changed: {name}.{field}")
        if before.get("required") != after.get("required"):
            lines.append(f"required changed: {name}: {before.get('required')} -> {after.get('required')}")
        rest = {k for k in before.keys() | after.keys() if k not in ("properties", "required")}
        if any(before.get(k) != after.get(k) for k in rest):
            lines.append(f"schema changed: {name}")
    if old.get("info") != new.get("info"):
        lines.append(f"info changed: version {old.get('info', {}).get('version')} -> {new['info'].get('version')}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="path or URL of the full upstream OpenAPI document")
    parser.add_argument("--lock", type=Path, default=LOCK_PATH, help="lock file (default: %(default)s)")
    parser.add_argument("--commit", help="upstream commit the source was taken from (recorded in the lock)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the pin would change")
    args = parser.parse_args(argv)

    lock = json.loads(args.lock.read_text(encoding="utf-8"))
    fragment_path = args.lock.parent / lock["fragment"]
    full_bytes = read_source(args.source)
    full = json.loads(full_bytes)
    fragment_bytes = dump_json(extract_fragment(full, lock["operations"]))

    old_bytes = fragment_path.read_bytes() if fragment_path.exists() else None
    old = json.loads(old_bytes) if old_bytes is not None else None
    changes = summarize_changes(old, json.loads(fragment_bytes))
    if old_bytes is not None and old_bytes != fragment_bytes and not changes:
        changes = ["formatting or key order changed (same content)"]

    new_lock = dict(lock)
    new_lock["upstream"] = dict(lock["upstream"])
    new_lock["upstream"]["info_version"] = full["info"].get("version")
    new_lock["upstream"]["sha256"] = sha256(full_bytes)
    if args.commit:
        new_lock["upstream"]["commit"] = args.commit
    new_lock["fragment_sha256"] = sha256(fragment_bytes)
    lock_changed = new_lock != lock

    print(f"upstream: {args.source} (info.version {full['info'].get('version')}, sha256 {sha256(full_bytes)})")
    print(f"fragment: {fragment_path.relative_to(ROOT) if fragment_path.is_relative_to(ROOT) else fragment_path}")
    print(f"  {len(lock['operations'])} operations, {len(json.loads(fragment_bytes)['components']['schemas'])} schemas")
    if changes:
        for line in changes:
            print(f"  {line}")
    else:
        print("  no change against the previous pin")
    if args.check:
        return 1 if (old_bytes != fragment_bytes or lock_changed) else 0
    fragment_path.parent.mkdir(parents=True, exist_ok=True)
    fragment_path.write_bytes(fragment_bytes)
    args.lock.write_text(json.dumps(new_lock, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

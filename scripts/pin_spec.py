"""Pin a fragment of the upstream ElevenLabs OpenAPI document and report what changed for SDK users.

Reads the full upstream spec (a path, or an http(s) URL when one is reachable), keeps the operations
listed in ``openapi/spec.lock.json`` and every component schema they reference (transitively), writes
the fragment to ``openapi/upstream/`` and refreshes the lock. Every change against the previous pin is
printed as ``[breaking]``, ``[review]`` or ``[safe]`` (rules in ``scripts/spec_diff.py``), followed by a
summary, a changelog entry and the unpinned upstream operations beside the pinned ones. When it writes a
pin that changed something, the changelog entry is added under ``## [Unreleased]`` in ``CHANGELOG.md``.

    python scripts/pin_spec.py FULL.json                      # exit 3, nothing written, on a breaking change
    python scripts/pin_spec.py FULL.json --accept-breaking    # pin anyway
    python scripts/pin_spec.py FULL.json --check              # write nothing; exit 1 if the pin would change
    python scripts/pin_spec.py FULL.json --add-operation "GET /v1/..."   # pin one more (overlay id proposed)
    python scripts/pin_spec.py URL --commit SHA               # URL and commit recorded in the lock
    python scripts/pin_spec.py FULL.json --no-changelog       # leave CHANGELOG.md alone (--changelog PATH: another)

Exit status: 0 written or unchanged, 1 ``--check`` found a change, 2 usage error, 3 breaking change refused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

import spec_diff
from spec_diff import referenced_schemas

import changelog

ROOT = Path(__file__).resolve().parent.parent
LOCK_PATH = ROOT / "openapi" / "spec.lock.json"
CHANGELOG_PATH = ROOT / "CHANGELOG.md"
HTTP_METHODS = spec_diff.HTTP_METHODS
SCHEMA_PREFIX = "#/components/schemas/"

JSON = Any


def read_source(source: str) -> bytes:
    """Return the bytes of a local path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=60) as response:
            data: bytes = response.read()
            return data
    return Path(source).read_bytes()


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
    # keep upstream's key order inside each path item, and the path item's own parameters and servers (which
    # apply to every operation on the path) when it has them
    for path, item in paths.items():
        upstream_item = full["paths"][path]
        shared = {key: upstream_item[key] for key in spec_diff.PATH_ITEM_KEYS if key in upstream_item}
        paths[path] = {k: item[k] if k in item else shared[k] for k in upstream_item if k in item or k in shared}
    schemas = full.get("components", {}).get("schemas", {})
    names = referenced_schemas(paths, schemas)
    used_tags = {
        tag for item in paths.values() for key, op in item.items() if key in HTTP_METHODS for tag in op.get("tags", [])
    }
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


def _key(op: dict[str, str]) -> str:
    return f"{op['method'].upper()} {op['path']}"


def parse_operation(text: str) -> str:
    """``"get /v1/x"`` -> ``"GET /v1/x"``; ``ValueError`` when it is not ``METHOD /path``."""
    method, _, path = text.strip().partition(" ")
    path = path.strip()
    if method.lower() not in HTTP_METHODS or not path.startswith("/") or " " in path:
        raise ValueError(f"expected 'METHOD /path', got {text!r}")
    return f"{method.upper()} {path}"


def sibling_prefix(paths: list[str]) -> str:
    """The pinned operations' path family: their longest common path prefix, up to its first ``{parameter}``.

    For the pinned ``/v1/voices/pvc/{voice_id}/samples/{sample_id}/...`` paths that is ``/v1/voices/pvc``.
    """
    split = [path.strip("/").split("/") for path in paths]
    common: list[str] = []
    for segments in zip(*split, strict=False):
        if any(segment != segments[0] for segment in segments) or segments[0].startswith("{"):
            break
        common.append(segments[0])
    return "/" + "/".join(common)


def unpinned_siblings(full: JSON, pinned: list[str]) -> list[str]:
    """Upstream operations not pinned whose path is a pinned one or lies below the pinned paths' family."""
    paths = [key.split(" ", 1)[1] for key in pinned]
    prefix = sibling_prefix(paths) if paths else "/"
    found = []
    for key in spec_diff.operations(full):
        path = key.split(" ", 1)[1]
        below = prefix != "/" and (path == prefix or path.startswith(prefix + "/"))
        if key not in pinned and (path in paths or below):
            found.append(key)
    return found


def propose_operation_id(upstream_id: str | None, key: str, taken: set[str]) -> str:
    """A short snake_case operationId: the upstream one's part before ``_v1_``, lower-cased, unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "_", (upstream_id or "").split("_v1_")[0].lower()).strip("_")
    if not base:
        method, path = key.split(" ", 1)
        segments = [seg for seg in path.lower().split("/") if seg and not seg.startswith("{")]
        base = re.sub(r"[^a-z0-9]+", "_", "_".join([method.lower(), *segments])).strip("_")
    if base[0].isdigit():
        base = "op_" + base
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def dump_overlay(overlay: JSON) -> bytes:
    """The overlay's hand-written style: 2-space indent, objects inside lists on one line, final newline."""

    def fmt(value: JSON, depth: int) -> str:
        pad, inner = "  " * depth, "  " * (depth + 1)
        if isinstance(value, dict) and value:
            items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {fmt(v, depth + 1)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(value, list) and value:
            items = [
                inner + (json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else fmt(v, depth + 1)) for v in value
            ]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return json.dumps(value, ensure_ascii=False)

    return (fmt(overlay, 0) + "\n").encode("utf-8")


def _show(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _error(message: str) -> int:
    print(f"pin_spec: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="path or URL of the full upstream OpenAPI document")
    parser.add_argument("--lock", type=Path, default=LOCK_PATH, help="lock file (default: %(default)s)")
    parser.add_argument("--commit", help="upstream commit the source was taken from (recorded in the lock)")
    parser.add_argument("--source-url", help="where the source came from (recorded in the lock; automatic for URLs)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the pin would change")
    parser.add_argument("--accept-breaking", action="store_true", help="write the pin even with breaking changes")
    parser.add_argument(
        "--add-operation",
        action="append",
        default=[],
        metavar="'METHOD /path'",
        help="pin one more upstream operation (repeatable); proposes its operationId in the overlay",
    )
    parser.add_argument(
        "--changelog",
        type=Path,
        default=CHANGELOG_PATH,
        help="where a written pin's changelog entry goes, under ## [Unreleased] (default: %(default)s)",
    )
    parser.add_argument("--no-changelog", action="store_true", help="do not add the changelog entry to any file")
    args = parser.parse_args(argv)

    lock = json.loads(args.lock.read_text(encoding="utf-8"))
    fragment_path = args.lock.parent / lock["fragment"]
    overlay_path = args.lock.parent / "overlay.json"
    full_bytes = read_source(args.source)
    full = json.loads(full_bytes)
    upstream_ops = spec_diff.operations(full)

    pinned = [_key(op) for op in lock["operations"]]
    adding: list[str] = []
    for text in args.add_operation:
        try:
            key = parse_operation(text)
        except ValueError as exc:
            return _error(f"--add-operation: {exc}")
        if key in pinned or key in adding:
            return _error(f"--add-operation {key}: already pinned in {_show(args.lock)}")
        if key not in upstream_ops:
            return _error(f"--add-operation {key}: not in the upstream spec {args.source}")
        adding.append(key)
    gone = [key for key in pinned if key not in upstream_ops]
    operations = [op for op in lock["operations"] if _key(op) not in gone]
    operations += [{"method": key.split(" ", 1)[0], "path": key.split(" ", 1)[1]} for key in adding]
    pinned_now = [_key(op) for op in operations]

    new_fragment = extract_fragment(full, operations)
    fragment_bytes = dump_json(new_fragment)
    old_bytes = fragment_path.read_bytes() if fragment_path.exists() else None
    old = json.loads(old_bytes) if old_bytes is not None else None
    # diff_fragments reports any difference between the parsed documents (an unclassified one as such), so
    # what is left here is a difference in the bytes only
    changes = spec_diff.diff_fragments(old, new_fragment) if old is not None else []
    if old_bytes is not None and old_bytes != fragment_bytes and not changes and old == new_fragment:
        text = "formatting or key order changed (same content)"
        changes = [spec_diff.Change("safe", "formatting changed", "fragment", text)]
    breaking = [c for c in changes if c.severity == "breaking"]

    new_lock = dict(lock)
    upstream = new_lock["upstream"] = dict(lock["upstream"])
    upstream["info_version"] = full["info"].get("version")
    upstream["sha256"] = sha256(full_bytes)
    source_url = args.source_url or (args.source if args.source.startswith(("http://", "https://")) else None)
    if source_url:
        upstream["source_url"] = source_url
    if args.commit:
        upstream["commit"] = args.commit
    new_lock["operations"] = operations
    new_lock["fragment_sha256"] = sha256(fragment_bytes)

    overlay_bytes = overlay_path.read_bytes() if overlay_path.exists() else None
    new_overlay_bytes = overlay_bytes
    overlay_notes: list[str] = []
    if overlay_bytes is not None and (adding or gone):
        overlay = json.loads(overlay_bytes)
        ids: dict[str, str] = dict(overlay.get("operation_ids", {}))
        for key in gone:
            if key in ids:
                overlay_notes.append(f"overlay: drops operationId {ids.pop(key)!r} for {key} (gone upstream)")
        for key in adding:
            if key in ids:
                overlay_notes.append(f"overlay: keeps operationId {ids[key]!r} for {key}")
                continue
            ids[key] = propose_operation_id(upstream_ops[key].get("operationId"), key, set(ids.values()))
            overlay_notes.append(
                f"overlay: proposed operationId {ids[key]!r} for {key} (rename it in {_show(overlay_path)} if you like)"
            )
        overlay["operation_ids"] = ids
        new_overlay_bytes = dump_overlay(overlay)
    elif adding:
        overlay_notes.append(f"overlay: no {_show(overlay_path)}; name an operationId for {', '.join(adding)} there")

    print(f"upstream: {args.source} (info.version {full['info'].get('version')}, sha256 {sha256(full_bytes)})")
    print(f"fragment: {_show(fragment_path)}")
    print(f"  {len(operations)} operations, {len(new_fragment['components']['schemas'])} schemas")
    if old is None:
        print("  new pin: " + ", ".join(pinned_now))
    for change in changes:
        print(change.line)
    if old is not None and not changes:
        print("  no change against the previous pin")
    for name, value in upstream.items():
        if lock["upstream"].get(name) != value:
            print(f"  lock: upstream.{name}: {lock['upstream'].get(name)} -> {value}")
    entry: list[str] = []
    if changes:
        print(f"summary: {spec_diff.summary(changes)}")
        print("changelog entry:")
        old_version = old["info"].get("version") if old is not None else None
        entry = spec_diff.changelog_entry(
            changes, old_version=old_version, new_version=full["info"].get("version"), sha256=sha256(full_bytes)
        )
        for line in entry:
            print(line)
    siblings = unpinned_siblings(full, pinned_now)
    if siblings:
        print(f"siblings upstream (same path or below {sibling_prefix([k.split(' ', 1)[1] for k in pinned_now])}):")
    for key in siblings:
        print(f'  unpinned upstream operation: {key} (add with --add-operation "{key}")')
    for note in overlay_notes:
        print(note)

    would_change = old_bytes != fragment_bytes or new_lock != lock or new_overlay_bytes != overlay_bytes
    if args.check:
        if breaking:
            print(f"{len(breaking)} breaking change(s): pinning needs --accept-breaking")
        print("check: the pin would change (nothing written)" if would_change else "check: the pin is current")
        return 1 if would_change else 0
    if breaking and not args.accept_breaking:
        print(f"{len(breaking)} breaking change(s): nothing written; re-run with --accept-breaking to pin anyway")
        return 3
    fragment_path.parent.mkdir(parents=True, exist_ok=True)
    fragment_path.write_bytes(fragment_bytes)
    args.lock.write_text(json.dumps(new_lock, indent=2) + "\n", encoding="utf-8")
    if new_overlay_bytes is not None and new_overlay_bytes != overlay_bytes:
        overlay_path.write_bytes(new_overlay_bytes)
    if entry and not args.no_changelog:
        text = args.changelog.read_text(encoding="utf-8") if args.changelog.exists() else ""
        args.changelog.write_text(changelog.add_to_unreleased(text, entry), encoding="utf-8")
        print(f"changelog: entry added under ## [{changelog.UNRELEASED}] in {_show(args.changelog)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

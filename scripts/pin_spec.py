"""Pin a fragment of the upstream ElevenLabs OpenAPI document and report what changed for SDK users.

Reads the full upstream spec (a path, or an http(s) URL when one is reachable), keeps the operations
listed in ``openapi/spec.lock.json`` and every component schema they reference (transitively), writes
the fragment to ``openapi/upstream/`` and refreshes the lock. Every change against the previous pin is
printed as ``[breaking]``, ``[review]`` or ``[safe]`` (rules in ``scripts/spec_diff.py``, families in
``docs/upstream-changes.md``), followed by a summary, a changelog entry, the request parameters the
re-pin adds (usable at once through the per-call ``extra_query=`` / ``extra_headers=``) and the unpinned
upstream operations beside the pinned ones. When it writes a pin that changed something, the changelog
entry is added under ``## [Unreleased]`` in ``CHANGELOG.md``.

The lock records what is known of the document: its sha256, size and ``info.version``, when it was
pinned, and the upstream commit (``--commit``), date (``--date``, or a URL's ``Last-Modified``) and
URL only when given for this very document: a commit, date or URL recorded for another document is
dropped. A document older than the pinned one (by ``info.version`` or date) is reported.

    python scripts/pin_spec.py FULL.json                      # exit 3, nothing written, on a breaking change
    python scripts/pin_spec.py FULL.json --accept-breaking    # pin anyway
    python scripts/pin_spec.py FULL.json --check              # write nothing; exit 1 if the pin would change
    python scripts/pin_spec.py FULL.json --add-operation "GET /v1/..."   # pin one more (overlay id proposed)
    python scripts/pin_spec.py URL --commit SHA --date 2025-08-24        # recorded in the lock with the URL
    python scripts/pin_spec.py FULL.json --no-changelog       # leave CHANGELOG.md alone (--changelog PATH: another)

Exit status: 0 written, or already current; 1 ``--check`` found that the pin would change; 2 usage
error (a bad option, ``--commit`` or ``--date``, an unknown ``--add-operation``, a source that cannot
be read or parsed), nothing written; 3 breaking change refused, nothing written. ``make pin`` and
``make check-upstream`` exit 2 for every failure (make's own status for a failed recipe); make's last
line, ``make: *** [Makefile:NN: pin] Error 3``, carries this script's status.
"""

from __future__ import annotations

import argparse
import datetime
import email.utils
import hashlib
import json
import re
import sys
import urllib.error
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


def read_source(source: str) -> tuple[bytes, str | None]:
    """The bytes of a local path or an http(s) URL, and the URL's ``Last-Modified`` date (ISO 8601) if it sent one."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=60) as response:
            data: bytes = response.read()
            modified = response.headers.get("Last-Modified")
        try:
            stamp = email.utils.parsedate_to_datetime(modified) if modified else None
        except (TypeError, ValueError):
            stamp = None
        return data, _iso(stamp) if stamp is not None else None
    return Path(source).read_bytes(), None


def _iso(moment: datetime.datetime) -> str:
    """``2025-08-24T20:59:16Z``: UTC, to the second."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _moment(text: object) -> datetime.datetime | None:
    """A recorded date or date-time as an aware datetime (UTC when it names no zone); ``None`` if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _version_key(version: object) -> tuple[int, ...] | None:
    """``"1.10"`` -> ``(1, 10)``; ``None`` for a version that is not dotted numbers."""
    if not isinstance(version, str) or not re.fullmatch(r"v?\d+(\.\d+)*", version.strip()):
        return None
    return tuple(int(part) for part in version.strip().lstrip("v").split("."))


def older_than_pinned(previous: dict[str, Any], info_version: object, date: str | None) -> str | None:
    """Why the new document is older than the pinned one (``info.version`` or date), or ``None``."""
    old_key, new_key = _version_key(previous.get("info_version")), _version_key(info_version)
    if old_key is not None and new_key is not None and new_key < old_key:
        return f"info.version {previous.get('info_version')} -> {info_version}"
    was, now = _moment(previous.get("date")), _moment(date)
    if was is not None and now is not None and now < was:
        return f"date {previous.get('date')} -> {date}"
    return None


COMMIT_ID = re.compile(r"[0-9a-f]{40}")
# what the lock says about the upstream document, in this order; the keys marked True describe one document only
# and are dropped when another document is pinned without them
UPSTREAM_KEYS = {
    "repository": False,
    "path": False,
    "commit": True,
    "last_changed_commit": True,
    "date": True,
    "source_url": True,
    "info_version": False,
    "sha256": False,
    "size": False,
    "pinned_at": False,
}


def provenance(
    previous: dict[str, Any],
    data: bytes,
    info_version: object,
    *,
    commit: str | None,
    date: str | None,
    source_url: str | None,
    now: datetime.datetime,
) -> dict[str, Any]:
    """The lock's new ``upstream`` record for the document ``data``.

    Args:
        previous: the lock's current record.
        data: the document's bytes.
        info_version: its ``info.version``.
        commit, date, source_url: what the maintainer (or the URL) says about this document; ``None`` when unknown.
        now: when it is pinned.
    """
    same = previous.get("sha256") == sha256(data)
    record = {k: v for k, v in previous.items() if same or not UPSTREAM_KEYS.get(k, False)}
    record.update(info_version=info_version, sha256=sha256(data), size=len(data))
    if not same or "pinned_at" not in record:
        record["pinned_at"] = _iso(now)
    for key, value in (("commit", commit), ("date", date), ("source_url", source_url)):
        if value is not None:
            record[key] = value
    ordered = {key: record[key] for key in UPSTREAM_KEYS if key in record}
    return ordered | {key: value for key, value in record.items() if key not in ordered}


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


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="path or URL of the full upstream OpenAPI document")
    parser.add_argument("--lock", type=Path, default=LOCK_PATH, help="lock file (default: %(default)s)")
    parser.add_argument(
        "--commit", help="the upstream commit this document is from: 40 hex digits (recorded in the lock)"
    )
    parser.add_argument(
        "--date", help="when upstream published this document, ISO 8601, e.g. its commit's date (recorded in the lock)"
    )
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
    return parser.parse_args(argv)


def _new_parameter_lines(added: list[spec_diff.NewParameter], operation_ids: dict[str, str]) -> list[str]:
    """How each new request parameter can be used before the facade names it, and where the steps are."""
    if not added:
        return []
    lines = ["new request parameters (the SDK never sends a spec default: it sends only what the caller gives):"]
    for param in added:
        default = "" if param.default is None else f", default {json.dumps(param.default)}: the server assumes it"
        required = "required" if param.required else "optional"
        lines.append(f"  {param.operation}: {param.location} {param.name} ({required}{default})")
        methods = f"the client methods of {operation_ids.get(param.operation, param.operation)}"
        if param.location in ("query", "header"):
            keyword = "extra_query" if param.location == "query" else "extra_headers"
            lines.append(f"    usable at once: {methods}(..., {keyword}={{{json.dumps(param.name)}: ...}})")
        else:
            lines.append(f"    no per-call option reaches a {param.location} parameter: the facade must name it")
    lines.append(f"  to name one in the facade: {STEPS_DOC}")
    return lines


STEPS_DOC = 'docs/upstream-changes.md, "A new request parameter"'


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.commit is not None and not COMMIT_ID.fullmatch(args.commit.lower()):
        return _error(f"--commit: expected a commit id (40 hex digits), got {args.commit!r}")
    commit = args.commit.lower() if args.commit is not None else None
    if args.date is not None and _moment(args.date) is None:
        return _error(f"--date: expected an ISO 8601 date such as 2025-08-24, got {args.date!r}")

    lock = json.loads(args.lock.read_text(encoding="utf-8"))
    fragment_path = args.lock.parent / lock["fragment"]
    overlay_path = args.lock.parent / "overlay.json"
    try:
        full_bytes, modified = read_source(args.source)
        full = json.loads(full_bytes)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return _error(f"cannot read {args.source}: {exc}")
    if not isinstance(full, dict) or not isinstance(full.get("paths"), dict) or not isinstance(full.get("info"), dict):
        return _error(f"{args.source} is not an OpenAPI document (no paths or info)")
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

    try:
        new_fragment = extract_fragment(full, operations)
    except SystemExit as exc:  # an unsupported or missing reference, named
        return _error(str(exc.code))
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

    info_version = full["info"].get("version")
    source_url = args.source_url or (args.source if args.source.startswith(("http://", "https://")) else None)
    date = args.date or modified
    new_lock = dict(lock)
    upstream = new_lock["upstream"] = provenance(
        lock["upstream"],
        full_bytes,
        info_version,
        commit=commit,
        date=date,
        source_url=source_url,
        now=datetime.datetime.now(datetime.UTC),
    )
    new_lock["operations"] = operations
    new_lock["fragment_sha256"] = sha256(fragment_bytes)
    older = older_than_pinned(lock["upstream"], info_version, date)

    overlay_bytes = overlay_path.read_bytes() if overlay_path.exists() else None
    new_overlay_bytes = overlay_bytes
    overlay_notes: list[str] = []
    ids: dict[str, str] = dict(json.loads(overlay_bytes).get("operation_ids", {})) if overlay_bytes else {}
    if overlay_bytes is not None and (adding or gone):
        overlay = json.loads(overlay_bytes)
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

    print(
        f"upstream: {args.source} (info.version {info_version}, sha256 {sha256(full_bytes)}, {len(full_bytes)} bytes)"
    )
    if older:
        print(f"  [review] older than the pinned document: {older} (is this the document you meant to pin?)")
    print(f"fragment: {_show(fragment_path)}")
    print(f"  {len(operations)} operations, {len(new_fragment['components']['schemas'])} schemas")
    if old is None:
        print("  new pin: " + ", ".join(pinned_now))
    for change in changes:
        print(change.line)
    if old is not None and not changes:
        print("  no change against the previous pin")
    for name in [*lock["upstream"], *(k for k in upstream if k not in lock["upstream"])]:
        was, now = lock["upstream"].get(name), upstream.get(name)
        if name not in upstream:
            why = "dropped: recorded for another document" + ("; pass --commit" if name == "commit" else "")
            print(f"  lock: upstream.{name}: {was} ({why})")
        elif was != now:
            print(f"  lock: upstream.{name}: {was} -> {now}")
    entry: list[str] = []
    if changes:
        print(f"summary: {spec_diff.summary(changes)}")
        print("changelog entry:")
        old_version = old["info"].get("version") if old is not None else None
        entry = spec_diff.changelog_entry(
            changes, old_version=old_version, new_version=info_version, sha256=sha256(full_bytes)
        )
        for line in entry:
            print(line)
    for line in _new_parameter_lines(spec_diff.new_parameters(old, new_fragment) if old is not None else [], ids):
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

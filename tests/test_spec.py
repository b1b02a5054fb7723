"""The pinned spec: the fragment reproduces from upstream, the lock is honest, the overlay is checked."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import build_spec
import generate
import pin_spec

ROOT = Path(__file__).resolve().parent.parent
SHARED_UPSTREAM = ROOT.parent / "shared" / "upstream"
FULL_SPEC = SHARED_UPSTREAM / "elevenlabs-openapi.full.json"
LOCK = json.loads((ROOT / "openapi" / "spec.lock.json").read_text())
FRAGMENT_PATH = ROOT / "openapi" / LOCK["fragment"]

needs_upstream = pytest.mark.skipif(not FULL_SPEC.exists(), reason="../shared/upstream is not beside the checkout")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_lock_records_the_fragment_checksum() -> None:
    assert LOCK["fragment_sha256"] == sha256(FRAGMENT_PATH)
    assert LOCK["upstream"]["repository"] == "elevenlabs/elevenlabs-docs"
    assert LOCK["upstream"]["info_version"] == json.loads(FRAGMENT_PATH.read_text())["info"]["version"]
    assert len(LOCK["operations"]) == 4


@needs_upstream
def test_lock_records_the_upstream_checksum() -> None:
    assert LOCK["upstream"]["sha256"] == sha256(FULL_SPEC)


@needs_upstream
def test_pin_reproduces_the_fragment_byte_for_byte() -> None:
    full = json.loads(FULL_SPEC.read_bytes())
    fragment = pin_spec.dump_json(pin_spec.extract_fragment(full, LOCK["operations"]))
    assert fragment == FRAGMENT_PATH.read_bytes()
    assert fragment == (SHARED_UPSTREAM / "elevenlabs-pvc-speakers.openapi.json").read_bytes()


@needs_upstream
def test_pin_check_mode_passes_on_the_current_pin(capsys: pytest.CaptureFixture[str]) -> None:
    assert pin_spec.main([str(FULL_SPEC), "--check"]) == 0
    assert "no change against the previous pin" in capsys.readouterr().out


@needs_upstream
def test_pin_writes_fragment_and_lock_and_reports_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = json.loads(FULL_SPEC.read_bytes())
    schema = full["components"]["schemas"]["SpeakerAudioResponseModel"]
    schema["properties"]["sample_rate"] = {"type": "integer"}
    del schema["properties"]["duration_secs"]
    full["info"]["version"] = "2.0"
    changed = tmp_path / "full.json"
    changed.write_text(json.dumps(full))
    lock_copy = dict(LOCK, fragment="fragment.json")
    (tmp_path / "lock.json").write_text(json.dumps(lock_copy))
    (tmp_path / "fragment.json").write_bytes(FRAGMENT_PATH.read_bytes())

    assert pin_spec.main([str(changed), "--lock", str(tmp_path / "lock.json")]) == 0
    out = capsys.readouterr().out
    assert "field added: SpeakerAudioResponseModel.sample_rate" in out
    assert "field removed: SpeakerAudioResponseModel.duration_secs" in out
    assert "info changed: version 1.0 -> 2.0" in out
    new_lock = json.loads((tmp_path / "lock.json").read_text())
    assert new_lock["upstream"]["info_version"] == "2.0"
    assert new_lock["upstream"]["sha256"] == sha256(changed)
    assert new_lock["fragment_sha256"] == sha256(tmp_path / "fragment.json")
    assert "sample_rate" in (tmp_path / "fragment.json").read_text()


def test_extraction_follows_references_transitively() -> None:
    full: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "tags": [{"name": "a"}, {"name": "b"}],
        "paths": {
            "/x": {
                "get": {"tags": ["a"], "responses": {"200": {"$ref": "#/components/schemas/A"}}},
                "post": {"responses": {}},
            },
            "/y": {"get": {}},
        },
        "components": {
            "schemas": {
                "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}}},
                "B": {"items": {"$ref": "#/components/schemas/C"}},
                "C": {},
                "Unused": {},
            }
        },
    }
    fragment = pin_spec.extract_fragment(full, [{"method": "GET", "path": "/x"}])
    assert list(fragment["paths"]) == ["/x"]
    assert list(fragment["paths"]["/x"]) == ["get"]
    assert list(fragment["components"]["schemas"]) == ["A", "B", "C"]
    assert fragment["tags"] == [{"name": "a"}]
    with pytest.raises(SystemExit, match="not in the upstream spec"):
        pin_spec.extract_fragment(full, [{"method": "GET", "path": "/missing"}])


def test_overlay_sets_short_operation_ids_and_servers() -> None:
    spec = json.loads(build_spec.build_spec())
    ids = sorted(op["operationId"] for item in spec["paths"].values() for op in item.values())
    assert ids == ["get_sample_audio", "get_separation_status", "get_speaker_audio", "start_speaker_separation"]
    urls = [s["url"] for s in spec["servers"]]
    assert urls[0] == "https://api.elevenlabs.io"
    assert "https://api.sg.residency.elevenlabs.io" in urls
    assert len(urls) == 5
    # the overlay never changes the fragment itself
    fragment = json.loads(FRAGMENT_PATH.read_text())
    assert "servers" not in fragment


def test_overlay_rejects_an_operation_the_fragment_lacks_or_misses_one() -> None:
    fragment = json.loads(FRAGMENT_PATH.read_text())
    overlay = json.loads((ROOT / "openapi" / "overlay.json").read_text())
    broken = copy.deepcopy(overlay)
    broken["operation_ids"]["GET /v1/gone"] = "gone"
    with pytest.raises(build_spec.OverlayError, match="lacks"):
        build_spec.apply_overlay(fragment, broken)
    broken = copy.deepcopy(overlay)
    broken["operation_ids"].popitem()
    with pytest.raises(build_spec.OverlayError, match="names no operationId"):
        build_spec.apply_overlay(fragment, broken)


def test_drift_report_names_edited_missing_and_extra_files() -> None:
    expected = {"a.py": b"x = 1\n", "b.py": b"y\n"}
    actual = {"a.py": b"x = 2\n", "c.py": b"z\n"}
    report = "\n".join(generate.describe_drift(expected, actual))
    assert "-x = 2" in report
    assert "+x = 1" in report
    assert "missing file in generated/: b.py" in report
    assert "unexpected file in generated/: c.py" in report
    assert generate.describe_drift(expected, dict(expected)) == []


def test_hand_edit_of_generated_code_is_detected(tmp_path: Path) -> None:
    fresh = generate.generate_into(tmp_path)
    committed = generate.tree(generate.TARGET)
    assert generate.describe_drift(generate.tree(fresh), committed) == []
    edited = dict(committed)
    edited["client.py"] = committed["client.py"] + b"# hand edit\n"
    assert any("hand edit" in line for line in generate.describe_drift(generate.tree(fresh), edited))

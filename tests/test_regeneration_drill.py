"""The regeneration drill: realistic upstream changes, each followed by pin -> generate -> facade, in a temporary tree.

Each scenario copies ``openapi/`` and the fixture upstream spec into ``tmp_path``, applies one upstream
change, runs ``scripts/pin_spec.py`` and ``scripts/generate.py`` on the copy (``generated/`` is never
touched), then

- runs the facade, unchanged, from the temporary tree (``PYTHONPATH`` puts the regenerated
  ``speaker_audio_api`` first) against a loopback server speaking the new shape, and
- type-checks ``facade/`` against the temporary tree with ``mypy --strict``.

Safe changes must work with no edit in ``facade/`` and put a new field on ``.model``; breaking changes must
make ``pin`` fail naming the change, and make ``mypy`` fail naming the field.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import spec_diff

import generate
import pin_spec
from speaker_audio import SpeakerAudioClient
from speaker_audio.errors import ResponseValidationError

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "upstream-mini.openapi.json"
SCHEMAS = "components"
AUDIO_PATH = "/v1/voices/pvc/v/samples/s/speakers/sp/audio"
STATUS_PATH = "/v1/voices/pvc/v/samples/s/speakers"
WAVEFORM = "GET /v1/voices/pvc/{voice_id}/samples/{sample_id}/waveform"
AUDIO_BODY: dict[str, Any] = {"audio_base_64": "SUQzAAAA", "media_type": "audio/mpeg", "duration_secs": 1.5}
STATUS_BODY: dict[str, Any] = {
    "voice_id": "v",
    "sample_id": "s",
    "status": "completed",
    "speakers": {"sp": {"speaker_id": "sp", "duration_secs": 1.5, "utterances": [{"start": 0, "end": 1.5}]}},
    "selected_speaker_ids": ["sp"],
}

JSON = Any


# --- a loopback server that speaks whatever shape a scenario gives it ------------------------------------


class ShapeServer:
    """Serves fixed JSON bodies by path on 127.0.0.1 (the new shape of a scenario)."""

    def __init__(self, bodies: dict[str, JSON]) -> None:
        encoded = {path: json.dumps(body).encode() for path, body in bodies.items()}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = encoded.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ShapeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- the tree ---


def committed_pin_as_upstream() -> JSON:
    """An "upstream" document: the committed fragment (so the drill always starts from the current pin)
    plus a real sibling operation from the fixture (the sample's waveform) that is not pinned."""
    lock = json.loads((ROOT / "openapi" / "spec.lock.json").read_text(encoding="utf-8"))
    upstream: JSON = json.loads((ROOT / "openapi" / lock["fragment"]).read_text(encoding="utf-8"))
    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    path = WAVEFORM.split(" ", 1)[1]
    item = upstream["paths"].setdefault(path, {})
    item.setdefault("get", fixture["paths"][path]["get"])
    schemas = upstream["components"]["schemas"]
    for name in spec_diff.referenced_schemas(item, fixture["components"]["schemas"]):
        schemas.setdefault(name, fixture["components"]["schemas"][name])
    return upstream


class DrillTree:
    """A copy of ``openapi/`` and of the fixture upstream spec, with pin and generate run on them."""

    def __init__(self, root: Path, mypy_cache: Path) -> None:
        self.root = root
        self.openapi = root / "openapi"
        shutil.copytree(ROOT / "openapi", self.openapi)
        self.generated = root / "generated"
        self.upstream = committed_pin_as_upstream()
        self.mypy_cache = mypy_cache

    def schema(self, name: str) -> JSON:
        return self.upstream[SCHEMAS]["schemas"][name]

    def pin(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
        source = self.root / "upstream.json"
        source.write_text(json.dumps(self.upstream, indent=2), encoding="utf-8")
        lock, changes = self.openapi / "spec.lock.json", self.root / "CHANGELOG.md"
        code = pin_spec.main([str(source), "--lock", str(lock), "--changelog", str(changes), *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    def generate(self) -> Path:
        package = self.generated / "speaker_audio_api"
        assert generate.main(["--openapi-dir", str(self.openapi), "--out", str(package)]) == 0
        return package

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.generated), "MYPYPATH": str(self.generated)}

    def run_facade(self, base_url: str) -> JSON:
        """The unchanged facade, importing the regenerated package, against ``base_url``: what it returns."""
        result = subprocess.run(
            [sys.executable, "-c", FACADE_SCRIPT, base_url],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        answer: JSON = json.loads(result.stdout)
        assert Path(answer["generated_from"]).is_relative_to(self.generated)  # not the committed generated/
        return answer

    def mypy(self) -> subprocess.CompletedProcess[str]:
        """``mypy --strict`` (the project's configuration) on ``facade/`` against the regenerated package."""
        return subprocess.run(
            [sys.executable, "-m", "mypy", "--cache-dir", str(self.mypy_cache), "facade/speaker_audio"],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=ROOT,
            timeout=300,
            check=False,
        )


FACADE_SCRIPT = """
import json, sys
import attrs
import speaker_audio_api
from speaker_audio import SpeakerAudioClient

with SpeakerAudioClient(base_url=sys.argv[1], max_retries=0) as client:
    audio = client.get_speaker_audio("v", "s", "sp")
    status = client.get_separation_status("v", "s")
print(json.dumps({
    "generated_from": speaker_audio_api.__file__,
    "data": audio.data.hex(),
    "media_type": audio.media_type,
    "duration_secs": audio.duration_secs,
    "audio_model": audio.model.to_dict(),
    "audio_model_fields": sorted(attrs.fields_dict(type(audio.model))),
    "status": status.status,
    "speakers": sorted(status.speakers),
    "speaker_model": status.speakers["sp"].model.to_dict(),
}))
"""


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture
def tree(tmp_path: Path, mypy_cache: Path) -> DrillTree:
    return DrillTree(tmp_path, mypy_cache)


def unused_name(schema: JSON, stem: str) -> str:
    """``stem``, or ``stem_2``, … : a member name the schema does not have yet (the pin may have grown)."""
    names = [stem, *(f"{stem}_{n}" for n in range(2, 100))]
    return next(name for name in names if name not in schema["properties"])


def serve(audio: JSON = AUDIO_BODY, status: JSON = STATUS_BODY) -> ShapeServer:
    return ShapeServer({AUDIO_PATH: audio, STATUS_PATH: status})


# --- safe changes: green with no facade edit -----------------------------------------------------------


def test_optional_response_field_added_reaches_users_on_model(
    tree: DrillTree, capsys: pytest.CaptureFixture[str]
) -> None:
    audio_field = unused_name(tree.schema("SpeakerAudioResponseModel"), "sample_rate")
    label_field = unused_name(tree.schema("SpeakerResponseModel"), "label")
    tree.schema("SpeakerAudioResponseModel")["properties"][audio_field] = {
        "description": "The sample rate of the audio, in Hz.",
        "type": "integer",
    }
    tree.schema("SpeakerResponseModel")["properties"][label_field] = {"type": "string"}
    code, out = tree.pin(capsys)
    assert code == 0, out
    assert f"[safe] field added (optional): SpeakerAudioResponseModel.{audio_field}" in out
    assert "[breaking]" not in out
    tree.generate()

    speaker = {**STATUS_BODY["speakers"]["sp"], label_field: "host"}
    with serve({**AUDIO_BODY, audio_field: 44100}, {**STATUS_BODY, "speakers": {"sp": speaker}}) as server:
        answer = tree.run_facade(server.base_url)
    assert answer["data"] == b"ID3\x00\x00\x00".hex()
    assert answer["audio_model"] == {**AUDIO_BODY, "audio_base_64": "", audio_field: 44100}
    assert audio_field in answer["audio_model_fields"]  # a typed attribute of the model, not an extra
    assert answer["speaker_model"][label_field] == "host"

    # and a server sending the wrong type for the new field is refused, by the new spec
    with serve({**AUDIO_BODY, audio_field: "fast"}) as server:
        result = subprocess.run(
            [sys.executable, "-c", FACADE_SCRIPT, server.base_url], capture_output=True, text=True, env=tree.env()
        )
    assert result.returncode != 0
    assert "ResponseValidationError" in result.stderr
    assert audio_field in result.stderr

    checked = tree.mypy()
    assert checked.returncode == 0, checked.stdout


def test_info_version_bump_is_safe_and_green(tree: DrillTree, capsys: pytest.CaptureFixture[str]) -> None:
    old = tree.upstream["info"]["version"]
    tree.upstream["info"]["version"] = new = f"{old}.1"
    code, out = tree.pin(capsys)
    assert code == 0, out
    assert f"[safe] info.version changed: {old} -> {new}" in out
    package = tree.generate()
    assert json.loads((package / "openapi.json").read_text())["info"]["version"] == new
    with serve() as server:
        answer = tree.run_facade(server.base_url)
    assert answer["media_type"] == "audio/mpeg"
    assert answer["status"] == "completed"


def test_sibling_operation_is_listed_then_added_with_a_proposed_operation_id(
    tree: DrillTree, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = tree.pin(capsys)
    assert code == 0, out
    assert f"unpinned upstream operation: {WAVEFORM}" in out

    code, out = tree.pin(capsys, "--add-operation", WAVEFORM)
    assert code == 0, out
    assert f"[safe] operation added: {WAVEFORM}" in out
    overlay = json.loads((tree.openapi / "overlay.json").read_text())
    operation_id = overlay["operation_ids"][WAVEFORM]
    assert operation_id == "retrieve_voice_sample_visual_waveform"
    package = tree.generate()
    assert (package / "api" / "pvc_voices" / f"{operation_id}.py").is_file()
    with serve() as server:
        assert tree.run_facade(server.base_url)["status"] == "completed"  # the facade is untouched and works
    checked = tree.mypy()
    assert checked.returncode == 0, checked.stdout


# --- review: accepted by pin, then the facade must decide --------------------------------------------------


def test_new_status_value_is_a_validation_error_before_and_a_type_error_after_regeneration(
    tree: DrillTree, capsys: pytest.CaptureFixture[str]
) -> None:
    # before regeneration: the server already sends it, the committed SDK refuses it clearly
    with (
        serve(status={**STATUS_BODY, "status": "cancelled"}) as server,
        SpeakerAudioClient(base_url=server.base_url, max_retries=0) as client,
        pytest.raises(ResponseValidationError, match="cancelled"),
    ):
        client.get_separation_status("v", "s")

    status = tree.schema("SpeakerSeparationResponseModel")["properties"]["status"]
    status["enum"].append("cancelled")
    code, out = tree.pin(capsys)
    assert code == 0, out
    assert "[review] enum value added: SpeakerSeparationResponseModel.status: 'cancelled'" in out
    tree.generate()
    checked = tree.mypy()
    assert checked.returncode != 0
    assert "_workflow.py" in checked.stdout
    assert "CANCELLED" in checked.stdout  # mypy names the value nobody has decided about yet


# --- breaking: pin refuses, naming it; mypy fails, naming the field --------------------------------------


def _breaking(
    tree: DrillTree, capsys: pytest.CaptureFixture[str], change: Callable[[DrillTree], None], expected: str
) -> subprocess.CompletedProcess[str]:
    fragment = tree.openapi / json.loads((tree.openapi / "spec.lock.json").read_text())["fragment"]
    before = fragment.read_bytes()
    change(tree)
    code, out = tree.pin(capsys)
    assert code == 3, out
    assert f"[breaking] {expected}" in out
    assert "--accept-breaking" in out
    assert fragment.read_bytes() == before  # nothing written
    code, out = tree.pin(capsys, "--accept-breaking")
    assert code == 0, out
    tree.generate()
    checked = tree.mypy()
    assert checked.returncode != 0, checked.stdout
    return checked


def test_required_field_renamed_is_breaking_and_named_by_mypy(
    tree: DrillTree, capsys: pytest.CaptureFixture[str]
) -> None:
    def rename(tree: DrillTree) -> None:
        schema = tree.schema("SpeakerAudioResponseModel")
        schema["properties"] = {
            ("content_type" if k == "media_type" else k): v for k, v in schema["properties"].items()
        }
        schema["required"] = ["content_type" if r == "media_type" else r for r in schema["required"]]

    checked = _breaking(
        tree, capsys, rename, "field renamed?: SpeakerAudioResponseModel.media_type -> SpeakerAudioResponseModel"
    )
    assert "media_type" in checked.stdout
    assert "_operations.py" in checked.stdout


def test_field_made_nullable_is_breaking_and_named_by_mypy(tree: DrillTree, capsys: pytest.CaptureFixture[str]) -> None:
    def nullable(tree: DrillTree) -> None:
        prop = tree.schema("SpeakerAudioResponseModel")["properties"]["duration_secs"]
        del prop["type"]
        prop["anyOf"] = [{"type": "number"}, {"type": "null"}]

    checked = _breaking(tree, capsys, nullable, "field made nullable: SpeakerAudioResponseModel.duration_secs")
    assert "duration_secs" in checked.stdout


def test_field_made_optional_is_breaking_and_named_by_mypy(tree: DrillTree, capsys: pytest.CaptureFixture[str]) -> None:
    def optional(tree: DrillTree) -> None:
        schema = tree.schema("SpeakerAudioResponseModel")
        schema["required"] = [r for r in schema["required"] if r != "duration_secs"]

    checked = _breaking(tree, capsys, optional, "field made optional: SpeakerAudioResponseModel.duration_secs")
    assert "duration_secs" in checked.stdout


def test_the_drill_starts_from_the_committed_pin(tree: DrillTree, capsys: pytest.CaptureFixture[str]) -> None:
    """The drill's upstream reproduces the committed pin, and its tree generates the committed code."""
    code, out = tree.pin(capsys)
    assert code == 0
    assert "no change against the previous pin" in out
    package = tree.generate()
    committed = generate.tree(ROOT / "generated" / "speaker_audio_api")
    assert generate.describe_drift(generate.tree(package), committed) == []

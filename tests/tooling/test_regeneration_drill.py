"""The regeneration drill: realistic upstream changes, each followed by pin -> generate -> facade, in a temporary tree.

Each scenario copies ``openapi/`` into a temporary folder and builds an "upstream" document from the committed
fragment (plus a real unpinned sibling from ``tests/fixtures``), applies one upstream change, runs
``scripts/pin_spec.py`` and ``scripts/generate.py`` on the copy (``generated/`` is never touched), then

- runs the facade, unchanged, from the temporary tree (``PYTHONPATH`` puts the regenerated
  ``speaker_audio_api`` first) against a loopback server speaking the new shape,
- type-checks ``facade/`` against the temporary tree with ``mypy --strict``, or
- runs some of ``make test``'s own test files, copied beside the temporary tree, against it.

Safe changes must work with no edit in ``facade/`` and put a new member on ``.model`` (a new request parameter:
usable through ``extra_query=`` / ``extra_headers=``); breaking changes and schemas the facade cannot compile
must make ``pin`` fail naming the change; once accepted, the failure must stay in the affected operation, as a
typed error. Operations and names come from the shipped spec. A scenario's tree is built and generated once,
and shared by its tests.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import spec_diff

import generate
import pin_spec
from speaker_audio import SpeakerAudioClient
from speaker_audio.errors import ResponseValidationError

pytestmark = pytest.mark.tooling

JSON = Any
ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "upstream-mini.openapi.json"
SHIPPED: JSON = json.loads((ROOT / "generated" / "speaker_audio_api" / "openapi.json").read_text(encoding="utf-8"))
WAVEFORM = "GET /v1/voices/pvc/{voice_id}/samples/{sample_id}/waveform"  # the real sibling in the fixture
IDS = {"voice_id": "v", "sample_id": "s", "speaker_id": "sp"}
AUDIO_BODY: dict[str, Any] = {"audio_base_64": "SUQzAAAA", "media_type": "audio/mpeg", "duration_secs": 1.5}
AUDIO_BYTES = b"ID3\x00\x00\x00"
STATUS_BODY: dict[str, Any] = {
    "voice_id": "v",
    "sample_id": "s",
    "status": "completed",
    "speakers": {"sp": {"speaker_id": "sp", "duration_secs": 1.5, "utterances": [{"start": 0, "end": 1.5}]}},
    "selected_speaker_ids": ["sp"],
}
# what the loopback server answers each operation (by the overlay's operationId) with
BODIES: dict[str, JSON] = {
    "get_speaker_audio": AUDIO_BODY,
    "get_separation_status": STATUS_BODY,
    "start_speaker_separation": {"status": "ok"},
    "get_sample_audio": {**AUDIO_BODY, "voice_id": "v", "sample_id": "s"},
}
BREAKING = 3  # pin_spec's status for a breaking change refused
STEPS = pin_spec.STEPS_DOC


# --- the shipped spec: operations, their paths and response components -----------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # the template, e.g. /v1/voices/pvc/{voice_id}/...

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def url_path(self) -> str:
        """The path with the drill's ids filled in."""
        return re.sub(r"\{(\w+)\}", lambda m: IDS.get(m.group(1), "x"), self.path)

    @property
    def path_ids(self) -> list[str]:
        return [IDS.get(name, "x") for name in re.findall(r"\{(\w+)\}", self.path)]


def shipped_operations() -> dict[str, Operation]:
    """operationId -> operation, for every operation of the shipped spec."""
    return {
        op["operationId"]: Operation(op["operationId"], method.upper(), path)
        for path, item in SHIPPED["paths"].items()
        for method, op in item.items()
        if method in spec_diff.HTTP_METHODS
    }


OPERATIONS = shipped_operations()


def response_component(operation_id: str) -> str:
    """The component schema of ``operation_id``'s 200 JSON response."""
    op = OPERATIONS[operation_id]
    ref = SHIPPED["paths"][op.path][op.method.lower()]["responses"]["200"]["content"]["application/json"]["schema"]
    return str(ref["$ref"]).removeprefix(spec_diff.SCHEMA_PREFIX)


def called_operations() -> list[str]:
    """The operations the drill calls: those of the shipped spec the client has a method for and it has a body for."""
    return [op for op in OPERATIONS if op in BODIES and callable(getattr(SpeakerAudioClient, op, None))]


def unused_name(names: Iterable[str], stem: str) -> str:
    """``stem``, or ``stem_2``, …: a name not in ``names`` (the pin may have grown one)."""
    taken = set(names)
    found: str = next(name for name in (stem, *(f"{stem}_{n}" for n in range(2, 100))) if name not in taken)
    return found


# --- a loopback server that speaks whatever shape a scenario gives it ------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.target).query, keep_blank_values=True)


class ShapeServer:
    """Serves fixed JSON bodies by path (any query, GET or POST) on 127.0.0.1 and records what it was sent."""

    def __init__(self, bodies: dict[str, JSON]) -> None:
        encoded = {path: json.dumps(body).encode() for path, body in bodies.items()}
        seen = self.seen = list[Seen]()

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self) -> None:
                seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                body = encoded.get(urllib.parse.urlsplit(self.path).path)
                self.send_response(200 if body is not None else 404)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            do_GET = do_POST = answer

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

    def to(self, operation_id: str) -> list[Seen]:
        path = OPERATIONS[operation_id].url_path
        return [s for s in self.seen if urllib.parse.urlsplit(s.target).path == path]


def serve(**overrides: JSON) -> ShapeServer:
    """A server answering every called operation with its body from ``BODIES``, or from ``overrides``."""
    bodies = {**BODIES, **overrides}
    return ShapeServer({OPERATIONS[op].url_path: bodies[op] for op in called_operations()})


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


@dataclass(frozen=True)
class Pinned:
    code: int
    out: str  # stdout and stderr


class DrillTree:
    """A copy of ``openapi/`` and an upstream document made from the committed pin; pin and generate run on them."""

    def __init__(self, root: Path, mypy_cache: Path | None = None) -> None:
        self.root = root
        self.openapi = root / "openapi"
        shutil.copytree(ROOT / "openapi", self.openapi)
        self.generated = root / "generated"
        self.upstream = committed_pin_as_upstream()
        self.mypy_cache = mypy_cache or root / ".mypy_cache"
        self.source = root / "upstream.json"
        self.lock = self.openapi / "spec.lock.json"
        self.changelog = root / "CHANGELOG.md"

    def schema(self, name: str) -> JSON:
        return self.upstream["components"]["schemas"][name]

    def operation(self, operation_id: str) -> JSON:
        op = OPERATIONS[operation_id]
        return self.upstream["paths"][op.path][op.method.lower()]

    def write_upstream(self) -> Path:
        self.source.write_text(json.dumps(self.upstream, indent=2), encoding="utf-8")
        return self.source

    def pin(self, *args: str) -> Pinned:
        """``pin_spec`` on the tree's upstream document, lock and changelog."""
        out = io.StringIO()
        source = self.write_upstream()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = pin_spec.main([str(source), "--lock", str(self.lock), "--changelog", str(self.changelog), *args])
        return Pinned(code, out.getvalue())

    def fragment_bytes(self) -> bytes:
        fragment: str = json.loads(self.lock.read_text())["fragment"]
        return (self.openapi / fragment).read_bytes()

    def generate(self) -> Path:
        package = self.generated / "speaker_audio_api"
        assert generate.main(["--openapi-dir", str(self.openapi), "--out", str(package)]) == 0
        return package

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.generated), "MYPYPATH": str(self.generated)}

    def python(self, script: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=120,
            check=False,
        )

    def run_facade(self, base_url: str) -> JSON:
        """The unchanged facade, importing the regenerated package, against ``base_url``: what it returns."""
        result = self.python(FACADE_SCRIPT, base_url)
        assert result.returncode == 0, result.stderr
        answer: JSON = json.loads(result.stdout)
        assert Path(answer["generated_from"]).is_relative_to(self.generated)  # not the committed generated/
        return answer

    def call(self, base_url: str, *calls: dict[str, Any]) -> dict[str, JSON]:
        """Each call (``{"method", "args", "kwargs"}``) on a fresh sync client from this tree: operationId -> outcome.

        An outcome is ``{"ok": {...the result's fields}}`` or ``{"error": type name, "typed": is it a
        SpeakerAudioError or OSError, "message": ...}``; a client that cannot be built fails every call.
        """
        result = self.python(CALLS_SCRIPT, json.dumps({"base_url": base_url, "calls": list(calls)}))
        assert result.returncode == 0, result.stderr
        answer: JSON = json.loads(result.stdout)
        assert Path(answer["generated_from"]).is_relative_to(self.generated)
        return dict(zip([c["method"] for c in calls], answer["outcomes"], strict=True))

    def call_every_operation(self, base_url: str, **kwargs: dict[str, Any]) -> dict[str, JSON]:
        """Every operation the drill calls, once (``kwargs``: per operationId, keyword arguments for its call)."""
        calls = [
            {"method": op, "args": OPERATIONS[op].path_ids, "kwargs": kwargs.get(op, {})} for op in called_operations()
        ]
        return self.call(base_url, *calls)

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

    def run_tests(self, *pytest_args: str) -> subprocess.CompletedProcess[str]:
        """Some of ``make test``'s own tests, copied beside the tree, run against it (its openapi/ and generated/)."""
        for folder in ("tests", "scripts", "docs"):
            if not (self.root / folder).exists():
                shutil.copytree(ROOT / folder, self.root / folder, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(ROOT / "pyproject.toml", self.root / "pyproject.toml")
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *pytest_args],
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.root,
            timeout=300,
            check=False,
        )

    def fake(self, *requests: tuple[str, str]) -> list[tuple[int, str]]:
        """The fake (``speaker_audio.testing``) from this tree: the status and body it answers each request with.

        ``{voice_id}``, ``{sample_id}`` and ``{speaker_id}`` in a target are the fake's demo sample (completed).
        """
        result = self.python(FAKE_SCRIPT, json.dumps(list(requests)))
        assert result.returncode == 0, result.stderr
        return [(status, body) for status, body in json.loads(result.stdout)]


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

CALLS_SCRIPT = """
import json, sys
plan = json.loads(sys.argv[1])
outcomes = []
answer = {"outcomes": outcomes}

def failed(exc):
    from speaker_audio.errors import SpeakerAudioError
    typed = isinstance(exc, (SpeakerAudioError, OSError))
    return {"error": type(exc).__name__, "typed": typed, "message": str(exc)[:2000]}

def fields(value):
    found = {}
    for name in ("data", "media_type", "duration_secs", "status", "speakers"):
        if hasattr(value, name):
            item = getattr(value, name)
            found[name] = item.hex() if isinstance(item, bytes) else sorted(item) if isinstance(item, dict) else item
    model = getattr(value, "model", None)
    if model is not None:
        found["model"] = model.to_dict()
    return found

try:
    import speaker_audio_api
    answer["generated_from"] = speaker_audio_api.__file__
    from speaker_audio import SpeakerAudioClient
    client = SpeakerAudioClient(base_url=plan["base_url"], max_retries=0)
except BaseException as exc:
    outcomes.extend(failed(exc) for _ in plan["calls"])
else:
    with client:
        for call in plan["calls"]:
            try:
                value = getattr(client, call["method"])(*call["args"], **call["kwargs"])
            except BaseException as exc:
                outcomes.append(failed(exc))
            else:
                outcomes.append({"ok": fields(value) if value is not None else {}})
answer.setdefault("generated_from", "")
print(json.dumps(answer, default=str))
"""

FAKE_SCRIPT = """
import json, sys
import httpx
from speaker_audio.testing import FakeElevenLabs

with FakeElevenLabs() as fake, httpx.Client(base_url=fake.base_url) as http:
    voice_id, sample_id = fake.demo_ids
    sample = fake.voices[voice_id][sample_id]
    sample.status = "completed"
    ids = {"voice_id": voice_id, "sample_id": sample_id, "speaker_id": sorted(sample.speakers)[0]}
    answers = [http.request(method, target.format(**ids)) for method, target in json.loads(sys.argv[1])]
print(json.dumps([[answer.status_code, answer.text[:1000]] for answer in answers]))
"""


def typed_failure(outcome: JSON, *words: str) -> bool:
    """Did the call fail with a SpeakerAudioError (or OSError) whose message names each of ``words``?"""
    return bool(outcome.get("typed")) and all(word in outcome.get("message", "") for word in words)


def assert_contained(outcomes: dict[str, JSON], affected: str, *cause: str) -> None:
    """Only ``affected`` fails, with a typed error naming it and ``cause``; every other operation works."""
    for operation, outcome in outcomes.items():
        if operation == affected:
            assert typed_failure(outcome, affected, *cause), outcome
        else:
            assert "ok" in outcome, (operation, outcome)


# --- shared trees: one per distinct upstream document, pinned and generated once ----------------------------------


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture
def tree(tmp_path: Path, mypy_cache: Path) -> DrillTree:
    return DrillTree(tmp_path, mypy_cache)


@dataclass
class Scenario:
    """A tree with one upstream change: what ``pin`` said first, then (breaking) after ``--accept-breaking``."""

    tree: DrillTree
    pinned: Pinned
    fragment_before: bytes
    fragment_after_refusal: bytes
    accepted: Pinned | None


SHIPPED_FRAGMENT: JSON = committed_pin_as_upstream()  # what each scenario's change is made to


def scenario(factory: pytest.TempPathFactory, name: str, change: Callable[[DrillTree], object]) -> Scenario:
    tree = DrillTree(factory.mktemp(name))
    before = tree.fragment_bytes()
    change(tree)
    pinned = tree.pin()
    after_refusal = tree.fragment_bytes()
    accepted = tree.pin("--accept-breaking") if pinned.code == BREAKING else None
    if (accepted or pinned).code == 0:
        tree.generate()
    return Scenario(tree, pinned, before, after_refusal, accepted)


def assert_refused(found: Scenario, line: str) -> None:
    """``pin`` refused the change naming it, wrote nothing, and pinned it with ``--accept-breaking``."""
    assert found.pinned.code == BREAKING, found.pinned.out
    assert f"\n  [breaking] {line}\n" in found.pinned.out
    assert "--accept-breaking" in found.pinned.out
    assert found.fragment_after_refusal == found.fragment_before  # nothing written
    assert found.accepted is not None
    assert found.accepted.code == 0, found.accepted.out


def new_parameter(tree: DrillTree, operation_id: str, location: str, stem: str, schema: JSON) -> str:
    """Add an optional ``location`` parameter to the operation upstream; its name (``stem`` unless taken)."""
    parameters = tree.operation(operation_id).setdefault("parameters", [])
    name = unused_name([p["name"] for p in parameters if p.get("in") == location], stem)
    parameters.append({"name": name, "in": location, "required": False, "schema": schema})
    return name


OUTPUT_FORMATS = ["mp3_44100_128", "pcm_16000"]
OUTPUT_FORMAT_DEFAULT = OUTPUT_FORMATS[0]


@pytest.fixture(scope="module")
def with_default(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """An optional query parameter ``output_format`` with a spec default on the speaker audio GET."""

    def change(tree: DrillTree) -> None:
        schema = {"type": "string", "enum": OUTPUT_FORMATS, "default": OUTPUT_FORMAT_DEFAULT}
        new_parameter(tree, "get_speaker_audio", "query", "output_format", schema)

    return scenario(tmp_path_factory, "default", change)


@pytest.fixture(scope="module")
def without_default(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The same parameter without a default, and an optional request header, on the speaker audio GET."""

    def change(tree: DrillTree) -> None:
        new_parameter(tree, "get_speaker_audio", "query", "output_format", {"type": "string", "enum": OUTPUT_FORMATS})
        new_parameter(tree, "get_speaker_audio", "header", "xi-request-tag", {"type": "string"})

    return scenario(tmp_path_factory, "no-default", change)


def added_members(found: Scenario, component: str) -> list[str]:
    """The members the scenario added to ``component`` (against the shipped spec)."""
    pinned = json.loads(found.tree.fragment_bytes())["components"]["schemas"][component]["properties"]
    return [name for name in pinned if name not in SHIPPED["components"]["schemas"][component]["properties"]]


def parameter_names(found: Scenario, operation_id: str) -> dict[str, str]:
    """location -> the name of the parameter the scenario added to ``operation_id``."""
    added = spec_diff.new_parameters(SHIPPED_FRAGMENT, json.loads(found.tree.fragment_bytes()))
    key = OPERATIONS[operation_id].key
    return {p.location: p.name for p in added if p.operation == key}


# --- a new request parameter: usable at once, never sent unasked ----------------------------------------------------


def test_a_new_parameter_with_a_default_is_reported_for_a_decision_naming_the_value_the_server_assumes(
    with_default: Scenario,
) -> None:
    out = with_default.pinned.out
    assert with_default.pinned.code == 0, out
    key = OPERATIONS["get_speaker_audio"].key
    name = parameter_names(with_default, "get_speaker_audio")["query"]
    assert (
        f"\n  [review] parameter added (optional, with a default): {key}: query {name}: when the SDK sends none, the"
        f' server assumes {name}="{OUTPUT_FORMAT_DEFAULT}"\n'
    ) in out
    assert f'usable at once: the client methods of get_speaker_audio(..., extra_query={{"{name}": ...}})' in out
    assert f"to name one in the facade: {STEPS}" in out
    assert "[breaking]" not in out


def test_the_sdk_does_not_send_the_new_parameters_default(with_default: Scenario) -> None:
    name = parameter_names(with_default, "get_speaker_audio")["query"]
    with serve() as server:
        outcomes = with_default.tree.call_every_operation(server.base_url)
    assert all("ok" in outcome for outcome in outcomes.values()), outcomes
    [request] = server.to("get_speaker_audio")
    assert name not in request.query


def test_extra_query_reaches_the_server_with_the_value_the_caller_gives(with_default: Scenario) -> None:
    name = parameter_names(with_default, "get_speaker_audio")["query"]
    with serve() as server:
        outcomes = with_default.tree.call_every_operation(
            server.base_url, get_speaker_audio={"extra_query": {name: OUTPUT_FORMATS[1]}}
        )
    assert "ok" in outcomes["get_speaker_audio"], outcomes
    [request] = server.to("get_speaker_audio")
    assert request.query[name] == [OUTPUT_FORMATS[1]]


def test_make_tests_own_request_checks_stay_green_after_a_parameter_with_a_default(with_default: Scenario) -> None:
    """The exact-path assertions of the suite (they were red: the SDK sent the default on every call)."""
    result = with_default.tree.run_tests("tests/client/test_get_speaker_audio.py", "tests/unit/test_core.py")
    assert result.returncode == 0, result.stdout[-4000:]


def test_a_new_optional_parameter_and_header_are_safe_and_the_report_says_how_to_use_them(
    without_default: Scenario,
) -> None:
    out = without_default.pinned.out
    assert without_default.pinned.code == 0, out
    key = OPERATIONS["get_speaker_audio"].key
    names = parameter_names(without_default, "get_speaker_audio")
    assert f"\n  [safe] parameter added (optional): {key}: query {names['query']}\n" in out
    assert f"\n  [safe] parameter added (optional): {key}: header {names['header']}\n" in out
    assert f'get_speaker_audio(..., extra_query={{"{names["query"]}": ...}})' in out
    assert f'get_speaker_audio(..., extra_headers={{"{names["header"]}": ...}})' in out
    assert f"to name one in the facade: {STEPS}" in out


def test_a_new_parameter_without_a_default_is_not_sent_unasked(without_default: Scenario) -> None:
    names = parameter_names(without_default, "get_speaker_audio")
    with serve() as server:
        outcomes = without_default.tree.call_every_operation(server.base_url)
    assert all("ok" in outcome for outcome in outcomes.values()), outcomes
    [request] = server.to("get_speaker_audio")
    assert names["query"] not in request.query
    assert names["header"].lower() not in request.headers


def test_extra_query_and_extra_headers_reach_the_server(without_default: Scenario) -> None:
    names = parameter_names(without_default, "get_speaker_audio")
    options = {"extra_query": {names["query"]: OUTPUT_FORMATS[1]}, "extra_headers": {names["header"]: "drill"}}
    with serve() as server:
        outcomes = without_default.tree.call_every_operation(server.base_url, get_speaker_audio=options)
    assert "ok" in outcomes["get_speaker_audio"], outcomes
    [request] = server.to("get_speaker_audio")
    assert request.query[names["query"]] == [OUTPUT_FORMATS[1]]
    assert request.headers[names["header"].lower()] == "drill"


def test_the_fake_refuses_a_value_the_new_parameter_does_not_allow(without_default: Scenario) -> None:
    name = parameter_names(without_default, "get_speaker_audio")["query"]
    path = OPERATIONS["get_speaker_audio"].path
    good, bad = without_default.tree.fake(("GET", f"{path}?{name}={OUTPUT_FORMATS[1]}"), ("GET", f"{path}?{name}=x"))
    assert (good[0], bad[0]) == (200, 422)
    assert name in bad[1]


# --- schemas the facade cannot compile or enforce: refused, then confined to their operation --------------------------


ECMA_PATTERNS = [r"^[\p{L}\p{N}_-]+$", "(?<name>x)"]  # valid ECMA-262; Python's re refuses both


def string_member(tree: DrillTree, component: str) -> str:
    """A plain string member of ``component`` (no enum, no pattern yet)."""
    properties: dict[str, JSON] = tree.schema(component)["properties"]
    return next(
        name
        for name, member in properties.items()
        if member.get("type") == "string" and "enum" not in member and "pattern" not in member
    )


def re_error(pattern: str) -> str:
    """What Python's ``re`` says about ``pattern`` (which it must refuse)."""
    with pytest.raises(re.error) as refused:
        re.compile(pattern)
    return str(refused.value)


@pytest.mark.parametrize("pattern", ECMA_PATTERNS)
def test_a_pattern_python_cannot_compile_is_breaking_and_says_why(tree: DrillTree, pattern: str) -> None:
    component = response_component("get_separation_status")
    member = string_member(tree, component)
    before = tree.fragment_bytes()
    tree.schema(component)["properties"][member]["pattern"] = pattern
    pinned = tree.pin()
    assert pinned.code == BREAKING, pinned.out
    line = f"[breaking] pattern Python's re cannot compile: {component}.{member}: {pattern!r} (Python's re: "
    assert f"\n  {line}{re_error(pattern)})\n" in pinned.out
    assert tree.fragment_bytes() == before


@pytest.fixture(scope="module")
def uncompilable_pattern(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        component = response_component("get_separation_status")
        tree.schema(component)["properties"][string_member(tree, component)]["pattern"] = ECMA_PATTERNS[0]

    return scenario(tmp_path_factory, "pattern", change)


def test_an_uncompilable_pattern_is_refused_naming_it(uncompilable_pattern: Scenario) -> None:
    component = response_component("get_separation_status")
    [member] = [
        name
        for name, schema in json.loads(uncompilable_pattern.tree.fragment_bytes())["components"]["schemas"][component][
            "properties"
        ].items()
        if schema.get("pattern") == ECMA_PATTERNS[0]
    ]
    pattern = ECMA_PATTERNS[0]
    assert_refused(
        uncompilable_pattern,
        f"pattern Python's re cannot compile: {component}.{member}: {pattern!r} (Python's re: {re_error(pattern)})",
    )


def test_an_accepted_uncompilable_pattern_fails_only_its_operation(uncompilable_pattern: Scenario) -> None:
    with serve() as server:
        outcomes = uncompilable_pattern.tree.call_every_operation(server.base_url)
    assert_contained(outcomes, "get_separation_status", "pattern")


@pytest.fixture(scope="module")
def unknown_keyword(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        tree.schema(response_component("get_speaker_audio"))["patternProperties"] = {"^x-": {"type": "string"}}

    return scenario(tmp_path_factory, "keyword", change)


def test_a_keyword_the_facade_does_not_enforce_is_refused_naming_it(unknown_keyword: Scenario) -> None:
    component = response_component("get_speaker_audio")
    assert_refused(
        unknown_keyword,
        f"keyword not enforced by the facade's validator: {component}: 'patternProperties' "
        "(extend scripts/compile_validators.py)",
    )


def test_an_accepted_unknown_keyword_fails_only_its_operation(unknown_keyword: Scenario) -> None:
    with serve() as server:
        outcomes = unknown_keyword.tree.call_every_operation(server.base_url)
    assert_contained(outcomes, "get_speaker_audio", "patternProperties")


@pytest.fixture(scope="module")
def operation_removed(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        op = OPERATIONS["get_sample_audio"]
        del tree.upstream["paths"][op.path][op.method.lower()]

    return scenario(tmp_path_factory, "removed", change)


def test_a_removed_operation_is_refused_naming_it(operation_removed: Scenario) -> None:
    assert_refused(operation_removed, f"operation removed: {OPERATIONS['get_sample_audio'].key}")


def test_an_accepted_removed_operation_fails_only_itself(operation_removed: Scenario) -> None:
    with serve() as server:
        outcomes = operation_removed.tree.call_every_operation(server.base_url)
    assert_contained(outcomes, "get_sample_audio")


UTTERANCE = "UtteranceResponseModel"


def nested_utterance(depth: int) -> JSON:
    utterance: JSON = {"start": 0, "end": 1}
    for _ in range(depth - 1):
        utterance = {"start": 0, "end": 1, "children": [utterance]}
    return utterance


@pytest.fixture(scope="module")
def recursive_ref(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        properties = tree.schema(UTTERANCE)["properties"]
        children = unused_name(properties, "children")
        properties[children] = {"type": "array", "items": {"$ref": spec_diff.SCHEMA_PREFIX + UTTERANCE}}

    return scenario(tmp_path_factory, "recursive", change)


def test_a_recursive_ref_is_reported_for_a_decision_naming_the_cycle_and_the_bound(recursive_ref: Scenario) -> None:
    assert recursive_ref.pinned.code == 0, recursive_ref.pinned.out
    assert (
        f"\n  [review] recursive schema: {UTTERANCE}: {UTTERANCE} -> {UTTERANCE} (the facade refuses a body nested"
        " deeper than its validator's MAX_DEPTH)\n"
    ) in recursive_ref.pinned.out


def test_a_deeply_nested_body_never_escapes_as_a_raw_recursion_error(recursive_ref: Scenario) -> None:
    """Within the validator's bound a nested body is read; beyond it the call fails with a typed error, alone."""
    from speaker_audio._schema import MAX_DEPTH

    def status(depth: int) -> JSON:
        speaker = {**STATUS_BODY["speakers"]["sp"], "utterances": [nested_utterance(depth)]}
        return {**STATUS_BODY, "speakers": {"sp": speaker}}

    assert 6_000 < len(json.dumps(status(200))) < 10_000  # an 8 KB body
    for depth, readable in ((MAX_DEPTH // 2, True), (200, False)):
        with serve(get_separation_status=status(depth)) as server:
            outcomes = recursive_ref.tree.call_every_operation(server.base_url)
        for operation, outcome in outcomes.items():
            if operation == "get_separation_status" and not readable:
                assert typed_failure(outcome, operation), outcome
            else:
                assert "ok" in outcome, (depth, operation, outcome)


# --- formats and unions: metadata never costs the audio ------------------------------------------------------------


@pytest.fixture(scope="module")
def date_time_member(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        properties = tree.schema(response_component("get_speaker_audio"))["properties"]
        properties[unused_name(properties, "created_at")] = {"type": "string", "format": "date-time"}

    return scenario(tmp_path_factory, "date-time", change)


def test_a_new_date_time_member_is_reported_for_a_decision(date_time_member: Scenario) -> None:
    out = date_time_member.pinned.out
    assert date_time_member.pinned.code == 0, out
    component = response_component("get_speaker_audio")
    assert f"[review] field added with a format: {component}." in out
    assert "'date-time' (the generated from_dict may refuse values the schema allows)" in out


@pytest.mark.parametrize("value", ["2025-08-24t20:59:16z", "2016-12-31T23:59:60Z"])  # RFC 3339: lowercase, leap second
def test_a_date_time_python_refuses_never_costs_the_audio(date_time_member: Scenario, value: str) -> None:
    [member] = added_members(date_time_member, response_component("get_speaker_audio"))
    with serve(get_speaker_audio={**AUDIO_BODY, member: value}) as server:
        outcomes = date_time_member.tree.call_every_operation(server.base_url)
    assert "ok" in outcomes["get_speaker_audio"], outcomes
    assert outcomes["get_speaker_audio"]["ok"]["data"] == AUDIO_BYTES.hex()


@pytest.fixture(scope="module")
def number_or_string(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        tree.schema(response_component("get_speaker_audio"))["properties"]["duration_secs"]["type"] = [
            "number",
            "string",
        ]

    return scenario(tmp_path_factory, "union", change)


def test_a_member_widened_to_number_or_string_is_refused(number_or_string: Scenario) -> None:
    component = response_component("get_speaker_audio")
    assert_refused(number_or_string, f"type changed: {component}.duration_secs: number -> number | string (widened)")


def test_a_string_where_a_number_was_is_a_typed_error_or_a_result(number_or_string: Scenario) -> None:
    with serve(get_speaker_audio={**AUDIO_BODY, "duration_secs": "1.5"}) as server:
        outcomes = number_or_string.tree.call_every_operation(server.base_url)
    outcome = outcomes["get_speaker_audio"]
    assert "ok" in outcome or typed_failure(outcome), outcome
    assert all("ok" in found for op, found in outcomes.items() if op != "get_speaker_audio"), outcomes


# --- safe changes: green with no facade edit -----------------------------------------------------------


@pytest.fixture(scope="module")
def loudness(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    def change(tree: DrillTree) -> None:
        properties = tree.schema(response_component("get_speaker_audio"))["properties"]
        properties[unused_name(properties, "loudness_lufs")] = {"type": "number", "title": "Loudness"}

    return scenario(tmp_path_factory, "loudness", change)


def test_an_optional_member_named_as_the_tests_might_is_safe_usable_and_the_suite_stays_green(
    loudness: Scenario,
) -> None:
    component = response_component("get_speaker_audio")
    [member] = added_members(loudness, component)
    assert loudness.pinned.code == 0
    assert f"\n  [safe] field added (optional): {component}.{member}\n" in loudness.pinned.out
    with serve(get_speaker_audio={**AUDIO_BODY, member: -14.5}) as server:
        answer = loudness.tree.run_facade(server.base_url)
    assert answer["audio_model"][member] == -14.5
    assert member in answer["audio_model_fields"]  # a typed attribute, not an extra
    suite = loudness.tree.run_tests(
        "tests/client/test_results.py", "-k", "without_the_audio or hash_and_compare or evolved_status"
    )
    assert suite.returncode == 0, suite.stdout[-4000:]


def test_optional_response_field_added_reaches_users_on_model(tree: DrillTree) -> None:
    audio_schema = tree.schema(response_component("get_speaker_audio"))
    speaker_schema = tree.schema("SpeakerResponseModel")
    audio_field = unused_name(audio_schema["properties"], "sample_rate")
    label_field = unused_name(speaker_schema["properties"], "label")
    audio_schema["properties"][audio_field] = {"description": "The sample rate of the audio, in Hz.", "type": "integer"}
    speaker_schema["properties"][label_field] = {"type": "string"}
    pinned = tree.pin()
    assert pinned.code == 0, pinned.out
    assert f"[safe] field added (optional): SpeakerAudioResponseModel.{audio_field}" in pinned.out
    assert "[breaking]" not in pinned.out
    tree.generate()

    speaker = {**STATUS_BODY["speakers"]["sp"], label_field: "host"}
    status = {**STATUS_BODY, "speakers": {"sp": speaker}}
    with serve(get_speaker_audio={**AUDIO_BODY, audio_field: 44100}, get_separation_status=status) as server:
        answer = tree.run_facade(server.base_url)
    assert answer["data"] == AUDIO_BYTES.hex()
    assert answer["audio_model"] == {**AUDIO_BODY, "audio_base_64": "", audio_field: 44100}
    assert audio_field in answer["audio_model_fields"]  # a typed attribute of the model, not an extra
    assert answer["speaker_model"][label_field] == "host"

    # and a server sending the wrong type for the new field is refused, by the new spec
    with serve(get_speaker_audio={**AUDIO_BODY, audio_field: "fast"}) as server:
        result = tree.python(FACADE_SCRIPT, server.base_url)
    assert result.returncode != 0
    assert "ResponseValidationError" in result.stderr
    assert audio_field in result.stderr

    checked = tree.mypy()
    assert checked.returncode == 0, checked.stdout


def test_info_version_bump_is_safe_and_green(tree: DrillTree) -> None:
    old = tree.upstream["info"]["version"]
    tree.upstream["info"]["version"] = new = f"{old}.1"
    pinned = tree.pin()
    assert pinned.code == 0, pinned.out
    assert f"[safe] info.version changed: {old} -> {new}" in pinned.out
    package = tree.generate()
    assert json.loads((package / "openapi.json").read_text())["info"]["version"] == new
    with serve() as server:
        answer = tree.run_facade(server.base_url)
    assert answer["media_type"] == "audio/mpeg"
    assert answer["status"] == "completed"


def test_nullable_spelled_three_ways_is_one_thing_to_pin_the_generator_and_the_facade(tree: DrillTree) -> None:
    """``anyOf`` with a null branch, a type list with "null", and ``nullable: true``: the same code and behaviour."""
    component = response_component("get_sample_audio")
    member = next(
        name
        for name, schema in tree.schema(component)["properties"].items()
        if [branch.get("type") for branch in schema.get("anyOf", [])] == ["number", "null"]
    )
    committed = generate.tree(ROOT / "generated" / "speaker_audio_api")
    for spelling in ({"type": ["number", "null"]}, {"type": "number", "nullable": True}):
        schema = tree.schema(component)["properties"][member]
        schema.pop("anyOf", None)
        schema.pop("type", None)
        schema.pop("nullable", None)
        schema.update(spelling)
        pinned = tree.pin()
        assert pinned.code == 0, pinned.out
        assert f"\n  [safe] nullable spelled another way: {component}.{member}: " in pinned.out
        assert "[review]" not in pinned.out
        regenerated = generate.tree(tree.generate())
        assert (
            generate.describe_drift(
                {k: v for k, v in regenerated.items() if k != generate.SPEC_RESOURCE},
                {k: v for k, v in committed.items() if k != generate.SPEC_RESOURCE},
            )
            == []
        )
    sample = {**BODIES["get_sample_audio"], member: None}
    with serve(get_sample_audio=sample) as server:
        outcomes = tree.call_every_operation(server.base_url)
    assert outcomes["get_sample_audio"]["ok"]["duration_secs"] is None  # nullable: true is honoured


# --- adding an operation: docs/adding-an-operation.md, steps 1 and 2 -----------------------------------------


@pytest.fixture(scope="module")
def waveform_added(tmp_path_factory: pytest.TempPathFactory) -> tuple[DrillTree, Pinned, Pinned]:
    tree = DrillTree(tmp_path_factory.mktemp("add-operation"))
    listed = tree.pin()
    added = tree.pin("--add-operation", WAVEFORM)
    tree.generate()
    return tree, listed, added


def test_sibling_operation_is_listed_then_added_with_a_proposed_operation_id(
    waveform_added: tuple[DrillTree, Pinned, Pinned], mypy_cache: Path
) -> None:
    tree, listed, added = waveform_added
    assert listed.code == 0, listed.out
    assert f"unpinned upstream operation: {WAVEFORM}" in listed.out
    assert added.code == 0, added.out
    assert f"[safe] operation added: {WAVEFORM}" in added.out
    overlay = json.loads((tree.openapi / "overlay.json").read_text())
    operation_id = overlay["operation_ids"][WAVEFORM]
    assert operation_id == "retrieve_voice_sample_visual_waveform"
    package = tree.generated / "speaker_audio_api"
    assert (package / "api" / spec_diff.tag_folder(["pvc-voices"]) / f"{operation_id}.py").is_file()
    with serve() as server:
        assert tree.run_facade(server.base_url)["status"] == "completed"  # the facade is untouched and works
    tree.mypy_cache = mypy_cache
    checked = tree.mypy()
    assert checked.returncode == 0, checked.stdout


def test_after_adding_an_operation_make_tests_spec_and_conformance_checks_stay_green(
    waveform_added: tuple[DrillTree, Pinned, Pinned],
) -> None:
    """No test hard-codes the pinned operations; the fake knows the new route (it answers 501 naming the operation
    it has no behaviour for yet, not 404) and Schemathesis finds it conforming (docs/adding-an-operation.md, step 2)."""
    tree = waveform_added[0]
    operation_id = json.loads((tree.openapi / "overlay.json").read_text())["operation_ids"][WAVEFORM]
    [(status, body)] = tree.fake(("GET", WAVEFORM.split(" ", 1)[1]))
    assert (status, operation_id in body) == (501, True)
    suite = tree.run_tests("tests/tooling/test_spec.py", "tests/tooling/test_conformance.py", "-k", "not prism")
    assert suite.returncode == 0, suite.stdout[-4000:]


# --- [review]: accepted by pin, then the facade must decide -------------------------------------------------


def test_new_status_value_is_reported_before_and_a_type_error_after_regeneration(tree: DrillTree) -> None:
    # before regeneration: the server already sends it; the committed SDK shows it and reports the drift,
    # and refuses it clearly when strict
    drifts: list[Any] = []
    with serve(get_separation_status={**STATUS_BODY, "status": "cancelled"}) as server:
        with (
            SpeakerAudioClient(base_url=server.base_url, max_retries=0, strict=True) as client,
            pytest.raises(ResponseValidationError, match="cancelled"),
        ):
            client.get_separation_status("v", "s")
        with SpeakerAudioClient(base_url=server.base_url, max_retries=0, on_drift=drifts.append) as client:
            assert client.get_separation_status("v", "s").status == "cancelled"
    assert [(d.pointer, d.kind) for d in drifts] == [("/status", "unknown_enum_value")]

    status = tree.schema("SpeakerSeparationResponseModel")["properties"]["status"]
    status["enum"].append("cancelled")
    pinned = tree.pin()
    assert pinned.code == 0, pinned.out
    assert "[review] enum value added: SpeakerSeparationResponseModel.status: 'cancelled'" in pinned.out
    tree.generate()
    checked = tree.mypy()
    assert checked.returncode != 0
    assert "_polling.py" in checked.stdout
    assert "CANCELLED" in checked.stdout  # mypy names the value nobody has decided about yet


# --- breaking: pin refuses, naming it; mypy fails, naming the field --------------------------------------


def _breaking(tree: DrillTree, change: Callable[[DrillTree], None], expected: str) -> subprocess.CompletedProcess[str]:
    before = tree.fragment_bytes()
    change(tree)
    pinned = tree.pin()
    assert pinned.code == BREAKING, pinned.out
    assert f"[breaking] {expected}" in pinned.out
    assert "--accept-breaking" in pinned.out
    assert tree.fragment_bytes() == before  # nothing written
    accepted = tree.pin("--accept-breaking")
    assert accepted.code == 0, accepted.out
    tree.generate()
    checked = tree.mypy()
    assert checked.returncode != 0, checked.stdout
    return checked


def test_required_field_renamed_is_breaking_and_named_by_mypy(tree: DrillTree) -> None:
    def rename(tree: DrillTree) -> None:
        schema = tree.schema("SpeakerAudioResponseModel")
        schema["properties"] = {
            ("content_type" if k == "media_type" else k): v for k, v in schema["properties"].items()
        }
        schema["required"] = ["content_type" if r == "media_type" else r for r in schema["required"]]

    checked = _breaking(
        tree, rename, "field renamed?: SpeakerAudioResponseModel.media_type -> SpeakerAudioResponseModel"
    )
    assert "media_type" in checked.stdout
    assert "_operations.py" in checked.stdout


def test_field_made_nullable_is_breaking_and_named_by_mypy(tree: DrillTree) -> None:
    def nullable(tree: DrillTree) -> None:
        prop = tree.schema("SpeakerAudioResponseModel")["properties"]["duration_secs"]
        del prop["type"]
        prop["anyOf"] = [{"type": "number"}, {"type": "null"}]

    checked = _breaking(tree, nullable, "field made nullable: SpeakerAudioResponseModel.duration_secs")
    assert "duration_secs" in checked.stdout


def test_field_made_optional_is_breaking_and_named_by_mypy(tree: DrillTree) -> None:
    def optional(tree: DrillTree) -> None:
        schema = tree.schema("SpeakerAudioResponseModel")
        schema["required"] = [r for r in schema["required"] if r != "duration_secs"]

    checked = _breaking(tree, optional, "field made optional: SpeakerAudioResponseModel.duration_secs")
    assert "duration_secs" in checked.stdout


def test_the_drill_starts_from_the_committed_pin(tree: DrillTree) -> None:
    """The drill's upstream reproduces the committed pin, and its tree generates the committed code."""
    pinned = tree.pin()
    assert pinned.code == 0
    assert "no change against the previous pin" in pinned.out
    package = tree.generate()
    committed = generate.tree(ROOT / "generated" / "speaker_audio_api")
    assert generate.describe_drift(generate.tree(package), committed) == []


# --- any make pin SPEC=file: provenance and exit codes as a maintainer sees them ---------------------------------


def make(target: str, tree: DrillTree, *pin_args: str) -> subprocess.CompletedProcess[str]:
    """``make <target>`` (``pin`` or ``check-upstream``) on the tree's upstream document and lock."""
    args = " ".join(["--lock", str(tree.lock), "--changelog", str(tree.changelog), *pin_args])
    variables = [f"SPEC={tree.write_upstream()}", f"PIN_ARGS={args}"]
    return subprocess.run(
        ["make", "-s", "-o", "install", "-C", str(ROOT), f"PY={sys.executable}", target, *variables],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_make_pin_exits_as_documented_and_the_lock_keeps_only_what_it_can_vouch_for(tree: DrillTree) -> None:
    lock_before = json.loads(tree.lock.read_text())
    component = response_component("get_speaker_audio")
    tree.schema(component)["required"].remove("duration_secs")  # breaking
    help_text = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True, timeout=60)
    assert '"Error 3"' in help_text.stdout
    assert '"Error 1"' in help_text.stdout

    refused = make("pin", tree)
    assert refused.returncode == 2  # make's own status for a failed recipe
    assert "Error 3" in refused.stderr  # the script's: a breaking change refused
    assert "nothing written" in refused.stdout
    assert json.loads(tree.lock.read_text()) == lock_before

    unchanged = make("check-upstream", tree)
    assert (unchanged.returncode, "Error 1" in unchanged.stderr) == (2, True)
    malformed = make("pin", tree, "--commit", "HEAD")
    assert (malformed.returncode, "Error 2" in malformed.stderr) == (2, True)
    assert "--commit: expected a commit id" in malformed.stderr

    started = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    accepted = make("pin", tree, "--accept-breaking")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    upstream = json.loads(tree.lock.read_text())["upstream"]
    data = tree.source.read_bytes()
    assert upstream["sha256"] == pin_spec.sha256(data)
    assert upstream["size"] == len(data)
    assert upstream["info_version"] == tree.upstream["info"]["version"]
    assert started <= datetime.datetime.fromisoformat(upstream["pinned_at"]) <= datetime.datetime.now(datetime.UTC)
    for unvouched in ("commit", "last_changed_commit", "date", "source_url"):
        assert unvouched not in upstream
    assert "upstream.commit" in accepted.stdout

    # an older document than the pinned one is reported
    tree.upstream["info"]["version"] = "0.9"
    reported = make("pin", tree, "--check")
    assert "[review] older than the pinned document: info.version" in reported.stdout

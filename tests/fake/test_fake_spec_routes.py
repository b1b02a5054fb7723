"""The fake API routes and validates as the spec says: operations, path segments and parameters come from the
shipped ``openapi.json``; an operation the spec lists and the fake cannot answer yet is a clear 501."""

from __future__ import annotations

import copy
import re
import urllib.parse
from typing import Any

import httpx
import pytest
from _repin import operations, repinned, shipped_spec

from speaker_audio.testing import FakeElevenLabs, Fault

SHIPPED = operations(shipped_spec())


def fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` (default ``"x"``), percent-encoded."""
    return re.sub(r"\{([^}]+)\}", lambda m: urllib.parse.quote(values.get(m[1], "x"), safe=""), template)


def path_of(operation_id: str, **values: str) -> str:
    return fill(SHIPPED[operation_id][1], **values)


@pytest.mark.parametrize("operation_id", sorted(SHIPPED))
def test_every_operation_of_the_spec_is_routed_to_its_operation_id(operation_id: str) -> None:
    method, template = SHIPPED[operation_id]
    with FakeElevenLabs() as fake, httpx.Client(base_url=fake.base_url) as http:
        fake.script(Fault(status=599, operation=operation_id, times=100))
        for other_id, (other_method, other_template) in SHIPPED.items():
            status = http.request(other_method, fill(other_template)).status_code
            assert (status == 599) is (other_id == operation_id), (other_id, status)
        assert fake.pending_faults == [Fault(status=599, operation=operation_id, times=100)]
        others = {m for m, t in SHIPPED.values() if t == template}
        for wrong in {"GET", "POST", "PUT", "DELETE"} - others:
            response = http.request(wrong, fill(template))
            assert (response.status_code, response.headers["allow"]) == (405, ", ".join(sorted(others))), wrong
        assert method in others


def test_a_parameter_is_one_percent_encoded_path_segment(fake: FakeElevenLabs) -> None:
    status = "get_separation_status"
    with httpx.Client(base_url=fake.base_url) as http:
        response = http.get(path_of(status, voice_id="a/b ü", sample_id="sample-demo"))
        assert response.status_code == 404
        assert response.json()["detail"]["message"] == "Voice a/b ü was not found"  # one segment, decoded once
        unencoded = path_of(status, voice_id="voice-demo", sample_id="sample-demo").replace("voice-demo", "voice/demo")
        assert http.get(unencoded).json() == {"detail": "Not Found"}  # two segments: no operation
        assert http.get(path_of(status, voice_id="voice-demo", sample_id="sample-demo") + "/").status_code == 404
        assert http.get(path_of(status, voice_id="%76oice-demo", sample_id="sample-demo")).status_code == 404
        assert http.get(path_of(status, voice_id="voice-demo", sample_id="sample-demo")).status_code == 200


def test_a_boolean_query_parameter_reads_as_fastapi_reads_it(fake: FakeElevenLabs) -> None:
    [(operation_id, parameter)] = [
        (op_id, p["name"])
        for op_id, (method, path) in SHIPPED.items()
        for p in shipped_spec()["paths"][path][method.lower()]["parameters"]
        if p["in"] == "query" and p["schema"].get("type") == "boolean"
    ]
    fake.add_sample("v", "s", audio=b"plain", denoised_audio=b"denoised")
    with httpx.Client(base_url=fake.base_url) as http:
        path = path_of(operation_id, voice_id="v", sample_id="s")
        for value, denoised in [("true", True), ("1", True), ("ON", True), ("f", False), ("no", False)]:
            response = http.get(path, params={parameter: value})
            assert response.status_code == 200, value
            assert (response.json()["audio_base_64"] == "ZGVub2lzZWQ=") is denoised, value
        assert http.get(path).json()["audio_base_64"] == "cGxhaW4="  # the spec's default: false
        response = http.get(path, params={parameter: "maybe"})
        assert response.status_code == 422
        assert response.json() == {
            "detail": [{"loc": ["query", parameter], "msg": "Input should be a valid boolean", "type": "bool_parsing"}]
        }


# --- after a re-pin ------------------------------------------------------------------------------------


@pytest.fixture
def repinned_fake() -> Any:
    with FakeElevenLabs(spec=repinned().spec) as fake:
        yield fake


def test_a_query_parameter_a_re_pin_adds_is_checked_against_its_schema(repinned_fake: FakeElevenLabs) -> None:
    repin = repinned()
    path = fill(operations(repin.spec)[repin.extended][1], voice_id="voice-demo", sample_id="sample-demo")
    enum, integer = repin.enum_parameter, repin.integer_parameter
    with httpx.Client(base_url=repinned_fake.base_url) as http:
        for good in ({enum: repin.enum_values[-1]}, {integer: "2"}, {integer: str(repin.integer_maximum)}, {}):
            assert http.get(path, params=good).status_code == 200, good
        assert http.get(path, params={"not_declared": "anything"}).status_code == 200  # ignored, as FastAPI does
        listed = " or ".join(repr(value) for value in repin.enum_values)
        refusals = {
            (enum, "wav"): (f"Input should be {listed}", "enum"),
            (integer, "two"): ("Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
            (integer, ""): ("Input should be a valid integer, unable to parse string as an integer", "int_parsing"),
            (integer, str(repin.integer_maximum + 1)): (
                f"Input should be less than or equal to {repin.integer_maximum}",
                "less_than_equal",
            ),
        }
        for (name, value), (msg, kind) in refusals.items():
            response = http.get(path, params={name: value})
            assert response.status_code == 422, (name, value)
            assert response.json() == {"detail": [{"loc": ["query", name], "msg": msg, "type": kind}]}
        both = http.get(path, params={enum: "wav", integer: "-1"}).json()["detail"]
        assert [(entry["loc"], entry["type"]) for entry in both] == [
            (["query", enum], "enum"),
            (["query", integer], "greater_than_equal"),
        ]


def test_a_required_parameter_that_is_missing_is_refused() -> None:
    spec = copy.deepcopy(shipped_spec())
    method, template = SHIPPED["get_separation_status"]
    definition = spec["paths"][template][method.lower()]
    name = "required_" + "_".join(p["name"] for p in definition["parameters"]).replace("-", "_")
    definition["parameters"].append({"name": name, "in": "query", "required": True, "schema": {"type": "number"}})
    path = fill(template, voice_id="voice-demo", sample_id="sample-demo")
    with FakeElevenLabs(spec=spec) as fake, httpx.Client(base_url=fake.base_url) as http:
        response = http.get(path)
        assert response.status_code == 422
        assert response.json() == {"detail": [{"loc": ["query", name], "msg": "Field required", "type": "missing"}]}
        assert http.get(path, params={name: "nan"}).json()["detail"][0]["type"] == "finite_number"
        assert http.get(path, params={name: "1.5"}).json()["status"] == "not_started"


def test_an_operation_without_behaviour_answers_501_naming_it(
    repinned_fake: FakeElevenLabs, capfd: pytest.CaptureFixture[str]
) -> None:
    added = repinned().added
    assert added, "the fixture upstream spec has operations the pin lacks"
    assert sorted(repinned_fake.unimplemented_operations) == sorted(added)
    with httpx.Client(base_url=repinned_fake.base_url) as http:
        for operation_id, (method, template) in added.items():
            response = http.request(method, fill(template, voice_id="voice-demo"), json={"name": "x"})
            assert response.status_code == 501, operation_id
            assert response.headers["content-type"] == "application/json"
            detail = response.json()["detail"]
            assert detail["status"] == "not_implemented"
            assert f"no behaviour for {operation_id} ({method} {template})" in detail["message"]
            assert http.request(method, fill(template, voice_id=" ")).status_code == 422  # parameters come first
        status_path = fill(SHIPPED["get_separation_status"][1], voice_id="voice-demo", sample_id="sample-demo")
        assert http.get(status_path).json()["status"] == "not_started"  # the pinned operations work as before
    assert [entry.status for entry in repinned_fake.request_log].count(501) == len(added)
    assert capfd.readouterr().err == ""  # no traceback


def test_an_operation_with_behaviour_is_not_listed_as_unimplemented(fake: FakeElevenLabs) -> None:
    with httpx.Client(base_url=fake.base_url) as http:
        for operation_id, (method, template) in SHIPPED.items():
            status = http.request(method, fill(template, voice_id="voice-demo", sample_id="sample-demo")).status_code
            assert (status == 501) is (operation_id in fake.unimplemented_operations), operation_id

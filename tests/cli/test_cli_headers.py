"""``-H/--header 'Name: value'`` sends a header with every request of a command (repeatable); the key header
cannot be set this way, and a header value (it may be a credential) is never echoed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from speaker_audio.cli import main
from speaker_audio.testing import FakeElevenLabs

SECRET_VALUE = "Bearer tracing-token-0123456789"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_headers_reach_the_server_on_every_request(fake: FakeElevenLabs, tmp_path: Path) -> None:
    code, _, err = run(
        "-H", "x-trace: abc", "--base-url", fake.base_url, "download-all", "voice-demo", "sample-demo",
        "--separate", "--poll-interval", "0.01", "-o", str(tmp_path), "--header", "X-Team:  audio ",
    )  # fmt: skip
    assert code == 0, err
    assert len(fake.requests) >= 4  # the start, the polls, each speaker's audio
    for request in fake.requests:
        assert request.headers["x-trace"] == "abc"
        assert request.headers["x-team"] == "audio"
        assert request.headers["user-agent"].startswith("speaker-audio/")  # ours stays


def test_no_header_option_sends_none(fake: FakeElevenLabs) -> None:
    assert run("--base-url", fake.base_url, "status", "voice-demo", "sample-demo")[0] == 0
    assert "x-trace" not in fake.requests[-1].headers


@pytest.mark.parametrize("name", ["xi-api-key", "XI-API-KEY", "Xi-Api-Key"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_the_key_header_is_refused_in_any_case(fake: FakeElevenLabs, name: str, where: str) -> None:
    option = ["-H", f"{name}: {SECRET_VALUE}"]
    command = ["status", "voice-demo", "sample-demo"]
    argv = [*option, *command] if where == "before" else [*command, *option]
    code, out, err = run("--base-url", fake.base_url, *argv)
    assert code == 2
    assert out == ""
    assert "the API key header xi-api-key cannot be set with -H" in err
    assert "$ELEVENLABS_API_KEY" in err
    assert SECRET_VALUE not in err
    assert fake.requests == []


@pytest.mark.parametrize(
    "header",
    [f"Authorization {SECRET_VALUE}", f"Bad Name: {SECRET_VALUE}", f": {SECRET_VALUE}", f"x-a: {SECRET_VALUE}\x1b[2J"],
    ids=["no colon", "space in the name", "no name", "control character"],
)
def test_a_malformed_header_is_a_usage_error_that_does_not_echo_its_value(fake: FakeElevenLabs, header: str) -> None:
    code, out, err = run("--base-url", fake.base_url, "-H", header, "status", "voice-demo", "sample-demo")
    assert (code, out) == (2, "")
    assert "-H/--header" in err
    assert SECRET_VALUE not in err
    assert "\x1b" not in err
    assert fake.requests == []


def test_a_header_given_twice_is_a_usage_error(fake: FakeElevenLabs) -> None:
    code, _, err = run(
        "--base-url", fake.base_url, "-H", "x-a: 1", "status", "voice-demo", "sample-demo", "-H", "X-A: 2"
    )
    assert code == 2
    assert "x-a given more than once" in err
    assert fake.requests == []


def test_the_fake_server_takes_no_header() -> None:
    code, _, err = run("-H", "x-a: 1", "fake-server", "--port", "0")
    assert code == 2
    assert "--header configure a client, not the fake server" in err

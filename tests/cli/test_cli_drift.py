"""When the server sends what the pinned spec does not list, the CLI goes on and says so: one note on stderr per
distinct difference; waiting keeps polling through a status it does not know."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from test_cli import cli

from speaker_audio.cli import main
from speaker_audio.testing import Drift, FakeElevenLabs

NOTE = "speaker-audio: note: the server sent what the pinned spec does not list"
BEHIND = "this version of speaker-audio is behind the API"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def queued(fake: FakeElevenLabs) -> FakeElevenLabs:
    """A sample whose status reads answer 'queued' twice (a status the pin lacks), then 'completed'."""
    fake.add_sample("v", "s", status="pending", status_sequence=["queued", "queued", "completed"])
    return fake


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(NOTE)]


@pytest.mark.parametrize(
    "command",
    [["wait", "v", "s"], ["separate", "v", "s", "--wait"], ["download-all", "v", "s", "--separate", "-o", "{tmp}"]],
    ids=lambda c: c[0],
)
def test_waiting_goes_through_an_unknown_status_with_one_note(
    queued: FakeElevenLabs, tmp_path: Path, command: list[str]
) -> None:
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in command]
    code, out, err = run("--base-url", queued.base_url, *argv, "--poll-interval", "0.01")
    assert code == 0, err
    assert "v / s: completed" in out + err
    assert notes(err) == [
        f"{NOTE} (get_separation_status /status: 'queued' (pinned: not_started, pending, completed, failed)); {BEHIND}"
    ]
    assert len(queued.requests_to("/speakers", "GET")) >= 3
    assert "WARNING" not in err  # the SDK's log record is not printed beside the note


def test_status_shows_an_unknown_status_as_the_server_sent_it(queued: FakeElevenLabs) -> None:
    code, out, err = run("--base-url", queued.base_url, "status", "v", "s")
    assert code == 0, err
    assert out == "v / s: queued\n"
    assert len(notes(err)) == 1
    code, out, err = run("--base-url", queued.base_url, "status", "v", "s", "--json", "-q")
    assert code == 0, err
    assert '"status": "queued"' in out
    assert err == ""  # -q: no notes


def test_unknown_members_give_one_note_per_distinct_place(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    completed_fake.drift = Drift(unknown_members=True)
    code, _, err = run(
        "--base-url", completed_fake.base_url, "download-all", "voice-demo", "sample-demo", "-o", str(tmp_path)
    )
    assert code == 0, err
    lines = notes(err)
    assert lines, err
    assert len(lines) == len(set(lines))
    assert all(line.endswith(BEHIND) for line in lines)
    assert any("get_separation_status /unpinned_member" in line for line in lines)
    assert any("get_speaker_audio" in line for line in lines)  # each speaker's audio body too, noted once
    assert sum("get_speaker_audio /unpinned_member" in line for line in lines) == 1


def test_verbose_logs_the_sdks_warning_too(queued: FakeElevenLabs) -> None:
    code, _, err = run("-v", "--base-url", queued.base_url, "status", "v", "s")
    assert code == 0, err
    assert len(notes(err)) == 1
    assert "WARNING speaker_audio:" in err


def test_as_a_program_the_note_is_the_only_line_on_stderr(queued: FakeElevenLabs) -> None:
    # without a handler of its own, Python would print the SDK's WARNING too (its last-resort handler)
    result = cli("--base-url", queued.base_url, "status", "v", "s")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "v / s: queued\n"
    assert result.stderr.splitlines() == notes(result.stderr)
    assert len(notes(result.stderr)) == 1

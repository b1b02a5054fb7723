"""The ``speaker-audio`` command line, run as a subprocess (``python -m speaker_audio``) against the fake API."""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from speaker_audio import REGION_BASE_URLS
from speaker_audio.cli import _commands, _errors, main
from speaker_audio.cli._parser import build_parser
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, Fault, demo_clips

SECRET = "sk-cli-SECRET-0123456789"
COMMANDS = ["get", "sample-audio", "status", "separate", "wait", "download-all", "fake-server"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    env.update(extra)
    return env


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m speaker_audio ARGS`` with pipes (so stdout and stderr are not terminals)."""
    return subprocess.run(
        [sys.executable, "-m", "speaker_audio", *args],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=cwd,
        env=env or clean_env(),
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("speaker-audio: error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


# --- help and usage ---------------------------------------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    for text in ("--api-key", "ELEVENLABS_API_KEY", "--base-url", "--region", "exit codes", "fake-server"):
        assert text in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: speaker-audio {command}")
    # the fake takes none of the client's connection options; the other commands take them after the command
    # too, and list them once, in `speaker-audio --help` (tests/cli/test_cli_help.py: they work in both places)
    for option in ("--api-key", "--base-url", "--region", "--max-retries"):
        assert option not in result.stdout
    if command != "fake-server":
        assert "Global options (see `speaker-audio --help`) may also follow the command" in result.stdout


def test_the_console_script_is_installed() -> None:
    script = shutil.which("speaker-audio", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False, timeout=30)
    assert result.returncode == 0
    assert result.stdout.startswith("speaker-audio ")


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["status", "voice-demo"],
        ["frobnicate"],
        ["download-all", "v", "s", "--concurrency", "0"],
        ["--region", "mars", "status", "v", "s"],
        ["--base-url", "http://x", "--region", "eu", "status", "v", "s"],
        ["--base-url", "http://x", "status", "v", "s", "--region", "eu"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "usage:" in result.stderr


def test_an_invalid_id_is_a_usage_error(fake: FakeElevenLabs) -> None:
    result = cli("--base-url", fake.base_url, "status", "..", "sample-demo")
    assert_one_line_error(result, 2, "InvalidIdError", "voice_id")
    assert fake.requests == []


def test_region_picks_the_residency_server() -> None:
    args = build_parser().parse_args(["status", "v", "s", "--region", "eu"])
    client = _commands.Context(args, io.StringIO(), io.StringIO()).client()
    assert client.base_url == REGION_BASE_URLS["eu"]
    client.close()


# --- the commands -----------------------------------------------------------------------------------


def test_status_table_and_json(completed_fake: FakeElevenLabs) -> None:
    result = cli("--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "voice-demo / sample-demo: completed"
    assert lines[1].split() == ["SPEAKER", "DURATION", "UTTERANCES", "SELECTED"]
    assert lines[2].split() == ["speaker-1", "1.50", "s", "2", "yes"]
    assert result.stderr == ""

    result = cli("status", "voice-demo", "sample-demo", "--json", "--base-url", completed_fake.base_url)
    payload = json.loads(result.stdout)
    assert payload["status"] == "completed"
    assert payload["speakers"]["speaker-2"]["utterances"] == [{"start": 0.0, "end": 0.7}, {"start": 0.9, "end": 1.5}]


def test_status_before_separation(fake: FakeElevenLabs) -> None:
    result = cli("--base-url", fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.stdout == "voice-demo / sample-demo: not_started\n"


def test_separate_and_wait_prints_the_speakers(fake: FakeElevenLabs) -> None:
    fake.voices["voice-demo"]["sample-demo"].polls_until_complete = 3
    result = cli(
        "--base-url", fake.base_url, "separate", "voice-demo", "sample-demo", "--wait", "--poll-interval", "0.01"
    )
    assert result.returncode == 0, result.stderr
    assert "voice-demo / sample-demo: completed" in result.stdout
    assert "speaker-2" in result.stdout
    assert result.stderr == "started speaker separation of voice-demo / sample-demo\n"  # no progress when piped
    assert len(fake.requests_to("/speakers", "GET")) == 3


def test_separate_without_wait(fake: FakeElevenLabs) -> None:
    result = cli("--base-url", fake.base_url, "separate", "voice-demo", "sample-demo", "-q")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert fake.voices["voice-demo"]["sample-demo"].status == "pending"


def test_get_writes_one_speaker_and_prints_its_path(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    result = cli("--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo", "speaker-2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "speaker-2.wav\n"
    assert (tmp_path / "speaker-2.wav").read_bytes() == demo_clips()["speaker-2"][0]
    assert "audio/wav, sniffed audio/wav" in result.stderr

    again = cli("--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo", "speaker-2", cwd=tmp_path)
    assert_one_line_error(again, 1, "FileExistsError", "--overwrite")
    target = tmp_path / "chosen.bin"
    result = cli(
        "--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo", "speaker-1", "-o", str(target)
    )
    assert result.stdout == f"{target}\n"
    assert target.read_bytes() == demo_clips()["speaker-1"][0]


def test_download_all_with_separate_when_piped(fake: FakeElevenLabs, tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    result = cli(
        "--base-url",
        fake.base_url,
        "download-all",
        "voice-demo",
        "sample-demo",
        "-o",
        str(out),
        "--separate",
        "--poll-interval",
        "0.01",
        "--concurrency",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["speaker-1.mp3", "speaker-2.wav"]
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows[0] == ["SPEAKER", "FILE", "MEDIA", "TYPE", "SNIFFED", "DURATION", "SIZE"]
    assert rows[1][:4] == ["speaker-1", str(out / "speaker-1.mp3"), "audio/mpeg", "audio/mpeg"]
    assert rows[2][:4] == ["speaker-2", str(out / "speaker-2.wav"), "audio/wav", "audio/wav"]
    assert "\r" not in result.stderr
    assert "\x1b" not in result.stderr
    assert "downloading" not in result.stderr
    assert "waiting" not in result.stderr
    assert "2 speaker file(s)" in result.stderr


def test_download_all_json_and_quiet(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    result = cli(
        "--base-url", completed_fake.base_url, "-q", "download-all", "voice-demo", "sample-demo", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    files = json.loads(result.stdout)["speakers"]
    assert {speaker: file["path"] for speaker, file in files.items()} == {
        "speaker-1": "speaker-1.mp3",
        "speaker-2": "speaker-2.wav",
    }


def test_download_all_of_an_unfinished_separation_is_an_api_error(fake: FakeElevenLabs, tmp_path: Path) -> None:
    result = cli("--base-url", fake.base_url, "download-all", "voice-demo", "sample-demo", "-o", str(tmp_path))
    assert_one_line_error(result, 3, "SeparationNotCompletedError", "'not_started'", "--separate")


def test_a_failed_speaker_exits_with_its_cause_and_names_it(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    completed_fake.script(Fault(status=404, path_contains="/speakers/speaker-2/audio"))
    result = cli(
        "--base-url", completed_fake.base_url, "download-all", "voice-demo", "sample-demo", "-o", str(tmp_path)
    )
    assert_one_line_error(result, 3, "SpeakerDownloadError", "speaker 'speaker-2'")
    assert [p.name for p in tmp_path.iterdir()] == ["speaker-1.mp3"]


def test_hostile_speaker_ids_are_shown_escaped(fake: FakeElevenLabs, tmp_path: Path) -> None:
    fake.add_sample("v", "s", speakers={"evil\x1b[2J\nid": FakeSpeaker(audio=b"x"), "ok": FakeSpeaker(audio=b"y")})
    fake.voices["v"]["s"].status = "completed"
    result = cli("--base-url", fake.base_url, "status", "v", "s")
    assert "\x1b" not in result.stdout
    assert "evil\\x1b[2J\\nid" in result.stdout
    result = cli("--base-url", fake.base_url, "download-all", "v", "s", "-o", str(tmp_path))
    assert_one_line_error(result, 3, "SpeakerDownloadError", "InvalidIdError")
    assert "\x1b" not in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["ok.mp3"]


# --- fake-server --------------------------------------------------------------------------------------


def start_fake_server(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m speaker_audio ARGS`` (a fake-server command); return it and the URL it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_audio", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        # a shell without job control starts background jobs with SIGINT ignored, and children inherit that:
        # give the server Ctrl-C back, as a terminal would, so the test does not depend on how it was started
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_fake_server_runs_until_interrupted(tmp_path: Path) -> None:
    proc, url = start_fake_server("fake-server", "--port", "0", "--polls", "1")
    try:
        assert url.startswith("http://127.0.0.1:")
        result = cli("--base-url", url, "download-all", "voice-demo", "sample-demo", "--separate", "-o", str(tmp_path))
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["speaker-1.mp3", "speaker-2.wav"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Ctrl-C stops it" in stderr
    assert "stopped" in stderr
    assert "Traceback" not in stderr


def test_fake_server_stops_on_sigterm_and_can_require_a_key() -> None:
    proc, url = start_fake_server("-q", "fake-server", "--port", "0", "--require-api-key", "k")
    try:
        result = cli("--base-url", url, "status", "voice-demo", "sample-demo")
        assert result.returncode == 3
        assert "AuthenticationError" in result.stderr
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert stderr == ""


def test_fake_server_help_lists_its_own_options_and_refuses_client_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fake-server", "--help"]) == 0
    help_text = capsys.readouterr().out
    for option in ("--port", "--require-api-key", "--polls", "--verbose", "--quiet", "method, path, status, duration"):
        assert option in help_text
    for args in (["--api-key", "k"], ["--region", "eu"], ["--max-retries", "1"], ["--base-url", "http://x"]):
        err = io.StringIO()
        assert main([*args, "fake-server", "--port", "0"], out=io.StringIO(), err=err) == 2
        assert f"{args[0]} configure a client, not the fake server" in err.getvalue()
    assert main(["fake-server", "--require-api-key", "two words"]) == 2
    assert "printable ASCII without spaces" in capsys.readouterr().err


def test_fake_server_try_line_works_as_printed_when_a_key_is_required(tmp_path: Path) -> None:
    proc, url = start_fake_server("fake-server", "--port", "0", "--polls", "1", "--require-api-key", "sk-fake-1")
    try:
        assert proc.stderr is not None
        notes = [proc.stderr.readline(), proc.stderr.readline()]
        [try_line] = [line.split("try: ", 1)[1] for line in notes if "try: " in line]
        words = shlex.split(try_line)
        assignments = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))
        command = [word for word in words if word.split("=", 1)[0] not in assignments]
        assert assignments == {"ELEVENLABS_API_KEY": "sk-fake-1"}  # the fake's own key, as the env var
        assert command[:3] == ["speaker-audio", "--base-url", url]
        result = cli(*command[1:], cwd=tmp_path, env=clean_env(**assignments))
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["speaker-1.mp3", "speaker-2.wav"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_fake_server_logs_every_request_with_verbose() -> None:
    proc, url = start_fake_server("fake-server", "-v", "--port", "0")
    try:
        status = cli("--base-url", url, "status", "voice-demo", "sample-demo")
        assert status.returncode == 0, status.stderr
        missing = cli("--base-url", url, "status", "nobody", "sample-demo")
        assert missing.returncode == 3
        assert "Voice nobody was not found" in missing.stderr
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=10)
    lines = [line for line in stderr.splitlines() if "/v1/" in line]
    assert len(lines) == 2, stderr
    assert "GET /v1/voices/pvc/voice-demo/samples/sample-demo/speakers -> 200 (" in lines[0]
    assert "GET /v1/voices/pvc/nobody/samples/sample-demo/speakers -> 404 (" in lines[1]
    assert lines[1].endswith(" ms)")


# --- SIGTERM during a download leaves no partial file; --total-timeout bounds a command ------------------------


def test_sigterm_during_get_leaves_no_partial_file(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    completed_fake.script(Fault(delay=30.0, path_contains="/audio"))  # a stall that SIGTERM interrupts
    args = ["--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo", "speaker-1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "speaker_audio", *args, "-o", str(tmp_path / "a.mp3")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    deadline = time.monotonic() + 20
    while not completed_fake.requests_to("/audio") and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 143, stderr  # 128 + SIGTERM
    assert b"terminated" in stderr
    assert list(tmp_path.iterdir()) == []


def test_total_timeout_bounds_a_command(fake: FakeElevenLabs) -> None:
    fake.script(Fault(path_contains="/speakers", delay=5.0, times=9))  # each answer takes 5 s
    started = time.monotonic()
    code, _, err = run_main("--base-url", fake.base_url, "--total-timeout", "0.5", "status", *fake.demo_ids)
    assert code == _errors.EXIT_NETWORK, err
    assert "--total-timeout of 0.5s ran out" in err
    assert time.monotonic() - started < 4.0  # without the bound: 5 s, and success

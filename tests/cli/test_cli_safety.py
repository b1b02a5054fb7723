"""What the CLI prints is safe and always printable; special destinations.

Terminal escapes, output in any encoding, special destinations and ``-o -``, and the media type shown being the
server's.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import clean_env, cli

from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, Fault, demo_clips

# ESC sequences that retitle the window, clear the screen and plant a hidden link; BEL; DEL; a C1 CSI;
# bidi overrides
HOSTILE = "\x1b]0;pwned\x07 \x1b[2J \x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\ \x7f \x9b31m \u202egnp.exe"
RAW = ("\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066")


def assert_no_raw_controls(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"


# --- terminal escapes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("verbose", [[], ["-v"]])
@pytest.mark.parametrize("as_json", [True, False])
def test_server_text_in_errors_is_escaped(completed_fake: FakeElevenLabs, verbose: list[str], as_json: bool) -> None:
    text = json.dumps({"detail": {"status": "bad", "message": HOSTILE}}, ensure_ascii=False) if as_json else HOSTILE
    completed_fake.script(Fault(status=404, body=text.encode(), times=9))
    result = cli(*verbose, "--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 3
    assert "NotFoundError" in result.stderr
    assert_no_raw_controls(result.stdout + result.stderr)
    assert "pwned" in result.stderr
    assert "\\x9b31m \\u202egnp.exe" in result.stderr
    if not as_json:
        assert "\\x1b]0;pwned\\x07" in result.stderr


def test_server_text_in_retry_logs_is_escaped(completed_fake: FakeElevenLabs) -> None:
    body = json.dumps({"detail": HOSTILE}, ensure_ascii=False).encode()
    completed_fake.script(Fault(status=503, body=body, headers={"Retry-After": "0"}))
    completed_fake.script(Fault(status=404, body=body))
    result = cli("-v", "--base-url", completed_fake.base_url, "status", "voice-demo", "sample-demo")
    assert result.returncode == 3
    assert "Retrying GET" in result.stderr
    assert_no_raw_controls(result.stderr)


def test_hostile_ids_are_escaped_in_every_table(fake: FakeElevenLabs, tmp_path: Path) -> None:
    # bidi controls are valid ids (C0/C1 ones are refused before any request: tests/cli/test_cli.py)
    fake.add_sample("v", "s", speakers={"a\u202eb": FakeSpeaker(audio=b"x"), "c\u2066d": FakeSpeaker(audio=b"y")})
    fake.voices["v"]["s"].status = "completed"
    for args in (["status", "v", "s"], ["download-all", "v", "s", "-o", str(tmp_path)]):
        result = cli("--base-url", fake.base_url, *args)
        assert result.returncode == 0, result.stderr
        assert_no_raw_controls(result.stdout + result.stderr)
        assert "a\\u202eb" in result.stdout
        assert "c\\u2066d" in result.stdout


# --- output in any encoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_output_an_encoding_cannot_show_is_escaped_not_fatal(fake: FakeElevenLabs, encoding: str) -> None:
    fake.add_sample("v", "s", speakers={"Zoë—1": FakeSpeaker(audio=b"x"), "\u4e2d": FakeSpeaker(audio=b"y")})
    fake.voices["v"]["s"].status = "completed"
    env = clean_env(PYTHONIOENCODING=encoding)

    def run(*args: str) -> tuple[int, str, str]:
        command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, *args]
        done = subprocess.run(command, capture_output=True, timeout=30, env=env, check=False)
        return done.returncode, done.stdout.decode(encoding), done.stderr.decode(encoding)

    code, out, err = run("status", "v", "s")
    assert code == 0, err
    assert "\\u2014" in out
    assert "\\u4e2d" in out
    code, out, err = run("status", "v", "s\u2014-nowhere")  # an error line naming the id
    assert code == 3
    assert "NotFoundError" in err
    assert "Traceback" not in err


# --- special destinations, and -o - -------------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
@pytest.mark.parametrize("through_a_symlink", [False, True])
def test_a_fifo_destination_is_refused_before_any_request(
    completed_fake: FakeElevenLabs, tmp_path: Path, overwrite: list[str], through_a_symlink: bool
) -> None:
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    dest = fifo
    if through_a_symlink:  # as /dev/stdout is
        dest = tmp_path / "stdout"
        dest.symlink_to(fifo)
    result = cli(
        "--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo", "speaker-1", "-o", str(dest),
        *overwrite,
    )  # fmt: skip
    assert result.returncode == 1
    assert "FIFO" in result.stderr
    assert "not a regular file" in result.stderr
    assert completed_fake.requests_to("/audio") == []
    assert stat.S_ISFIFO(os.stat(dest).st_mode)  # still the FIFO, not replaced by a regular file
    assert dest.is_symlink() == through_a_symlink
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"pipe.mp3", dest.name})


def test_the_api_refuses_special_destinations_before_any_request(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    fifo = tmp_path / "speaker-1.mp3"
    os.mkfifo(fifo)
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        with pytest.raises(FileExistsError, match="FIFO"):
            client.download_speaker_audio("voice-demo", "sample-demo", "speaker-1", fifo, overwrite=True)
        with pytest.raises(FileExistsError, match="FIFO"):  # the directory form picks the same name
            client.download_speaker_audio("voice-demo", "sample-demo", "speaker-1", tmp_path, overwrite=True)
        with pytest.raises(FileExistsError, match="FIFO"):  # a FIFO named as a folder is still the FIFO
            client.download_speaker_audio("voice-demo", "sample-demo", "speaker-1", f"{fifo}{os.sep}")
        with pytest.raises(FileExistsError, match="FIFO"):
            client.download_all_speakers("voice-demo", "sample-demo", tmp_path, overwrite=True)
        assert completed_fake.requests_to("/audio") == []
        audio = client.get_speaker_audio("voice-demo", "sample-demo", "speaker-2")
    with pytest.raises(FileExistsError, match="FIFO"):
        audio.save(fifo, overwrite=True)

    async def go() -> None:
        async with AsyncSpeakerAudioClient(base_url=completed_fake.base_url) as client:
            with pytest.raises(FileExistsError, match="FIFO"):
                await client.download_speaker_audio("voice-demo", "sample-demo", "speaker-1", fifo, overwrite=True)
            with pytest.raises(FileExistsError, match="FIFO"):
                await client.download_all_speakers("voice-demo", "sample-demo", tmp_path, overwrite=True)

    asyncio.run(go())
    assert len(completed_fake.requests_to("/audio")) == 1  # only the get_speaker_audio above
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["speaker-1.mp3"]


# runs the CLI, then reports the process's peak RSS (VmHWM: of this process image only, unlike ru_maxrss,
# which also counts the test process it was forked from)
_MEASURED_CLI = """
import sys
from speaker_audio.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
print(f"peak-rss-kib {peak}", file=sys.stderr)
sys.exit(code)
"""


def peak_rss_kib(args: list[str]) -> tuple[int, bytes, str, int]:
    """Run the CLI with ``args``: its exit code, stdout, stderr (without the figure) and peak RSS in KiB."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED_CLI, *args], capture_output=True, timeout=120, env=clean_env(), check=False
    )
    err, _, figure = done.stderr.decode().rpartition("peak-rss-kib ")
    return done.returncode, done.stdout, err, int(figure)


def test_dash_streams_the_decoded_audio_to_standard_output_in_bounded_memory(fake: FakeElevenLabs) -> None:
    big = b"ID3\x03\x00\x00\x00\x00\x00\x00" + os.urandom(32 << 20)
    small = demo_clips()["speaker-1"][0]
    fake.add_sample("v", "s", speakers={"big": FakeSpeaker(audio=big), "small": FakeSpeaker(audio=small)})
    fake.voices["v"]["s"].status = "completed"
    base = ["--base-url", fake.base_url, "get", "v", "s"]
    code, out, err, small_rss = peak_rss_kib([*base, "small", "-o", "-"])
    assert code == 0, err
    assert out == small
    assert "streamed small to standard output (audio/mpeg, sniffed audio/mpeg" in err
    code, out, err, big_rss = peak_rss_kib([*base, "big", "-o", "-"])
    assert code == 0, err
    assert out == big
    # holding the 32 MiB of audio (or its 43 MiB of base64) would add at least 32 MiB
    assert (big_rss - small_rss) < 16 * 1024, f"peak RSS {small_rss} KiB for a small clip, {big_rss} KiB for 32 MiB"


def test_dash_is_refused_by_download_all(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    result = cli(
        "--base-url", completed_fake.base_url, "download-all", "voice-demo", "sample-demo", "-o", "-", cwd=tmp_path
    )
    assert result.returncode == 2
    assert "works with get and sample-audio only" in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert completed_fake.requests == []


def test_dash_into_a_closed_pipe_exits_141_quietly(fake: FakeElevenLabs) -> None:
    fake.add_sample("v", "s", speakers={"big": FakeSpeaker(audio=b"ID3" + bytes(8 << 20))})
    fake.voices["v"]["s"].status = "completed"
    command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "get", "v", "s", "big", "-o", "-"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
    assert proc.stdout is not None
    assert proc.stdout.read(1000)[:3] == b"ID3"
    proc.stdout.close()  # `| head -c 1000`
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 141, stderr
    assert stderr == b""


# --- the media type is the server's, and a mismatch is a warning --------------------------------------------


def test_get_shows_the_servers_media_type_and_warns_on_a_wrong_extension(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    args = ["--base-url", completed_fake.base_url, "get", "voice-demo", "sample-demo"]
    result = cli(*args, "speaker-1", "-o", str(tmp_path / "s1.wav"))  # MP3 data
    assert result.returncode == 0, result.stderr
    assert "(audio/mpeg, sniffed audio/mpeg," in result.stderr
    assert "warning: " in result.stderr
    assert "its extension .wav does not match the server's media type audio/mpeg (.mp3)" in result.stderr
    result = cli(*args, "speaker-2", "-o", str(tmp_path / "s2.wav"))
    assert result.returncode == 0, result.stderr
    assert "(audio/wav, sniffed audio/wav," in result.stderr
    assert "warning" not in result.stderr


def test_a_media_type_the_bytes_contradict_is_a_warning(fake: FakeElevenLabs, tmp_path: Path) -> None:
    mp3 = demo_clips()["speaker-1"][0]
    fake.add_sample("v", "s", speakers={"liar": FakeSpeaker(audio=mp3, media_type="audio/wav")})
    fake.voices["v"]["s"].status = "completed"
    result = cli("--base-url", fake.base_url, "get", "v", "s", "liar", "-o", str(tmp_path / "liar.wav"))
    assert result.returncode == 0, result.stderr
    assert "its bytes look like audio/mpeg, not audio/wav as the server said" in result.stderr
    (tmp_path / "all").mkdir()
    result = cli("--base-url", fake.base_url, "download-all", "v", "s", "-o", str(tmp_path / "all"))
    assert result.returncode == 0, result.stderr
    assert "its bytes look like audio/mpeg, not audio/wav as the server said" in result.stderr


@pytest.mark.parametrize("dest", ["file", "-"])
def test_a_hostile_media_type_is_escaped(fake: FakeElevenLabs, tmp_path: Path, dest: str) -> None:
    mp3 = demo_clips()["speaker-1"][0]
    fake.add_sample("v", "s", speakers={"x": FakeSpeaker(audio=mp3, media_type="audio/mpeg\x1b]0;pwned\x07\u202e")})
    fake.voices["v"]["s"].status = "completed"
    output = str(tmp_path / "x.mp3") if dest == "file" else "-"
    command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "get", "v", "s", "x", "-o", output]
    result = subprocess.run(command, capture_output=True, timeout=30, env=clean_env(), check=False)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    assert_no_raw_controls(stderr)
    assert "audio/mpeg\\x1b]0;pwned\\x07\\u202e" in stderr


def test_dash_retries_only_until_the_first_audio_byte(fake: FakeElevenLabs) -> None:
    audio = b"ID3" + os.urandom(1 << 20)
    fake.add_sample("v", "s", speakers={"x": FakeSpeaker(audio=audio)})
    fake.voices["v"]["s"].status = "completed"
    command = [sys.executable, "-m", "speaker_audio", "--base-url", fake.base_url, "get", "v", "s", "x", "-o", "-"]
    fake.script(Fault(status=503, headers={"Retry-After": "0"}, path_contains="/audio"))  # before any byte: retried
    done = subprocess.run(command, capture_output=True, timeout=60, env=clean_env(), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == audio
    assert len(fake.requests_to("/audio")) == 2
    fake.script(Fault(drop="mid_body", path_contains="/audio", times=9))  # after bytes went out: not retried
    done = subprocess.run(command, capture_output=True, timeout=60, env=clean_env(), check=False)
    assert done.returncode == 4, done.stderr
    assert 0 < len(done.stdout) < len(audio)
    assert b"had been written to standard output (not retried)" in done.stderr
    assert len(fake.requests_to("/audio")) == 3

"""Errors that a setting or a step would have avoided carry a ``hint`` code: Python's message gives the Python
advice, the CLI words the same code in its own options, and nobody parses messages to tell which is which."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from _clients import ClientRunner, Kind
from _leaks import views_holding
from conftest import TEST_KEY

import speaker_audio
from speaker_audio import (
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InsecureTransportError,
    SeparationNotCompletedError,
    SeparationNotStartedError,
    SpeakerAudioClient,
    SpeakerAudioError,
    errors,
)
from speaker_audio.cli import _errors, main
from speaker_audio.testing import FakeElevenLabs, Fault

VOICE, SAMPLE = "voice-demo", "sample-demo"


def documented_codes() -> set[str]:
    """The hint codes that the docstring of ``speaker_audio.errors`` lists (``- ``"code"``: …``)."""
    return set(re.findall(r'^- ``"(\w+)"``:', errors.__doc__ or "", flags=re.MULTILINE))


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def client(fake: FakeElevenLabs, **kwargs: Any) -> SpeakerAudioClient:
    return SpeakerAudioClient(base_url=fake.base_url, max_retries=0, **kwargs)


# --- the set of codes ------------------------------------------------------------------------------------------


def test_every_documented_code_has_python_advice_and_cli_wording() -> None:
    codes = documented_codes()
    assert {"start_separation", "wait_for_separation", "set_api_key", "overwrite"} <= codes
    assert set(errors._PYTHON_WORDING) | set(errors._PYTHON_NOTES) == codes
    assert set(_errors.CLI_WORDING) == codes


def test_an_error_without_a_hint_reads_as_before() -> None:
    error = SpeakerAudioError("something broke")
    assert error.hint is None
    assert str(error) == "something broke"


# --- each code, where the SDK raises it --------------------------------------------------------------------------


def test_a_wait_on_a_separation_never_started(fake: FakeElevenLabs) -> None:
    with client(fake) as c, pytest.raises(SeparationNotStartedError) as caught:
        c.wait_for_separation(VOICE, SAMPLE, poll_interval=0.01)
    assert caught.value.hint == "start_separation"
    assert "start=True" in str(caught.value)
    code, _, err = run_cli("--base-url", fake.base_url, "wait", VOICE, SAMPLE)
    assert code == 3
    assert "run `separate` first, or pass --start" in err
    assert "start=True" not in err


def test_download_all_and_get_on_an_unfinished_separation_give_the_same_hint(
    fake: FakeElevenLabs, tmp_path: Path
) -> None:
    fake.voices[VOICE][SAMPLE].status = "pending"
    fake.voices[VOICE][SAMPLE].polls_until_complete = 100
    with client(fake) as c:
        with pytest.raises(SeparationNotCompletedError) as listed:
            c.download_all_speakers(VOICE, SAMPLE, tmp_path)
        with pytest.raises(APIStatusError) as one:  # the server's 400 separation_not_completed
            c.get_speaker_audio(VOICE, SAMPLE, "speaker-1")
    assert listed.value.hint == one.value.hint == "wait_for_separation"
    for error in (listed.value, one.value):
        assert "start it and wait for it" in str(error)
    _, _, all_err = run_cli("--base-url", fake.base_url, "download-all", VOICE, SAMPLE, "-o", str(tmp_path))
    code, _, get_err = run_cli("--base-url", fake.base_url, "get", VOICE, SAMPLE, "speaker-1", "-o", str(tmp_path))
    assert code == 3
    assert "(run `separate --wait` first, or pass --separate)" in all_err
    assert "(run `separate --wait` first)" in get_err  # get has no --separate
    assert "start it and wait for it" not in all_err + get_err


def test_a_400_of_another_kind_has_no_hint(completed_fake: FakeElevenLabs) -> None:
    body = b'{"detail": {"status": "voice_not_fine_tuned", "message": "no"}}'
    completed_fake.script(Fault(status=400, body=body))
    with client(completed_fake) as c, pytest.raises(APIStatusError) as caught:
        c.get_speaker_audio(VOICE, SAMPLE, "speaker-1")
    assert caught.value.hint is None


@pytest.mark.parametrize("sent", [True, False], ids=["a wrong key", "no key"])
def test_a_401_says_whether_a_key_was_sent(sent: bool) -> None:
    with FakeElevenLabs(api_key="the-right-key") as fake:
        with client(fake, api_key=TEST_KEY if sent else None) as c, pytest.raises(AuthenticationError) as caught:
            c.get_separation_status(VOICE, SAMPLE)
        code, _, err = run_cli(
            *(["--api-key", TEST_KEY] if sent else []), "--base-url", fake.base_url, "status", VOICE, SAMPLE
        )
    error = caught.value
    assert error.hint == "set_api_key"
    assert ("no API key was sent" in str(error)) is not sent
    assert "set ELEVENLABS_API_KEY or pass api_key=… to the client" in str(error)
    assert code == 3
    assert ("no API key was sent" in err) is not sent
    assert "(set $ELEVENLABS_API_KEY or pass --api-key-file)" in err
    assert "api_key=" not in err
    assert TEST_KEY not in err
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.hint, str(copy)) == (error.hint, str(error))
    assert views_holding(TEST_KEY, error) == []


def test_a_key_over_plain_http_to_another_host() -> None:
    with pytest.raises(InsecureTransportError) as caught:
        SpeakerAudioClient(TEST_KEY, base_url="http://192.0.2.1:9")  # TEST-NET-1: refused before any connection
    assert caught.value.hint == "allow_insecure_http"
    assert "allow_insecure_http=True" in str(caught.value)
    code, _, err = run_cli("--api-key", TEST_KEY, "--base-url", "http://192.0.2.1:9", "status", VOICE, SAMPLE)
    assert code == 2
    assert "use an https:// --base-url, or pass --allow-insecure-http" in err


def test_a_total_timeout(fake: FakeElevenLabs) -> None:
    fake.script(Fault(path_contains="/speakers", delay=2.0, times=9))
    with client(fake, total_timeout=0.3) as c, pytest.raises(APITimeoutError) as caught:
        c.get_separation_status(VOICE, SAMPLE)
    assert caught.value.hint == "total_timeout"
    assert str(caught.value).startswith("total_timeout of 0.3s ran out")
    assert caught.value.args[0].startswith("0.3s ran out")  # what happened, without the setting's Python name


def test_an_existing_destination(completed_fake: FakeElevenLabs, tmp_path: Path) -> None:
    target = tmp_path / "speaker-1.mp3"
    target.write_bytes(b"mine")
    with client(completed_fake) as c, pytest.raises(FileExistsError) as caught:
        c.download_speaker_audio(VOICE, SAMPLE, "speaker-1", target)
    error = caught.value
    assert getattr(error, "hint", None) == "overwrite"
    assert error.__notes__ == ["pass overwrite=True to replace it"]  # Python's own class: the advice is a note
    assert str(target) in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.hint, copy.__notes__) == ("overwrite", error.__notes__)
    for command in (["get", VOICE, SAMPLE, "speaker-1"], ["download-all", VOICE, SAMPLE]):
        code, _, err = run_cli("--base-url", completed_fake.base_url, *command, "-o", str(tmp_path))
        assert code == 1
        assert f"FileExistsError: {target} exists" in err
        assert "; pass --overwrite to replace it" in err
        assert "overwrite=True" not in err
    assert target.read_bytes() == b"mine"


def test_a_url_given_as_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="looks like a URL") as caught:
        SpeakerAudioClient("https://api.elevenlabs.io")
    assert getattr(caught.value, "hint", None) == "base_url"
    assert "did you mean base_url=…?" in caught.value.__notes__[0]
    monkeypatch.setenv("ELEVENLABS_API_KEY", "https://api.elevenlabs.io")
    code, _, err = run_cli("status", VOICE, SAMPLE)
    assert code == 2
    assert "ELEVENLABS_API_KEY looks like a URL, not an API key: did you mean --base-url …?" in err
    assert "elevenlabs.io" not in err


def test_a_speaker_download_error_shows_its_causes_hint_in_the_clis_words(
    completed_fake: FakeElevenLabs, tmp_path: Path
) -> None:
    completed_fake.script(Fault(status=401, path_contains="/speakers/speaker-2/audio"))
    code, _, err = run_cli("--base-url", completed_fake.base_url, "download-all", VOICE, SAMPLE, "-o", str(tmp_path))
    assert code == 3
    assert "SpeakerDownloadError: speaker 'speaker-2' was not downloaded: AuthenticationError: 401" in err
    assert "(set $ELEVENLABS_API_KEY or pass --api-key-file) (1 of 2 speakers downloaded)" in err
    assert "api_key=" not in err


def test_the_public_names_the_cli_needed_are_documented() -> None:
    for name in ("API_KEY_ENV", "BASE_URL_ENV", "DEFAULT_BASE_URL", "REGION_BASE_URLS"):
        assert name in speaker_audio.__all__
    assert speaker_audio.API_KEY_ENV == "ELEVENLABS_API_KEY"
    assert speaker_audio.BASE_URL_ENV == "ELEVENLABS_BASE_URL"
    assert speaker_audio.DEFAULT_BASE_URL.startswith("https://")
    assert speaker_audio.REGION_BASE_URLS["eu"].startswith("https://")
    with pytest.raises(TypeError):
        speaker_audio.REGION_BASE_URLS["mars"] = "http://x"  # type: ignore[index]


@pytest.mark.parametrize(
    ("setup", "method", "args", "hint"),
    [
        ("key", "get_separation_status", (), "set_api_key"),
        ("not_started", "wait_for_separation", (), "start_separation"),
        ("pending", "download_all_speakers", ("{tmp}",), "wait_for_separation"),
        ("pending", "get_speaker_audio", ("speaker-1",), "wait_for_separation"),
        ("stall", "get_separation_status", (), "total_timeout"),
    ],
)
def test_both_clients_set_the_same_hints(
    kind: Kind, tmp_path: Path, setup: str, method: str, args: tuple[str, ...], hint: str
) -> None:
    with FakeElevenLabs(api_key="the-right-key" if setup == "key" else None) as fake:
        sample = fake.voices[VOICE][SAMPLE]
        if setup == "pending":
            sample.status, sample.polls_until_complete = "pending", 100
        if setup == "stall":
            fake.script(Fault(path_contains="/speakers", delay=2.0, times=9))
        runner = ClientRunner(kind, fake.base_url, max_retries=0, total_timeout=0.3 if setup == "stall" else None)
        call_args = [VOICE, SAMPLE, *(arg.replace("{tmp}", str(tmp_path)) for arg in args)]
        with pytest.raises(SpeakerAudioError) as caught:
            runner.call(method, *call_args)
    assert caught.value.hint == hint

"""A base URL with user info (``https://user:password@host``) is refused, and the password is never shown.

The API key is the only credential the SDK sends; a URL is shown in ``repr(client)``, error messages and logs, so
a password in it would be too. Both clients, the one-shot function, ``ELEVENLABS_BASE_URL`` and the CLI.

The error is checked as an error reporter sees it from the frames of the validation on (``_settings``): the
constructors' own frames hold the ``base_url`` argument as it was passed, as the caller's frame does.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _leaks import views_holding

from speaker_audio import (
    AsyncSpeakerAudioClient,
    InvalidBaseUrlError,
    SpeakerAudioClient,
    SpeakerAudioError,
    get_speaker_audio,
)
from speaker_audio._settings import BASE_URL_ENV, MAX_BASE_URL_LENGTH
from speaker_audio.testing import FakeElevenLabs

PASSWORD = "hunter2-base-url-password"


def from_the_validation_on(error: BaseException) -> BaseException:
    """``error`` with the frames before the base URL's validation (the caller's, the constructors') dropped."""
    tb = error.__traceback__
    while tb is not None and Path(tb.tb_frame.f_code.co_filename).name != "_settings.py":
        tb = tb.tb_next
    assert tb is not None, "the error was not raised by the base URL's validation"
    error.__traceback__ = tb
    return error


WITH_USER_INFO = [
    f"https://user:{PASSWORD}@api.example.com",
    f"https://{PASSWORD}@api.example.com/",  # a token as the user name
    f"http://user:{PASSWORD}@127.0.0.1:8765",
    f"https://user:{PASSWORD}@[::1]:8443/base",
    f"https://user@x:{PASSWORD}@api.example.com",  # two "@": user info ends at the last one
]


def build(kind: str, base_url: str | None) -> object:
    if kind == "sync":
        return SpeakerAudioClient(base_url=base_url)

    async def make() -> AsyncSpeakerAudioClient:
        return AsyncSpeakerAudioClient(base_url=base_url)

    return asyncio.run(make())


@pytest.mark.parametrize("base_url", WITH_USER_INFO)
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_user_info_in_base_url_is_refused_and_never_shown(kind: str, base_url: str) -> None:
    with pytest.raises(InvalidBaseUrlError, match="user name or password") as caught:
        build(kind, base_url)
    assert isinstance(caught.value, SpeakerAudioError)
    assert isinstance(caught.value, ValueError)
    assert (
        views_holding(PASSWORD, from_the_validation_on(caught.value)) == []
    )  # message, repr, pickle, sentry event, traceback locals


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_user_info_in_the_environments_base_url_is_refused(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, WITH_USER_INFO[0])
    with pytest.raises(InvalidBaseUrlError) as caught:
        build(kind, None)
    assert PASSWORD not in str(caught.value)


def test_the_one_shot_function_refuses_user_info_before_any_request(fake: FakeElevenLabs) -> None:
    base_url = fake.base_url.replace("http://", f"http://user:{PASSWORD}@")
    with pytest.raises(InvalidBaseUrlError) as caught:
        get_speaker_audio(*fake.demo_ids, "speaker-1", base_url=base_url)
    assert PASSWORD not in str(caught.value)
    assert fake.requests == []


@pytest.mark.parametrize(
    "base_url",
    [
        f"ftp://user:{PASSWORD}@host",  # refused for its scheme: the message hides the user info too
        f"https://user:{PASSWORD}@host/?query=1",
        f"https://user:{PASSWORD}/x@host",  # not a URL httpx can read at all
        f"https://user:{PASSWORD}@[::1",
    ],
)
def test_other_refusals_never_show_user_info(base_url: str) -> None:
    with pytest.raises(InvalidBaseUrlError) as caught:
        SpeakerAudioClient(base_url=base_url)
    assert views_holding(PASSWORD, from_the_validation_on(caught.value)) == []


def test_an_at_sign_in_the_path_is_no_user_info() -> None:
    with SpeakerAudioClient(base_url="https://api.example.com/team@example/") as client:
        assert client.base_url == "https://api.example.com/team@example"


def test_base_urls_are_bounded_in_length() -> None:
    at_the_limit = "https://" + "a" * (MAX_BASE_URL_LENGTH - len("https://"))
    with SpeakerAudioClient(base_url=at_the_limit) as client:
        assert client.base_url == at_the_limit
    with pytest.raises(InvalidBaseUrlError, match="too long"):
        SpeakerAudioClient(base_url=at_the_limit + "a")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "speaker_audio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
        check=False,
    )


def test_the_cli_never_shows_user_info_and_sends_nothing(fake: FakeElevenLabs) -> None:
    base_url = fake.base_url.replace("http://", f"http://user:{PASSWORD}@")
    by_option = cli("--base-url", base_url, "-v", "status", *fake.demo_ids)
    by_environment = cli("-v", "status", *fake.demo_ids, env={BASE_URL_ENV: base_url})
    for result in (by_option, by_environment):
        assert result.returncode != 0
        assert PASSWORD not in result.stdout + result.stderr
        assert "InvalidBaseUrlError" in result.stderr
    assert fake.requests == []


def test_the_cli_exits_2_for_an_unusable_base_url(tmp_path: Path) -> None:
    for base_url in (f"https://user:{PASSWORD}@host", "ftp://host"):
        result = cli("--base-url", base_url, "status", "v", "s")
        assert result.returncode == 2, result.stderr  # a usage error, as before this error had its own class

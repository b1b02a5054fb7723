"""The API key is in no repr, log, error or anything reachable from one."""

from __future__ import annotations

import httpx
import pytest

from speaker_audio import SpeakerAudioClient

IDS = ("voice-demo", "sample-demo", "speaker-1")


@pytest.mark.parametrize("key", ["sk-SECRET ", " sk-SECRET", "sk-SEC RET", "sk-SECRÉT", "sk-SECRET\t", "sk\nSECRET"])
def test_unusable_keys_are_refused_without_echoing_them(key: str) -> None:
    with pytest.raises(ValueError, match="API key") as info:
        SpeakerAudioClient(key)
    assert "SECRET" not in str(info.value)
    assert "SEC RET" not in str(info.value)


def test_invalid_header_failures_do_not_quote_header_values() -> None:
    from speaker_audio import _http_errors
    from speaker_audio._operations import SPEAKER_AUDIO

    spec = SPEAKER_AUDIO.request(None, dict(zip(("voice_id", "sample_id", "speaker_id"), IDS, strict=True)), {})
    error = _http_errors.transport_error(httpx.LocalProtocolError("Illegal header value b'sk-SECRET '"), spec)
    assert "SECRET" not in str(error)
    assert "invalid request" in str(error)

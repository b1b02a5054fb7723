"""One-shot helper: one speaker's audio with a short-lived client."""

from __future__ import annotations

from typing import cast

from speaker_audio import _settings
from speaker_audio._client import SpeakerAudioClient
from speaker_audio._models import SpeakerAudio


def get_speaker_audio(
    voice_id: str,
    sample_id: str,
    speaker_id: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    allow_insecure_http: bool = False,
) -> SpeakerAudio:
    """One-shot: fetch one speaker's audio with a short-lived :class:`SpeakerAudioClient`.

    Raises as :class:`SpeakerAudioClient` and its :meth:`~SpeakerAudioClient.get_speaker_audio` do.
    """
    key = _settings.conceal(api_key)
    del api_key  # tracebacks with locals must not show the key
    # the constructor takes the Secret as is (see _settings.conceal); its public type stays ``str | None``
    with SpeakerAudioClient(
        cast("str | None", key), base_url=base_url, allow_insecure_http=allow_insecure_http
    ) as client:
        return client.get_speaker_audio(voice_id, sample_id, speaker_id)

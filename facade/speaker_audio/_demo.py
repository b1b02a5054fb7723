"""``make demo``: the whole job against the built-in fake API (no key, no network)."""

from __future__ import annotations

import sys
from pathlib import Path

from speaker_audio._client import SpeakerAudioClient
from speaker_audio._decode import sniff_media_type
from speaker_audio.testing import FakeElevenLabs

OUTPUT_DIR = Path("demo-output")


def main() -> int:
    """Start the fake server, separate a sample's speakers, download one speaker, print what was saved."""
    with FakeElevenLabs() as fake, SpeakerAudioClient(base_url=fake.base_url) as client:
        voice_id, sample_id = fake.demo_ids
        print(f"fake ElevenLabs API on {fake.base_url}")
        client.start_speaker_separation(voice_id, sample_id)
        status = client.wait_for_separation(voice_id, sample_id, timeout=30, poll_interval=0.1)
        print(f"separation {status.status}: speakers {', '.join(status.speakers)}")
        speaker_id = next(iter(status.speakers))
        audio = client.get_speaker_audio(voice_id, sample_id, speaker_id)
        OUTPUT_DIR.mkdir(exist_ok=True)
        path = audio.save(OUTPUT_DIR / f"{speaker_id}{audio.extension}", overwrite=True)
        print(f"saved {path}")
        print(f"  media type  {audio.media_type} (sniffed: {sniff_media_type(audio.data)})")
        print(f"  duration    {audio.duration_secs:g} s")
        print(f"  size        {len(audio.data):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``get_speaker_audio`` end to end against a real loopback server: the result, the request, the ids, the key header."""

from __future__ import annotations

import attrs
import pytest

from speaker_audio import InvalidIdError, SpeakerAudio, SpeakerAudioClient, get_speaker_audio
from speaker_audio.testing import FakeElevenLabs, FakeSpeaker, demo_clips


def test_get_speaker_audio_end_to_end(completed_fake: FakeElevenLabs) -> None:
    clips = demo_clips()
    with SpeakerAudioClient("k", base_url=completed_fake.base_url) as client:
        audio = client.get_speaker_audio("voice-demo", "sample-demo", "speaker-1")
    assert isinstance(audio, SpeakerAudio)
    assert audio.data == clips["speaker-1"][0]
    assert audio.media_type == "audio/mpeg"
    assert audio.duration_secs == 1.5
    assert audio.extension == ".mp3"
    [request] = completed_fake.requests_to("/audio")
    assert request.raw_path == "/v1/voices/pvc/voice-demo/samples/sample-demo/speakers/speaker-1/audio"
    assert request.headers["xi-api-key"] == "k"


def test_a_fetched_result_is_what_its_constructor_makes_of_its_fields(completed_fake: FakeElevenLabs) -> None:
    # the clients set a result's fields without running its constructor (its checks were the call's): nothing differs
    completed_fake.add_sample("v", "s", speakers={"whole": FakeSpeaker(duration_secs=2)}, status="completed")
    with SpeakerAudioClient("k", base_url=completed_fake.base_url) as client:
        fetched = client.get_speaker_audio("v", "s", "whole")
    fields = {field.name: getattr(fetched, field.name) for field in attrs.fields(SpeakerAudio)}
    built = SpeakerAudio(**fields)
    assert fields == {field.name: getattr(built, field.name) for field in attrs.fields(SpeakerAudio)}
    assert (fetched, repr(fetched), fetched.model.to_dict()) == (built, repr(built), built.model.to_dict())
    assert type(fetched.duration_secs) is float  # the constructor's conversion, made by the client
    assert (fetched.speaker_id, fetched.request_id) == ("whole", fetched.headers.get("request-id"))


def test_from_validated_takes_exactly_the_result_s_fields() -> None:
    from speaker_audio._models import from_validated

    with pytest.raises(TypeError, match="takes the fields"):
        from_validated(SpeakerAudio, data=b"", media_type="audio/mpeg", duration_secs=1.0)


def test_one_shot_helper(completed_fake: FakeElevenLabs) -> None:
    audio = get_speaker_audio("voice-demo", "sample-demo", "speaker-2", base_url=completed_fake.base_url)
    assert audio.data == demo_clips()["speaker-2"][0]
    assert audio.extension == ".wav"


def test_ids_are_percent_encoded_as_one_segment(completed_fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=completed_fake.base_url, max_retries=0) as client, pytest.raises(Exception):  # noqa: B017, PT011
        client.get_speaker_audio("v/../x", "s?a#b", "sp ace")
    [request] = completed_fake.requests
    assert request.raw_path == "/v1/voices/pvc/v%2F..%2Fx/samples/s%3Fa%23b/speakers/sp%20ace/audio"


@pytest.mark.parametrize("bad", ["..", ".", "", "a\nb", "tab\there", "nul\x00", "del\x7f"])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_dot_empty_and_control_ids_are_refused_before_any_request(
    fake: FakeElevenLabs, bad: str, position: int
) -> None:
    ids = ["voice-demo", "sample-demo", "speaker-1"]
    ids[position] = bad
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(InvalidIdError) as info:
        client.get_speaker_audio(*ids)
    assert isinstance(info.value, ValueError)
    assert ("voice_id", "sample_id", "speaker_id")[position] in str(info.value)
    assert fake.requests == []


def test_lone_surrogate_id_is_an_invalid_id(fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=fake.base_url) as client, pytest.raises(InvalidIdError, match="surrogate"):
        client.get_speaker_audio("voice-demo", "sample-demo", "\ud800")
    assert fake.requests == []


def test_what_httpx_does_with_dot_segments(fake: FakeElevenLabs) -> None:
    """Why the ids are checked: httpx collapses a percent-encoded-but-literal `..` segment."""
    import httpx

    with httpx.Client() as http:
        http.get(fake.base_url + "/v1/voices/pvc/v/samples/s/speakers/../audio")
    assert fake.requests[0].raw_path == "/v1/voices/pvc/v/samples/s/audio"


def test_no_key_means_no_header(completed_fake: FakeElevenLabs) -> None:
    with SpeakerAudioClient(base_url=completed_fake.base_url) as client:
        client.get_speaker_audio("voice-demo", "sample-demo", "speaker-1")
    assert "xi-api-key" not in completed_fake.requests[0].headers

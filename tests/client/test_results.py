"""Results carry the validated generated model, stay hashable, evolvable and picklable; hand-built ones are checked;
malformed 2xx bodies are typed errors; results are frozen and typed."""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

import attrs
import pytest
from _clients import ClientRunner, Kind
from _spec import load_spec

from speaker_audio import SampleAudio, SeparationStatus, Speaker, SpeakerAudio, Utterance
from speaker_audio._operations import SEPARATION_STATUS, SPEAKER_AUDIO
from speaker_audio.errors import AudioDecodeError, ResponseValidationError, SpecDriftError
from speaker_audio.testing import FakeElevenLabs, Fault
from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel
from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel
from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
    SpeakerSeparationResponseModelSpeakersType0,
)
from speaker_audio_api.models.speaker_separation_response_model_status import SpeakerSeparationResponseModelStatus
from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel

IDS = ("voice-demo", "sample-demo", "speaker-1")
GOOD_AUDIO = {"audio_base_64": "SUQz", "media_type": "audio/mpeg", "duration_secs": 1.25}


def undeclared(schema: str, stem: str) -> str:
    """``stem``, or ``stem_2``, …: a member name the shipped spec's ``schema`` does not declare (re-pins add some)."""
    declared = load_spec()["components"]["schemas"][schema].get("properties", {})
    return next(name for name in (stem, *(f"{stem}_{n}" for n in range(2, 1000))) if name not in declared)


# --- .model on every result, from real responses ---------------------------------------------------------


def test_speaker_audio_model_is_the_validated_generated_model_without_the_audio(
    completed_fake: FakeElevenLabs, kind: Kind
) -> None:
    extra: dict[str, object] = {undeclared("SpeakerAudioResponseModel", "loudness_lufs"): -14.5}  # not in the pin
    extra[undeclared("SpeakerAudioResponseModel", "labels")] = {"lang": "en"}
    body = {**GOOD_AUDIO, **extra}
    completed_fake.script(Fault(status=200, body=json.dumps(body).encode()))
    audio = ClientRunner(kind, completed_fake.base_url).call("get_speaker_audio", *IDS)
    assert isinstance(audio.model, SpeakerAudioResponseModel)
    assert audio.data == b"ID3"
    assert audio.model.audio_base_64 == ""  # the audio is held once, in .data
    assert (audio.model.media_type, audio.model.duration_secs) == ("audio/mpeg", 1.25)
    assert audio.model.additional_properties == extra
    assert "model" not in repr(audio)


def test_status_speaker_and_utterance_models(completed_fake: FakeElevenLabs, kind: Kind) -> None:
    status = ClientRunner(kind, completed_fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")
    assert isinstance(status.model, SpeakerSeparationResponseModel)
    assert status.model.status is SpeakerSeparationResponseModelStatus.COMPLETED
    assert status.status == "completed"
    assert status.model.voice_id == status.voice_id
    assert status.speakers
    for speaker_id, speaker in status.speakers.items():
        assert isinstance(speaker.model, SpeakerResponseModel)
        assert speaker.model.speaker_id == speaker.speaker_id == speaker_id
        assert speaker.model.duration_secs == speaker.duration_secs
        for utterance in speaker.utterances:
            assert isinstance(utterance.model, UtteranceResponseModel)
            assert (utterance.model.start, utterance.model.end) == (utterance.start, utterance.end)


def test_results_built_by_hand_get_a_consistent_model() -> None:
    audio = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=2)
    assert audio.model.to_dict() == {"audio_base_64": "", "media_type": "audio/wav", "duration_secs": 2.0}
    speaker = Speaker(speaker_id="a", duration_secs=1.0, utterances=[Utterance(start=0, end=1)])
    status = SeparationStatus(voice_id="v", sample_id="s", status="completed", speakers={"a": speaker})
    assert status.model.status is SpeakerSeparationResponseModelStatus.COMPLETED
    assert status.model.to_dict()["speakers"] == {
        "a": {"speaker_id": "a", "duration_secs": 1.0, "utterances": [{"start": 0.0, "end": 1.0}]}
    }
    # a status the pin does not list is kept (the server may be ahead of the pin); only its model is unavailable
    unknown = SeparationStatus(voice_id="v", sample_id="s", status="cancelled")
    assert unknown.status == "cancelled"
    with pytest.raises(SpecDriftError, match="'cancelled'"):
        _ = unknown.model


def test_model_annotations_name_the_generated_classes() -> None:
    """``.model`` is typed with the generated class (what mypy checks users' code against)."""
    namespace = {
        "SpeakerAudioResponseModel": SpeakerAudioResponseModel,
        "SpeakerSeparationResponseModel": SpeakerSeparationResponseModel,
        "SpeakerResponseModel": SpeakerResponseModel,
        "UtteranceResponseModel": UtteranceResponseModel,
    }
    expected = {
        SpeakerAudio: SpeakerAudioResponseModel,
        SeparationStatus: SpeakerSeparationResponseModel,
        Speaker: SpeakerResponseModel,
        Utterance: UtteranceResponseModel,
    }
    for result, model in expected.items():
        if isinstance(getattr(result, "model", None), property):  # SeparationStatus: a property over its field
            hints = typing.get_type_hints(result.model.fget, localns=namespace)  # type: ignore[attr-defined]
            assert hints["return"] is model
        else:
            hints = typing.get_type_hints(result, localns=namespace)
            assert hints["model"] is model


def test_an_unknown_status_is_refused_naming_it_when_strict(fake: FakeElevenLabs, kind: Kind) -> None:
    body = {"voice_id": "v", "sample_id": "s", "status": "archived"}
    fake.script(Fault(status=200, body=json.dumps(body).encode()))
    with pytest.raises(ResponseValidationError, match=r"status: unknown value \"archived\""):
        ClientRunner(kind, fake.base_url, strict=True).call("get_separation_status", "voice-demo", "sample-demo")
    fake.script(Fault(status=200, body=json.dumps(body).encode()))
    tolerant = ClientRunner(kind, fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")
    assert tolerant.status == "archived"  # strict=False (the default): shown, and reported as drift


# --- results stay hashable, evolvable and picklable ----------------------------------------------------------


def test_results_hash_and_compare_by_their_fields_not_their_model() -> None:
    import attrs

    loudness = undeclared("SpeakerAudioResponseModel", "loudness")
    fetched = SPEAKER_AUDIO.from_parts(b"x", {"media_type": "audio/mpeg", "duration_secs": 1, loudness: -14})
    built = SpeakerAudio(data=b"x", media_type="audio/mpeg", duration_secs=1.0)
    assert fetched == built
    assert hash(fetched) == hash(built)
    assert hash(Utterance(start=0, end=1)) == hash(Utterance(start=0.0, end=1.0))

    evolved = attrs.evolve(fetched, duration_secs=9, media_type="audio/wav")
    assert (evolved.model.media_type, evolved.model.duration_secs) == ("audio/wav", 9.0)
    assert evolved.model.additional_properties == {loudness: -14}  # upstream's extra members are kept
    assert fetched.model.duration_secs == 1  # the original is untouched


def test_evolved_status_and_pickled_results_keep_a_matching_model() -> None:
    import copy
    import pickle

    import attrs

    eta = undeclared("SpeakerSeparationResponseModel", "eta")
    status = SEPARATION_STATUS.from_json({"voice_id": "v", "sample_id": "s", "status": "pending", eta: 3})
    for clone in (pickle.loads(pickle.dumps(status)), copy.deepcopy(status)):
        assert clone == status
        assert clone.model == status.model  # the generated UNSET survives (models compare it by identity)
    failed = attrs.evolve(status, status="failed")
    assert failed.model.status is SpeakerSeparationResponseModelStatus.FAILED
    assert failed.model.additional_properties == {eta: 3}


def completed_status(extra: bool = False) -> dict[str, Any]:
    """A completed status body of two speakers, ``a`` with two utterances and ``b`` with none (``null``); with
    ``extra``, the body, each speaker and each utterance also hold a member their schema lacks (``EXTRA``)."""
    utterances = [UtteranceResponseModel(start=start, end=start + 1) for start in (0, 2)]
    speakers = [
        SpeakerResponseModel(speaker_id="a", duration_secs=3, utterances=utterances),
        SpeakerResponseModel(speaker_id="b", duration_secs=1, utterances=None),
    ]
    listed = SpeakerSeparationResponseModelSpeakersType0()
    listed.additional_properties = {speaker.speaker_id: speaker for speaker in speakers}
    completed = SpeakerSeparationResponseModelStatus.COMPLETED
    status = SpeakerSeparationResponseModel(voice_id="v", sample_id="s", status=completed, speakers=listed)
    if extra:
        models: list[Any] = [status, *speakers, *utterances]
        for model in models:
            model[EXTRA[type(model).__name__]] = 7
    body: dict[str, Any] = status.to_dict()
    return body


EXTRA = {
    schema: undeclared(schema, "loudness")
    for schema in ("SpeakerSeparationResponseModel", "SpeakerResponseModel", "UtteranceResponseModel")
}


def test_fetched_speakers_and_utterances_keep_upstreams_members_through_evolve_and_pickle() -> None:
    import copy
    import pickle

    import attrs

    body = completed_status(extra=True)
    status = SEPARATION_STATUS.from_json(body)
    speaker = status.speakers["a"]
    assert speaker.model.additional_properties == {EXTRA["SpeakerResponseModel"]: 7}
    assert [u.model.additional_properties for u in speaker.utterances] == [{EXTRA["UtteranceResponseModel"]: 7}] * 2
    fresh = SEPARATION_STATUS.from_json(body)  # models not read yet: evolve and pickle carry what builds them
    evolved = attrs.evolve(fresh.speakers["a"], duration_secs=9)
    assert (evolved.model.duration_secs, evolved.model.additional_properties) == (
        9,
        speaker.model.additional_properties,
    )
    moved = attrs.evolve(fresh.speakers["a"].utterances[1], end=5)
    assert (moved.model.end, moved.model.additional_properties) == (5, {EXTRA["UtteranceResponseModel"]: 7})
    assert fresh.speakers["a"].model.duration_secs == 3  # the original is untouched
    for clone in (pickle.loads(pickle.dumps(SEPARATION_STATUS.from_json(body))), copy.deepcopy(fresh)):
        assert clone == status
        assert clone.model.to_dict() == body


def test_an_evolved_status_shares_no_model_with_its_original() -> None:
    import attrs

    status = SEPARATION_STATUS.from_json(completed_status())
    other = attrs.evolve(status, speakers={"c": Speaker(speaker_id="c", duration_secs=2.0)})
    assert other.model.to_dict()["speakers"] == {"c": {"speaker_id": "c", "duration_secs": 2.0, "utterances": []}}
    assert list(status.model.to_dict()["speakers"]) == ["a", "b"]
    assert status.model is status.model  # built once


def test_a_fetched_speakers_utterances_are_one_list_like_a_built_speakers() -> None:
    speaker = SEPARATION_STATUS.from_json(completed_status()).speakers["a"]
    built = Speaker(speaker_id="a", duration_secs=3, utterances=[Utterance(start=0, end=1), Utterance(start=2, end=3)])
    assert speaker == built
    assert (
        repr(speaker)
        == repr(built)
        == (
            "Speaker(speaker_id='a', duration_secs=3.0, utterances=[Utterance(start=0.0, end=1.0), "
            "Utterance(start=2.0, end=3.0)])"
        )
    )
    utterances = speaker.utterances
    assert type(utterances) is list
    assert utterances is speaker.utterances  # the same list on every read ...
    utterances.pop()
    assert speaker.utterances == [Utterance(start=0, end=1)]  # ... so what is done to it shows, as before
    assert speaker != built
    assert SEPARATION_STATUS.from_json(completed_status()).speakers["b"].utterances == []


def test_speakers_without_utterances_share_one_empty_list_that_cannot_be_changed() -> None:
    import copy
    import pickle

    status = SEPARATION_STATUS.from_json(completed_status())
    fetched, built = status.speakers["b"].utterances, Speaker(speaker_id="x", duration_secs=1.0).utterances
    assert fetched == [] == built
    assert isinstance(fetched, list)
    assert fetched is built  # one list for every speaker that has none: no object each for the garbage collector
    with pytest.raises(TypeError, match="cannot be changed"):
        fetched.append(Utterance(start=0, end=1))
    with pytest.raises(TypeError, match="cannot be changed"):
        fetched.extend([])
    with pytest.raises(TypeError, match="cannot be changed"):
        fetched.clear()
    with pytest.raises(TypeError, match="cannot be changed"):
        fetched += [Utterance(start=0, end=1)]
    assert fetched == []
    for clone in (pickle.loads(pickle.dumps(status)), copy.deepcopy(status), copy.copy(status)):
        assert clone.speakers["b"].utterances is fetched


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speakers": {"a": {"speaker_id": "a"}}}, "speakers must be a dict"),
        ({"speakers": [("a", 1)]}, "speakers must be a dict"),
        ({"selected_speaker_ids": "ab"}, "selected_speaker_ids must be a list of str"),
        ({"selected_speaker_ids": [1]}, "selected_speaker_ids must be a list of str"),
    ],
)
def test_hand_built_results_refuse_wrong_containers_with_a_type_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        SeparationStatus(voice_id="v", sample_id="s", status="completed", **kwargs)
    with pytest.raises(TypeError, match="utterances must be a list of Utterance"):
        Speaker(speaker_id="a", duration_secs=1.0, utterances=[{"start": 0, "end": 1}])  # type: ignore[list-item]


def test_annotations_resolve_once_the_result_classes_are_loaded() -> None:
    import typing

    import speaker_audio

    assert speaker_audio.SpeakerAudio is not None  # loads the result classes (as building a client does)
    assert typing.get_type_hints(speaker_audio.SpeakerAudioClient.get_speaker_audio)["return"] is (
        speaker_audio.SpeakerAudio
    )
    hints = typing.get_type_hints(speaker_audio.AsyncSpeakerAudioClient.get_separation_status)
    assert hints["return"] is speaker_audio.SeparationStatus
    assert typing.get_type_hints(speaker_audio.get_speaker_audio)["return"] is speaker_audio.SpeakerAudio


# --- malformed 2xx bodies are typed errors; results are frozen and typed ------------------------------------


@pytest.mark.parametrize(
    ("body", "error_class", "match"),
    [
        (b"<html>oops</html>", ResponseValidationError, "JSON"),
        (b"[1, 2]", ResponseValidationError, None),
        (b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": "abc"}', ResponseValidationError, "duration_secs"),  # noqa: E501
        (b'{"audio_base_64": "AAAA", "duration_secs": 1.0}', ResponseValidationError, "media_type"),
        (b'{"audio_base_64": "AAAA", "media_type": 5, "duration_secs": 1.0}', ResponseValidationError, "media_type"),
        (b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": true}', ResponseValidationError, "duration_secs"),  # noqa: E501
        (b'{"media_type": "audio/mpeg", "duration_secs": 1.0}', ResponseValidationError, "audio_base_64"),
        (b'{"audio_base_64": 12, "media_type": "audio/mpeg", "duration_secs": 1.0}', ResponseValidationError, "audio_base_64"),  # noqa: E501
        (b'{"audio_base_64": "AA-A", "media_type": "audio/mpeg", "duration_secs": 1.0}', AudioDecodeError, None),
        (b'{"audio_base_64": "AAA", "media_type": "audio/mpeg", "duration_secs": 1.0}', AudioDecodeError, None),
        (b'{"audio_base_64": "AAAA", "media_type": "audio/mpeg", "duration_secs": 1.0', ResponseValidationError, None),
    ],
)  # fmt: skip
def test_malformed_2xx_bodies_are_typed_errors(
    completed_fake: FakeElevenLabs, kind: Kind, body: bytes, error_class: type[Exception], match: str | None
) -> None:
    completed_fake.script(Fault(status=200, body=body, times=5))
    with pytest.raises(error_class, match=match):
        ClientRunner(kind, completed_fake.base_url).call("get_speaker_audio", *IDS)
    assert len(completed_fake.requests) == 1  # validation errors are not retried


@pytest.mark.parametrize(
    "payload",
    [
        {"voice_id": "v", "sample_id": "s", "status": "weird"},
        {"voice_id": "v", "sample_id": "s"},
        {"voice_id": 1, "sample_id": "s", "status": "pending"},
        {"voice_id": "v", "sample_id": "s", "status": "completed", "speakers": []},
        {"voice_id": "v", "sample_id": "s", "status": "completed", "speakers": {"a": {"speaker_id": "a"}}},
        {
            "voice_id": "v",
            "sample_id": "s",
            "status": "completed",
            "speakers": {"a": {"speaker_id": "a", "duration_secs": 1, "utterances": [{"start": "0", "end": 1}]}},
        },
        {"voice_id": "v", "sample_id": "s", "status": "completed", "selected_speaker_ids": [1]},
    ],
)
def test_malformed_status_bodies_are_typed_errors(fake: FakeElevenLabs, kind: Kind, payload: dict[str, Any]) -> None:
    fake.script(Fault(status=200, body=json.dumps(payload).encode()))
    with pytest.raises(ResponseValidationError):
        ClientRunner(kind, fake.base_url, strict=True).call("get_separation_status", "voice-demo", "sample-demo")
    fake.script(Fault(status=200, body=json.dumps(payload).encode()))
    if payload.get("status") == "weird":  # only an unknown status: accepted as drift unless strict
        status = ClientRunner(kind, fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")
        assert status.status == "weird"
        return
    with pytest.raises(ResponseValidationError):
        ClientRunner(kind, fake.base_url).call("get_separation_status", "voice-demo", "sample-demo")


def test_results_are_frozen_and_typed() -> None:
    audio = SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs=2.5)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        audio.media_type = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        SpeakerAudio(data="x", media_type="audio/wav", duration_secs=2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SpeakerAudio(data=b"x", media_type="audio/wav", duration_secs="2.5")  # type: ignore[arg-type]


@pytest.mark.parametrize("result", [SpeakerAudio, SampleAudio, SeparationStatus])
def test_a_results_response_metadata_comes_after_its_own_fields(result: type[Any]) -> None:
    # what attrs.fields, asdict and astuple show, and the constructor's keywords: as documented, not as inherited
    names = [field.name for field in attrs.fields(result)]
    assert names[-2:] == ["request_id", "headers"]
    assert names.index("_model" if "_model" in names else "model") < names.index("request_id")


def test_speakers_and_utterances_keep_their_field_order() -> None:
    speaker = Speaker("s1", 2, [Utterance(0, 1)])
    assert list(attrs.asdict(speaker))[:3] == ["speaker_id", "duration_secs", "utterances"]
    assert attrs.astuple(speaker)[:2] == ("s1", 2.0)
    assert attrs.astuple(Utterance(0, 1))[:2] == (0.0, 1.0)
    assert list(inspect.signature(Speaker).parameters)[:3] == ["speaker_id", "duration_secs", "utterances"]


@pytest.mark.parametrize(
    ("result", "read"),
    [
        (Speaker, lambda status: status.speakers["a"].model),
        (Utterance, lambda status: status.speakers["a"].utterances[0].model),
        (Speaker, lambda status: status.model),  # the status fills its speakers' models in
    ],
    ids=["speaker", "utterance", "status"],
)
def test_a_model_first_read_by_two_threads_at_once_is_built_once(
    result: type[Speaker | Utterance], read: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both threads are let into the build together (a barrier, given up after a while: a build that lets one
    # thread in at a time passes it alone); what each read gives must be the one model every later read gives
    import contextlib
    import threading

    build = result._build
    together = threading.Barrier(2, timeout=1)

    def both_at_once(*args: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait()
        return build(*args)

    monkeypatch.setattr(result, "_build", both_at_once)
    status = SEPARATION_STATUS.from_json(completed_status())
    got: list[Any] = [None, None]

    def reader(index: int) -> None:
        got[index] = read(status)

    threads = [threading.Thread(target=reader, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert got[0] is not None
    assert got[0] is got[1] is read(status)
    listed = status.model.speakers
    assert isinstance(listed, SpeakerSeparationResponseModelSpeakersType0)
    assert listed.additional_properties["a"] is status.speakers["a"].model

"""Result types: frozen attrs classes holding decoded, validated values.

Each result keeps the validated instance of the generated model of its response in ``.model``,
so a field that upstream adds is reachable as ``result.model.<field>`` after pin + generate,
without an edit here. The audio results hold the audio once, in ``.data``: their
``.model.audio_base_64`` is ``""``.

A status's speakers and utterances keep the validated JSON item they were read from and build ``.model`` from it
when first read, and a speaker with no utterances holds one shared, unchangeable empty list: one object per speaker
for the garbage collector, whose full collections an event loop waits for ("The event loop stays free" in
``docs/reliability.md``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, cast

import attrs
import httpx

from speaker_audio._decode import extension_for_media_type
from speaker_audio._files import directory_target, refuse_special_file, write_bytes_atomic

if TYPE_CHECKING:  # the generated models load with the first client, keeping `import speaker_audio` fast
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel
    from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
    from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
        SpeakerSeparationResponseModelSpeakersType0,
    )
    from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel
    from speaker_audio_api.models.voice_sample_preview_response_model import VoiceSamplePreviewResponseModel
    from speaker_audio_api.types import Unset


class ResponseMeta(NamedTuple):
    """What a call's result carries from its response rather than its body, given to its constructor."""

    headers: httpx.Headers
    request_id: str | None
    ids: Mapping[str, str]  # the path's ids, as the call named them

    def fields(self) -> dict[str, Any]:
        """The result's keyword arguments ``headers`` and ``request_id``."""
        return {"headers": self.headers, "request_id": self.request_id}


def _to_float(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {type(value).__name__}")
    return float(value)


R = TypeVar("R")


def _as_float(value: object) -> float | None:
    """``value`` as the float a result holds for it (a model keeps the JSON number as sent), else ``None``."""
    try:
        return _to_float(value)  # type: ignore[arg-type]
    except (TypeError, OverflowError):
        return None


def _keep_model_in_step(
    result: R, agrees: Callable[[Any], bool], build: Callable[[R], Any], attribute: str = "model"
) -> None:
    """Make ``result.model`` (held in ``attribute``) describe ``result``'s own fields.

    A model given with fields it contradicts (``attrs.evolve(result, duration_secs=…)`` passes the old one)
    is rebuilt from the fields, keeping the members upstream added (``additional_properties``).
    """
    _pickle_unset_as_the_singleton()
    model = getattr(result, attribute)
    if agrees(model):
        return
    fresh = build(result)
    if fresh is not None:  # None: a status the pinned spec does not list has no model
        fresh.additional_properties = dict(model.additional_properties)
    object.__setattr__(result, attribute, fresh)


@functools.cache
def _pickle_unset_as_the_singleton() -> None:
    """Pickle and deepcopy the generated ``UNSET`` as itself: models compare it by identity."""
    import copyreg

    from speaker_audio_api.types import Unset

    copyreg.pickle(Unset, lambda unset: (_unset, ()))


def _unset() -> Unset:
    from speaker_audio_api.types import UNSET

    return UNSET


_FIRST_READ = threading.RLock()  # re-entrant: a status's model reads its speakers' models


def from_validated(cls: type[R], **fields: Any) -> R:
    """An instance of the result class ``cls`` from a call's fields, already checked against the pinned spec and
    converted: set as given, without the constructor's checks, which would cost every call again.

    Raises:
        TypeError: ``fields`` are not exactly ``cls``'s.
    """
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(field.name for field in attrs.fields(cls))  # type: ignore[arg-type]
    if fields.keys() != names:
        raise TypeError(f"{cls.__name__} takes the fields {sorted(names)}, got {sorted(fields)}")
    result: R = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(result, name, value)
    return result


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _list_of(kind: type[R], name: str, value: Iterable[R]) -> list[R]:
    items = list(value) if isinstance(value, list | tuple) else None
    if items is None or not all(isinstance(item, kind) for item in items):
        raise TypeError(f"{name} must be a list of {kind.__name__}")
    return items


class _NoUtterances(list):  # type: ignore[type-arg]
    """The utterances of every speaker that has none: one list for all of them, so it cannot be changed."""

    def _refuse(self, *args: object) -> Any:
        raise TypeError("a speaker's empty utterances list is shared and cannot be changed: make a new Speaker")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse  # type: ignore[assignment]
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __reduce__(self) -> str:
        return "_NO_UTTERANCES"  # unpickled (and copied) as the shared one


_NO_UTTERANCES = _NoUtterances()


def _utterances(value: Iterable[Utterance]) -> list[Utterance]:
    return _list_of(Utterance, "utterances", value) or _NO_UTTERANCES


def _speaker_ids(value: Iterable[str]) -> list[str]:
    return _list_of(str, "selected_speaker_ids", value)


def _speakers(value: Mapping[str, Speaker]) -> dict[str, Speaker]:
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and isinstance(item, Speaker) for key, item in value.items()
    ):
        raise TypeError("speakers must be a dict of speaker id (str) to Speaker")
    return dict(value)


def _speaker_audio_model(self: SpeakerAudio) -> SpeakerAudioResponseModel:
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel

    return SpeakerAudioResponseModel(audio_base_64="", media_type=self.media_type, duration_secs=self.duration_secs)


def _inherited_keywords_last(cls: type, fields: list[attrs.Attribute[Any]]) -> list[attrs.Attribute[Any]]:
    """A result's fields in their documented order (``attrs.fields``, ``asdict``, ``astuple``, the constructor's
    keywords): the keyword-only ones it inherits from a shared base (``request_id``, ``headers``, ``model``) last."""
    moved = [f for f in fields if f.kw_only and getattr(f, "inherited")]  # noqa: B009 (attrs' stubs lack it)
    return [f for f in fields if f not in moved] + moved


@attrs.frozen
class _Response:
    """What every call's result carries from its response, not compared: its ``request_id`` and ``headers``."""

    request_id: str | None = attrs.field(default=None, repr=False, eq=False, kw_only=True)
    headers: httpx.Headers = attrs.field(factory=httpx.Headers, repr=False, eq=False, kw_only=True)


@attrs.frozen
class _AudioResult(_Response):
    """What ``SpeakerAudio`` and ``SampleAudio`` share: the audio and its media type, the file extension and saving."""

    data: bytes = attrs.field(validator=attrs.validators.instance_of(bytes), repr=lambda d: f"<{len(d)} bytes>")
    media_type: str = attrs.field(validator=attrs.validators.instance_of(str))

    @property
    def extension(self) -> str:
        """File extension for ``media_type`` (``".mp3"`` for ``audio/mpeg``; ``".bin"`` when unknown)."""
        return extension_for_media_type(self.media_type)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the audio to ``path`` atomically and return the path written.

        ``path`` may be a directory (an existing one, or any path ending with ``/``): the file is then
        ``audio<extension>`` inside it. Missing folders are created, and removed again if the write fails.
        On any error, nothing is left behind and an existing file is untouched.

        Raises:
            FileExistsError: the file exists and ``overwrite`` is false, or it is a FIFO, device or socket
                (never replaced).
            OSError: a folder that cannot be created or written.
        """
        folder = directory_target(path)
        target = Path(path) if folder is None else folder / f"audio{self.extension}"
        refuse_special_file(target)
        return write_bytes_atomic(target, self.data, overwrite=overwrite)

    async def asave(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """:meth:`save` on a worker thread, so the write and its fsync never block the event loop."""
        import asyncio

        return await asyncio.to_thread(self.save, path, overwrite=overwrite)


@attrs.frozen(field_transformer=_inherited_keywords_last)
class SpeakerAudio(_AudioResult):
    """One speaker's decoded audio.

    Attributes:
        data: the audio bytes, decoded from validated base64.
        media_type: the media type the server gave, e.g. ``"audio/mpeg"``.
        duration_secs: the duration the server gave, in seconds.
        model: the validated response as the generated ``SpeakerAudioResponseModel``, with
            ``audio_base_64`` set to ``""`` (the audio is in ``data``); built from the fields above
            when not given.
        voice_id: the voice whose audio it is, as the call named it (``""`` for a result built by hand).
        sample_id: the sample, as the call named it.
        speaker_id: the speaker, as the call named it.
        request_id: the server's ``request-id`` of the response (``None`` when it sent none); not compared.
        headers: the response's headers; not compared.
    """

    duration_secs: float = attrs.field(converter=_to_float)
    model: SpeakerAudioResponseModel = attrs.field(
        default=attrs.Factory(_speaker_audio_model, takes_self=True), repr=False, eq=False, kw_only=True
    )
    voice_id: str = attrs.field(default="", validator=attrs.validators.instance_of(str), kw_only=True)
    sample_id: str = attrs.field(default="", validator=attrs.validators.instance_of(str), kw_only=True)
    speaker_id: str = attrs.field(default="", validator=attrs.validators.instance_of(str), kw_only=True)

    def __attrs_post_init__(self) -> None:
        _keep_model_in_step(
            self,
            lambda m: (
                (m.audio_base_64, m.media_type, _as_float(m.duration_secs)) == ("", self.media_type, self.duration_secs)
            ),
            _speaker_audio_model,
        )


def _sample_audio_model(self: SampleAudio) -> VoiceSamplePreviewResponseModel:
    from speaker_audio_api.models.voice_sample_preview_response_model import VoiceSamplePreviewResponseModel

    return VoiceSamplePreviewResponseModel(
        audio_base_64="",
        voice_id=self.voice_id,
        sample_id=self.sample_id,
        media_type=self.media_type,
        duration_secs=self.duration_secs,
    )


@attrs.frozen(field_transformer=_inherited_keywords_last)
class SampleAudio(_AudioResult):
    """A voice sample's own audio (``GET …/samples/{sample_id}/audio``), decoded.

    Attributes:
        data: the audio bytes, decoded from validated base64.
        media_type: the media type the server gave, e.g. ``"audio/mpeg"``.
        duration_secs: the duration the server gave, in seconds; ``None`` when it gave none (nullable in the spec).
        voice_id: the voice the sample belongs to, as the server gave it.
        sample_id: the sample, as the server gave it.
        model: the validated response as the generated ``VoiceSamplePreviewResponseModel``, with
            ``audio_base_64`` set to ``""`` (the audio is in ``data``); built from the fields above
            when not given.
        request_id: the server's ``request-id`` of the response (``None`` when it sent none); not compared.
        headers: the response's headers; not compared.
    """

    duration_secs: float | None = attrs.field(converter=attrs.converters.optional(_to_float))
    voice_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    sample_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    model: VoiceSamplePreviewResponseModel = attrs.field(
        default=attrs.Factory(_sample_audio_model, takes_self=True), repr=False, eq=False, kw_only=True
    )

    def __attrs_post_init__(self) -> None:
        _keep_model_in_step(
            self,
            lambda m: (
                (m.audio_base_64, m.media_type, _as_float(m.duration_secs), m.voice_id, m.sample_id)
                == ("", self.media_type, self.duration_secs, self.voice_id, self.sample_id)
            ),
            _sample_audio_model,
        )


M = TypeVar("M")


@attrs.frozen
class _FromItem(Generic[M]):
    """What ``Speaker`` and ``Utterance`` share: the validated JSON item of a call's result (``None`` for one built
    by hand), and ``.model`` built from it when first read, else from the fields (``_build``), and kept in step with
    the fields (an evolved result may hold its original's item)."""

    _model: M | None = attrs.field(default=None, repr=False, eq=False, kw_only=True, alias="model")
    _item: Mapping[str, Any] | None = attrs.field(default=None, repr=False, eq=False, kw_only=True, alias="_item")

    def __attrs_post_init__(self) -> None:
        if self._model is not None:
            _keep_model_in_step(self, self._agrees, type(self)._build, "_model")

    def _build(self, item: Mapping[str, Any] | None = None) -> M:
        raise NotImplementedError

    def _agrees(self, model: M) -> bool:
        raise NotImplementedError

    def _read_model(self) -> M:
        if self._model is None:
            with _FIRST_READ:  # two threads reading it first get the one model
                if self._model is None:
                    object.__setattr__(self, "_model", self._build(self._item))
                    _keep_model_in_step(self, self._agrees, type(self)._build, "_model")
        return cast(M, self._model)


@attrs.frozen(field_transformer=_inherited_keywords_last)
class Utterance(_FromItem["UtteranceResponseModel"]):
    """A stretch of the sample in which a speaker talks, in seconds from its start.

    Attributes:
        start: where the stretch begins, in seconds from the start of the sample.
        end: where it ends, in seconds from the start of the sample.
        model: the validated response item as the generated ``UtteranceResponseModel`` (a property, built when
            first read); built from the fields above when not given.
    """

    start: float = attrs.field(converter=_to_float)
    end: float = attrs.field(converter=_to_float)

    def _build(self, item: Mapping[str, Any] | None = None) -> UtteranceResponseModel:
        from speaker_audio_api.models.utterance_response_model import UtteranceResponseModel as Model

        return Model(start=self.start, end=self.end) if item is None else Model.from_dict(item)

    def _agrees(self, model: UtteranceResponseModel) -> bool:
        return (_as_float(model.start), _as_float(model.end)) == (self.start, self.end)

    @property
    def model(self) -> UtteranceResponseModel:
        """The validated response item as the generated model (built when first read)."""
        return self._read_model()


@attrs.frozen(field_transformer=_inherited_keywords_last)
class Speaker(_FromItem["SpeakerResponseModel"]):
    """One speaker found by separation.

    Attributes:
        speaker_id: the speaker's id, as ``get_speaker_audio`` and ``download_speaker_audio`` take it.
        duration_secs: the duration of the speaker's audio, in seconds.
        utterances: the stretches of the sample in which this speaker talks (empty when the server gave none: then
            a shared empty list, which raises ``TypeError`` if changed).
        model: the validated response item as the generated ``SpeakerResponseModel`` (upstream's fields, added
            ones included; a property, built when first read); built from the fields above when not given.
    """

    speaker_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    duration_secs: float = attrs.field(converter=_to_float)
    utterances: list[Utterance] = attrs.field(factory=list, converter=_utterances)

    def _build(self, item: Mapping[str, Any] | None = None) -> SpeakerResponseModel:
        from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel as Model

        if item is not None:
            return Model.from_dict(item)
        utterances = [u.model for u in self.utterances]
        return Model(speaker_id=self.speaker_id, duration_secs=self.duration_secs, utterances=utterances)

    def _agrees(self, model: SpeakerResponseModel) -> bool:
        utterances = model.utterances if isinstance(model.utterances, list) else []
        fields = (model.speaker_id, _as_float(model.duration_secs))
        return fields == (self.speaker_id, self.duration_secs) and utterances == [u.model for u in self.utterances]

    @property
    def model(self) -> SpeakerResponseModel:
        """The validated response item as the generated model (built when first read)."""
        return self._read_model()


def _separation_model(self: SeparationStatus) -> SpeakerSeparationResponseModel | None:
    """The model of ``self``'s fields, its speakers left for ``SeparationStatus.model`` to put in when first read."""
    from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
    from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
        SpeakerSeparationResponseModelSpeakersType0,
    )
    from speaker_audio_api.models.speaker_separation_response_model_status import (
        SpeakerSeparationResponseModelStatus,
    )

    try:
        status = SpeakerSeparationResponseModelStatus(self.status)
    except ValueError:  # a status the pinned spec does not list (the server is ahead of the pin): no model
        return None
    return SpeakerSeparationResponseModel(
        voice_id=self.voice_id,
        sample_id=self.sample_id,
        status=status,
        speakers=SpeakerSeparationResponseModelSpeakersType0(),
        selected_speaker_ids=list(self.selected_speaker_ids),
    )


def _listed(model: SpeakerSeparationResponseModel) -> SpeakerSeparationResponseModelSpeakersType0 | None:
    """``model.speakers``, unless the body's speakers are null or absent."""
    from speaker_audio_api.models.speaker_separation_response_model_speakers_type_0 import (
        SpeakerSeparationResponseModelSpeakersType0,
    )

    return model.speakers if isinstance(model.speakers, SpeakerSeparationResponseModelSpeakersType0) else None


@attrs.frozen(field_transformer=_inherited_keywords_last)
class SeparationStatus(_Response):
    """The state of speaker separation for one sample.

    Attributes:
        voice_id: the voice the sample belongs to.
        sample_id: the sample.
        status: one of the values the pinned spec allows: ``"not_started"``, ``"pending"``, ``"completed"``,
            ``"failed"``.
        speakers: ``{speaker_id: Speaker}``, the speakers found; empty until separation has completed.
        selected_speaker_ids: the ids of the speakers selected for the voice (empty when none is).
        model: the validated response as the generated ``SpeakerSeparationResponseModel`` (its ``status`` is
            the generated enum); built from the fields above when not given. Its ``speakers`` holds each
            speaker's ``.model``, put in when ``model`` is first read (161,000 speakers: 0.75 s). A
            ``status`` that the pinned spec does not list (accepted with ``strict=False``: the server is ahead
            of the pin) has no generated model, since the enum cannot hold it: then ``model`` raises
            ``SpecDriftError`` (every other field is read from the body as usual).
        request_id: the server's ``request-id`` of the response (``None`` when it sent none); not compared.
        headers: the response's headers; not compared.
    """

    voice_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    sample_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    status: str = attrs.field(validator=attrs.validators.instance_of(str))
    speakers: dict[str, Speaker] = attrs.field(factory=dict, converter=_speakers)
    selected_speaker_ids: list[str] = attrs.field(factory=list, converter=_speaker_ids)
    _model: SpeakerSeparationResponseModel | None = attrs.field(
        default=attrs.Factory(_separation_model, takes_self=True), repr=False, eq=False, kw_only=True, alias="model"
    )  # the constructor's ``model=``; ``None`` only for a status the pin does not list

    def __attrs_post_init__(self) -> None:
        if self._model is None:  # a pinned status given with model=None
            object.__setattr__(self, "_model", _separation_model(self))
        if self._model is not None:  # None: a status the pin lacks has no model
            _keep_model_in_step(self, self._agrees, _separation_model, "_model")

    def _agrees(self, m: SpeakerSeparationResponseModel) -> bool:
        selected = m.selected_speaker_ids if isinstance(m.selected_speaker_ids, list) else []
        pinned = (m.voice_id, m.sample_id, m.status.value, selected)
        if pinned != (self.voice_id, self.sample_id, self.status, self.selected_speaker_ids):
            return False
        listed = _listed(m)
        if listed is None:
            return not self.speakers
        speakers = listed.additional_properties  # empty: filled from self.speakers when model is first read
        return not speakers or speakers == {key: speaker.model for key, speaker in self.speakers.items()}

    @property
    def model(self) -> SpeakerSeparationResponseModel:
        """The validated response as the generated model; ``SpecDriftError`` for a status the pin does not list."""
        given = self._model
        if given is None:
            from speaker_audio.errors import SpecDriftError

            raise SpecDriftError(
                f"status {self.status!r} is not one the pinned spec lists, so this SeparationStatus has no generated "
                "model (its enum cannot hold the value): read .status, or re-pin with `make pin`"
            )
        listed = _listed(given)
        if not self.speakers or listed is None or listed.additional_properties:
            return given
        with _FIRST_READ:  # two threads reading it first get the one model
            if self._model is not given:  # another thread filled it meanwhile
                return self.model
            filled = type(listed)()  # new ones, ``given`` left as it is: an evolved status may share it
            filled.additional_properties = {key: speaker.model for key, speaker in self.speakers.items()}
            model: SpeakerSeparationResponseModel = attrs.evolve(given, speakers=filled)
            model.additional_properties = dict(given.additional_properties)
            object.__setattr__(self, "_model", model)
        return model

    @property
    def is_completed(self) -> bool:
        """True when separation finished successfully."""
        return self.status == "completed"


@attrs.frozen
class DownloadProgress:
    """How far one download has come; passed to the ``on_progress`` callback of the download methods.

    Attributes:
        audio_bytes: decoded audio bytes received so far (of the current attempt: 0 again after a retry).
        expected_audio_bytes: the audio's expected size: while downloading, an estimate from the
            response's ``Content-Length`` (the base64 text is 4/3 of the audio; the estimate may exceed
            the final size by the few bytes of the body's other members); with ``done`` the exact size.
            ``None`` when the server sent no ``Content-Length`` or a compressed body.
        body_bytes: response body bytes received so far.
        expected_body_bytes: the body's ``Content-Length``, when known and not compressed.
        done: true once, when the file is in place (then ``expected_audio_bytes == audio_bytes``).
        speaker_id: the speaker, for ``download_all_speakers``; else ``None``.
        media_type: with ``done``, the audio's media type as the server said (e.g. ``audio/mpeg``); else ``None``.
        duration_secs: with ``done``, the audio's duration as the server said (``None`` if it did not say).
    """

    audio_bytes: int
    expected_audio_bytes: int | None
    body_bytes: int
    expected_body_bytes: int | None
    done: bool = False
    speaker_id: str | None = None
    media_type: str | None = None
    duration_secs: float | None = None

    @property
    def fraction(self) -> float | None:
        """``audio_bytes / expected_audio_bytes`` within 0..1, or ``None`` when the total is unknown."""
        if self.expected_audio_bytes is None:
            return None
        if self.expected_audio_bytes <= 0:
            return 1.0 if self.done else 0.0
        return min(1.0, self.audio_bytes / self.expected_audio_bytes)

"""The table of operations (sans-I/O): one row per operation of the pinned spec that the facade serves.

A row names the generated operation module (by its operationId, from ``openapi/overlay.json``) and the
generated model of its 200 body, and builds its requests and its results. Requests come from the generated
``_get_kwargs`` (the spec owns URLs and parameter names); bodies are checked against the pinned response
schema (``_schema``), then built as the generated model (whose ``from_dict`` checks no types itself), and
the results read their fields from that model: a field that upstream renames or retypes is a
``mypy --strict`` error here, and one that upstream adds is on ``result.model``.

Adding an operation: pin it, add a row here (and a result class in ``_models`` if it is new), one client
method, its tests.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import pkgutil
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from speaker_audio._drift import SpecDrift
from speaker_audio._models import (
    ResponseMeta,
    SampleAudio,
    SeparationStatus,
    Speaker,
    SpeakerAudio,
    Utterance,
    _to_float,
    from_validated,
)
from speaker_audio._requests import RequestSpec, spec_from_kwargs, validate_id
from speaker_audio._schema import Pinned, response_validator
from speaker_audio._settings import Secret
from speaker_audio.errors import ResponseValidationError, UnsupportedSchemaError

if TYPE_CHECKING:
    from speaker_audio_api.models.speaker_audio_response_model import SpeakerAudioResponseModel
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel
    from speaker_audio_api.models.speaker_separation_response_model import SpeakerSeparationResponseModel
    from speaker_audio_api.models.voice_sample_preview_response_model import VoiceSamplePreviewResponseModel

R = TypeVar("R")

# Passed to the generated ``_get_kwargs`` in place of the key, to learn which header carries it
# (the spec owns the header's name) without the key ever entering a plain dict.
_KEY_PROBE = "speaker-audio key placeholder"
_KEY_PARAMETER = "xi_api_key"


class Checks(NamedTuple):
    """How a client reads bodies: ``strict`` refuses any drift from the pinned spec; ``report`` gets the drift seen."""

    strict: bool
    report: Callable[[tuple[SpecDrift, ...]], None] | None = None


STRICT = Checks(strict=True)
"""Any drift refused (the sinks' default when used on their own)."""


class Operation(Generic[R]):
    """One operation: its generated module and model, and how its 200 body becomes a result.

    Args:
        name: the operationId, which is also the generated module's name.
        model: the generated model class of the 200 body (in ``speaker_audio_api.models``).
        result: builds the result from the validated model and, for audio, the decoded audio.
        audio: the 200 body carries base64 audio (read by the streaming decoder, never held as text).
    """

    def __init__(
        self,
        name: str,
        model: str,
        result: Callable[[Any, bytes, Mapping[str, Any], ResponseMeta | None], R],
        *,
        audio: bool = False,
    ) -> None:
        self.name = name
        self.model = model
        self.audio = audio
        self._result = result

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"

    def module(self) -> ModuleType:
        """The generated operation module; ``UnsupportedSchemaError`` if the generated client lacks it."""
        return _generated_module(self.name)

    def model_class(self) -> type[Any]:
        """The generated model class of the 200 body."""
        return _model_class(self.model)

    def request(self, api_key: Secret | None, ids: Mapping[str, str], params: Mapping[str, object]) -> RequestSpec:
        """What to send: the path's ids (each checked to be one segment) and the named query/header parameters.

        A parameter that is not given is never sent, whatever default the spec gives it.

        Raises:
            InvalidIdError: an unusable id, before any I/O.
            UnsupportedSchemaError: this operation cannot be served by the pinned spec and generated client.
        """
        checked = {name: validate_id(name, value) for name, value in ids.items()}
        response_validator(self.name)  # an operation whose response the facade cannot check is not even sent
        function = self.module()._get_kwargs
        unset = _parameters_to_unset(function, (*checked, *params))
        key = _KEY_PROBE if api_key is not None else _unset()
        kwargs = function(**checked, **params, **unset, **{_KEY_PARAMETER: key})
        return spec_from_kwargs(self.name, kwargs, _KEY_PROBE, api_key, checked)

    def member(self) -> str:
        """The JSON name of the audio member (audio operations): the generated model's, checked against the spec."""
        return _audio_member(self.name, self.model)

    def from_json(self, document: object, checks: Checks = STRICT, meta: ResponseMeta | None = None) -> R:
        """The result of a JSON body (already parsed), validated against the pinned spec as ``checks`` say, with
        ``meta`` (its response's headers, request id and the call's ids)."""
        model, mapping = self._validated(document, checks)
        return self._built(model, b"", mapping, meta)

    def from_parts(
        self, data: bytes, members: Mapping[str, object], checks: Checks = STRICT, meta: ResponseMeta | None = None
    ) -> R:
        """The result of an audio body from its decoded audio and its other members (validated here).

        The audio member is validated as an empty string: its text was checked, and decoded, as it streamed.
        """
        model, mapping = self._validated({**members, self.member(): ""}, checks)
        return self._built(model, data, mapping, meta)

    def _built(self, model: Any, data: bytes, body: Mapping[str, Any], meta: ResponseMeta | None) -> R:
        try:
            return self._result(model, data, body, meta)
        except (TypeError, ValueError) as exc:  # e.g. a member the spec now lets be a string where a number was
            raise ResponseValidationError(
                f"{self.name} response does not fit the facade's result: {type(exc).__name__}: {exc}; "
                "the server's response no longer matches what this version of speaker-audio reads (re-pin)"
            ) from None

    def _validated(self, document: object, checks: Checks) -> tuple[Any, Mapping[str, Any]]:
        """The generated model of ``document`` (built with pinned values where it holds unknown ones), and it."""
        pinned: list[Pinned] = []
        drifts = response_validator(self.name)(document, strict=checks.strict, pinned=pinned)
        if drifts and checks.report is not None:
            checks.report(drifts)
        if not isinstance(document, Mapping):  # a schema without "type": "object" let it through
            raise ResponseValidationError(
                f"{self.name} response: expected a JSON object, got {type(document).__name__}"
            )
        return self._model(_with_pinned_values(document, pinned) if pinned else document), document

    def _model(self, document: Mapping[str, Any]) -> Any:
        model_class = self.model_class()
        try:
            return model_class.from_dict(document)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            model = self._model_keeping_formats_as_text(document)
            if model is not None:
                return model
            # the schema held but the generated model refused: the spec and the models disagree
            raise ResponseValidationError(
                f"{self.name} response does not fit the generated {model_class.__name__}: {type(exc).__name__}: {exc}"
            ) from None

    def _model_keeping_formats_as_text(self, document: Mapping[str, Any]) -> Any:
        """The model of ``document`` with its optional members that have a ``format`` kept as text.

        A value the schema allows (RFC 3339 ``2025-08-24t20:59:16z``, a leap second) may be one that the generated
        ``from_dict`` cannot parse: such a member then stays as the server sent it, in ``additional_properties``,
        and never costs the call.
        """
        formatted = [name for name in response_validator(self.name).formatted_optional if name in document]
        if not formatted:
            return None
        try:
            model = self.model_class().from_dict({k: v for k, v in document.items() if k not in formatted})
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        model.additional_properties.update({name: document[name] for name in formatted})
        return model


@functools.cache
def _generated_module(name: str) -> ModuleType:
    import speaker_audio_api.api as api

    for tag in pkgutil.iter_modules(api.__path__):
        try:
            return importlib.import_module(f"{api.__name__}.{tag.name}.{name}")
        except ModuleNotFoundError:
            continue
    raise UnsupportedSchemaError(f"{name}: the generated client has no such operation (re-pin and make generate)")


@functools.cache
def _model_class(name: str) -> type[Any]:
    import speaker_audio_api.models as models

    model: type[Any] | None = getattr(models, name, None)
    if model is None:
        raise UnsupportedSchemaError(f"the generated client has no model {name!r} (re-pin and make generate)")
    return model


@functools.cache
def _unset() -> Any:
    from speaker_audio_api.types import UNSET

    return UNSET


@functools.cache
def _optional_parameters(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(name for name, p in inspect.signature(function).parameters.items() if p.default is not p.empty)


@functools.cache
def _parameters_to_unset(function: Callable[..., Any], given: tuple[str, ...]) -> Mapping[str, Any]:
    """UNSET for every optional parameter not given: the generated code would otherwise send the spec's default.

    Cached per function and names given: callers only unpack it (``**``), never change it.
    """
    given_names = {*given, _KEY_PARAMETER}
    return {name: _unset() for name in _optional_parameters(function) if name not in given_names}


@functools.cache
def _audio_member(operation: str, model: str) -> str:
    import attrs

    name: str = attrs.fields(_model_class(model)).audio_base_64.name
    if name not in response_validator(operation).string_members:
        raise UnsupportedSchemaError(f"the pinned {operation} response has no string member {name!r}")
    return name


# -- results ---------------------------------------------------------------------------------------


def _with_pinned_values(document: Mapping[str, Any], pinned: list[Pinned]) -> dict[str, Any]:
    """A copy of ``document`` with each unknown enum value (where the validator found it) set to one the pin lists.

    Only for building the generated model, which cannot hold the unknown value; the result reads the real one
    from the body, and its ``.model`` is then ``None`` (see ``SeparationStatus.model``).
    """
    copied: dict[str, Any] = json.loads(json.dumps(document))
    for path, value in pinned:
        node: Any = copied
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return copied


def _speaker_audio(
    model: SpeakerAudioResponseModel, data: bytes, body: Mapping[str, Any], meta: ResponseMeta | None
) -> SpeakerAudio:
    if meta is None:
        return SpeakerAudio(data=data, media_type=model.media_type, duration_secs=model.duration_secs, model=model)
    return from_validated(  # every call's result: its fields are the validated model's, and whose audio it is
        SpeakerAudio,
        data=data,
        media_type=model.media_type,
        duration_secs=_to_float(model.duration_secs),
        model=model,
        request_id=meta.request_id,
        headers=meta.headers,
        **meta.ids,
    )


def _sample_audio(
    model: VoiceSamplePreviewResponseModel, data: bytes, body: Mapping[str, Any], meta: ResponseMeta | None
) -> SampleAudio:
    from speaker_audio_api.types import Unset

    duration = None if isinstance(model.duration_secs, Unset) else model.duration_secs
    return SampleAudio(
        data=data,
        media_type=model.media_type,
        duration_secs=duration,
        voice_id=model.voice_id,
        sample_id=model.sample_id,
        model=model,
        **({} if meta is None else meta.fields()),
    )


class _Status(NamedTuple):
    """What ``_SeparationStatusOperation`` models of a status body: the model of the body with no speakers, and the
    speakers' items (as validated, with pinned values where the body held unknown ones), for ``_separation_status``.
    """

    model: SpeakerSeparationResponseModel
    speakers: Mapping[str, Any] | None


class _SeparationStatusOperation(Operation[SeparationStatus]):
    """The status row: its speakers are modelled one at a time by the result, not all at once with the body.

    A status may list 100,000 speakers: the generated model of the whole body would hold a model of each, all
    alive while the results are built and kept afterwards, each one more object for every full collection of
    the garbage collector to walk (holding the interpreter, and an event loop waiting on it, for 50 ms and more).
    """

    def _model(self, document: Mapping[str, Any]) -> _Status:
        speakers = document.get("speakers")
        if not isinstance(speakers, Mapping):
            return _Status(super()._model(document), None)
        return _Status(super()._model({**document, "speakers": {}}), speakers)


def _speaker(read: Callable[[Mapping[str, Any]], SpeakerResponseModel], item: Mapping[str, Any]) -> Speaker:
    """The speaker of a (validated) item, read through its generated model, which is then dropped: the speaker
    keeps the item, and builds its ``.model`` (and each utterance its own) from it when first read."""
    model = read(item)
    utterances: list[Utterance] = []
    if isinstance(model.utterances, list):  # parsed from the item's list: one item each
        items = item["utterances"]
        utterances = [Utterance(start=u.start, end=u.end, _item=items[n]) for n, u in enumerate(model.utterances)]
    return Speaker(speaker_id=model.speaker_id, duration_secs=model.duration_secs, utterances=utterances, _item=item)


def _separation_status(
    parts: _Status, data: bytes, body: Mapping[str, Any], meta: ResponseMeta | None
) -> SeparationStatus:
    from speaker_audio_api.models.speaker_response_model import SpeakerResponseModel

    model = parts.model
    speakers: dict[str, Speaker] = {}
    if parts.speakers is not None:
        read = SpeakerResponseModel.from_dict
        speakers = {key: _speaker(read, item) for key, item in parts.speakers.items()}
    selected = model.selected_speaker_ids if isinstance(model.selected_speaker_ids, list) else []
    status: str = body["status"]  # the body's own (validated as a string): a value the pin lacks included
    return SeparationStatus(
        voice_id=model.voice_id,
        sample_id=model.sample_id,
        status=status,
        speakers=speakers,
        selected_speaker_ids=list(selected),
        model=model if status == model.status.value else None,  # its speakers are put in when it is first read
        **({} if meta is None else meta.fields()),
    )


def _nothing(model: object, data: bytes, body: Mapping[str, Any], meta: ResponseMeta | None) -> None:
    return None


# -- the table -------------------------------------------------------------------------------------

SPEAKER_AUDIO: Operation[SpeakerAudio] = Operation(
    "get_speaker_audio", "SpeakerAudioResponseModel", _speaker_audio, audio=True
)
SAMPLE_AUDIO: Operation[SampleAudio] = Operation(
    "get_sample_audio", "VoiceSamplePreviewResponseModel", _sample_audio, audio=True
)
SEPARATION_STATUS: Operation[SeparationStatus] = _SeparationStatusOperation(
    "get_separation_status", "SpeakerSeparationResponseModel", _separation_status
)
START_SEPARATION: Operation[None] = Operation(
    "start_speaker_separation", "StartSpeakerSeparationResponseModel", _nothing
)
OPERATIONS: tuple[Operation[Any], ...] = (SPEAKER_AUDIO, SAMPLE_AUDIO, SEPARATION_STATUS, START_SEPARATION)


@functools.cache
def key_headers() -> frozenset[str]:
    """The names (lower case) of the headers that carry the key, as the pinned spec's operations name them.

    Found as requests find them: each generated ``_get_kwargs`` is asked where it puts the key.
    """
    names: set[str] = set()
    for operation in OPERATIONS:
        try:
            function = operation.module()._get_kwargs
        except UnsupportedSchemaError:
            continue
        required = tuple(n for n, p in inspect.signature(function).parameters.items() if p.default is p.empty)
        given = dict.fromkeys(required, "x")
        kwargs = function(**given, **_parameters_to_unset(function, required), **{_KEY_PARAMETER: _KEY_PROBE})
        names.update(name.lower() for name, value in kwargs.get("headers", {}).items() if value == _KEY_PROBE)
    return frozenset(names)


def preload() -> None:
    """Import and compile what requests and results need, once, when a client is built (not at import).

    An operation that cannot be served (missing module, unsupported schema) is left to fail at its own
    calls: the others keep working.
    """
    for operation in OPERATIONS:
        try:
            operation.module()
            operation.model_class()
            response_validator(operation.name)
            if operation.audio:
                operation.member()
        except UnsupportedSchemaError:
            continue

"""Configuration shared by the sync and async clients (no I/O)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Self, TypedDict, TypeVar
from urllib.parse import urlencode

import httpx

from speaker_audio import _deadline, _exchange, _http_errors, _operations, _retry, _settings
from speaker_audio._drift import DriftReporter
from speaker_audio._models import ResponseMeta
from speaker_audio._requests import RequestSpec
from speaker_audio._sinks import BodySink, JsonSink

T = TypeVar("T")


class WaitOptions(TypedDict, total=False):
    """Per-call options of ``wait_for_separation`` (its ``timeout`` is the wait's; ``request_timeout`` the polls').

    Attributes:
        total_timeout: this call's whole-call bound in seconds (``None``: the client's).
        max_retries: retries after the first try of each request (``None``: the client's).
        extra_headers: headers added to this call's requests; never the key header.
        extra_query: query parameters added to this call's requests (e.g. one that upstream added and the
            facade does not name yet).
    """

    total_timeout: float | None
    max_retries: int | None
    extra_headers: Mapping[str, str] | None
    extra_query: Mapping[str, str] | None


class CallOptions(WaitOptions, total=False):
    """Per-call options, keyword-only on every operation method; each applies to every request the call makes.

    Attributes:
        timeout: this call's connect/read timeout, seconds or an ``httpx.Timeout`` (``None``: the client's).
    """

    timeout: float | httpx.Timeout | None


class CallSettings(NamedTuple):
    """The settings of one call: the client's, with that call's options applied."""

    timeout: httpx.Timeout
    total_timeout: float | None
    retry_policy: _retry.RetryPolicy
    headers: Mapping[str, str]
    query: str

    def apply(self, spec: RequestSpec) -> RequestSpec:
        """``spec`` with this call's extra headers and query parameters."""
        if not self.headers and not self.query:
            return spec
        path = f"{spec.path}{'&' if '?' in spec.path else '?'}{self.query}" if self.query else spec.path
        return spec._replace(path=path, headers={**spec.headers, **self.headers})


class ClientSettings:
    """Resolved settings of a client: key, base URL, timeout, retry policy, size limits."""

    _owns_http_client: bool

    def __init__(
        self,
        api_key: _settings.Secret | None,
        *,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        max_response_bytes: int,
        max_json_bytes: int = _settings.DEFAULT_MAX_JSON_BYTES,
        total_timeout: float | None = None,
        allow_insecure_http: bool = False,
        default_headers: Mapping[str, str] | None = None,
        strict: bool = False,
        on_drift: Callable[[Any], None] | None = None,
    ) -> None:
        self._settings: dict[str, Any] = {
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "max_response_bytes": max_response_bytes,
            "max_json_bytes": max_json_bytes,
            "total_timeout": total_timeout,
            "allow_insecure_http": allow_insecure_http,
            "default_headers": default_headers,
            "strict": strict,
            "on_drift": on_drift,
        }
        _settings.check_int("max_response_bytes", max_response_bytes, 1)
        _settings.check_int("max_json_bytes", max_json_bytes, 1)
        self._api_key = _settings.resolve_api_key(api_key)
        self.base_url: str = _settings.resolve_base_url(base_url)
        _settings.check_key_transport(self.base_url, self._api_key, allow_insecure_http=allow_insecure_http)
        self._origin = _http_errors.origin_of(self.base_url)
        self.total_timeout: float | None = _deadline.check_total_timeout(total_timeout)
        self.timeout: httpx.Timeout = _settings.resolve_timeout(timeout)
        self.retry_policy: _retry.RetryPolicy = _retry.RetryPolicy(max_retries=max_retries)
        self.max_response_bytes: int = max_response_bytes
        self.max_json_bytes: int = max_json_bytes
        _operations.preload()
        _exchange.configure_logging()

        self.default_headers: Mapping[str, str] = check_headers(default_headers, "default_headers")
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be a bool, got {type(strict).__name__}")
        self.strict: bool = strict
        self.on_drift: Callable[[Any], None] | None = on_drift
        self._checks = _operations.Checks(strict, DriftReporter(on_drift).report)

    def with_options(self, **settings: Any) -> Self:
        """A client with other settings on the same connection pool; closing it does not close the pool.

        Args:
            settings: any constructor setting but the key and ``http_client`` (``timeout=``, ``max_retries=``,
                ``total_timeout=``, ``default_headers=``, ...).

        Raises:
            TypeError: for the key, ``http_client`` or an unknown setting.
            ValueError: for an invalid value, as the constructor.
        """
        unknown = set(settings) - set(self._settings)
        if unknown:
            raise TypeError(f"with_options() takes the constructor's settings but the key: not {sorted(unknown)}")
        clone = copy.copy(self)
        clone._owns_http_client = False
        ClientSettings.__init__(clone, self._api_key, **{**self._settings, **settings})
        return clone

    def _call(self, options: Mapping[str, Any], timeout: object = None) -> CallSettings:
        """The settings of one call: ``options`` (``CallOptions``) over the client's; checked before any I/O."""
        if not options and timeout is None:
            return CallSettings(self.timeout, self.total_timeout, self.retry_policy, {}, "")
        timeout = options.get("timeout") if timeout is None else timeout
        max_retries = options.get("max_retries")
        total = options.get("total_timeout")
        return CallSettings(
            self.timeout if timeout is None else _settings.resolve_timeout(timeout),  # type: ignore[arg-type]
            self.total_timeout if total is None else _deadline.check_total_timeout(total),
            self.retry_policy if max_retries is None else _retry.RetryPolicy(max_retries=max_retries),
            check_headers(options.get("extra_headers"), "extra_headers"),
            _query(options.get("extra_query")),
        )

    @property
    def max_retries(self) -> int:
        """Retries after the first try."""
        return self.retry_policy.max_retries

    def __repr__(self) -> str:  # also for a client whose construction failed (tracebacks with locals show it)
        key = "set" if getattr(self, "_api_key", None) is not None else "none"
        retries = getattr(getattr(self, "retry_policy", None), "max_retries", None)
        base_url = getattr(self, "base_url", None)
        return f"{type(self).__name__}(base_url={base_url!r}, api_key={key}, max_retries={retries})"

    def _direct_mounts(self) -> dict[str, None]:
        """httpx ``mounts`` for our own pool: a plain-http loopback base URL never goes through an environment proxy
        (httpx applies ``HTTP_PROXY``/``ALL_PROXY`` to loopback hosts too: the key would reach the proxy in clear)."""
        url = httpx.URL(self.base_url)
        if url.scheme == "http" and _settings.is_loopback_host(url.host):
            # by host alone: a pattern with the default port written out ("…:80") never matches a URL without one
            host = f"[{url.host}]" if ":" in url.host else url.host
            return {f"all://{host}": None}
        return {}

    def _call_deadline(self, spec: RequestSpec, now: float, call: CallSettings) -> _deadline.Deadline | None:
        if call.total_timeout is None:  # no deadline (and no message formatted for one: every call's path)
            return None
        return _deadline.Deadline.total(call.total_timeout, now, f"{spec.method} {self._origin}{spec.path}")

    def _json_sink(self, operation: _operations.Operation[T], spec: RequestSpec) -> Callable[[], BodySink[T]]:
        def parse(document: object, meta: ResponseMeta | None) -> T:
            return operation.from_json(document, self._checks, meta)

        return lambda: JsonSink(parse, f"{spec.operation} response", self.max_json_bytes)


def check_headers(headers: Mapping[str, str] | None, name: str) -> dict[str, str]:
    """``headers`` as a dict of str, for the SDK's own headers: without ``Accept-Encoding`` (the codings it decodes),
    each name lower-cased (a call's header, or a ``User-Agent``, then replaces the one before it rather than joining
    it); ``ValueError`` for the key header (the pinned spec's, any case) or a value that is not text."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"{name} must be a mapping of header names to values")
    checked: dict[str, str] = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"{name}: header names and values must be str")
        if key.strip().lower() in _operations.key_headers():
            raise ValueError(f"{name} cannot set or remove the key header {key.strip()!r}: pass api_key instead")
        if any(ch in key + value for ch in "\r\n\x00"):
            raise ValueError(f"{name}: header {key!r} holds a line break or NUL")
        lowered = key.lower()  # one spelling per name: a later mapping's header replaces an earlier one's
        if lowered != "accept-encoding":
            checked[lowered] = value
    return checked


def _query(query: Mapping[str, str] | None) -> str:
    if query is None:
        return ""
    if not isinstance(query, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
        raise TypeError("extra_query must be a mapping of str to str")
    return urlencode(dict(query))

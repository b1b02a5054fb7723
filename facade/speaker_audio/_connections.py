"""The keep-alive connection under a request or a response: what httpx does not expose, found in httpcore's objects.

The lookups follow a few attribute names of httpx's and httpcore's own objects (as :func:`forget_sent_key`
does) and give up, returning ``None``, where the shape differs: another transport, another httpcore version,
HTTP/2. No call depends on them to succeed; they keep a misbehaving server's connection from being used again
(:class:`EndOfBody`) and let the sync client's deadline watchdog end a read (:func:`request_socket`).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from speaker_audio._settings import REDACTED

if TYPE_CHECKING:
    from speaker_audio._requests import KeyAuth

# from a response's stream to its connection (httpx: BoundSyncStream._stream -> ResponseStream._httpcore_stream;
# httpcore: PoolByteStream._stream -> HTTP11ConnectionByteStream._connection), and from a pool's connection
# (HTTPConnection, or a proxy's) to the HTTP/1.1 connection inside it (._connection)
_TO_THE_CONNECTION = ("_stream", "_httpcore_stream", "_connection")


def _http11_connection(node: object) -> Any:
    """The httpcore HTTP/1.1 connection under ``node`` (a response's stream or a pool's connection), or ``None``."""
    path = _PATHS_TO_THE_CONNECTION.get(type(node))
    if path is not None:  # the way found before from this kind of object: one getattr per link
        found = _follow(node, path)
        if found is not None and hasattr(found, "_h11_state"):
            return found
    start, links = node, list[str]()
    for _ in range(8):
        if node is None or not type(node).__module__.startswith(("httpx", "httpcore")):
            return None
        if hasattr(node, "_h11_state") and hasattr(node, "_network_stream"):
            _PATHS_TO_THE_CONNECTION[type(start)] = tuple(links)
            return node
        step = next((link for link in _TO_THE_CONNECTION if getattr(node, link, None) is not None), None)
        if step is None:
            return None
        links.append(step)
        node = getattr(node, step)
    return None


_PATHS_TO_THE_CONNECTION: dict[type, tuple[str, ...]] = {}


def _follow(node: object, path: tuple[str, ...]) -> Any:
    """What ``path``'s links lead to from ``node`` (``None`` where one is missing)."""
    for link in path:
        node = getattr(node, link, None)
    return node


def retire_if_surplus(stream: object) -> bool:
    """Close, rather than keep, the connection of a response whose body has ended if bytes follow it; returns
    whether it did.

    HTTP/1.1 lets a server send nothing after a response until the next request. Bytes that came after the body
    (a second response written right behind the first) would be read as the answer to the connection's next
    request: h11 keeps them in its buffer and httpcore would put the connection back in the pool. Called after
    the body's end and before the response is closed, this marks the connection closed on our side, so that
    httpcore closes it instead of reusing it. Bytes still in the socket are httpcore's own check: a readable
    idle connection is never reused.
    """
    connection = _http11_connection(stream)
    if connection is None:
        return False
    try:
        import h11  # httpcore's HTTP/1.1 parser, present wherever httpcore is

        state = connection._h11_state
        if state.their_state is not h11.DONE:  # the body did not end: httpcore closes the connection itself
            return False
        surplus, _ = state.trailing_data
        if not surplus:
            return False
        state.send(h11.ConnectionClosed())  # our side closed: httpcore closes the connection when it is released
    except Exception:  # another h11, or a state it refuses: leave the connection to httpcore's own checks
        return False
    return True


def request_socket(http: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> socket.socket | None:
    """The socket that ``request`` is being sent and answered on, while it is (HTTP/1.1 through httpcore only).

    Found through the pool's queue of requests under way (httpcore: ``ConnectionPool._requests``, each with the
    connection assigned to it), matched by ``request.extensions``, which httpx hands to httpcore as is.
    """
    try:
        pool = getattr(http._transport_for_url(request.url), "_pool", None)
        for pending in list(getattr(pool, "_requests", None) or ()):
            if getattr(getattr(pending, "request", None), "extensions", None) is request.extensions:
                connection = _http11_connection(getattr(pending, "connection", None))
                if connection is None:
                    return None
                sock = connection._network_stream.get_extra_info("socket")
                return sock if isinstance(sock, socket.socket) else None
    except Exception:  # a transport that is not httpx's own, another httpcore: no watchdog for it
        return None
    return None


class EndOfBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response's stream that, when the body has ended or the response is closed, runs ``on_end`` and
    :func:`retire_if_surplus`, both before the connection goes back to the pool.

    httpx's ``iter_raw``/``aiter_raw`` close the response as soon as the body ends: this is the only moment
    between the end of the body and the release of its connection.
    """

    def __init__(self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, on_end: Callable[[], None]) -> None:
        self._stream = stream
        self._on_end: Callable[[], None] | None = on_end

    def __iter__(self) -> Iterator[bytes]:
        if not isinstance(self._stream, httpx.SyncByteStream):
            raise RuntimeError("the sync client read an async response stream")
        yield from self._stream
        self._end()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if not isinstance(self._stream, httpx.AsyncByteStream):
            raise RuntimeError("the async client read a sync response stream")
        async for chunk in self._stream:
            yield chunk
        self._end()

    def close(self) -> None:
        self._end()
        if isinstance(self._stream, httpx.SyncByteStream):
            self._stream.close()

    async def aclose(self) -> None:
        self._end()
        if isinstance(self._stream, httpx.AsyncByteStream):
            await self._stream.aclose()

    def _end(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is None:  # once
            return
        try:
            retire_if_surplus(self._stream)
        finally:
            on_end()


# the attributes that lead from a response's stream to the request it answers, in httpx's and httpcore's
# streams (httpcore 1.x: PoolByteStream._stream -> HTTP11ConnectionByteStream._request; 0.x: ._status.request);
# never the pool's or the connection's, whose queues hold other requests, some not yet sent
_LINKS_TO_THE_SENT_REQUEST = ("_stream", "_httpcore_stream", "_pool_request", "_status", "_request", "request")


def forget_key(response: httpx.Response, auth: KeyAuth | None) -> None:
    """Take the key out of what ``response`` holds of the request sent: the transport's own copy of its headers
    (``auth`` wrote the key there; ``None``: no key was sent), and the next request httpx prepared for a redirect
    (never followed) with every one of them."""
    response.next_request = None
    if auth is not None:
        forget_sent_key(response, auth.header, REDACTED)


def forget_keys_in_frames(error: BaseException, auth: KeyAuth | None) -> None:
    """:func:`forget_key` for every response that the frames of ``error``'s traceback hold."""
    tb = error.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, httpx.Response):
                forget_key(value, auth)
        tb = tb.tb_next


def forget_sent_key(response: httpx.Response, header: str, placeholder: str) -> None:
    """Overwrite ``header`` (the key's) with ``placeholder`` in the transport's own copy of the sent request.

    httpx gives httpcore the sent headers as a new list of byte pairs, which httpcore's request object keeps
    and the response's stream holds until the response is dropped: a frame holding the response (in a
    traceback, for an error reporter that captures locals) reaches the key there. The clients call it as soon as
    the response head has arrived; only the request that ``response`` answers is touched.
    """
    name, value = header.lower().encode("ascii"), placeholder.encode("ascii")
    global _PATHS_TO_THE_SENT_REQUEST
    stream = response.stream
    if _PATHS_TO_THE_SENT_REQUEST:  # the ways found before: one getattr per link
        done: object = None
        try:
            for path in _PATHS_TO_THE_SENT_REQUEST:
                node = _follow(stream, path)
                if type(node) not in _SENT_REQUEST_TYPES:
                    break  # another shape (another transport): search again below
                if node is not done:  # directly, the two ways lead to one request
                    _overwrite(node, name, value)
                    done = node
            else:
                return
        except Exception:  # noqa: S110 - a link that refuses (another transport): search again below
            pass
    # every way to a sent request, kept: a forward proxy's connection sends a copy of the request (its headers
    # too), where a direct one sends the request itself, so two ways lead to one request here and two elsewhere
    pending: list[tuple[object, tuple[str, ...]]] = [(stream, ())]
    seen: set[int] = set()
    paths: list[tuple[str, ...]] = []
    while pending:
        node, path = pending.pop()
        kind = type(node)
        if kind.__name__ == "Request" and kind.__module__.startswith("httpcore"):
            _SENT_REQUEST_TYPES.add(kind)
            _overwrite(node, name, value)
            paths.append(path)
            continue
        if id(node) in seen or len(path) > 8 or not (kind is EndOfBody or kind.__module__.startswith(_TRANSPORT)):
            continue
        seen.add(id(node))
        for link in _LINKS_TO_THE_SENT_REQUEST:
            try:
                pending.append((getattr(node, link), (*path, link)))
            except Exception:  # noqa: S112 - absent (or a property that refuses): not a link
                continue
    _PATHS_TO_THE_SENT_REQUEST = tuple(paths)  # none found (another transport): searched again next time


_PATHS_TO_THE_SENT_REQUEST: tuple[tuple[str, ...], ...] = ()
_SENT_REQUEST_TYPES: set[type] = set()  # httpcore's Request, once seen
_TRANSPORT = ("httpx", "httpcore")


def _overwrite(request: object, name: bytes, value: bytes) -> None:
    headers = getattr(request, "headers", None)
    if not isinstance(headers, list):
        return
    size = len(name)
    try:
        for index, (key, _) in enumerate(headers):
            if len(key) == size and key.lower() == name:  # the length first: no lower() for most names
                headers[index] = (key, value)
    except (TypeError, ValueError, AttributeError):  # not httpcore's list of byte pairs: leave it
        return

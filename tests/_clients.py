"""Run the same call on the sync or the async client, so every test covers both shells; a clock tests move by hand."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx

from speaker_audio import AsyncSpeakerAudioClient, SpeakerAudioClient

Kind = Literal["sync", "async"]
KINDS: tuple[Kind, ...] = ("sync", "async")


class ClientRunner:
    """Calls a client method on a fresh client of one kind; records the retry sleeps instead of sleeping."""

    def __init__(self, kind: Kind, base_url: str, **client_kwargs: Any) -> None:
        self.kind = kind
        self.base_url = base_url
        self.client_kwargs = client_kwargs
        self.sleeps: list[float] = []
        self.real_sleep = False
        self.http_client_closed_after: bool | None = None

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``client.method(*args, **kwargs)`` on a new client, closed afterwards."""
        if self.kind == "sync":
            with SpeakerAudioClient(base_url=self.base_url, **self.client_kwargs) as client:
                if not self.real_sleep:
                    client._sleep = self.sleeps.append
                return getattr(client, method)(*args, **kwargs)
        return asyncio.run(self._acall(method, *args, **kwargs))

    async def _acall(self, method: str, *args: Any, **kwargs: Any) -> Any:
        async with AsyncSpeakerAudioClient(base_url=self.base_url, **self.client_kwargs) as client:
            if not self.real_sleep:

                async def record(delay: float) -> None:
                    self.sleeps.append(delay)

                client._sleep = record
            return await getattr(client, method)(*args, **kwargs)

    def call_seeing_requests(self, method: str, *args: Any, **kwargs: Any) -> list[httpx.Request]:
        """``client.method(*args, **kwargs)`` through an injected http client whose request hook keeps each request as
        it goes out (the fake's log keeps one value per header name: this shows every header sent)."""
        sent: list[httpx.Request] = []
        if self.kind == "sync":
            http = httpx.Client(event_hooks={"request": [sent.append]})
            with http, SpeakerAudioClient(base_url=self.base_url, http_client=http, **self.client_kwargs) as client:
                getattr(client, method)(*args, **kwargs)
            return sent

        async def record(request: httpx.Request) -> None:
            sent.append(request)

        async def go() -> None:
            async with (
                httpx.AsyncClient(event_hooks={"request": [record]}) as http,
                AsyncSpeakerAudioClient(base_url=self.base_url, http_client=http, **self.client_kwargs) as client,
            ):
                await getattr(client, method)(*args, **kwargs)

        asyncio.run(go())
        return sent

    def call_with_http_client(self, http_client: httpx.Client | httpx.AsyncClient, method: str, *args: Any) -> Any:
        """Like :meth:`call`, with an injected http client; then notes whether it was left open, and closes it."""
        if self.kind == "sync":
            assert isinstance(http_client, httpx.Client)
            try:
                with SpeakerAudioClient(base_url=self.base_url, http_client=http_client, **self.client_kwargs) as c:
                    return getattr(c, method)(*args)
            finally:
                self.http_client_closed_after = http_client.is_closed
                http_client.close()

        async def go() -> Any:
            assert isinstance(http_client, httpx.AsyncClient)
            try:
                async with AsyncSpeakerAudioClient(
                    base_url=self.base_url, http_client=http_client, **self.client_kwargs
                ) as c:
                    return await getattr(c, method)(*args)
            finally:
                self.http_client_closed_after = http_client.is_closed
                await http_client.aclose()

        return asyncio.run(go())


def make_client(kind: Kind, **kwargs: Any) -> SpeakerAudioClient | AsyncSpeakerAudioClient:
    """A new client of ``kind``, not yet entered (pass it to :func:`call`)."""
    return SpeakerAudioClient(**kwargs) if kind == "sync" else AsyncSpeakerAudioClient(**kwargs)


def call(client: SpeakerAudioClient | AsyncSpeakerAudioClient, method: str, *args: Any, **kwargs: Any) -> Any:
    """``client.method(...)``, then close the client; runs the coroutine for the async client."""
    if isinstance(client, SpeakerAudioClient):
        with client:
            return getattr(client, method)(*args, **kwargs)

    async def go() -> Any:
        assert isinstance(client, AsyncSpeakerAudioClient)
        async with client:
            return await getattr(client, method)(*args, **kwargs)

    return asyncio.run(go())


class FakeClock:
    """An injected monotonic clock that only the injected sleep moves (the clients' ``_clock`` / ``_sleep``)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def install(self, client: SpeakerAudioClient | AsyncSpeakerAudioClient) -> None:
        client._clock = self
        if isinstance(client, SpeakerAudioClient):
            client._sleep = self.sleep
        else:
            client._sleep = self.asleep

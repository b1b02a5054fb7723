"""Run the same call on the sync or the async client, so every test covers both shells."""

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

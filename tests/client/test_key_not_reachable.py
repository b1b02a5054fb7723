"""No path in memory leads from a raised error to the API key.

The walk starts where an error reporter, a debugger or a leak would: the error, the errors chained to it, and the
local variables of every frame of its traceback in speaker-audio's code. From there it follows every reference
(``gc.get_referents``) to a bounded depth and looks for the key in any ``str``, ``bytes`` or ``bytearray``. It does
not enter modules, classes, functions or code (they lead to the whole program, the tests included), nor the
``Secret`` that holds the key by design (its ``reveal()`` is the only way out, and nothing shows it).

Cases: a 401, a 503, a 200 with invalid base64, and an exception raised by a ``progress`` callback, on both
clients. They all reached the key through the frame's ``response`` → httpx's stream → httpcore's stream → httpcore's
own copy of the request headers. The clients close that path by calling ``_http_errors.forget_sent_key`` once the
response head has arrived (from ``KeyAuth.auth_flow``).
"""

from __future__ import annotations

import gc
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _clients import ClientRunner, Kind

import speaker_audio
from speaker_audio._http_errors import forget_sent_key
from speaker_audio._requests import REDACTED
from speaker_audio._settings import Secret
from speaker_audio.testing import FakeElevenLabs, Fault

KEY = "sk-reachable-0123456789abcdef-SECRET"
VOICE, SAMPLE = FakeElevenLabs.demo_ids
PACKAGE = str(Path(speaker_audio.__file__).parent)
DEPTH = 12  # the path found before the fix is 8 references long from the frame's locals
BUDGET = 500_000  # objects; a walk that runs out of it proves nothing, and fails

_OPAQUE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
    types.FrameType,
    Secret,
)

# Until KeyAuth.auth_flow calls forget_sent_key, httpcore's copy of the headers keeps the key.


def roots(error: BaseException, frames_in: str) -> Iterator[tuple[str, object]]:
    """The error, the errors chained to it, and the locals of their frames in files under ``frames_in``."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        linked = pending.pop()
        if linked is None or id(linked) in seen:
            continue
        seen.add(id(linked))
        yield type(linked).__name__, linked
        tb = linked.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            if frame.f_code.co_filename.startswith(frames_in):
                for name, value in frame.f_locals.items():
                    yield f"{frame.f_code.co_name}() local {name!r}", value
            tb = tb.tb_next
        pending += [linked.__cause__, linked.__context__]


def paths_to(secret: str, error: BaseException, frames_in: str = PACKAGE) -> tuple[list[str], int]:
    """Where ``secret`` was found (as reference paths), and how many objects the walk visited."""
    wanted = secret.encode()
    found: list[str] = []
    seen: set[int] = set()
    frontier: list[tuple[str, object]] = list(roots(error, frames_in))
    for _ in range(DEPTH + 1):
        following: list[tuple[str, object]] = []
        for path, node in frontier:
            if id(node) in seen:
                continue
            seen.add(id(node))
            if len(seen) > BUDGET:
                pytest.fail(f"the walk passed {BUDGET} objects without finishing: it proves nothing")
            if isinstance(node, str):
                if secret in node:
                    found.append(path)
                continue
            if isinstance(node, bytes | bytearray | memoryview):
                if wanted in bytes(node):
                    found.append(path)
                continue
            if isinstance(node, _OPAQUE):
                continue
            following += [(f"{path} → {type(ref).__qualname__}", ref) for ref in gc.get_referents(node)]
        frontier = following
    return found, len(seen)


def assert_no_path(error: BaseException) -> None:
    found, visited = paths_to(KEY, error)
    assert visited > 100, "the walk saw almost nothing: it proves nothing"
    assert found == [], "\n".join(found[:5])


class ProgressFailed(Exception):
    """Raised by a test's progress callback."""


def fail_at_progress(_received: int) -> None:
    raise ProgressFailed("the callback failed")


CASES: dict[str, tuple[Fault | None, type[BaseException]]] = {
    "401": (None, speaker_audio.AuthenticationError),
    "503": (Fault(status=503, times=1), speaker_audio.InternalServerError),
    "invalid base64": (
        Fault(status=200, body=b'{"audio_base_64": "!!!!", "media_type": "audio/mpeg", "duration_secs": 1.0}'),
        speaker_audio.AudioDecodeError,
    ),
    "progress callback raises": (None, ProgressFailed),
}


def raise_case(kind: Kind, case: str, tmp_path: Path) -> BaseException:
    fault, expected = CASES[case]
    with FakeElevenLabs(api_key="another-key" if case == "401" else KEY) as fake:
        fake.voices[VOICE][SAMPLE].status = "completed"
        if fault is not None:
            fake.script(fault)
        run = ClientRunner(kind, fake.base_url, api_key=KEY, max_retries=0)
        args: tuple[object, ...] = (VOICE, SAMPLE, "speaker-1")
        if case == "progress callback raises":
            method, args, kwargs = "download_speaker_audio", (*args, tmp_path / "x.mp3"), {"progress": fail_at_progress}
        else:
            method, kwargs = "get_speaker_audio", {}
        with pytest.raises(expected) as caught:
            run.call(method, *args, **kwargs)
        assert fake.requests[0].headers["xi-api-key"] == KEY  # the key did go out with the request
    return caught.value


@pytest.mark.parametrize("case", CASES)
def test_no_path_leads_from_the_raised_error_to_the_key(kind: Kind, case: str, tmp_path: Path) -> None:
    assert_no_path(raise_case(kind, case, tmp_path))


# --- the walk and the helper, on a response held as the clients hold it --------------------------------------


@pytest.fixture
def open_response(completed_fake: FakeElevenLabs) -> Iterator[httpx.Response]:
    """A streamed response to a request that carried the key, not yet closed (as inside a client's attempt)."""
    url = f"{completed_fake.base_url}/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers/speaker-1/audio"
    with httpx.Client() as client:
        response = client.send(client.build_request("GET", url, headers={"xi-api-key": KEY}), stream=True)
        response.request.headers["xi-api-key"] = REDACTED  # as KeyAuth leaves httpx's own request
        yield response
        response.close()


def hold(response: httpx.Response) -> None:
    """Fail with ``response`` among the frame's locals, as a client's attempt does."""
    raise RuntimeError(f"held {response.status_code}")


def holding(response: httpx.Response) -> BaseException:
    """The error :func:`hold` raises (its frame, in this file, is where the walk starts)."""
    with pytest.raises(RuntimeError) as caught:
        hold(response)
    return caught.value


def test_the_walk_finds_the_key_in_httpcores_copy_of_the_headers(open_response: httpx.Response) -> None:
    found, _ = paths_to(KEY, holding(open_response), __file__)
    assert found, "the walk no longer sees httpcore's copy of the sent headers: the test above proves nothing"
    assert any("Request → list → tuple → bytes" in path for path in found), found


def test_forget_sent_key_overwrites_httpcores_copy_and_nothing_else(open_response: httpx.Response) -> None:
    forget_sent_key(open_response, "XI-API-Key", REDACTED)  # header names compare case-insensitively
    found, _ = paths_to(KEY, holding(open_response), __file__)
    assert found == []
    assert open_response.read()  # the response is still readable after the change
    assert "xi-api-key" in open_response.request.headers  # httpx's request keeps its (redacted) header


def test_forget_sent_key_leaves_the_other_requests_of_the_pool_alone(completed_fake: FakeElevenLabs) -> None:
    url = f"{completed_fake.base_url}/v1/voices/pvc/{VOICE}/samples/{SAMPLE}/speakers"
    with httpx.Client() as client:
        first = client.send(client.build_request("GET", url, headers={"xi-api-key": KEY}), stream=True)
        second = client.send(client.build_request("GET", url, headers={"xi-api-key": KEY}), stream=True)
        for response in (first, second):
            response.request.headers["xi-api-key"] = REDACTED  # as KeyAuth leaves httpx's own request
        forget_sent_key(first, "xi-api-key", REDACTED)
        from_first, _ = paths_to(KEY, holding(first), __file__)
        from_second, _ = paths_to(KEY, holding(second), __file__)
        first.close()
        second.close()
    # the second request, still open, is reachable from the first through the pool they share; not the first's own
    assert from_first, "the walk no longer reaches the pool's other requests"
    assert all("ConnectionPool" in path for path in from_first), from_first
    assert any("ConnectionPool" not in path for path in from_second), from_second

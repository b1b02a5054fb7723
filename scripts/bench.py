"""Benchmark speaker-audio against a raw httpx floor and the official ElevenLabs SDK (``make bench``).

A loopback server (a separate process) serves precomputed speaker-audio bodies; every measurement
runs in a fresh process and reports wall time and peak RSS. The official SDK lives only in a
bench venv (``.bench/venv``), never in the package's dependencies.

    python scripts/bench.py                      # full run (make bench), a few minutes; writes docs/benchmarks.md
    python scripts/bench.py --quick              # smoke run: 1 KB and 10 MB, one run (make bench BENCH_ARGS=--quick)
    python scripts/bench.py --sizes 100mb --runs 2   # any subset; partial runs write .bench/benchmarks-quick.md
    python scripts/bench.py --setup              # only create the bench venv (make bench-venv)
    python scripts/bench.py --no-sdk             # skip the official SDK (and the bench venv)
    python scripts/bench.py --profile get:100mb  # cProfile one call (get, download, calls; add :sdk or :floor)
    python scripts/bench.py --stall-only         # only the async event-loop stalls (the three cases below)
    python scripts/bench.py --stall-only --stall-cases plan,status   # a subset of them
    python scripts/bench.py --calls-against v0.1.0   # the small calls of this tree against another commit's

The event-loop stall cases: ``download`` (a 200 MiB download), ``plan`` (``download_all_speakers`` of a sample
listing 20,000 speakers: the status, the plan, the first downloads) and ``status`` (``get_separation_status``
of a 14 MB status).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
BENCH_DIR = ROOT / ".bench"
VENV = BENCH_DIR / "venv"
VENV_PYTHON = VENV / "bin" / "python"
VENV_STAMP = VENV / ".bench-installed"
SDK_REQUIREMENT = "elevenlabs==2.78.0"
DEFAULT_OUT = ROOT / "docs" / "benchmarks.md"
QUICK_OUT = BENCH_DIR / "benchmarks-quick.md"

API_KEY = "bench-key"
VOICE_ID = "bench-voice"
SAMPLE_ID = "bench-sample"
SEED = 20_250_601
MEDIA_TYPE = "audio/mpeg"
BYTES_PER_SECOND = 16_000  # 128 kbit/s MP3, for a plausible duration_secs

SIZES: dict[str, int] = {"1kb": 1024, "10mb": 10 * 2**20, "100mb": 100 * 2**20}
LABELS = {"1kb": "1 KB", "10mb": "10 MB", "100mb": "100 MB"}
FULL_RUNS = {"1kb": 9, "10mb": 5, "100mb": 3}
QUICK_SIZES = ("1kb", "10mb")
STALL_BODY = "200mb"  # the async event-loop stall: one 200 MiB download with a 1 ms heartbeat beside it
STALL_BYTES = 200 * 2**20
STALL_RUNS = 3
STALL_LIMIT_MS = 20.0
STALL_CASES = ("download", "plan", "status")
LOOP_LIMIT_MS = 50.0  # the plan and status cases
PLAN_SPEAKERS = 20_000  # download_all_speakers of a sample listing this many (a 1.7 MB status)
BIG_STATUS_SPEAKERS = 161_000  # a 14 MB status
STATUS_SAMPLES = {"tiny": 2, "plan": PLAN_SPEAKERS, "big": BIG_STATUS_SPEAKERS}  # sample id: speakers listed
HEARTBEAT_S = 0.001
IDLE_S = 2.0
IMPORT_RUNS = 9
CALLS = 200
CALL_RUNS = 9
CHILD_TIMEOUT = 600.0
SERVER_LIFETIME = 3600.0  # the server stops by itself after this, whatever happens to its parent

IMPLS = ("floor", "ours", "sdk")
IMPL_NAMES = {"floor": "floor (httpx)", "ours": "speaker-audio", "sdk": "official SDK"}
OPS = ("get", "download")
IMPORTS = {
    "floor": "import httpx",
    "ours": "import speaker_audio",
    "sdk": "from elevenlabs.client import ElevenLabs",
}
MIB = 1024  # ru_maxrss is in KiB on Linux
T = TypeVar("T")


# ------------------------------------------------------------------------------------------------
# Bodies: random audio with a fixed seed, precomputed once as JSON files under .bench/bodies/
# ------------------------------------------------------------------------------------------------


class Body(NamedTuple):
    """A precomputed response body on disk and the digest of the audio it holds."""

    path: Path
    audio_bytes: int
    sha256: str


def prepare_bodies(names: tuple[str, ...]) -> dict[str, Body]:
    """Write (or reuse) one JSON body per size; each speaker id is the size's name."""
    folder = BENCH_DIR / "bodies"
    folder.mkdir(parents=True, exist_ok=True)
    bodies: dict[str, Body] = {}
    for name in names:
        size = STALL_BYTES if name == STALL_BODY else SIZES[name]
        path = folder / f"{name}-{SEED}.json"
        meta_path = path.with_suffix(".meta.json")
        if path.exists() and meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("size") == size and meta.get("body_bytes") == path.stat().st_size:
                bodies[name] = Body(path, size, str(meta["sha256"]))
                continue
        bodies[name] = _write_body(path, size)
        meta = {"size": size, "body_bytes": path.stat().st_size, "sha256": bodies[name].sha256}
        meta_path.write_text(json.dumps(meta))
    return bodies


def prepare_statuses() -> dict[str, Body]:
    """Write (or reuse) the completed separation status of each of ``STATUS_SAMPLES``, keyed ``status:<sample>``.

    ``Body.audio_bytes`` holds the number of speakers listed; their audio is not served (404).
    """
    folder = BENCH_DIR / "bodies"
    folder.mkdir(parents=True, exist_ok=True)
    statuses: dict[str, Body] = {}
    for sample, speakers in STATUS_SAMPLES.items():
        path = folder / f"status-{sample}-{speakers}.json"
        if not path.exists():
            document = {
                "voice_id": VOICE_ID,
                "sample_id": sample,
                "status": "completed",
                "speakers": {
                    f"spk-{n:06d}": {"speaker_id": f"spk-{n:06d}", "duration_secs": 12.5, "utterances": None}
                    for n in range(speakers)
                },
                "selected_speaker_ids": None,
            }
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(document), encoding="utf-8")
            tmp.replace(path)
        statuses[f"status:{sample}"] = Body(path, speakers, "")
    return statuses


def _write_body(path: Path, size: int) -> Body:
    rng = random.Random(SEED + size)
    digest = hashlib.sha256()
    step = 3 * 2**20  # a multiple of 3, so the base64 pieces join without padding
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with tmp.open("wb") as out:
        out.write(b'{"audio_base_64": "')
        left = size
        while left:
            chunk = rng.randbytes(min(step, left))
            left -= len(chunk)
            digest.update(chunk)
            out.write(base64.b64encode(chunk))
        duration = round(size / BYTES_PER_SECOND, 3)
        out.write(f'", "media_type": "{MEDIA_TYPE}", "duration_secs": {duration}}}'.encode())
    tmp.replace(path)
    return Body(path, size, digest.hexdigest())


# ------------------------------------------------------------------------------------------------
# The loopback server (run as `bench.py --serve MAPPING`)
# ------------------------------------------------------------------------------------------------


def serve(mapping: dict[str, str]) -> None:
    """Serve the bodies on 127.0.0.1 (free port, printed as ``port N``) until stdin closes."""
    import http
    import http.server
    import re
    import threading

    pattern = re.compile(r"/v1/voices/pvc/[^/]+/samples/[^/]+/speakers/([^/?]+)/audio")
    status_pattern = re.compile(r"/v1/voices/pvc/[^/]+/samples/([^/?]+)/speakers")  # served as "status:<sample>"
    small: dict[str, bytes] = {}
    large: dict[str, tuple[str, int]] = {}
    for speaker, path in mapping.items():
        size = os.path.getsize(path)
        if size <= 1 << 20:
            small[speaker] = Path(path).read_bytes()
        else:
            large[speaker] = (path, size)

    def head(status: int, length: int) -> bytes:
        phrase = http.HTTPStatus(status).phrase
        return (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        ).encode("ascii")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            match = pattern.fullmatch(self.path)
            status = status_pattern.fullmatch(self.path)
            speaker = match.group(1) if match else f"status:{status.group(1)}" if status else ""
            if not self.headers.get("xi-api-key"):
                self.reply(401, b'{"detail": "missing xi-api-key"}')
            elif speaker in small:
                self.reply(200, small[speaker])
            elif speaker in large:
                path, size = large[speaker]
                self.wfile.write(head(200, size))
                with open(path, "rb") as body:
                    self.connection.sendfile(body)
            else:
                self.reply(404, b'{"detail": "no such speaker"}')

        def reply(self, status: int, body: bytes) -> None:
            self.wfile.write(head(status, len(body)) + body)  # one write: no Nagle/delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop_when_parent_goes() -> None:
        sys.stdin.read()  # EOF when the parent closes the pipe or dies
        server.shutdown()

    threading.Thread(target=stop_when_parent_goes, daemon=True).start()
    timer = threading.Timer(SERVER_LIFETIME, server.shutdown)
    timer.daemon = True
    timer.start()
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()
    server.server_close()


class Server:
    """The server subprocess, as a context manager yielding its base URL."""

    def __init__(self, bodies: dict[str, Body]) -> None:
        self.mapping = {name: str(body.path) for name, body in bodies.items()}
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> str:
        command = [sys.executable, "-I", str(SCRIPT), "--serve", json.dumps(self.mapping)]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "port":
            self.__exit__()
            raise SystemExit("the bench server did not start")
        return f"http://127.0.0.1:{line[1]}"

    def __exit__(self, *exc_info: object) -> None:
        proc = self.proc
        if proc is None:
            return
        self.proc = None
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------------
# The measured child (run as `bench.py --child SPEC`): setup, baseline RSS, one timed operation
# ------------------------------------------------------------------------------------------------


class Ops(NamedTuple):
    """What a child measures: fetch decoded audio, or download it to a file."""

    get: Callable[[str], bytes]
    download: Callable[[str, Path], None]


def audio_url(base_url: str, speaker: str) -> str:
    """The endpoint URL for one speaker of the bench voice and sample."""
    return f"{base_url}/v1/voices/pvc/{VOICE_ID}/samples/{SAMPLE_ID}/speakers/{speaker}/audio"


def floor_ops(base_url: str) -> Ops:
    """The floor: raw httpx, ``json.loads``, ``base64.b64decode`` (and a plain file write)."""
    import httpx

    client = httpx.Client(timeout=120.0)
    headers = {"xi-api-key": API_KEY}

    def get(speaker: str) -> bytes:
        response = client.get(audio_url(base_url, speaker), headers=headers)
        response.raise_for_status()
        return base64.b64decode(json.loads(response.content)["audio_base_64"])

    def download(speaker: str, dest: Path) -> None:
        data = get(speaker)
        with dest.open("wb") as out:
            out.write(data)

    return Ops(get, download)


def ours_ops(base_url: str) -> Ops:
    """speaker-audio: one ``SpeakerAudioClient``."""
    from speaker_audio import SpeakerAudioClient

    client = SpeakerAudioClient(API_KEY, base_url=base_url, timeout=120.0)

    def get(speaker: str) -> bytes:
        return client.get_speaker_audio(VOICE_ID, SAMPLE_ID, speaker).data

    def download(speaker: str, dest: Path) -> None:
        client.download_speaker_audio(VOICE_ID, SAMPLE_ID, speaker, dest, overwrite=True)

    return Ops(get, download)


def sdk_ops(base_url: str) -> Ops:
    """The official SDK: ``ElevenLabs(...).voices.pvc.samples.speakers.audio.get`` plus the base64 decode."""
    import importlib

    module: Any = importlib.import_module("elevenlabs.client")
    client = module.ElevenLabs(api_key=API_KEY, base_url=base_url, timeout=120.0)
    audio = client.voices.pvc.samples.speakers.audio  # lazy sub-clients resolved here, before the baseline

    def get(speaker: str) -> bytes:
        model = audio.get(voice_id=VOICE_ID, sample_id=SAMPLE_ID, speaker_id=speaker)
        return base64.b64decode(model.audio_base_64)

    def download(speaker: str, dest: Path) -> None:
        data = get(speaker)
        with dest.open("wb") as out:
            out.write(data)

    return Ops(get, download)


OPS_FACTORIES: dict[str, Callable[[str], Ops]] = {"floor": floor_ops, "ours": ours_ops, "sdk": sdk_ops}


def max_rss_kib() -> int:
    """``ru_maxrss`` in KiB: on Linux it is never below the spawning parent's peak (it survives exec)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def proc_status_kib(*keys: str) -> tuple[int, ...]:
    """Fields of ``/proc/self/status`` in KiB: ``VmRSS`` (now) and ``VmHWM`` (this process's own peak)."""
    values: dict[str, int] = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in keys:
                values[key] = int(rest.split()[0])
    return tuple(values[k] for k in keys)


def reset_peak_rss() -> int:
    """Reset ``VmHWM`` to the current RSS (Linux ``clear_refs``); return the current RSS in KiB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass  # the peak then includes any transient of the imports; the baseline is still the current RSS
    return proc_status_kib("VmRSS")[0]


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Set up one implementation, take the baseline RSS, run one timed operation, verify its output."""
    if spec.get("tree"):  # speaker-audio as another commit has it (--calls-against), ahead of the installed one
        sys.path[:0] = [str(Path(spec["tree"]) / "facade"), str(Path(spec["tree"]) / "generated")]
    setup_start = time.perf_counter()
    ops = OPS_FACTORIES[spec["impl"]](spec["base_url"])
    setup = time.perf_counter() - setup_start
    if spec.get("tree") and not str(sys.modules["speaker_audio"].__file__).startswith(spec["tree"]):
        raise SystemExit(f"bench: speaker_audio came from {sys.modules['speaker_audio'].__file__}, not {spec['tree']}")
    speaker: str = spec["speaker"]
    op: str = spec["op"]
    profiler: Any = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
    if op == "calls":
        ops.get(speaker)  # connect and warm up outside the timing
        baseline = reset_peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        for _ in range(int(spec["calls"])):
            ops.get(speaker)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        peak, maxrss = proc_status_kib("VmHWM")[0], max_rss_kib()
        digest, size = "", 0
    elif op in OPS:
        dest = Path(spec["dest"])
        dest.unlink(missing_ok=True)
        baseline = reset_peak_rss()
        start, cpu_start = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        if op == "get":
            data = ops.get(speaker)
        else:
            ops.download(speaker, dest)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        peak, maxrss = proc_status_kib("VmHWM")[0], max_rss_kib()
        if op == "get":
            digest, size = hashlib.sha256(data).hexdigest(), len(data)
        else:
            digest, size = _file_digest(dest), dest.stat().st_size
            dest.unlink()
    elif op == "stall":
        return stall_child(spec)
    elif op in ("stall-plan", "stall-status"):
        return loop_stall_child(spec)
    else:
        raise SystemExit(f"unknown op {op!r}")
    if op != "calls" and (digest != spec["sha256"] or size != spec["size"]):
        raise SystemExit(f"{spec['impl']} {op} {speaker}: wrong audio ({size} bytes, sha256 {digest[:12]})")
    if profiler is not None:
        import pstats

        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "25")))
        stats.sort_stats("cumulative").print_stats(25)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "setup_s": setup,
        "baseline_kib": baseline,
        "peak_kib": peak,
        "ru_maxrss_kib": maxrss,
    }


async def measure_stall(work: Callable[[], Awaitable[T]]) -> tuple[T, dict[str, float]]:
    """``await work()`` with a heartbeat task beside it that sleeps 1 ms: the largest lateness is the longest stall.

    The heartbeat first runs ``IDLE_S`` alone: its lateness then is the machine's own noise.
    """
    import asyncio

    longest, busiest, ticks, running = 0.0, 0.0, 0, True

    async def heartbeat() -> None:
        # wall lateness is the stall a user sees; the loop thread's CPU time between two ticks is the
        # work done on the loop, without the waits for a CPU that a busy machine adds
        nonlocal longest, busiest, ticks
        while running:
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(HEARTBEAT_S)
            longest = max(longest, time.perf_counter() - before - HEARTBEAT_S)
            busiest = max(busiest, time.thread_time() - cpu_before)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(IDLE_S)  # the machine's own noise: the heartbeat with nothing else to do
    idle, longest, busiest = longest, 0.0, 0.0
    start = time.perf_counter()
    result = await work()
    wall = time.perf_counter() - start
    running = False
    await beat
    return result, {
        "stall_ms": longest * 1000,
        "idle_ms": idle * 1000,
        "loop_cpu_ms": busiest * 1000,
        "ticks": ticks,
        "wall_s": wall,
    }


def stall_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One async download with a heartbeat task that sleeps 1 ms: the largest lateness is the longest stall."""
    import asyncio

    from speaker_audio import AsyncSpeakerAudioClient

    dest = Path(spec["dest"])
    dest.unlink(missing_ok=True)

    async def run() -> dict[str, Any]:
        async with AsyncSpeakerAudioClient(API_KEY, base_url=spec["base_url"], timeout=120.0) as client:
            # warm up: the first request imports httpx's transport modules (anyio, h11, ...) on the loop
            await client.download_speaker_audio(VOICE_ID, SAMPLE_ID, "1kb", dest, overwrite=True)
            _, stalls = await measure_stall(
                lambda: client.download_speaker_audio(VOICE_ID, SAMPLE_ID, spec["speaker"], dest, overwrite=True)
            )
        return stalls

    result = asyncio.run(run())
    digest, size = _file_digest(dest), dest.stat().st_size
    dest.unlink()
    if digest != spec["sha256"] or size != spec["size"]:
        raise SystemExit(f"async download {spec['speaker']}: wrong audio ({size} bytes, sha256 {digest[:12]})")
    return result


def loop_stall_child(spec: dict[str, Any]) -> dict[str, Any]:
    """The longest event-loop stall of ``download_all_speakers`` of a sample listing 20,000 speakers (``stall-plan``:
    the status, the plan, the first downloads, which the server answers with 404, ending the run), or of
    ``get_separation_status`` of a 14 MB status (``stall-status``)."""
    import asyncio
    import shutil

    from speaker_audio import AsyncSpeakerAudioClient, SpeakerDownloadError

    folder = Path(spec["dest"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    async def download_all(client: AsyncSpeakerAudioClient) -> int:
        try:
            await client.download_all_speakers(VOICE_ID, "plan", folder / "all", concurrency=4)
        except SpeakerDownloadError as error:
            return len(error.not_downloaded)
        raise SystemExit("download_all_speakers of the plan sample: expected the server's 404s")

    async def status(client: AsyncSpeakerAudioClient) -> int:
        return len((await client.get_separation_status(VOICE_ID, "big")).speakers)

    async def run() -> tuple[int, dict[str, float]]:
        async with AsyncSpeakerAudioClient(API_KEY, base_url=spec["base_url"], timeout=120.0) as client:
            # warm up: httpx's transport modules, the worker threads, the status validator
            await client.download_speaker_audio(VOICE_ID, SAMPLE_ID, "1kb", folder / "warm.mp3", overwrite=True)
            await client.get_separation_status(VOICE_ID, "tiny")
            work = download_all if spec["op"] == "stall-plan" else status
            return await measure_stall(lambda: work(client))

    try:
        speakers, stalls = asyncio.run(run())
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if speakers != spec["size"]:
        raise SystemExit(f"{spec['op']}: {speakers} speakers, expected {spec['size']}")
    return stalls


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------
# The bench venv: the official SDK and our package, installed only there
# ------------------------------------------------------------------------------------------------


@dataclass
class Interpreter:
    """The Python that runs the measured children, and what it has installed."""

    python: Path
    sdk: bool
    note: str
    versions: dict[str, str] = field(default_factory=dict)


_VERSIONS_CODE = """
import importlib.metadata as m, json, sys
out = {"python": sys.version.split()[0]}
for name in ("speaker-audio", "httpx", "elevenlabs", "pydantic"):
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def _versions(python: Path, check_imports: str) -> dict[str, str] | None:
    code = check_imports + "\n" + _VERSIONS_CODE
    result = subprocess.run([str(python), "-I", "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    if result.returncode != 0:
        return None
    versions: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return versions


def _venv_wanted() -> str:
    pyproject = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{SDK_REQUIREMENT} -e {ROOT} pyproject:{pyproject}\n"


def setup_venv() -> tuple[bool, str]:
    """Create or refresh ``.bench/venv`` with the official SDK and our package; (ok, note)."""
    wanted = _venv_wanted()
    if VENV_PYTHON.exists() and VENV_STAMP.exists() and VENV_STAMP.read_text() == wanted:
        return True, "up to date"
    log = BENCH_DIR / "venv-setup.log"
    BENCH_DIR.mkdir(exist_ok=True)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    steps = [
        ("python -m venv", [sys.executable, "-m", "venv", str(VENV)]),
        ("pip install --upgrade pip", [*pip, "--upgrade", "pip"]),
        (f"pip install {SDK_REQUIREMENT} -e .", [*pip, SDK_REQUIREMENT, "-e", str(ROOT)]),
    ]
    print(f"bench: setting up {VENV.relative_to(ROOT)} ({SDK_REQUIREMENT} and this package); log in {log}")
    with log.open("w") as out:
        for step, command in steps:
            if step == "python -m venv" and VENV_PYTHON.exists():
                continue
            try:
                subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, timeout=900, check=True)
            except (OSError, subprocess.SubprocessError) as exc:
                why = f"exit status {exc.returncode}" if isinstance(exc, subprocess.CalledProcessError) else str(exc)
                return False, f"`{step}` failed in {VENV.relative_to(ROOT)} ({why}; see {log.relative_to(ROOT)})"
    VENV_STAMP.write_text(wanted)
    return True, "created"


def choose_interpreter(use_sdk: bool) -> Interpreter:
    """The bench venv when it works (all three implementations on one Python and one httpx), else this one."""
    note = "skipped (--no-sdk)"
    if use_sdk:
        ok, note = setup_venv()
        if ok:
            versions = _versions(VENV_PYTHON, "import elevenlabs.client, speaker_audio, httpx")
            if versions is not None:
                return Interpreter(VENV_PYTHON, True, f"{SDK_REQUIREMENT} in {VENV.relative_to(ROOT)}", versions)
            note = f"{VENV.relative_to(ROOT)} exists but `import elevenlabs.client, speaker_audio` fails there"
    python = Path(sys.executable)
    versions = _versions(python, "import speaker_audio, httpx") or {}
    return Interpreter(python, False, note, versions)


# ------------------------------------------------------------------------------------------------
# Running the measurements
# ------------------------------------------------------------------------------------------------


class Runs(NamedTuple):
    """How many fresh-process runs each measurement gets."""

    sizes: dict[str, int]
    imports: int
    calls: int

    @classmethod
    def full(cls) -> Runs:
        """The defaults of ``make bench``."""
        return cls(dict(FULL_RUNS), IMPORT_RUNS, CALL_RUNS)

    @classmethod
    def quick(cls) -> Runs:
        """One run of everything."""
        return cls.fixed(1)

    @classmethod
    def fixed(cls, n: int) -> Runs:
        """``n`` runs of everything."""
        return cls(dict.fromkeys(SIZES, n), n, n)


@dataclass
class Sample:
    """One child's numbers."""

    wall_s: float
    cpu_s: float
    setup_s: float  # imports and client construction in the child, before the call
    baseline_kib: int
    peak_kib: int
    ru_maxrss_kib: int


@dataclass
class Results:
    """Everything measured, keyed by (op, size, impl); ``calls`` and ``imports`` by impl."""

    cases: dict[tuple[str, str, str], list[Sample]] = field(default_factory=dict)
    calls: dict[str, list[Sample]] = field(default_factory=dict)
    imports: dict[str, list[float]] = field(default_factory=dict)
    load: list[tuple[float, float, float]] = field(default_factory=list)  # load averages at start and end
    stalls: list[dict[str, float]] = field(default_factory=list)  # async 200 MiB download: stall_ms, ticks, wall_s
    loop_stalls: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # "plan", "status": likewise


def child_env() -> dict[str, str]:
    """The environment of the measured processes: no proxies, no ElevenLabs settings."""
    drop = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "elevenlabs_api_key", "elevenlabs_base_url")
    env = {k: v for k, v in os.environ.items() if k.lower() not in drop}
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return env


class ChildError(Exception):
    """A measured process failed."""


def run_child_json(python: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh process; its JSON answer."""
    command = [str(python), "-I", str(SCRIPT), "--child", json.dumps(spec)]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, env=child_env(), timeout=CHILD_TIMEOUT, check=False
    )
    if result.returncode != 0:
        what = f"{spec['impl']} {spec['op']} {spec['speaker']}"
        raise ChildError(f"bench child failed ({what}):\n{result.stdout}\n{result.stderr}")
    out: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def run_child(python: Path, spec: dict[str, Any]) -> Sample:
    """Run one measurement in a fresh process."""
    out = run_child_json(python, spec)
    return Sample(
        float(out["wall_s"]),
        float(out["cpu_s"]),
        float(out["setup_s"]),
        int(out["baseline_kib"]),
        int(out["peak_kib"]),
        int(out["ru_maxrss_kib"]),
    )


def measure_import(python: Path, statement: str) -> float:
    """Seconds that ``statement`` takes in a fresh interpreter."""
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    result = subprocess.run(
        [str(python), "-I", "-c", code], capture_output=True, text=True, cwd=ROOT, env=child_env(), check=False
    )
    if result.returncode != 0:
        raise ChildError(f"`{statement}` failed:\n{result.stderr}")
    return float(result.stdout.strip())


class Measurement:
    """Runs the measurements, interleaved run by run so that drift hits every implementation alike.

    A failure of the official SDK drops it (the report says why); any other failure stops the bench.
    """

    def __init__(self, interp: Interpreter, base_url: str) -> None:
        self.interp = interp
        self.base_url = base_url
        self.impls = list(IMPLS if interp.sdk else ("floor", "ours"))
        self.results = Results(load=[os.getloadavg()])
        self.out_dir = BENCH_DIR / "out"
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def run(self, bodies: dict[str, Body], runs: Runs) -> Results:
        """Imports, then single calls per size, then the sequential small calls."""
        results = self.results
        for impl in tuple(self.impls):
            self._import(impl, [])  # warm the bytecode caches
        for _ in range(runs.imports):
            for impl in tuple(self.impls):
                self._import(impl, results.imports.setdefault(impl, []))
        print(_progress("imports", {impl: statistics.median(v) for impl, v in results.imports.items()}))

        for name, body in bodies.items():
            for run in range(runs.sizes.get(name, 1)):
                for op in OPS:
                    for impl in _rotated(tuple(self.impls), run):
                        spec = {
                            "impl": impl,
                            "op": op,
                            "base_url": self.base_url,
                            "speaker": name,
                            "size": body.audio_bytes,
                            "sha256": body.sha256,
                            "dest": str(self.out_dir / f"{impl}-{name}-{os.getpid()}.mp3"),
                        }
                        self._child(impl, spec, results.cases.setdefault((op, name, impl), []))
            for op in OPS:
                walls = {impl: wall(results.cases[(op, name, impl)]) for impl in self.impls}
                print(_progress(f"{op} {LABELS[name]}", walls))

        for run in range(runs.calls):
            for impl in _rotated(tuple(self.impls), run):
                spec = {"impl": impl, "op": "calls", "base_url": self.base_url, "speaker": "1kb", "calls": CALLS}
                self._child(impl, spec, results.calls.setdefault(impl, []))
        print(_progress(f"{CALLS} calls", {impl: wall(results.calls[impl]) for impl in self.impls}))
        results.load.append(os.getloadavg())
        return results

    def run_stall(self, body: Body, runs: int) -> None:
        """The longest event-loop stall of the async client during a 200 MiB download, ``runs`` times."""
        for _ in range(runs):
            spec = {
                "impl": "ours",
                "op": "stall",
                "base_url": self.base_url,
                "speaker": STALL_BODY,
                "size": body.audio_bytes,
                "sha256": body.sha256,
                "dest": str(self.out_dir / f"stall-{os.getpid()}.mp3"),
            }
            result = run_child_json(self.interp.python, spec)
            self.results.stalls.append({k: float(v) for k, v in result.items()})
        print(stall_row(self.results.stalls))

    def run_loop_stall(self, case: str, statuses: dict[str, Body], runs: int) -> None:
        """The longest event-loop stall of the ``plan`` or ``status`` case (``loop_stall_child``), ``runs`` times."""
        sample = "plan" if case == "plan" else "big"
        for _ in range(runs):
            spec = {
                "impl": "ours",
                "op": f"stall-{case}",
                "base_url": self.base_url,
                "speaker": sample,
                "size": statuses[f"status:{sample}"].audio_bytes,
                "dest": str(self.out_dir / f"stall-{case}-{os.getpid()}"),
            }
            result = run_child_json(self.interp.python, spec)
            self.results.loop_stalls.setdefault(case, []).append({k: float(v) for k, v in result.items()})
        print(loop_stall_row(case, self.results.loop_stalls[case], statuses))

    def _import(self, impl: str, into: list[float]) -> None:
        if impl in self.impls:
            seconds = self._guard(impl, lambda: measure_import(self.interp.python, IMPORTS[impl]))
            if seconds is not None:
                into.append(seconds)

    def _child(self, impl: str, spec: dict[str, Any], into: list[Sample]) -> None:
        if impl in self.impls:  # the SDK may have been dropped earlier in this round
            sample = self._guard(impl, lambda: run_child(self.interp.python, spec))
            if sample is not None:
                into.append(sample)

    def _guard(self, impl: str, action: Callable[[], T]) -> T | None:
        try:
            return action()
        except ChildError as exc:
            if impl != "sdk":
                raise SystemExit(str(exc)) from None
            print(f"bench: the official SDK failed; measuring without it\n{exc}", file=sys.stderr)
            last = [line for line in str(exc).strip().splitlines() if line.strip()][-1:]
            self.impls.remove("sdk")
            self.interp.sdk = False
            self.interp.note = f"its run failed ({'; '.join(last) or 'no message'})"
            results = self.results
            results.imports.pop("sdk", None)
            results.calls.pop("sdk", None)
            results.cases = {key: value for key, value in results.cases.items() if key[2] != "sdk"}
            return None


def calls_against(interp: Interpreter, ref: str, runs: int) -> int:
    """The sequential small calls of the floor, this tree and commit ``ref``'s facade and generated client.

    Per-call targets are often relative to an earlier figure ("within 1.05x of today"), and a ratio to the floor
    moves with the machine and with httpx: both trees measured in one run, interleaved, compare like with like.
    """
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if commit.returncode != 0:
        raise SystemExit(f"bench: no commit {ref!r} in this checkout")
    sha = commit.stdout.strip()
    tree = BENCH_DIR / "trees" / sha
    if not tree.is_dir():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", sha, "facade", "generated"], capture_output=True, cwd=ROOT, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    served = prepare_bodies(("1kb",))
    samples: dict[str, list[Sample]] = {"floor": [], "ours": [], ref: []}
    with Server(served) as base_url:
        for run in range(runs):
            for name in _rotated(tuple(samples), run):
                spec: dict[str, Any] = {"impl": "floor" if name == "floor" else "ours", "op": "calls"}
                spec["base_url"] = base_url
                spec |= {"speaker": "1kb", "calls": CALLS, "tree": str(tree) if name == ref else ""}
                samples[name].append(run_child(interp.python, spec))
    walls = {name: statistics.median(s.wall_s for s in runs_) for name, runs_ in samples.items()}
    cpus = {name: statistics.median(s.cpu_s for s in runs_) for name, runs_ in samples.items()}
    print(f"bench: {CALLS} sequential 1 KB calls, {runs} runs each, medians (wall ms / CPU ms):")
    for name in samples:
        label = "this tree" if name == "ours" else f"{ref} ({sha[:7]})" if name == ref else "floor (httpx)"
        print(f"  {label:>24}: {walls[name] * 1000:7.1f} / {cpus[name] * 1000:7.1f}")
    print(
        f"bench: this tree / {ref}: wall {walls['ours'] / walls[ref]:.3f}x, CPU {cpus['ours'] / cpus[ref]:.3f}x; "
        f"÷ floor: this tree {walls['ours'] / walls['floor']:.3f}x, {ref} {walls[ref] / walls['floor']:.3f}x"
    )
    return 0


def _rotated(impls: tuple[str, ...], run: int) -> tuple[str, ...]:
    """The implementations in a different order each run, so that none always goes first."""
    k = run % len(impls)
    return impls[k:] + impls[:k]


def _progress(what: str, seconds: dict[str, float]) -> str:
    return f"bench: {what:>15}: " + ", ".join(f"{impl} {s * 1000:.1f} ms" for impl, s in seconds.items())


# ------------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------------


def _med(values: Iterator[float] | list[float]) -> float:
    return float(statistics.median(list(values)))


def wall(samples: list[Sample]) -> float:
    """Median wall time in seconds."""
    return _med(s.wall_s for s in samples)


def cpu(samples: list[Sample]) -> float:
    """Median CPU time (user + system) of the measured process during the call, in seconds."""
    return _med(s.cpu_s for s in samples)


def peak(samples: list[Sample]) -> float:
    """Median peak RSS in MiB."""
    return _med(s.peak_kib / MIB for s in samples)


def baseline(samples: list[Sample]) -> float:
    """Median baseline RSS (after imports and client setup, before the call) in MiB."""
    return _med(s.baseline_kib / MIB for s in samples)


def growth(samples: list[Sample]) -> float:
    """Median of peak minus baseline RSS, in MiB."""
    return _med((s.peak_kib - s.baseline_kib) / MIB for s in samples)


def ratio(a: float | None, b: float | None) -> str:
    """``a`` as a multiple of ``b`` ("n/a" when either is missing)."""
    return f"{a / b:.2f}x" if a is not None and b else "n/a"


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def machine_info(interp: Interpreter, load: list[tuple[float, float, float]]) -> list[str]:
    """Lines describing the machine, the software and the tree that was measured."""
    fields: dict[str, str] = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if not line.strip():
                break  # the first processor is enough
            key, _, value = line.partition(":")
            fields[key.strip()] = value.strip()
    family, model = fields.get("cpu family", "?"), fields.get("model", "?")
    cpu = f"{fields.get('model name', 'unknown')} (family {family}, model {model})"
    if "hypervisor" in fields.get("flags", "").split():
        cpu += ", virtual machine"
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    import platform

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "facade", "generated"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    ).stdout.strip()
    tree = f"{commit or 'unknown'}{' + uncommitted changes in facade/ or generated/' if dirty else ''}"
    versions = ", ".join(f"{k} {v}" for k, v in interp.versions.items() if k != "python")
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory: {mem_kib / 2**20:.1f} GiB; {platform.platform()}",
        f"- Python {interp.versions.get('python', platform.python_version())} ({interp.python.relative_to(ROOT)})"
        if interp.python.is_relative_to(ROOT)
        else f"- Python {interp.versions.get('python', platform.python_version())} ({interp.python})",
        f"- packages: {versions}",
        f"- official SDK: {interp.note}",
        "- load average (1/5/15 min) at start and end: "
        + " → ".join("/".join(f"{x:.2f}" for x in avg) for avg in load)
        + " (anything else running on the machine shows up in the wall times; CPU times suffer less)",
        f"- tree: {tree}",
    ]


def render(interp: Interpreter, bodies: dict[str, Body], results: Results, command: str) -> str:
    """The Markdown report: machine, results with ratios, targets, raw numbers."""
    lines = ["# Benchmarks", ""]
    lines += [
        f"Generated by `{command}`; do not edit by hand. Re-run with `make bench` (a few minutes; the official",
        "SDK is installed only into `.bench/venv`), smoke-test with `make bench BENCH_ARGS=--quick`.",
        "",
        "What runs: a loopback `http.server` subprocess (HTTP/1.1 keep-alive, Content-Length, bodies streamed from",
        f"disk) serves `{{audio_base_64, media_type, duration_secs}}` bodies of random audio (seed {SEED}); every",
        "measurement is a fresh process. **floor** = one `httpx.Client` + `json.loads` + `base64.b64decode` (+ a plain",
        "file write, no fsync, for download); **speaker-audio** = `SpeakerAudioClient.get_speaker_audio` /",
        "`download_speaker_audio(..., overwrite=True)` (atomic: temp file, fsync, rename); **official SDK** =",
        "`ElevenLabs(api_key=..., base_url=...).voices.pvc.samples.speakers.audio.get(...)` + `base64.b64decode`",
        "(+ the same plain file write). All three run on the same interpreter and httpx. Wall = the call alone",
        "(imports, client construction and the SDK's lazy sub-client imports are done before it). Baseline RSS =",
        "the child's RSS after imports and setup, just before the call (`VmRSS`, with the high-water mark reset",
        "there through `/proc/self/clear_refs`); peak RSS = the child's own high-water mark after the call",
        "(`VmHWM`). `ru_maxrss` is in the raw numbers too, but the tables do not use it: on Linux it carries the",
        "spawning parent's peak across `exec`, so it is never below the orchestrator's size. CPU = user + system",
        "time of the measured process during the call (the server's work is not in it). Medians of the runs;",
        "sizes are of the decoded audio (1 KB = 1024 B, 10 MB = 10 MiB, 100 MB = 100 MiB).",
        "Event-loop stall: one `AsyncSpeakerAudioClient.download_speaker_audio` of 200 MiB with a task beside it",
        "that sleeps 1 ms in a loop; the largest lateness of a wake-up is the longest stall (the worst run counts).",
        f"Before each download the heartbeat runs {IDLE_S:.0f} s alone: its lateness then is the machine's own noise.",
        "The longest loop step in CPU time (the loop thread's CPU time between two heartbeats) is the work done on",
        "the loop without the waits for a CPU that a loaded machine adds.",
        "A 1 KB download on the same client comes first: the first request of a process imports httpx's transport",
        "modules (anyio, h11) on the loop, a one-time cost that is not the download's.",
        f"The same heartbeat measures `download_all_speakers` of a sample listing {PLAN_SPEAKERS:,} speakers (the",
        "status read, the plan of every speaker's file, the first four downloads, which the server answers with 404,",
        f"ending the run) and `get_separation_status` of a status listing {BIG_STATUS_SPEAKERS:,} speakers (14 MB),",
        "each after a 1 KB download and a small status read on the same client.",
        "",
        "## Machine",
        "",
        *machine_info(interp, results.load),
        "",
        "## Single calls",
        "",
    ]
    if not interp.sdk:
        lines += [f"Official SDK columns: {interp.note}.", ""]
    header = "| case | metric | " + " | ".join(IMPL_NAMES[i] for i in IMPLS) + " | ours ÷ floor | ours ÷ SDK |"
    lines += [header, _rule(header)]
    metrics: list[tuple[str, Callable[[list[Sample]], float]]] = [
        ("wall ms", lambda s: wall(s) * 1000),
        ("CPU ms (client process)", lambda s: cpu(s) * 1000),
        ("peak RSS MiB", peak),
        ("baseline RSS MiB", baseline),
        ("peak - baseline MiB", growth),
    ]
    for name in bodies:
        for op in OPS:
            for index, (metric, fn) in enumerate(metrics):
                values = {impl: _opt(fn, results.cases.get((op, name, impl))) for impl in IMPLS}
                runs = len(results.cases[(op, name, "ours")])
                case = f"{op} {LABELS[name]} ({runs} run{'s' if runs > 1 else ''})" if index == 0 else ""
                row = f"| {case} | {metric} | " + " | ".join(_cell(values[i]) for i in IMPLS)
                row += f" | {ratio(values['ours'], values['floor'])} | {ratio(values['ours'], values['sdk'])} |"
                lines.append(row)

    lines += ["", f"## {CALLS} sequential 1 KB calls, one client reused", ""]
    header = "| implementation | total ms | per call µs | ÷ floor | ÷ SDK | CPU ms | CPU ÷ floor |"
    lines += [header, _rule(header)]
    call_walls = {impl: _opt(wall, results.calls.get(impl)) for impl in IMPLS}
    call_cpus = {impl: _opt(cpu, results.calls.get(impl)) for impl in IMPLS}
    for impl in IMPLS:
        t, c = call_walls[impl], call_cpus[impl]
        per_call = None if t is None else t / CALLS * 1e6
        row = f"| {IMPL_NAMES[impl]} | {_cell(t, 1000)} | {_cell(per_call, fmt='{:.0f}')} |"
        row += f" {ratio(t, call_walls['floor'])} | {ratio(t, call_walls['sdk'])} |"
        row += f" {_cell(c, 1000)} | {ratio(c, call_cpus['floor'])} |"
        lines.append(row)

    lines += ["", "## Import time, fresh interpreter", ""]
    header = "| statement | median ms | ÷ `import httpx` | ÷ SDK |"
    lines += [header, _rule(header)]
    import_ms = {impl: _opt(_med, results.imports.get(impl)) for impl in IMPLS}
    for impl in IMPLS:
        t = import_ms[impl]
        row = (
            f"| `{IMPORTS[impl]}` | {_cell(t, 1000)} | {ratio(t, import_ms['floor'])} | {ratio(t, import_ms['sdk'])} |"
        )
        lines.append(row)
    lines += [
        "",
        "Ready to call, in the measured children (median over all of them): imports and client construction, and for",
        "the SDK the first access to `client.voices.pvc.samples.speakers.audio`, whose lazy imports neither its",
        "import time above nor its call times include.",
        "",
        "| implementation | imports + setup ms | ÷ floor | ÷ SDK |",
        "|---|---|---|---|",
    ]
    setup_ms = {impl: _opt(_med, _setups(results, impl)) for impl in IMPLS}
    for impl in IMPLS:
        t = setup_ms[impl]
        lines.append(
            f"| {IMPL_NAMES[impl]} | {_cell(t, 1000)} | {ratio(t, setup_ms['floor'])} | {ratio(t, setup_ms['sdk'])} |"
        )

    targets = _target_rows(bodies, results)
    passed = sum(row.endswith("| PASS |") for row in targets)
    judged = sum(row.endswith(("| PASS |", "| MISS |")) for row in targets)
    lines += ["", "## Targets", "", f"{passed} of {judged} targets met.", ""]
    lines += ["| target | measured | limit | result |", "|---|---|---|---|", *targets]
    lines += ["", "## Against the official SDK (same runs)", ""]
    header = "| case | wall: ours vs SDK | CPU: ours vs SDK | peak RSS: ours vs SDK | result |"
    lines += [header, _rule(header)]
    if interp.sdk:
        lines += _sdk_rows(bodies, results)
    else:
        lines.append(f"| every case | not measured: {interp.note} | | | n/a |")

    lines += [
        "",
        "## Raw numbers",
        "",
        "Each run: wall ms / CPU ms / baseline RSS MiB / peak RSS MiB / ru_maxrss MiB.",
        "",
    ]
    lines += ["| case | implementation | runs |", "|---|---|---|"]
    for name in bodies:
        for op in OPS:
            for impl in IMPLS:
                runs_text = "; ".join(
                    f"{s.wall_s * 1000:.1f} / {s.cpu_s * 1000:.1f} / {s.baseline_kib / MIB:.1f}"
                    f" / {s.peak_kib / MIB:.1f} / {s.ru_maxrss_kib / MIB:.1f}"
                    for s in results.cases.get((op, name, impl), [])
                )
                lines.append(f"| {op} {LABELS[name]} | {IMPL_NAMES[impl]} | {runs_text or 'not measured'} |")
    for impl in IMPLS:
        runs_text = "; ".join(f"{s.wall_s * 1000:.1f} / {s.cpu_s * 1000:.1f}" for s in results.calls.get(impl, []))
        lines.append(f"| {CALLS} calls (wall ms / CPU ms) | {IMPL_NAMES[impl]} | {runs_text or 'not measured'} |")
    for impl in IMPLS:
        runs_text = "; ".join(f"{t * 1000:.1f}" for t in results.imports.get(impl, []))
        lines.append(f"| import (ms) | {IMPL_NAMES[impl]} | {runs_text or 'not measured'} |")
    sizes = ", ".join(f"{LABELS[n]}: {b.path.stat().st_size:,} B body" for n, b in bodies.items())
    lines += ["", f"Response bodies: {sizes}.", ""]
    return "\n".join(lines)


def _setups(results: Results, impl: str) -> list[float]:
    samples = [s for (_, _, i), runs in results.cases.items() if i == impl for s in runs]
    return [s.setup_s for s in samples + results.calls.get(impl, [])]


def _opt(fn: Callable[[list[Any]], float], samples: list[Any] | None) -> float | None:
    """``fn(samples)``, or ``None`` when that implementation was not measured."""
    return fn(samples) if samples else None


def _cell(value: float | None, scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    return "not measured" if value is None else fmt.format(value * scale)


def _rule(header: str) -> str:
    return "|" + "---|" * (header.count("|") - 1)


def _target_rows(bodies: dict[str, Body], results: Results) -> list[str]:
    rows: list[str] = []
    call_walls = {impl: wall(samples) for impl, samples in results.calls.items()}
    import_ms = {impl: _med(times) * 1000 for impl, times in results.imports.items()}
    big = "100mb"
    if big in bodies:
        ours_dl, floor_dl = results.cases[("download", big, "ours")], results.cases[("download", big, "floor")]
        ours_get, floor_get = results.cases[("get", big, "ours")], results.cases[("get", big, "floor")]
        g = growth(ours_dl)
        rows.append(
            f"| download 100 MB: peak RSS ≤ baseline + 32 MiB | +{g:.1f} MiB "
            f"({baseline(ours_dl):.1f} → {peak(ours_dl):.1f}) | +32 MiB | {verdict(g <= 32)} |"
        )
        r = wall(ours_dl) / wall(floor_dl)
        rows.append(
            f"| download 100 MB: wall ≤ 1.25x floor | {r:.3f}x ({wall(ours_dl) * 1000:.0f} vs "
            f"{wall(floor_dl) * 1000:.0f} ms) | 1.25x | {verdict(r <= 1.25)} |"
        )
        r = peak(ours_get) / peak(floor_get)
        rows.append(
            f"| get 100 MB: peak RSS ≤ 0.5x floor's | {r:.3f}x ({peak(ours_get):.1f} vs "
            f"{peak(floor_get):.1f} MiB) | 0.5x | {verdict(r <= 0.5)} |"
        )
        r = wall(ours_get) / wall(floor_get)
        rows.append(
            f"| get 100 MB: wall ≤ 1.1x floor | {r:.3f}x ({wall(ours_get) * 1000:.0f} vs "
            f"{wall(floor_get) * 1000:.0f} ms) | 1.1x | {verdict(r <= 1.1)} |"
        )
    else:
        rows.append("| download / get 100 MB targets | not run | | n/a |")
    r = call_walls["ours"] / call_walls["floor"]
    rows.append(
        f"| {CALLS} sequential small calls ≤ 1.2x floor | {r:.3f}x ({call_walls['ours'] * 1000:.0f} vs "
        f"{call_walls['floor'] * 1000:.0f} ms) | 1.2x | {verdict(r <= 1.2)} |"
    )
    r = import_ms["ours"] / import_ms["floor"]
    rows.append(
        f"| `import speaker_audio` ≤ 1.3x `import httpx` | {r:.3f}x ({import_ms['ours']:.0f} vs "
        f"{import_ms['floor']:.0f} ms) | 1.3x | {verdict(r <= 1.3)} |"
    )
    rows.append(stall_row(results.stalls))
    statuses = prepare_statuses()
    rows += [loop_stall_row(case, results.loop_stalls.get(case, []), statuses) for case in ("plan", "status")]
    return rows


def stall_row(stalls: list[dict[str, float]]) -> str:
    """The target row of the async event-loop stall (the worst run counts)."""
    what = f"async download 200 MiB: longest event-loop stall ≤ {STALL_LIMIT_MS:.0f} ms"
    if not stalls:
        return f"| {what} | not run | {STALL_LIMIT_MS:.0f} ms | n/a |"
    worst = max(s["stall_ms"] for s in stalls)
    runs = ", ".join(f"{s['stall_ms']:.1f}" for s in stalls)
    idle = ", ".join(f"{s['idle_ms']:.1f}" for s in stalls)
    detail = (
        f"{worst:.1f} ms (runs: {runs} ms; {_med([s['wall_s'] for s in stalls]) * 1000:.0f} ms per download; "
        f"the heartbeat alone for {IDLE_S:.0f} s before each: {idle} ms; longest loop step in CPU time: "
        f"{max(s['loop_cpu_ms'] for s in stalls):.1f} ms)"
    )
    return f"| {what} | {detail} | {STALL_LIMIT_MS:.0f} ms | {verdict(worst <= STALL_LIMIT_MS)} |"


def loop_stall_row(case: str, stalls: list[dict[str, float]], statuses: dict[str, Body]) -> str:
    """The target row of the ``plan`` or ``status`` event-loop stall (the worst run counts)."""
    body = statuses["status:plan" if case == "plan" else "status:big"]
    megabytes = body.path.stat().st_size / 1e6
    if case == "plan":
        what = f"async `download_all_speakers` of {body.audio_bytes:,} speakers ({megabytes:.1f} MB status)"
    else:
        what = f"async `get_separation_status` of a {megabytes:.1f} MB status ({body.audio_bytes:,} speakers)"
    what += f": longest event-loop stall ≤ {LOOP_LIMIT_MS:.0f} ms"
    if not stalls:
        return f"| {what} | not run | {LOOP_LIMIT_MS:.0f} ms | n/a |"
    worst = max(s["stall_ms"] for s in stalls)
    runs = ", ".join(f"{s['stall_ms']:.1f}" for s in stalls)
    idle = ", ".join(f"{s['idle_ms']:.1f}" for s in stalls)
    detail = (
        f"{worst:.1f} ms (runs: {runs} ms; {_med([s['wall_s'] for s in stalls]) * 1000:.0f} ms per call; "
        f"the heartbeat alone for {IDLE_S:.0f} s before each: {idle} ms; longest loop step in CPU time: "
        f"{max(s['loop_cpu_ms'] for s in stalls):.1f} ms)"
    )
    return f"| {what} | {detail} | {LOOP_LIMIT_MS:.0f} ms | {verdict(worst <= LOOP_LIMIT_MS)} |"


def _vs_sdk(ours: float, sdk: float, unit: str, scale: float) -> str:
    diff = (sdk - ours) * scale
    word = "less" if diff > 0 else "more"
    amount = f"{abs(diff):.1f}" if abs(diff) >= 10 else f"{abs(diff):.2f}"
    return f"{amount} {unit} {word}, {abs(1 - ours / sdk):.0%} {word} ({ours / sdk:.2f}x)" if sdk > 0 else "n/a"


def _sdk_rows(bodies: dict[str, Body], results: Results) -> list[str]:
    """Rows of ours against the SDK: wall (the verdict), CPU (for context), peak RSS (the verdict)."""
    pairs = [
        (f"{op} {LABELS[name]}", results.cases[(op, name, "ours")], results.cases[(op, name, "sdk")])
        for name in bodies
        for op in OPS
    ]
    pairs.append((f"{CALLS} calls", results.calls["ours"], results.calls["sdk"]))
    rows: list[str] = []
    for case, ours, sdk in pairs:
        time_text = _vs_sdk(wall(ours), wall(sdk), "ms", 1000)
        cpu_text = _vs_sdk(cpu(ours), cpu(sdk), "ms", 1000)
        mem_text = _vs_sdk(peak(ours), peak(sdk), "MiB", 1)
        ok = wall(ours) < wall(sdk) and peak(ours) < peak(sdk)
        rows.append(f"| {case} | {time_text} | {cpu_text} | {mem_text} | {verdict(ok)} |")
    import_ms = {impl: _med(times) * 1000 for impl, times in results.imports.items()}
    time_text = _vs_sdk(import_ms["ours"], import_ms["sdk"], "ms", 1)
    rows.append(f"| import | {time_text} | | | {verdict(import_ms['ours'] < import_ms['sdk'])} |")
    return rows


# ------------------------------------------------------------------------------------------------


def profile(interp: Interpreter, case: str) -> None:
    """Run one operation (``get:100mb``, ``download:10mb``, ``calls:1kb``, ``get:1kb:sdk``) under cProfile."""
    op, _, rest = case.partition(":")
    name, _, impl = rest.partition(":")
    impl = impl or "ours"
    if op not in (*OPS, "calls") or name not in SIZES or impl not in IMPLS:
        raise SystemExit(
            f"--profile wants OP:SIZE[:IMPL], OP in get, download, calls; SIZE in {', '.join(SIZES)}; "
            f"IMPL in {', '.join(IMPLS)} (default ours)"
        )
    bodies = prepare_bodies((name,))
    with Server(bodies) as base_url:
        spec = {
            "impl": impl,
            "op": op,
            "base_url": base_url,
            "speaker": name,
            "size": bodies[name].audio_bytes,
            "sha256": bodies[name].sha256,
            "dest": str(BENCH_DIR / "out" / f"profile-{name}.mp3"),
            "calls": CALLS,
            "profile": True,
        }
        (BENCH_DIR / "out").mkdir(parents=True, exist_ok=True)
        command = [str(interp.python), "-I", str(SCRIPT), "--child", json.dumps(spec)]
        subprocess.run(command, cwd=ROOT, env=child_env(), timeout=CHILD_TIMEOUT, check=True)


def run_stalls(
    measurement: Measurement, cases: tuple[str, ...], bodies: dict[str, Body], statuses: dict[str, Body], runs: int
) -> None:
    """The event-loop stall ``cases`` (``download``, ``plan``, ``status``), ``runs`` times each."""
    if "download" in cases:
        measurement.run_stall(bodies[STALL_BODY], runs)
    for case in ("plan", "status"):
        if case in cases:
            measurement.run_loop_stall(case, statuses, runs)


def stalls_met(results: Results) -> bool:
    """Whether every stall measured is within its target."""
    download = all(s["stall_ms"] <= STALL_LIMIT_MS for s in results.stalls)
    loop = all(s["stall_ms"] <= LOOP_LIMIT_MS for stalls in results.loop_stalls.values() for s in stalls)
    return download and loop


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run the benchmarks (or one of the internal modes)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 KB and 10 MB, one run each")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"report file (default: docs/benchmarks.md; {QUICK_OUT.name} in .bench/ for partial runs)",
    )
    parser.add_argument(
        "--sizes", help=f"comma-separated subset of {','.join(SIZES)} (default: all; --quick: 1kb,10mb)"
    )
    parser.add_argument("--runs", type=int, help="runs per case, overriding the defaults")
    parser.add_argument("--no-sdk", action="store_true", help="do not set up or measure the official SDK")
    parser.add_argument("--stall-only", action="store_true", help="only the async event-loop stalls")
    parser.add_argument(
        "--stall-cases",
        default=",".join(STALL_CASES),
        help=f"comma-separated subset of the event-loop stall cases {','.join(STALL_CASES)} (default: all)",
    )
    parser.add_argument("--setup", action="store_true", help="only create the bench venv and exit")
    parser.add_argument("--profile", metavar="OP:SIZE[:IMPL]", help="cProfile one call, e.g. get:100mb or get:1kb:sdk")
    parser.add_argument(
        "--calls-against",
        metavar="REF",
        help="only the sequential small calls: this tree against the git commit REF, interleaved in one run",
    )
    parser.add_argument("--serve", metavar="MAPPING", help=argparse.SUPPRESS)
    parser.add_argument("--child", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        serve(json.loads(args.serve))
        return 0
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.setup:
        ok, note = setup_venv()
        print(f"bench venv: {note}")
        return 0 if ok else 1

    interp = choose_interpreter(use_sdk=not (args.no_sdk or args.stall_only))
    print(f"bench: measuring with {interp.python} ({interp.note})")
    if args.profile:
        profile(interp, args.profile)
        return 0
    if args.calls_against:
        return calls_against(interp, args.calls_against, args.runs or CALL_RUNS)
    cases = tuple(args.stall_cases.split(","))
    if unknown := set(cases) - set(STALL_CASES):
        parser.error(f"unknown stall case(s) {', '.join(sorted(unknown))}; choose from {', '.join(STALL_CASES)}")
    stall_runs = args.runs or (1 if args.quick else STALL_RUNS)
    if args.stall_only:
        stall_bodies = prepare_bodies(("1kb", STALL_BODY) if "download" in cases else ("1kb",))  # 1kb: the warm-up
        statuses = prepare_statuses()
        with Server({**stall_bodies, **statuses}) as base_url:
            measurement = Measurement(interp, base_url)
            run_stalls(measurement, cases, stall_bodies, statuses, stall_runs)
        return 0 if stalls_met(measurement.results) else 1
    names = tuple(args.sizes.split(",")) if args.sizes else QUICK_SIZES if args.quick else tuple(SIZES)
    if unknown := set(names) - set(SIZES):
        parser.error(f"unknown size(s) {', '.join(sorted(unknown))}; choose from {', '.join(SIZES)}")
    runs = Runs.quick() if args.quick else Runs.full()
    if args.runs:
        runs = Runs.fixed(args.runs)
    served = prepare_bodies(tuple(dict.fromkeys(("1kb", *names, STALL_BODY))))  # the small calls always use 1kb
    statuses = prepare_statuses()
    bodies = {name: served[name] for name in names}
    started = time.monotonic()
    with Server({**served, **statuses}) as base_url:
        measurement = Measurement(interp, base_url)
        results = measurement.run(bodies, runs)
        run_stalls(measurement, cases, served, statuses, stall_runs)
    partial = args.quick or args.sizes or args.runs
    command = " ".join(["scripts/bench.py", *(sys.argv[1:] if argv is None else argv)])
    report = render(interp, bodies, results, command)
    out: Path = args.out or (QUICK_OUT if partial else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print()
    print(report)
    print(f"bench: done in {time.monotonic() - started:.0f} s; report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

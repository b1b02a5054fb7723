"""The CLI is built on the public API: every module of ``speaker_audio/cli/`` imports only public names of
``speaker_audio`` and ``speaker_audio.testing`` (and its own modules), and touches no private member of what it
gets (``client._foo``), so that what it does, a user of the package can do too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import speaker_audio
import speaker_audio.cli
import speaker_audio.testing

CLI = Path(speaker_audio.cli.__file__).parent
MODULES = sorted(CLI.glob("*.py"))
PUBLIC_MODULES = {
    "speaker_audio": {*speaker_audio.__all__, "cli"},
    "speaker_audio.testing": set(speaker_audio.testing.__all__),
}


def _is_own(module: str) -> bool:
    return module == "speaker_audio.cli" or module.startswith("speaker_audio.cli.")


def _private_reach(node: ast.AST) -> str | None:
    """What ``node`` reaches past the public API, or ``None``."""
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level > 0 or _is_own(base) or base.split(".")[0] != "speaker_audio":
            return None
        if base not in PUBLIC_MODULES:
            return f"from {base} import … (not a public module)"
        names = [alias.name for alias in node.names if alias.name not in PUBLIC_MODULES[base]]
        return f"from {base} import {', '.join(names)} (not in its __all__)" if names else None
    if isinstance(node, ast.Import):
        names = [
            alias.name
            for alias in node.names
            if alias.name.split(".")[0] == "speaker_audio" and alias.name not in PUBLIC_MODULES
        ]
        names = [name for name in names if not _is_own(name)]
        return f"import {', '.join(names)} (not a public module)" if names else None
    if isinstance(node, ast.Attribute):
        dunder = node.attr.startswith("__") and node.attr.endswith("__")
        own = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        return (
            f".{node.attr} (a private member of something else)"
            if node.attr[:1] == "_" and not (dunder or own)
            else None
        )
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr"):
        name = node.args[1] if len(node.args) >= 2 else None
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value[:1] == "_":
            return f"{node.func.id}(…, {name.value!r}) (a private member)"
    return None


def violations(source: str, module: str) -> list[str]:
    """What in ``source`` (the text of ``speaker_audio.cli.<module>``) reaches past the public API."""
    found = []
    for node in ast.walk(ast.parse(source)):
        problem = _private_reach(node)
        if problem is not None:
            found.append(f"speaker_audio/cli/{module}: line {getattr(node, 'lineno', '?')}: {problem}")
    return found


def test_the_cli_package_has_modules_to_check() -> None:
    assert {path.name for path in MODULES} >= {"__init__.py", "_parser.py", "_commands.py", "_output.py", "_main.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_a_cli_module_reaches_only_public_names(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8"), path.name) == []


@pytest.mark.parametrize(
    "source",
    [
        "from speaker_audio._settings import API_KEY_ENV",
        "from speaker_audio import _version",
        "from speaker_audio.errors import SpeakerAudioError",  # public, but not the door the CLI uses
        "from speaker_audio.testing._server import FakeElevenLabs",
        "import speaker_audio._client",
        "def f(client):\n    return client._api_key",
        "def f(client):\n    return getattr(client, '_clock')",
    ],
)
def test_the_check_finds_each_kind_of_private_reach(source: str) -> None:
    assert violations(source, "example.py") != []


def test_the_check_allows_the_public_doors_and_the_packages_own_modules() -> None:
    source = (
        "from speaker_audio import SpeakerAudioClient, __version__\n"
        "from speaker_audio.testing import FakeElevenLabs\n"
        "from speaker_audio.cli._output import printable\n"
        "from speaker_audio.cli import _commands\n"
        "class A:\n    def f(self):\n        return self._lock, _commands.cmd_get\n"
    )
    assert violations(source, "example.py") == []

"""The public-API gate (scripts/api_check.py, `make api-check`): it passes on the repository and fails on
each kind of break made to a temporary copy of facade/speaker_audio, unless released as a major version."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import griffe
import pytest

import api_check

ROOT = Path(__file__).resolve().parents[2]
FACADE = ROOT / "facade"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the current package and a snapshot of it: the baseline the breaks are made against."""
    root = tmp_path_factory.mktemp("released")
    shutil.copytree(
        FACADE / "speaker_audio",
        root / "facade" / "speaker_audio",
        ignore=shutil.ignore_patterns("__pycache__", "data"),
    )
    text = api_check.snapshot_text(api_check.load_current(root / "facade"), root / "facade")
    (root / "public-api.json").write_text(text, encoding="utf-8")
    return root


@dataclass
class Tree:
    facade: Path
    snapshot: Path
    changelog: Path

    def edit(self, module: str, pattern: str, replacement: str) -> None:
        path = self.facade / "speaker_audio" / module
        text, count = re.subn(pattern, replacement, path.read_text(encoding="utf-8"), flags=re.MULTILINE)
        assert count, f"{pattern!r} not found in {module}: the test needs updating for the current source"
        path.write_text(text, encoding="utf-8")

    def check(self) -> api_check.Report:
        return api_check.check(self.facade, self.snapshot, self.changelog)

    def breaks(self) -> list[str]:
        return [found.line for found in self.check().breaks]

    def release_as_major(self, changelog_section: str) -> str:
        released = api_check.read_snapshot(self.snapshot).version
        version = f"{int(released.split('.')[0]) + 1}.0.0"
        self.edit("_version.py", r'^__version__ = "[^"]+"', f'__version__ = "{version}"')
        self.changelog.write_text(
            f"# Changelog\n\n## [Unreleased]\n\n## [{version}] - 2026-12-01\n\n{changelog_section}\n"
            f"## [{released}]\n\n### Added\n- Everything.\n",
            encoding="utf-8",
        )
        return version


@pytest.fixture
def tree(pristine: Path, tmp_path: Path) -> Tree:
    shutil.copytree(pristine / "facade", tmp_path / "facade")
    return Tree(tmp_path / "facade", pristine / "public-api.json", tmp_path / "CHANGELOG.md")


def remove_sniff_media_type(tree: Tree) -> None:
    tree.edit("__init__.py", r',\s*sniff_media_type\b(?=[^"])', "")  # the import
    tree.edit("__init__.py", r'^\s*"sniff_media_type",\n', "")  # the __all__ entry


# --- the repository --------------------------------------------------------------------------------------------


def test_the_gate_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert api_check.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("public API: speaker_audio ")
    assert "BREAKING" not in out


def test_griffe_resolves_every_public_name_including_the_lazy_ones() -> None:
    package = api_check.load_current()
    surface = api_check.public_surface(package)
    assert surface.problems == []
    exported = surface.exports[""]
    assert set(exported) == set(package.exports or [])
    for name in ("SpeakerAudioClient", "AsyncSpeakerAudioClient", "get_speaker_audio", "SpeakerAudio", "Utterance"):
        obj = surface.objects[name]  # exported through __getattr__, imported under `if TYPE_CHECKING:`
        assert obj.path.startswith("speaker_audio._"), obj.path
    assert isinstance(surface.objects["get_speaker_audio"], griffe.Function)
    assert "api_key" in surface.objects["get_speaker_audio"].parameters


def test_the_committed_snapshot_covers_the_public_api() -> None:
    snapshot = api_check.read_snapshot()
    assert api_check.coverage_problems(snapshot.package) == []
    surface = api_check.public_surface(snapshot.package)
    current = api_check.public_surface(api_check.load_current())
    assert set(snapshot.package.exports or []) <= set(current.exports[""])
    assert set(surface.exports[""]) == set(snapshot.package.exports or [])
    for name in snapshot.package.exports or []:
        assert name in surface.objects, name
    init = surface.objects["SpeakerAudioClient.__init__"]
    assert isinstance(init, griffe.Function)
    assert [p.name for p in init.parameters][:3] == ["self", "api_key", "base_url"]
    for result, fields in {
        "SpeakerAudio": ["data", "media_type", "duration_secs"],
        "SeparationStatus": ["voice_id", "sample_id", "status", "speakers", "selected_speaker_ids"],
        "Speaker": ["speaker_id", "duration_secs", "utterances"],
        "Utterance": ["start", "end"],
    }.items():
        for name in fields:
            assert f"{result}.{name}" in surface.objects, f"{result}.{name}"
        result_init = surface.objects[f"{result}.__init__"]
        assert isinstance(result_init, griffe.Function)
        assert [p.name for p in result_init.parameters][1 : len(fields) + 1] == fields
    not_found = surface.objects["NotFoundError"]
    assert isinstance(not_found, griffe.Class)
    assert api_check.ancestors(not_found) >= {"speaker_audio.errors.APIStatusError", "Exception"}
    assert "private" not in " ".join(surface.objects)  # nothing underscored beyond the protocol dunders
    assert not [p for p in surface.objects if any(part.startswith("_") for part in p.split(".")) and "__" not in p]


def test_the_snapshot_round_trips_through_json(pristine: Path) -> None:
    """griffe's JSON load gives back the same surface: names, signatures, ancestors."""
    live = api_check.public_surface(api_check.load_current(pristine / "facade"))
    loaded = api_check.public_surface(api_check.read_snapshot(pristine / "public-api.json").package)
    assert live.exports == loaded.exports
    assert set(live.objects) == set(loaded.objects)
    for path, obj in live.objects.items():
        other = loaded.objects[path]
        assert obj.kind == other.kind, path
        if isinstance(obj, griffe.Function) and isinstance(other, griffe.Function):
            assert [(p.name, p.kind, p.required) for p in obj.parameters] == [
                (p.name, p.kind, p.required) for p in other.parameters
            ], path
        if isinstance(obj, griffe.Class) and isinstance(other, griffe.Class):
            assert api_check.ancestors(obj) == api_check.ancestors(other), path


def test_an_unchanged_copy_passes(tree: Tree) -> None:
    report = tree.check()
    assert report.ok
    assert report.breaks == []


# --- breaks ----------------------------------------------------------------------------------------------------


def test_a_removed_name_fails(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    remove_sniff_media_type(tree)
    assert tree.breaks() == ["`sniff_media_type`: removed"]
    args = ["--search-path", str(tree.facade), "--snapshot-file", str(tree.snapshot)]
    assert api_check.main([*args, "--changelog", str(tree.changelog)]) == 1
    out = capsys.readouterr().out
    assert "  BREAKING: `sniff_media_type`: removed\n" in out
    assert "1 breaking change(s): the major version is still" in out


def test_a_name_dropped_from_all_fails_even_if_still_imported(tree: Tree) -> None:
    tree.edit("__init__.py", r'^\s*"sniff_media_type",\n', "")
    assert tree.breaks() == ["`sniff_media_type`: removed from the package's __all__"]


def test_a_lazy_export_whose_import_is_gone_fails(tree: Tree) -> None:
    tree.edit("__init__.py", r"^(\s*from speaker_audio\._models import \([^)]*?\n)\s*SeparationStatus,\n", r"\1")
    report = tree.check()
    assert not report.ok
    assert "`SeparationStatus` is in __all__ but not defined or imported" in report.problems


def test_a_removed_parameter_fails(tree: Tree) -> None:
    tree.edit("_client.py", r"(def wait_for_separation\([^)]*?),\s*poll_interval: float = 2\.0", r"\1")
    assert tree.breaks() == ["`SpeakerAudioClient.wait_for_separation(poll_interval)`: parameter removed (or renamed)"]


def test_a_renamed_parameter_fails(tree: Tree) -> None:
    tree.edit("_async_client.py", r"(async def wait_for_separation\([^)]*)\btimeout: float", r"\1deadline: float")
    assert tree.breaks() == ["`AsyncSpeakerAudioClient.wait_for_separation(timeout)`: parameter removed (or renamed)"]


def test_a_parameter_made_required_fails(tree: Tree) -> None:
    tree.edit("_client.py", r"(def wait_for_separation\([^)]*poll_interval: float) = 2\.0", r"\1")
    assert tree.breaks() == [
        "`SpeakerAudioClient.wait_for_separation(poll_interval)`: parameter made required (its default was removed)"
    ]


def test_a_changed_error_base_fails(tree: Tree) -> None:
    tree.edit("errors.py", r"^class NotFoundError\(APIStatusError\):", "class NotFoundError(SpeakerAudioError):")
    tree.edit("errors.py", r"^(class InvalidIdError\(SpeakerAudioError), ValueError\):", r"\1, TypeError):")
    breaks = tree.breaks()
    assert (
        "`InvalidIdError`: no longer derives from ValueError (bases (SpeakerAudioError, ValueError) -> "
        "(SpeakerAudioError, TypeError))"
    ) in breaks
    assert (
        "`NotFoundError`: no longer derives from speaker_audio.errors.APIStatusError (bases (APIStatusError) -> "
        "(SpeakerAudioError))"
    ) in breaks
    # and what it inherited from APIStatusError is gone with it
    assert {"`NotFoundError.status_code`: removed", "`NotFoundError.__init__`: removed"} < set(breaks)
    assert len(breaks) == 2 + len([b for b in breaks if b.startswith("`NotFoundError.")])


def test_a_base_moved_up_the_hierarchy_passes(tree: Tree) -> None:
    """NotFoundError(ClientError) with ClientError(APIStatusError): still an APIStatusError."""
    tree.edit(
        "errors.py",
        r"^class NotFoundError\(APIStatusError\):",
        "class ClientError(APIStatusError):\n    pass\n\n\nclass NotFoundError(ClientError):",
    )
    assert tree.breaks() == []


def test_a_removed_result_attribute_fails(tree: Tree) -> None:
    tree.edit("_models.py", r"^    end: float = attrs\.field\(converter=_to_float\)\n", "")
    tree.edit("_models.py", r"^    @property\n    def extension\(self\) -> str:", "    def _extension(self) -> str:")
    assert sorted(tree.breaks()) == [
        "`SampleAudio.extension`: removed",  # both audio results had the property
        "`SpeakerAudio.extension`: removed",
        "`Utterance.__init__(end)`: parameter removed (or renamed)",
        "`Utterance.end`: removed",
    ]


def test_a_field_of_a_private_attrs_base_is_each_result_constructors_parameter(tree: Tree) -> None:
    # the audio results inherit their shared fields: they are parameters, and dropping one from the base breaks both
    assert tree.breaks() == []
    tree.edit("_models.py", r"^(class _AudioResult\(.*\n(?:.*\n)*?)    media_type: str = attrs\.field\(.*\)\n", r"\1")
    breaks = sorted(tree.breaks())
    assert "`SampleAudio.__init__(media_type)`: parameter removed (or renamed)" in breaks
    assert "`SpeakerAudio.__init__(media_type)`: parameter removed (or renamed)" in breaks


def test_fields_inherited_through_a_base_that_is_not_an_attrs_class_still_count(tree: Tree) -> None:
    # attrs collects the fields of every attrs class in the MRO, whatever lies between
    between = "class _Between(_Response):\n    pass\n\n\n@attrs.frozen\nclass _AudioResult(_Between):"
    tree.edit("_models.py", r"^@attrs\.frozen\nclass _AudioResult\(_Response\):", between)
    assert tree.breaks() == []


def test_a_removed_method_of_the_testing_module_fails(tree: Tree) -> None:
    tree.edit("testing/__init__.py", r'"Fault",\s*', "")  # from __all__ first: the next pattern would match it too
    tree.edit("testing/__init__.py", r"\bFault,\s*", "")
    assert tree.breaks() == ["`testing.Fault`: removed"]


# --- what passes -----------------------------------------------------------------------------------------------


def test_additions_pass(tree: Tree) -> None:
    tree.edit("_decode.py", r"\Z", "\n\ndef added_helper(value: int = 0) -> int:\n    return value\n")
    tree.edit("__init__.py", r"(from speaker_audio\._decode import )", r"\1added_helper, ")
    tree.edit("__init__.py", r"^__all__ = \[\n", '__all__ = [\n    "added_helper",\n')
    tree.edit("_client.py", r"(def wait_for_separation\([^)]*poll_interval: float = 2\.0)", r"\1, jitter: float = 0.0")
    end_field = r"^(    end: float = attrs\.field\(converter=_to_float\)\n)"
    tree.edit("_models.py", end_field, r"\1    confidence: float = 1.0\n")
    report = tree.check()
    assert report.ok, report.breaks
    assert report.breaks == []
    surface = api_check.public_surface(api_check.load_current(tree.facade))
    assert {"added_helper", "Utterance.confidence", "SpeakerAudioClient.wait_for_separation"} <= set(surface.objects)


def test_a_break_released_as_a_new_major_with_a_changelog_entry_passes(tree: Tree) -> None:
    remove_sniff_media_type(tree)
    tree.edit("_client.py", r"(def wait_for_separation\([^)]*?),\s*poll_interval: float = 2\.0", r"\1")
    version = tree.release_as_major(
        "### Removed\n- `sniff_media_type`: use `mimetypes` instead.\n\n"
        "### Changed\n- `SpeakerAudioClient.wait_for_separation` polls on its own schedule.\n"
    )
    report = tree.check()
    assert report.ok
    assert report.current == version
    assert len(report.acknowledged) == len(report.breaks) == 2


def test_a_breaking_entry_anywhere_in_the_section_counts(tree: Tree) -> None:
    remove_sniff_media_type(tree)
    tree.release_as_major("### Added\n- **BREAKING:** `speaker_audio.sniff_media_type()` is gone.\n")
    assert tree.check().ok


def test_a_major_bump_without_an_entry_naming_the_break_fails(tree: Tree) -> None:
    remove_sniff_media_type(tree)
    version = tree.release_as_major("### Added\n- `sniff_media_type` is better.\n\n### Removed\n- `Other`.\n")
    report = tree.check()
    assert not report.ok
    assert f"does not name every break in ## [{version}] or ## [Unreleased]" in report.refusal
    released = api_check.read_snapshot(tree.snapshot).version
    tree.changelog.write_text(f"# Changelog\n\n## [{released}]\n\n### Removed\n- `sniff_media_type`\n")
    assert not tree.check().ok  # the entry of an older version does not count


def test_until_the_release_the_entry_may_be_under_unreleased(tree: Tree) -> None:
    remove_sniff_media_type(tree)
    tree.release_as_major("### Added\n- Nothing about it here.\n")
    tree.changelog.write_text(
        tree.changelog.read_text().replace(
            "## [Unreleased]\n", "## [Unreleased]\n\n### Removed\n- `sniff_media_type`\n"
        )
    )
    assert tree.check().ok


def test_an_entry_without_a_major_bump_fails(tree: Tree) -> None:
    remove_sniff_media_type(tree)
    released = api_check.read_snapshot(tree.snapshot).version
    tree.changelog.write_text(f"# Changelog\n\n## [{released}]\n\n### Removed\n- `sniff_media_type`\n")
    tree.edit("_version.py", r'^__version__ = "[^"]+"', '__version__ = "0.99.0"')
    report = tree.check()
    assert not report.ok
    assert "the major version is still" in report.refusal


def test_the_snapshot_step_refuses_an_unreleased_break_and_takes_a_released_one(
    tree: Tree, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snapshot = tmp_path / "public-api.json"
    shutil.copy(tree.snapshot, snapshot)
    args = ["--snapshot", "--search-path", str(tree.facade), "--snapshot-file", str(snapshot)]
    remove_sniff_media_type(tree)
    assert api_check.main([*args, "--changelog", str(tree.changelog)]) == 1
    assert snapshot.read_bytes() == tree.snapshot.read_bytes()
    version = tree.release_as_major("### Removed\n- `sniff_media_type`\n")
    assert api_check.main([*args, "--changelog", str(tree.changelog)]) == 0
    assert f"wrote {snapshot} ({version})" in capsys.readouterr().out
    assert api_check.read_snapshot(snapshot).version == version
    assert api_check.check(tree.facade, snapshot, tmp_path / "no-changelog.md").breaks == []


def test_a_changed_default_is_a_note_by_value_not_a_break(tree: Tree) -> None:
    tree.edit("_settings.py", r"^DEFAULT_MAX_RETRIES = 2$", "DEFAULT_MAX_RETRIES = 3")
    report = tree.check()
    assert report.ok
    assert report.breaks == []
    assert "`SpeakerAudioClient.__init__(max_retries)`: default changed: 2 -> 3" in report.notes
    assert "`AsyncSpeakerAudioClient.__init__(max_retries)`: default changed: 2 -> 3" in report.notes


def test_a_private_base_may_move_between_private_modules_but_not_go(tree: Tree) -> None:
    """The clients' shared base lives in a private module: moving it is not a break, dropping it is."""
    moved = "from speaker_audio._moved_settings import"
    tree.edit("_client.py", r"^from speaker_audio\._client_settings import", moved)
    package = tree.facade / "speaker_audio"
    (package / "_client_settings.py").rename(package / "_moved_settings.py")
    for name in ("_async_client.py",):
        tree.edit(name, r"speaker_audio\._client_settings", "speaker_audio._moved_settings")
    assert [b for b in tree.breaks() if "derives" in b] == []
    tree.edit("_client.py", r"^class SpeakerAudioClient\(ClientSettings\):", "class SpeakerAudioClient:")
    assert any(
        b.startswith("`SpeakerAudioClient`: no longer derives from speaker_audio.<private>.ClientSettings")
        for b in tree.breaks()
    )

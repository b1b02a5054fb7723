"""`make docs` refuses an undocumented public name: exit 1, naming each one.

Public here means what the API reference shows and the README promises (static analysis with griffe, so
attribute docstrings count, as they do in pdoc):

* every name in ``speaker_audio.__all__`` and ``speaker_audio.testing.__all__``;
* every public member (method, property, attribute, inherited ones included) of the two clients;
* every public member of the result classes, their fields included;
* every error class of ``speaker_audio.errors`` and its public attributes.

An attribute counts as documented by a docstring of its own (a string right after it) or by an entry in the
``Attributes:`` section of its class's docstring (Google style).

    python scripts/check_docstrings.py                       # the checkout (facade/ + generated/)
    python scripts/check_docstrings.py --search-path DIR ...  # another copy of the package (the tests use this)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import griffe

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "speaker_audio"
CLIENTS = ("SpeakerAudioClient", "AsyncSpeakerAudioClient")
RESULTS = ("SpeakerAudio", "SeparationStatus", "Speaker", "Utterance")

__all__ = ["main", "undocumented"]

Member = griffe.Object | griffe.Alias


def _target(obj: Member) -> Member:
    """What an alias (a name imported into a module) points to; an object itself."""
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def _documented(obj: Member) -> bool:
    return obj.docstring is not None and bool(obj.docstring.value.strip())


def _attributes_section(cls: Member) -> set[str]:
    """The names listed in the ``Attributes:`` section of ``cls``'s docstring."""
    if cls.docstring is None:
        return set()
    names: set[str] = set()
    for section in cls.docstring.parse("google"):
        if section.kind is griffe.DocstringSectionKind.attributes:
            names.update(item.name for item in section.value)
    return names


def _member_documented(member: Member, cls: Member | None) -> bool:
    """``member`` (of ``cls``, if a class member) has a docstring, or an ``Attributes:`` entry in ``cls``'s
    docstring or in that of the class that defines it (for an inherited member)."""
    if _documented(member):
        return True
    owners = [owner for owner in (cls, member.parent) if owner is not None and owner.is_class]
    return member.is_attribute and any(member.name in _attributes_section(owner) for owner in owners)


def _public_members(cls: Member) -> Iterator[Member]:
    for name, member in cls.all_members.items():
        if not name.startswith("_"):
            yield member


def _exports(module: Member) -> Iterator[tuple[str, Member]]:
    for export in module.exports or ():
        name = export if isinstance(export, str) else export.name
        yield f"{module.path}.{name}", module[name]


def undocumented(search_paths: Sequence[Path]) -> list[str]:
    """The public names without a docstring, as ``public.path (where it is defined)``."""
    package = griffe.load(
        PACKAGE, search_paths=[str(p) for p in search_paths], resolve_aliases=True, resolve_external=False
    )
    errors = package["errors"]
    # public name: (the object, the class it is a member of)
    checked: dict[str, tuple[Member, Member | None]] = {}
    checked.update((name, (obj, None)) for name, obj in _exports(package))
    checked.update((name, (obj, None)) for name, obj in _exports(package["testing"]))
    for class_name in (*CLIENTS, *RESULTS):
        cls = _target(package[class_name])
        checked.update((f"{PACKAGE}.{class_name}.{m.name}", (m, cls)) for m in _public_members(cls))
    for public, cls in _exports(errors):
        checked[public] = (cls, None)
        members = (m for m in _public_members(cls) if m.is_attribute)
        checked.update((f"{public}.{m.name}", (m, cls)) for m in members)
    missing = []
    for public, (obj, owner) in checked.items():
        target = _target(obj)
        if not _member_documented(target, owner):
            where = f" ({target.path})" if target.path != public else ""
            missing.append(f"{public}{where}")
    return missing


def main(argv: list[str] | None = None) -> int:
    """Print each undocumented public name; 0 when there is none, else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--search-path",
        type=Path,
        action="append",
        help="where to find speaker_audio (repeatable; default: facade/ and generated/ of the checkout)",
    )
    args = parser.parse_args(argv)
    missing = undocumented(args.search_path or [ROOT / "facade", ROOT / "generated"])
    for name in missing:
        print(f"no docstring: {name}")
    if missing:
        print(f"FAILED: {len(missing)} public name(s) of {PACKAGE} without a docstring", file=sys.stderr)
        return 1
    print(f"every public name of {PACKAGE} has a docstring")
    return 0


if __name__ == "__main__":
    sys.exit(main())

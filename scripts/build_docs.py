"""`make docs`: the HTML API reference of speaker_audio (pdoc), with the README as its first page.

pdoc renders a package's docstring as the top of its page; for the reference, the package docstring is
replaced (in this process only) by README.md, so the page opens with the README and goes on to
``speaker_audio.__all__``; ``speaker_audio.errors`` and ``speaker_audio.testing`` get pages of their own.
Docstrings are Google style (``Args:``, ``Attributes:``). Run ``scripts/check_docstrings.py`` first:
``make docs`` does, and stops on an undocumented public name.

    python scripts/build_docs.py [--out build/docs]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["build", "main"]


def readme_as_docstring(readme: str) -> str:
    """README.md as pdoc should render it.

    pdoc links a code span that starts with a dot to the module of that name: `` `.errors` `` (an attribute
    of ``UnprocessableEntityError`` in the README) would show as a link to ``speaker_audio.errors``. The
    README's dotted spans are all attributes, so they are written as HTML that pdoc leaves alone.
    """
    return re.sub(r"`\.([A-Za-z_]\w*)`", r"<code>&#46;\1</code>", readme)


def build(out: Path) -> Path:
    """Write the reference into ``out`` (emptied first) and return its ``index.html``."""
    import pdoc
    import pdoc.render

    import speaker_audio

    speaker_audio.__doc__ = readme_as_docstring((ROOT / "README.md").read_text(encoding="utf-8"))
    pdoc.render.configure(
        docformat="google", show_source=False, footer_text=f"speaker-audio {speaker_audio.__version__}"
    )
    if out.exists():
        shutil.rmtree(out)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a docstring pdoc cannot render, an unresolvable name: fail, do not skip
        pdoc.pdoc("speaker_audio", "speaker_audio.errors", "speaker_audio.testing", output_directory=out)
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    """Build the reference; print where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "docs", help="output folder (emptied first)")
    args = parser.parse_args(argv)
    index = build(args.out)
    print(f"API reference: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

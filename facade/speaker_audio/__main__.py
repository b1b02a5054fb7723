"""``python -m speaker_audio``: the ``speaker-audio`` command line."""

import sys

from speaker_audio.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""The ``speaker-audio`` command line (also ``python -m speaker_audio``), on stdlib argparse and the public API.

Results go to stdout (``--json``: one JSON document); progress, notes and errors to stderr. A progress line is
drawn only when stderr is a terminal or ``--progress`` asks for it (and never with ``--quiet``). Exit codes:
0 success, 1 other failure (e.g. a file exists, standard output closed), 2 usage error (bad arguments, ids, headers
or key file), 3 API error (error status, malformed response, separation failed / not started / not completed /
timed out, an unusable speaker id from the server), 4 network error, 130 interrupted (Ctrl-C), 141 output pipe
closed, 143 terminated (SIGTERM). Everything printed that came from the server is escaped.

Modules: ``_parser`` (the options), ``_commands`` (what each command does), ``_output`` (escaping, tables, JSON
documents), ``_progress`` (the progress line and its text), ``_errors`` (exit codes and error lines, the wording
of each error ``hint``), ``_signals`` (SIGINT and SIGTERM), ``_main`` (the entry point).
"""

from speaker_audio.cli._main import main

__all__ = ["main"]

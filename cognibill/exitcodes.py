"""The process exit codes: a stable API for scripts (documented in README)."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit status of every cognibill command."""

    OK = 0
    """Success, no finding at or above the failure threshold."""
    FINDINGS = 1
    """At least one finding reached the failure threshold (``error`` by default)."""
    USAGE = 2
    """Bad command line or bad entry (unknown code, negative minutes ...)."""
    INPUT = 3
    """An input file could not be read or is invalid."""
    INTERNAL = 4
    """A bug in cognibill: rerun with --debug and report it."""
    OUTPUT = 5
    """An output could not be written: a read-only folder, a full disk, a closed stdout.

    Not 3: a script that sees 3 looks at its input, which is fine here; not 2: the command line
    was right, the place it names refused the report. An ``--out`` report is then either the
    previous one, untouched, or (for a device or a pipe) whatever part was written."""


SIGNAL_BASE = 128
"""A run stopped by signal N exits ``SIGNAL_BASE + N``, as shells report it: 130 for Ctrl-C
(SIGINT), 129 for SIGHUP, 143 for SIGTERM; 141 when the reader of a pipe leaves (SIGPIPE)."""


def stopped_by(signum: int) -> int:
    """The exit status of a run stopped by signal ``signum``."""
    return SIGNAL_BASE + signum

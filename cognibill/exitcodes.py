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

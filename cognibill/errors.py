"""Typed errors raised by the core; the CLI turns them into messages and exit codes."""

from __future__ import annotations

from cognibill.exitcodes import ExitCode


class CognibillError(Exception):
    """Base of every error a user can cause; carries a message, a hint and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class EntryError(CognibillError):
    """A bad entry on the command line (exit 2)."""

    exit_code = ExitCode.USAGE


class OutputError(CognibillError):
    """An output that could not be written (exit 5): ``target`` names it (``--out PATH``,
    ``standard output``), ``reason`` says why (``no space left on device``)."""

    exit_code = ExitCode.OUTPUT

    def __init__(self, target: str, reason: str, hint: str | None = None) -> None:
        self.target = target
        self.reason = reason
        super().__init__(f"{target}: {reason}", hint)


class Stopped(BaseException):
    """The run was stopped by a signal (SIGINT, SIGTERM, SIGHUP): raised by the CLI's handler.

    Not an :class:`Exception`, as ``KeyboardInterrupt`` is not: no ``except Exception`` on the
    way out swallows it, and every ``finally`` and ``except BaseException`` clean-up runs (the
    temporary ``--out`` file is removed, the previous report stays as it was).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class InputError(CognibillError):
    """An input file that cannot be read or is invalid (exit 3).

    ``problems`` holds every ``(line, field, reason)`` found, so that all are reported at once.
    """

    exit_code = ExitCode.INPUT

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        problems: tuple[tuple[int | None, str | None, str], ...] = (),
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason
        self.problems = problems
        where = path if line is None else f"{path}:{line}"
        what = f"{column}: {reason}" if column else reason
        super().__init__(f"{where}: {what}", hint)

    def lines(self) -> list[str]:
        """Every problem as ``file:line: field: reason``."""
        if not self.problems:
            return [self.message]
        out = []
        for line, field, reason in self.problems:
            where = self.path if line is None else f"{self.path}:{line}"
            out.append(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")
        return out

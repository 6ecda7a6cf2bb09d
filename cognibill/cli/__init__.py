"""The cognibill command line: thin commands over the pure core, and one error boundary."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated, Any, NoReturn, TextIO

import typer

from cognibill import __version__
from cognibill.errors import CognibillError, InputError, OutputError, Stopped
from cognibill.exitcodes import ExitCode, stopped_by

_HELP = (
    "Units, claim checks and estimates for time-based therapy codes, "
    "built around cognitive rehabilitation (97129/97130)."
)

_state: dict[str, Any] = {"debug": False, "signal": 0}


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"cognibill {__version__}\n")
        raise typer.Exit()


def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for internal errors (no local values).")
    ] = False,
) -> None:
    """Units, claim checks and estimates for time-based therapy codes (97129/97130 first)."""
    _state["debug"] = debug or bool(os.environ.get("COGNIBILL_DEBUG"))


# Command -> the module that registers it, in the order `--help` lists them. Only the module
# of the command being run is imported and built: start-up is a feature.
_MODULES = ("units", "claims", "report", "new", "rules", "codes", "shapes", "money", "ledger")
_COMMANDS = {
    "units": "units",
    "ranges": "units",
    "claim": "claims",
    "check": "claims",
    "report": "report",
    "new": "new",
    "rules": "rules",
    "codes": "codes",
    "formats": "shapes",
    "fees": "money",
    "localities": "money",
    "payers": "money",
    "ledger": "ledger",
}


def _command_in(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def make_app(argv: list[str] | None = None) -> typer.Typer:
    """The Typer app with the command in ``argv`` (all commands when none is named)."""
    import importlib

    app = typer.Typer(
        name="cognibill",
        help=_HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    wanted = _COMMANDS.get(_command_in(argv or []) or "")
    for name in _MODULES:
        if wanted is None or name == wanted:
            importlib.import_module(f"cognibill.cli.{name}").register(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    """``cognibill.cli.app``: the app with every command (docs tests, introspection)."""
    if name == "app":
        return make_app()
    raise AttributeError(name)


def _say(text: str) -> None:
    """A line on stderr; a closed or broken stderr loses it, never the exit code."""
    with suppress(Exception):
        sys.stderr.write(text)
        sys.stderr.flush()


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the app; turn every user error into a message and an exit code.

    This is the one error boundary. While a command runs, SIGINT, SIGTERM and SIGHUP (those
    left at their defaults: ``nohup`` still works) raise :class:`Stopped`, so a stopped run
    cleans up as a failed one does; they are put back as they were before ``main`` exits.
    """
    _state["debug"] = False
    _state["signal"] = 0
    if "cognibill.writers" in sys.modules:
        sys.modules["cognibill.writers"].forget_failed_outputs()
    _default_sigpipe()
    args = sys.argv[1:] if argv is None else argv
    streams = _standard_streams()
    handlers: dict[int, Any] = {}
    try:
        try:
            handlers = _catch_stop_signals()
            code = _boundary(args)
        finally:
            with suppress(BaseException):  # a failed run's last bytes: its error is said
                _flush_stdout()
            _restore_signals(handlers)
            streams()
    except Stopped as exc:  # a signal in the few statements around the command itself
        code = _stopped(exc.signum)
    raise SystemExit(code)


def _boundary(args: list[str]) -> int:
    try:
        code = _invoke(args)
        _flush_stdout()
    except Stopped as exc:
        return _stopped(exc.signum)
    except CognibillError as exc:
        if _state["signal"]:
            return _stopped(_state["signal"])
        for line in exc.lines() if isinstance(exc, InputError) else [exc.message]:
            _say(f"cognibill: error: {_shown(line)}\n")
        if exc.hint:
            _say(f"hint: {_shown(exc.hint)}\n")
        return int(exc.exit_code)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:  # SIGINT where our handler was not installed (not the main thread)
        import signal

        return _stopped(signal.SIGINT)
    except Exception as exc:  # the boundary: anything else is our bug
        return _internal(exc)
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # SystemExit, a caller's own BaseException
            raise
        return _internal(exc)  # a panic in polars' Rust code (a BaseException, from pyo3)
    return code


def _internal(exc: BaseException) -> int:
    """An exception no one expected: a bug, unless it is a stop or an output's error that a
    library on the way wrapped in its own."""
    if _state["signal"]:  # a stop that came back wrapped (e.g. through a polars callback)
        return _stopped(_state["signal"])
    from cognibill.writers import failed_output

    failure = failed_output()
    if failure is not None:  # an output's error, wrapped on the way (polars' write_csv)
        _say(f"cognibill: error: {_shown(failure.message)}\n")
        return int(failure.exit_code)
    if _state["debug"]:
        import traceback

        with suppress(Exception):
            traceback.print_exception(exc)  # plain traceback: no local variables are shown
    _say(f"cognibill: error: internal error: {type(exc).__name__}: {_shown(str(exc))}\n")
    _say("hint: this is a bug in cognibill; rerun with --debug for a traceback and report it\n")
    return int(ExitCode.INTERNAL)


def _shown(text: str) -> str:
    """A message with its control characters escaped (``\\x1b``): a cell or a file name in it
    must not reach the terminal raw (issue 11)."""
    if text.isprintable():
        return text
    from cognibill.entries import escape_controls

    return "\n".join(escape_controls(part) for part in text.split("\n"))


def _invoke(args: list[str]) -> int:
    """Run the command in ``args``; Typer/click's own errors (usage, ``Exit``) become the exit
    code here, everything else goes to :func:`_boundary` unchanged. (click's standalone main
    would turn an EOFError into "Aborted!" and exit 1, the findings code, and a broken pipe or
    an interrupt into exit 1 or 130 without a word.)"""
    command = typer.main.get_command(make_app(args))
    try:
        with command.make_context("cognibill", list(args)) as ctx:
            command.invoke(ctx)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        _say("cognibill: aborted\n")
        return int(ExitCode.USAGE)
    except typer.TyperException as exc:  # click's usage errors: shown as click shows them
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            _say(f"cognibill: error: {exc.format_message()}\n")
        return int(exc.exit_code)
    return int(ExitCode.OK)


_SIGNAL_WORDS = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


def _stopped(signum: int) -> int:
    """One line for a run stopped by a signal; its exit status (128 + the signal)."""
    import signal

    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    _say(f"cognibill: {_SIGNAL_WORDS.get(name, 'stopped')} ({name})\n")
    return stopped_by(signum)


def _catch_stop_signals() -> dict[int, Any]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Stopped` (only those at their defaults, and
    only in the main thread); returns the handlers to put back."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    defaults = {
        "SIGINT": signal.default_int_handler,
        "SIGTERM": signal.SIG_DFL,
        "SIGHUP": signal.SIG_DFL,
    }
    saved: dict[int, Any] = {}
    for name, default in defaults.items():
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is default:
            saved[signum] = signal.signal(signum, _stop)
    return saved


def _stop(signum: int, frame: object) -> None:
    """The handler: the first stop signal stops the run; later ones are ignored, so that they
    cannot cut the clean-up short (SIGKILL remains for the impatient)."""
    import signal

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            with suppress(ValueError, OSError):
                signal.signal(getattr(signal, name), signal.SIG_IGN)
    _state["signal"] = signum
    raise Stopped(signum)


def _restore_signals(saved: dict[int, Any]) -> None:
    import signal

    for signum, handler in saved.items():
        with suppress(ValueError, OSError, TypeError):
            signal.signal(signum, handler)


def _standard_streams() -> Callable[[], None]:
    """Standard streams a command can trust; returns how to put the old ones back.

    A closed descriptor 0, 1 or 2 is held by /dev/null, so no file the run opens lands on it
    (a report on descriptor 2 would collect every stray message). A closed stdin reads as an
    input error, a closed stdout fails on the first write with an output error (exit 5): as
    ``cat <&-`` and ``ls >&-`` do. The real stdout writes through a stream whose write errors
    (a full disk: ENOSPC) name "standard output" (:func:`cognibill.writers.guarded_stream`).
    """
    before = (sys.stdin, sys.stdout, sys.stderr)
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            with suppress(OSError):
                held = os.open(os.devnull, os.O_RDWR)
                if held != fd:
                    os.dup2(held, fd)
                    os.close(held)
    if sys.stdin is None:
        sys.stdin = _ClosedInput()
    if sys.stderr is None:
        with suppress(OSError):
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 - descriptor 2: /dev/null
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    elif sys.stdout is sys.__stdout__ and isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout = _guarded_stdout(sys.stdout)

    def put_back() -> None:
        sys.stdin, sys.stdout, sys.stderr = before

    return put_back


def _guarded_stdout(real: io.TextIOWrapper) -> TextIO:
    from cognibill.writers import guarded_stream

    try:
        fd = real.fileno()
        real.flush()
    except (OSError, ValueError):
        return real
    return guarded_stream(
        fd,
        "standard output",
        encoding=real.encoding,
        errors=real.errors or "strict",
        newline=None,
        line_buffering=real.line_buffering,
        write_through=real.write_through,  # PYTHONUNBUFFERED, python -u
        closefd=False,
    )


def _flush_stdout() -> None:
    """stdout's last bytes written inside the boundary, where a failure has a message."""
    stream = sys.stdout
    if stream is not None and not getattr(stream, "closed", False):
        stream.flush()


class _ClosedInput(io.TextIOBase):
    """stdin when descriptor 0 was closed: reading it is an input error (exit 3)."""

    @property
    def buffer(self) -> io.RawIOBase:
        return _ClosedRaw()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        _ClosedRaw().readinto(bytearray())
        return ""


class _ClosedRaw(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise InputError("<stdin>", "cannot read it: standard input is closed")


class _ClosedOutput(io.TextIOBase):
    """stdout when descriptor 1 was closed: the first write is an output error (exit 5)."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        raise OutputError("standard output", "cannot write to it: it is closed")

    def flush(self) -> None:
        return None


def _default_sigpipe() -> None:
    """``cognibill … | head``: when the reader leaves, end at once and quietly, as Unix tools do
    (Python ignores SIGPIPE; click would turn the error into exit 1). The shell sees 141."""
    import signal

    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _quiet_broken_pipe() -> int:
    """The reader left and SIGPIPE was not there to end the run (Python's documented recipe):
    end quietly, with the status the shell would have seen (141)."""
    with suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    import signal

    return stopped_by(getattr(signal, "SIGPIPE", 13))

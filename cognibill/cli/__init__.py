"""The cognibill command line: thin commands over the pure core, and one error boundary."""

from __future__ import annotations

import os
import sys
from typing import Annotated, NoReturn

import typer

from cognibill import __version__
from cognibill.errors import CognibillError, InputError
from cognibill.exitcodes import ExitCode

_HELP = (
    "Units, claim checks and estimates for time-based therapy codes, "
    "built around cognitive rehabilitation (97129/97130)."
)

_state = {"debug": False}


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
_MODULES = ("units", "claims", "new", "rules", "codes", "money")
_COMMANDS = {
    "units": "units",
    "ranges": "units",
    "claim": "claims",
    "check": "claims",
    "new": "new",
    "rules": "rules",
    "codes": "codes",
    "fees": "money",
    "localities": "money",
    "payers": "money",
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


def _fail(message: str, hint: str | None, code: ExitCode) -> NoReturn:
    stream = sys.stderr
    stream.write(f"cognibill: error: {message}\n")
    if hint:
        stream.write(f"hint: {hint}\n")
    raise SystemExit(int(code))


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the app; turn every user error into a message and an exit code."""
    _state["debug"] = False
    _default_sigpipe()
    try:
        args = sys.argv[1:] if argv is None else argv
        make_app(args)(args=args, prog_name="cognibill")
    except CognibillError as exc:
        for line in exc.lines() if isinstance(exc, InputError) else [exc.message]:
            sys.stderr.write(f"cognibill: error: {line}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        raise SystemExit(int(exc.exit_code)) from None
    except BrokenPipeError:
        _quiet_broken_pipe()
    except KeyboardInterrupt:
        sys.stderr.write("cognibill: interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # the boundary: anything else is our bug
        if _state["debug"]:
            import traceback

            traceback.print_exception(exc)  # plain traceback: no local variables are shown
        _fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "this is a bug in cognibill; rerun with --debug for a traceback and report it",
            ExitCode.INTERNAL,
        )
    raise SystemExit(0)


def _default_sigpipe() -> None:
    """``cognibill … | head``: when the reader leaves, end at once and quietly, as Unix tools do
    (Python ignores SIGPIPE; click would turn the error into exit 1)."""
    import signal

    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _quiet_broken_pipe() -> NoReturn:
    """``cognibill … | head``: the reader left; end quietly (Python's documented recipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)

"""``cognibill new``: a commented template session file, to stdout or a path."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cognibill.cli.common import write_text_file


def new(
    path: Annotated[
        Path | None, typer.Argument(help="Write here instead of stdout.", show_default=False)
    ] = None,
    from_units: Annotated[
        int | None,
        typer.Option("--from-units", help="Pre-fill the cognitive service with these minutes."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented template session file (TOML) to fill in."""
    from cognibill.template import render_template

    if write_text_file(path, render_template(from_units), force=force):
        sys.stderr.write(f"wrote {path}\n")


def register(app: typer.Typer) -> None:
    app.command("new")(new)

"""Docs cannot drift: every command has help and a README entry; README output is real."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer.main

from cognibill.cli import app
from tests.conftest import REPO


def _commands() -> dict[str, Any]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help_and_a_readme_entry(name: str) -> None:
    command = _commands()[name]
    assert (command.help or "").strip(), f"{name} has no help text"
    assert f"`cognibill {name}" in (REPO / "README.md").read_text("utf-8")


def test_readme_examples_are_the_real_output() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "readme_examples.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_readme_gives_the_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/cognibill" in readme
    install = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]'"
    test_cmd = f"{install} && .venv/bin/python -m pytest"
    assert test_cmd in readme
    assert "grep -m1" in (REPO / ".ci" / "run").read_text("utf-8")


def test_every_exit_code_is_documented() -> None:
    from cognibill.exitcodes import ExitCode

    readme = (REPO / "README.md").read_text("utf-8")
    for code in ExitCode:
        assert f"| {code.value} |" in readme

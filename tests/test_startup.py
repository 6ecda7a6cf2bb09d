"""Start-up stays lean: --help and --version load no data, no TOML writer, no pydantic."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from cognibill.cli import main
from cognibill.catalogue import load_catalogue
try:
    main(sys.argv[1:])
except SystemExit:
    pass
watch = ("pydantic", "tomli_w", "cognibill.readers", "cognibill.rules", "cognibill.template",
         "cognibill.pipeline", "polars")
heavy = [m for m in watch if m in sys.modules]
sys.stderr.write(json.dumps({"heavy": heavy, "catalogue": load_catalogue.cache_info().currsize}))
"""


def _probe(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False
    )
    return json.loads(done.stderr.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_help_and_version_touch_no_data_and_no_heavy_module(args: tuple[str, ...]) -> None:
    assert _probe(*args) == {"heavy": [], "catalogue": 0}


def test_command_help_touches_no_data_no_toml_writer_and_no_session_models() -> None:
    """Typer itself imports pydantic to run a command; our models and data stay unloaded."""
    probe = _probe("units", "--help")
    assert probe["catalogue"] == 0
    assert [m for m in probe["heavy"] if m != "pydantic"] == []  # type: ignore[attr-defined]


def test_units_38_does_not_import_the_toml_writer_or_session_models() -> None:
    """It runs the engine (polars, the rule catalogue), nothing of session files or exports."""
    engine = {"pydantic", "polars", "cognibill.rules"}
    assert [m for m in _probe("units", "38")["heavy"] if m not in engine] == []  # type: ignore[attr-defined]


def test_units_38_builds_only_its_own_command_module() -> None:
    """Only the command being run is imported and built (lazy registration)."""
    probe = """
import sys
from cognibill.cli import main
try:
    main(["units", "38"])
except SystemExit:
    pass
sys.stderr.write(str(sorted(m for m in sys.modules if m.startswith("cognibill.cli."))))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    loaded = done.stderr.strip().splitlines()[-1]
    assert "cognibill.cli.claims" not in loaded and "cognibill.cli.money" not in loaded
    assert "cognibill.cli.units" in loaded

"""Exit codes are an API: one test per code (README documents them)."""

from __future__ import annotations

import subprocess
import sys

from cognibill.exitcodes import ExitCode


def test_exit_code_values_are_stable() -> None:
    assert [(c.name, c.value) for c in ExitCode] == [
        ("OK", 0),
        ("FINDINGS", 1),
        ("USAGE", 2),
        ("INPUT", 3),
        ("INTERNAL", 4),
        ("OUTPUT", 5),
    ]


def test_exit_0_when_all_is_well(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("units", "38").code == ExitCode.OK


def test_exit_2_for_a_bad_entry_and_for_a_bad_option(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("units", "abc").code == ExitCode.USAGE
    assert cli("units", "38", "--rule", "nonsense").code == ExitCode.USAGE
    assert cli("no-such-command").code == ExitCode.USAGE


def test_exit_4_for_an_internal_error_with_a_debug_hint(cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import cognibill.engine.one_visit as one_visit

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(one_visit, "one_visit", boom)
    run = cli("units", "38")
    assert run.code == ExitCode.INTERNAL
    assert "internal error: RuntimeError: simulated bug" in run.err
    assert "--debug" in run.err
    assert "Traceback" not in run.err
    debug = cli("--debug", "units", "38")
    assert debug.code == ExitCode.INTERNAL
    assert "Traceback" in debug.err


def test_python_dash_m_and_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cognibill", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("cognibill ")

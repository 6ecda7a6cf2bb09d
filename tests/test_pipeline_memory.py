"""A claim run (``cognibill.engine.run.ClaimRun``) makes no reference cycles per visit, so the
CLI runs it with the collector off."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest

from cognibill.cli.common import collector_paused
from cognibill.engine.run import ClaimRun, RunOptions
from tests.conftest import REPO, Run

CliRun = Callable[..., Run]
"""The ``cli`` fixture of ``tests/conftest.py``."""

SAMPLE = REPO / "tests" / "data" / "csv" / "generated_export.csv"


def _garbage_after_run(path: Path) -> int:
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        list(ClaimRun([str(path)], RunOptions()))
        return gc.collect()
    finally:
        if was:
            gc.enable()


def _repeated(tmp_path: Path, times: int) -> Path:
    """The sample export with its rows repeated for other patients: ``times`` as many visits."""
    header, *rows = SAMPLE.read_text(encoding="utf-8").splitlines()
    out = [header]
    for n in range(times):
        out += [f"R{n}-{row}" if row.strip() else row for row in rows]
    path = tmp_path / f"x{times}.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_cyclic_garbage_of_a_run_does_not_grow_with_its_visits(tmp_path: Path) -> None:
    once = _garbage_after_run(_repeated(tmp_path, 1))
    twenty = _garbage_after_run(_repeated(tmp_path, 20))
    # A run leaves a fixed handful of cycles (generators, closures), not some per visit.
    assert twenty <= once + 50, (once, twenty)


def test_the_collector_is_off_inside_a_batch_and_back_on_after_an_error() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("the writer failed")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("command", ["claim", "check"])
def test_claim_and_check_leave_the_collector_on_even_when_they_fail(
    cli: CliRun,
    command: str,
    tmp_path: Path,
) -> None:
    assert cli(command, str(SAMPLE), "-q", "--fail-on", "never").code == 0
    assert gc.isenabled()
    broken = tmp_path / "cp.csv"
    broken.write_bytes(b"Patient,DOS,Minutes\nP\xe9,2026-03-02,38\n")  # not UTF-8: exit 3
    assert cli(command, str(broken), "-q").code == 3
    assert gc.isenabled()

"""A claim run makes no reference cycles per visit, so it may run with the collector off."""

from __future__ import annotations

import gc
from pathlib import Path

from cognibill.pipeline import ClaimOptions, ClaimRun
from tests.conftest import REPO

SAMPLE = REPO / "sample_sessions" / "export.csv"


def _garbage_after_run(path: Path) -> int:
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        list(ClaimRun([str(path)], ClaimOptions()))
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


def test_a_run_turns_the_collector_off_while_it_goes_and_back_on_after() -> None:
    assert gc.isenabled()
    run = iter(ClaimRun([str(SAMPLE)], ClaimOptions()))
    next(run)
    assert not gc.isenabled()
    list(run)
    assert gc.isenabled()

"""Fuzzing in the suite (issue 11): hostile units entries, session files, payer files and exports,
bounded (about 2,300 examples in all, derandomised so that CI is repeatable) and fast (the file
runs in well under 30 s).

The cheap layer first: the entry, session-file and payer-file parsers are called directly,
thousands of times, and may only answer or raise their user error. Then a few hundred runs of
the real command line in-process (the ``cli`` fixture, through ``cognibill.cli.main`` and its
error boundary), each checked by the long campaign's own oracle (``scripts/fuzz.py``,
``check_run``): never exit 4, machine output parses, rows read = used + rejected + skipped, no
formula cell in CSV output (after NFKC), no raw control character in a table or a message, an
``--out`` report complete or untouched.
"""

from __future__ import annotations

import importlib.util
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognibill.engine.units import MAX_MINUTES
from cognibill.entries import parse_entries
from cognibill.errors import EntryError, InputError
from cognibill.payers import parse_payers, starter_profile
from cognibill.readers.session_file import read_session_text

REPO = Path(__file__).parent.parent


def _campaign() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cognibill_fuzz", REPO / "scripts" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


fuzz = _campaign()

SESSIONS = fuzz.fixtures("sessions")
EXPORTS = fuzz.fixtures("exports")
PAYERS = fuzz.fixtures("payers")


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


seeds = st.integers(0, 2**64).map(random.Random)
"""A seeded generator for the campaign's mutators: cheap for Hypothesis to draw, and a failure
names its seed (the mutators draw too many values for Hypothesis to shrink them usefully)."""

hostile_text = st.text(
    alphabet=st.sampled_from("0123456789=+-._ ,;:\"'\t\n\x1b\x07\u202e\u0663\uff13\uff1dabcGN"),
    max_size=14,
)
entries = st.one_of(
    st.sampled_from(fuzz.UNITS_TOKENS),
    hostile_text,
    st.builds(lambda code, text: f"{code}={text}", st.sampled_from(fuzz.CODES), hostile_text),
    st.builds(lambda code, n: f"{code}={n}", st.sampled_from(fuzz.CODES), st.integers(-10, 10**30)),
)


def _no_raw_controls(text: str) -> bool:
    return fuzz._RAW_CONTROL.search(text) is None


# -- the parsers, directly -------------------------------------------------------------------------


@bounded(1500)
@given(st.lists(entries, min_size=1, max_size=4))
def test_units_entries_give_entries_or_an_entry_error_and_nothing_else(texts: list[str]) -> None:
    try:
        parsed = parse_entries(texts)
    except EntryError as exc:
        assert _no_raw_controls(exc.message) and len(exc.message) < 400
        return
    assert all(0 <= entry.minutes <= MAX_MINUTES for entry in parsed)


@bounded(400)
@given(st.sampled_from(SESSIONS), seeds, st.booleans())
def test_session_files_give_visits_or_an_input_error_and_nothing_else(
    source: Path, rng: random.Random, by_value: bool
) -> None:
    data = source.read_bytes()
    data = fuzz.mutate_toml(data, rng) if by_value else fuzz.mutate_bytes(data, rng)
    try:
        visits = read_session_text(data, "fuzzed.toml")
    except InputError as exc:
        assert all(_no_raw_controls(line) for line in exc.lines())
        return
    for visit in visits:
        assert visit.services, "a visit without services is refused"
        assert all(0 < service.minutes <= MAX_MINUTES for service in visit.services)


@bounded(250)
@given(seeds, st.booleans(), st.integers(0, len(PAYERS)))
def test_payer_files_give_profiles_or_an_input_error_and_nothing_else(
    rng: random.Random, by_value: bool, which: int
) -> None:
    data = PAYERS[which].read_bytes() if which < len(PAYERS) else starter_profile("acme").encode()
    data = fuzz.mutate_toml(data, rng) if by_value else fuzz.mutate_bytes(data, rng)
    try:
        parse_payers(data.decode("utf-8", "replace"), "fuzzed.toml")
    except InputError as exc:
        assert all(_no_raw_controls(line) for line in exc.lines())


# -- the command line, in-process ------------------------------------------------------------------


def run(cli: Any, case: Any, root: Path) -> Any:
    """``case`` through the ``cli`` fixture in a fresh folder under ``root``: a campaign
    ``Result`` for ``check_run`` (file names in the arguments made absolute)."""
    folder = Path(tempfile.mkdtemp(dir=root))
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    if case.out is not None:
        (folder / case.out).write_bytes(fuzz.SENTINEL)
    before = {p.name for p in folder.iterdir()}
    named = {*case.files, case.out}
    args = [str(folder / a) if a in named else a for a in case.args]
    done = cli("--debug", *args)
    report = None
    if case.out is not None and (folder / case.out).is_file():
        report = (folder / case.out).read_bytes()
    left = sorted({p.name for p in folder.iterdir()} - before)
    return fuzz.Result(done.code, done.out, done.err, 0.0, report, left)


def assert_holds(case: Any, result: Any) -> None:
    problems = fuzz.check_run(case, result)
    assert not problems, (problems, case.args, result.err[-2000:])


@bounded(60)
@given(seeds)
def test_units_on_the_command_line_never_fail_inside(
    cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    case = fuzz.units_case(rng)
    assert_holds(case, run(cli, case, tmp_path))


def _file_case(draw_case: Callable[[random.Random], Any], rng: random.Random) -> Any:
    case = draw_case(rng)
    while case.stdin:  # the cli fixture has no stdin to give; the campaign covers it
        case = draw_case(rng)
    return case


@bounded(50)
@given(seeds)
def test_session_files_on_the_command_line_never_fail_inside(
    cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    case = _file_case(lambda r: fuzz.session_case(r, SESSIONS), rng)
    assert_holds(case, run(cli, case, tmp_path))


@bounded(30)
@given(seeds)
def test_exports_on_the_command_line_never_fail_inside(
    cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    case = _file_case(lambda r: fuzz.export_case(r, EXPORTS), rng)
    assert_holds(case, run(cli, case, tmp_path))


@bounded(25)
@given(seeds)
def test_payer_files_on_the_command_line_never_fail_inside(
    cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    case = fuzz.payers_case(rng, PAYERS)
    assert_holds(case, run(cli, case, tmp_path))


# -- the oracle itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "formula"),
    [
        ("=1+1", True),
        ("\uff1d1+1", True),  # fullwidth = is = after NFKC
        (" @SUM(A1)", True),
        ("\t=1", True),
        ("'=1+1", False),  # neutralised
        ("-5", False),  # a plain number runs nothing
        ("+2.5", False),
        ("-1+2", True),
        ("P-1001", False),
    ],
)
def test_the_formula_oracle_sees_formulas_after_nfkc(cell: str, formula: bool) -> None:
    assert fuzz.is_formula(cell) is formula


def test_the_summary_oracle_catches_rows_that_do_not_add_up() -> None:
    good = '{"summary": {"rows_read": 3, "rows_used": 1, "rows_rejected": 1, "rows_skipped": 1}}'
    assert fuzz.check_output("json", good) == []
    bad = '{"summary": {"rows_read": 4, "rows_used": 1, "rows_rejected": 1, "rows_skipped": 1}}'
    assert fuzz.check_output("json", bad) == ["rows-read-not-used-rejected-skipped"]


def test_the_out_oracle_catches_a_report_a_failed_run_replaced() -> None:
    case = fuzz.Case(
        "export", ["claim", "-f", "json", "--out", "r.json", "x.csv"], out="r.json", fmt="json"
    )
    replaced = fuzz.Result(3, "", "cognibill: error: x", 0.0, b"{}", [])
    assert fuzz.check_run(case, replaced) == ["out-changed-by-a-failed-run"]
    kept = fuzz.Result(3, "", "cognibill: error: x", 0.0, fuzz.SENTINEL, [])
    assert fuzz.check_run(case, kept) == []

"""The claims ledger's core (issue 12): the file, its schema, recording runs, the look-ups."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cognibill.engine.thresholds import Thresholds
from cognibill.errors import EntryError, InputError, OutputError, Stopped
from cognibill.ledger import (
    Ledger,
    RunInput,
    RunRecord,
    parse_seed_csv,
    resolve_ledger_path,
    store,
)
from cognibill.ledger import schema as ledger_schema
from cognibill.ledger.store import open_ledger
from tests.conftest import REPO

JAN = dt.date(2026, 1, 12)
FEB = dt.date(2026, 2, 9)
LIMITS = Thresholds(kx={2025: 241_000, 2026: 248_000}, review=300_000)


def claim_lines(*specs: dict[str, Any]) -> pl.DataFrame:
    """Claim lines as ``outputs.claims.CLAIM_LINE`` names them; each spec overrides a
    Medicare SLP 97129 x1 at $21.67 for patient P1 on 12 January 2026."""
    base = {
        "patient_id": "P1",
        "date": JAN,
        "provider": "1234567890",
        "discipline": "slp",
        "payer": "medicare",
        "code": "97129",
        "units": 1,
        "modifiers": ["GN"],
        "allowed_lo": 2167,
        "allowed_hi": 2167,
        "payer_pays_lo": 1699,
        "payer_pays_hi": 1699,
        "patient_owes_lo": 433,
        "patient_owes_hi": 433,
        "visit_key": "patient, date of service, rendering provider, discipline",
    }
    rows = [base | spec for spec in specs]
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "date": pl.Date,
            "provider": pl.String,
            "discipline": pl.String,
            "payer": pl.String,
            "code": pl.String,
            "units": pl.Int32,
            "modifiers": pl.List(pl.String),
            "allowed_lo": pl.Int64,
            "allowed_hi": pl.Int64,
            "payer_pays_lo": pl.Int64,
            "payer_pays_hi": pl.Int64,
            "patient_owes_lo": pl.Int64,
            "patient_owes_hi": pl.Int64,
            "visit_key": pl.String,
        },
    )


def month_one() -> pl.DataFrame:
    """A January visit: 38 minutes of 97129/97130 (97129 x1, 97130 x2: RULES.md §5)."""
    return claim_lines(
        {},
        {"code": "97130", "units": 2, "allowed_lo": 4140, "allowed_hi": 4140},
    )


RUN = RunRecord(
    inputs=(RunInput("january.csv", "a" * 64, 1234),),
    fee_data=("cms-2026-07",),
    options={"payer": "medicare", "visit_key": ["patient", "date"]},
)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(tmp_path / "year.ledger") as ledger:
        yield ledger


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def snapshot(ledger: Ledger) -> tuple[list[Any], ...]:
    everything = ledger.export()
    return tuple(f.rows() for f in everything)


# -- the file -------------------------------------------------------------------------------


def test_a_new_ledger_has_the_tables_and_the_current_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "year.ledger"
    with open_ledger(path) as ledger:
        assert ledger.schema_version == ledger_schema.SCHEMA_VERSION == 1
    conn = raw(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    assert {"runs", "run_inputs", "lines", "seeds"} <= names
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("PRAGMA application_id").fetchone()[0] == ledger_schema.APPLICATION_ID
    strict = {r[1]: r[5] for r in conn.execute("PRAGMA table_list") if r[0] == "main"}
    assert all(strict[t] == 1 for t in ("runs", "run_inputs", "lines", "seeds"))


def test_the_ledger_uses_write_ahead_logging_and_foreign_keys(book: Ledger) -> None:
    assert book._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert book._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_ledger_and_its_wal_and_shm_files_are_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "year.ledger"
    old = os.umask(0o022)  # a usual umask would make them 0644
    try:
        with open_ledger(path) as ledger:
            ledger.record_run(RUN, month_one())
            wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
            assert wal.exists() and shm.exists()
            for file in (path, wal, shm):
                assert file.stat().st_mode & 0o777 == 0o600, file
    finally:
        os.umask(old)
    assert os.umask(old) == old  # put back as it was


def test_a_missing_folder_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"folder .* does not exist"):
        open_ledger(tmp_path / "no-such-folder" / "year.ledger")
    assert not (tmp_path / "no-such-folder").exists()


def test_a_read_without_create_does_not_make_an_empty_ledger(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no ledger here"):
        open_ledger(tmp_path / "year.ledger", create=False)
    assert not (tmp_path / "year.ledger").exists()


def test_a_folder_is_not_a_ledger(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        open_ledger(tmp_path)


def test_a_corrupt_file_is_an_input_error_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "year.ledger"
    path.write_bytes(b"this is not a database at all, just some text\n" * 100)
    with pytest.raises(InputError, match="not a cognibill ledger, or damaged") as caught:
        open_ledger(path)
    assert int(caught.value.exit_code) == 3


def test_another_programs_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = raw(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()
    with pytest.raises(InputError, match="not a cognibill ledger"):
        open_ledger(path)


def test_a_ledger_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "year.ledger"
    open_ledger(path).close()
    conn = raw(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(InputError, match="schema 99, newer than this cognibill's"):
        open_ledger(path)


def test_pending_migrations_apply_in_one_transaction_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "year.ledger"
    with open_ledger(path) as ledger:
        ledger.record_run(RUN, month_one())
    broken = ("CREATE TABLE extra (x INTEGER) STRICT", "INSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(ledger_schema, "MIGRATIONS", (*ledger_schema.MIGRATIONS, broken))
    monkeypatch.setattr(ledger_schema, "SCHEMA_VERSION", 2)
    with pytest.raises(InputError):
        open_ledger(path)
    conn = raw(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert (
        conn.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").fetchone()[0] == 0
    )
    conn.close()
    good = ("CREATE TABLE extra (x INTEGER) STRICT", "INSERT INTO extra VALUES (1)")
    monkeypatch.setattr(ledger_schema, "MIGRATIONS", (ledger_schema._V1, good))
    with open_ledger(path) as ledger:
        assert ledger.schema_version == 2
        assert ledger.export().lines.height == 2  # the data came along


def test_strict_tables_refuse_a_wrong_type_and_checks_a_bad_date(book: Ledger) -> None:
    book.record_run(RUN, month_one())
    conn = book._conn
    insert = (
        "INSERT INTO lines (run_id, patient, date, code, units) VALUES (1, 'P1', ?, '97129', ?)"
    )
    with pytest.raises(sqlite3.IntegrityError, match="cannot store TEXT value in INTEGER"):
        conn.execute(insert, ("2026-01-12", "two"))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint"):
        conn.execute(insert, ("2026-02-30", 1))
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        conn.execute(insert.replace("(1,", "(42,"), ("2026-01-12", 1))


# -- recording a run ------------------------------------------------------------------------


def test_a_run_records_its_inputs_versions_options_and_lines(book: Ledger) -> None:
    done = book.record_run(RUN, month_one())
    assert done == (1, 2, 0, 0, 0)
    run = book.runs().row(0, named=True)
    assert run["inputs"] == [{"path": "january.csv", "sha256": "a" * 64, "size": 1234}]
    assert run["fee_data"] == ["cms-2026-07"]
    assert run["tool_version"] == "0.1.0"
    assert '"payer": "medicare"' in run["options"]
    assert (run["lines"], run["patients"], run["allowed_lo"]) == (2, 1, 6307)
    lines = book.export().lines
    assert lines.select("code", "units", "modifiers", "group", "payer_lo").rows() == [
        ("97129", 1, ["GN"], "pt-slp", 1699),
        ("97130", 2, ["GN"], "pt-slp", 1699),
    ]


def test_lines_with_no_units_are_left_out_and_counted(book: Ledger) -> None:
    done = book.record_run(RUN, claim_lines({}, {"code": "97110", "units": 0}))
    assert (done.added, done.left_out) == (1, 1)


def test_the_threshold_group_comes_from_the_engines_rule() -> None:
    """GO → OT, GP or GN → PT+SLP, else by discipline (RULES.md §6): one function, imported."""
    from cognibill.engine.thresholds import threshold_group

    lines = claim_lines(
        {"modifiers": ["GO"], "discipline": "slp"},
        {"modifiers": ["GP"]},
        {"modifiers": [], "discipline": "ot"},
        {"modifiers": [], "discipline": None},
    )
    rows, _ = store._ledger_rows(lines)
    assert rows.get_column("threshold_group").to_list() == ["ot", "pt-slp", "ot", None]
    source = Path(store.__file__).read_text("utf-8")
    assert "from cognibill.engine.thresholds import threshold_group" in source
    assert "GROUP_OF_DISCIPLINE" not in source and callable(threshold_group)


def test_recording_the_same_lines_again_changes_nothing(book: Ledger) -> None:
    book.record_run(RUN, month_one())
    before = snapshot(book)
    again = book.record_run(RUN, month_one())
    assert again == (None, 0, 2, 0, 0)
    assert snapshot(book) == before


def test_identical_lines_of_one_run_are_kept_and_not_doubled_on_a_rerun(book: Ledger) -> None:
    twice = claim_lines({}, {})  # the same code twice on one day (e.g. two sessions)
    assert book.record_run(RUN, twice).added == 2
    assert book.record_run(RUN, twice).added == 0
    assert book.record_run(RUN, claim_lines({}, {}, {})).added == 1
    assert book.export().lines.height == 3


def test_a_changed_line_is_added_beside_the_old_one_without_replace(book: Ledger) -> None:
    book.record_run(RUN, month_one())
    done = book.record_run(RUN, claim_lines({"units": 2, "allowed_lo": 4334, "allowed_hi": 4334}))
    assert (done.added, done.replaced) == (1, 0)
    assert book.export().lines.height == 3


def test_replace_deletes_the_earlier_lines_of_the_same_visits_first(book: Ledger) -> None:
    book.record_run(RUN, month_one())
    book.record_run(RUN, claim_lines({"patient_id": "P2"}))
    corrected = claim_lines({"code": "97129", "units": 1}, {"code": "97130", "units": 1})
    visits = pl.DataFrame({"patient": ["P1"], "date": [JAN], "provider": ["1234567890"]})
    done = book.record_run(RUN, corrected, visits)
    assert (done.added, done.duplicates, done.replaced) == (2, 0, 2)
    lines = book.export().lines
    assert sorted(lines.select("patient", "code", "units").rows()) == [
        ("P1", "97129", 1),
        ("P1", "97130", 1),
        ("P2", "97129", 1),
    ]


def test_replace_with_another_provider_leaves_the_visit_alone(book: Ledger) -> None:
    book.record_run(RUN, month_one())
    visits = pl.DataFrame({"patient": ["P1"], "date": [JAN], "provider": ["other"]})
    assert book.record_run(RUN, claim_lines({"code": "92507"}), visits).replaced == 0


def test_an_error_before_commit_leaves_the_ledger_as_it_was(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    book.record_run(RUN, month_one())
    before = snapshot(book)

    def fail() -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(store, "BEFORE_COMMIT", [fail])
    month_two = claim_lines({"date": FEB}, {"date": FEB, "code": "97130"})
    visits = pl.DataFrame({"patient": ["P1"], "date": [JAN], "provider": ["1234567890"]})
    with pytest.raises(RuntimeError):
        book.record_run(RUN, month_two, visits)
    assert snapshot(book) == before


def test_a_stop_signal_before_commit_leaves_the_ledger_as_it_was(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's handler raises Stopped (a BaseException) on SIGINT/SIGTERM."""
    book.record_run(RUN, month_one())
    before = snapshot(book)

    def stop() -> None:
        raise Stopped(signal.SIGTERM)

    monkeypatch.setattr(store, "BEFORE_COMMIT", [stop])
    with pytest.raises(Stopped):
        book.record_run(RUN, claim_lines({"date": FEB}))
    assert snapshot(book) == before
    monkeypatch.setattr(store, "BEFORE_COMMIT", [])
    assert book.record_run(RUN, claim_lines({"date": FEB})).added == 1  # usable after


_CHILD = """
import contextlib, sys, time
from pathlib import Path
from cognibill.ledger import store
from tests.test_ledger_store import RUN, claim_lines, FEB
marker = Path(sys.argv[2])
def wait() -> None:
    marker.write_text("in the transaction")
    time.sleep(60)
store.BEFORE_COMMIT.append(wait)
with store.open_ledger(sys.argv[1]) as ledger:
    ledger._conn.execute("PRAGMA cache_size = 2")  # spill to the WAL before the commit
    store._cache_for = lambda conn, lines: contextlib.nullcontext()  # and keep it small
    many = claim_lines(*({"date": FEB, "patient_id": f"P{n}"} for n in range(3000)))
    ledger.record_run(RUN, many)
"""


def test_a_process_killed_by_sigterm_mid_record_leaves_the_ledger_unchanged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "year.ledger"
    with open_ledger(path) as ledger:
        ledger.record_run(RUN, month_one())
        before = snapshot(ledger)
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_CHILD), str(path), str(marker)],
        cwd=REPO,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert Path(f"{path}-wal").stat().st_size > 0  # the lines were written, uncommitted
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with open_ledger(path) as ledger:
        assert snapshot(ledger) == before


def test_a_second_writer_waits_then_fails_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "year.ledger"
    open_ledger(path).close()
    other = raw(path)
    other.execute("BEGIN IMMEDIATE")  # another run is recording
    try:
        with open_ledger(path, timeout=0.2) as ledger:
            started = time.monotonic()
            with pytest.raises(OutputError, match="in use by another run") as caught:
                ledger.record_run(RUN, month_one())
            assert time.monotonic() - started >= 0.15
            assert int(caught.value.exit_code) == 5
    finally:
        other.execute("ROLLBACK")
        other.close()
    with open_ledger(path) as ledger:
        assert ledger.record_run(RUN, month_one()).added == 2


# -- void and seed --------------------------------------------------------------------------


def test_void_removes_a_run_and_its_lines_and_its_id_is_not_reused(book: Ledger) -> None:
    first = book.record_run(RUN, month_one()).run_id
    second = book.record_run(RUN, claim_lines({"date": FEB})).run_id
    assert second is not None
    assert book.void(second) == 1
    assert book.runs().get_column("run_id").to_list() == [first]
    third = book.record_run(RUN, claim_lines({"date": FEB})).run_id
    assert third == second + 1
    with pytest.raises(EntryError, match="no run 99"):
        book.void(99)


SEED_HEADER = "patient,year,group,amount,as_of,source\n"


def test_seed_rows_are_read_with_dollars_and_group_names() -> None:
    rows = parse_seed_csv(
        SEED_HEADER
        + 'P1,2026,PT+SLP,"$1,200.50",2026-01-31,MAC portal\nP1,2026,ot,80,2026-01-31,x\n',
        "seed.csv",
    )
    assert [(r.group, r.cents, r.line) for r in rows] == [("pt-slp", 120_050, 2), ("ot", 8000, 3)]


def test_bad_seed_rows_are_all_reported_with_line_numbers_and_no_patient_data() -> None:
    text = SEED_HEADER + (
        "SECRET-ID,2026,pt-slp,100,2026-01-31,portal\n"
        "P2,26,speech,-5,2026-13-01,\n"
        "P3,2026,ot,1.005,2025-12-31,portal\n"
        "SECRET-ID,2026,pt-slp,100,2026-01-31,portal\n"
        ",2026,ot,1,2026-01-01,portal,extra\n"
    )
    with pytest.raises(InputError) as caught:
        parse_seed_csv(text, "seed.csv")
    shown = caught.value.lines()
    assert shown == [
        "seed.csv:3: year: '26' is not a year (2000-2100)",
        "seed.csv:3: group: 'speech' is not a threshold group; use pt-slp or ot",
        "seed.csv:3: amount: '-5' is not an amount of 0 or more",
        "seed.csv:3: as_of: '2026-13-01' is not a date (YYYY-MM-DD)",
        "seed.csv:3: source: empty: say where the amount came from",
        "seed.csv:4: amount: '1.005' has more than 2 decimals",
        "seed.csv:4: as_of: 2025-12-31 is not in 2026",
        "seed.csv:5: the same patient, year, group, as_of and source as line 2",
        "seed.csv:6: 7 cells, the header has 6",
    ]
    assert "SECRET-ID" not in "\n".join(shown)
    assert "nothing was seeded" in caught.value.message


def test_a_seed_file_without_the_columns_is_refused() -> None:
    with pytest.raises(InputError, match="missing columns as_of, source"):
        parse_seed_csv("patient,year,group,amount\n", "seed.csv")


def test_seeding_again_changes_an_amount_or_nothing(book: Ledger) -> None:
    rows = parse_seed_csv(SEED_HEADER + "P1,2026,pt-slp,100,2026-01-31,portal\n", "s.csv")
    assert book.seed(rows) == (1, 0, 0)
    assert book.seed(rows) == (0, 0, 1)
    changed = parse_seed_csv(SEED_HEADER + "P1,2026,pt-slp,150,2026-01-31,portal\n", "s.csv")
    assert book.seed(changed) == (0, 1, 0)
    assert book.export().seeds.get_column("amount").to_list() == [15_000]


# -- look-ups -------------------------------------------------------------------------------


def test_prior_lines_come_in_date_order_with_seeds_first_on_their_day(book: Ledger) -> None:
    book.record_run(RUN, claim_lines({"date": FEB}))  # February recorded first
    book.record_run(RUN, month_one())  # then a late January
    book.record_run(RUN, claim_lines({"patient_id": "P2"}, {"date": dt.date(2025, 12, 1)}))
    book.record_run(
        RUN, claim_lines({"date": FEB, "code": "97150", "discipline": None, "modifiers": []})
    )  # no threshold group
    book.seed(parse_seed_csv(SEED_HEADER + "P1,2026,pt-slp,500,2026-01-12,portal\n", "s.csv"))
    prior = book.prior_lines(["P1"], [2026])
    assert prior.select("date", "seed", "code", "allowed_lo").rows() == [
        (JAN, True, None, 50_000),
        (JAN, False, "97129", 2167),
        (JAN, False, "97130", 4140),
        (FEB, False, "97129", 2167),
    ]
    assert prior.filter(~pl.col("seed")).get_column("run_id").to_list() == [2, 2, 1]
    assert prior.get_column("source").to_list() == ["portal", None, None, None]
    assert prior.schema == pl.Schema(store.PRIOR)
    assert book.prior_lines(["P1", "P2"], [2025]).get_column("patient").to_list() == ["P1"]


def test_the_year_look_up_uses_an_index(book: Ledger) -> None:
    plan = book._conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM lines WHERE patient = ? AND date BETWEEN ? AND ?",
        ("P1", "2026-01-01", "2026-12-31"),
    ).fetchall()
    assert any(
        "USING INDEX lines_by_day (patient=? AND date>? AND date<?)" in str(row[-1]) for row in plan
    ), plan


def test_billed_before_names_the_first_run_of_a_patient_date_provider_and_code(
    book: Ledger,
) -> None:
    book.record_run(RUN, month_one())
    book.record_run(RUN, claim_lines({"units": 3}, {"provider": None, "code": "92507"}))
    keys = pl.DataFrame(
        {
            "patient": ["P1", "P1", "P1", "P1"],
            "date": [JAN, JAN, FEB, JAN],
            "provider": ["1234567890", "1234567890", "1234567890", None],
            "code": ["97129", "97130", "97129", "92507"],
        }
    )
    found = book.billed_before(keys)
    assert found.select("provider", "code", "run_id", "lines").rows() == [
        ("1234567890", "97129", 1, 2),
        ("1234567890", "97130", 1, 1),
        (None, "92507", 2, 1),
    ]
    assert found.schema == pl.Schema(store.BILLED)


def test_year_to_date_adds_the_lines_and_seeds_and_gives_the_distances(book: Ledger) -> None:
    book.record_run(RUN, month_one())
    book.record_run(RUN, claim_lines({"payer": "commercial", "date": FEB}))  # not tracked
    book.record_run(RUN, claim_lines({"modifiers": ["GO"], "discipline": "ot", "date": FEB}))
    book.seed(parse_seed_csv(SEED_HEADER + "P1,2026,ot,2500,2026-01-31,portal\n", "s.csv"))
    ytd = book.year_to_date("P1", 2026, tracked={"medicare"}, limits=LIMITS)
    slp, ot = ytd.groups
    assert (slp.group, slp.billed_lo, slp.seeded, slp.total_lo, slp.lines) == (
        "pt-slp",
        6307,
        0,
        6307,
        2,
    )
    assert (slp.kx, slp.to_kx, slp.review, slp.to_review) == (
        248_000,
        248_000 - 6307,
        300_000,
        300_000 - 6307,
    )
    assert (ot.total_lo, ot.to_kx) == (250_000 + 2167, 248_000 - 252_167)  # past: negative
    assert ytd.lines.height == 4
    assert ytd.lines.get_column("counted").to_list() == [True, True, False, True]


def test_year_to_date_loads_the_thresholds_when_none_are_given(book: Ledger) -> None:
    ytd = book.year_to_date("P1", 2026)
    assert ytd.groups[0].kx == Thresholds.load().kx[2026] == 248_000  # RULES.md §6


# -- which ledger ---------------------------------------------------------------------------


def test_the_ledger_path_is_no_ledger_then_option_then_env_then_config(tmp_path: Path) -> None:
    env = {"COGNIBILL_LEDGER": "/env/year.ledger"}
    config = {"ledger": "/config/year.ledger"}
    option = Path("/option/year.ledger")
    assert resolve_ledger_path(option, True, env, config) is None
    assert resolve_ledger_path(option, False, env, config) == option
    assert resolve_ledger_path(None, False, env, config) == Path("/env/year.ledger")
    assert resolve_ledger_path(None, False, {"COGNIBILL_LEDGER": " "}, config) == Path(
        "/config/year.ledger"
    )
    assert resolve_ledger_path(None, False, {}, None) is None
    assert resolve_ledger_path(None, False, {}, {"ledger": ""}) is None
    with pytest.raises(InputError, match="expected a file name"):
        resolve_ledger_path(None, False, {}, {"ledger": 3})


def test_a_relative_config_setting_is_next_to_the_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cognibill.ledger import load_user_config, user_config_path

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_config_path() == tmp_path / "cognibill" / "config.toml"
    assert load_user_config() is None
    (tmp_path / "cognibill").mkdir()
    user_config_path().write_text('ledger = "billing/2026.ledger"\n', "utf-8")
    config = load_user_config()
    assert resolve_ledger_path(None, False, {}, config) == (
        tmp_path / "cognibill" / "billing" / "2026.ledger"
    )
    user_config_path().write_text("ledger = \n", "utf-8")
    with pytest.raises(InputError, match="not a TOML file"):
        load_user_config()

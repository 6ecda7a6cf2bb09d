"""The ledger file: opening (created 0600, migrated), recording runs, and the look-ups."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import polars as pl

from cognibill import __version__
from cognibill.errors import EntryError, InputError, OutputError
from cognibill.ledger import schema
from cognibill.ledger.seeds import SeedRow

GROUPS = ("pt-slp", "ot")
"""The threshold groups (RULES.md §6): PT and SLP together, OT apart."""


LEDGER_LINE: dict[str, pl.DataType | type[pl.DataType]] = {
    "line_id": pl.Int64,
    "run_id": pl.Int64,
    "recorded_at": pl.Datetime("ms", "UTC"),
    "patient": pl.String,
    "date": pl.Date,
    "provider": pl.String,
    "discipline": pl.String,
    "payer": pl.String,
    "code": pl.String,
    "units": pl.Int32,
    "modifiers": pl.List(pl.String),
    "allowed_lo": pl.Int64,
    "allowed_hi": pl.Int64,
    "payer_lo": pl.Int64,
    "payer_hi": pl.Int64,
    "patient_lo": pl.Int64,
    "patient_hi": pl.Int64,
    "group": pl.String,
    "visit_key": pl.String,
}
"""A claim line as the ledger gives it back (``export``, ``year_to_date``)."""

PRIOR: dict[str, pl.DataType | type[pl.DataType]] = {
    "patient": pl.String,
    "date": pl.Date,
    "year": pl.Int32,
    "group": pl.String,
    "allowed_lo": pl.Int64,
    "allowed_hi": pl.Int64,
    "payer": pl.String,
    "provider": pl.String,
    "code": pl.String,
    "modifiers": pl.List(pl.String),
    "seed": pl.Boolean,
    "line_id": pl.Int64,
    "run_id": pl.Int64,
    "run_time": pl.Datetime("ms", "UTC"),
    "source": pl.String,
}
"""``prior_lines``: the ledger's lines and seeds that count toward a threshold."""

BILLED: dict[str, pl.DataType | type[pl.DataType]] = {
    "patient": pl.String,
    "date": pl.Date,
    "provider": pl.String,
    "code": pl.String,
    "run_id": pl.Int64,
    "recorded_at": pl.Datetime("ms", "UTC"),
    "lines": pl.Int64,
}
"""``billed_before``: a (patient, date, provider, code) found in the ledger, its first run."""

RUNS: dict[str, pl.DataType | type[pl.DataType]] = {
    "run_id": pl.Int64,
    "recorded_at": pl.Datetime("ms", "UTC"),
    "started_at": pl.Datetime("ms", "UTC"),
    "tool_version": pl.String,
    "fee_data": pl.List(pl.String),
    "options": pl.String,
    "inputs": pl.List(pl.Struct({"path": pl.String, "sha256": pl.String, "size": pl.Int64})),
    "lines": pl.Int64,
    "patients": pl.Int64,
    "first_date": pl.Date,
    "last_date": pl.Date,
    "allowed_lo": pl.Int64,
    "allowed_hi": pl.Int64,
}
"""``runs``: one row per recorded run, oldest first."""

SEEDS: dict[str, pl.DataType | type[pl.DataType]] = {
    "seed_id": pl.Int64,
    "patient": pl.String,
    "year": pl.Int32,
    "group": pl.String,
    "amount": pl.Int64,
    "as_of": pl.Date,
    "source": pl.String,
    "seeded_at": pl.Datetime("ms", "UTC"),
}
"""``export``'s seeds (``amount`` in cents)."""

_COLUMNS = (
    "patient",
    "date",
    "provider",
    "discipline",
    "payer",
    "code",
    "units",
    "modifiers",
    "allowed_lo",
    "allowed_hi",
    "payer_lo",
    "payer_hi",
    "patient_lo",
    "patient_hi",
    "threshold_group",
    "visit_key",
)
"""The columns of ``lines`` a run writes, in order."""

_SAME = tuple(c for c in _COLUMNS if c not in ("threshold_group", "visit_key"))
"""What makes two lines the same line: everything but the derived group and the key's name."""

_ALIASES = {
    "patient_id": "patient",
    "payer_pays_lo": "payer_lo",
    "payer_pays_hi": "payer_hi",
    "patient_owes_lo": "patient_lo",
    "patient_owes_hi": "patient_hi",
    "group": "threshold_group",
}
"""Claim-line column names (``outputs.claims.CLAIM_LINE``) → the ledger's."""

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"


@dataclass(frozen=True)
class RunInput:
    """One input file of a run: its name as given, sha256 (hex) and size in bytes (None for
    standard input, which cannot be read twice)."""

    path: str
    sha256: str | None = None
    size: int | None = None


def digest_input(path: str | Path) -> RunInput:
    """A :class:`RunInput` for the file at ``path`` (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
    return RunInput(str(path), digest.hexdigest(), size)


@dataclass(frozen=True)
class RunRecord:
    """What a run says about itself: inputs, versions, options (JSON-able), start time."""

    inputs: Sequence[RunInput] = ()
    fee_data: Sequence[str] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    tool_version: str = __version__
    recorded_at: dt.datetime | None = None
    """None: the time of recording (UTC)."""


class RecordResult(NamedTuple):
    """What ``record_run`` did: the run's id (None when nothing changed and no run was kept),
    lines added, lines skipped as already in the ledger, lines of earlier runs replaced, and
    lines left out as not billable (0 units, or no patient or date)."""

    run_id: int | None
    added: int
    duplicates: int
    replaced: int
    left_out: int


class SeedResult(NamedTuple):
    """What ``seed`` did: rows added, rows whose amount changed, rows already there."""

    added: int
    updated: int
    unchanged: int


@dataclass(frozen=True)
class GroupToDate:
    """One threshold group's year so far, in cents: ledger lines, seeds, total (low and high
    ends), the thresholds and the distance to each (negative: past it). Thresholds count the
    low end, as the engine does."""

    group: str
    label: str
    billed_lo: int
    billed_hi: int
    seeded: int
    total_lo: int
    total_hi: int
    kx: int | None
    to_kx: int | None
    review: int
    to_review: int
    lines: int


@dataclass(frozen=True)
class YearToDate:
    """``year_to_date``: both groups, and the patient's lines of the year (``LEDGER_LINE`` plus
    ``counted``: whether the line counts toward a threshold)."""

    patient: str
    year: int
    groups: tuple[GroupToDate, ...]
    lines: pl.DataFrame
    seeds: pl.DataFrame


class LedgerExport(NamedTuple):
    """Everything in the ledger: runs (``RUNS``), lines (``LEDGER_LINE``), seeds (``SEEDS``)."""

    runs: pl.DataFrame
    lines: pl.DataFrame
    seeds: pl.DataFrame


BEFORE_COMMIT: list[Callable[[], None]] = []
"""Test hook: called inside ``record_run``'s transaction just before COMMIT."""


def open_ledger(path: str | Path, *, create: bool = True, timeout: float = 10.0) -> Ledger:
    """The ledger at ``path``, created (mode 0600) when ``create`` and absent, and migrated to
    the current schema. ``timeout``: seconds to wait for another run's write to finish.

    Raises ``InputError`` (exit 3) when the folder or (with ``create=False``) the file does not
    exist, the file is not a ledger or is damaged, or its schema is newer than this cognibill's.
    """
    where = Path(path)
    if where.is_dir():
        raise InputError(str(where), "is a folder, not a ledger file")
    if not where.exists():
        if not create:
            raise InputError(
                str(where),
                "no ledger here",
                hint="a claim or check run with --ledger PATH creates it",
            )
        if not where.parent.is_dir():
            raise InputError(
                str(where),
                f"cannot create the ledger: the folder {where.parent} does not exist",
                hint="create the folder first (the ledger holds patient data: keep it private)",
            )
    with _private_files():
        if not where.exists():
            with contextlib.suppress(FileExistsError):  # another run created it meanwhile
                os.close(os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            conn = sqlite3.connect(where, timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise InputError(str(where), f"cannot open the ledger: {exc}") from None
        try:
            ledger = Ledger(where, conn, timeout)
            ledger._prepare()
        except BaseException:
            conn.close()
            raise
    return ledger


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """Files made meanwhile (the ledger, its -wal and -shm) are the owner's only."""
    before = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(before)


class Ledger:
    """An open ledger. Use as a context manager, or call ``close()``."""

    def __init__(self, path: Path, conn: sqlite3.Connection, timeout: float) -> None:
        self.path = path
        self._conn = conn
        self._timeout = timeout

    # -- opening -------------------------------------------------------------------------

    def _prepare(self) -> None:
        conn = self._conn
        with self._errors():
            conn.execute("PRAGMA foreign_keys = ON")
            app = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if app != schema.APPLICATION_ID and (app != 0 or version != 0 or tables != 0):
                raise InputError(
                    str(self.path),
                    "a SQLite database, but not a cognibill ledger",
                    hint="give --ledger a new file name or a cognibill ledger",
                )
            self._refuse_newer(version)
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OutputError(
                    str(self.path),
                    f"cannot use write-ahead logging here (journal mode {mode})",
                    hint="keep the ledger on a local disk",
                )
            conn.execute("PRAGMA synchronous = FULL")
            if version < schema.SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    now = conn.execute("PRAGMA user_version").fetchone()[0]
                    self._refuse_newer(now)
                    schema.migrate(conn, now)
                    conn.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise

    def _refuse_newer(self, version: int) -> None:
        if version > schema.SCHEMA_VERSION:
            raise InputError(
                str(self.path),
                f"the ledger has schema {version}, newer than this cognibill's "
                f"({schema.SCHEMA_VERSION})",
                hint="upgrade cognibill to use this ledger",
            )

    @property
    def schema_version(self) -> int:
        """The ledger's schema version (``PRAGMA user_version``)."""
        with self._errors():
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        """Close the file (WAL contents are checkpointed by SQLite on the last close)."""
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # -- errors and transactions ----------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as cognibill's: busy → OutputError (exit 5), a damaged or foreign
        file → InputError (exit 3). Messages never carry a row's values."""
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if "locked" in text or "busy" in text:
                raise OutputError(
                    str(self.path),
                    f"the ledger is in use by another run (waited {self._timeout:g} s)",
                    hint="run again when the other cognibill run has finished",
                ) from None
            if "readonly" in text or "read-only" in text or "disk" in text or "full" in text:
                raise OutputError(str(self.path), f"cannot write the ledger: {exc}") from None
            raise InputError(str(self.path), f"cannot use the ledger: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise InputError(
                str(self.path),
                f"not a cognibill ledger, or damaged ({exc})",
                hint="restore it from a backup, or give --ledger another file",
            ) from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT; any exception (a signal's too) rolls everything back."""
        with self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                for hook in BEFORE_COMMIT:
                    hook()
                self._conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise

    def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    def _rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self._errors():
            return self._conn.execute(sql, params).fetchall()

    # -- recording ------------------------------------------------------------------------

    def record_run(
        self,
        run: RunRecord,
        lines: pl.DataFrame,
        replace_visits: pl.DataFrame | None = None,
        *,
        keep_empty: bool = False,
    ) -> RecordResult:
        """Record a run and its claim lines in one transaction: all of it, or nothing.

        ``lines``: claim lines, with ``outputs.claims.CLAIM_LINE`` names (``patient_id``,
        ``payer_pays_lo``, …) or the ledger's (``patient``, ``payer_lo``, …); needs
        ``patient``, ``date``, ``code``, ``units``; ``modifiers`` a list (or space-separated
        text); the threshold group comes from ``group`` when given, else from the modifiers
        and discipline (``engine.thresholds.threshold_group``). Lines with 0 units or no
        patient or date are left out (counted). ``replace_visits``: ``patient``, ``date`` and
        (optional) ``provider`` of visits whose earlier lines are deleted first (``--replace``;
        a null provider matches a null one; no provider column: every provider).

        A line equal in every billed column (patient, date, provider, discipline, payer, code,
        units, modifiers and the six money columns) to one already in the ledger is not added
        again (as many times as the ledger has it), so recording the same lines twice changes
        nothing; when nothing is added or replaced, no run is kept either
        (unless ``keep_empty``) and ``run_id`` is None.
        """
        rows, left_out = _ledger_rows(lines)
        recorded = _utc_text(run.recorded_at or dt.datetime.now(dt.UTC))
        started = None if run.started_at is None else _utc_text(run.started_at)
        run_id: int | None = None
        with self._transaction() as conn, _cache_for(conn, rows.height):
            replaced = self._replace(conn, replace_visits)
            fresh = self._new_rows(conn, rows)
            if fresh.height or replaced or keep_empty:
                run_id = self._insert_run(conn, run, recorded, started)
                names = ", ".join(_COLUMNS)
                marks = ", ".join("?" * len(_COLUMNS))
                # in index order: each index page is filled once rather than revisited
                # (1M lines: about a third less time in SQLite; benchmarks/README.md)
                conn.executemany(
                    f"INSERT INTO lines (run_id, {names}) VALUES ({run_id}, {marks})",
                    fresh.sort("patient", "date", maintain_order=True).iter_rows(),
                )
        added = fresh.height
        return RecordResult(run_id, added, len(rows) - added, replaced, left_out)

    def _replace(self, conn: sqlite3.Connection, visits: pl.DataFrame | None) -> int:
        if visits is None or visits.is_empty():
            return 0
        any_provider = "provider" not in visits.columns
        keys = visits.select(
            pl.col("patient").cast(pl.String),
            _day_text(visits, "date"),
            pl.lit(None, pl.String).alias("provider")
            if any_provider
            else pl.col("provider").cast(pl.String),
        ).unique()
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _replace (patient TEXT, date TEXT, provider TEXT)"
        )
        conn.execute("DELETE FROM _replace")
        conn.executemany("INSERT INTO _replace VALUES (?, ?, ?)", keys.iter_rows())
        match = "" if any_provider else " AND l.provider IS r.provider"
        cursor = conn.execute(
            "DELETE FROM lines WHERE id IN (SELECT l.id FROM _replace r JOIN lines l"
            f" ON l.patient = r.patient AND l.date = r.date{match})"
        )
        conn.execute("DELETE FROM _replace")
        return cursor.rowcount

    def _insert_run(
        self, conn: sqlite3.Connection, run: RunRecord, recorded: str, started: str | None
    ) -> int:
        cursor = conn.execute(
            "INSERT INTO runs (recorded_at, started_at, tool_version, fee_data, options)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                recorded,
                started,
                run.tool_version,
                json.dumps(sorted(set(run.fee_data))),
                json.dumps(dict(run.options), sort_keys=True, default=str),
            ),
        )
        run_id = cursor.lastrowid
        assert run_id is not None
        conn.executemany(
            "INSERT INTO run_inputs (run_id, position, path, sha256, size) VALUES (?, ?, ?, ?, ?)",
            [(run_id, n, i.path, i.sha256, i.size) for n, i in enumerate(run.inputs)],
        )
        return run_id

    def _new_rows(self, conn: sqlite3.Connection, rows: pl.DataFrame) -> pl.DataFrame:
        """``rows`` but those the ledger already has, as a multiset (a line it has once is
        skipped once): its lines of the same patients over the same dates are read back
        through the index and matched here, in polars."""
        if rows.is_empty():
            return rows
        found = _near(conn, rows, ", ".join(f"l.{c}" for c in _SAME))
        if not found:
            return rows
        have = (
            pl.DataFrame(found, schema=rows.select(_SAME).schema, orient="row")
            .group_by(_SAME)
            .len("_have")
        )
        nth = pl.int_range(pl.len()).over(_SAME).alias("_nth")
        return (
            rows.with_columns(nth)
            .join(have, on=list(_SAME), how="left", nulls_equal=True, maintain_order="left")
            .filter(pl.col("_nth") >= pl.col("_have").fill_null(0))
            .select(_COLUMNS)
        )

    def void(self, run_id: int) -> int:
        """Remove run ``run_id`` and its lines; the number of lines removed. An unknown run
        is an ``EntryError`` (exit 2)."""
        with self._transaction() as conn:
            found = conn.execute("SELECT count(*) FROM runs WHERE id = ?", (run_id,)).fetchone()
            if not found[0]:
                raise EntryError(
                    f"the ledger has no run {run_id}",
                    hint="`cognibill ledger runs` lists the runs",
                )
            lines = conn.execute("SELECT count(*) FROM lines WHERE run_id = ?", (run_id,))
            count = int(lines.fetchone()[0])
            conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        return count

    def seed(self, rows: Sequence[SeedRow], *, now: dt.datetime | None = None) -> SeedResult:
        """Add year-to-date amounts billed elsewhere, in one transaction. A row with the same
        patient, year, group, as-of date and source as one already there replaces its
        amount (how a seed is corrected; amount 0 cancels it)."""
        seeded = _utc_text(now or dt.datetime.now(dt.UTC))
        added = updated = unchanged = 0
        with self._transaction() as conn:
            for row in rows:
                key = (row.patient, row.year, row.group, row.as_of.isoformat(), row.source)
                old = conn.execute(
                    "SELECT id, amount_cents FROM seeds WHERE patient = ? AND year = ?"
                    " AND threshold_group = ? AND as_of = ? AND source = ?",
                    key,
                ).fetchone()
                if old is None:
                    conn.execute(
                        "INSERT INTO seeds (patient, year, threshold_group, as_of, source,"
                        " amount_cents, seeded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (*key, row.cents, seeded),
                    )
                    added += 1
                elif old[1] != row.cents:
                    conn.execute(
                        "UPDATE seeds SET amount_cents = ?, seeded_at = ? WHERE id = ?",
                        (row.cents, seeded, old[0]),
                    )
                    updated += 1
                else:
                    unchanged += 1
        return SeedResult(added, updated, unchanged)

    # -- look-ups -------------------------------------------------------------------------

    def prior_lines(self, patients: Sequence[str], years: Sequence[int]) -> pl.DataFrame:
        """The ledger's lines and seeds of ``patients`` in ``years`` that count toward a
        threshold (a group and an allowed amount), ``PRIOR``, sorted for a running sum: by
        patient, year, group, date; on one date seeds first (an amount billed elsewhere up to
        that day), then lines by run and line. Seeds have ``seed`` true, the as-of date as
        ``date``, null payer (they count whatever the payer), provider, code and run."""
        who = json.dumps(sorted({str(p) for p in patients}))
        wanted = sorted({int(y) for y in years})
        if not wanted:
            return _frame([], PRIOR)
        when = json.dumps(wanted)
        rows = self._rows(
            "SELECT l.patient, l.date, CAST(substr(l.date, 1, 4) AS INTEGER),"
            " l.threshold_group, l.allowed_lo, l.allowed_hi,"
            " l.payer, l.provider, l.code, l.modifiers, 0, l.id, l.run_id, r.recorded_at, NULL"
            " FROM lines l JOIN runs r ON r.id = l.run_id"
            " WHERE l.patient IN (SELECT value FROM json_each(?1))"
            " AND l.date BETWEEN ?3 AND ?4"
            " AND l.threshold_group IS NOT NULL AND l.allowed_lo IS NOT NULL"
            " UNION ALL"
            " SELECT patient, as_of, year, threshold_group, amount_cents, amount_cents,"
            " NULL, NULL, NULL, '', 1, id, NULL, seeded_at, source FROM seeds"
            " WHERE patient IN (SELECT value FROM json_each(?1))"
            " AND year IN (SELECT value FROM json_each(?2))",
            (who, when, f"{wanted[0]:04d}-01-01", f"{wanted[-1]:04d}-12-31"),
        )
        frame = _frame(rows, PRIOR).filter(pl.col("year").is_in(wanted))
        return frame.sort(
            "patient",
            "year",
            "group",
            "date",
            pl.col("seed").not_(),
            "run_id",
            "line_id",
            nulls_last=True,
        )

    def billed_before(self, keys: pl.DataFrame) -> pl.DataFrame:
        """Which of ``keys`` (``patient``, ``date``, ``provider``, ``code``) the ledger has: per
        key found, the first run that billed it, its time and how many lines (``BILLED``). A
        null provider matches a null one only."""
        if keys.is_empty():
            return _frame([], BILLED)
        wanted = keys.select(
            pl.col("patient").cast(pl.String),
            _day_text(keys, "date"),
            pl.col("provider").cast(pl.String),
            pl.col("code").cast(pl.String),
        ).unique()
        with self._errors():
            found = _near(self._conn, wanted, "l.patient, l.date, l.provider, l.code, l.run_id")
        if not found:
            return _frame([], BILLED)
        on = ["patient", "date", "provider", "code"]
        lines = pl.DataFrame(found, schema={**wanted.schema, "run_id": pl.Int64}, orient="row")
        first = (
            lines.join(wanted, on=on, nulls_equal=True)
            .group_by(on)
            .agg(pl.col("run_id").min(), pl.len().cast(pl.Int64).alias("lines"))
        )
        times = self._rows("SELECT id, recorded_at FROM runs")
        runs = pl.DataFrame(
            times, schema={"run_id": pl.Int64, "recorded_at": pl.String}, orient="row"
        )
        rows = first.join(runs, on="run_id").select(list(BILLED)).rows()
        return _frame(rows, BILLED).sort("patient", "date", "provider", "code", nulls_last=True)

    def runs(self) -> pl.DataFrame:
        """Every recorded run, oldest first (``RUNS``)."""
        rows = self._rows(
            "SELECT r.id, r.recorded_at, r.started_at, r.tool_version, r.fee_data, r.options,"
            " (SELECT json_group_array(json_object('path', path, 'sha256', sha256,"
            "  'size', size)) FROM (SELECT * FROM run_inputs i WHERE i.run_id = r.id"
            "  ORDER BY position)),"
            " count(l.id), count(DISTINCT l.patient), min(l.date), max(l.date),"
            " sum(l.allowed_lo), sum(l.allowed_hi)"
            " FROM runs r LEFT JOIN lines l ON l.run_id = r.id GROUP BY r.id ORDER BY r.id"
        )
        decoded = [
            (*row[:4], json.loads(row[4]), row[5], json.loads(row[6]), *row[7:]) for row in rows
        ]
        return _frame(decoded, RUNS)

    def year_to_date(
        self,
        patient: str,
        year: int,
        *,
        tracked: Collection[str] | None = None,
        limits: Any = None,
    ) -> YearToDate:
        """A patient's year so far per threshold group: allowed cents in the ledger (lines of
        the ``tracked`` payer ids; None: every payer) plus seeds, and the distance to the KX
        and review thresholds (``engine.thresholds.Thresholds.load()`` unless ``limits``)."""
        if limits is None:
            from cognibill.engine.thresholds import Thresholds

            limits = Thresholds.load()
        lines = self._lines(
            "WHERE l.patient = ? AND l.date BETWEEN ? AND ?",
            (patient, f"{year:04d}-01-01", f"{year:04d}-12-31"),
        )
        counts = pl.col("group").is_not_null() & pl.col("allowed_lo").is_not_null()
        if tracked is not None:
            counts = counts & pl.col("payer").is_in(sorted(tracked))
        lines = lines.with_columns(counts.fill_null(False).alias("counted"))
        seeds = self._seeds("WHERE patient = ? AND year = ?", (patient, year))
        kx = _kx_of(limits.kx, year)
        review = int(limits.review)
        groups = []
        from cognibill.engine.thresholds import GROUP_LABEL

        for group in GROUPS:
            mine = lines.filter(pl.col("counted") & (pl.col("group") == group))
            lo = int(mine.get_column("allowed_lo").sum())
            hi = int(mine.get_column("allowed_hi").sum())
            seeded = int(seeds.filter(pl.col("group") == group).get_column("amount").sum())
            total_lo, total_hi = lo + seeded, hi + seeded
            groups.append(
                GroupToDate(
                    group,
                    GROUP_LABEL[group],
                    lo,
                    hi,
                    seeded,
                    total_lo,
                    total_hi,
                    kx,
                    None if kx is None else kx - total_lo,
                    review,
                    review - total_lo,
                    mine.height,
                )
            )
        return YearToDate(patient, year, tuple(groups), lines, seeds)

    def export(self) -> LedgerExport:
        """Every run, line and seed."""
        return LedgerExport(self.runs(), self._lines("", ()), self._seeds("", ()))

    def _lines(self, where: str, params: Sequence[Any]) -> pl.DataFrame:
        rows = self._rows(
            "SELECT l.id, l.run_id, r.recorded_at, l.patient, l.date, l.provider, l.discipline,"
            " l.payer, l.code, l.units, l.modifiers, l.allowed_lo, l.allowed_hi, l.payer_lo,"
            " l.payer_hi, l.patient_lo, l.patient_hi, l.threshold_group, l.visit_key"
            f" FROM lines l JOIN runs r ON r.id = l.run_id {where}"
            " ORDER BY l.patient, l.date, l.run_id, l.id",
            params,
        )
        return _frame(rows, LEDGER_LINE)

    def _seeds(self, where: str, params: Sequence[Any]) -> pl.DataFrame:
        rows = self._rows(
            "SELECT id, patient, year, threshold_group, amount_cents, as_of, source, seeded_at"
            f" FROM seeds {where} ORDER BY patient, year, as_of, id",
            params,
        )
        return _frame(rows, SEEDS)


_CACHE_KIB_PER_LINE = 0.064
"""Page cache a recording asks for, per line recorded (KiB): enough for the ``lines_by_day``
pages a large run touches to stay in memory until COMMIT (1M lines: 64 MiB, released after)."""


@contextlib.contextmanager
def _cache_for(conn: sqlite3.Connection, lines: int) -> Iterator[None]:
    """A page cache sized for recording ``lines`` (at least SQLite's default), for the
    transaction only."""
    before = conn.execute("PRAGMA cache_size").fetchone()[0]
    wanted = max(2000, int(lines * _CACHE_KIB_PER_LINE))
    conn.execute(f"PRAGMA cache_size = -{wanted}")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(before)}")


def _near(conn: sqlite3.Connection, frame: pl.DataFrame, columns: str) -> list[Any]:
    """``columns`` of the ledger lines of ``frame``'s patients between its first and last
    ``date`` (ISO text): one indexed range per patient, whatever the number of rows."""
    patients = json.dumps(frame.get_column("patient").unique().sort().to_list())
    dates = frame.get_column("date")
    return conn.execute(
        f"SELECT {columns} FROM lines l WHERE l.patient IN (SELECT value FROM json_each(?))"
        " AND l.date BETWEEN ? AND ?",
        (patients, dates.min(), dates.max()),
    ).fetchall()


def _kx_of(kx: Mapping[int, int], year: int) -> int | None:
    """The KX threshold of ``year``; a year past the data uses the last known one (as
    ``engine.thresholds.apply_thresholds`` does)."""
    if year in kx:
        return int(kx[year])
    if kx and year > max(kx):
        return int(kx[max(kx)])
    return None


def _utc_text(moment: dt.datetime) -> str:
    """``2026-03-02T14:05:09.123Z`` (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def _day_text(frame: pl.DataFrame, name: str) -> pl.Expr:
    column = pl.col(name)
    if frame.schema[name] == pl.Date:
        return column.dt.to_string("%Y-%m-%d").alias(name)
    return column.cast(pl.String).alias(name)


def _ledger_rows(lines: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """``lines`` as the ``_COLUMNS`` of the ``lines`` table (text dates, modifiers joined by
    spaces), billable lines only; and how many were left out."""
    from cognibill.engine.thresholds import threshold_group

    frame = lines.rename({k: v for k, v in _ALIASES.items() if k in lines.columns})
    for name in ("patient", "date", "code", "units"):
        if name not in frame.columns:
            raise ValueError(f"record_run: the lines have no {name!r} column")
    if "modifiers" not in frame.columns:
        frame = frame.with_columns(pl.lit([], pl.List(pl.String)).alias("modifiers"))
    elif frame.schema["modifiers"] == pl.String:
        split = pl.col("modifiers").fill_null("").str.split(" ")
        frame = frame.with_columns(split.list.filter(pl.element() != "").alias("modifiers"))
    for name in ("discipline", "provider", "payer", "visit_key"):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    if "threshold_group" not in frame.columns:
        frame = frame.with_columns(threshold_group().alias("threshold_group"))
    billable = (
        pl.col("units").fill_null(0).gt(0)
        & pl.col("patient").is_not_null()
        & pl.col("date").is_not_null()
    )
    kept = frame.filter(billable)
    columns = []
    for name in _COLUMNS:
        if name == "date":
            columns.append(_day_text(kept, "date"))
        elif name == "modifiers":
            columns.append(pl.col("modifiers").fill_null([]).list.join(" ").alias(name))
        elif name == "visit_key":
            columns.append(pl.col(name).cast(pl.String).fill_null(""))
        elif name in kept.columns:
            kind = pl.Int64 if name == "units" or name.endswith(("_lo", "_hi")) else pl.String
            columns.append(pl.col(name).cast(kind))
        else:
            columns.append(pl.lit(None, pl.Int64).alias(name))
    return kept.select(columns), frame.height - kept.height


def _frame(rows: Sequence[Sequence[Any]], shape: Mapping[str, Any]) -> pl.DataFrame:
    """SQLite rows as a frame of ``shape``: ISO text to dates and UTC times, ``modifiers``
    (space-separated) to a list, 0/1 to booleans."""
    raw: dict[str, Any] = {}
    for name, dtype in shape.items():
        if dtype == pl.Date or name == "modifiers" or isinstance(dtype, pl.Datetime):
            raw[name] = pl.String
        elif dtype == pl.Boolean:
            raw[name] = pl.Int64
        else:
            raw[name] = dtype
    frame = pl.DataFrame(list(rows), schema=raw, orient="row")
    out = []
    for name, dtype in shape.items():
        column = pl.col(name)
        if dtype == pl.Date:
            out.append(column.str.to_date("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            out.append(
                column.str.to_datetime(_TIME_FORMAT, time_unit="ms").dt.replace_time_zone("UTC")
            )
        elif name == "modifiers":
            out.append(
                column.fill_null("").str.split(" ").list.filter(pl.element() != "").alias(name)
            )
        elif dtype == pl.Boolean:
            out.append(column.cast(pl.Boolean))
        else:
            out.append(column)
    return frame.select(out)

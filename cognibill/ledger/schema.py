"""The ledger's tables, as an ordered list of migrations, and the code that applies them."""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x436F6742  # "CogB": PRAGMA application_id marks a file as a cognibill ledger
"""Written into the SQLite header, so that another program's database is never taken for one."""

_DAY = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
_TIME = "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z'"


def _day(column: str) -> str:
    """A CHECK that ``column`` is a real ISO date: ``date(…, '+0 days')`` gives it back
    unchanged (a plain ``date()`` keeps 2026-02-30; the modifier turns it into 2026-03-02)."""
    return f"CHECK ({column} {_DAY} AND date({column}, '+0 days') IS {column})"


def _range(lo: str, hi: str) -> str:
    """A CHECK that a money range is both ends or neither, low <= high."""
    return f"CHECK (({lo} IS NULL) = ({hi} IS NULL) AND ({lo} IS NULL OR {lo} <= {hi}))"


_V1 = (
    f"""CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded_at TEXT NOT NULL CHECK (recorded_at {_TIME}),
        started_at TEXT CHECK (started_at IS NULL OR started_at {_TIME}),
        tool_version TEXT NOT NULL,
        fee_data TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(fee_data)
            AND json_type(fee_data) = 'array'),
        options TEXT NOT NULL DEFAULT '{{}}' CHECK (json_valid(options)
            AND json_type(options) = 'object')
    ) STRICT""",
    """CREATE TABLE run_inputs (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        position INTEGER NOT NULL CHECK (position >= 0),
        path TEXT NOT NULL,
        sha256 TEXT CHECK (sha256 IS NULL
            OR (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*')),
        size INTEGER CHECK (size IS NULL OR size >= 0),
        PRIMARY KEY (run_id, position)
    ) STRICT, WITHOUT ROWID""",
    f"""CREATE TABLE lines (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        patient TEXT NOT NULL CHECK (patient <> ''),
        date TEXT NOT NULL {_day("date")},
        provider TEXT,
        discipline TEXT,
        payer TEXT,
        code TEXT NOT NULL CHECK (code <> ''),
        units INTEGER NOT NULL CHECK (units > 0),
        modifiers TEXT NOT NULL DEFAULT '',
        allowed_lo INTEGER,
        allowed_hi INTEGER,
        payer_lo INTEGER,
        payer_hi INTEGER,
        patient_lo INTEGER,
        patient_hi INTEGER,
        threshold_group TEXT CHECK (threshold_group IN ('pt-slp', 'ot')),
        visit_key TEXT NOT NULL DEFAULT '',
        {_range("allowed_lo", "allowed_hi")},
        {_range("payer_lo", "payer_hi")},
        {_range("patient_lo", "patient_hi")}
    ) STRICT""",
    # One index: a patient's days (billed before, replace, duplicates) and, as a date range,
    # a patient's year (thresholds). A (patient, year, group) or a (run_id) index would each
    # cost ~10-15% more per line recorded; a year is a range of this one, and a run is
    # voided rarely (a scan).
    "CREATE INDEX lines_by_day ON lines (patient, date)",
    f"""CREATE TABLE seeds (
        id INTEGER PRIMARY KEY,
        patient TEXT NOT NULL CHECK (patient <> ''),
        year INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2100),
        threshold_group TEXT NOT NULL CHECK (threshold_group IN ('pt-slp', 'ot')),
        amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
        as_of TEXT NOT NULL {_day("as_of")}
            CHECK (CAST(substr(as_of, 1, 4) AS INTEGER) = year),
        source TEXT NOT NULL CHECK (source <> ''),
        seeded_at TEXT NOT NULL CHECK (seeded_at {_TIME}),
        UNIQUE (patient, year, threshold_group, as_of, source)
    ) STRICT""",
)
"""Version 1: runs and their inputs, claim lines, seeds (year-to-date billed elsewhere)."""

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
"""Migration N (from 1) takes a ledger from schema N-1 to N; its statements run in order.
Append only: a released migration is never edited."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema this cognibill writes (``PRAGMA user_version``)."""


def pending(version: int) -> tuple[tuple[str, ...], ...]:
    """The migrations a ledger at schema ``version`` still needs, in order."""
    return MIGRATIONS[version:]


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Apply every pending migration and set the version: the caller holds the transaction,
    so they all apply, or none."""
    for statements in pending(version):
        for statement in statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

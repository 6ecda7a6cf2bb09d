"""Test helper: an export read by :class:`cognibill.inputs.export.ExportFrames`, its chunks put
back together as simple row objects, so that tests of the reader read like the domain
(``rows[0].service.minutes``, ``bad[0].column``) rather than like frames."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import polars as pl

from cognibill.engine.frames import REJECTED, ROWS
from cognibill.inputs.export import ExportFrames
from cognibill.models import Discipline


class Service(NamedTuple):
    """The service a row performs."""

    code: str
    minutes: int
    assistant_minutes: int
    group: bool
    units_billed: int | None
    modifiers: tuple[str, ...]
    line: int | None


class Row(NamedTuple):
    """One good row: the service and the fields that place it in a visit."""

    line: int
    patient: str
    date: dt.date
    provider: str | None
    discipline: Discipline | None
    payer: str | None
    place_of_service: str | None
    poc_start: dt.date | None
    poc_certified: dt.date | None
    session_id: str | None
    diagnoses: tuple[str, ...]
    service: Service


class Bad(NamedTuple):
    """A rejected row: its line, the header of its first bad column (None: the whole row)."""

    line: int
    column: str | None
    reason: str


def frames(reader: ExportFrames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every chunk of ``reader`` end to end: (``ROWS``, ``REJECTED``), each checked."""
    chunks = list(reader)
    for chunk in chunks:
        assert chunk.rows.schema == pl.Schema(ROWS)
        assert chunk.rejected.schema == pl.Schema(REJECTED)
    rows = pl.concat([pl.DataFrame(schema=ROWS), *(c.rows for c in chunks)])
    rejected = pl.concat([pl.DataFrame(schema=REJECTED), *(c.rejected for c in chunks)])
    skipped = sum(c.skipped.height for c in chunks)
    assert rows.height + rejected.height + skipped == reader.rows_read
    assert rejected.height == reader.rows_rejected
    assert skipped == reader.rows_skipped
    return rows, rejected


def rows_of(rows: pl.DataFrame) -> list[Row]:
    """The ``ROWS`` frame as :class:`Row` objects, in order."""
    out = []
    for r in rows.iter_rows(named=True):
        discipline = r["discipline"]
        service = Service(
            r["code"],
            r["minutes"],
            r["assistant_minutes"],
            r["group"],
            r["units_billed"],
            tuple(r["modifiers"]),
            r["line"],
        )
        out.append(
            Row(
                r["line"],
                r["patient"],
                r["date"],
                r["provider"],
                None if discipline is None else Discipline(discipline),
                r["payer"],
                r["place_of_service"],
                r["poc_start"],
                r["poc_certified"],
                r["session_id"],
                tuple(r["diagnoses"]),
                service,
            )
        )
    return out


def bad_of(rejected: pl.DataFrame) -> list[Bad]:
    """The ``REJECTED`` frame as :class:`Bad` objects, in order."""
    return [Bad(*r) for r in rejected.select("line", "column", "reason").iter_rows()]


def read(source: Any, **options: Any) -> tuple[list[Row], list[Bad], ExportFrames]:
    """Read ``source`` with ``ExportFrames(source, **options)``: good rows, rejected rows and the
    reader (for its counts)."""
    reader = ExportFrames(source, **options)
    rows, rejected = frames(reader)
    return rows_of(rows), bad_of(rejected), reader

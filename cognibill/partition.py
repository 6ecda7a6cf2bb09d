"""A run split by patient: inputs read once into canonical rows, then any set of patients billed
on its own with the same result as the whole run (issue 14).

Every rule that looks past one visit is per patient (KX year to date, the review threshold,
97129 once a day, progress reports), so a run's claim lines are the union of the claim lines of
its patients billed apart, each set in one ``engine.bill.bill`` call: the code path of
``cognibill claim``. This is what a distributed engine needs (``cognibill.spark``): the reading
(header detection, vendor shapes, normalisation) is done once per file by :func:`read_inputs`;
each partition of patients goes to :func:`bill_partition` with the run's ``Settings``.

- ``rows`` of a partition hold every row of its patients, numbered by ``row`` in input order
  across the run (the order ``claim`` reads them in): visits take their first row's fields and
  a patient's visits of one date count in that order.
- ``lost`` (``LOST``): the visit keys of rejected rows, so that ``visit-incomplete`` still
  fires; a partition needs those of its own patients only.
- ``absent``: per source, the fields its file lacks; the rules that need them are not run on
  its visits (the run says so once, ``checks-skipped``).
- ``sessions``: the sources read from session files, where each ``[[visit]]`` table is a visit
  whatever the visit key says. Consecutive sources of one kind are billed in one call; a
  session file and an export are billed one after the other with one ``State``, as ``claim``
  bills its inputs.

One difference from ``claim`` remains: a patient whose dates go back in time *from one input
file to the next* is billed here in input order within each call, where ``claim`` bills each
file after the one before (both are exact when each patient's rows are in one file, or in
files given in date order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from typing import Any, NamedTuple

import polars as pl

from cognibill.engine.bill import Billed, Settings, State, bill
from cognibill.engine.frames import FINDINGS, LOST, REJECTED, ROWS, SKIPPED, conform, empty
from cognibill.outputs.claims import CLAIM_LINE

LINES_OUT: dict[str, pl.DataType | type[pl.DataType]] = {"visit": pl.UInt32, **CLAIM_LINE}
"""A partition's claim lines: ``CLAIM_LINE`` and the visit (numbered within the partition)."""

FINDINGS_OUT: dict[str, pl.DataType | type[pl.DataType]] = {
    **FINDINGS,
    "source": pl.String,
    "patient_id": pl.String,
    "date": pl.Date,
}
"""A partition's findings, as ``check`` lists them: ``FINDINGS`` and where the visit is."""


class Partition(NamedTuple):
    """What one partition billed, as ``engine.bill.Billed`` gives it, plus the run's notes."""

    lines: pl.DataFrame
    """``CLAIM_LINE`` rows plus ``visit`` (numbered within the partition), in visit order."""
    findings: pl.DataFrame
    """``check``'s rows: ``FINDINGS`` plus ``source``, ``patient_id``, ``date``."""
    visits: pl.DataFrame
    """Per visit: ``lines``, ``units``, money totals, ``data_version`` (for the summary)."""
    notes: dict[tuple[str, str, str], int]
    """(source, rule id, message) -> visits: the per-file notes, to add up across partitions."""
    billed: list[Billed]
    """The ``bill`` calls' results, one per run of consecutive sources of one kind."""


class Inputs(NamedTuple):
    """A run's inputs read once: what every partition is cut from."""

    rows: pl.DataFrame
    """``ROWS``, ``row`` numbered in input order across the inputs."""
    lost: pl.DataFrame
    """``LOST``: the visit keys of the rejected rows."""
    rejected: pl.DataFrame
    """``REJECTED``, in input order."""
    absent: dict[str, frozenset[str]]
    """Source -> the fields its file lacks."""
    sessions: frozenset[str]
    """The sources read from session files."""
    notes: dict[tuple[str, str, str], int]
    """The per-file notes the reading gives (``checks-skipped``)."""
    summary: dict[str, Any]
    """``sources``, ``rows_read``, ``rows_rejected``, ``rows_skipped``, ``skipped``,
    ``read_as``: the reading's part of the run's summary."""


def read_inputs(
    inputs: Iterable[str | PathLike[str]],
    *,
    input_kind: str | None = None,
    column_map: Mapping[str, str] | None = None,
    shape: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    strict: bool = False,
    batch_rows: int = 100_000,
) -> Inputs:
    """Read session files and exports (paths) as ``claim`` reads them, every row in memory."""
    from cognibill.inputs.export import ExportFrames
    from cognibill.inputs.kinds import input_kind as kind_of
    from cognibill.readers.columns import absent_fields

    sources = [str(p) for p in inputs]
    for source in sources:  # check every name before reading anything
        kind_of(source, input_kind)
    rows: list[pl.DataFrame] = []
    lost: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    skipped: list[pl.DataFrame] = []
    absent: dict[str, frozenset[str]] = {}
    sessions: set[str] = set()
    notes: dict[tuple[str, str, str], int] = {}
    summary: dict[str, Any] = {
        "sources": sources,
        "rows_read": 0,
        "rows_rejected": 0,
        "rows_skipped": 0,
        "read_as": [],
    }
    first = 0
    for source in sources:
        if kind_of(source, input_kind) == "toml":
            from cognibill.inputs.sessions import session_rows
            from cognibill.readers.session_file import read_session_file

            visits = read_session_file(source)
            summary["rows_read"] += sum(max(len(v.services), 1) for v in visits)
            if visits:
                part = session_rows(visits, first)
                rows.append(part)
                first += part.height
                sessions.update(part.get_column("source").unique().to_list())
            continue
        reader = ExportFrames(
            source,
            encoding=encoding,
            column_map=column_map,
            strict=strict,
            chunk_rows=batch_rows,
            shape=shape,
            sheet=sheet,
        )
        layout = reader.columns()
        summary["read_as"].append(read_as(reader, layout))
        missing = absent_fields(layout)
        if missing:
            absent[reader.name] = missing
            notes.update(skipped_checks(reader.name, missing))
        for chunk in reader:
            if chunk.rows.height:
                rows.append(chunk.rows.with_columns(pl.col("row") + first))
            lost.append(chunk.lost)
            rejected.append(chunk.rejected)
            skipped.append(chunk.skipped)
        first += reader.rows_used
        summary["rows_read"] += reader.rows_read
        summary["rows_rejected"] += reader.rows_rejected
        summary["rows_skipped"] += reader.rows_skipped
    summary["skipped"] = pl.concat([empty(SKIPPED), *skipped]).to_dicts()
    return Inputs(
        pl.concat([empty(ROWS), *rows]),
        pl.concat([empty(LOST), *lost]),
        pl.concat([empty(REJECTED), *rejected]),
        absent,
        frozenset(sessions),
        notes,
        summary,
    )


def read_as(reader: Any, layout: Any) -> dict[str, Any]:
    """How an export was read (``summary.read_as``): its shape, sheet, header line, where the
    minutes came from, and field -> header."""
    from cognibill.readers.columns import minutes_from

    return {
        "source": reader.name,
        "shape": None if reader.shape is None else reader.shape.name,
        "sheet": reader.sheet_read,
        "header_line": reader.header_line,
        "minutes_from": minutes_from(layout),
        "columns": layout.describe(),
    }


def skipped_checks(source: str, absent: frozenset[str]) -> dict[tuple[str, str, str], int]:
    """The ``checks-skipped`` notes of a file that lacks ``absent`` (as ``claim`` says them)."""
    from cognibill.rules.catalogue import RULES, all_rules

    notes: dict[tuple[str, str, str], int] = {}
    for field in sorted(absent):
        ids = [r.id for r in all_rules() if field in r.needs]
        what = RULES["checks-skipped"].hint_for(field)
        notes[(source, "checks-skipped", f"{what}: not run: {', '.join(ids)}")] = len(ids)
    return notes


def bill_partition(
    rows: pl.DataFrame,
    settings: Settings,
    *,
    lost: pl.DataFrame | None = None,
    absent: Mapping[str, Iterable[str]] | None = None,
    sessions: Iterable[str] = (),
) -> Partition:
    """Bill ``rows`` (``ROWS``; every row of each of its patients, any integer ``row``) with
    the run's ``settings`` (``engine.run.make_settings``): one ``bill`` call per run of
    consecutive sources of one kind (all exports: one call)."""
    if settings.ledger is not None:
        raise ValueError("a partition is billed without a ledger")
    ordered = rows if rows.get_column("row").is_sorted() else rows.sort("row", maintain_order=True)
    ordered = conform(ordered.with_columns(pl.int_range(pl.len()).alias("row")), ROWS)
    state = State()
    state.absent = {source: frozenset(fields) for source, fields in (absent or {}).items()}
    session_sources = frozenset(sessions)
    lost_rows = empty(LOST) if lost is None else conform(lost, LOST)
    billed: list[Billed] = []
    for sources, tables in _runs(ordered, session_sources):
        part, here = ordered, lost_rows
        here_lost: pl.DataFrame | None
        if sources:  # session files and exports: this run of sources
            part = ordered.filter(pl.col("source").is_in(sources))
            here = lost_rows.filter(pl.col("source").is_in(sources))
        here_lost = None if tables else here
        billed.append(bill(part, settings, state, tables=tables, lost=here_lost))
    if not billed:  # no rows: nothing billed (a file whose every row was rejected)
        return Partition(empty(LINES_OUT), empty(FINDINGS_OUT), empty({"visit": pl.UInt32}), {}, [])
    return Partition(
        _concat([b.lines for b in billed]),
        _concat([b.findings for b in billed]),
        _concat([b.visits for b in billed]),
        dict(state.notes),
        billed,
    )


def _runs(rows: pl.DataFrame, sessions: frozenset[str]) -> list[tuple[list[str], bool]]:
    """The runs of consecutive sources of one kind (session file or export), in row order:
    (sources, from session files). No session file: one run of every source (``[]``)."""
    order = rows.get_column("source").unique(maintain_order=True).to_list()
    if not sessions.intersection(order):
        return [([], False)] if order else []
    runs: list[tuple[list[str], bool]] = []
    for source in order:
        tables = source in sessions
        if runs and runs[-1][1] == tables:
            runs[-1][0].append(source)
        else:
            runs.append(([source], tables))
    return runs


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")


def tally(partition: Partition) -> dict[str, Any]:
    """What a partition adds to the run's summary (JSON-ready; :func:`add_tally` adds it)."""
    from cognibill.engine.run import Summary

    summary = Summary()
    for billed in partition.billed:
        summary.add(billed)
    return {
        "visits": summary.visits,
        "visits_incomplete": summary.visits_incomplete,
        "lines": summary.lines,
        "output_rows": summary.output_rows,
        "units": summary.units,
        "findings": dict(summary.findings),
        "cents": dict(summary.cents),
        "data_versions": sorted(summary.data_versions),
        "notes": [[s, i, m, c] for (s, i, m), c in partition.notes.items()],
    }


def add_tally(
    summary: Any, notes: dict[tuple[str, str, str], int], part: Mapping[str, Any]
) -> None:
    """Add a partition's :func:`tally` to ``summary`` (``engine.run.Summary``) and ``notes``."""
    for name in ("visits", "visits_incomplete", "lines", "output_rows", "units"):
        setattr(summary, name, getattr(summary, name) + int(part[name]))
    for severity, count in part["findings"].items():
        summary.findings[severity] = summary.findings.get(severity, 0) + int(count)
    for name, cents in part["cents"].items():
        summary.cents[name] += int(cents)
    summary.data_versions.update(part["data_versions"])
    for source, rule_id, message, count in part["notes"]:
        key = (source, rule_id, message)
        notes[key] = notes.get(key, 0) + int(count)


def run_summary(
    inputs: Inputs,
    settings: Settings,
    parts: Iterable[Mapping[str, Any]],
    *,
    grouping: str = "partitioned",
) -> dict[str, Any]:
    """The run's summary (``Summary.to_dict()``, as ``claim`` gives it) from the reading and
    every partition's :func:`tally`; notes ordered by source, then as ``claim`` counts them."""
    from cognibill.engine.run import Summary, notes_of

    summary = Summary(visit_key=settings.visit_key, grouping=grouping)
    reading = inputs.summary
    summary.sources = list(reading["sources"])
    summary.rows_read = int(reading["rows_read"])
    summary.rows_rejected = int(reading["rows_rejected"])
    summary.rows_skipped = int(reading["rows_skipped"])
    summary.skipped = list(reading["skipped"])
    summary.read_as = list(reading["read_as"])
    notes = dict(inputs.notes)
    for part in parts:
        add_tally(summary, notes, part)
    rank = {source: i for i, source in enumerate(summary.sources)}
    ordered = dict(
        sorted(
            notes.items(),
            key=lambda kv: (rank.get(kv[0][0], len(rank)), kv[0][1] != "checks-skipped"),
        )
    )
    summary.notes = notes_of(ordered, settings.ignore)
    return summary.to_dict()

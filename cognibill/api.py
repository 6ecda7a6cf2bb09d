"""The public core API: inputs and options in; claim lines, findings, rejected rows and the
summary out, as polars frames. The ``claim`` and ``check`` commands run the same code.

    import cognibill

    result = cognibill.bill(["march.csv"], payer="medicare", locality="alabama")
    result.lines     # a row per claim line (outputs.claims.CLAIM_LINE), money in cents
    result.findings  # a row per finding: visit, id, severity, code, message, hint, line ...
    result.rejected  # rows that could not be read: source, line, column, reason
    result.summary   # rows read/used/rejected, visits, units, findings by severity, money

``bill_rows`` bills canonical service rows already in memory (``cognibill.engine.frames.ROWS``),
for callers that read their own data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl


class Result(NamedTuple):
    """What a run billed."""

    lines: pl.DataFrame
    findings: pl.DataFrame
    rejected: pl.DataFrame
    summary: dict[str, Any]


def _options(**given: Any) -> Any:
    """``RunOptions`` from the keyword options of :func:`bill` (None: the default; a visit key
    as text or fields; ``column_map`` any mapping)."""
    from cognibill.engine.run import RunOptions
    from cognibill.engine.visits import DEFAULT_VISIT_KEY

    for name in ("visit_key", "today"):
        if given.get(name, 0) is None:
            del given[name]
    if "column_map" in given:
        given["column_map"] = dict(given["column_map"] or {})
    key = given.pop("visit_key", DEFAULT_VISIT_KEY)
    if isinstance(key, str):
        from cognibill.engine.visits import parse_visit_key

        key = parse_visit_key(key)
    ignore = frozenset(given.pop("ignore", ()))
    payers = given.pop("payers_file", None)
    return RunOptions(
        visit_key=tuple(key),
        ignore=ignore,
        payers_file=None if payers is None else Path(payers),
        **given,
    )


def bill(
    inputs: Iterable[str | PathLike[str]],
    *,
    payer: str | None = None,
    payers_file: str | PathLike[str] | None = None,
    rule: str | None = None,
    locality: str | None = None,
    facility: bool | None = None,
    participating: bool | None = None,
    estimate: bool = True,
    visit_key: str | Iterable[str] | None = None,
    ignore: Iterable[str] = (),
    column_map: Mapping[str, str] | None = None,
    shape: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    unsorted: bool = False,
    today: dt.date | None = None,
) -> Result:
    """Bill session files and exports (paths; ``-`` is standard input) as ``cognibill claim``
    does, with the same options (``rule``: ``cms``, ``ama`` or ``ama-capped``)."""
    from cognibill.engine.run import ClaimRun

    options = _options(
        payer=payer,
        payers_file=payers_file,
        rule=rule,
        locality=locality,
        facility=facility,
        participating=participating,
        estimate=estimate,
        ignore=ignore,
        column_map=column_map,
        shape=shape,
        sheet=sheet,
        encoding=encoding,
        unsorted=unsorted,
        visit_key=visit_key,
        today=today,
    )
    run = ClaimRun([str(p) for p in inputs], options)
    return _collect(run)


def bill_rows(
    rows: pl.DataFrame | Any,
    *,
    lost: pl.DataFrame | None = None,
    absent: Mapping[str, Iterable[str]] | None = None,
    sessions: Iterable[str] = (),
    **options: Any,
) -> Result:
    """Bill canonical service rows (``ROWS``, a polars frame or an Arrow table; every visit's
    rows present) with the options of :func:`bill`: one set of patients of a partitioned run
    gives the claim lines ``claim`` gives them (``cognibill.partition``).

    ``lost`` (``LOST``): the visit keys of rows rejected when reading, so that their visits
    get ``visit-incomplete``; ``absent``: per source, the fields its file lacks (the rules that
    need them are not run on it); ``sessions``: the sources read from session files (each
    ``[[visit]]`` table is a visit). Rows go in ``row`` order (input order)."""
    from cognibill.engine.frames import REJECTED, empty
    from cognibill.engine.run import Summary, make_settings, notes_of
    from cognibill.partition import bill_partition

    frame = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(pl.from_arrow(rows))
    settings = make_settings(_options(**{k: v for k, v in options.items() if v is not None}))
    part = bill_partition(frame, settings, lost=lost, absent=absent, sessions=sessions)
    summary = Summary(visit_key=settings.visit_key)
    summary.rows_read = frame.height
    for billed in part.billed:
        summary.add(billed)
    summary.notes = notes_of(part.notes, settings.ignore)
    return Result(part.lines, part.findings, empty(REJECTED), summary.to_dict())


def _collect(run: Any) -> Result:
    from cognibill.engine.bill import Billed
    from cognibill.engine.frames import REJECTED, empty
    from cognibill.engine.run import Rejected

    lines: list[pl.DataFrame] = []
    findings: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    for item in run:
        if isinstance(item, Billed):
            lines.append(item.lines)
            findings.append(item.findings)
        elif isinstance(item, Rejected):
            rejected.append(item.rows)
    from cognibill.outputs.claims import CLAIM_LINE

    return Result(
        pl.concat(lines) if lines else pl.DataFrame(schema=CLAIM_LINE),
        pl.concat(findings) if findings else pl.DataFrame(),
        pl.concat(rejected) if rejected else empty(REJECTED),
        run.summary.to_dict(),
    )

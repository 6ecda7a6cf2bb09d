"""The frames the columnar engine passes between its stages, with one schema each.

A run goes ``rows → visits → services → lines → findings`` (issue 9). Every stage is a function
of frames to frames; no stage calls back into an earlier one. Ids are integers: ``row`` numbers
input rows in input order across the run, ``visit`` numbers visits in the order of their first
row. Money is integer cents (``*_lo``/``*_hi`` for the two ends of a range; equal for an exact
amount), never float; rates are integer basis points.

This module holds the schemas only (dicts of column name → polars dtype) and the helpers that
make an empty frame of a schema, so that a stage, a test and a writer agree on one definition.
polars is imported here, so only modules of a command that bills import this one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from cognibill.rules.context import PayerPolicy

ROWS: dict[str, pl.DataType | type[pl.DataType]] = {
    "row": pl.UInt32,
    # Ordinal of the input row in the run (input order across files), from 0.
    "source": pl.String,
    # The input as messages name it (``<stdin>`` for standard input).
    "line": pl.Int64,
    # Physical line the row starts on (session files: the service's line); null if unknown.
    "patient": pl.String,
    "date": pl.Date,
    "provider": pl.String,
    # Rendering provider id as given; null when none.
    "discipline": pl.String,
    # A ``cognibill.models.Discipline`` value, or null.
    "payer": pl.String,
    # The payer as the input names it (not yet resolved to a profile); null when none.
    "place_of_service": pl.String,
    "poc_start": pl.Date,
    "poc_certified": pl.Date,
    "poc_through": pl.Date,
    "poc_diagnoses": pl.List(pl.String),
    "poc_goals": pl.Boolean,
    "poc_frequency": pl.String,
    "poc_duration": pl.String,
    "has_plan": pl.Boolean,
    # The row's visit states a plan of care (session file table, or a plan date in an export).
    "session_id": pl.String,
    "diagnoses": pl.List(pl.String),
    "visit_line": pl.Int64,
    # Line the visit is defined on (session files: the ``[[visit]]`` line; exports: the row's).
    "code": pl.String,
    # The code as entered, stripped and upper case (not yet checked against the catalogue).
    "minutes": pl.Int32,
    "assistant_minutes": pl.Int32,
    "group": pl.Boolean,
    "units_billed": pl.Int32,
    # Units the input proposes to bill; null when not given.
    "modifiers": pl.List(pl.String),
    # Modifiers as entered (``97110-59`` gives ``["59"]``), in order.
}
"""Canonical service rows: one per input row that was read (rejected rows are elsewhere)."""

VISIT_FIELDS = (
    "source",
    "visit_line",
    "patient",
    "date",
    "provider",
    "discipline",
    "payer",
    "place_of_service",
    "poc_start",
    "poc_certified",
    "poc_through",
    "poc_diagnoses",
    "poc_goals",
    "poc_frequency",
    "poc_duration",
    "has_plan",
    "session_id",
    "diagnoses",
)
"""Row columns that describe the visit rather than the service: a visit takes its first row's."""

VISITS: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    **{name: ROWS[name] for name in VISIT_FIELDS},
    "payer_id": pl.String,
    # The payer profile the visit is checked and priced with.
    "rule": pl.String,
    # The unit rule in force: ``cms``, ``ama`` or ``ama-capped``.
}
"""One row per visit, in the order of the visits' first rows."""

SERVICES: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "service": pl.String,
    # The engine's service key: the code, ``cognitive`` for 97129/97130 pooled, or the primary's
    # code for another first-and-additional family (92605 for 92605/92618).
    "kind": pl.String,
    # ``timed``, ``untimed``, ``hourly``, ``first-and-additional``, ``area`` or
    # ``not-in-catalogue`` (a well-formed code carried as given).
    "codes": pl.List(pl.String),
    # Codes entered for the service, in order of first entry.
    "minutes": pl.Int32,
    # null when the input gives no minutes (a units-only export, RULES.md §11)
    "assistant_minutes": pl.Int32,
    "modifiers": pl.List(pl.String),
    # Modifiers of the service's entries, cleaned (upper case, no blanks or repeats), merged in
    # entry order.
    "billed": pl.Int32,
    "billed_complete": pl.Boolean,
    "billed_stated": pl.Boolean,
    "billed_primary": pl.Int32,
    # A first-and-additional family: units billed as its primary (97129); null otherwise.
    "billed_addon": pl.Int32,
    # A first-and-additional family: units billed as its add-on (97130); null otherwise.
    "first_line": pl.Int64,
    # Line of the service's first entry.
    "order": pl.UInt16,
    # Position of the service in code order within its visit (the cognitive pair sorts as 97129).
}
"""One row per visit and service that enters the units (unknown, deleted and impossible entries
are left out, with their findings)."""

LINES: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "service": pl.String,
    "code": pl.String,
    "minutes": pl.Int32,
    # null when the input gives no minutes
    "units": pl.Int32,
    # the engine's own intermediate columns (--explain renders these):
    "blocks": pl.Int32,
    "leftover": pl.Int32,
    "extra": pl.Int32,
    # Units earned from the leftover (CMS allocation or AMA midpoint).
    "removed": pl.Int32,
    # Units taken back by the ama-capped rule.
    "rank": pl.Int32,
    # Rank of the service's leftover in the allocation (1 = first to get a unit); null when the
    # service did not compete.
    "tied": pl.Boolean,
    "modifiers": pl.List(pl.String),
    # money, integer cents; null when no estimate is made
    "allowed_lo": pl.Int64,
    "allowed_hi": pl.Int64,
    "payer_lo": pl.Int64,
    "payer_hi": pl.Int64,
    "patient_lo": pl.Int64,
    "patient_hi": pl.Int64,
    "limiting": pl.Int64,
    # the limiting charge (Medicare fee schedule, non-participating: RULES.md §7); else null
}
"""One row per billing line, in visit order then line order (services in code order; the
cognitive pair as 97129 then 97130). Lines with 0 units are kept here; the output drops them."""

MONEY = ("allowed_lo", "allowed_hi", "payer_lo", "payer_hi", "patient_lo", "patient_hi")
"""The money columns of LINES (integer cents; lo == hi for an exact amount)."""

PRICED = (*MONEY, "limiting")
"""What pricing adds to a line of LINES (a pricer's ``price``): the money and the limiting
charge."""

FINDINGS: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "id": pl.String,
    # A rule id of the catalogue.
    "severity": pl.String,
    # ``error``, ``warning`` or ``info``: the catalogue's, unless the rule's severity note says it
    # changes (e.g. by payer).
    "code": pl.String,
    # The code the finding is about (``97129/97130`` for the pair); null for the visit.
    "message": pl.String,
    "line": pl.Int64,
    # The input line it points at, when the rule knows one better than the visit's.
    "hint": pl.String,
    # A hint for this finding when it says more than the catalogue's (null: the catalogue's).
}
"""One row per finding. Hint and source come from the catalogue entry of ``id``."""

REJECTED: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "line": pl.Int64,
    "column": pl.String,
    "reason": pl.String,
}
"""Input rows that could not be used: where, which column (as the file spells it), why."""

LOST: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "line": pl.Int64,
    "patient": pl.String,
    "date": pl.Date,
    "provider": pl.String,
    # null when the cell is empty or could not be read: then it matches any provider
    "discipline": pl.String,
    # the same
}
"""The visit a rejected row belonged to, as far as its cells tell (patient and date read): the
visits it matches are not billed as whole (``visit-incomplete``, RULES.md §11)."""

SKIPPED: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "line": pl.Int64,
    "reason": pl.String,
}
"""Input lines that are not services and were set apart on purpose: blank rows, a report's
total rows, a title or metadata line above the header. rows read = used + rejected + skipped."""

NOTES: dict[str, pl.DataType | type[pl.DataType]] = {
    "source": pl.String,
    "id": pl.String,
    "severity": pl.String,
    "message": pl.String,
    "count": pl.Int64,
}
"""Findings about a whole input file (``per_file`` rules of the catalogue), said once with how
many visits or rows they concern, never on every visit."""


def empty(schema: dict[str, pl.DataType | type[pl.DataType]]) -> pl.DataFrame:
    """An empty frame of ``schema``."""
    return pl.DataFrame(schema=schema)


def conform(
    frame: pl.DataFrame, schema: dict[str, pl.DataType | type[pl.DataType]]
) -> pl.DataFrame:
    """``frame`` with exactly the columns of ``schema``, in its order and dtypes (missing
    columns null)."""
    columns = [
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(columns)


@dataclass(frozen=True)
class Batch:
    """What a rule reads: one chunk's frames and the run's settings.

    A rule is a function ``Batch -> FINDINGS frame``; ignored rule ids are dropped by the caller,
    so a rule never looks at ``--ignore``.
    """

    visits: pl.DataFrame
    # VISITS
    services: pl.DataFrame
    # SERVICES
    lines: pl.DataFrame
    # LINES: units and modifiers; money columns filled when an estimate is made
    payers: Mapping[str, PayerPolicy]
    # payer profile by id (``VISITS.payer_id``)
    today: dt.date
    # dates of service after it are in the future


def payer_columns(
    visits: pl.DataFrame, payers: Mapping[str, PayerPolicy], *names: str
) -> pl.DataFrame:
    """``visits`` with the named attributes of each visit's payer profile as columns (e.g.
    ``requires_plan_of_care``), looked up once per payer."""
    ids = sorted(set(visits.get_column("payer_id").unique().drop_nulls().to_list()))
    table = pl.DataFrame(
        {"payer_id": ids, **{name: [getattr(payers[i], name) for i in ids] for name in names}}
    )
    return visits.join(table, on="payer_id", how="left", maintain_order="left")

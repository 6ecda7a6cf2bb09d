"""Rules that need several visits, on frames: 97129 twice on a date, the 10th treatment day
(RULES.md §5, §7).

The rules count a patient's visits in **date order** (issue 9): a chunk's billable visits are
sorted by patient, date of service, then visit id (input order), whatever order the rows came in.
Only visits with a billed line (a LINES row with units > 0) count.

- ``primary-more-than-once``: the first visit (in that order) of a patient and date whose lines
  bill 97129 is the one that bills it; every later such visit of that patient and date gets the
  finding, naming the first. Input order gives the same findings: visits of one patient and date
  keep their input order.
- ``progress-report-due``: treatment days are distinct dates per patient and plan of care (PT
  with PTA, OT with OTA, SLP, the rest together); the 10th, 20th, ... date *in date order* gets
  the finding, on its first visit. Where this differs from today's input order: only when a
  patient's treatment dates (for one plan) are not in ascending order in the input. Input order
  put the finding on the 10th *distinct date to appear*; date order puts it on the 10th date of
  the calendar (a newest-first input of 10 dates: the newest, not the oldest, is day 10). For
  input whose dates ascend per patient, both agree.

Across chunks the rules carry a ``History``, bounded per patient: for each patient and plan the
count of its treatment days and the last one; for each patient the last date a visit billed
97129, and which visit. This is exact when each chunk's dates for a patient are not before the
ones carried (input sorted by date, or chunks ending at a date change of sorted input). A date
before the carried last treatment day cannot be told apart from one already counted: it is
counted as a new treatment day, and 97129 on it is not compared with earlier chunks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from cognibill.engine.frames import FINDINGS, VISITS, Batch, conform, empty, payer_columns
from cognibill.rules.visit_facts import among_visits, finding_rows, iso

PROGRESS_EVERY = 10
"""A progress report at least once every 10 treatment days (RULES.md §7)."""

PLAN_OF = {"pt": "pt", "pta": "pt", "ot": "ot", "ota": "ot", "slp": "slp"}
"""The plan of care a discipline's treatment days count toward (the rest: ``other``)."""

PRIMARY = "97129"

TREATED: dict[str, pl.DataType | type[pl.DataType]] = {
    "patient": pl.String,
    "plan": pl.String,
    "days": pl.UInt32,
    # Treatment days of the patient under the plan so far.
    "last": pl.Date,
    # The latest of them.
}
POINTER = ("provider", "discipline", "source", "visit_line")
"""What a message says of the visit that billed 97129 first (see ``where``)."""
BILLED_PRIMARY: dict[str, pl.DataType | type[pl.DataType]] = {
    "patient": pl.String,
    "date": pl.Date,
    # The latest date a visit of the patient billed 97129; the first visit that billed it:
    **{name: VISITS[name] for name in POINTER},
}


def _empty_treated() -> pl.DataFrame:
    return empty(TREATED)


def _empty_primary() -> pl.DataFrame:
    return empty(BILLED_PRIMARY)


@dataclass(frozen=True)
class History:
    """What earlier chunks said, per patient: one ``TREATED`` row per patient and plan of care,
    one ``BILLED_PRIMARY`` row per patient that billed 97129. ``History()`` is the empty one."""

    treated: pl.DataFrame = field(default_factory=_empty_treated)
    primary: pl.DataFrame = field(default_factory=_empty_primary)

    @property
    def patients(self) -> int:
        return self.treated.get_column("patient").n_unique()


def where() -> pl.Expr:
    """How a message points at a visit (its ``POINTER`` columns): provider (id and discipline),
    then file and line when known (``provider 1111111111 (slp), a.toml:1``); ``another visit``
    when nothing is."""
    col = pl.col

    ident = pl.when(col("provider") != "").then(col("provider"))
    discipline = col("discipline")
    who = (
        pl.when(ident.is_not_null() & discipline.is_not_null())
        .then(pl.format("{} ({})", ident, discipline))
        .otherwise(pl.coalesce(ident, discipline))
    )
    line = pl.when(col("visit_line") != 0).then(col("visit_line").cast(pl.String))
    source = pl.when(col("source") != "").then(col("source"))
    place = (
        pl.when(source.is_not_null() & line.is_not_null())
        .then(pl.format("{}:{}", source, line))
        .when(source.is_not_null())
        .then(source)
        .otherwise(pl.format("line {}", line))
    )
    provider = pl.format("provider {}", who)
    return (
        pl.when(who.is_null() & place.is_null())
        .then(pl.lit("another visit"))
        .otherwise(pl.concat_str([provider, place], separator=", ", ignore_nulls=True))
    )


def _starts(*keys: str) -> pl.Expr:
    """In a frame sorted by ``keys``: whether a row starts a run of equal keys."""
    changed = [pl.col(k).ne_missing(pl.col(k).shift()) for k in keys]
    return pl.any_horizontal(changed) | (pl.int_range(pl.len()) == 0)


def check_history(batch: Batch, history: History) -> tuple[pl.DataFrame, History]:
    """``primary-more-than-once`` (across visits) and ``progress-report-due`` for one chunk,
    given what earlier chunks left in ``history``; returns the findings (visit order; a visit's
    progress report before its 97129) and the history after this chunk.

    ``progress-report-due`` is a warning where the payer requires a plan of care, else info.
    Reads VISITS ``visit, patient, date, provider, discipline, source, visit_line, payer_id``;
    LINES ``visit, code, units``.
    """
    billed = batch.lines.select("visit", "code", "units").filter(pl.col("units") > 0)
    primary = billed.filter(pl.col("code") == PRIMARY).get_column("visit").unique().implode()
    visits = batch.visits.select("visit", "patient", "date", "payer_id", *POINTER).filter(
        among_visits(batch.visits, billed.get_column("visit"))
    )
    if visits.is_empty():
        return empty(FINDINGS), history
    visits = payer_columns(visits, batch.payers, "requires_plan_of_care")
    visits = visits.with_columns(
        # An integer per patient: sorting and comparing it is cheaper than the text.
        pl.col("patient").cast(pl.Categorical).to_physical().alias("pk"),
        pl.col("discipline")
        .replace_strict(PLAN_OF, default="other", return_dtype=pl.String)
        .alias("plan"),
        pl.col("visit").is_in(primary).alias("bills_primary"),
    )
    progress, treated = _progress(visits, history.treated)
    again, billed_primary = _primary(visits, history.primary)
    parts = [
        progress.with_columns(pl.lit(0).alias("_k")),
        again.with_columns(pl.lit(1).alias("_k")),
    ]
    findings = pl.concat(parts).sort("visit", "_k", maintain_order=True).drop("_k")
    return findings, History(treated, billed_primary)


def _progress(visits: pl.DataFrame, carried: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per patient, plan and date (its first visit), counted on from the carried days:
    a date is a new treatment day unless it is the carried last one."""
    keys = ["patient", "plan"]
    # A running count over the sorted days, less the count before each run's first day.
    new = pl.col("new").cast(pl.UInt32)
    before_run = pl.when(pl.col("_run_start")).then(new.cum_sum() - new).forward_fill()
    days = (
        _sorted(visits.select("visit", "patient", "pk", "plan", "date", "requires_plan_of_care"))
        .with_columns(
            _starts("pk", "plan", "date").alias("first_of_day"),
            _starts("pk", "plan").alias("_run_start"),
        )
        .filter(pl.col("first_of_day"))
        .with_columns(pl.col("_run_start").cum_sum().alias("run"))
        .join(carried, on=keys, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            (pl.col("last").is_null() | (pl.col("date") != pl.col("last"))).alias("new"),
            pl.col("days").fill_null(0),
        )
        .with_columns((pl.col("days") + new.cum_sum() - before_run).alias("count"))
        .drop("_run_start")
    )
    due = days.filter(pl.col("new") & (pl.col("count") % PROGRESS_EVERY == 0))
    plan = (
        pl.when(pl.col("plan") == "other")
        .then(pl.lit(""))
        .otherwise(pl.format(" ({} plan of care)", pl.col("plan").str.to_uppercase()))
    )
    found = finding_rows(
        due.sort("visit"),
        "progress-report-due",
        pl.format(
            "{}: {} is treatment day {} in this input{}: a progress report is due at least once "
            "every {} treatment days.",
            "patient",
            iso("date"),
            "count",
            plan,
            pl.lit(PROGRESS_EVERY),
        ),
        severity=pl.when(pl.col("requires_plan_of_care").fill_null(False))
        .then(pl.lit("warning"))
        .otherwise(pl.lit("info")),
    )
    seen = days.group_by("run", maintain_order=True).agg(
        pl.col("patient").first(),
        pl.col("plan").first(),
        (pl.col("days").first() + pl.col("new").cast(pl.UInt32).sum()).alias("days"),
        pl.max_horizontal(pl.col("date").max(), pl.col("last").first()).alias("last"),
    )
    kept = carried.join(seen, on=keys, how="anti", nulls_equal=True)
    return found, pl.concat([kept, conform(seen, TREATED)])


_PLAN_ORDER = {name: number for number, name in enumerate(sorted({*PLAN_OF.values(), "other"}))}


def _sorted(visits: pl.DataFrame) -> pl.DataFrame:
    """``visits`` (in visit order) sorted by patient, plan, date and visit: on one integer when
    no patient or date is missing and the dates span less than 2**20 days."""
    dates = visits.get_column("date")
    if (
        visits.height
        and visits.get_column("pk").null_count() == 0
        and dates.null_count() == 0
        and visits.get_column("visit").is_sorted()
    ):
        low, high = dates.min(), dates.max()
        assert isinstance(low, dt.date) and isinstance(high, dt.date)
        if (high - low).days < 1 << 20:
            plan = pl.col("plan").replace_strict(_PLAN_ORDER, return_dtype=pl.UInt64)
            day = (pl.col("date") - pl.lit(low)).dt.total_days().cast(pl.UInt64)
            key = (pl.col("pk").cast(pl.UInt64) * 4 + plan) * (1 << 20) + day
            return visits.sort(key, maintain_order=True)
    return visits.sort("pk", "plan", "date", "visit", nulls_last=True)


def _primary(visits: pl.DataFrame, carried: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The visits that bill 97129 in (patient, date, visit) order: the first of a patient and
    date bills it (unless an earlier chunk's visit did), every later one is reported."""
    keys = ["patient", "date"]
    billers = (
        visits.filter(pl.col("bills_primary"))
        .sort("pk", "date", "visit", nulls_last=True)
        .with_columns(_starts("pk", "date").alias("first"))
        .with_columns(pl.col("first").cum_sum().alias("run"))
        .join(
            carried.select(*keys, pl.lit(True).alias("carried"), *POINTER).rename(
                {name: "carried_" + name for name in POINTER}
            ),
            on=keys,
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(pl.col("carried").fill_null(False))
    )
    # The visit that billed it first: an earlier chunk's, else the first of this one's.
    firsts = billers.filter(pl.col("first")).select(
        "run",
        *keys,
        *(
            pl.when(pl.col("carried")).then(pl.col("carried_" + n)).otherwise(pl.col(n)).alias(n)
            for n in POINTER
        ),
    )
    again = billers.filter(pl.col("carried") | ~pl.col("first")).select("visit", "run")
    again = again.join(firsts, on="run", how="left", maintain_order="left")
    found = finding_rows(
        again.sort("visit"),
        "primary-more-than-once",
        pl.format(
            "97129 billed again for {} on {}: already billed by {}; 97129 is once per day, so "
            "only one visit that day bills it.",
            "patient",
            iso("date"),
            where(),
        ),
        code=PRIMARY,
    )
    latest = firsts.group_by("patient", maintain_order=True).last()
    latest = conform(latest, BILLED_PRIMARY)
    # A patient's carried row stays only when it is later than this chunk's (a missing date
    # counts as the latest); on the same date this chunk's wins.
    newer = latest.select("patient", pl.col("date").alias("_date"), pl.lit(True).alias("_in"))
    later = (pl.col("date").is_null() & pl.col("_date").is_not_null()) | (
        pl.col("date") > pl.col("_date")
    ).fill_null(False)
    kept = (
        carried.join(newer, on="patient", how="left", nulls_equal=True, maintain_order="left")
        .filter(~pl.col("_in").fill_null(False) | later)
        .drop("_date", "_in")
    )
    return found, pl.concat([kept, latest])

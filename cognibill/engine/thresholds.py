"""Medicare's yearly therapy thresholds: KX and targeted medical review (RULES.md §6, §11).

Per beneficiary, calendar year and threshold group (PT and SLP together, OT apart), the allowed
amounts add up in **date-of-service order**, whatever order the rows came in (RULES.md §11): a
cumulative sum over the lines sorted by (patient, year, group, date, visit, line). Lines past
the KX threshold carry KX; the line that crosses it, and the one that crosses the review
threshold, get a finding. ``Totals`` carries each patient's sums from one chunk to the next.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl

from cognibill.engine.frames import FINDINGS, conform, empty
from cognibill.engine.money import dollars
from cognibill.engine.visits import visit_columns
from cognibill.rules.catalogue import RULES

GROUP_OF_DISCIPLINE = {"pt": "pt-slp", "pta": "pt-slp", "slp": "pt-slp", "ot": "ot", "ota": "ot"}
"""The threshold group of a line without GP/GN/GO, by the discipline that furnished it."""

GROUP_LABEL = {"pt-slp": "PT+SLP", "ot": "OT"}
"""How messages name each threshold group (RULES.md §8)."""


@dataclass
class Totals:
    """Allowed cents so far per (patient, year, group): the state between chunks."""

    frame: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(
            schema={"patient": pl.String, "year": pl.Int32, "group": pl.String, "cents": pl.Int64}
        )
    )


@dataclass(frozen=True)
class Thresholds:
    """KX thresholds by calendar year (cents) and the review threshold (cents)."""

    kx: dict[int, int]
    review: int

    @classmethod
    def load(cls) -> Thresholds:
        from cognibill.fees.schedule import load_schedule

        schedule = load_schedule()
        kx = {}
        for year in range(2000, 2101):
            found = schedule.kx_threshold(_july(year))
            if found is not None:
                kx[year] = _cents(found.value)
        return cls(kx, _cents(schedule.review_threshold))


def _july(year: int) -> dt.date:
    return dt.date(year, 7, 1)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def threshold_group() -> pl.Expr:
    """The threshold group of a line from its ``modifiers`` and the visit's ``discipline``:
    GO → OT; GP or GN → PT+SLP; else by discipline; null when neither says."""
    mods = pl.col("modifiers").list.eval(pl.element().str.strip_chars().str.to_uppercase())
    return (
        pl.when(mods.list.contains("GO"))
        .then(pl.lit("ot"))
        .when(mods.list.contains("GP") | mods.list.contains("GN"))
        .then(pl.lit("pt-slp"))
        .otherwise(pl.col("discipline").replace_strict(GROUP_OF_DISCIPLINE, default=None))
    )


def _group(modifiers: pl.Series) -> pl.Expr:
    """``threshold_group()``, without cleaning each line's modifiers when all are clean."""
    given = modifiers.explode()
    if not given.ne_missing(given.str.strip_chars().str.to_uppercase()).any():
        mods = pl.col("modifiers")
        return (
            pl.when(mods.list.contains("GO"))
            .then(pl.lit("ot"))
            .when(mods.list.contains("GP") | mods.list.contains("GN"))
            .then(pl.lit("pt-slp"))
            .otherwise(pl.col("discipline").replace_strict(GROUP_OF_DISCIPLINE, default=None))
        )
    return threshold_group()


def _in_date_order(work: pl.DataFrame) -> pl.DataFrame:
    """``work`` sorted by patient, year, group, date, visit and line. When it comes in visit
    and line order with every patient and date known, a stable sort on one integer (the
    patient as a category, the group, the day) gives the same runs in the same order within
    each (patient, year, group); the order of the runs themselves does not matter."""
    dates = work.get_column("date")
    order = work.select(
        (pl.col("visit").cast(pl.UInt64) * (1 << 32) + pl.col("n").cast(pl.UInt64)).is_sorted()
    ).item()
    if order and work.get_column("patient").null_count() == 0 and dates.null_count() == 0:
        low, high = dates.min(), dates.max()
        assert isinstance(low, dt.date) and isinstance(high, dt.date)
        if (high - low).days < 1 << 20:
            patient = pl.col("patient").cast(pl.Categorical).to_physical().cast(pl.UInt64)
            group = (pl.col("group") == "pt-slp").cast(pl.UInt64)
            day = (pl.col("date") - pl.lit(low)).dt.total_days().cast(pl.UInt64)
            return work.sort((patient * 2 + group) * (1 << 20) + day, maintain_order=True)
    return work.sort("patient", "year", "group", "date", "visit", "n")


def apply_thresholds(
    lines: pl.DataFrame,
    visits: pl.DataFrame,
    tracked: set[str],
    limits: Thresholds,
    totals: Totals,
    prior: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, Totals]:
    """KX on the lines past the threshold, the crossing findings, and the new totals.

    ``lines``: billed lines (units > 0) with ``visit``, ``code``, ``modifiers``, ``allowed_lo``
    and a line number ``n`` within the visit (and ``_billed_before``: lines the ledger already
    holds, which count there, not twice); ``visits``: ``visit``, ``patient``, ``date``,
    ``discipline``, ``payer_id``; ``tracked``: the payer ids that track KX. ``prior``: what the
    ledger counted earlier (``cognibill.ledger.PRIOR``: patient, year, group, date,
    allowed_lo), added in date order: a line counts every ledger line of its date and before
    (RULES.md §11). ``totals`` carry this input's own sums between batches.
    """
    counted = lines.select("visit", "n", "code", "modifiers", "allowed_lo").with_row_index("_at")
    if "_billed_before" in lines.columns:
        counted = counted.filter(~lines.get_column("_billed_before"))
    work = visit_columns(
        counted,
        visits,
        "patient",
        "date",
        "discipline",
        "payer_id",
    ).filter(pl.col("payer_id").is_in(sorted(tracked)) & pl.col("allowed_lo").is_not_null())
    work = work.with_columns(
        _group(work.get_column("modifiers")).alias("group"),
        pl.col("date").dt.year().alias("year"),
        pl.col("modifiers").list.contains("KX").alias("_has_kx"),
    ).filter(pl.col("group").is_not_null())
    work = work.drop("modifiers", "discipline", "payer_id")
    if work.is_empty():
        return lines, empty(FINDINGS), totals
    last = max(limits.kx) if limits.kx else None
    kx_of = pl.col("year").replace_strict(limits.kx, default=None, return_dtype=pl.Int64)
    if last is not None:  # a year past the data uses the last known threshold
        kx_of = (
            pl.when(kx_of.is_null() & (pl.col("year") > last))
            .then(pl.lit(limits.kx[last]))
            .otherwise(kx_of)
        )
    work = _with_ledger(work, prior)
    # Sorted runs of (patient, year, group): a running sum, restarted at each run's first line.
    work = _in_date_order(work)
    keys = ("patient", "year", "group")
    starts = pl.any_horizontal(pl.col(k).ne_missing(pl.col(k).shift()) for k in keys).fill_null(
        True
    )
    running = pl.col("allowed_lo").cum_sum()
    before_run = pl.when(starts).then(running - pl.col("allowed_lo")).forward_fill()
    work = (
        work.join(
            totals.frame.rename({"cents": "_start"}),
            on=list(keys),
            how="left",
            maintain_order="left",
        )
        .with_columns(
            (running - before_run + pl.col("_start").fill_null(0) + pl.col("_ledger")).alias(
                "after"
            ),
            kx_of.alias("kx"),
        )
        .with_columns((pl.col("after") - pl.col("allowed_lo")).alias("before"))
    )
    review = limits.review
    work = work.with_columns(
        (pl.col("kx").is_not_null() & (pl.col("after") > pl.col("kx"))).alias("needs_kx"),
    ).with_columns(
        (pl.col("needs_kx") & (pl.col("before") <= pl.col("kx"))).alias("crosses_kx"),
        ((pl.col("after") > review) & (pl.col("before") <= review)).alias("crosses_review"),
    )
    ends = pl.any_horizontal(pl.col(k).ne_missing(pl.col(k).shift(-1)) for k in keys).fill_null(
        True
    )
    reached = work.filter(ends).select(*keys, (pl.col("after") - pl.col("_ledger")).alias("cents"))
    new_totals = Totals(pl.concat([totals.frame.join(reached, on=list(keys), how="anti"), reached]))
    add_kx = work.filter(pl.col("needs_kx") & ~pl.col("_has_kx")).get_column("_at")
    marked = lines
    if not add_kx.is_empty():
        flag = pl.Series("_kx", [False] * lines.height, dtype=pl.Boolean).scatter(add_kx, True)
        marked = lines.with_columns(
            pl.when(flag)
            .then(pl.col("modifiers").list.concat(pl.lit(["KX"], dtype=pl.List(pl.String))))
            .otherwise(pl.col("modifiers"))
            .alias("modifiers")
        )
    return marked, _findings(work, review), new_totals


def _with_ledger(work: pl.DataFrame, prior: pl.DataFrame | None) -> pl.DataFrame:
    """``work`` with ``_ledger``: the cents the ledger holds for the line's patient, year and
    group up to and including its date (0 without a ledger)."""
    if prior is None or prior.is_empty():
        return work.with_columns(pl.lit(0, dtype=pl.Int64).alias("_ledger"))
    keys = ["patient", "year", "group"]
    sums = (
        prior.filter(pl.col("allowed_lo").is_not_null())
        .sort(*keys, "date")
        .with_columns(pl.col("allowed_lo").cum_sum().over(keys).alias("_ledger"))
        .group_by(*keys, "date", maintain_order=True)
        .agg(pl.col("_ledger").last())
        .with_columns(pl.col("year").cast(pl.Int32))
        .sort("date")
    )
    joined = (
        work.with_columns(pl.col("year").cast(pl.Int32))
        .sort("date")
        .join_asof(sums, on="date", by=keys, strategy="backward", check_sortedness=False)
    )
    return joined.with_columns(pl.col("_ledger").fill_null(0))


def _findings(work: pl.DataFrame, review: int) -> pl.DataFrame:
    crossing = work.filter(pl.col("crosses_kx") | pl.col("crosses_review")).sort("visit", "n")
    if crossing.is_empty():
        return empty(FINDINGS)
    label = pl.col("group").replace_strict(GROUP_LABEL)
    head = pl.format("{} {} {} therapy reaches {}", "patient", "year", label, dollars("after"))
    kx = crossing.filter(pl.col("crosses_kx")).select(
        "visit",
        "n",
        pl.lit(0).alias("_k"),
        pl.lit("kx-threshold").alias("id"),
        pl.lit(RULES["kx-threshold"].severity.value).alias("severity"),
        "code",
        pl.format(
            "{}, past the KX threshold {}: {} and the patient's later therapy lines this year "
            "carry KX.",
            head,
            dollars("kx"),
            "code",
        ).alias("message"),
    )
    rv = crossing.filter(pl.col("crosses_review")).select(
        "visit",
        "n",
        pl.lit(1).alias("_k"),
        pl.lit("medical-review-threshold").alias("id"),
        pl.lit(RULES["medical-review-threshold"].severity.value).alias("severity"),
        "code",
        pl.format(
            "{}, past {}: claims may be picked for targeted medical review.",
            head,
            dollars(pl.lit(review, dtype=pl.Int64)),
        ).alias("message"),
    )
    both = pl.concat([kx, rv]).sort("visit", "n", "_k")
    return conform(both, FINDINGS)

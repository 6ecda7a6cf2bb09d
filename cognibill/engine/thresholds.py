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

GROUP_OF_DISCIPLINE = {"pt": "pt-slp", "pta": "pt-slp", "slp": "pt-slp", "ot": "ot", "ota": "ot"}
"""The threshold group of a line without GP/GN/GO, by the discipline that furnished it."""

_LABEL = {"pt-slp": "PT+SLP", "ot": "OT"}


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


def apply_thresholds(
    lines: pl.DataFrame,
    visits: pl.DataFrame,
    tracked: set[str],
    limits: Thresholds,
    totals: Totals,
) -> tuple[pl.DataFrame, pl.DataFrame, Totals]:
    """KX on the lines past the threshold, the crossing findings, and the new totals.

    ``lines``: billed lines (units > 0) with ``visit``, ``code``, ``modifiers``, ``allowed_lo``
    and a line number ``n`` within the visit; ``visits``: ``visit``, ``patient``, ``date``,
    ``discipline``, ``payer_id``; ``tracked``: the payer ids that track KX.
    """
    info = visits.select("visit", "patient", "date", "discipline", "payer_id")
    work = (
        lines.select("visit", "n", "code", "modifiers", "allowed_lo")
        .join(info, on="visit", how="left")
        .with_columns(threshold_group().alias("group"), pl.col("date").dt.year().alias("year"))
        .filter(
            pl.col("payer_id").is_in(sorted(tracked))
            & pl.col("group").is_not_null()
            & pl.col("allowed_lo").is_not_null()
        )
    )
    if work.is_empty():
        return lines, empty(FINDINGS), totals
    kx = pl.DataFrame(
        {"year": list(limits.kx), "kx": list(limits.kx.values())},
        schema={"year": pl.Int32, "kx": pl.Int64},
    )
    last = max(limits.kx) if limits.kx else None
    work = (
        work.sort("patient", "year", "group", "date", "visit", "n")
        .join(totals.frame.rename({"cents": "_start"}), on=["patient", "year", "group"], how="left")
        .with_columns(
            (
                pl.col("allowed_lo").cum_sum().over("patient", "year", "group")
                + pl.col("_start").fill_null(0)
            ).alias("after")
        )
        .with_columns((pl.col("after") - pl.col("allowed_lo")).alias("before"))
        .join(kx, on="year", how="left")
    )
    if last is not None:  # a year past the data uses the last known threshold
        work = work.with_columns(
            pl.when(pl.col("kx").is_null() & (pl.col("year") > last))
            .then(pl.lit(limits.kx[last]))
            .otherwise(pl.col("kx"))
            .alias("kx")
        )
    review = limits.review
    work = work.with_columns(
        (pl.col("kx").is_not_null() & (pl.col("after") > pl.col("kx"))).alias("needs_kx"),
    ).with_columns(
        (pl.col("needs_kx") & (pl.col("before") <= pl.col("kx"))).alias("crosses_kx"),
        ((pl.col("after") > review) & (pl.col("before") <= review)).alias("crosses_review"),
    )
    new_totals = Totals(
        pl.concat(
            [
                totals.frame,
                work.group_by("patient", "year", "group").agg(
                    pl.col("after").last().alias("cents")
                ),
            ]
        )
        .group_by("patient", "year", "group")
        .agg(pl.col("cents").last())
    )
    add_kx = work.filter(pl.col("needs_kx") & ~pl.col("modifiers").list.contains("KX")).select(
        "visit", "n", pl.lit(True).alias("_kx")
    )
    marked = lines.join(add_kx, on=["visit", "n"], how="left", maintain_order="left").with_columns(
        pl.when(pl.col("_kx"))
        .then(pl.col("modifiers").list.concat(pl.lit(["KX"], dtype=pl.List(pl.String))))
        .otherwise(pl.col("modifiers"))
        .alias("modifiers")
    )
    return marked.drop("_kx"), _findings(work, review), new_totals


def _findings(work: pl.DataFrame, review: int) -> pl.DataFrame:
    crossing = work.filter(pl.col("crosses_kx") | pl.col("crosses_review")).sort("visit", "n")
    if crossing.is_empty():
        return empty(FINDINGS)
    label = pl.col("group").replace_strict(_LABEL)
    head = pl.format("{} {} {} therapy reaches {}", "patient", "year", label, dollars("after"))
    kx = crossing.filter(pl.col("crosses_kx")).select(
        "visit",
        "n",
        pl.lit(0).alias("_k"),
        pl.lit("kx-threshold").alias("id"),
        pl.lit("warning").alias("severity"),
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
        pl.lit("info").alias("severity"),
        "code",
        pl.format(
            "{}, past {}: claims may be picked for targeted medical review.",
            head,
            dollars(pl.lit(review, dtype=pl.Int64)),
        ).alias("message"),
    )
    both = pl.concat([kx, rv]).sort("visit", "n", "_k")
    return conform(both, FINDINGS)

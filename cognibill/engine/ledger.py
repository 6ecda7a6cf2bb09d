"""What a batch takes from the claims ledger and leaves for it (issue 12, RULES.md §11).

- ``already_billed``: the billed lines the ledger already holds (same patient, date, provider
  and code) get ``already-billed`` and are not counted toward the thresholds again;
- ``prior_for``: the ledger's earlier lines and seeds of the batch's patients and years, which
  ``engine.thresholds`` adds in date order;
- ``lines_to_record``: the batch's claim lines the ledger does not hold yet.

With ``--replace`` the input's visits replace their earlier lines: none of them is billed
before, and the ledger's lines of those visits do not count.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cognibill.engine.frames import FINDINGS, empty
from cognibill.rules.catalogue import RULES

_KEYS = ["patient", "date", "provider", "code"]


def already_billed(
    billed: pl.DataFrame, visits: pl.DataFrame, settings: Any
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``billed`` with ``_billed_before``; the keys found (``patient``, ``date``, ``provider``,
    ``code``); and the ``already-billed`` findings (one per visit and code)."""
    keyed = billed.select("visit", "code").join(
        visits.select("visit", "patient", "date", "provider"), on="visit", how="left"
    )
    if settings.replace or keyed.is_empty():
        none = pl.lit(False).alias("_billed_before")
        return billed.with_columns(none), keyed.select(_KEYS).clear(), empty(FINDINGS)
    found = settings.ledger.billed_before(keyed.select(_KEYS).unique(maintain_order=True))
    matched = keyed.join(found, on=_KEYS, how="left", nulls_equal=True, maintain_order="left")
    flag = matched.get_column("run_id").is_not_null().alias("_billed_before")
    again = matched.filter(flag).unique(["visit", "code"], maintain_order=True)
    findings = again.select(
        "visit",
        pl.lit("already-billed").alias("id"),
        pl.lit(RULES["already-billed"].severity.value).alias("severity"),
        "code",
        pl.format(
            "{} on {} is in the ledger already (run {}, recorded {}): not billed or counted "
            "toward the thresholds twice",
            "code",
            pl.col("date").dt.to_string("%Y-%m-%d"),
            "run_id",
            pl.col("recorded_at").dt.to_string("%Y-%m-%d"),
        ).alias("message"),
    )
    return billed.with_columns(flag), found.select(_KEYS), findings


def prior_for(visits: pl.DataFrame, settings: Any) -> pl.DataFrame:
    """The ledger's lines and seeds that count toward the thresholds of ``visits``' patients
    and years: payers that track KX, and seeds (whatever the payer); with ``--replace``, not
    the lines of the visits this input replaces."""
    patients = visits.get_column("patient").drop_nulls().unique().sort().to_list()
    years = visits.get_column("date").dt.year().drop_nulls().unique().sort().to_list()
    prior: pl.DataFrame = settings.ledger.prior_lines(patients, years)
    tracked = sorted(i for i, p in settings.payers.items() if p.tracks_kx)
    prior = prior.filter(pl.col("seed") | pl.col("payer").is_in(tracked))
    if settings.replace:
        replaced = visits.select("patient", "date", "provider").unique()
        prior = prior.join(
            replaced, on=["patient", "date", "provider"], how="anti", nulls_equal=True
        )
    return prior


def lines_to_record(lines: pl.DataFrame, before: pl.DataFrame | None) -> pl.DataFrame:
    """The claim lines (``CLAIM_LINE``) that bill units and that the ledger does not hold."""
    billing = lines.filter(pl.col("units") > 0)
    if before is None or before.is_empty():
        return billing
    keyed = before.rename({"patient": "patient_id"})
    return billing.join(
        keyed, on=["patient_id", "date", "provider", "code"], how="anti", nulls_equal=True
    )


def late_kx(
    recorded: pl.DataFrame, prior: pl.DataFrame, kx: dict[int, int], tracked: set[str]
) -> list[tuple[str, str, int]]:
    """``kx-late`` (RULES.md §11): ledger lines without KX that this input's earlier dates
    push past the KX threshold. ``recorded``: this run's claim lines (``CLAIM_LINE``);
    ``prior``: the ledger's lines of their patients (``PRIOR``); ``kx``: the threshold in cents
    by year. Returns (source, message, lines) per patient, year and group."""
    from cognibill.engine.thresholds import GROUP_LABEL, threshold_group

    keys = ["patient", "year", "group"]
    mine = (
        recorded.filter(pl.col("payer").is_in(sorted(tracked)) & pl.col("allowed_lo").is_not_null())
        .select(
            pl.col("source"),
            pl.col("patient_id").alias("patient"),
            "date",
            pl.col("date").dt.year().cast(pl.Int32).alias("year"),
            threshold_group().alias("group"),
            "allowed_lo",
        )
        .filter(pl.col("group").is_not_null())
    )
    theirs = prior.filter(~pl.col("seed") & pl.col("allowed_lo").is_not_null())
    if mine.is_empty() or theirs.is_empty():
        return []
    ordered = theirs.sort(*keys, "date", "line_id").with_columns(
        (pl.col("allowed_lo").cum_sum().over(keys)).alias("_ledger_after"),
        pl.col("modifiers").list.contains("KX").alias("_had_kx"),
        pl.col("year").cast(pl.Int32),
    )
    # this input's lines dated before each ledger line: what the late entries add under it
    early = ordered.join(mine, on=keys, how="inner", suffix="_mine").filter(
        pl.col("date_mine") < pl.col("date")
    )
    if early.is_empty():
        return []
    added = early.group_by("line_id").agg(
        pl.col("allowed_lo_mine").sum().alias("_added"), pl.col("source").first()
    )
    limit = pl.col("year").replace_strict(kx, default=None, return_dtype=pl.Int64)
    late = (
        ordered.join(added, on="line_id", how="inner")
        .with_columns(limit.alias("_kx"))
        .filter(
            ~pl.col("_had_kx")
            & pl.col("_kx").is_not_null()
            & (pl.col("_ledger_after") <= pl.col("_kx"))
            & (pl.col("_ledger_after") + pl.col("_added") > pl.col("_kx"))
        )
    )
    out = []
    for (source, patient, year, group), rows in late.group_by("source", *keys, maintain_order=True):
        listed = ", ".join(
            f"{d:%Y-%m-%d} {c} (run {r})"
            for d, c, r in rows.select("date", "code", "run_id").iter_rows()
        )
        who = GROUP_LABEL[str(group)]
        message = (
            f"{patient} {year} {who}: earlier dates in this export move the KX crossing; "
            f"lines already billed without KX now needed it: {listed}"
        )
        out.append((str(source), message, rows.height))
    return out

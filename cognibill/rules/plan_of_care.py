"""Rules on the plan of care behind a therapy visit, on frames (RULES.md §6, §7).

``check_plan(batch, flags)`` is a function of frames to a FINDINGS frame, one row per finding in
visit order (a visit's findings in the order the checks make them: plan after the service, the
certification's 90 days, its 30 days, the plan's end, then what the plan lacks). The caller sorts
a visit's findings (errors first, then by rule id, stably) and drops ignored ids.
"""

from __future__ import annotations

import polars as pl

from cognibill.engine.frames import FINDINGS, Batch, empty, payer_columns
from cognibill.engine.visits import visit_columns
from cognibill.models import Discipline
from cognibill.rules.visit_facts import finding_rows, iso, with_services

CERTIFICATION_DAYS = 90
"""A certification covers at most 90 calendar days, the plan's start date being day 1."""
CERTIFY_WITHIN_DAYS = 30
"""The plan is certified within 30 days of the first treatment (the plan's start, derived)."""

PRACTITIONERS = (
    Discipline.PHYSICIAN.value,
    Discipline.PSYCHOLOGIST.value,
    Discipline.NP.value,
    Discipline.CNS.value,
    Discipline.PA.value,
)
"""May bill "sometimes therapy" codes (97129/97130) outside a therapy plan of care (RULES.md §6)."""


def _days(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_days()


def _either(flag: str, yes: str, no: str) -> pl.Expr:
    return pl.when(pl.col(flag).fill_null(False)).then(pl.lit(yes)).otherwise(pl.lit(no))


def check_plan(batch: Batch, flags: pl.DataFrame) -> pl.DataFrame:
    """``no-plan-of-care``, ``plan-after-service``, ``certification-lapsed``, ``plan-incomplete``.

    Only visits with a service that enters the units (a SERVICES row) are checked. A visit
    without a plan (``has_plan`` false) needs one when it has a therapy code; a physician, NP,
    CNS, PA or psychologist needs one only for an "always therapy" code. ``flags``: the
    services stage's per-visit ``FLAGS`` (``cognibill.engine.services``), of which ``visit``,
    ``therapy_any`` and ``therapy_always`` are read (a visit without a row has neither).

    Severities follow the payer: ``no-plan-of-care`` and ``plan-after-service`` are errors
    where a plan of care is required, else warnings; ``certification-lapsed`` is an error for
    Medicare or where a plan is required, else info.

    Reads VISITS ``visit, date, discipline, payer_id, has_plan, poc_*``; SERVICES ``visit``.
    Only the plan's diagnoses' count is read here (``cognibill.rules.visit_facts`` reads them).
    """
    visits = with_services(
        batch,
        "visit",
        "date",
        "discipline",
        "payer_id",
        "has_plan",
        "poc_start",
        "poc_certified",
        "poc_through",
        pl.col("poc_diagnoses").list.len().fill_null(0).alias("_plan_diagnoses"),
        "poc_goals",
        "poc_frequency",
        "poc_duration",
    )
    if visits.is_empty():
        return empty(FINDINGS)
    visits = payer_columns(visits, batch.payers, "requires_plan_of_care", "is_medicare")
    visits = visit_columns(
        visits,
        flags.select("visit", "therapy_any", "therapy_always"),
        "therapy_any",
        "therapy_always",
    )
    if not visits.get_column("visit").is_sorted():
        visits = visits.sort("visit", maintain_order=True)
    has_plan = pl.col("has_plan").fill_null(False)
    parts = [_no_plan(visits.filter(~has_plan)), *_with_plan(visits.filter(has_plan))]
    return pl.concat(parts).sort("visit", "_k", maintain_order=True).drop("_k")


def _no_plan(visits: pl.DataFrame) -> pl.DataFrame:
    needs_plan = (
        pl.when(pl.col("discipline").is_in(list(PRACTITIONERS)))
        .then(pl.col("therapy_always"))
        .otherwise(pl.col("therapy_any"))
        .fill_null(False)
    )
    strict = pl.col("requires_plan_of_care").fill_null(False)
    return finding_rows(
        visits.filter(needs_plan),
        "no-plan-of-care",
        pl.format("no plan of care on {}: therapy needs a plan before treatment", iso("date"))
        + pl.when(strict).then(pl.format(" ({} requires one).", "payer_id")).otherwise(pl.lit(".")),
        severity=_either("requires_plan_of_care", "error", "warning"),
    ).with_columns(pl.lit(0).alias("_k"))


def _with_plan(visits: pl.DataFrame) -> list[pl.DataFrame]:
    start, day = pl.col("poc_start"), pl.col("date")
    after = visits.filter(start.is_not_null() & (start > day))
    out = [
        finding_rows(
            after,
            "plan-after-service",
            pl.format(
                "plan of care starts {}, after the date of service {} ({} day(s) later).",
                iso("poc_start"),
                iso("date"),
                _days("poc_start", "date"),
            ),
            severity=_either("requires_plan_of_care", "error", "warning"),
        ).with_columns(pl.lit(0).alias("_k"))
    ]
    out.extend(_certification(visits))
    out.append(_incomplete(visits).with_columns(pl.lit(4).alias("_k")))
    return out


def _certification(visits: pl.DataFrame) -> list[pl.DataFrame]:
    """``certification-lapsed``: past day 90 of the plan, certified late (or not yet, after 30
    days), or after the plan's end (only when not already past day 90)."""
    severity = (
        pl.when(
            pl.col("is_medicare").fill_null(False)
            | pl.col("requires_plan_of_care").fill_null(False)
        )
        .then(pl.lit("error"))
        .otherwise(pl.lit("info"))
    )
    visits = visits.with_columns(
        (pl.col("poc_start").is_not_null() & (pl.col("poc_start") <= pl.col("date"))).alias(
            "_started"
        ),
        (_days("date", "poc_start") + 1).alias("_day_number"),
        _days("poc_certified", "poc_start").alias("_late"),
    ).with_columns(
        (pl.col("_started") & (pl.col("_day_number") > CERTIFICATION_DAYS)).alias("_lapsed")
    )

    def rows(frame: pl.DataFrame, message: pl.Expr, order: int) -> pl.DataFrame:
        found = finding_rows(frame, "certification-lapsed", message, severity=severity)
        return found.with_columns(pl.lit(order).alias("_k"))

    lapsed = rows(
        visits.filter(pl.col("_lapsed")),
        pl.format(
            "{} is day {} of the plan starting {}: a certification covers at most {} calendar "
            "days (through {}).",
            iso("date"),
            "_day_number",
            iso("poc_start"),
            pl.lit(CERTIFICATION_DAYS),
            iso(pl.col("poc_start") + pl.duration(days=CERTIFICATION_DAYS - 1)),
        ),
        1,
    )
    certified = pl.col("poc_certified").is_not_null()
    late = rows(
        visits.filter(pl.col("_started") & certified & (pl.col("_late") > CERTIFY_WITHIN_DAYS)),
        pl.format(
            "plan certified {}, {} days after its start {}: certification is due within {} days "
            "of the first treatment.",
            iso("poc_certified"),
            "_late",
            iso("poc_start"),
            pl.lit(CERTIFY_WITHIN_DAYS),
        ),
        2,
    )
    uncertified = rows(
        visits.filter(
            pl.col("_started") & ~certified & (pl.col("_day_number") - 1 > CERTIFY_WITHIN_DAYS)
        ),
        pl.format(
            "plan starting {} is not certified {} days later ({}): certification is due within "
            "{} days of the first treatment.",
            iso("poc_start"),
            pl.col("_day_number") - 1,
            iso("date"),
            pl.lit(CERTIFY_WITHIN_DAYS),
        ),
        2,
    )
    ended = rows(
        visits.filter(
            ~pl.col("_lapsed").fill_null(False)
            & pl.col("poc_through").is_not_null()
            & (pl.col("date") > pl.col("poc_through"))
        ),
        pl.format(
            "{} is after the plan's end {} ({} day(s) later).",
            iso("date"),
            iso("poc_through"),
            _days("date", "poc_through"),
        ),
        3,
    )
    return [lapsed, late, uncertified, ended]


def _incomplete(visits: pl.DataFrame) -> pl.DataFrame:
    """``plan-incomplete``: the plan lacks diagnoses, goals (not stated true), frequency or
    duration (null or empty)."""
    lacks = [
        pl.when(pl.col("_plan_diagnoses") == 0).then(pl.lit("diagnoses")),
        pl.when(~pl.col("poc_goals").fill_null(False)).then(pl.lit("long-term goals")),
        pl.when(pl.col("poc_frequency").fill_null("") == "").then(pl.lit("frequency")),
        pl.when(pl.col("poc_duration").fill_null("") == "").then(pl.lit("duration")),
    ]
    missing = visits.with_columns(
        pl.concat_str(lacks, separator=", ", ignore_nulls=True).alias("_missing")
    ).filter(pl.col("_missing") != "")
    return finding_rows(missing, "plan-incomplete", pl.format("plan of care lacks {}.", "_missing"))

"""Rules on the visit as a whole, on frames: the date, diagnoses, telehealth (RULES.md §6, §7, §9).

Each rule is a function ``Batch -> FINDINGS frame``, one row per finding, in visit order; the
caller sorts a visit's findings (errors first, then by rule id) and drops ignored ids.
Diagnoses (a payer and a list of them) and places of service are read once per distinct value,
in Python, so that they are normalised exactly as the rest of cognibill does it
(``normalise_diagnosis``, ``str.strip``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import polars as pl

from cognibill.engine.frames import FINDINGS, Batch, conform, empty
from cognibill.engine.visits import of_visits, per_value
from cognibill.rules.catalogue import RULES
from cognibill.rules.context import PayerPolicy, normalise_diagnosis

TELEHEALTH_PLACES = frozenset({"02", "10", "2"})
"""Place of service 02 (telehealth, not at home) and 10 (telehealth at home)."""
TELEHEALTH_MODIFIERS = ("93", "95")
"""93 audio-only, 95 audio-video (sorted: messages name them in this order)."""


def _no_codes() -> pl.Expr:
    return pl.lit([], dtype=pl.List(pl.String))


def iso(column: str | pl.Expr) -> pl.Expr:
    """A date column as ``str(date)`` writes it (``2026-03-02``), for messages."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.to_string("%Y-%m-%d")


def finding_rows(
    frame: pl.DataFrame,
    rule_id: str,
    message: pl.Expr,
    *,
    severity: pl.Expr | None = None,
    code: str | None = None,
) -> pl.DataFrame:
    """FINDINGS rows of ``rule_id``, one per row of ``frame`` (which has a ``visit`` column):
    the catalogue's severity unless ``severity`` is given; ``line`` null (the visit's)."""
    default = pl.lit(RULES[rule_id].severity.value)
    severity = default if severity is None else severity
    out = per_value(frame, ["visit"], (severity.alias("severity"), message.alias("message")))
    out = out.select(
        pl.col("visit"),
        pl.lit(rule_id).alias("id"),
        "severity",
        pl.lit(code, dtype=pl.String).alias("code"),
        "message",
    )
    return conform(out, FINDINGS)


def with_services(batch: Batch, *columns: str | pl.Expr) -> pl.DataFrame:
    """The visits of ``batch`` with a service that enters the units (a SERVICES row): the
    ``columns`` of them when given, else all."""
    visits = batch.visits.select(*columns) if columns else batch.visits
    return visits.filter(among_visits(batch.visits, batch.services.get_column("visit")))


def among_visits(visits: pl.DataFrame, wanted: pl.Series) -> pl.Series:
    """Per row of ``visits``: whether its ``visit`` is among ``wanted``."""
    return of_visits(visits, wanted)


def check_date(batch: Batch) -> pl.DataFrame:
    """``future-date``: a date of service after ``batch.today`` (RULES.md §7).

    Reads VISITS ``visit, date``.
    """
    today = batch.today
    late = batch.visits.filter(pl.col("date") > pl.lit(today))
    days = (pl.col("date") - pl.lit(today)).dt.total_days()
    return finding_rows(
        late,
        "future-date",
        pl.format(
            "date of service {} is after today ({}, {} day(s) ahead).",
            iso("date"),
            pl.lit(today.isoformat()),
            days,
        ),
    )


def _is_r4184(code: str) -> bool:
    return code.startswith("R4184")


def _is_i69_x1(code: str) -> bool:
    """I69.x1- (cognitive deficits following cerebrovascular disease): I69, a digit, then 1."""
    return len(code) >= 5 and code.startswith("I69") and code[3].isdigit() and code[4] == "1"


@lru_cache(maxsize=8192)
def _diagnosis(code: str) -> tuple[str, bool, bool]:
    """A diagnosis normalised, and whether it is R41.84- and I69.x1- (cached: codes repeat)."""
    norm = normalise_diagnosis(code)
    return norm, _is_r4184(norm), _is_i69_x1(norm)


def _diagnosis_messages(
    entered: Sequence[str], payer: PayerPolicy | None
) -> tuple[str | None, str | None]:
    """The ``diagnosis-excludes`` and ``diagnosis-not-covered`` messages of one list of
    diagnoses under one payer (None: no finding)."""
    prefixes = (
        () if payer is None else tuple(normalise_diagnosis(c) for c in payer.covered_diagnoses)
    )
    covered = not prefixes
    cognitive = stroke = None
    for code in entered:
        norm, is_cognitive, is_stroke = _diagnosis(code)
        if is_cognitive and cognitive is None:
            cognitive = code
        elif is_stroke and stroke is None:
            stroke = code
        if not covered and norm.startswith(prefixes):
            covered = True
    excludes = None
    if cognitive is not None and stroke is not None:
        excludes = (
            f"{cognitive} with {stroke}: ICD-10-CM Excludes1 forbids R41.84- for deficits "
            "that are sequelae of cerebrovascular disease."
        )
    uncovered = None
    if not covered and payer is not None:
        listed = ", ".join(payer.covered_diagnoses)
        uncovered = (
            f"payer {payer.id} covers {listed}; the visit's diagnoses "
            f"{', '.join(dict.fromkeys(entered))} are not among them."
        )
    return excludes, uncovered


def check_diagnoses(batch: Batch) -> pl.DataFrame:
    """``diagnosis-excludes`` and ``diagnosis-not-covered`` (RULES.md §9).

    A visit's diagnoses are its own, then its plan's (``poc_diagnoses`` when ``has_plan``), as
    entered. Excludes: the first R41.84- with the first I69.x1-. Not covered: the payer lists
    ICD-10 prefixes (``covered_diagnoses``; none means any) and no diagnosis starts with one.
    The messages are made once per distinct payer and list of diagnoses.
    Reads VISITS ``visit, payer_id, diagnoses, poc_diagnoses, has_plan``.
    """
    plan_codes = (
        pl.when(pl.col("has_plan").fill_null(False))
        .then(pl.col("poc_diagnoses").fill_null(_no_codes()))
        .otherwise(_no_codes())
    )
    entered = pl.concat_list(pl.col("diagnoses").fill_null(_no_codes()), plan_codes)
    some = (pl.col("diagnoses").list.len() > 0) | (
        pl.col("has_plan").fill_null(False) & (pl.col("poc_diagnoses").list.len() > 0)
    )
    visits = (
        batch.visits.select("visit", "payer_id", "diagnoses", "poc_diagnoses", "has_plan")
        .filter(some.fill_null(False))
        .select("visit", "payer_id", entered.alias("entered"))
        .filter(pl.col("entered").list.len() > 0)
    )
    if visits.is_empty():
        return empty(FINDINGS)
    combos = visits.select("payer_id", "entered").unique()
    payers = batch.payers
    messages = [
        _diagnosis_messages(codes, None if payer_id is None else payers[payer_id])
        for payer_id, codes in combos.iter_rows()
    ]
    combos = combos.with_columns(
        pl.Series("excludes", [m[0] for m in messages], dtype=pl.String),
        pl.Series("uncovered", [m[1] for m in messages], dtype=pl.String),
    )
    visits = visits.join(
        combos, on=["payer_id", "entered"], how="left", nulls_equal=True, maintain_order="left"
    )
    excludes = finding_rows(
        visits.filter(pl.col("excludes").is_not_null()),
        "diagnosis-excludes",
        pl.col("excludes"),
    ).with_columns(pl.lit(0).alias("_k"))
    uncovered = finding_rows(
        visits.filter(pl.col("uncovered").is_not_null()),
        "diagnosis-not-covered",
        pl.col("uncovered"),
    ).with_columns(pl.lit(1).alias("_k"))
    return pl.concat([excludes, uncovered]).sort("visit", "_k", maintain_order=True).drop("_k")


def _place_table(places: pl.Series) -> pl.DataFrame:
    """Each distinct place of service: stripped, and whether it is telehealth (02, 10)."""
    given = places.unique().drop_nulls().to_list()
    stripped = [p.strip() for p in given]
    return pl.DataFrame(
        {
            "place_of_service": given,
            "place": stripped,
            "by_place": [p in TELEHEALTH_PLACES for p in stripped],
        },
        schema={"place_of_service": pl.String, "place": pl.String, "by_place": pl.Boolean},
    )


def check_telehealth(batch: Batch) -> pl.DataFrame:
    """``telehealth-coverage``: place of service 02/10 or modifier 95/93 (RULES.md §6).

    Only visits with a service that enters the units (a SERVICES row) are checked. The message
    names the place (before the modifiers), else the telehealth modifiers of the services
    (sorted), and the codes of the billed lines (LINES with units > 0, in line order).
    Reads VISITS ``visit, date, place_of_service``; SERVICES ``visit, modifiers``; LINES
    ``visit, code, units``.
    """
    services = batch.services
    visits = with_services(batch, "visit", "date", "place_of_service")
    places = _place_table(visits.get_column("place_of_service"))
    visits = visits.join(places, on="place_of_service", how="left", maintain_order="left")
    carried = [
        pl.col("modifiers").list.contains(pl.lit(mod)).any().alias(mod)
        for mod in TELEHEALTH_MODIFIERS
    ]
    by_modifier = (
        services.filter(pl.col("modifiers").list.len() > 0)
        .group_by("visit")
        .agg(carried)
        .select(
            "visit",
            pl.concat_str(
                [pl.when(pl.col(mod)).then(pl.lit(mod)) for mod in TELEHEALTH_MODIFIERS],
                separator="/",
                ignore_nulls=True,
            ).alias("telehealth_modifiers"),
        )
        .filter(pl.col("telehealth_modifiers") != "")
    )
    visits = visits.join(by_modifier, on="visit", how="left").filter(
        pl.col("by_place").fill_null(False) | pl.col("telehealth_modifiers").is_not_null()
    )
    if visits.is_empty():
        return empty(FINDINGS)
    billed = (
        batch.lines.filter(pl.col("units") > 0)
        .filter(pl.col("visit").is_in(visits.get_column("visit").implode()))
        .group_by("visit", maintain_order=True)
        .agg(pl.col("code").str.join(", ").alias("codes"))
    )
    visits = visits.join(billed, on="visit", how="left").sort("visit")
    how = (
        pl.when(pl.col("by_place").fill_null(False))
        .then(pl.format("place of service {} (telehealth)", "place"))
        .otherwise(pl.format("modifier {} (telehealth)", "telehealth_modifiers"))
    )
    return finding_rows(
        visits,
        "telehealth-coverage",
        pl.format(
            "{} with {}: whether the payer covers these by telehealth on {} varies.",
            how,
            pl.col("codes").fill_null("no billed code"),
            iso("date"),
        ),
    )

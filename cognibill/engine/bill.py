"""One batch of canonical rows billed: every stage, in order, once (issue 9).

``rows → visits → services → units → modifiers → rules → money → thresholds → claim lines``.
Each stage is a function of frames; none calls back into an earlier one. What crosses batches
(visit numbers, yearly totals, per-patient history) is in :class:`State`; what is fixed for the
run (payers, options, fee tables) in :class:`Settings`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import polars as pl

from cognibill.engine.frames import FINDINGS, VISITS, Batch, conform, empty
from cognibill.engine.thresholds import Thresholds, Totals, apply_thresholds
from cognibill.engine.visits import form_visits
from cognibill.outputs.claims import CLAIM_LINE

SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}


@dataclass(frozen=True)
class Settings:
    """What every batch of a run is billed with."""

    key: tuple[str, ...]
    visit_key: str
    """How the output names the key."""
    payers: Mapping[str, Any]
    """Payer profiles by id (``cognibill.payers.PayerProfile``)."""
    default_payer: str
    payer_given: bool
    """``--payer`` was given: it also prices payers with no profile."""
    rule: str | None
    """``--rule`` overriding the payer's unit rule."""
    ignore: frozenset[str]
    today: dt.date
    pricer: Any | None
    """``cognibill.fees.kernel.Pricer``; None: no estimate."""
    limits: Thresholds | None = None


@dataclass
class State:
    """What one batch leaves for the next."""

    next_visit: int = 0
    totals: Totals = field(default_factory=Totals)
    history: Any = None
    payer_names: dict[str | None, tuple[str, str | None]] = field(default_factory=dict)
    """Payer name as given -> (profile id, the payer-fallback message or None)."""


class Billed(NamedTuple):
    """A batch's results."""

    lines: pl.DataFrame
    """``CLAIM_LINE`` rows plus ``visit``, in visit order."""
    findings: pl.DataFrame
    """Every finding with ``visit``, ``source``, ``line``, ``patient_id``, ``date``: ``check``'s
    rows, in visit order, errors first within a visit."""
    visits: pl.DataFrame
    """``visit``, ``lines`` (billable), ``units``, the money totals and ``data_version``."""


def bill(rows: pl.DataFrame, settings: Settings, state: State, *, tables: bool = False) -> Billed:
    """Bill ``rows`` (``ROWS``; whole visits only) and advance ``state``. ``tables``: the rows
    come from session files, where each ``[[visit]]`` table is a visit whatever the key says."""
    from cognibill.engine.allocate import allocate
    from cognibill.engine.services import build_services
    from cognibill.rules import coding, practice
    from cognibill.rules.across_visits import History, check_history
    from cognibill.rules.plan_of_care import check_plan
    from cognibill.rules.visit_facts import check_date, check_diagnoses, check_telehealth

    group = pl.col("visit_line") if tables else pl.lit(None, dtype=pl.Int64)
    grouped = form_visits(
        rows.with_columns(group.alias("_group")), ("_group", *settings.key), state.next_visit
    )
    state.next_visit += grouped.visits.height
    visits, fallback = _payers(grouped.visits, settings, state)
    kept = grouped.rows.filter(pl.col("code").is_not_null())
    services = build_services(kept, visits)
    rules = _rules(visits, settings)
    values = _unit_values(services.services, visits, settings)
    units = allocate(services.services, rules, values)
    modifiers, modifier_findings = practice.line_modifiers(
        services.services, visits, settings.payers, units.lines
    )
    every = units.lines.drop("modifiers").join(
        modifiers, on=["visit", "service"], how="left", maintain_order="left"
    )
    # The rules read every line (a 0-unit line tells which services competed for a unit).
    batch = Batch(visits, services.services, every, settings.payers, settings.today)
    billed = every.filter(pl.col("units") > 0)
    if state.history is None:
        state.history = History()
    history, state.history = check_history(batch, state.history)
    found = [
        grouped.findings,
        fallback,
        services.findings,
        units.findings,
        modifier_findings,
        *(
            rule(batch)
            for rule in (coding.RULES if values is None else coding.priced_rules(values))
        ),
        *(rule(batch) for rule in practice.RULES),
        check_plan(batch, services.flags),
        check_telehealth(batch),
        check_diagnoses(batch),
        check_date(batch),
        history,
    ]
    billed = billed.with_columns(pl.int_range(pl.len()).over("visit").alias("n"))
    billed = _priced(billed, visits, settings)
    if settings.limits is not None and settings.pricer is not None:
        tracked = {i for i, p in settings.payers.items() if p.tracks_kx}
        billed, kx, state.totals = apply_thresholds(
            billed, visits, tracked, settings.limits, state.totals
        )
        found.append(kx)
    findings = _sorted(pl.concat([conform(f, FINDINGS) for f in found]), settings.ignore)
    lines = _claim_lines(grouped.rows, visits, billed, units.totals, findings, settings)
    sums = _visit_sums(lines)
    if settings.pricer is not None:
        versions = settings.pricer.data_versions(visits)
        sums = sums.join(versions, on="visit", how="left", maintain_order="left")
    return Billed(lines, _check_rows(findings, grouped.rows, visits), sums)


def _payers(
    visits: pl.DataFrame, settings: Settings, state: State
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each visit's payer profile id, and the ``payer-fallback`` notes (RULES.md §8)."""
    names = visits.get_column("payer").unique(maintain_order=True).to_list()
    known = state.payer_names
    for name in names:
        if name not in known:
            known[name] = _payer_of(name, settings)
    table = pl.DataFrame(
        {
            "payer": names,
            "payer_id": [known[n][0] for n in names],
            "_note": [known[n][1] for n in names],
        },
        schema={"payer": pl.String, "payer_id": pl.String, "_note": pl.String},
    )
    joined = visits.join(table, on="payer", how="left", nulls_equal=True, maintain_order="left")
    notes = joined.filter(pl.col("_note").is_not_null()).select(
        "visit",
        pl.lit("payer-fallback").alias("id"),
        pl.lit("info").alias("severity"),
        pl.col("_note").alias("message"),
    )
    rule = pl.col("payer_id").replace_strict(
        {i: (settings.rule or str(p.unit_rule.value)) for i, p in settings.payers.items()},
        return_dtype=pl.String,
    )
    out = joined.with_columns(rule.alias("rule"))
    return conform(out, VISITS), conform(notes, FINDINGS)


def _payer_of(named: str | None, settings: Settings) -> tuple[str, str | None]:
    """The profile for a payer as named: its own when there is one (case, spaces and dashes
    forgiven); none named: the default; unknown: ``--payer`` when given, else ``commercial``
    (an unknown named plan is almost never Medicare Part B), with a note."""
    if not named or not named.strip():
        return settings.default_payer, None
    wanted = "-".join(named.strip().lower().replace("_", " ").split())
    if wanted in settings.payers:
        return wanted, None
    fallback = settings.default_payer if settings.payer_given else "commercial"
    if fallback not in settings.payers:
        fallback = settings.default_payer
    return fallback, (
        f"payer {named.strip()!r} has no profile: checked and priced as {fallback!r}."
    )


def _rules(visits: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    return visits.select("visit", "rule")


def _unit_values(
    services: pl.DataFrame, visits: pl.DataFrame, settings: Settings
) -> pl.DataFrame | None:
    """What one unit of each code of each visit pays: the tie-break of RULES.md §2.5 and the
    money a below-minimum finding states."""
    if settings.pricer is None:
        return None
    codes = services.select(
        "visit",
        pl.when(pl.col("service") == "cognitive")
        .then(pl.lit(["97129", "97130"]))
        .otherwise(pl.concat_list(pl.col("service")))
        .alias("code"),
    ).explode("code")
    return settings.pricer.unit_values(codes.unique(maintain_order=True), visits)  # type: ignore[no-any-return]


def _priced(billed: pl.DataFrame, visits: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    money = ("allowed_lo", "allowed_hi", "payer_lo", "payer_hi", "patient_lo", "patient_hi")
    if settings.pricer is None or billed.is_empty():
        return billed.with_columns(pl.lit(None, dtype=pl.Int64).alias(m) for m in money)
    assistant = pl.col("modifiers").list.contains("CQ") | pl.col("modifiers").list.contains("CO")
    ask = billed.drop(money, strict=False).with_columns(assistant.alias("assistant"))
    priced = settings.pricer.price(ask, visits)
    return priced.drop("assistant")  # type: ignore[no-any-return]


def _sorted(findings: pl.DataFrame, ignore: frozenset[str]) -> pl.DataFrame:
    """Findings without the ignored ids, by visit, errors first, then by rule id (stable)."""
    if ignore:
        findings = findings.filter(~pl.col("id").is_in(sorted(ignore)))
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int8)
    return (
        findings.with_columns(rank.alias("_rank"))
        .sort(["visit", "_rank", "id"], descending=[False, True, False], maintain_order=True)
        .drop("_rank")
    )


def _claim_lines(
    rows: pl.DataFrame,
    visits: pl.DataFrame,
    billed: pl.DataFrame,
    totals: pl.DataFrame,
    findings: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """The output lines: the billed lines of each visit, or one 0-unit line for a visit with
    none; each finding on the first line of its code, else on the visit's first line."""
    placeholder = (
        rows.group_by("visit", maintain_order=True)
        .agg(pl.col("code").first().fill_null(""), pl.col("minutes").sum().cast(pl.Int32))
        .join(billed.select("visit").unique(), on="visit", how="anti")
        .with_columns(pl.lit(0, dtype=pl.Int32).alias("units"), pl.lit(0).alias("n"))
    )
    out = pl.concat([billed, placeholder], how="diagonal_relaxed").sort(
        "visit", "n", maintain_order=True
    )
    out = out.with_columns(pl.col("modifiers").fill_null(pl.lit([], dtype=pl.List(pl.String))))
    placed = _placed(findings, out)
    units = billed.group_by("visit").agg(pl.col("units").sum().cast(pl.Int32).alias("visit_units"))
    info = visits.join(totals.select("visit", "total_timed_minutes"), on="visit", how="left")
    full = (
        out.join(info, on="visit", how="left", maintain_order="left")
        .join(units, on="visit", how="left", maintain_order="left")
        .join(placed, on=["visit", "n"], how="left", maintain_order="left")
        .with_columns(
            pl.col("visit_units").fill_null(0),
            pl.col("total_timed_minutes").fill_null(0),
            pl.col("findings").fill_null(pl.lit([], dtype=pl.List(_finding_dtype()))),
            pl.lit(settings.visit_key).alias("visit_key"),
        )
    )
    renamed = full.rename(
        {
            "visit_line": "line",
            "patient": "patient_id",
            "payer": "payer_named",
            "payer_id": "payer",
            "payer_lo": "payer_pays_lo",
            "payer_hi": "payer_pays_hi",
            "patient_lo": "patient_owes_lo",
            "patient_hi": "patient_owes_hi",
        }
    )
    return renamed.select("visit", *(pl.col(n).cast(t) for n, t in CLAIM_LINE.items()))


def _finding_dtype() -> pl.DataType:
    from cognibill.outputs.claims import FINDING

    return FINDING


def _placed(findings: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """``[visit, n, findings]``: each visit's findings as a list on the line they belong to."""
    if findings.is_empty():
        return pl.DataFrame(
            schema={"visit": pl.UInt32, "n": pl.Int64, "findings": pl.List(_finding_dtype())}
        )
    from cognibill.rules.catalogue import RULES

    hints = pl.DataFrame(
        {
            "id": list(RULES),
            "_hint": [r.hint for r in RULES.values()],
            "source": [r.source for r in RULES.values()],
        }
    )
    numbered = findings.with_row_index("_f")
    codes = numbered.select("_f", "visit", pl.col("code").str.split("/").alias("_code")).explode(
        "_code"
    )
    first = (
        codes.join(
            lines.select("visit", pl.col("code").alias("_code"), "n"),
            on=["visit", "_code"],
            how="inner",
        )
        .group_by("_f")
        .agg(pl.col("n").min())
    )
    placed = (
        numbered.join(first, on="_f", how="left", maintain_order="left")
        .with_columns(pl.col("n").fill_null(0))
        .join(hints, on="id", how="left", maintain_order="left")
        .with_columns(pl.coalesce("hint", "_hint").alias("hint"))
        .sort("_f")
    )
    return placed.group_by("visit", "n", maintain_order=True).agg(
        pl.struct("id", "severity", "message", "hint", "source", "code").alias("findings")
    )


def _check_rows(findings: pl.DataFrame, rows: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
    """``check``'s rows: each finding at its code's first input line, else the visit's."""
    if findings.is_empty():
        return findings.with_columns(
            pl.lit(None, dtype=pl.String).alias("source"),
            pl.lit(None, dtype=pl.String).alias("patient_id"),
            pl.lit(None, dtype=pl.Date).alias("date"),
        )
    numbered = findings.with_row_index("_f")
    codes = numbered.select("_f", "visit", pl.col("code").str.split("/").alias("code")).explode(
        "code"
    )
    lines = rows.filter(pl.col("line").is_not_null()).select(
        "visit", "code", pl.col("line").alias("_line"), "row"
    )
    first = (
        codes.join(lines, on=["visit", "code"], how="inner")
        .sort("row")
        .group_by("_f")
        .agg(pl.col("_line").first())
    )
    info = visits.select(
        "visit", "source", "visit_line", pl.col("patient").alias("patient_id"), "date"
    )
    return (
        numbered.join(first, on="_f", how="left", maintain_order="left")
        .join(info, on="visit", how="left", maintain_order="left")
        .with_columns(pl.coalesce("_line", "visit_line").alias("line"))
        .sort("_f")
        .drop("_f", "_line", "visit_line")
    )


def _visit_sums(lines: pl.DataFrame) -> pl.DataFrame:
    """Per visit: billable lines, units and money, for the run's summary."""
    money = [pl.col(c).sum().alias(c) for c in CLAIM_LINE if c.endswith(("_lo", "_hi"))]
    return lines.group_by("visit", maintain_order=True).agg(
        (pl.col("units") > 0).sum().alias("lines"),
        pl.col("units").sum().alias("units"),
        *money,
        pl.col("allowed_lo").is_not_null().any().alias("priced"),
    )


def empty_findings() -> pl.DataFrame:
    return empty(FINDINGS)

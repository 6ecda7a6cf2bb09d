"""The last stage: findings ordered and placed on claim lines, the output rows assembled.

A visit's findings go errors first, then by rule id (stable); each sits on the first claim line
of its code, else on the visit's first line. A visit with nothing billable still gives one line,
with 0 units. ``check`` points each finding at its code's first input line, else the visit's.
"""

from __future__ import annotations

import polars as pl

from cognibill.outputs.claims import CLAIM_LINE, FINDING

SEVERITY_RANK = {"error": 2, "warning": 1, "info": 0}


def sorted_findings(findings: pl.DataFrame, ignore: frozenset[str]) -> pl.DataFrame:
    """Findings without the ignored ids, by visit, errors first, then by rule id (stable)."""
    if ignore:
        findings = findings.filter(~pl.col("id").is_in(sorted(ignore)))
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int8)
    return (
        findings.with_columns(rank.alias("_rank"))
        .sort(["visit", "_rank", "id"], descending=[False, True, False], maintain_order=True)
        .drop("_rank")
    )


def claim_lines(
    rows: pl.DataFrame,
    visits: pl.DataFrame,
    billed: pl.DataFrame,
    totals: pl.DataFrame,
    findings: pl.DataFrame,
    visit_key: str,
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
            pl.col("findings").fill_null(pl.lit([], dtype=pl.List(FINDING))),
            pl.lit(visit_key).alias("visit_key"),
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


def _placed(findings: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """``[visit, n, findings]``: each visit's findings as a list on the line they belong to."""
    if findings.is_empty():
        return pl.DataFrame(
            schema={"visit": pl.UInt32, "n": pl.Int64, "findings": pl.List(FINDING)}
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


def check_rows(findings: pl.DataFrame, rows: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
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


def visit_sums(lines: pl.DataFrame) -> pl.DataFrame:
    """Per visit: billable lines, units and money, for the run's summary."""
    money = [pl.col(c).sum().alias(c) for c in CLAIM_LINE if c.endswith(("_lo", "_hi"))]
    return lines.group_by("visit", maintain_order=True).agg(
        (pl.col("units") > 0).sum().alias("lines"),
        pl.col("units").sum().alias("units"),
        *money,
        pl.col("allowed_lo").is_not_null().any().alias("priced"),
    )

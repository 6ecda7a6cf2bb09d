"""The last stage: findings ordered and placed on claim lines, the output rows assembled.

A visit's findings go errors first, then by rule id (stable); each sits on the first claim line
of its code, else on the visit's first line. A visit with nothing billable still gives one line,
with 0 units. ``check`` points each finding at its code's first input line, else the visit's.

Everything here runs once per batch over ~100k lines, so it keeps to single-key joins and
group-bys (a two-key one costs several times more) and to gathers by visit number where the
visits of a batch are numbered without gaps, as ``form_visits`` numbers them.
"""

from __future__ import annotations

import polars as pl

from cognibill.engine.frames import PRICED
from cognibill.findings import Severity
from cognibill.outputs.claims import CLAIM_LINE, FINDING

SEVERITY_RANK = {severity.value: severity.rank for severity in Severity}

_MONEY = PRICED
_VISIT_INFO = (
    "source",
    "visit_line",
    "patient",
    "date",
    "provider",
    "discipline",
    "payer",
    "payer_id",
    "place_of_service",
    "rule",
    "session_id",
)
_RENAMED = {
    "visit_line": "line",
    "patient": "patient_id",
    "payer": "payer_named",
    "payer_id": "payer",
    "payer_lo": "payer_pays_lo",
    "payer_hi": "payer_pays_hi",
    "patient_lo": "patient_owes_lo",
    "patient_hi": "patient_owes_hi",
    "limiting": "limiting_charge",
}


def sorted_findings(findings: pl.DataFrame, ignore: frozenset[str]) -> pl.DataFrame:
    """Findings without the ignored ids, by visit, errors first, then by rule id (stable)."""
    if ignore:
        findings = findings.filter(~pl.col("id").is_in(sorted(ignore)))
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, return_dtype=pl.Int8)
    return findings.sort(
        [pl.col("visit"), rank, pl.col("id")],
        descending=[False, True, False],
        maintain_order=True,
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
    kept = billed.select(
        "visit",
        "n",
        "code",
        "units",
        "minutes",
        "modifiers",
        *(pl.col(m).cast(pl.Int64) for m in _MONEY),
    )
    per_visit = kept.group_by("visit").agg(
        pl.len().alias("_count"), pl.col("units").sum().cast(pl.Int32).alias("visit_units")
    )
    info = visits.select(*_VISIT_INFO, "visit")
    info = pl.concat(
        [
            info,
            _aligned(info.get_column("visit"), per_visit),
            _aligned(info.get_column("visit"), totals.select("visit", "total_timed_minutes")),
        ],
        how="horizontal",
    )
    lone = info.filter(pl.col("_count").is_null()).get_column("visit")
    lines = _with_placeholders(kept, rows, lone)
    lines = lines.with_columns(
        pl.col("modifiers").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    ).with_row_index("_i")
    gathered = _aligned(lines.get_column("visit"), info)
    found = _findings_of_lines(_placed(findings, lines), lines.height)
    full = pl.concat([lines, gathered, found], how="horizontal").with_columns(
        pl.col("visit_units").fill_null(0),
        pl.col("total_timed_minutes").fill_null(0),
        pl.lit(visit_key).alias("visit_key"),
    )
    renamed = full.rename(_RENAMED)
    return renamed.select("visit", *(pl.col(n).cast(t) for n, t in CLAIM_LINE.items()))


def _with_placeholders(kept: pl.DataFrame, rows: pl.DataFrame, lone: pl.Series) -> pl.DataFrame:
    """``kept`` with one 0-unit line for each visit of ``lone`` (its first code, or ``""``, and
    all its minutes), by visit then line."""
    placeholder = (
        rows.filter(pl.col("visit").is_in(lone.implode()))
        .group_by("visit", maintain_order=True)
        .agg(pl.col("code").first().fill_null(""), pl.col("minutes").sum().cast(pl.Int32))
        .select(
            "visit",
            pl.lit(0, dtype=kept.schema["n"]).alias("n"),
            "code",
            pl.lit(0, dtype=pl.Int32).alias("units"),
            "minutes",
            pl.lit(None, dtype=pl.List(pl.String)).alias("modifiers"),
            *(pl.lit(None, dtype=pl.Int64).alias(m) for m in _MONEY),
        )
    )
    kept = kept.with_columns(pl.col("units").cast(pl.Int32), pl.col("minutes").cast(pl.Int32))
    if placeholder.is_empty():
        return kept if _in_line_order(kept) else kept.sort("visit", "n", maintain_order=True)
    both = pl.concat([kept, placeholder])
    if _in_line_order(kept):  # a stable sort by visit alone keeps each visit's lines in order
        return both.sort("visit", maintain_order=True)
    return both.sort("visit", "n", maintain_order=True)


def _in_line_order(lines: pl.DataFrame) -> bool:
    """Whether ``lines`` is ordered by visit, then ``n``, with no (visit, n) twice."""
    visit, n = pl.col("visit"), pl.col("n")
    step = visit.cast(pl.Int64).diff()
    ordered = (step > 0) | ((step == 0) & (n.diff() > 0))
    return bool(lines.select(ordered.fill_null(True).all()).item())


def _aligned(keys: pl.Series, table: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``table`` (one per ``visit``) for each of ``keys``, without the ``visit``
    column: a gather when ``table`` holds consecutive visit numbers in order and every key is
    among them, else a left join (nulls for keys it lacks)."""
    visit = table.get_column("visit")
    rest = table.drop("visit")
    if visit.len() and keys.len():
        first, last = visit[0], visit[-1]
        consecutive = (
            last - first + 1 == visit.len()
            and visit.is_sorted()
            and visit.n_unique() == visit.len()
        )
        if consecutive and first <= (keys.min() or 0) and (keys.max() or 0) <= last:
            at = (keys.cast(pl.Int64) - first).cast(pl.UInt32)
            return rest.select(pl.all().gather(at))
    joined = keys.to_frame("visit").join(table, on="visit", how="left", maintain_order="left")
    return joined.drop("visit")


def _findings_of_lines(placed: pl.DataFrame, height: int) -> pl.DataFrame:
    """``findings``, one row per line ``0..height-1``: ``placed``'s list, else an empty one
    (filling the nulls of a join costs more than the join)."""
    empty = pl.lit([], dtype=pl.List(FINDING)).alias("findings")
    has = pl.repeat(False, height, dtype=pl.Boolean, eager=True)
    if not placed.is_empty():
        has = has.scatter(placed.get_column("_i"), True)
    others = (~has).arg_true().alias("_i").to_frame().with_columns(empty)
    return pl.concat([placed, others]).sort("_i").select("findings")


def _placed(findings: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """``[_i, findings]``: each line's findings (by the line's row index ``_i`` in ``lines``,
    which is ordered by visit then line), as a list, in ``findings``' order."""
    if findings.is_empty():
        return pl.DataFrame(schema={"_i": pl.UInt32, "findings": pl.List(FINDING)})
    from cognibill.rules.catalogue import RULES

    ids = list(RULES)
    hint = pl.col("id").replace_strict(
        ids, [r.hint for r in RULES.values()], default=None, return_dtype=pl.String
    )
    source = pl.col("id").replace_strict(
        ids, [r.source for r in RULES.values()], default=None, return_dtype=pl.String
    )
    at = _line_of(findings, lines)
    flat = findings.select(
        at.alias("_i"),
        pl.struct(
            "id",
            "severity",
            "message",
            pl.coalesce("hint", hint).alias("hint"),
            source.alias("source"),
            "code",
        ).alias("findings"),
    )
    # Grouping rows sorted by their key makes each list a slice: much cheaper than hashing.
    flat = flat.filter(pl.col("_i").is_not_null())  # a visit without lines: none to sit on
    flat = flat.sort("_i", maintain_order=True).with_columns(pl.col("_i").set_sorted())
    return flat.group_by("_i", maintain_order=True).agg("findings")


def _line_of(findings: pl.DataFrame, lines: pl.DataFrame) -> pl.Series:
    """For each finding, the row index in ``lines`` of the first line of its visit with one of
    its codes (``97129/97130``: either), else of the visit's first line."""
    firsts = lines.filter(pl.col("visit").cast(pl.Int64).diff().fill_null(1) != 0).select(
        "visit", pl.col("_i").alias("_first")
    )
    at = _aligned(findings.get_column("visit"), firsts).get_column("_first")
    coded = findings.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_f"), "visit", "code")
    coded = coded.filter(pl.col("code").is_not_null())
    if coded.is_empty():
        return at
    several = pl.col("code").str.contains("/", literal=True)
    wanted = pl.concat(
        [
            coded.filter(~several),
            coded.filter(several).with_columns(pl.col("code").str.split("/")).explode("code"),
        ]
    )
    match = (
        wanted.join(lines.select("visit", "code", "_i"), on=["visit", "code"], how="inner")
        .group_by("_f")
        .agg(pl.col("_i").min())
    )
    if match.is_empty():
        return at
    return at.scatter(match.get_column("_f"), match.get_column("_i"))


def check_rows(findings: pl.DataFrame, rows: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
    """``check``'s rows: each finding at its code's first input line, else the visit's."""
    if findings.is_empty():
        return findings.with_columns(
            pl.lit(None, dtype=pl.String).alias("source"),
            pl.lit(None, dtype=pl.String).alias("patient_id"),
            pl.lit(None, dtype=pl.Date).alias("date"),
        )
    info = visits.select(
        "visit", "source", "visit_line", pl.col("patient").alias("patient_id"), "date"
    )
    at = _aligned(findings.get_column("visit"), info)
    line = at.get_column("visit_line")
    coded = findings.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("_f"), "visit", "code")
    coded = coded.filter(pl.col("code").is_not_null())
    if not coded.is_empty():
        several = pl.col("code").str.contains("/", literal=True)
        wanted = pl.concat(
            [
                coded.filter(~several),
                coded.filter(several).with_columns(pl.col("code").str.split("/")).explode("code"),
            ]
        )
        inputs = rows.filter(pl.col("line").is_not_null()).select("visit", "code", "line", "row")
        match = (
            wanted.join(inputs, on=["visit", "code"], how="inner")
            .group_by("_f")
            .agg(pl.col("line").get(pl.col("row").arg_min()))
        )
        if not match.is_empty():
            line = line.clone().scatter(match.get_column("_f"), match.get_column("line"))
    return findings.with_columns(line.alias("line")).hstack(
        at.select("source", "patient_id", "date")
    )


def visit_sums(lines: pl.DataFrame) -> pl.DataFrame:
    """Per visit: billable lines, units and money, for the run's summary."""
    money = [c for c in CLAIM_LINE if c.endswith(("_lo", "_hi"))]
    visit = lines.get_column("visit")
    if lines.is_empty() or not visit.is_sorted():
        return lines.group_by("visit", maintain_order=True).agg(
            (pl.col("units") > 0).sum().alias("lines"),
            pl.col("units").sum().alias("units"),
            *(pl.col(c).sum().alias(c) for c in money),
            pl.col("allowed_lo").is_not_null().any().alias("priced"),
        )
    # Each visit's lines are one run: its sums are differences of running sums at run ends.
    ends = (visit != visit.shift(-1)).fill_null(True).arg_true()
    counted = {
        "lines": (pl.col("units") > 0).cast(pl.Int64),
        "units": pl.col("units").cast(pl.Int64),
        **{c: pl.col(c).fill_null(0) for c in money},
        "priced": pl.col("allowed_lo").is_not_null().cast(pl.Int64),
    }
    at_ends = lines.select(
        pl.col("visit").gather(ends),
        *(e.cum_sum().gather(ends).alias(c) for c, e in counted.items()),
    )
    sums = at_ends.with_columns((pl.col(c) - pl.col(c).shift(1).fill_null(0)) for c in counted)
    return sums.select(
        "visit",
        pl.col("lines").cast(pl.UInt32),
        pl.col("units").cast(pl.Int32, wrap_numerical=True),
        *money,
        (pl.col("priced") > 0).alias("priced"),
    )

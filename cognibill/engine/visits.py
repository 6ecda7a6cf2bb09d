"""Rows into visits: one timed pool per visit key (RULES.md §2), in the order of first rows.

Whether Medicare pools the minutes of different providers or disciplines on one day is open
(RULES.md §2), so the key is a setting (patient, date, provider and discipline by default).
Rows of different inputs never form one visit. A visit takes the fields of its first row; its
session ids and diagnoses are those of all its rows (in order, without repeats). Fields outside
the key that differ between a visit's rows are reported (``visit-field-conflict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import polars as pl

from cognibill.engine.frames import FINDINGS, VISIT_FIELDS, conform, empty
from cognibill.errors import EntryError
from cognibill.quoting import quoted
from cognibill.rules.catalogue import RULES

KEY_FIELDS: dict[str, str] = {
    "patient": "patient",
    "date": "date of service",
    "provider": "rendering provider",
    "discipline": "discipline",
    "payer": "payer",
    "place_of_service": "place of service",
    "session_id": "session",
}
"""Fields a visit key may use, with how the output names them."""

DEFAULT_VISIT_KEY: tuple[str, ...] = ("patient", "date", "provider", "discipline")
"""One pool per patient, date, rendering provider and discipline (RULES.md §2, our default)."""

LOOSE_FIELDS = ("provider", "discipline", "payer", "place_of_service", "poc_start", "poc_certified")
"""Row fields that describe the visit, compared between its rows when outside the key."""


_ALWAYS = ("patient", "date")
_ALIASES = {"dos": "date", "session": "session_id", "pos": "place_of_service"}


def parse_visit_key(text: str | Sequence[str]) -> tuple[str, ...]:
    """A visit key from ``"patient,date,provider"`` (or a list of names); checks the names.

    Patient and date are always part of the key: the pool never spans patients or dates of
    service (RULES.md §2, confirmed). A bad key is a command-line mistake (``EntryError``).
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    key: list[str] = []
    for raw in names:
        name = raw.strip().lower().replace("-", "_").replace(" ", "_")
        name = _ALIASES.get(name, name)
        if not name:
            continue
        if name not in KEY_FIELDS:
            raise EntryError(
                f"--visit-key: unknown field {raw.strip()!r}",
                hint=f"fields: {', '.join(KEY_FIELDS)}",
            )
        if name not in key:
            key.append(name)
    missing = [f for f in _ALWAYS if f not in key]
    if missing:
        raise EntryError(
            f"--visit-key {','.join(key) or '(empty)'}: the key must include patient and date",
            hint="minutes pool per patient per date of service at most (RULES.md §2)",
        )
    return tuple(key)


def describe_visit_key(key: tuple[str, ...]) -> str:
    """How the output names a key: ``"patient, date of service, rendering provider, ..."``."""
    return ", ".join(KEY_FIELDS[name] for name in key)


class Visits(NamedTuple):
    rows: pl.DataFrame
    """The rows with their ``visit`` id."""
    visits: pl.DataFrame
    """The ``VISIT_FIELDS`` of each visit (``visit`` first), by id."""
    findings: pl.DataFrame
    """``visit-field-conflict`` findings."""


def form_visits(rows: pl.DataFrame, key: tuple[str, ...], first: int = 0) -> Visits:
    """Group ``rows`` (the ROWS frame) into visits numbered from ``first``."""
    by = ["source", *key]
    with_ids = _numbered(rows, by, first)
    # The rows of each visit together, in row order (already so when the visits are runs).
    visit = with_ids.get_column("visit")
    by_visit = with_ids if visit.is_sorted() else with_ids.sort("visit", maintain_order=True)
    starts = pl.col("visit").ne_missing(pl.col("visit").shift()).fill_null(True)
    heads = by_visit.select("visit", *VISIT_FIELDS).filter(starts)
    sessions = _per_visit(
        by_visit.filter(pl.col("session_id").is_not_null()),
        pl.col("session_id").unique(maintain_order=True).str.join(";"),
    )
    diagnoses = _per_visit(
        by_visit.filter(pl.col("diagnoses").list.len() > 0),
        pl.col("diagnoses")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True),
    )
    visits = (
        heads.drop("session_id", "diagnoses")
        .join(sessions, on="visit", how="left", maintain_order="left")
        .join(diagnoses, on="visit", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("session_id") == "")
            .then(None)
            .otherwise(pl.col("session_id"))
            .alias("session_id"),
            pl.col("diagnoses").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .select("visit", *VISIT_FIELDS)
    )
    loose = [name for name in LOOSE_FIELDS if name not in key]
    findings = empty(FINDINGS)
    if loose:
        # One pass: the visits where a loose field changes from one of its rows to the next.
        same_visit = ~starts
        differ = by_visit.filter(
            same_visit
            & pl.any_horizontal(pl.col(name).ne_missing(pl.col(name).shift()) for name in loose)
        ).get_column("visit")
        if not differ.is_empty():
            findings = _conflicts(with_ids.filter(pl.col("visit").is_in(differ.implode())), key)
    return Visits(with_ids, visits, findings)


def _numbered(rows: pl.DataFrame, by: list[str], first: int) -> pl.DataFrame:
    """``rows`` in row order with their ``visit``: visits numbered in the order of first rows."""
    rows = rows if rows.get_column("row").is_sorted() else rows.sort("row")
    if rows.is_empty():
        return rows.with_columns(pl.lit(None, dtype=pl.UInt32).alias("visit"))
    # Sorted exports: each visit is one run of rows, numbered as runs when no key comes back.
    run = rows.select((pl.struct(by).rle_id() + first).alias("visit")).to_series()
    starts = run.ne_missing(run.shift()).fill_null(True)
    if _distinct(rows.select(by).filter(starts)):
        return rows.with_columns(run.cast(pl.UInt32))
    groups = (
        rows.select(*by, pl.col("row"))
        .group_by(by, maintain_order=True)
        .agg(pl.col("row"))
        .with_row_index("visit", offset=first)
    )
    ids = groups.select("visit", "row").explode("row")
    return rows.join(ids, on="row", how="left").sort("row")


def _distinct(heads: pl.DataFrame) -> bool:
    """Whether no row of ``heads`` repeats another. Exports sorted by date (and patient) only
    need the rows of one date (and patient) compared with each other."""
    prefix: list[str] = [name for name in ("date", "patient") if name in heads.columns]
    if prefix and heads.height > 1 and _ordered(heads, prefix):
        same = pl.all_horizontal(pl.col(n).eq_missing(pl.col(n).shift()) for n in prefix)
        tied = same.fill_null(False) | same.shift(-1).fill_null(False)
        heads = heads.filter(tied)
    return not heads.is_duplicated().any()


def _ordered(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether no row of ``frame`` comes before the one before it, comparing the ``columns``
    in turn (a missing value first)."""
    after: pl.Expr = pl.lit(True)
    for name in reversed(columns):
        now, before = pl.col(name), pl.col(name).shift()
        greater = (now > before).fill_null(False) | (before.is_null() & now.is_not_null())
        after = greater | (now.eq_missing(before) & after)
    return bool(frame.select(after.slice(1).all()).item())


def _per_visit(rows: pl.DataFrame, value: pl.Expr) -> pl.DataFrame:
    return rows.group_by("visit", maintain_order=True).agg(value)


def _shown(value: object) -> str:
    return "(empty)" if value is None else quoted(str(value))


def _conflicts(rows: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    out = []
    for name in LOOSE_FIELDS:
        if name in key or rows.is_empty():
            continue
        seen = (
            rows.group_by("visit", name, maintain_order=True)
            .agg(pl.col("line").first())
            .with_columns(pl.len().over("visit").alias("_n"))
            .filter(pl.col("_n") > 1)
        )
        if seen.is_empty():
            continue
        values = seen.get_column(name).unique()
        shown = pl.DataFrame(
            {name: values, "_shown": [_shown(v) for v in values.to_list()]},
            schema={name: values.dtype, "_shown": pl.String},
        )
        seen = seen.join(shown, on=name, how="left", nulls_equal=True, maintain_order="left")
        label = name.replace("_", " ")
        found = seen.group_by("visit", maintain_order=True).agg(
            pl.format("{} (line {})", "_shown", pl.col("line").cast(pl.String).fill_null("None"))
            .str.join(", ")
            .alias("_all"),
            pl.col("_shown").first().alias("_first"),
        )
        rule = RULES["visit-field-conflict"]
        hint = (
            rule.hint_for("key field").format(field=name)
            if name in KEY_FIELDS
            else rule.hint_for("other field")
        )
        out.append(
            found.select(
                "visit",
                pl.lit("visit-field-conflict").alias("id"),
                pl.lit(rule.severity.value).alias("severity"),
                pl.format(
                    label + " differs between the rows of one visit: {}; the visit uses {}.",
                    "_all",
                    "_first",
                ).alias("message"),
                pl.lit(hint).alias("hint"),
            )
        )
    if not out:
        return empty(FINDINGS)
    return conform(pl.concat(out), FINDINGS)


def visit_columns(frame: pl.DataFrame, visits: pl.DataFrame, *names: str) -> pl.DataFrame:
    """``frame`` with the named columns of its ``visit`` in ``visits`` (a left join on
    ``visit``, in ``frame``'s order): taken by position when the visits are numbered in order."""
    ids = visits.get_column("visit")
    wanted = frame.get_column("visit")
    if not ids.is_empty() and not wanted.is_empty() and wanted.null_count() == 0:
        low, high = ids.item(0), ids.item(-1)
        if (
            high - low == ids.len() - 1
            and (ids.diff().drop_nulls() == 1).all()
            and wanted.min() >= low
            and wanted.max() <= high
        ):
            at = (wanted - low).cast(pl.UInt32)
            return frame.hstack(visits.select(pl.col(*names).gather(at)).get_columns())
    return frame.join(visits.select("visit", *names), on="visit", how="left", maintain_order="left")


def per_value(
    frame: pl.DataFrame, keep: Sequence[str], texts: Sequence[pl.Expr], *, least: int = 1024
) -> pl.DataFrame:
    """``frame.select(*keep, *texts)`` where each of ``texts`` (row by row expressions, such as
    messages) is made once per distinct value of the columns they read and joined back: much
    less work when many rows share few values."""
    names = sorted({name for text in texts for name in text.meta.root_names()})
    if frame.height >= least and names:
        distinct = frame.select(names).unique()
        if distinct.height * 8 <= frame.height:
            made = distinct.with_columns(*texts).select(*names, *texts_names(texts))
            return (
                frame.select(*dict.fromkeys([*keep, *names]))
                .join(made, on=names, how="left", nulls_equal=True, maintain_order="left")
                .select(*keep, *texts_names(texts))
            )
    return frame.select(*keep, *texts)


def texts_names(texts: Sequence[pl.Expr]) -> list[str]:
    return [text.meta.output_name() for text in texts]


def of_visits(frame: pl.DataFrame, ids: pl.Series) -> pl.Series:
    """Per row of ``frame``: whether its ``visit`` is one of ``ids`` (``visit.is_in(ids)``),
    by position in a table of the frame's visit range when that range is small."""
    own = frame.get_column("visit")
    if own.is_empty() or own.null_count():
        return own.is_in(ids.implode())
    low, high = own.min(), own.max()
    assert isinstance(low, int) and isinstance(high, int)
    span = high - low + 1
    if span > 4 * own.len() + 1024:
        return own.is_in(ids.implode())
    at = ids.drop_nulls().cast(pl.Int64) - low
    at = at.filter((at >= 0) & (at < span)).cast(pl.UInt32)
    table = pl.Series("visit", [False] * span, dtype=pl.Boolean).scatter(at, True)
    return table.gather((own.cast(pl.Int64) - low).cast(pl.UInt32)).alias("visit")

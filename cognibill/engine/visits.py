"""Rows into visits: one timed pool per visit key (RULES.md §2), in the order of first rows.

Whether Medicare pools the minutes of different providers or disciplines on one day is open
(RULES.md §2), so the key is a setting (patient, date, provider and discipline by default).
Rows of different inputs never form one visit. A visit takes the fields of its first row; its
session ids and diagnoses are those of all its rows (in order, without repeats). Fields outside
the key that differ between a visit's rows are reported (``visit-field-conflict``).
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from cognibill.engine.frames import FINDINGS, VISIT_FIELDS, conform, empty

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
    groups = (
        rows.select(*by, pl.col("row"))
        .group_by(by, maintain_order=True)
        .agg(pl.col("row"))
        .with_row_index("visit", offset=first)
    )
    ids = groups.select("visit", "row").explode("row")
    with_ids = rows.join(ids, on="row", how="left").sort("row")
    heads = with_ids.group_by("visit", maintain_order=True).agg(
        *(pl.col(name).first() for name in VISIT_FIELDS if name not in ("session_id", "diagnoses")),
        pl.col("session_id").drop_nulls().unique(maintain_order=True).str.join(";"),
        pl.col("diagnoses")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique(maintain_order=True),
        pl.len().alias("_rows"),
    )
    visits = heads.with_columns(
        pl.when(pl.col("session_id") == "")
        .then(None)
        .otherwise(pl.col("session_id"))
        .alias("session_id")
    ).select("visit", *VISIT_FIELDS)
    multi = heads.filter(pl.col("_rows") > 1).get_column("visit")
    findings = _conflicts(with_ids.filter(pl.col("visit").is_in(multi.implode())), key)
    return Visits(with_ids, visits, findings)


def _shown(value: object) -> str:
    return "(empty)" if value is None else repr(str(value))


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
        hint = (
            f"correct the export, or add {name} to --visit-key to bill the rows as separate visits"
            if name in KEY_FIELDS
            else "correct the export so that one visit has one value"
        )
        out.append(
            found.select(
                "visit",
                pl.lit("visit-field-conflict").alias("id"),
                pl.lit("warning").alias("severity"),
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

"""The claim outputs' fast paths give what the plain ways give: the formula guard of
``cognibill.writers.neutralise`` cell by cell, money as ``low-high`` text, findings joined by
``; ``, the bytes of a text stream, and the summary's per-visit sums."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.engine.assemble import visit_sums
from cognibill.outputs.claims import (
    CLAIM_LINE,
    FINDING,
    _guarded,
    _joined,
    _notes,
    _span_cells,
    csv_header,
    csv_text,
    write_csv,
)
from cognibill.writers import neutralise

_EDGY = st.sampled_from(["", " ", "  ", "=", "+", "-", "@", "\t", "\r", "A", "7", ".", "'", "é"])
_TEXT = st.lists(_EDGY | st.text(max_size=6), min_size=1, max_size=4).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.none() | _TEXT, max_size=40))
def test_every_text_cell_is_guarded_as_the_writers_guard_it(texts: list[str | None]) -> None:
    cells = pl.Series("cell", texts, dtype=pl.String)
    expected = [None if t is None else (neutralise(t) or None) for t in texts]
    assert _guarded(cells).to_list() == expected


def test_a_column_starting_in_one_safe_run_goes_as_it_is_and_a_formula_gets_its_quote() -> None:
    safe = pl.Series("code", ["97110", "97530", "0001", "<x"])
    assert _guarded(safe).to_list() == ["97110", "97530", "0001", "<x"]
    mixed = pl.Series("patient", ["C1", "=1+2", "-5", " @a", "", "-inf", None, "7"])
    assert _guarded(mixed).to_list() == ["C1", "'=1+2", "-5", "' @a", None, "'-inf", None, "7"]


def _reference_span(low: int | None, high: int | None) -> str | None:
    if low is None or high is None:
        return None
    shown = [f"{Decimal(c) / 100:.2f}" for c in (low, high)]
    return neutralise(shown[0] if low == high else "-".join(shown))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.integers(-20_000, 20_000), st.none() | st.integers(-20_000, 20_000)
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_money_cells_are_amounts_or_low_high_ranges(
    pairs: list[tuple[int | None, int | None]], exact: bool
) -> None:
    if exact:
        pairs = [(low, low) for low, _ in pairs]
    frame = pl.DataFrame(
        {"allowed_lo": [p[0] for p in pairs], "allowed_hi": [p[1] for p in pairs]},
        schema={"allowed_lo": pl.Int64, "allowed_hi": pl.Int64},
    )
    expected = [_reference_span(low, high) for low, high in pairs]
    assert _span_cells(frame, "allowed").to_list() == expected


def _finding(severity: str, rule: str, message: str | None) -> dict[str, str | None]:
    return {
        "id": rule,
        "severity": severity,
        "message": message,
        "hint": None,
        "source": None,
        "code": None,
    }


def test_a_lines_findings_are_joined_by_semicolons_and_a_line_without_has_an_empty_cell() -> None:
    findings = [
        [],
        [_finding("error", "a", "one")],
        [_finding("error", "a", "one"), _finding("info", "b", "two, with a comma")],
        [_finding("warning", "c", None), _finding("info", "d", "four")],
        [_finding("warning", "c", None)],
        None,
    ]
    lines = pl.DataFrame({"findings": findings}, schema={"findings": pl.List(FINDING)})
    assert _notes(lines).to_list() == [
        None,
        "error[a]: one",
        "error[a]: one; info[b]: two, with a comma",
        "info[d]: four",
        None,
        None,
    ]


def _claim_lines(rows: int) -> pl.DataFrame:
    data = {
        "visit": [i // 2 for i in range(rows)],
        "source": ["export.csv"] * rows,
        "line": list(range(2, rows + 2)),
        "patient_id": [f"P{i}" if i % 3 else f"=P{i}" for i in range(rows)],
        "date": [dt.date(2026, 3, 2 + i % 5) for i in range(rows)],
        "code": ["97110" if i % 2 else "97530" for i in range(rows)],
        "units": [i % 4 for i in range(rows)],
        "minutes": [8 + i for i in range(rows)],
        "modifiers": [["GP", "KX"][: i % 3] for i in range(rows)],
        "allowed_lo": [None if i % 7 == 0 else 1000 + i for i in range(rows)],
        "findings": [[_finding("info", "x", f"note {i}")] * (i % 3) for i in range(rows)],
    }
    frame = pl.DataFrame(data).with_columns(
        pl.col("allowed_lo").alias("allowed_hi"),
        (pl.col("allowed_lo") * 8 // 10).alias("payer_pays_lo"),
        (pl.col("allowed_lo") * 8 // 10).alias("payer_pays_hi"),
        (pl.col("allowed_lo") * 2 // 10).alias("patient_owes_lo"),
        (pl.col("allowed_lo") * 3 // 10).alias("patient_owes_hi"),
    )
    columns = [
        (pl.col(n) if n in frame.columns else pl.lit(None)).cast(t).alias(n)
        for n, t in CLAIM_LINE.items()
    ]
    return frame.select(pl.col("visit").cast(pl.UInt32), *columns)


def test_bytes_to_a_utf8_buffer_are_the_text_a_text_stream_gets_in_order() -> None:
    lines = _claim_lines(50)
    text = io.StringIO()
    text.write("before\n")
    write_csv(lines, text, header=True)
    write_csv(lines, text, header=False)
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8")
    stream.write("before\n")  # still in the text layer: must go out first
    write_csv(lines, stream, header=True)
    write_csv(lines, stream, header=False)
    stream.flush()
    assert raw.getvalue().decode("utf-8") == text.getvalue()
    body = csv_text(lines, header=True)
    assert text.getvalue() == "before\n" + body + body.removeprefix(csv_header())
    assert "'=P3" in body and ",GP KX," in body


def test_a_latin1_stream_gets_text_not_utf8_bytes() -> None:
    lines = _claim_lines(4).with_columns(pl.lit("é.csv").alias("source"))
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="latin-1")
    write_csv(lines, stream, header=True)
    stream.flush()
    assert raw.getvalue().decode("latin-1") == csv_text(lines, header=True)


def test_the_summary_sums_each_visits_lines_in_one_pass_or_in_any_order() -> None:
    lines = _claim_lines(41)
    sums = visit_sums(lines)
    shuffled = visit_sums(lines.sample(fraction=1.0, shuffle=True, seed=3))
    assert sums.sort("visit").equals(shuffled.sort("visit"))
    first = sums.row(1, named=True)  # lines 2 and 3: units 2 and 3, allowed 1002 and 1003
    assert (first["lines"], first["units"], first["allowed_lo"], first["priced"]) == (
        2,
        5,
        2005,
        True,
    )
    none = sums.row(0, named=True)  # line 0 has no money, line 1 has 1 unit
    assert (none["lines"], none["units"], none["allowed_lo"], none["priced"]) == (1, 1, 1001, True)


def test_modifier_cells_are_space_separated_and_a_batch_without_any_has_empty_cells() -> None:
    mods = pl.Series("modifiers", [["GP", "KX"], [], None, ["59"], ["GO", None, "CQ"]])
    assert _joined(mods, " ").to_list() == ["GP KX", None, None, "59", "GO CQ"]
    none = pl.Series("modifiers", [[], []], dtype=pl.List(pl.String))
    assert _joined(none, " ").to_list() == [None, None]
    assert (
        csv_text(
            _claim_lines(3).with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("modifiers")),
            header=False,
        ).count(",,")
        >= 3
    )

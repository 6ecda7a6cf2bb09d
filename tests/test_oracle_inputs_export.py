"""The columnar export reader against the old one (issue 9): same rows, rejections, errors.

Every fixture export under ``tests/data/csv`` and the README sample are read by both
:class:`~cognibill.readers.csv_export.ExportReader` (the oracle) and
:class:`~cognibill.inputs.export.ExportFrames`; so are small exports hypothesis writes with bad
cells, blank lines, ragged rows and quoted newlines. This file goes with the old reader.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from cognibill.engine.frames import REJECTED, ROWS
from cognibill.errors import CognibillError
from cognibill.inputs.export import ExportFrames
from cognibill.readers.csv_export import ExportReader, RejectedRow, ServiceRow

ROOT = Path(__file__).parent.parent
CSV = Path(__file__).parent / "data" / "csv"
FIXTURES = [
    *sorted(p for p in CSV.rglob("*") if p.is_file() and p.suffix in (".csv", ".tsv", ".gz")),
    ROOT / "sample_sessions" / "export.csv",
]

Outcome = tuple[pl.DataFrame, pl.DataFrame, tuple[int, int, int], tuple[Any, ...] | None]


def _error(exc: CognibillError) -> tuple[Any, ...]:
    return (
        type(exc).__name__,
        str(exc),
        exc.hint,
        getattr(exc, "line", None),
        getattr(exc, "column", None),
        getattr(exc, "problems", None),
    )


def old(source: Any, **options: Any) -> Outcome:
    """What the old reader gives, as ROWS and REJECTED frames (it reads no chunks)."""
    options.pop("chunk_rows", None)
    reader = ExportReader(source, **options)
    good: list[dict[str, object]] = []
    bad: list[dict[str, object]] = []
    error = None
    try:
        for item in reader:
            if isinstance(item, ServiceRow):
                s = item.service
                good.append(
                    {
                        "row": len(good),
                        "source": reader.name,
                        "line": item.line,
                        "patient": item.patient,
                        "date": item.date,
                        "provider": item.provider,
                        "discipline": None if item.discipline is None else item.discipline.value,
                        "payer": item.payer,
                        "place_of_service": item.place_of_service,
                        "poc_start": item.poc_start,
                        "poc_certified": item.poc_certified,
                        "has_plan": item.poc_start is not None or item.poc_certified is not None,
                        "session_id": item.session_id,
                        "diagnoses": list(item.diagnoses),
                        "visit_line": item.line,
                        "code": s.code,
                        "minutes": s.minutes,
                        "assistant_minutes": s.assistant_minutes,
                        "group": s.group,
                        "units_billed": s.units_billed,
                        "modifiers": list(s.modifiers),
                    }
                )
            else:
                assert isinstance(item, RejectedRow)
                bad.append({"source": reader.name, **item.to_dict()})
    except CognibillError as exc:
        error = _error(exc)
    rows = pl.DataFrame(
        [{name: r.get(name) for name in ROWS} for r in good], schema=ROWS, orient="row"
    )
    rejected = pl.DataFrame(bad, schema=REJECTED)
    return rows, rejected, (reader.rows_read, reader.rows_rejected, reader.blank_lines), error


def new(source: Any, **options: Any) -> Outcome:
    """What the columnar reader gives, chunks put end to end."""
    reader = ExportFrames(source, **options)
    rows = [pl.DataFrame(schema=ROWS)]
    rejected = [pl.DataFrame(schema=REJECTED)]
    error = None
    try:
        for chunk in reader:
            assert chunk.rows.schema == pl.Schema(ROWS)
            assert chunk.rejected.schema == pl.Schema(REJECTED)
            rows.append(chunk.rows)
            rejected.append(chunk.rejected)
    except CognibillError as exc:
        error = _error(exc)
    counts = (reader.rows_read, reader.rows_rejected, reader.blank_lines)
    return pl.concat(rows), pl.concat(rejected), counts, error


def same(source: Any, make: Any = None, stdin_bytes: bytes | None = None, **options: Any) -> None:
    """Both readers agree on ``source`` (``make`` builds a fresh stream for each;
    ``stdin_bytes`` is what standard input holds)."""
    if stdin_bytes is not None:
        want = old(source, stdin=io.BytesIO(stdin_bytes), **options)
        got = new(source, stdin=io.BytesIO(stdin_bytes), **options)
    else:
        want = old(make() if make else source, **options)
        got = new(make() if make else source, **options)
    assert got[3] == want[3]
    assert_frame_equal(got[0], want[0])
    assert_frame_equal(got[1], want[1])
    assert got[2] == want[2]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fixture_reads_as_the_old_reader_reads_it(path: Path) -> None:
    same(path)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fixture_in_small_chunks_and_strict(path: Path) -> None:
    want = old(path)
    got = new(path, chunk_rows=3)
    assert_frame_equal(got[0], want[0])
    assert_frame_equal(got[1], want[1])
    assert got[2:] == want[2:]
    same(path, strict=True)


def test_the_benchmark_export_in_chunks(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from make_export import write_export  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    path = tmp_path / "export.csv"
    write_export(path, 8_000, seed=7)
    same(path, chunk_rows=3_000)


@pytest.mark.parametrize(
    ("path", "options"),
    [
        (CSV / "edges" / "missing_minutes.csv", {"column_map": {"minutes": "Session Length"}}),
        (CSV / "edges" / "missing_minutes.csv", {"column_map": {"minutes": "Nope"}}),
        (CSV / "missing_column.csv", {"column_map": {"date": "Visit Day"}}),
        (
            CSV / "missing_column.csv",
            {"column_map": {"date": "Visit Day", "minutes": "Treatment Time"}},
        ),
        (CSV / "edges" / "cp1252.csv", {"encoding": "cp1252"}),
        (CSV / "edges" / "cp1252.csv", {"encoding": "utf-8"}),
        (CSV / "not_utf8.csv", {"encoding": "latin-1"}),
        (CSV / "utf16.tsv", {"encoding": "utf-16"}),
        (CSV / "bad_rows.csv", {"default_code": "97110"}),
        (CSV / "bad_rows.csv", {"name": "clinic.csv"}),
        (CSV / "tab.tsv", {"default_code": "97110-59"}),
    ],
)
def test_options_read_as_the_old_reader_reads_them(path: Path, options: dict[str, Any]) -> None:
    same(path, **options)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fixture_from_a_stream(path: Path) -> None:
    data = path.read_bytes()
    same(None, make=lambda: io.BytesIO(data))
    same("-", stdin_bytes=data)


def test_an_unknown_map_field_is_the_same_command_line_mistake() -> None:
    with pytest.raises(CognibillError) as old_error:
        list(ExportReader(CSV / "crlf.csv", column_map={"minuets": "Duration"}))
    with pytest.raises(CognibillError) as new_error:
        list(ExportFrames(CSV / "crlf.csv", column_map={"minuets": "Duration"}))
    assert _error(new_error.value) == _error(old_error.value)


# -- exports hypothesis writes --------------------------------------------------------------------

_COLUMNS: dict[str, list[str]] = {
    "Patient": ["P1", "P1", "P2", " P3 ", "", "  ", "C-1,2", 'say "hi"', "a\nb"],
    "DOS": ["2026-03-02", "3/2/2026", "03/02/2026 14:30", "3/2/26", "02/30/2026", "46085", ""],
    "Minutes": ["38", "45", "45.0", "45 min", "-5", "1441", "thirty", "", " 20 ", "1:15"],
    "CPT": ["97129", "97130", "97110-59", "92129", "", "97532", "97110-5", "g0515"],
    "Provider NPI": ["1912345678", "", " 1922222222 "],
    "Credential": ["CCC-SLP", "MS, CCC-SLP", "SPL", "", "PTA", "COTA"],
    "Payer": ["Medicare", "Blue Cross, PPO", "", " Aetna "],
    "Modifiers": ["GP", "GP CQ", "GNX", "", "59"],
    "Modifier 2": ["", "KX", "X"],
    "Billed Units": ["2", "", "three", "97", "-1"],
    "POS": ["11", "", "Office", "2"],
    "Session ID": ["S-1", "", "S 2 "],
    "Dx 1": ["R41.840", "", "f07.81, z99"],
    "Dx 2": ["", "G31.84"],
    "POC Start": ["", "2026-01-05", "1/5/26"],
    "POC Certified": ["", "2026-01-09"],
    "Assistant": ["", "yes", "no", "maybe"],
    "Assistant Minutes": ["", "5", "50", "-1"],
    "Group": ["", "y", "0", "sometimes"],
    "Notes": ["", "first line\nsecond", "x\r\ny", "ok"],
}
_REQUIRED = ("Patient", "DOS", "Minutes")
_OPTIONAL = [c for c in _COLUMNS if c not in _REQUIRED]


@st.composite
def exports(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """A small export: some columns, good and bad cells, ragged and blank rows, and line
    endings, delimiter, BOM and gzip of its own."""
    optional = draw(st.lists(st.sampled_from(_OPTIONAL), unique=True, max_size=8))
    header = [*_REQUIRED, *optional]
    if draw(st.integers(0, 9)) == 9:
        header.remove(draw(st.sampled_from(_REQUIRED)))  # a missing column
    header = draw(st.permutations(header))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
    writer.writerow(header)
    for _ in range(draw(st.integers(0, 12))):
        shape = draw(st.integers(0, 12))  # 0 to 6: a row like the header
        if shape == 7:
            out.write(ending)  # a blank line
            continue
        if shape == 8:
            out.write(delimiter * (len(header) - 1) + ending)  # cells all empty
            continue
        if shape == 9:
            out.write("   " + ending)
            continue
        row = [draw(st.sampled_from(_COLUMNS[name])) for name in header]
        if shape == 10:
            row = row[: draw(st.integers(1, len(row)))]  # too few cells
        elif shape == 11:
            row += [""] * draw(st.integers(1, 2))  # a trailing delimiter
        elif shape == 12:
            row += ["extra"]
        writer.writerow(row)
    if draw(st.booleans()):
        out.write('P9,2026-03-02,"38')  # a quote left open at the end
    data = out.getvalue().encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 4)) == 0:
        data = gzip.compress(data)
    options = {"chunk_rows": draw(st.integers(1, 6)), "strict": draw(st.integers(0, 5)) == 0}
    return data, options


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_generated_exports_read_as_the_old_reader_reads_them(
    export: tuple[bytes, dict[str, Any]],
) -> None:
    data, options = export
    same(None, make=lambda: io.BytesIO(data), **options)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_generated_exports_as_text_streams(export: tuple[bytes, dict[str, Any]]) -> None:
    """A caller's text stream splits its lines its own way: line numbers row by row."""
    data, options = export
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8-sig")
    same(None, make=lambda: io.StringIO(text), **options)
    same(None, make=lambda: io.StringIO(text, newline=""), **options)


def test_a_quote_never_closed_stops_the_read_as_the_old_reader_stops(tmp_path: Path) -> None:
    path = tmp_path / "open_quote.csv"
    lines = ["Patient,DOS,Minutes", "P1,2026-03-02,38", "P2,2026-03-02,38"]
    lines += ['P3,2026-03-02,"38'] + ["P4,2026-03-02,38"] * 20_000
    path.write_text("\n".join(lines) + "\n")
    want = old(path)
    assert want[3] is not None and "field larger than field limit" in want[3][1]
    same(path)
    same(path, chunk_rows=1)

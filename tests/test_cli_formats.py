"""``cognibill formats`` (issue 10): the vendor export shapes read with no flag, and the
generic export, as a table, JSON and CSV (EXPORTS.md; RULES.md §11 for what each shape lacks).

A biller reads the name off this list to pass it to ``--from NAME``, so every name must be
shown whole; the JSON and CSV forms carry each shape's signature and columns.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from cognibill.inputs.shapes import Shape, all_shapes
from cognibill.readers.columns import FIELDS, aliases
from tests.conftest import Run

Cli = Callable[..., Run]

NAMES = [s.name for s in all_shapes()] + ["generic"]


def test_the_table_lists_every_shape_by_its_whole_name_and_generic(cli: Cli) -> None:
    """EXPORTS.md: each shape's name as ``--from`` takes it, unshortened, at 120 columns."""
    run = cli("formats")
    assert run.code == 0
    assert run.err == ""
    for name in NAMES:
        assert name in run.out, f"{name} missing or cut short in the table"


def test_the_table_on_a_wide_terminal_lists_every_shape(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXPORTS.md (edge): with room enough no name is cut."""
    monkeypatch.setenv("COLUMNS", "250")
    run = cli("formats")
    assert run.code == 0
    assert all(name in run.out for name in NAMES)


def test_json_holds_each_shapes_signature_and_columns(cli: Cli) -> None:
    """EXPORTS.md: ``-f json`` gives every shape as the data file says it, then generic."""
    run = cli("formats", "-f", "json")
    assert run.code == 0
    formats = run.json()["formats"]
    assert [f["name"] for f in formats] == NAMES
    for shape, found in zip(all_shapes(), formats, strict=False):
        assert found == {
            "name": shape.name,
            "vendor": shape.vendor,
            "signature": list(shape.signature),
            "columns": dict(shape.columns),
            "notes": shape.notes,
        }
        assert found["signature"], shape.name
        assert set(found["columns"]) <= set(FIELDS)


def test_json_generic_has_no_signature_and_every_fields_aliases(cli: Cli) -> None:
    """RULES.md §11 (edge): the generic export is recognised by no signature; its columns are
    the aliases of every field."""
    generic = cli("formats", "-f", "json").json()["formats"][-1]
    assert generic["name"] == "generic"
    assert generic["signature"] == []
    assert set(generic["columns"]) == set(FIELDS)
    assert generic["columns"]["minutes"] == " | ".join(aliases("minutes"))
    assert "Actual Start Time" in generic["columns"]["start"]


def test_csv_has_a_header_row_and_a_row_per_shape(cli: Cli) -> None:
    """``-f csv``: a header row, then one row per shape with its signature and columns."""
    run = cli("formats", "-f", "csv")
    assert run.code == 0
    reader = csv.reader(io.StringIO(run.out, newline=""))
    header = next(reader)
    assert header == ["name", "vendor", "signature", "columns", "notes"]
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert [r["name"] for r in rows] == NAMES
    by_name = {r["name"]: r for r in rows}
    shape: Shape
    for shape in all_shapes():
        row = by_name[shape.name]
        assert row["signature"] == " | ".join(shape.signature)
        for field, header_name in shape.columns.items():
            assert f"{field}={header_name}" in row["columns"]
    # no signature: a dash, which the CSV writer's formula guard writes as "'-"
    assert by_name["generic"]["signature"] in ("-", "'-")


def test_a_format_formats_does_not_write_is_a_usage_error(cli: Cli) -> None:
    """(edge) Only table, json and csv: ndjson is a command-line mistake here (exit 2)."""
    run = cli("formats", "-f", "ndjson")
    assert run.code == 2
    assert run.out == ""
    assert "use one of table, json, csv" in run.err


def test_every_listed_name_is_accepted_by_from(cli: Cli, tmp_path: Path) -> None:
    """EXPORTS.md: each name the list shows is one ``--from`` takes (no usage error)."""
    path = tmp_path / "export.csv"
    path.write_text("Patient ID,Date of Service,Minutes\nP1,2026-03-02,15\n", encoding="utf-8")
    for shape in all_shapes():
        run = cli("claim", str(path), "--from", shape.name, "-f", "json", "--no-estimate")
        assert run.code != 2, (shape.name, run.err)

"""``cognibill codes`` lists the catalogue in every format."""

from __future__ import annotations

import csv
import io


def test_codes_json_lists_the_cognitive_pair_and_the_deleted_codes(cli) -> None:  # type: ignore[no-untyped-def]
    codes = {c["code"]: c for c in cli("codes", "-f", "json").json()["codes"]}
    assert codes["97129"]["role"] == "primary" and codes["97130"]["role"] == "addon"
    assert codes["97532"]["deleted_on"] == "2018-01-01"
    assert codes["G0515"]["replaced_by"] == "97129 97130"
    assert codes["96125"]["kind"] == "hourly"


def test_codes_csv_and_table_have_one_row_per_code(cli) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(cli("codes", "-f", "csv").out)))
    assert len(rows) == len(cli("codes", "-f", "json").json()["codes"])
    assert "97130" in cli("codes").out

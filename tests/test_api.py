"""The public core API (cognibill.bill, cognibill.bill_rows): the CLI's run, as frames."""

from __future__ import annotations

import cognibill
from cognibill.inputs.sessions import session_rows
from cognibill.readers.session_file import read_session_file
from tests.conftest import REPO

SAMPLES = REPO / "sample_sessions"
GENERATED = REPO / "tests" / "data" / "csv" / "generated_export.csv"


def test_bill_gives_the_lines_findings_rejected_rows_and_summary_of_claim(cli) -> None:  # type: ignore[no-untyped-def]
    result = cognibill.bill([GENERATED])
    claimed = cli("claim", str(GENERATED), "--format", "json").json()
    assert result.lines.height == len(claimed["lines"])
    assert result.rejected.height == len(claimed["rejected"]) == 5
    summary = {k: v for k, v in result.summary.items() if k != "seconds"}
    assert summary == {k: v for k, v in claimed["summary"].items() if k != "seconds"}
    assert result.summary["rows_read"] == 318
    assert result.findings.height == sum(result.summary["findings"].values())


def test_bill_rows_bills_canonical_rows_already_in_memory() -> None:
    """RULES.md §2 worked example: 97110 26 + 97530 19 + 97140 6 -> 2, 1, 0."""
    visits = read_session_file(SAMPLES / "multi_code_day.toml")
    result = cognibill.bill_rows(session_rows(visits), estimate=False)
    first = result.lines.filter(result.lines["date"].dt.day() == 7)
    assert first.select("code", "units").rows() == [("97110", 2), ("97530", 1)]
    assert result.summary["allowed"] is None  # no estimate asked for

"""Never bill half a visit as whole (issue 10, RULES.md §11): ``visit-incomplete``.

RULES.md §11: the CMS pool (§2) needs every timed minute of a visit. 97113 24 min + 97116 23 min
is 97113 ×2 + 97116 ×1; once the 97113 row is rejected the rest looks like 97116 ×2. So when a
row of a visit is rejected, the visit's other lines carry an error naming the rejected lines,
and the summary counts such visits. A rejected row belongs to a visit by file, patient and date,
and by provider and discipline when its cells could be read.

Every input is a small fictional CSV written in ``tmp_path`` by the test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from cognibill.engine.bill import Billed
from cognibill.engine.run import ClaimRun, Rejected, RunOptions
from tests.conftest import Run

Cli = Callable[..., Run]

HEADER = "Patient ID,Date of Service,CPT,Minutes,Provider,Discipline,Payer"

HALF_A_VISIT = (
    f"{HEADER}\n"
    "P1,2026-03-02,97113,twenty,Ann Lee,PT,Medicare\n"
    "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
)
"""RULES.md §11's example: the 97113 row (line 2) cannot be read; the 97116 row can."""

MESSAGE = (
    "rejected line 2 of this visit: not billed as whole (its units and money would be those of "
    "part of the visit)"
)


def write(tmp_path: Path, text: str, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def claim(cli: Cli, path: Path, *args: str) -> tuple[Run, dict[str, Any]]:
    run = cli("claim", str(path), "-f", "json", "--no-estimate", *args)
    assert run.out, run.err
    data = run.json()
    s = data["summary"]
    assert s["rows_read"] == s["rows_used"] + s["rows_rejected"] + s["rows_skipped"]
    assert s["rows_rejected"] == len(data["rejected"])
    return run, data


def incomplete(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(patient, date, code, message) of every line that carries ``visit-incomplete``."""
    return [
        (x["patient_id"], x["date"], x["code"], f["message"])
        for x in data["lines"]
        for f in x["findings"]
        if f["id"] == "visit-incomplete"
    ]


# -- the visit that lost a row ------------------------------------------------------------------


def test_the_97116_line_of_a_visit_whose_97113_row_was_rejected_is_visit_incomplete(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: the 97116 line is not the whole visit: an error naming line 2."""
    run, data = claim(cli, write(tmp_path, HALF_A_VISIT))
    assert run.code == 1
    assert [(r["line"], r["column"]) for r in data["rejected"]] == [(2, "Minutes")]
    [line] = data["lines"]
    assert (line["code"], line["line"]) == ("97116", 3)
    [finding] = line["findings"]
    assert (finding["id"], finding["severity"], finding["message"]) == (
        "visit-incomplete",
        "error",
        MESSAGE,
    )
    assert finding["source"] == "RULES.md §11"
    assert data["summary"]["visits_incomplete"] == 1
    assert data["summary"]["findings"]["error"] == 1


def test_visit_incomplete_is_reported_by_check_too(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: ``check`` says what ``claim`` says, and fails the same way."""
    run = cli("check", str(write(tmp_path, HALF_A_VISIT)), "-f", "json")
    assert run.code == 1
    assert "visit-incomplete" in run.out
    assert "line 2" in run.out


def test_a_whole_visit_is_not_visit_incomplete(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §2, §11 (edge): with both rows read, 97113 24 + 97116 23 is 97113 ×2 + 97116 ×1
    and nothing is incomplete."""
    path = write(tmp_path, HALF_A_VISIT.replace("twenty", "24"))
    run, data = claim(cli, path)
    assert run.code == 0
    assert [(x["code"], x["units"]) for x in data["lines"]] == [("97113", 2), ("97116", 1)]
    assert incomplete(data) == []
    assert data["summary"]["visits_incomplete"] == 0


def test_several_rejected_rows_of_one_visit_are_named_together(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11: every rejected line of the visit is named, once."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97113,twenty,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97110,-5,Ann Lee,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    [(_, _, _, message)] = incomplete(data)
    assert message.startswith("rejected lines 2, 4 of this visit")
    assert data["summary"]["visits_incomplete"] == 1


# -- rejected rows of other visits ---------------------------------------------------------------


def test_a_rejected_row_of_another_patient_does_not_touch_the_visit(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11 (edge): P2's bad row is no part of P1's visit."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97113,24,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97113,twenty,Ann Lee,PT,Medicare\n",
    )
    run, data = claim(cli, path)
    assert run.code == 1  # the rejected row still fails the run
    assert incomplete(data) == []
    assert data["summary"]["visits_incomplete"] == 0


def test_a_rejected_row_of_another_date_does_not_touch_the_visit(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11 (edge): the same patient's bad row of 3 March is no part of 2 March."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97113,24,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P1,2026-03-03,97113,twenty,Ann Lee,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    assert incomplete(data) == []


def test_a_rejected_row_of_another_provider_does_not_touch_the_visit(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11 (edge): a visit is keyed by provider too: Bo Park's bad row is his visit's."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97113,twenty,Bo Park,PT,Medicare\n"
        "P1,2026-03-02,97110,15,Bo Park,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    assert [(p, c) for p, _, c, _ in incomplete(data)] == [("P1", "97110")]
    assert data["summary"]["visits_incomplete"] == 1


def test_a_rejected_row_without_a_provider_flags_that_patients_visits_of_the_day(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: a rejected row whose provider cannot be read may belong to any of the
    patient's visits that day: each is flagged; another patient's is not."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97112,23,Bo Park,PT,Medicare\n"
        "P1,2026-03-02,97113,twenty,,PT,Medicare\n"
        "P2,2026-03-02,97110,15,Ann Lee,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    flagged = [(p, c, m.split(":")[0]) for p, _, c, m in incomplete(data)]
    assert flagged == [
        ("P1", "97116", "rejected line 4 of this visit"),
        ("P1", "97112", "rejected line 4 of this visit"),
    ]
    assert data["summary"]["visits_incomplete"] == 2


def test_a_rejected_row_with_an_unknown_discipline_flags_the_providers_visit(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: an unreadable discipline cell matches the visit of that provider."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P1,2026-03-02,97113,24,Ann Lee,XYZ,Medicare\n",
    )
    _, data = claim(cli, path)
    assert [c for _, _, c, _ in incomplete(data)] == ["97116"]


def test_a_rejected_row_whose_date_cannot_be_read_flags_no_visit(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11 (edge): with no date the row cannot be put in any visit: nothing is flagged
    (the row is still rejected and fails the run)."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n"
        "P1,03-02-26,97113,24,Ann Lee,PT,Medicare\n",
    )
    run, data = claim(cli, path)
    assert run.code == 1
    assert [r["line"] for r in data["rejected"]] == [3]
    assert incomplete(data) == []
    assert data["summary"]["visits_incomplete"] == 0


def test_a_rejected_row_whose_patient_is_empty_flags_no_visit(cli: Cli, tmp_path: Path) -> None:
    """RULES.md §11 (edge): with no patient the row belongs to no visit."""
    path = write(
        tmp_path,
        f"{HEADER}\nP1,2026-03-02,97116,23,Ann Lee,PT,Medicare\n,2026-03-02,97113,24,Ann Lee,PT,\n",
    )
    _, data = claim(cli, path)
    assert incomplete(data) == []


def test_a_visit_is_flagged_in_an_export_sorted_by_patient_then_date(
    cli: Cli, tmp_path: Path
) -> None:
    """RULES.md §11: an export sorted by patient and date (which a claim run streams) still
    flags P2's visit when P2's 2 March row comes after P1's 3 March rows."""
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "P1,2026-03-02,97110,15,Ann Lee,PT,Medicare\n"
        "P1,2026-03-03,97110,15,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97113,twenty,Ann Lee,PT,Medicare\n"
        "P2,2026-03-02,97116,23,Ann Lee,PT,Medicare\n",
    )
    _, data = claim(cli, path)
    assert [(p, d, c) for p, d, c, _ in incomplete(data)] == [("P2", "2026-03-02", "97116")]
    assert data["summary"]["visits_incomplete"] == 1


# -- across batches -----------------------------------------------------------------------------


def _many_days(days: int, bad_day: int) -> tuple[str, int]:
    """Three patients a day, sorted by date; on ``bad_day`` P2's 97113 row is rejected.
    Returns the text and the rejected row's line."""
    start = dt.date(2026, 3, 2)
    rows = [HEADER]
    bad_line = 0
    for day in range(days):
        date = (start + dt.timedelta(days=day)).isoformat()
        for patient in ("P1", "P2", "P3"):
            if patient == "P2" and day == bad_day:
                rows.append(f"P2,{date},97113,twenty,Ann Lee,PT,Medicare")
                bad_line = len(rows)
                rows.append(f"P2,{date},97116,23,Ann Lee,PT,Medicare")
            else:
                rows.append(f"{patient},{date},97110,15,Ann Lee,PT,Medicare")
    return "\n".join(rows) + "\n", bad_line


def _run(path: Path, batch_rows: int) -> tuple[pl.DataFrame, pl.DataFrame, Any]:
    run = ClaimRun([str(path)], RunOptions(estimate=False, batch_rows=batch_rows))
    findings: list[pl.DataFrame] = []
    rejected: list[pl.DataFrame] = []
    batches = 0
    for item in run:
        if isinstance(item, Billed):
            batches += 1
            findings.append(item.findings)
        elif isinstance(item, Rejected):
            rejected.append(item.rows)
    assert batches > 1 or batch_rows >= 100
    return pl.concat(findings), pl.concat(rejected), run.summary


@pytest.mark.parametrize("batch_rows", [1, 2, 5, 1000])
def test_a_sorted_export_read_in_small_batches_flags_the_right_visit(
    tmp_path: Path, batch_rows: int
) -> None:
    """RULES.md §11: however the rows fall into batches, the one visit that lost a row (P2 on
    day 5) is flagged, naming its rejected line, and no other."""
    text, bad_line = _many_days(days=8, bad_day=4)
    path = write(tmp_path, text)
    findings, rejected, summary = _run(path, batch_rows)
    assert rejected.get_column("line").to_list() == [bad_line]
    flagged = findings.filter(pl.col("id") == "visit-incomplete")
    assert flagged.select("patient_id", "date", "line").rows() == [
        ("P2", dt.date(2026, 3, 6), bad_line + 1)
    ]
    assert f"rejected line {bad_line} of this visit" in flagged.get_column("message")[0]
    assert summary.visits_incomplete == 1
    assert summary.visits == 24
    assert summary.rows_read == summary.rows_used + summary.rows_rejected + summary.rows_skipped


@pytest.mark.parametrize("batch_rows", [1, 3])
def test_a_bad_row_on_the_last_day_is_flagged_across_batches(
    tmp_path: Path, batch_rows: int
) -> None:
    """RULES.md §11: the last day's visit, billed after the read ends, is flagged too."""
    text, _ = _many_days(days=4, bad_day=3)
    findings, _, summary = _run(write(tmp_path, text), batch_rows)
    flagged = findings.filter(pl.col("id") == "visit-incomplete")
    assert flagged.select("patient_id", "date").rows() == [("P2", dt.date(2026, 3, 5))]
    assert summary.visits_incomplete == 1

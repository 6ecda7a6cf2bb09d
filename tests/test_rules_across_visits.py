"""Rules that span visits, on frames, in date order: 97129 once per day (RULES.md §5) and a
progress report every 10 treatment days (§7), with the history carried between chunks."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from cognibill.engine.frames import LINES, SERVICES, VISITS, Batch, conform
from cognibill.rules.across_visits import History, check_history
from cognibill.rules.context import COMMERCIAL_LIKE, MEDICARE_LIKE

TODAY = date(2026, 12, 31)
DAY_1 = date(2026, 3, 2)
PAYERS = {p.id: p for p in (MEDICARE_LIKE, COMMERCIAL_LIKE)}


VisitAndLine = tuple[dict[str, Any], dict[str, Any]]
"""A VISITS row and its one LINES row."""


def visit(
    visit: int, day: date = DAY_1, *, code: str = "97129", units: int = 1, **fields: Any
) -> VisitAndLine:
    """A VISITS row and its one billing line (``code`` × ``units``): an SLP under Medicare."""
    row: dict[str, Any] = {
        "visit": visit,
        "patient": "P-1001",
        "date": day,
        "provider": "1528060837",
        "discipline": "slp",
        "payer_id": "medicare",
        "source": "a.toml",
        "visit_line": 1 + 10 * visit,
    }
    line = {"visit": visit, "service": code, "code": code, "units": units}
    return row | fields, line


def batch(*visits: VisitAndLine) -> Batch:
    def frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
        return conform(pl.DataFrame(rows, schema_overrides={"visit": pl.UInt32}), schema)

    rows = [v for v, _ in visits]
    lines = [line for _, line in visits]
    return Batch(
        frame(rows, VISITS), conform(pl.DataFrame(), SERVICES), frame(lines, LINES), PAYERS, TODAY
    )


def run(*visits: VisitAndLine) -> pl.DataFrame:
    return check_history(batch(*visits), History())[0]


def found(findings: pl.DataFrame, rule_id: str) -> list[tuple[int, str, str]]:
    """(visit, severity, message) of each finding of ``rule_id``."""
    rows = findings.filter(pl.col("id") == rule_id).select("visit", "severity", "message")
    return list(rows.iter_rows())


def days(count: int, first: int = 0, **fields: Any) -> list[VisitAndLine]:
    """``count`` visits on consecutive dates from ``DAY_1``, visit ids from ``first``."""
    return [visit(first + i, DAY_1 + timedelta(days=i), **fields) for i in range(count)]


# -- primary-more-than-once across visits (RULES.md §5: 97129 once per day) ---------------------


def test_97129_twice_the_same_day_across_two_visit_keys_rules_5() -> None:
    first = visit(0)
    second = visit(1, provider="2222222222", discipline="ot")
    findings = run(first, second)
    assert found(findings, "primary-more-than-once") == [
        (
            1,
            "error",
            "97129 billed again for P-1001 on 2026-03-02: already billed by provider "
            "1528060837 (slp), a.toml:1; 97129 is once per day, so only one visit that day "
            "bills it.",
        )
    ]
    assert findings.get_column("code").to_list() == ["97129"]


def test_97129_on_different_dates_or_patients_or_with_97130_only_is_once_a_day_rules_5() -> None:
    assert run(visit(0), visit(1, DAY_1 + timedelta(days=1))).is_empty()
    assert run(visit(0), visit(1, patient="P-2002")).is_empty()
    assert run(visit(0), visit(1, code="97130")).is_empty()
    assert run(visit(0, units=0), visit(1)).is_empty()  # a 0-unit line bills nothing


def test_every_later_visit_names_the_first_that_billed_97129_rules_5() -> None:
    findings = run(visit(0, code="97110"), visit(1, source=""), visit(2), visit(3))
    assert [v for v, _, _ in found(findings, "primary-more-than-once")] == [2, 3]
    assert all(
        "already billed by provider 1528060837 (slp), line 11;" in m
        for _, _, m in found(findings, "primary-more-than-once")
    )


def test_a_visit_nothing_names_is_another_visit_rules_5() -> None:
    bare = visit(0, provider=None, discipline=None, source=None, visit_line=None)
    messages = [m for _, _, m in found(run(bare, visit(1)), "primary-more-than-once")]
    assert ["already billed by another visit;" in m for m in messages] == [True]


# -- progress-report-due (RULES.md §7: every 10 treatment days) ---------------------------------


def test_progress_report_due_on_the_10th_treatment_day_not_the_9th_rules_7() -> None:
    assert run(*days(9)).is_empty()
    assert found(run(*days(10)), "progress-report-due") == [
        (
            9,
            "warning",
            "P-1001: 2026-03-11 is treatment day 10 in this input (SLP plan of care): a "
            "progress report is due at least once every 10 treatment days.",
        )
    ]


def test_two_visits_on_one_date_are_one_treatment_day_rules_7() -> None:
    nine = [*days(9), visit(9, DAY_1 + timedelta(days=8), code="92507")]
    assert run(*nine).is_empty()


def test_every_10th_day_is_due_info_for_a_payer_without_plan_rules_rules_7() -> None:
    findings = run(*days(20, payer_id="commercial", code="97110"))
    assert [(v, s) for v, s, _ in found(findings, "progress-report-due")] == [
        (9, "info"),
        (19, "info"),
    ]


def test_assistants_count_with_their_therapists_plan_and_other_disciplines_apart_rules_7() -> None:
    pt = [
        visit(i, DAY_1 + timedelta(days=i), discipline="pt" if i % 2 else "pta") for i in range(10)
    ]
    ot = [visit(10 + i, DAY_1 + timedelta(days=i), discipline="ot") for i in range(9)]
    other = [visit(30 + i, DAY_1 + timedelta(days=i), discipline=None) for i in range(10)]
    messages = [m for _, _, m in found(run(*pt, *ot, *other), "progress-report-due")]
    assert [m.split(": a progress")[0] for m in messages] == [
        "P-1001: 2026-03-11 is treatment day 10 in this input (PT plan of care)",
        "P-1001: 2026-03-11 is treatment day 10 in this input",
    ]


def test_a_newest_first_input_counts_treatment_days_in_date_order_rules_7() -> None:
    """Issue 9: eleven dates given newest first; the 10th date of the calendar (2026-03-11,
    the second visit of the input) is treatment day 10, not the 10th to appear (2026-03-03)."""
    newest_first = [visit(i, DAY_1 + timedelta(days=10 - i)) for i in range(11)]
    assert [
        (v, m.split(" is ")[0]) for v, _, m in found(run(*newest_first), "progress-report-due")
    ] == [(1, "P-1001: 2026-03-11")]


# -- the history between chunks (bounded per patient) -------------------------------------------


def test_chunks_carry_treatment_days_and_97129_of_the_day_rules_5_rules_7() -> None:
    first, history = check_history(batch(*days(9)), History())
    assert first.is_empty()
    again = visit(9, DAY_1 + timedelta(days=8), provider="2222222222")
    tenth = visit(10, DAY_1 + timedelta(days=9))
    second, history = check_history(batch(again, tenth), history)
    assert second.select("visit", "id").rows() == [
        (9, "primary-more-than-once"),
        (10, "progress-report-due"),
    ]
    assert "already billed by provider 1528060837 (slp), a.toml:81;" in second.item(0, "message")
    # One row per patient and plan, and per patient: the last dates only.
    assert history.treated.rows() == [("P-1001", "slp", 10, DAY_1 + timedelta(days=9))]
    assert history.primary.select("patient", "date").rows() == [
        ("P-1001", DAY_1 + timedelta(days=9))
    ]
    assert history.patients == 1


def test_a_chunk_without_billed_lines_leaves_the_history_as_it_was_rules_7() -> None:
    _, history = check_history(batch(*days(3)), History())
    findings, after = check_history(batch(visit(3, DAY_1 + timedelta(days=5), units=0)), history)
    assert findings.is_empty()
    assert after.treated.equals(history.treated)


def test_a_date_before_the_carried_last_day_counts_as_a_new_treatment_day_rules_7() -> None:
    """Out of order across chunks (not a sorted stream): the bounded history cannot tell an
    earlier date from one already counted, and counts it (the module docstring says so)."""
    _, history = check_history(batch(*days(9, first=0)), History())
    earlier = visit(9, DAY_1 - timedelta(days=1))
    findings, history = check_history(batch(earlier), history)
    assert [v for v, _, _ in found(findings, "progress-report-due")] == [9]
    assert history.treated.rows() == [("P-1001", "slp", 10, DAY_1 + timedelta(days=8))]

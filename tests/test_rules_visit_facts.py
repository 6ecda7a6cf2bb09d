"""The visit as a whole, on frames: its date (RULES.md §7), diagnoses (§9), telehealth (§6)."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from cognibill.engine.frames import LINES, SERVICES, VISITS, Batch, conform
from cognibill.rules.context import MEDICARE_LIKE, StandInPayer
from cognibill.rules.visit_facts import check_date, check_diagnoses, check_telehealth

TODAY = date(2026, 3, 15)
VISIT_DAY = date(2026, 3, 2)
ACME = StandInPayer(id="acme", is_medicare=False, covered_diagnoses=("S06", "I69.3"))
PAYERS = {p.id: p for p in (MEDICARE_LIKE, ACME)}


def visit(**fields: Any) -> dict[str, Any]:
    """A VISITS row: an SLP's visit under Medicare, with a plan of care, on 2026-03-02."""
    row: dict[str, Any] = {
        "visit": 0,
        "patient": "P-1001",
        "date": VISIT_DAY,
        "discipline": "slp",
        "payer_id": "medicare",
        "place_of_service": "11",
        "has_plan": True,
        "poc_diagnoses": [],
        "diagnoses": [],
    }
    return row | fields


def batch(
    *visits: dict[str, Any],
    services: list[dict[str, Any]] | None = None,
    lines: list[dict[str, Any]] | None = None,
) -> Batch:
    """The visits; by default each bills 97129 ×1 and 97130 ×1 (38 cognitive min)."""
    ids = [v["visit"] for v in visits]
    if services is None:
        services = [{"visit": i, "service": "cognitive", "modifiers": []} for i in ids]
    if lines is None:
        lines = [
            {"visit": i, "service": "cognitive", "code": code, "units": 1}
            for i in ids
            for code in ("97129", "97130")
        ]

    def frame(rows: list[dict[str, Any]], schema: dict[str, Any]) -> pl.DataFrame:
        if not rows:
            return conform(pl.DataFrame(), schema)
        return conform(pl.DataFrame(rows, schema_overrides={"visit": pl.UInt32}), schema)

    return Batch(
        frame(list(visits), VISITS), frame(services, SERVICES), frame(lines, LINES), PAYERS, TODAY
    )


def found(findings: pl.DataFrame, rule_id: str) -> list[tuple[str, str]]:
    rows = findings.filter(pl.col("id") == rule_id).select("severity", "message")
    return list(rows.iter_rows())


# -- future-date (RULES.md §7: treatment is billed once given) ----------------------------------


def test_a_visit_today_is_not_in_the_future_rules_7() -> None:
    assert check_date(batch(visit(date=TODAY))).is_empty()


def test_a_visit_tomorrow_is_in_the_future_rules_7() -> None:
    assert found(check_date(batch(visit(date=date(2026, 3, 16)))), "future-date") == [
        ("error", "date of service 2026-03-16 is after today (2026-03-15, 1 day(s) ahead).")
    ]


def test_future_date_is_checked_on_a_visit_without_a_service_rules_7() -> None:
    later = batch(visit(date=date(2026, 4, 1)), services=[], lines=[])
    assert len(found(check_date(later), "future-date")) == 1


# -- diagnosis-excludes (RULES.md §9: ICD-10-CM Excludes1) --------------------------------------


def test_r41_84_with_i69_x1_is_excluded_rules_9() -> None:
    findings = check_diagnoses(batch(visit(diagnoses=["R41.840", "I69.314"])))
    assert found(findings, "diagnosis-excludes") == [
        (
            "error",
            "R41.840 with I69.314: ICD-10-CM Excludes1 forbids R41.84- for deficits that are "
            "sequelae of cerebrovascular disease.",
        )
    ]


def test_r41_84_with_i69_other_than_x1_is_not_excluded_rules_9() -> None:
    # I69.320: aphasia (x2), not cognitive deficits (x1); R41.89 is not R41.84-.
    assert check_diagnoses(batch(visit(diagnoses=["R41.840", "I69.320"]))).is_empty()
    assert check_diagnoses(batch(visit(diagnoses=["R41.89", "I69.314"]))).is_empty()


def test_excludes_reads_the_plans_diagnoses_and_names_the_first_of_each_as_entered_rules_9() -> (
    None
):
    both = visit(diagnoses=["r41.841", "R41.840"], poc_diagnoses=["i69 31 4", "I69.391"])
    messages = [m for _, m in found(check_diagnoses(batch(both)), "diagnosis-excludes")]
    assert [m.split(":")[0] for m in messages] == ["r41.841 with i69 31 4"]
    # Without a plan (``has_plan`` false) the plan columns say nothing.
    alone = visit(diagnoses=["R41.840"], poc_diagnoses=["I69.314"], has_plan=False)
    assert check_diagnoses(batch(alone)).is_empty()


# -- diagnosis-not-covered (RULES.md §9: a payer setting, flagged not blocked) ------------------


def test_a_diagnosis_outside_the_payers_list_is_not_covered_rules_9() -> None:
    findings = check_diagnoses(batch(visit(payer_id="acme", diagnoses=["F07.81", "F07.81"])))
    assert found(findings, "diagnosis-not-covered") == [
        (
            "warning",
            "payer acme covers S06, I69.3; the visit's diagnoses F07.81 are not among them.",
        )
    ]


def test_one_covered_diagnosis_covers_the_visit_and_no_list_covers_all_rules_9() -> None:
    # "i69.314" normalises to I69314, which starts with the prefix I69.3 (I693).
    covered = visit(payer_id="acme", diagnoses=["F07.81"], poc_diagnoses=["i69.314"])
    assert check_diagnoses(batch(covered)).is_empty()
    assert check_diagnoses(batch(visit(diagnoses=["F07.81"]))).is_empty()
    assert check_diagnoses(batch(visit(payer_id="acme"))).is_empty()


# -- telehealth-coverage (RULES.md §6: warn, do not block) --------------------------------------


def test_place_of_service_10_is_telehealth_and_names_the_billed_codes_rules_6() -> None:
    assert found(
        check_telehealth(batch(visit(place_of_service=" 10 "))), "telehealth-coverage"
    ) == [
        (
            "warning",
            "place of service 10 (telehealth) with 97129, 97130: whether the payer covers these "
            "by telehealth on 2026-03-02 varies.",
        )
    ]


def test_modifiers_95_and_93_are_telehealth_the_place_is_named_first_rules_6() -> None:
    services = [
        {"visit": 0, "service": "cognitive", "modifiers": ["95", "GN"]},
        {"visit": 0, "service": "92507", "modifiers": ["93"]},
    ]
    by_modifier = check_telehealth(batch(visit(), services=services))
    assert [m.split(":")[0] for _, m in found(by_modifier, "telehealth-coverage")] == [
        "modifier 93/95 (telehealth) with 97129, 97130"
    ]
    both = check_telehealth(batch(visit(place_of_service="02"), services=services))
    assert found(both, "telehealth-coverage")[0][1].startswith("place of service 02 (")


def test_office_visit_without_telehealth_modifiers_is_not_telehealth_rules_6() -> None:
    assert check_telehealth(batch(visit(place_of_service="11"))).is_empty()
    assert check_telehealth(batch(visit(place_of_service=None))).is_empty()


def test_telehealth_without_billed_lines_says_so_and_without_services_is_not_checked_rules_6() -> (
    None
):
    zero = [{"visit": 0, "service": "cognitive", "code": "97129", "units": 0}]
    findings = check_telehealth(batch(visit(place_of_service="02"), lines=zero))
    assert "with no billed code:" in found(findings, "telehealth-coverage")[0][1]
    unchecked = batch(visit(place_of_service="02"), services=[], lines=[])
    assert check_telehealth(unchecked).is_empty()

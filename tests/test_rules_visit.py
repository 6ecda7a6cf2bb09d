"""Rules on the whole visit: diagnoses (RULES.md §9), telehealth (§6), the date, ``--ignore``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cognibill.findings import Severity
from tests.test_rules_support import PLAN, TODAY, claim_of, ids, only, payer, svc, visit

# -- diagnosis-excludes (RULES.md §9: R41.84- Excludes1 with I69.x1-) ----------------------------


def test_diagnosis_excludes_r41_840_with_i69_314_rules_9() -> None:
    claim = claim_of(visit(diagnoses=("R41.840",)))  # the plan holds I69.314
    finding = only(claim, "diagnosis-excludes")
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("R41.840 with I69.314")


def test_diagnosis_excludes_not_raised_for_r41_840_with_i69_351_hemiplegia_rules_9() -> None:
    plan = replace(PLAN, diagnoses=("I69.351",))
    assert "diagnosis-excludes" not in ids(claim_of(visit(diagnoses=("R41.840",), plan=plan)))


def test_diagnosis_excludes_not_raised_for_r41_89_with_i69_314_rules_9() -> None:
    assert "diagnosis-excludes" not in ids(claim_of(visit(diagnoses=("R41.89",))))


def test_diagnosis_excludes_accepts_codes_without_dots_rules_9() -> None:
    plan = replace(PLAN, diagnoses=("i69114",))
    assert "diagnosis-excludes" in ids(claim_of(visit(diagnoses=("R41841",), plan=plan)))


# -- diagnosis-not-covered (RULES.md §9: a payer setting, flagged not blocked) ---------------------


def test_diagnosis_not_covered_by_a_payer_covering_brain_injury_only_rules_9() -> None:
    tbi_only = payer(id="acme", covered_diagnoses=("S06",))
    plan = replace(PLAN, diagnoses=("F07.81",))
    finding = only(claim_of(visit(plan=plan), tbi_only), "diagnosis-not-covered")
    assert finding.severity is Severity.WARNING
    assert "payer acme covers S06" in finding.message and "F07.81" in finding.message


def test_diagnosis_not_covered_not_raised_for_a_covered_prefix_dots_or_not_rules_9() -> None:
    tbi_only = payer(id="acme", covered_diagnoses=("S06.2",))
    plan = replace(PLAN, diagnoses=("F07.81", "S06.2X1S"))
    assert "diagnosis-not-covered" not in ids(claim_of(visit(plan=plan), tbi_only))


def test_diagnosis_not_covered_not_raised_when_the_payer_covers_any_rules_9() -> None:
    plan = replace(PLAN, diagnoses=("F07.81",))
    assert claim_of(visit(plan=plan)).findings == ()


# -- telehealth-coverage (RULES.md §6: coverage is open, warn) -----------------------------------


def test_telehealth_coverage_place_of_service_10_rules_6() -> None:
    finding = only(claim_of(visit(place_of_service="10")), "telehealth-coverage")
    assert finding.severity is Severity.WARNING
    assert "place of service 10" in finding.message and "97129, 97130" in finding.message


def test_telehealth_coverage_place_of_service_02_and_modifier_93_rules_6() -> None:
    assert "telehealth-coverage" in ids(claim_of(visit(place_of_service="02")))
    claim = claim_of(visit(svc("97129", 30, modifiers=("GN", "93"))))
    assert "modifier 93" in only(claim, "telehealth-coverage").message


def test_telehealth_coverage_not_raised_in_the_office_rules_6() -> None:
    assert claim_of(visit(place_of_service="11")).findings == ()


# -- future-date ---------------------------------------------------------------------------------


def test_future_date_a_visit_tomorrow_rules_7() -> None:
    tomorrow = TODAY + timedelta(days=1)
    finding = only(claim_of(visit(day=tomorrow)), "future-date")
    assert finding.severity is Severity.ERROR
    assert f"{tomorrow} is after today ({TODAY}, 1 day(s) ahead)" in finding.message


def test_future_date_not_raised_for_today_rules_7() -> None:
    assert claim_of(visit(day=TODAY)).findings == ()


# -- ignore and order ----------------------------------------------------------------------------


def test_ignored_rule_ids_are_not_reported_rule_and_engine_findings_alike() -> None:
    v = visit(svc("97129", 7), day=TODAY + timedelta(days=3))
    assert set(ids(claim_of(v))) == {"future-date", "below-minimum"}
    assert claim_of(v, ignore=frozenset({"future-date", "below-minimum"})).findings == ()


def test_findings_come_errors_first_then_warnings_then_info_by_id() -> None:
    v = visit(
        svc("97110", 7),
        svc("97112", 7),
        svc("91730", 10),
        discipline="pt",
        place_of_service="10",
        day=TODAY + timedelta(days=1),
    )
    found = [(f.severity.value, f.id) for f in claim_of(v).findings]
    assert found == [
        ("error", "future-date"),
        ("error", "unknown-code"),
        ("warning", "telehealth-coverage"),
        ("info", "below-minimum"),
        ("info", "unit-tie"),
    ]

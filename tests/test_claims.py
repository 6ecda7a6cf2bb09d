"""Claims of single visits through the engine: lines, modifiers and what is left out
(RULES.md §2, §3, §5)."""

from __future__ import annotations

from datetime import date

from cognibill.models import Visit
from cognibill.rules import COMMERCIAL_LIKE
from tests.test_rules_support import claim_of, claims_of, lines, svc, visit


def test_38_minutes_bill_97129_once_and_97130_twice_with_gn_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 38)))
    assert [(ln.code, ln.units, ln.minutes, ln.modifiers) for ln in claim.lines] == [
        ("97129", 1, 15, ("GN",)),
        ("97130", 2, 23, ("GN",)),
    ]
    assert claim.units.total_timed_minutes == 38
    assert claim.findings == ()


def test_the_rules_2_worked_example_bills_97110_twice_97530_once_and_no_97140() -> None:
    v = visit(svc("97110", 26), svc("97530", 19), svc("97140", 6), discipline="pt")
    assert lines(claim_of(v)) == [("97110", 2, ("GP",)), ("97530", 1, ("GP",))]


def test_cognitive_29_and_97535_12_bill_three_units_rules_2() -> None:
    claim = claim_of(visit(svc("97129", 29), svc("97535", 12), discipline="ot"))
    assert lines(claim) == [
        ("97129", 1, ("GO",)),
        ("97130", 1, ("GO",)),
        ("97535", 1, ("GO",)),
    ]


def test_the_payers_rule_and_the_override_decide_the_units_rules_2_and_3() -> None:
    v = visit(svc("97129", 7), svc("97110", 7), discipline="pt")
    assert claim_of(v).units.total_timed_units == 1
    assert claim_of(v, COMMERCIAL_LIKE).units.total_timed_units == 0
    assert claim_of(v, COMMERCIAL_LIKE, rule="cms").units.total_timed_units == 1


def test_unknown_and_deleted_codes_are_left_out_and_the_rest_is_billed_rules_5() -> None:
    claim = claim_of(visit(svc("97532", 20), svc("92129", 10), svc("97129", 23)))
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]
    assert [s.code for s in claim.excluded] == ["97532", "92129"]
    assert {f.severity.value for f in claim.findings} == {"error"}


def test_a_visit_without_services_is_an_empty_claim() -> None:
    (claim,) = claims_of([Visit(patient="P-1", date=date(2026, 3, 2))])
    assert claim.lines == () and claim.findings == ()

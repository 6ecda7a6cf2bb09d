"""A first-and-additional family's add-on without its first code, and its first code billed
more than once: the rules of 97129/97130 (RULES.md §5) for every primary/add-on family of the
catalogue (92605/92618, 92607/92608, 96112/96113, 97545/97546: RULES.md §4)."""

from __future__ import annotations

import pytest

from cognibill.findings import Severity
from tests.test_rules_support import claim_of, ids, lines, only, svc, visit


def test_96113_billed_without_96112_is_an_error_naming_how_the_minutes_bill_rules_4() -> None:
    claim = claim_of(visit(svc("96113", 76, units_billed=2), discipline="slp"))
    finding = only(claim, "addon-without-primary")
    assert finding.severity is Severity.ERROR
    assert finding.message.startswith("96113 ×2 billed without 96112: the add-on is paid only")
    assert "76 min bill as 96112 ×1 + 96113 ×1." in finding.message


def test_96113_entered_alone_warns_and_the_claim_bills_96112_first_rules_4() -> None:
    claim = claim_of(visit(svc("96113", 45), discipline="slp"))
    finding = only(claim, "addon-without-primary")
    assert finding.severity is Severity.WARNING
    assert (
        finding.message
        == "96113 entered without 96112: 45 min bill as 96112 ×1 (the claim lines do)."
    )
    assert [(code, units) for code, units, _ in lines(claim)] == [("96112", 1)]


@pytest.mark.parametrize(("minutes", "warned"), [(30, False), (31, True)])
def test_96113_alone_warns_only_once_the_minutes_earn_the_first_hour_rules_4(
    minutes: int, warned: bool
) -> None:
    """The first hour's unit needs more than half of it: 31 minutes (RULES.md §4)."""
    claim = claim_of(visit(svc("96113", minutes), discipline="slp"))
    assert ("addon-without-primary" in ids(claim)) is warned


def test_97546_alone_at_the_edge_of_the_first_two_hours_rules_4() -> None:
    """97545 is a first two hours: 60 minutes earn nothing, 61 earn 97545 ×1."""
    assert "addon-without-primary" not in ids(claim_of(visit(svc("97546", 60), discipline="ot")))
    claim = claim_of(visit(svc("97546", 61), discipline="ot"))
    assert only(claim, "addon-without-primary").message.endswith(
        "61 min bill as 97545 ×1 (the claim lines do)."
    )


def test_92605_with_92618_billed_together_is_clean_of_both_rules_rules_4() -> None:
    claim = claim_of(
        visit(svc("92605", 60, units_billed=1), svc("92618", 16, units_billed=1), discipline="slp")
    )
    assert "addon-without-primary" not in ids(claim)
    assert "primary-more-than-once" not in ids(claim)


def test_97545_billed_twice_is_once_too_often_with_the_add_on_hours_named_rules_4() -> None:
    """Two first-two-hour units are four hours: 97545 ×1 and 97546 ×2 (60 minutes each)."""
    claim = claim_of(visit(svc("97545", 240, units_billed=2), discipline="ot"))
    assert only(claim, "primary-more-than-once").message == (
        "97545 ×2 billed: 97545 is once per day; bill 97545 ×1 and 97546 ×2 for the further units."
    )


def test_96112_billed_once_is_not_once_too_often_rules_4() -> None:
    claim = claim_of(visit(svc("96112", 60, units_billed=1), discipline="slp"))
    assert "primary-more-than-once" not in ids(claim)

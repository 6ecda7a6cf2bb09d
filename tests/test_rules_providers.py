"""Who furnished the visit and the modifiers that follow: RULES.md §6."""

from __future__ import annotations

import pytest

from cognibill.findings import Severity
from cognibill.rules import COMMERCIAL_LIKE
from tests.test_rules_support import claim_of, ids, lines, only, payer, svc, visit

# -- unqualified-provider (RULES.md §6) ----------------------------------------------------------


def test_unqualified_provider_a_therapy_aides_minutes_never_count_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30), discipline="aide"))
    finding = only(claim, "unqualified-provider")
    assert finding.severity is Severity.ERROR
    assert "therapy aide's 30 min never count" in finding.message
    assert "97129/97130" in finding.message


def test_unqualified_provider_another_discipline_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 25), discipline="other"))
    assert "not qualified" in only(claim, "unqualified-provider").message


@pytest.mark.parametrize(
    "discipline", ["pt", "ot", "slp", "physician", "psychologist", "np", "cns", "pa", "pta", "ota"]
)
def test_unqualified_provider_not_raised_for_the_qualified_disciplines_rules_6(
    discipline: str,
) -> None:
    assert "unqualified-provider" not in ids(claim_of(visit(discipline=discipline)))


# -- slp-97000-series (RULES.md §6) --------------------------------------------------------------


def test_slp_97000_series_an_slp_billing_97110_is_warned_toward_92507_rules_6() -> None:
    finding = only(claim_of(visit(svc("97110", 30))), "slp-97000-series")
    assert finding.severity is Severity.WARNING
    assert "97110" in finding.message and "92507" in finding.message


def test_slp_97000_series_97129_from_an_slp_where_the_payer_refuses_it_rules_6() -> None:
    refusing = payer(id="acme", accepts_slp_cognitive=False)
    finding = only(claim_of(visit(svc("97129", 30)), refusing), "slp-97000-series")
    assert "acme does not accept 97129/97130 from an SLP" in finding.message
    assert finding.severity is Severity.WARNING


def test_slp_97000_series_not_raised_for_97129_where_accepted_or_for_92507_rules_6() -> None:
    assert claim_of(visit(svc("97129", 30))).findings == ()
    assert claim_of(visit(svc("92507", 30))).findings == ()


def test_slp_97000_series_not_raised_for_an_ot_billing_97110_rules_6() -> None:
    assert "slp-97000-series" not in ids(claim_of(visit(svc("97110", 30), discipline="ot")))


# -- discipline-modifier (RULES.md §6) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("discipline", "expected"),
    [
        ("pt", ("GP",)),
        ("ot", ("GO",)),
        ("slp", ("GN",)),
        ("pta", ("GP", "CQ")),
        ("ota", ("GO", "CO")),
    ],
)
def test_the_claim_lines_carry_the_disciplines_modifier_rules_6(
    discipline: str, expected: tuple[str, ...]
) -> None:
    claim = claim_of(visit(svc("97129", 38), discipline=discipline))
    assert {line.modifiers for line in claim.lines} == {expected}


def test_discipline_modifier_gp_on_an_slps_line_is_an_error_and_replaced_by_gn_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30, modifiers=("GP",))))
    finding = only(claim, "discipline-modifier")
    assert finding.severity is Severity.ERROR
    assert "carries GP but the SLP's lines need GN" in finding.message
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]


def test_discipline_modifier_several_on_one_line_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30, modifiers=("GN", "GP"))))
    assert "GN and GP" in only(claim, "discipline-modifier").message


def test_discipline_modifier_listed_modifiers_without_one_is_an_error_gn_is_added_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30, modifiers=("59",))))
    finding = only(claim, "discipline-modifier")
    assert finding.severity is Severity.ERROR
    assert "lists 59 but no GN/GO/GP" in finding.message
    assert lines(claim) == [("97129", 1, ("GN", "59")), ("97130", 1, ("GN", "59"))]


def test_discipline_modifier_a_physician_billing_always_therapy_97110_needs_one_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 30), discipline="physician", plan=None))
    finding = only(claim, "discipline-modifier")
    assert finding.severity is Severity.ERROR
    assert "97110 needs GP, GO or GN" in finding.message


def test_discipline_modifier_not_needed_for_a_physicians_97129_outside_a_plan_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 38), discipline="physician", plan=None))
    assert claim.findings == ()
    assert lines(claim) == [("97129", 1, ()), ("97130", 2, ())]


def test_discipline_modifier_kept_from_the_input_for_a_physician_under_a_plan_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30, modifiers=("GN",)), discipline="psychologist"))
    assert claim.findings == ()
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]


def test_discipline_modifier_not_checked_for_a_payer_that_does_not_require_it_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30, modifiers=("GP", "KX"))), COMMERCIAL_LIKE)
    assert "discipline-modifier" not in ids(claim)
    assert {line.modifiers for line in claim.lines} == {("GP", "KX")}


def test_other_modifiers_from_the_input_are_kept_after_gn_rules_6() -> None:
    claim = claim_of(visit(svc("97129", 30, modifiers=("gn", "KX", "95")), place_of_service="11"))
    assert {line.modifiers for line in claim.lines} == {("GN", "KX", "95")}


# -- assistant-modifier (RULES.md §6: CQ/CO above 10%) -------------------------------------------


def test_assistant_modifier_11_of_100_minutes_needs_cq_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 100, assistant_minutes=11), discipline="pt"))
    finding = only(claim, "assistant-modifier")
    assert finding.severity is Severity.WARNING
    assert "11 of 100 min (11%), over 10%" in finding.message and "CQ" in finding.message
    assert lines(claim) == [("97110", 7, ("GP", "CQ"))]


def test_assistant_modifier_not_needed_at_exactly_10_percent_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 100, assistant_minutes=10), discipline="pt"))
    assert claim.findings == ()
    assert lines(claim) == [("97110", 7, ("GP",))]


def test_assistant_modifier_ot_assistant_minutes_take_co_rules_6() -> None:
    claim = claim_of(
        visit(svc("97535", 30, assistant_minutes=4, modifiers=("GO", "CO")), discipline="ot")
    )
    assert claim.findings == ()
    assert lines(claim) == [("97535", 2, ("GO", "CO"))]


def test_assistant_modifier_cq_on_an_ot_line_is_an_error_rules_6() -> None:
    claim = claim_of(
        visit(svc("97535", 30, assistant_minutes=4, modifiers=("GO", "CQ")), discipline="ot")
    )
    errors = [f for f in claim.findings if f.id == "assistant-modifier"]
    assert errors[0].severity is Severity.ERROR
    assert "carries CQ, which is for PT assistants" in errors[0].message
    assert lines(claim) == [("97535", 2, ("GO", "CO"))]


def test_assistant_modifier_cq_on_an_slp_line_is_an_error_rules_6() -> None:
    claim = claim_of(visit(svc("92507", 30, modifiers=("GN", "CQ"))))
    assert only(claim, "assistant-modifier").severity is Severity.ERROR


def test_assistant_modifier_cq_without_assistant_minutes_warns_it_costs_15pc_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 30, modifiers=("GP", "CQ")), discipline="pt"))
    finding = only(claim, "assistant-modifier")
    assert finding.severity is Severity.WARNING
    assert "0 of 30 min (0%), not over 10%" in finding.message


def test_assistant_modifier_a_pt_assistant_furnished_every_minute_rules_6() -> None:
    claim = claim_of(visit(svc("97110", 30), discipline="pta"))
    assert "30 of 30 min (100%)" in only(claim, "assistant-modifier").message
    with_cq = claim_of(visit(svc("97110", 30, modifiers=("GP", "CQ")), discipline="pta"))
    assert with_cq.findings == ()


def test_assistant_modifier_slp_assistant_minutes_have_no_modifier_rules_6() -> None:
    claim = claim_of(visit(svc("92507", 30, assistant_minutes=10)))
    finding = only(claim, "assistant-modifier")
    assert "no assistant modifier exists" in finding.message
    assert lines(claim) == [("92507", 1, ("GN",))]


def test_assistant_modifier_not_checked_for_a_payer_without_therapy_modifiers_rules_6() -> None:
    v = visit(svc("97110", 30, assistant_minutes=10), discipline="pt")
    claim = claim_of(v, COMMERCIAL_LIKE)
    assert "assistant-modifier" not in ids(claim)
    assert lines(claim) == [("97110", 2, ())]


def test_assistant_share_is_per_service_across_the_cognitive_pair_rules_6() -> None:
    # 4 of 38 cognitive minutes (10.5%) on the 97129 entry: the whole service needs CQ.
    claim = claim_of(
        visit(svc("97129", 15, assistant_minutes=4), svc("97130", 23), discipline="pt")
    )
    assert lines(claim) == [("97129", 1, ("GP", "CQ")), ("97130", 2, ("GP", "CQ"))]
    assert "4 of 38 min (10.5%)" in only(claim, "assistant-modifier").message


# -- the modifiers remembered across a batch -----------------------------------------------------


def test_remembered_modifiers_follow_the_ignored_rules_and_the_minutes_rules_6() -> None:
    """The same line shape again gives the same modifiers and findings, unless --ignore or the
    assistant's share differs."""
    v = visit(svc("97129", 30, modifiers=("GP",)))
    assert ids(claim_of(v)) == ["discipline-modifier"]
    assert ids(claim_of(v, ignore=frozenset({"discipline-modifier"}))) == []
    assert ids(claim_of(v)) == ["discipline-modifier"]
    assert lines(claim_of(v, ignore=frozenset({"discipline-modifier"}))) == lines(claim_of(v))
    shares = [
        only(claim_of(visit(svc("97110", m), discipline="pta")), "assistant-modifier").message
        for m in (30, 45, 30)
    ]
    assert "30 of 30 min" in shares[0] and "45 of 45 min" in shares[1]
    assert shares[2] == shares[0]

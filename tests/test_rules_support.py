"""Builders shared by the rule tests (a standard clean SLP visit under a Medicare-like payer),
and the tests of the stand-in payers they rely on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from cognibill.claims import VisitClaim, build_claim, check_visits
from cognibill.findings import Finding
from cognibill.models import Discipline, PlanOfCare, Provider, Service, Visit
from cognibill.rules import COMMERCIAL_LIKE, MEDICARE_LIKE, CheckContext, PayerPolicy, StandInPayer

TODAY = date(2026, 3, 15)
VISIT_DAY = date(2026, 3, 2)
PLAN_START = date(2026, 2, 20)
PLAN = PlanOfCare(
    start=PLAN_START,
    certified=date(2026, 2, 25),
    through=date(2026, 5, 20),
    diagnoses=("I69.314",),
    goals=True,
    frequency="2x/week",
    duration="12 weeks",
)
_KEEP = object()


def svc(code: str, minutes: int = 0, **fields: Any) -> Service:
    """One service as a session file would give it."""
    return Service(code=code, minutes=minutes, **fields)


def visit(
    *services: Service,
    discipline: str | None = "slp",
    day: date = VISIT_DAY,
    plan: Any = _KEEP,
    patient: str = "P-1001",
    provider_id: str | None = "1528060837",
    **fields: Any,
) -> Visit:
    """A visit of the standard SLP with the standard plan of care (``plan=None``: no plan)."""
    return Visit(
        patient=patient,
        date=day,
        services=services or (svc("97129", 30),),
        provider=Provider(
            id=provider_id, discipline=None if discipline is None else Discipline(discipline)
        ),
        plan_of_care=PLAN if plan is _KEEP else plan,
        **fields,
    )


def ctx(payer: PayerPolicy = MEDICARE_LIKE, **fields: Any) -> CheckContext:
    fields.setdefault("today", TODAY)
    return CheckContext(payer, **fields)


def claim_of(v: Visit, payer: PayerPolicy = MEDICARE_LIKE, **fields: Any) -> VisitClaim:
    return build_claim(v, ctx(payer, **fields))


def claims_of(
    visits: Iterable[Visit], payer: PayerPolicy = MEDICARE_LIKE, **fields: Any
) -> list[VisitClaim]:
    return list(check_visits(visits, ctx(payer, **fields)))


def ids(claim: VisitClaim) -> list[str]:
    return [f.id for f in claim.findings]


def only(claim: VisitClaim, rule_id: str) -> Finding:
    """The one finding of ``rule_id`` (fails when there are none or several)."""
    found = [f for f in claim.findings if f.id == rule_id]
    assert len(found) == 1, f"expected one {rule_id}, got {[str(f) for f in claim.findings]}"
    return found[0]


def lines(claim: VisitClaim) -> list[tuple[str, int, tuple[str, ...]]]:
    return [(line.code, line.units, line.modifiers) for line in claim.lines]


def payer(**fields: Any) -> StandInPayer:
    """A Medicare-like payer changed by ``fields``."""
    return StandInPayer(**fields)


def test_the_standard_visit_is_clean_for_a_medicare_like_payer() -> None:
    claim = claim_of(visit())
    assert claim.findings == ()
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]


def test_the_commercial_stand_in_counts_per_code_and_adds_no_modifiers_rules_3() -> None:
    v = visit(svc("97129", 10), svc("97110", 10))
    assert claim_of(v, COMMERCIAL_LIKE).units.total_timed_units == 2
    assert claim_of(v, MEDICARE_LIKE).units.total_timed_units == 1
    assert all(line.modifiers == () for line in claim_of(v, COMMERCIAL_LIKE).lines)

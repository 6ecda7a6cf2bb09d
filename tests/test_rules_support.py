"""Builders shared by the rule tests (a standard clean SLP visit under a Medicare-like payer),
and the tests of the stand-in payers they rely on.

``claim_of`` and ``claims_of`` bill visits through the columnar engine (``engine.bill``), the
same code ``cognibill claim`` runs, and give back each visit's findings and lines as objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any, NamedTuple

from cognibill.engine.bill import Settings, State, bill
from cognibill.engine.visits import DEFAULT_VISIT_KEY, describe_visit_key
from cognibill.findings import Finding, Severity
from cognibill.inputs.sessions import session_rows
from cognibill.models import Discipline, PlanOfCare, Provider, Service, Visit
from cognibill.rules import COMMERCIAL_LIKE, MEDICARE_LIKE, PayerPolicy, StandInPayer
from cognibill.rules.catalogue import RULES

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


class Line(NamedTuple):
    code: str
    units: int
    minutes: int
    modifiers: tuple[str, ...]


class Units(NamedTuple):
    total_timed_minutes: int
    total_timed_units: int


class VisitClaim(NamedTuple):
    """A visit as the engine billed it: findings (errors first), billed lines, unit totals,
    and the services left out of the units."""

    visit: Visit
    findings: tuple[Finding, ...]
    lines: tuple[Line, ...]
    units: Units
    excluded: tuple[Service, ...]


_LEFT_OUT = {"unknown-code", "deleted-code", "invalid-minutes"}


def _settings(payer: PayerPolicy, **fields: Any) -> Settings:
    rule = fields.get("rule")
    return Settings(
        key=DEFAULT_VISIT_KEY,
        visit_key=describe_visit_key(DEFAULT_VISIT_KEY),
        payers={payer.id: payer},
        default_payer=payer.id,
        payer_given=True,
        rule=None if rule is None else str(rule.value if hasattr(rule, "value") else rule),
        ignore=frozenset(fields.get("ignore", ())),
        today=fields.get("today", TODAY),
        pricer=None if fields.get("fee") is None else _FeeOnly(fields["fee"]),
    )


class _FeeOnly:
    """A pricer that knows what one unit of a code pays (``fee(visit, code)``) and nothing else:
    ties and money left behind are decided by it; lines are not priced."""

    def __init__(self, fee: Any) -> None:
        self.fee = fee

    def unit_values(self, wanted: Any, visits: Any) -> Any:
        import polars as pl

        cents = [
            None if (v := self.fee(None, code)) is None else int(v * 100)
            for code in wanted.get_column("code").to_list()
        ]
        return wanted.with_columns(pl.Series("value_cents", cents, dtype=pl.Int64))

    def price(self, lines: Any, visits: Any) -> Any:
        import polars as pl

        from cognibill.engine.frames import PRICED

        return lines.with_columns(pl.lit(None, dtype=pl.Int64).alias(m) for m in PRICED)

    def data_versions(self, visits: Any) -> Any:
        return visits.select("visit").with_columns(data_version=None)


def claims_of(
    visits: Iterable[Visit], payer: PayerPolicy = MEDICARE_LIKE, **fields: Any
) -> list[VisitClaim]:
    """Each visit billed by the engine, in one batch (cross-visit rules included)."""
    # Each visit is a [[visit]] table of its own, as in a session file.
    given = [v if v.line is not None else replace(v, line=-1 - i) for i, v in enumerate(visits)]
    billed = bill(session_rows(given), _settings(payer, **fields), State(), tables=True)
    out = []
    lines = billed.lines
    for index, v in enumerate(given):
        found = billed.findings.filter(billed.findings["visit"] == index)
        findings = tuple(
            Finding(
                f["id"],
                Severity(f["severity"]),
                f["message"],
                f["hint"] or RULES[f["id"]].hint,
                RULES[f["id"]].source,
                f["code"],
            )
            for f in found.iter_rows(named=True)
        )
        mine = lines.filter((lines["visit"] == index) & (lines["units"] > 0))
        billed_lines = tuple(
            Line(r["code"], r["units"], r["minutes"], tuple(r["modifiers"]))
            for r in mine.iter_rows(named=True)
        )
        first = lines.filter(lines["visit"] == index).row(0, named=True)
        left_out = {f.code for f in findings if f.id in _LEFT_OUT}
        excluded = tuple(s for s in v.services if s.code.strip().upper() in left_out)
        units = Units(first["total_timed_minutes"], _timed_units(billed_lines))
        out.append(VisitClaim(v, findings, billed_lines, units, excluded))
    return out


def _timed_units(lines: tuple[Line, ...]) -> int:
    from cognibill.catalogue import Kind, load_catalogue

    catalogue = load_catalogue()
    return sum(
        line.units
        for line in lines
        if (info := catalogue.get(line.code)) is not None and info.kind is Kind.TIMED
    )


def claim_of(v: Visit, payer: PayerPolicy = MEDICARE_LIKE, **fields: Any) -> VisitClaim:
    return claims_of([v], payer, **fields)[0]


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

"""Rules on the plan of care behind a therapy visit (RULES.md §7)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from cognibill.findings import Finding, Severity
from cognibill.models import Visit
from cognibill.rules.context import PayerPolicy
from cognibill.rules.emit import Emitter, make_finding

CERTIFICATION_DAYS = 90
"""A certification covers at most 90 calendar days, the plan's start date being day 1."""
CERTIFY_WITHIN_DAYS = 30
"""The plan is certified within 30 days of the first treatment (the plan's start, derived)."""


def check_plan(emit: Emitter, visit: Visit, payer: PayerPolicy, *, needs_plan: bool) -> None:
    """``no-plan-of-care``, ``plan-after-service``, ``certification-lapsed``, ``plan-incomplete``.

    Severities follow the payer: errors where a plan of care is required (Medicare), warnings
    (certification: info) elsewhere.
    """
    plan = visit.plan_of_care
    strict = payer.requires_plan_of_care
    if plan is None:
        if needs_plan and emit.wants("no-plan-of-care"):
            emit.keep(_no_plan(visit.date, payer.id, strict))
        return
    day = visit.date
    start = plan.start
    if start is not None and start > day:
        emit.add(
            "plan-after-service",
            f"plan of care starts {start}, after the date of service {day} "
            f"({(start - day).days} day(s) later).",
            severity=Severity.ERROR if strict else Severity.WARNING,
        )
    if emit.wants("certification-lapsed"):
        _certification(emit, visit, payer)
    if not emit.wants("plan-incomplete"):
        return
    missing = []
    if not plan.diagnoses:
        missing.append("diagnoses")
    if plan.goals is not True:
        missing.append("long-term goals")
    if not plan.frequency:
        missing.append("frequency")
    if not plan.duration:
        missing.append("duration")
    if missing:
        emit.add("plan-incomplete", f"plan of care lacks {', '.join(missing)}.")


def _certification(emit: Emitter, visit: Visit, payer: PayerPolicy) -> None:
    plan = visit.plan_of_care
    assert plan is not None
    severity = Severity.ERROR if payer.is_medicare or payer.requires_plan_of_care else Severity.INFO
    day = visit.date
    start = plan.start
    lapsed = False
    if start is not None and start <= day:
        day_number = (day - start).days + 1
        if day_number > CERTIFICATION_DAYS:
            lapsed = True
            last = start + timedelta(days=CERTIFICATION_DAYS - 1)
            emit.add(
                "certification-lapsed",
                f"{day} is day {day_number} of the plan starting {start}: a certification "
                f"covers at most {CERTIFICATION_DAYS} calendar days (through {last}).",
                severity=severity,
            )
        if plan.certified is not None:
            late = (plan.certified - start).days
            if late > CERTIFY_WITHIN_DAYS:
                emit.add(
                    "certification-lapsed",
                    f"plan certified {plan.certified}, {late} days after its start {start}: "
                    f"certification is due within {CERTIFY_WITHIN_DAYS} days of the first "
                    "treatment.",
                    severity=severity,
                )
        elif day_number - 1 > CERTIFY_WITHIN_DAYS:
            emit.add(
                "certification-lapsed",
                f"plan starting {start} is not certified {day_number - 1} days later ({day}): "
                f"certification is due within {CERTIFY_WITHIN_DAYS} days of the first treatment.",
                severity=severity,
            )
    if not lapsed and plan.through is not None and day > plan.through:
        emit.add(
            "certification-lapsed",
            f"{day} is after the plan's end {plan.through} "
            f"({(day - plan.through).days} day(s) later).",
            severity=severity,
        )


@lru_cache(maxsize=1024)
def _no_plan(day: date, payer_id: str, strict: bool) -> Finding:
    """``no-plan-of-care`` for a date (cached: in a batch, most visits of a day lack a plan).

    The message names no patient: the claim row or finding that carries it names the patient.
    """
    return make_finding(
        "no-plan-of-care",
        f"no plan of care on {day}: therapy needs a plan before treatment"
        + (f" ({payer_id} requires one)." if strict else "."),
        severity=Severity.ERROR if strict else Severity.WARNING,
    )

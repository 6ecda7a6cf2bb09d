"""Rules that need several visits: 97129 twice on a date, the 10th treatment day (RULES.md §5, §7).

Memory: one small dict per patient, holding one entry per treatment date of that patient seen
so far, so it grows with patients × dates (only for these two rules; every other rule keeps
nothing between visits). The input's order is the order of treatment days.
"""

from __future__ import annotations

from datetime import date

from cognibill.findings import Severity
from cognibill.models import Provider, Visit
from cognibill.rules.emit import Emitter

PROGRESS_EVERY = 10
"""A progress report at least once every 10 treatment days (RULES.md §7)."""

_NO_PRIMARY = None
"""A treatment date on which no visit billed 97129."""

_PLAN_OF = {"pt": "pt", "pta": "pt", "ot": "ot", "ota": "ot", "slp": "slp"}
"""The plan of care a discipline's treatment days count toward."""

_Where = tuple[Provider, str | None, int | None]
"""The visit that billed 97129 on a date: provider, file and line (formatted only if needed)."""


def _where(provider: Provider, source: str | None, line: int | None) -> str:
    """A short pointer to a visit for messages: provider, then file and line when known."""
    parts = []
    if provider.id or provider.discipline:
        who = provider.id or ""
        if provider.discipline is not None:
            who = f"{who} ({provider.discipline.value})" if who else provider.discipline.value
        parts.append(f"provider {who}")
    if source:
        parts.append(f"{source}:{line}" if line else source)
    elif line:
        parts.append(f"line {line}")
    return ", ".join(parts) or "another visit"


class VisitHistory:
    """What earlier visits of the input said, per patient and date of service."""

    __slots__ = ("_days", "_treated")

    def __init__(self) -> None:
        self._days: dict[str, dict[date, _Where | None]] = {}
        self._treated: dict[tuple[str, str], set[date]] = {}
        """Treatment dates per patient and plan of care (one plan per therapy discipline)."""

    def observe(
        self,
        emit: Emitter,
        visit: Visit,
        *,
        billable: bool,
        bills_primary: bool,
        strict: bool,
    ) -> None:
        """Record a visit and report ``primary-more-than-once`` (across visits) and
        ``progress-report-due``. ``billable``: the visit bills at least one unit;
        ``bills_primary``: one of its lines is 97129; ``strict``: the payer requires a plan of
        care (the progress report is then a warning, else info)."""
        if not billable:
            return
        days = self._days.get(visit.patient)
        if days is None:
            days = self._days[visit.patient] = {}
        day = visit.date
        self._count_treatment_day(emit, visit, strict)
        if day not in days:
            days[day] = (visit.provider, visit.source, visit.line) if bills_primary else _NO_PRIMARY
            return
        if not bills_primary:
            return
        earlier = days[day]
        if earlier is not None:
            emit.add(
                "primary-more-than-once",
                f"97129 billed again for {visit.patient} on {day}: already billed by "
                f"{_where(*earlier)}; 97129 is once per day, so only one visit that day bills it.",
                code="97129",
            )
        else:
            days[day] = (visit.provider, visit.source, visit.line)

    def _count_treatment_day(self, emit: Emitter, visit: Visit, strict: bool) -> None:
        """Progress reports belong to a plan of care, and PT, OT and SLP each have their own:
        treatment days are counted per patient and discipline (assistants with their
        therapist's plan)."""
        discipline = visit.provider.discipline
        plan = _PLAN_OF.get(discipline.value if discipline is not None else "", "other")
        key = (visit.patient, plan)
        dates = self._treated.get(key)
        if dates is None:
            dates = self._treated[key] = set()
        if visit.date in dates:
            return
        dates.add(visit.date)
        count = len(dates)
        if count % PROGRESS_EVERY == 0:
            who = "" if plan == "other" else f" ({plan.upper()} plan of care)"
            emit.add(
                "progress-report-due",
                f"{visit.patient}: {visit.date} is treatment day {count} in this input{who}: a "
                f"progress report is due at least once every {PROGRESS_EVERY} treatment days.",
                severity=Severity.WARNING if strict else Severity.INFO,
            )

    @property
    def patients(self) -> int:
        return len(self._days)

"""Claims: a visit's billing lines with units and modifiers, its unit breakdown and findings.

Pure: ``build_claim`` turns one ``Visit`` into a ``VisitClaim`` with the units engine and the
claim rules of ``cognibill.rules``; ``check_visits`` streams many, adding the rules that span
visits (97129 twice on a date, the 10th treatment day).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any, NamedTuple

from cognibill.catalogue import COGNITIVE, COGNITIVE_PRIMARY
from cognibill.engine.units import Entry, UnitResult, UnitRule, UnitValue, compute_units
from cognibill.errors import EntryError
from cognibill.findings import Finding, Severity
from cognibill.models import Discipline, Service, Visit
from cognibill.rules.codes import (
    PreparedVisit,
    check_adaptive,
    check_billed_units,
    check_cognitive,
    check_daily_caps,
    prepare,
)
from cognibill.rules.context import (
    DEFAULT_VISIT_KEY,
    CheckContext,
    CodeMinutes,
    UnitsFunction,
)
from cognibill.rules.emit import Emitter, sort_findings
from cognibill.rules.history import VisitHistory
from cognibill.rules.plan import check_plan
from cognibill.rules.providers import (
    PRACTITIONERS,
    UNQUALIFIED,
    check_provider,
    line_modifiers,
)
from cognibill.rules.visit import check_date, check_diagnoses, check_telehealth

# ClaimLine and VisitClaim are NamedTuples rather than frozen dataclasses: just as immutable,
# and three times cheaper to build, which counts at ~450,000 visits a batch.


class ClaimLine(NamedTuple):
    """One line the claim would carry."""

    code: str
    units: int
    minutes: int
    """The minutes behind the line (for 97129/97130: the first 15 on 97129, the rest on 97130)."""
    modifiers: tuple[str, ...] = ()
    service: str = ""
    """The engine's service key (``cognitive`` for 97129/97130)."""
    estimate: object | None = None
    """What the line pays, filled in by the claim pipeline from the fees layer."""

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "units": self.units,
            "minutes": self.minutes,
            "modifiers": list(self.modifiers),
        }
        if self.estimate is not None:
            to_dict = getattr(self.estimate, "to_dict", None)
            out["estimate"] = to_dict() if callable(to_dict) else self.estimate
        return out


class VisitClaim(NamedTuple):
    """A visit, the claim lines the tool would bill, the unit breakdown and the findings."""

    visit: Visit
    lines: tuple[ClaimLine, ...]
    """Lines with at least one unit; ``units`` has every service, billed or not."""
    units: UnitResult
    findings: tuple[Finding, ...]
    """Engine and rule findings, errors first, then by rule id."""
    excluded: tuple[Service, ...] = ()
    """Services left out of the units (unknown or deleted codes, impossible minutes)."""
    payer: str = ""
    visit_key: str = DEFAULT_VISIT_KEY

    @property
    def rule(self) -> UnitRule:
        return self.units.rule

    @property
    def worst(self) -> Severity | None:
        """The highest severity among the findings (None: no finding)."""
        return self.findings[0].severity if self.findings else None

    def fails(self, threshold: Severity) -> bool:
        """Whether any finding reaches ``threshold`` (``--fail-on``)."""
        return bool(self.findings) and self.findings[0].severity.rank >= threshold.rank

    def line_for(self, finding: Finding) -> int | None:
        """The source line a finding points at: its service's line, else the visit's."""
        if finding.code is not None:
            codes = finding.code.split("/")  # the engine names the pair "97129/97130"
            for service in self.visit.services:
                if service.line is not None and service.code.strip().upper() in codes:
                    return service.line
        return self.visit.line

    def with_findings(self, extra: Iterable[Finding]) -> VisitClaim:
        """A copy with more findings, kept in order."""
        return self._replace(findings=sort_findings([*self.findings, *extra]))

    def with_lines(self, lines: tuple[ClaimLine, ...]) -> VisitClaim:
        """A copy with other lines (e.g. with estimates filled in)."""
        return self._replace(lines=lines)

    def to_dict(self) -> dict[str, object]:
        visit = self.visit
        discipline = visit.provider.discipline
        return {
            "patient": visit.patient,
            "date": visit.date.isoformat(),
            "payer": self.payer,
            "provider": visit.provider.id,
            "discipline": None if discipline is None else discipline.value,
            "source": visit.source,
            "line": visit.line,
            "rule": self.rule.value,
            "visit_key": self.visit_key,
            "lines": [line.to_dict() for line in self.lines],
            "total_timed_minutes": self.units.total_timed_minutes,
            "total_units": sum(line.units for line in self.lines),
            "excluded": [s.code for s in self.excluded],
            "findings": [f.to_dict() for f in self.findings],
        }


def cached_units(maxsize: int = 65_536) -> UnitsFunction:
    """A units engine that remembers results for repeated minute patterns (batch work).

    The key is the visit's minutes per code, summed and sorted, with the rule: the engine pools
    a service's minutes and ignores the order of entries, so this is exact. Results carry no
    explanation trace (a batch shows none). Unit values only ever break ties (RULES.md §2.5),
    and they depend on the visit (date, payer), so a result with a tie is reused for a visit
    only when the values the engine asked for are the same; otherwise that visit's values
    decide it, and the answer is remembered too. At most ``maxsize`` results of each kind.
    """

    @lru_cache(maxsize=maxsize)
    def plain(minutes: CodeMinutes, rule: UnitRule) -> UnitResult:
        return _engine(minutes, rule, None)

    # (minutes, rule) -> (codes the engine asked the value of, {their values: result})
    valued: dict[
        tuple[CodeMinutes, UnitRule], tuple[tuple[str, ...], dict[tuple[Any, ...], UnitResult]]
    ]
    valued = {}

    def units(minutes: CodeMinutes, rule: UnitRule, unit_value: UnitValue | None) -> UnitResult:
        result = plain(minutes, rule)
        if not result.ties or unit_value is None:
            return result
        key = (minutes, rule)
        known = valued.get(key)
        if known is not None:
            found = known[1].get(tuple(unit_value(code) for code in known[0]))
            if found is not None:
                return found
        asked: list[str] = []
        answers: list[Any] = []

        def recording(code: str) -> Decimal | None:
            value = unit_value(code)
            asked.append(code)
            answers.append(value)
            return value

        # The engine is deterministic: the same answers to the same questions give the same
        # result, so the questions it asked and the answers it got are a complete key.
        result = _engine(minutes, rule, recording)
        codes = tuple(asked)
        if known is None or known[0] != codes or len(known[1]) >= _VARIANTS:
            if len(valued) >= maxsize:
                valued.clear()
            known = valued[key] = (codes, {})
        known[1][tuple(answers)] = result
        return result

    return units


_VARIANTS = 64
"""Unit values remembered per tied minute pattern (one per fee schedule and place, in practice)."""


def _engine(minutes: CodeMinutes, rule: UnitRule, unit_value: UnitValue | None) -> UnitResult:
    entries = [Entry(code, count) for code, count in minutes]
    return compute_units(entries, rule, unit_value=unit_value, explain=False)


def build_claim(visit: Visit, ctx: CheckContext) -> VisitClaim:
    """The claim for one visit: lines, units and every single-visit finding."""
    return _build(visit, ctx, None)


def check_visits(
    visits: Iterable[Visit],
    ctx: CheckContext,
    *,
    context_for: Callable[[Visit], CheckContext] | None = None,
) -> Iterator[VisitClaim]:
    """Claims for ``visits`` as they come, with the rules that span visits.

    ``primary-more-than-once`` is reported on the later visit of the same patient and date that
    bills 97129 again; ``progress-report-due`` on every 10th treatment date of a patient in
    input order. Their state grows with patients × dates; besides it only bounded caches of
    repeated answers (units, modifiers) are kept between visits.
    ``context_for`` picks a context per visit (e.g. by ``visit.payer``); build each context once.
    """
    history = VisitHistory()
    for visit in visits:
        yield _build(visit, ctx if context_for is None else context_for(visit), history)


def _units(prepared: PreparedVisit, ctx: CheckContext, visit: Visit, emit: Emitter) -> UnitResult:
    rule = ctx.unit_rule
    units = ctx.units
    fee = ctx.fee
    try:
        if units is None:
            value = None if fee is None else partial(fee, visit)
            return compute_units(prepared.entries, rule, unit_value=value)
        items = prepared.minutes.items()
        minutes = tuple(sorted(items)) if len(items) > 1 else tuple(items)
        result = units(minutes, rule, None)
        if result.ties and fee is not None:
            # Unit values only break ties (RULES.md §2.5): ask for them only then.
            result = units(minutes, rule, partial(fee, visit))
        return result
    except EntryError as exc:
        emit.add("invalid-minutes", f"{exc.message}; no units were computed for this visit.")
        return _no_units(rule)


@lru_cache(maxsize=8)
def _no_units(rule: UnitRule) -> UnitResult:
    return compute_units((), rule)


_SLP = Discipline.SLP


def _build(visit: Visit, ctx: CheckContext, history: VisitHistory | None) -> VisitClaim:
    # Hot path of the batch check: every check returns early on a clean visit.
    emit = Emitter(ctx.ignore)
    prepared = prepare(visit, emit)
    services = prepared.services
    result = _units(prepared, ctx, visit, emit)
    payer = ctx.payer
    discipline = visit.provider.discipline
    under_plan = visit.plan_of_care is not None
    lines: list[ClaimLine] = []
    modifiers_of: dict[str, tuple[str, ...]] = {}
    mods: tuple[str, ...] = ()
    last_key = ""
    bills_primary = False
    cognitive_units = 0
    for line in result.lines:
        units = line.units
        if units <= 0:
            continue
        key = line.service
        if key != last_key:  # a service's lines come together (97129, then 97130)
            last_key = key
            found = modifiers_of.get(key)
            if found is None:
                found = modifiers_of[key] = line_modifiers(
                    emit, services[key], discipline, under_plan=under_plan, payer=payer
                )
            mods = found
        if key == COGNITIVE:
            cognitive_units += units
            if line.code == COGNITIVE_PRIMARY:
                bills_primary = True
        lines.append(_new(ClaimLine, (line.code, units, line.minutes, mods, key, None)))

    if services:
        if COGNITIVE in services:
            check_cognitive(emit, services, cognitive_units)
            if "97153" in services or "97155" in services:
                check_adaptive(emit, services)
        if prepared.any_billed:
            check_billed_units(emit, services, result, visit, ctx.fee)
        if ctx.caps:
            check_daily_caps(emit, [(ln.code, ln.units) for ln in lines], ctx.caps, payer.id)
        if discipline is _SLP or discipline in UNQUALIFIED:
            check_provider(emit, discipline, services, payer)
        # Therapy needs a plan of care; a physician, NP, CNS, PA or psychologist billing only
        # "sometimes therapy" codes (97129/97130) outside a plan does not (RULES.md §6, §7).
        needs_plan = (
            prepared.therapy_always if discipline in PRACTITIONERS else prepared.therapy_any
        )
        check_plan(emit, visit, payer, needs_plan=needs_plan)
        if prepared.telehealth_modifier or visit.place_of_service is not None:
            check_telehealth(emit, visit, lines, services)
    plan = visit.plan_of_care
    if visit.diagnoses or (plan is not None and plan.diagnoses):
        check_diagnoses(emit, visit, ctx)
    if visit.date > ctx.today:
        check_date(emit, visit, ctx.today)
    if result.findings:
        emit.extend(result.findings)
    if history is not None and lines:
        history.observe(
            emit,
            visit,
            billable=True,
            bills_primary=bills_primary,
            strict=payer.requires_plan_of_care,
        )
    findings = emit.findings
    excluded = prepared.excluded
    return _new(
        VisitClaim,
        (
            visit,
            tuple(lines),
            result,
            sort_findings(findings) if findings else (),
            tuple(excluded) if excluded else (),
            payer.id,
            ctx.visit_key,
        ),
    )


# NamedTuples built from a tuple of every field, skipping their generated ``__new__`` (half
# the cost, and these are built for every visit and line of a batch).
_new = tuple.__new__

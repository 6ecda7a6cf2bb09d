"""One visit through the columnar engine, explained: what ``cognibill units`` shows.

The entries of one visit (``cognibill.entries.parse_entries``) become a ``ROWS`` frame, the
services stage pools them (``engine.services.build_services``), the units stage allocates them
under each rule asked for (``engine.allocate.allocate``, one visit per rule, with the unit values
of ``fees.kernel.Pricer.unit_values`` for its tie-break), and the kernel prices and explains the
lines (``Pricer.explain``). Nothing is computed twice: the step-by-step text is the engine's own
intermediate columns (blocks, leftover, extra, removed, the ties, the totals) in words.

``one_visit(entries, rules, day, payer, facility=, locality=, participating=)`` returns one
``VisitUnits`` and its ``Estimate`` per rule, in the order of ``rules``.

The records here (``VisitUnits``, ``ServiceUnits``, ``Line``, ``Tie``) are what the renderers of
``cognibill units`` read; this module imports polars only when ``one_visit`` runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from cognibill.catalogue import COGNITIVE, Kind, load_catalogue
from cognibill.engine.units import MAX_MINUTES, Entry, UnitRule, attained_at
from cognibill.errors import EntryError
from cognibill.findings import Finding, Severity

if TYPE_CHECKING:
    import polars as pl

    from cognibill.engine.allocate import Allocation
    from cognibill.fees.estimate import Estimate
    from cognibill.payers import PayerProfile

PAIR = "97129/97130"
"""How the trace, ties and findings name the cognitive service."""


class ServiceUnits(NamedTuple):
    """One service of the visit (a code, or the cognitive pair) and how it earned its units."""

    service: str
    codes: tuple[str, ...]
    kind: Kind
    minutes: int | None
    """None: the input gives no minutes (a units-only export): units as billed."""
    units: int
    blocks: int = 0
    leftover: int = 0
    extra: int = 0
    """Units earned from the leftover (CMS allocation or AMA midpoint)."""
    removed: int = 0
    """Units taken back by the ama-capped rule."""


class Line(NamedTuple):
    """A billing line: code, the minutes behind it, units."""

    code: str
    minutes: int
    units: int
    service: str


class Tie(NamedTuple):
    """Services with equal leftovers that competed for fewer units than there were of them."""

    leftover: int
    candidates: tuple[str, ...]
    chosen: tuple[str, ...]
    units: int
    reason: str
    action: str = "gave"

    def to_dict(self) -> dict[str, object]:
        return {
            "leftover": self.leftover,
            "candidates": list(self.candidates),
            "chosen": list(self.chosen),
            "units": self.units,
            "reason": self.reason,
            "action": self.action,
        }


class VisitUnits(NamedTuple):
    """Everything the engine worked out for the visit under one rule."""

    rule: UnitRule
    total_timed_minutes: int
    total_timed_units: int
    services: tuple[ServiceUnits, ...]
    lines: tuple[Line, ...]
    ties: tuple[Tie, ...]
    trace: tuple[str, ...]
    next_unit_at: int | None
    """Total timed minutes at which one more timed unit is earned (None: none within a day)."""
    spare_minutes: int | None
    """Minutes that could be lost before a timed unit is lost (None: no timed unit to lose)."""
    findings: tuple[Finding, ...] = ()

    @property
    def total_units(self) -> int:
        return sum(line.units for line in self.lines)

    @property
    def minutes_to_next_unit(self) -> int | None:
        if self.next_unit_at is None:
            return None
        return self.next_unit_at - self.total_timed_minutes

    def units_of(self, code: str) -> int:
        """Units billed under one code (0 when absent)."""
        return sum(line.units for line in self.lines if line.code == code)


def one_visit(
    entries: Sequence[Entry],
    rules: Sequence[UnitRule],
    day: dt.date,
    payer: PayerProfile,
    *,
    facility: bool | None = None,
    locality: str | None = None,
    participating: bool | None = None,
) -> list[tuple[VisitUnits, Estimate]]:
    """The visit of ``entries`` on ``day`` under each of ``rules``, with its estimate.

    Raises ``EntryError`` for more than a day of timed minutes, and the pricer's errors (a
    locality that does not resolve on the day)."""
    import polars as pl

    from cognibill.engine.allocate import allocate
    from cognibill.engine.services import build_services
    from cognibill.fees.kernel import Pricer

    # One engine visit per rule; the capped rule's trace names the CMS total, which a CMS
    # visit of its own gives (never shown).
    asked = list(rules)
    shadows = [UnitRule.CMS for r in asked if r is UnitRule.AMA_CAPPED]
    everyone = [*asked, *shadows]
    n = len(everyone)
    visits = pl.DataFrame(
        {
            "visit": list(range(n)),
            "date": [day] * n,
            "place_of_service": [None] * n,
            "payer_id": [payer.id] * n,
            "rule": [r.value for r in everyone],
        },
        schema={
            "visit": pl.UInt32,
            "date": pl.Date,
            "place_of_service": pl.String,
            "payer_id": pl.String,
            "rule": pl.String,
        },
    )
    built = build_services(_rows(entries, n, day), visits)
    services = built.services
    timed = services.filter((pl.col("visit") == 0) & (pl.col("kind") == Kind.TIMED.value))
    total = int(timed.get_column("minutes").sum())
    if total > MAX_MINUTES:
        raise EntryError(
            f"{total} timed minutes in one visit is more than a day ({MAX_MINUTES} minutes)"
        )
    pricer = Pricer(
        {payer.id: payer}, facility=facility, locality=locality, participating=participating
    )
    wanted = services.select(
        "visit",
        pl.when(pl.col("service") == COGNITIVE)
        .then(pl.lit(["97129", "97130"]))
        .otherwise(pl.concat_list(pl.col("service")))
        .alias("code"),
    ).explode("code")
    values = pricer.unit_values(wanted, visits)
    allocation = allocate(services, visits.select("visit", "rule"), values)
    real = visits.filter(pl.col("visit") < len(asked))
    lines = allocation.lines.filter(pl.col("visit") < len(asked)).with_columns(
        pl.lit(False).alias("assistant")
    )
    estimates = pricer.explain(lines.select("visit", "code", "units", "assistant"), real)
    # The entries' own findings first (``before-code-existed``, RULES.md §5), then the units'.
    findings = pl.concat(
        [
            built.findings.select("visit", "id", "severity", "code", "message", "hint"),
            allocation.findings.select("visit", "id", "severity", "code", "message", "hint"),
        ]
    )
    per_visit = _by_visit(allocation.lines, allocation.ties, allocation.totals, findings)
    shadow_of = {
        i: len(asked) + k
        for k, i in enumerate(i for i, r in enumerate(asked) if r is UnitRule.AMA_CAPPED)
    }
    out = []
    for i, rule in enumerate(asked):
        cms_total = None
        if i in shadow_of:
            cms_total = per_visit[shadow_of[i]]["totals"]["total_timed_units"]
        result = _result(rule, services.filter(pl.col("visit") == i), per_visit[i], cms_total)
        out.append((result, estimates[i]))
    return out


def _rows(entries: Sequence[Entry], visits: int, day: dt.date) -> pl.DataFrame:
    """The ``ROWS`` frame (with ``visit``) of the entries, once per engine visit."""
    import polars as pl

    from cognibill.engine.frames import ROWS, conform

    n = len(entries)
    frame = pl.DataFrame(
        {
            "visit": [v for v in range(visits) for _ in range(n)],
            "row": list(range(visits * n)),
            "source": ["<units>"] * (visits * n),
            "date": [day] * (visits * n),
            "code": [e.code for _ in range(visits) for e in entries],
            "minutes": [e.minutes for _ in range(visits) for e in entries],
            "assistant_minutes": [0] * (visits * n),
            "group": [False] * (visits * n),
            "modifiers": [[] for _ in range(visits * n)],
        },
        schema_overrides={"modifiers": pl.List(pl.String)},
    )
    return conform(frame, ROWS).with_columns(frame.get_column("visit").cast(pl.UInt32))


def _by_visit(
    lines: pl.DataFrame, ties: pl.DataFrame, totals: pl.DataFrame, findings: pl.DataFrame
) -> dict[int, dict[str, Any]]:
    """The allocation's frames as rows, per visit (a handful of rows)."""
    out: dict[int, dict[str, Any]] = {}
    for row in totals.to_dicts():
        out[row["visit"]] = {"totals": row, "lines": [], "ties": [], "findings": []}
    for name, frame in (("lines", lines), ("ties", ties), ("findings", findings)):
        for row in frame.to_dicts():
            out[row["visit"]][name].append(row)
    return out


def _label(service: str) -> str:
    return PAIR if service == COGNITIVE else service


def _result(
    rule: UnitRule, services: pl.DataFrame, found: dict[str, Any], cms_total: int | None
) -> VisitUnits:
    """One rule's result: the allocation's columns as the old records, and its trace."""
    lines = found["lines"]
    first: dict[str, dict[str, Any]] = {}
    units: dict[str, int] = {}
    for line in lines:
        first.setdefault(line["service"], line)
        units[line["service"]] = units.get(line["service"], 0) + line["units"]
    done = tuple(
        ServiceUnits(
            s["service"],
            tuple(sorted(s["codes"])),
            Kind(s["kind"]),
            s["minutes"],
            units[s["service"]],
            first[s["service"]]["blocks"],
            first[s["service"]]["leftover"],
            first[s["service"]]["extra"],
            first[s["service"]]["removed"],
        )
        for s in services.sort("order").to_dicts()
    )
    ties = tuple(
        Tie(
            t["leftover"],
            tuple(t["candidates"]),
            tuple(t["chosen"]),
            t["units"],
            t["reason"],
            t["action"],
        )
        for t in found["ties"]
    )
    totals = found["totals"]
    return VisitUnits(
        rule=rule,
        total_timed_minutes=totals["total_timed_minutes"],
        total_timed_units=totals["total_timed_units"],
        services=done,
        lines=tuple(Line(x["code"], x["minutes"], x["units"], x["service"]) for x in lines),
        ties=ties,
        trace=tuple(_trace(rule, done, ties, totals, cms_total)),
        next_unit_at=totals["next_unit_at"],
        spare_minutes=totals["spare_minutes"],
        findings=tuple(_finding(rule, f) for f in found["findings"]),
    )


def _finding(rule: UnitRule, row: dict[str, Any]) -> Finding:
    """A finding of the engine as ``cognibill units`` reports it: the catalogue's hint unless
    the stage gives one, and the catalogue's source (the same as ``claim`` gives)."""
    from cognibill.rules.catalogue import RULES

    entry = RULES[row["id"]]
    return Finding(
        id=row["id"],
        severity=Severity(row["severity"]),
        message=row["message"],
        hint=row["hint"] if row["hint"] is not None else entry.hint,
        source=entry.source,
        code=row["code"],
    )


def _trace(
    rule: UnitRule,
    services: tuple[ServiceUnits, ...],
    ties: tuple[Tie, ...],
    totals: dict[str, Any],
    cms_total: int | None,
) -> list[str]:
    """How the units were worked out, read off the allocation (RULES.md §1-§5)."""
    trace: list[str] = []
    for s in services:
        if s.minutes is None:
            trace.append(
                f"{_label(s.service)}: {s.units} unit(s) as billed: the input gives no minutes, "
                "so they are neither pooled nor checked against minutes (RULES.md §11)."
            )
        elif s.kind is Kind.NOT_IN_CATALOGUE:
            trace.append(
                f"{s.service}: not in the catalogue, carried as given: {s.units} unit(s), units "
                "not checked, minutes not pooled."
            )
        elif s.kind is Kind.UNTIMED:
            trace.append(
                f"{s.service}: untimed, 1 unit per visit whatever the minutes (RULES.md §4)."
            )
        elif s.kind is Kind.HOURLY:
            trace.append(
                f"{s.service}: per-hour code, {s.minutes} min -> {s.units} unit(s) "
                "(CPT midpoint of 31 minutes per hour; derived, RULES.md is silent)."
            )
        elif s.kind is Kind.FIRST_AND_ADDITIONAL:
            family = load_catalogue().families()[s.service]
            trace.append(
                f"{family.primary}/{family.addon}: first {family.first_unit_minutes} min, then "
                f"{family.unit_minutes} min a unit, each once its midpoint is passed "
                f"(at {attained_at(family.first_unit_minutes)} min of the first period and "
                f"{attained_at(family.unit_minutes)} min of each further one); {s.minutes} min -> "
                f"{s.units} unit(s), outside the timed pool (RULES.md §4)."
            )
        elif s.kind is Kind.AREA:
            trace.append(
                f"{s.service}: counted by wound area, not time: {s.units} unit(s) as given "
                "(RULES.md §4)."
            )
    timed = [s for s in services if s.kind is Kind.TIMED and s.minutes is not None]
    total = totals["total_timed_minutes"]
    if rule is UnitRule.CMS:
        units = totals["total_timed_units"]
        blocks = sum(s.blocks for s in timed)
        trace.append(
            f"CMS total-time rule (RULES.md §2): {total} timed minutes -> {units} "
            "unit(s) ((minutes + 7) // 15)."
        )
        for s in timed:
            trace.append(
                f"{_label(s.service)}: {s.minutes} min = {s.blocks} whole 15-minute block(s), "
                f"{s.leftover} min left over."
            )
        trace.append(
            f"{units} unit(s) - {blocks} block(s) = {units - blocks} unit(s) owed "
            "to the largest leftovers."
        )
        for s in timed:
            if s.extra:
                trace.append(f"Extra unit -> {_label(s.service)} ({s.leftover} min left over).")
    else:
        trace.append(
            f"{rule.long_name} (RULES.md §3): each code on its own, (minutes + 7) // 15; "
            "leftovers of different codes are never combined."
        )
        for s in timed:
            trace.append(
                f"{_label(s.service)}: {s.minutes} min = {s.blocks} block(s) + {s.leftover} min "
                f"left over -> {s.blocks + s.extra} unit(s)."
            )
        if rule is UnitRule.AMA_CAPPED:
            assert cms_total is not None
            per_code = sum(s.blocks + s.extra for s in timed)
            excess = per_code - cms_total
            trace.append(
                f"Cap: per-code total {per_code} vs CMS total {cms_total} for {total} minutes"
                + (
                    f": {excess} unit(s) taken back from the smallest leftovers."
                    if excess > 0
                    else "."
                )
            )
            for s in timed:
                if s.removed:
                    trace.append(f"Unit taken back from {_label(s.service)}.")
    for tie in ties:
        trace.append(
            f"Tie: {', '.join(tie.candidates)} each have {tie.leftover} min left over for "
            f"{tie.units} unit(s); {tie.action} {', '.join(tie.chosen)} by {tie.reason}. "
            "Either may bill it (RULES.md §2.5)."
        )
    return trace


def visit_traces(
    services: pl.DataFrame, allocation: Allocation, visits: pl.DataFrame
) -> pl.DataFrame:
    """How each visit's units were worked out (``claim --explain``): the lines of the trace
    ``units --explain`` prints, read off the same allocation, as ``[visit, trace]``.

    A Python step per visit: asked for, never on the default path."""
    import polars as pl

    from cognibill.engine.units import units_for_minutes

    per_visit = _by_visit(
        allocation.lines, allocation.ties, allocation.totals, allocation.findings.head(0)
    )
    rules = dict(visits.select("visit", "rule").iter_rows())
    grouped = {key[0]: frame for key, frame in services.partition_by("visit", as_dict=True).items()}
    ids: list[int] = []
    traces: list[list[str]] = []
    for visit, found in per_visit.items():
        mine = grouped.get(visit)
        trace: list[str] = []
        if mine is not None and found["lines"]:
            rule = UnitRule(rules[visit])
            cms = None
            if rule is UnitRule.AMA_CAPPED:
                cms = units_for_minutes(found["totals"]["total_timed_minutes"])
            trace = list(_result(rule, mine, found, cms).trace)
        ids.append(visit)
        traces.append(trace)
    return pl.DataFrame(
        {"visit": ids, "trace": traces},
        schema={"visit": pl.UInt32, "trace": pl.List(pl.String)},
    )

"""The columnar units stage against the old per-visit engine, many random visits at a time.

Every field the old ``compute_units(..., explain=False)`` returns for a visit (lines with the
service's blocks, leftover, extra and removed; ties with their reason; totals and advice;
findings with their text, priced as ``price_findings`` prices them) must come out of one
``allocate`` call over all the visits (RULES.md §1-§5). Deleted with the old engine.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.catalogue import load_catalogue
from cognibill.engine.allocate import Allocation, allocate
from cognibill.engine.frames import SERVICES
from cognibill.engine.units import Entry, UnitRule, compute_units
from cognibill.errors import EntryError
from cognibill.findings import Finding, price_findings
from cognibill.rules.catalogue import RULES

CATALOGUE = load_catalogue()
TIMED = ["97110", "97112", "97116", "97140", "97530", "97535", "97032"]
COGNITIVE = ["97129", "97130"]
UNTIMED = ["92507", "92521", "97150", "97161"]
HOURLY = ["96125", "96105"]
PRICED = TIMED + COGNITIVE + UNTIMED + HOURLY
AMOUNTS = [None, Decimal("20.00"), Decimal("25.00"), Decimal("31.40"), Decimal("1234.56")]

ordinary = st.integers(min_value=0, max_value=90)
boundary = st.sampled_from([7, 8, 22, 23, 37, 38, 52, 53])
large = st.integers(min_value=400, max_value=1500)  # now and then past a day (invalid-minutes)
minutes = ordinary | ordinary | boundary | ordinary | large
codes = st.sampled_from(TIMED) | st.sampled_from(COGNITIVE) | st.sampled_from(UNTIMED + HOURLY)
Values = dict[str, Decimal | None]


@st.composite
def visits(draw: st.DrawFn) -> tuple[list[Entry], UnitRule, Values | None]:
    """1-4 entries (97129 and 97130 often both: one service, §5), a rule, unit values."""
    entries = draw(st.lists(st.builds(Entry, codes, minutes), min_size=1, max_size=4))
    if draw(st.booleans()) and len(entries) <= 2:
        entries += [Entry("97129", draw(minutes)), Entry("97130", draw(minutes))]
    rule = draw(st.sampled_from(list(UnitRule)))
    kind = draw(st.sampled_from(["none", "equal", "drawn"]))
    values: Values | None = None
    if kind == "equal":
        values = dict.fromkeys(PRICED, Decimal("25.00"))
    elif kind == "drawn":
        values = draw(st.fixed_dictionaries({c: st.sampled_from(AMOUNTS) for c in PRICED}))
    return entries, rule, values


def _order(service: str) -> str:
    return "97129" if service == "cognitive" else service


def _frames(
    batch: list[tuple[list[Entry], UnitRule, Values | None]],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """SERVICES (pooled as the old ``_pool``), rules and unit values of the batch."""
    services: dict[str, list[object]] = {"visit": [], "service": [], "kind": [], "minutes": []}
    services["order"] = []
    values: dict[str, list[object]] = {"visit": [], "code": [], "value_cents": []}
    for visit, (entries, _, priced) in enumerate(batch):
        pooled: dict[str, tuple[str, int]] = {}
        for entry in entries:
            info = CATALOGUE[entry.code]
            kind, before = pooled.get(info.service, (info.kind.value, 0))
            pooled[info.service] = (kind, before + entry.minutes)
        for order, service in enumerate(sorted(pooled, key=_order)):
            kind, count = pooled[service]
            for name, value in zip(services, (visit, service, kind, count, order), strict=True):
                services[name].append(value)
        for code, value in (priced or {}).items():
            # Unknown values as rows with a null, as well as no row at all.
            if value is not None or code < "97200":
                values["visit"].append(visit)
                values["code"].append(code)
                values["value_cents"].append(None if value is None else int(value * 100))
    schema = {name: SERVICES[name] for name in services}
    rules = pl.DataFrame(
        {"visit": list(range(len(batch))), "rule": [r.value for _, r, _ in batch]},
        schema={"visit": pl.UInt32, "rule": pl.String},
    )
    unit_values = pl.DataFrame(
        values, schema={"visit": pl.UInt32, "code": pl.String, "value_cents": pl.Int64}
    )
    return pl.DataFrame(services, schema=schema), rules, unit_values


def _finding(f: Finding) -> tuple[object, ...]:
    return (f.id, f.severity.value, f.code, f.message, f.hint)


def _new_finding(row: dict[str, object]) -> tuple[object, ...]:
    hint = row["hint"] if row["hint"] is not None else RULES[str(row["id"])].hint
    return (row["id"], row["severity"], row["code"], row["message"], hint)


def _expected(entries: list[Entry], rule: UnitRule, values: Values | None) -> dict[str, object]:
    """What the old engine (and claims._units on an impossible visit) says of one visit."""
    unit_value = None if values is None else values.get
    try:
        result = compute_units(entries, rule, unit_value=unit_value, explain=False)
        findings = result.findings
        if unit_value is not None:
            findings = price_findings(findings, unit_value)
        found = [_finding(f) for f in findings]
    except EntryError as exc:
        result = compute_units((), rule)
        message = f"{exc.message}; no units were computed for this visit."
        rule_of = RULES["invalid-minutes"]
        found = [("invalid-minutes", rule_of.severity.value, None, message, rule_of.hint)]
    by_service = {s.service: s for s in result.services}
    tied = {c for tie in result.ties for c in tie.candidates}
    lines = []
    for line in result.lines:
        s = by_service[line.service]
        label = "97129/97130" if s.service == "cognitive" else s.service
        explained = (s.blocks, s.leftover, s.extra, s.removed, label in tied)
        lines.append((line.service, line.code, line.minutes, line.units, *explained))
    totals = (
        rule.value,
        result.total_timed_minutes,
        result.total_timed_units,
        result.next_unit_at,
        result.spare_minutes,
    )
    return {
        "lines": lines,
        "ties": [tie.to_dict() for tie in result.ties],
        "totals": totals,
        "findings": found,
    }


def _got(visit: int, frames: dict[str, dict[int, list[dict[str, object]]]]) -> dict[str, object]:
    lines = [
        tuple(row[name] for name in ("service", "code", "minutes", "units", "blocks"))
        + tuple(row[name] for name in ("leftover", "extra", "removed", "tied"))
        for row in frames["lines"].get(visit, [])
    ]
    ties = [
        {k: row[k] for k in ("leftover", "candidates", "chosen", "units", "reason", "action")}
        for row in frames["ties"].get(visit, [])
    ]
    (total,) = frames["totals"][visit]
    totals = tuple(
        total[k]
        for k in (
            "rule",
            "total_timed_minutes",
            "total_timed_units",
            "next_unit_at",
            "spare_minutes",
        )
    )
    found = [_new_finding(row) for row in frames["findings"].get(visit, [])]
    return {"lines": lines, "ties": ties, "totals": totals, "findings": found}


def _by_visit(frame: pl.DataFrame) -> dict[int, list[dict[str, object]]]:
    out: dict[int, list[dict[str, object]]] = {}
    for row in frame.iter_rows(named=True):
        out.setdefault(int(row["visit"]), []).append(row)
    return out


def _check_ranks(
    result: Allocation, batch: list[tuple[list[Entry], UnitRule, Values | None]]
) -> None:
    """RULES.md §2.4, §3: ranks run 1..n among a visit's competing services, and those ranked
    within the units contested got the unit owed (CMS) or lost one (capped)."""
    lines = result.lines.unique(["visit", "service"])
    for (visit,), group in lines.filter(pl.col("rank").is_not_null()).group_by("visit"):
        rule = batch[int(visit)][1]
        assert sorted(group.get_column("rank").to_list()) == list(range(1, group.height + 1))
        won = group.get_column("removed" if rule is UnitRule.AMA_CAPPED else "extra")
        first = group.filter(pl.col("rank") <= won.sum())
        assert (first.get_column(won.name) == 1).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(visits(), min_size=5, max_size=60))
def test_allocate_equals_the_old_engine_visit_by_visit(
    batch: list[tuple[list[Entry], UnitRule, Values | None]],
) -> None:
    """RULES.md §1-§5: units, lines, ties, advice and findings, field for field; and ranks
    that agree with who got (or lost) the units."""
    services, rules, unit_values = _frames(batch)
    result = allocate(services, rules, unit_values)
    frames = {name: _by_visit(getattr(result, name)) for name in result._fields}
    for visit, (entries, rule, values) in enumerate(batch):
        assert _got(visit, frames) == _expected(entries, rule, values), (visit, entries, rule)
    _check_ranks(result, batch)

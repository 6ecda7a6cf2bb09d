"""The one-visit path of ``cognibill units`` against the old per-visit code (issue 9 oracle).

``engine.one_visit`` (services stage, allocation, kernel) must give what the old
``compute_units`` (explained, with its trace) and ``estimate_visit`` gave: the same records,
trace, findings and estimate, field for field. Deleted with the old code.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import polars as pl
import pytest

from cognibill.engine.one_visit import one_visit
from cognibill.engine.units import Entry, UnitRule, compute_units
from cognibill.errors import EntryError
from cognibill.fees.estimate import BilledLine, estimate_visit, unit_pricer
from cognibill.fees.kernel import Pricer
from cognibill.findings import price_findings
from cognibill.payers import PayerProfile, load_payers

CODES = (
    "97129", "97130", "97110", "97112", "97530", "97535", "97140", "97116", "97533", "92507",
    "97161", "97750", "96125", "96105", "97153", "97032", "92526", "97150", "97760",
)  # fmt: skip


def _profiles() -> list[PayerProfile]:
    base = load_payers(None)
    medicare, commercial = base["medicare"], base["commercial"]
    return [
        medicare,
        commercial,
        replace(medicare, id="adv", pricing="percent-of-mpfs", percent=Decimal(110)),
        replace(
            medicare,
            id="pc",
            pricing="per-code",
            per_code=MappingProxyType({"97129": Decimal("40"), "97110": Decimal("31.25")}),
        ),
        replace(medicare, id="cap", daily_caps=MappingProxyType({"97130": 2, "97110": 1})),
        replace(medicare, id="bef", assistant_order="before-mppr", note="Call first."),
    ]


def _old(
    entries: list[Entry],
    rules: list[UnitRule],
    day: dt.date,
    payer: PayerProfile,
    options: dict[str, Any],
) -> Sequence[tuple[Any, Any]]:
    pricer = unit_pricer(day, payer, **options)
    out = []
    for rule in rules:
        result = compute_units(entries, rule, unit_value=pricer)
        result = result._replace(findings=price_findings(result.findings, pricer))
        estimate = estimate_visit(result.lines, day, payer, **options)
        out.append((result, estimate))
    return out


def _same(old: Sequence[tuple[Any, Any]], new: Sequence[tuple[Any, Any]]) -> None:
    assert len(old) == len(new)
    for (r0, e0), (r1, e1) in zip(old, new, strict=True):
        for name in ("rule", "total_timed_minutes", "total_timed_units", "next_unit_at"):
            assert getattr(r0, name) == getattr(r1, name)
        assert r0.spare_minutes == r1.spare_minutes
        assert [tuple(s) for s in r0.services] == [tuple(s) for s in r1.services]
        assert [tuple(x) for x in r0.lines] == [tuple(x) for x in r1.lines]
        assert [t.to_dict() for t in r0.ties] == [t.to_dict() for t in r1.ties]
        assert r0.trace == r1.trace
        assert r0.findings == r1.findings
        assert e0.to_dict() == e1.to_dict()
        assert e0.lines == e1.lines


@pytest.mark.parametrize("seed", range(4))
def test_one_visit_equals_compute_units_and_estimate_visit(seed: int) -> None:
    rng = random.Random(seed)
    profiles = _profiles()
    for _ in range(15):
        payer = rng.choice(profiles)
        codes = rng.sample(CODES, rng.randint(1, 4))
        entries = [Entry(c, rng.choice([0, rng.randint(0, 90), 8, 7, 23])) for c in codes]
        if "97129" in codes and "97130" in codes:
            entries = [e for e in entries if e.code != "97130"]
        rules = rng.choice(
            [[UnitRule.CMS], [UnitRule.AMA], [UnitRule.AMA_CAPPED], [UnitRule.CMS, UnitRule.AMA]]
        )
        day = dt.date(rng.randint(2020, 2026), rng.randint(1, 12), rng.randint(1, 28))
        options: dict[str, Any] = {
            "facility": rng.choice([None, True]),
            "locality": rng.choice([None, None, "10112-00", "manhattan"]),
            "participating": rng.choice([None, False]),
        }
        _same(
            _old(entries, rules, day, payer, options),
            one_visit(entries, rules, day, payer, **options),
        )


def test_one_visit_refuses_what_the_old_engine_refused() -> None:
    payer = _profiles()[0]
    entries = [Entry("97110", 900), Entry("97112", 900)]
    with pytest.raises(EntryError) as old:
        _old(entries, [UnitRule.CMS], dt.date(2025, 2, 14), payer, {})
    with pytest.raises(EntryError) as new:
        one_visit(entries, [UnitRule.CMS], dt.date(2025, 2, 14), payer)
    assert str(old.value) == str(new.value)
    with pytest.raises(EntryError) as old:
        _old(
            [Entry("97110", 8), Entry("97530", 8)],
            [UnitRule.CMS],
            dt.date(2025, 2, 14),
            payer,
            {"locality": "san francisco"},
        )
    with pytest.raises(EntryError) as new:
        one_visit(
            [Entry("97110", 8), Entry("97530", 8)],
            [UnitRule.CMS],
            dt.date(2025, 2, 14),
            payer,
            locality="san francisco",
        )
    assert (old.value.message, old.value.hint) == (new.value.message, new.value.hint)


@pytest.mark.parametrize("seed", range(3))
def test_kernel_explain_equals_estimate_visit(seed: int) -> None:
    """Lines the units command never makes too: CQ/CO, several lines of a code, places."""
    rng = random.Random(100 + seed)
    profiles = _profiles()
    for _ in range(25):
        payer = rng.choice(profiles)
        day = dt.date(rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 28))
        options: dict[str, Any] = {
            "facility": rng.choice([None, True]),
            "locality": rng.choice([None, None, "national", "10112-00"]),
            "participating": rng.choice([None, False]),
        }
        place = rng.choice([None, None, "11", "22"])
        lines = [
            BilledLine(rng.choice(CODES), rng.randint(0, 4), rng.random() < 0.3)
            for _ in range(rng.randint(1, 4))
        ]
        old = estimate_visit(lines, day, payer, place_of_service=place, **options)
        pricer = Pricer({payer.id: payer}, **options)
        frame = pl.DataFrame(
            {
                "visit": [0] * len(lines),
                "code": [x.code for x in lines],
                "units": [x.units for x in lines],
                "assistant": [x.assistant for x in lines],
            },
            schema={
                "visit": pl.UInt32,
                "code": pl.String,
                "units": pl.Int32,
                "assistant": pl.Boolean,
            },
        )
        visits = pl.DataFrame(
            {"visit": [0], "date": [day], "place_of_service": [place], "payer_id": [payer.id]},
            schema={
                "visit": pl.UInt32,
                "date": pl.Date,
                "place_of_service": pl.String,
                "payer_id": pl.String,
            },
        )
        (new,) = pricer.explain(frame, visits)
        assert old.to_dict() == new.to_dict()
        assert old.lines == new.lines

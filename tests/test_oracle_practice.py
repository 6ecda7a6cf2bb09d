"""The columnar provider and modifier rules against the old per-visit code (issue 9): the same
visits give the same claim-line modifiers and the same findings, RULES.md §6."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cognibill.claims import build_claim
from cognibill.engine.frames import VISIT_FIELDS, VISITS, Batch, conform
from cognibill.findings import Severity
from cognibill.models import Discipline, Provider, Service, Visit
from cognibill.payers import load_payers
from cognibill.rules.codefacts import code_facts, lookup
from cognibill.rules.context import CheckContext, PayerPolicy, StandInPayer
from cognibill.rules.emit import make_finding, sort_findings
from cognibill.rules.practice import check_provider, line_modifiers
from tests.oracle import lines_of, rows_of, services_of
from tests.test_rules_support import PLAN, TODAY, VISIT_DAY

IDS = frozenset(
    {"discipline-modifier", "assistant-modifier", "unqualified-provider", "slp-97000-series"}
)
PAYERS: dict[str, PayerPolicy] = {
    **load_payers(None),
    "refusing": StandInPayer(id="refusing", accepts_slp_cognitive=False),
}
CODES = [
    "97129",
    "97130",
    "97110",
    "97112",
    "97530",
    "97150",
    "97161",
    "92507",
    "92508",
    "96125",
    "97153",
    "97532",
    "99999",
]
MODIFIERS = ["GN", "GO", "GP", "CQ", "CO", "KX", "59", "95", "gp", "cq", " go ", "", " "]


@st.composite
def services(draw: st.DrawFn) -> tuple[Service, ...]:
    count = draw(st.integers(1, 4))
    out = []
    for index in range(count):
        minutes = draw(st.integers(0, 70))
        assisted = draw(st.one_of(st.just(0), st.integers(0, minutes), st.integers(0, 80)))
        out.append(
            Service(
                code=draw(st.sampled_from(CODES)),
                minutes=minutes,
                assistant_minutes=assisted,
                group=draw(st.booleans()) and draw(st.booleans()),
                modifiers=tuple(draw(st.lists(st.sampled_from(MODIFIERS), max_size=4))),
                line=10 + index,
            )
        )
    return tuple(out)


@st.composite
def visits(draw: st.DrawFn) -> list[tuple[Visit, str]]:
    out = []
    for index in range(draw(st.integers(1, 4))):
        payer = draw(st.sampled_from(sorted(PAYERS)))
        discipline = draw(st.one_of(st.none(), st.sampled_from(list(Discipline))))
        visit = Visit(
            patient=f"P-{index}",
            date=VISIT_DAY,
            services=draw(services()),
            payer=payer,
            provider=Provider(id="1528060837", discipline=discipline),
            plan_of_care=PLAN if draw(st.booleans()) else None,
            line=index + 1,
        )
        out.append((visit, payer))
    return out


def _context(payer: str) -> CheckContext:
    return CheckContext(PAYERS[payer], today=TODAY)


def _visits_frame(rows: pl.DataFrame, payer_ids: list[str]) -> pl.DataFrame:
    first = rows.group_by("visit", maintain_order=True).agg(
        [pl.col(name).first() for name in VISIT_FIELDS]
    )
    ids = pl.DataFrame(
        {"visit": list(range(len(payer_ids))), "payer_id": payer_ids},
        schema={"visit": pl.UInt32, "payer_id": pl.String},
    )
    return conform(first.join(ids, on="visit", how="left"), VISITS)


def _first_lines(visits: list[Visit]) -> pl.DataFrame:
    """Each service's first kept entry's line, as the services stage gives it.

    ``tests.oracle.services_of`` takes the first entry of the service's code, so a group entry
    (97129 done with a group is 97150) also counts for its own code's service; the messages list
    services in the order of their first entry.
    """
    table = code_facts()
    out: dict[str, list[object]] = {"visit": [], "service": [], "first_line": []}
    for index, visit in enumerate(visits):
        seen: set[str] = set()
        for service in visit.services:
            facts = lookup(service.code)
            if facts is None or (facts.deleted_on is not None and visit.date >= facts.deleted_on):
                continue
            if service.minutes < 0 or not 0 <= service.assistant_minutes <= service.minutes:
                continue
            if service.group and not facts.group:
                facts = table[facts.group_code]
            if facts.service not in seen:
                seen.add(facts.service)
                out["visit"].append(index)
                out["service"].append(facts.service)
                out["first_line"].append(service.line)
    return pl.DataFrame(
        out, schema={"visit": pl.UInt32, "service": pl.String, "first_line": pl.Int64}
    )


def _services(visits: list[Visit]) -> pl.DataFrame:
    frame = services_of(visits)
    right = _first_lines(visits)
    return (
        frame.drop("first_line")
        .join(right, on=["visit", "service"], how="left", maintain_order="left")
        .select(frame.columns)
    )


def _lines(batch: list[tuple[Visit, str]]) -> pl.DataFrame:
    parts = [
        lines_of([visit], _context(payer)).with_columns(
            pl.lit(index, dtype=pl.UInt32).alias("visit")
        )
        for index, (visit, payer) in enumerate(batch)
    ]
    return pl.concat(parts)


def _old(batch: list[tuple[Visit, str]]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for index, (visit, payer) in enumerate(batch):
        claim = build_claim(visit, _context(payer))
        for f in claim.findings:
            if f.id in IDS:
                out.append((index, f.id, f.severity.value, f.code, f.message, f.hint))
    return out


def _new_findings(findings: pl.DataFrame) -> list[tuple[object, ...]]:
    """The new findings in the old order: per visit, errors first, by id, then as reported."""
    out: list[tuple[object, ...]] = []
    ordered = findings.sort("visit", maintain_order=True)
    for (visit,), part in ordered.group_by("visit", maintain_order=True):
        made = [
            make_finding(
                r["id"],
                r["message"],
                severity=Severity(r["severity"]),
                code=r["code"],
                hint=r["hint"],
            )
            for r in part.iter_rows(named=True)
        ]
        for f in sort_findings(made):
            out.append((visit, f.id, f.severity.value, f.code, f.message, f.hint))
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visits())
def test_modifiers_and_findings_match_the_old_claims_rules_6(
    batch: list[tuple[Visit, str]],
) -> None:
    rows = rows_of(v for v, _ in batch)
    payer_ids = [p for _, p in batch]
    visits_frame = _visits_frame(rows, payer_ids)
    services_frame = _services([v for v, _ in batch])
    lines = _lines(batch)
    modifiers, found = line_modifiers(services_frame, visits_frame, PAYERS, lines)
    rules = check_provider(Batch(visits_frame, services_frame, lines, PAYERS, TODAY))

    billed = lines.filter(pl.col("units") > 0)
    new_lines = billed.join(
        modifiers, on=["visit", "service"], how="left", suffix="_new", maintain_order="left"
    )
    assert (
        new_lines.get_column("modifiers_new").to_list() == billed.get_column("modifiers").to_list()
    )
    assert modifiers.height == billed.select("visit", "service").unique().height

    assert _new_findings(pl.concat([found, rules])) == _old(batch)

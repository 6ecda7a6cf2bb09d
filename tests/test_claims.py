"""Claim lines from a visit: one engine for ``units`` and ``claim``, modifiers, streaming."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.claims import ClaimLine, VisitClaim, build_claim, cached_units, check_visits
from cognibill.engine import Entry, UnitRule, compute_units
from cognibill.findings import Finding, Severity
from cognibill.models import Visit
from cognibill.rules import COMMERCIAL_LIKE, MEDICARE_LIKE, CheckContext, FeeLookup
from cognibill.rules.emit import sort_findings
from tests.test_rules_support import TODAY, claim_of, ctx, ids, lines, svc, visit


def test_38_minutes_bill_97129_once_and_97130_twice_with_gn_rules_5() -> None:
    claim = claim_of(visit(svc("97129", 38)))
    assert [(ln.code, ln.units, ln.minutes, ln.modifiers) for ln in claim.lines] == [
        ("97129", 1, 15, ("GN",)),
        ("97130", 2, 23, ("GN",)),
    ]
    assert claim.units.total_timed_minutes == 38
    assert claim.findings == ()
    assert claim.worst is None and not claim.fails(Severity.INFO)


def test_the_rules_2_worked_example_bills_97110_twice_97530_once_and_no_97140() -> None:
    v = visit(svc("97110", 26), svc("97530", 19), svc("97140", 6), discipline="pt")
    claim = claim_of(v)
    assert lines(claim) == [("97110", 2, ("GP",)), ("97530", 1, ("GP",))]
    assert claim.units.units_of("97140") == 0  # the breakdown keeps the unbilled service
    assert [s.service for s in claim.units.services] == ["97110", "97140", "97530"]


def test_cognitive_29_and_97535_12_bill_three_units_rules_2() -> None:
    claim = claim_of(visit(svc("97129", 29), svc("97535", 12), discipline="ot"))
    assert lines(claim) == [
        ("97129", 1, ("GO",)),
        ("97130", 1, ("GO",)),
        ("97535", 1, ("GO",)),
    ]


def test_the_payers_rule_and_the_override_decide_the_units_rules_2_and_3() -> None:
    v = visit(svc("97129", 7), svc("97110", 7), discipline="pt")
    assert claim_of(v).units.total_timed_units == 1
    assert claim_of(v, COMMERCIAL_LIKE).units.total_timed_units == 0
    assert claim_of(v, COMMERCIAL_LIKE, rule=UnitRule.CMS).units.rule is UnitRule.CMS


_CODES = st.sampled_from(["97129", "97130", "97110", "97112", "97530", "97535", "92507", "97150"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_CODES, st.integers(0, 120)), min_size=1, max_size=4),
    st.sampled_from(list(UnitRule)),
)
def test_claim_units_agree_with_the_units_engine_for_any_minutes(
    entries: list[tuple[str, int]], rule: UnitRule
) -> None:
    claim = claim_of(visit(*(svc(c, m) for c, m in entries), discipline="pt"), rule=rule)
    engine = compute_units([Entry(c, m) for c, m in entries], rule)
    assert claim.units == engine
    assert [(ln.code, ln.units) for ln in claim.lines] == [
        (ln.code, ln.units) for ln in engine.lines if ln.units > 0
    ]


def test_unknown_and_deleted_codes_are_left_out_and_the_rest_is_billed_rules_5() -> None:
    claim = claim_of(visit(svc("97532", 20), svc("92129", 10), svc("97129", 23)))
    assert lines(claim) == [("97129", 1, ("GN",)), ("97130", 1, ("GN",))]
    assert [s.code for s in claim.excluded] == ["97532", "92129"]
    assert claim.worst is Severity.ERROR and claim.fails(Severity.ERROR)


def test_line_for_points_at_the_service_line_else_the_visit_line() -> None:
    v = visit(svc("92129", 10, line=9), svc("97129", 30, line=12), line=1, day=TODAY + timedelta(1))
    claim = claim_of(v)
    by_id = {f.id: claim.line_for(f) for f in claim.findings}
    assert by_id == {"unknown-code": 9, "future-date": 1}
    short = claim_of(visit(svc("97130", 5, line=4), line=1))
    assert [(f.id, short.line_for(f)) for f in short.findings] == [("below-minimum", 4)]


def test_to_dict_is_json_with_lines_and_findings() -> None:
    claim = claim_of(visit(svc("97129", 38), source="a.toml", line=3, place_of_service="10"))
    data = json.loads(json.dumps(claim.to_dict()))
    assert data["lines"] == [
        {"code": "97129", "units": 1, "minutes": 15, "modifiers": ["GN"]},
        {"code": "97130", "units": 2, "minutes": 23, "modifiers": ["GN"]},
    ]
    assert data["total_units"] == 3 and data["rule"] == "cms" and data["payer"] == "medicare"
    assert [f["id"] for f in data["findings"]] == ["telehealth-coverage"]


def test_cached_units_gives_the_engines_answer_once_per_minute_pattern() -> None:
    units = cached_units(maxsize=8)
    context = ctx(units=units)
    first = build_claim(visit(svc("97129", 38)), context)
    second = build_claim(visit(svc("97129", 38), patient="P-2"), context)
    assert first.units is second.units
    # A batch shows no explanation: the cached engine skips the trace, nothing else changes.
    engine = compute_units([Entry("97129", 38)], UnitRule.CMS)
    assert first.units.trace == () and engine.trace
    assert first.units == engine._replace(trace=())


def test_cached_units_pools_repeated_codes_and_ignores_their_order_rules_2() -> None:
    """RULES.md §2: the engine pools a service's minutes, so 20 + 18 min of 97129 are 38; with
    97110's 12 the visit has 50 min, 3 units: 2 cognitive blocks, the third to 97110's 12 min
    left over (more than cognitive's 8)."""
    units = cached_units(maxsize=8)
    context = ctx(units=units)
    split = build_claim(visit(svc("97110", 12), svc("97129", 20), svc("97129", 18)), context)
    whole = build_claim(visit(svc("97129", 38), svc("97110", 12)), context)
    assert split.units is whole.units
    expected = [("97110", 1, ("GN",)), ("97129", 1, ("GN",)), ("97130", 1, ("GN",))]
    assert lines(split) == expected and lines(whole) == expected


def test_cached_units_share_one_result_for_any_split_of_the_cognitive_pair_rules_5() -> None:
    """RULES.md §5: 97129 and 97130 minutes are one service; 15 + 23 and 20 + 18 are both 38."""
    units = cached_units(maxsize=8)
    context = ctx(units=units)
    first = build_claim(visit(svc("97129", 15), svc("97130", 23)), context)
    second = build_claim(visit(svc("97130", 18), svc("97129", 20)), context)
    assert first.units is second.units
    engine = compute_units([Entry("97129", 15), Entry("97130", 23)], UnitRule.CMS)
    assert first.units == engine._replace(trace=())
    assert lines(first) == [("97129", 1, ("GN",)), ("97130", 2, ("GN",))]
    assert build_claim(visit(svc("97129", 38)), context).units is not first.units  # 97129 alone


def _fees(values: dict[str, str]) -> FeeLookup:
    return lambda v, code: Decimal(values[code]) if code in values else None


def test_cached_units_breaks_a_tie_by_each_visits_unit_values_rules_2_5() -> None:
    """RULES.md §2.5: 97110 and 97112 tie with 7 min each; the unit that pays more wins."""
    units = cached_units(maxsize=8)
    tied = visit(svc("97110", 7), svc("97112", 7), discipline="pt")
    by_value = {
        "97112 pays more": _fees({"97110": "30.00", "97112": "35.00"}),
        "97110 pays more": _fees({"97110": "35.00", "97112": "30.00"}),
        "unknown": _fees({}),
    }
    for _ in range(2):  # the second round is answered from the cache
        billed = {
            name: [(ln.code, ln.units) for ln in build_claim(tied, ctx(units=units, fee=fee)).lines]
            for name, fee in by_value.items()
        }
        assert billed == {
            "97112 pays more": [("97112", 1)],
            "97110 pays more": [("97110", 1)],
            "unknown": [("97110", 1)],  # code order
        }
    for fee in by_value.values():
        cached = build_claim(tied, ctx(units=units, fee=fee)).units
        assert cached == build_claim(tied, ctx(fee=fee)).units._replace(trace=())


def test_check_visits_streams_without_reading_ahead() -> None:
    def endless() -> Iterator[Visit]:
        for i in itertools.count():
            yield visit(patient=f"P-{i}")

    claims = list(itertools.islice(check_visits(endless(), ctx()), 3))
    assert [c.visit.patient for c in claims] == ["P-0", "P-1", "P-2"]


def test_check_visits_can_pick_a_context_per_visit_by_payer() -> None:
    contexts = {
        "medicare": CheckContext(MEDICARE_LIKE, today=TODAY),
        "commercial": CheckContext(COMMERCIAL_LIKE, today=TODAY),
    }
    visits = [
        visit(plan=None, payer="medicare"),
        visit(plan=None, payer="commercial", patient="P-2"),
    ]
    claims: list[VisitClaim] = list(
        check_visits(visits, contexts["medicare"], context_for=lambda v: contexts[v.payer or ""])
    )
    assert [c.payer for c in claims] == ["medicare", "commercial"]
    assert [[(f.id, f.severity) for f in c.findings] for c in claims] == [
        [("no-plan-of-care", Severity.ERROR)],
        [("no-plan-of-care", Severity.WARNING)],
    ]


def test_a_visit_without_services_is_an_empty_claim() -> None:
    claim = build_claim(
        Visit(patient="P-1", date=date(2026, 3, 2)), CheckContext(MEDICARE_LIKE, today=TODAY)
    )
    assert claim.lines == () and claim.findings == ()


def test_claim_lines_and_claims_carry_every_field() -> None:
    claim = claim_of(visit(svc("97129", 38), svc("92129", 10)))
    assert all(len(line) == len(ClaimLine._fields) for line in claim.lines)
    assert [line.estimate for line in claim.lines] == [None, None]
    assert len(claim) == len(VisitClaim._fields) and claim.payer == "medicare"
    assert [s.code for s in claim.excluded] == ["92129"]


def _finding(rule_id: str, severity: Severity, n: int) -> Finding:
    return Finding(rule_id, severity, f"message {n}")


_SEVERITIES = st.sampled_from(list(Severity))
_IDS = st.sampled_from(["a-rule", "b-rule", "c-rule"])


@given(st.lists(st.tuples(_IDS, _SEVERITIES), max_size=5))
def test_findings_sort_errors_first_then_by_rule_id_keeping_the_input_order(
    raw: list[tuple[str, Severity]],
) -> None:
    findings = [_finding(rule_id, severity, n) for n, (rule_id, severity) in enumerate(raw)]
    expected = sorted(findings, key=lambda f: (-f.severity.rank, f.id))  # stable
    assert sort_findings(list(findings)) == tuple(expected)


def test_with_findings_keeps_the_order() -> None:
    claim = claim_of(visit(svc("97129", 7)))
    more = claim_of(visit(day=TODAY + timedelta(days=1))).findings
    assert ids(claim.with_findings(more)) == ["future-date", "below-minimum"]


def test_the_named_tuples_built_by_position_keep_the_fields_their_builders_assume() -> None:
    """The hot paths build these with ``tuple.__new__`` and every field by position: a field
    added or moved must be added there too, or the values would shift silently."""
    from cognibill.claims import ClaimLine, VisitClaim
    from cognibill.engine.units import Line, ServiceUnits, UnitResult
    from cognibill.fees.estimate import ThresholdCheck
    from cognibill.readers.csv_export import ServiceRow

    assert ClaimLine._fields == ("code", "units", "minutes", "modifiers", "service", "estimate")
    assert VisitClaim._fields == (
        "visit", "lines", "units", "findings", "excluded", "payer", "visit_key",
    )  # fmt: skip
    assert Line._fields == ("code", "minutes", "units", "service")
    assert ServiceUnits._fields == (
        "service", "codes", "kind", "minutes", "units", "blocks", "leftover", "extra", "removed",
    )  # fmt: skip
    assert UnitResult._fields == (
        "rule", "total_timed_minutes", "total_timed_units", "services", "lines", "ties",
        "trace", "next_unit_at", "spare_minutes", "findings",
    )  # fmt: skip
    assert ThresholdCheck._fields == (
        "patient", "year", "group", "amount", "before", "after", "kx_threshold",
        "review_threshold", "note",
    )  # fmt: skip
    assert ServiceRow._fields == (
        "line", "patient", "date", "provider", "discipline", "payer", "place_of_service",
        "poc_start", "poc_certified", "session_id", "diagnoses", "service",
    )  # fmt: skip

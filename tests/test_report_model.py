"""The report model (issue 13): a claim run summed up from its batches' aggregates."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cognibill.engine.frames import REJECTED, empty
from cognibill.engine.run import ClaimRun, Rejected, RunOptions
from cognibill.reports import Report, ReportBuilder, minutes_short

REPO = Path(__file__).parent.parent
SAMPLE = str(REPO / "sample_sessions" / "clinic_visits.csv")
HEADER = "Patient,DOS,Provider,Discipline,CPT,Minutes,Modifiers,Payer\n"


def report_of(*sources: str, keep: int = 200, **options: object) -> Report:
    """The report of a claim run of ``sources``, as ``claim`` builds it."""
    run_options = RunOptions(**options)  # type: ignore[arg-type]
    run = ClaimRun(list(sources), run_options)
    builder = ReportBuilder.for_options(run_options, keep=keep)
    rejected = []
    for item in run:
        if isinstance(item, Rejected):
            rejected.append(item.rows)
        else:
            builder.add(item)
    frame = pl.concat(rejected) if rejected else empty(REJECTED)
    return builder.finish(frame, run.summary)


def export(tmp_path: Path, *rows: str, name: str = "visits.csv") -> str:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return str(path)


def one_code_visits(tmp_path: Path, code: str, *minutes: int, payer: str = "medicare") -> str:
    """One visit per patient: ``code`` for each of ``minutes``."""
    modifier = "GN" if code in ("97129", "97130") else "GP"
    discipline = "slp" if modifier == "GN" else "pt"
    return export(
        tmp_path,
        *(f"P{m},2026-03-02,Ann Lee,{discipline},{code},{m},{modifier},{payer}" for m in minutes),
    )


# -- minutes short of the next unit (RULES.md §1) ---------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "units", "short"),
    [(7, 0, 1), (8, 1, 15), (22, 1, 1), (23, 2, 15), (37, 2, 1), (38, 3, 15), (0, 0, 8)],
)
def test_minutes_short_of_the_next_unit_follow_the_8_minute_rule(
    minutes: int, units: int, short: int
) -> None:
    assert (minutes + 7) // 15 == units
    assert minutes_short(units, minutes) == short


def test_7_22_and_37_minutes_are_1_short_and_8_23_38_are_15_short_on_the_claim(
    tmp_path: Path,
) -> None:
    report = report_of(one_code_visits(tmp_path, "97110", 7, 8, 22, 23, 37, 38))
    table = report.left_on_table
    by_short = {row["short"]: row["pools"] for row in table["by_short"]}
    assert by_short[1] == 3 and by_short[15] == 3
    assert sum(by_short.values()) == table["pools"] == 6
    near = {(x["minutes"], x["units"], x["short"]) for x in table["examples"]}
    assert near == {(7, 0, 1), (22, 1, 1), (37, 2, 1)}


def test_a_missed_unit_is_priced_at_the_payers_average_unit_of_its_code(tmp_path: Path) -> None:
    report = report_of(one_code_visits(tmp_path, "97110", 22, 30))
    lines_cents = next(r for r in report.by_code_payer if r["code"] == "97110")
    price = (2 * lines_cents["allowed_lo"] + lines_cents["units"]) // (2 * lines_cents["units"])
    near = report.left_on_table
    assert near["near_pools"] == 1 and near["value_lo"] == price
    assert near["examples"][0]["value_lo"] == price


def test_22_cognitive_minutes_miss_a_97130_unit(tmp_path: Path) -> None:
    path = one_code_visits(tmp_path, "97129", 22, 38)
    example = report_of(path).left_on_table["examples"]
    assert [(x["code"], x["minutes"], x["short"]) for x in example] == [("97130", 22, 1)]


def test_under_cms_the_visits_pooled_minutes_count(tmp_path: Path) -> None:
    # 97110 10 + 97112 12: 22 pooled minutes, 1 unit: the visit is 1 short; under AMA each
    # code has its own unit (10 -> 1 unit, 13 short; 12 -> 1 unit, 11 short).
    path = export(
        tmp_path,
        "P1,2026-03-02,Ann Lee,pt,97110,10,GP,medicare",
        "P1,2026-03-02,Ann Lee,pt,97112,12,GP,medicare",
        "P2,2026-03-02,Ann Lee,pt,97110,10,GP,commercial",
        "P2,2026-03-02,Ann Lee,pt,97112,12,GP,commercial",
    )
    table = report_of(path).left_on_table
    shorts = sorted(r["short"] for r in table["by_short"] for _ in range(r["pools"]))
    assert shorts == [1, 11, 13]
    assert [(x["patient_id"], x["minutes"], x["units"]) for x in table["examples"]] == [
        ("P1", 22, 1)
    ]


# -- totals, payers, findings ---------------------------------------------------------------


def test_money_by_payer_adds_up_to_the_runs_totals() -> None:
    report = report_of(SAMPLE)
    totals = report.totals
    for name in ("allowed", "payer_pays", "patient_owes"):
        for end in ("lo", "hi"):
            key = f"{name}_{end}"
            assert sum(p[key] for p in report.by_payer) == totals[key]
    assert sum(p["units"] for p in report.by_payer) == totals["units"]
    assert sum(p["visits"] for p in report.by_payer) == totals["visits"]
    assert sum(c["units"] for c in report.by_code) == totals["units"]


def test_findings_by_rule_count_every_finding_of_the_run() -> None:
    run = ClaimRun([SAMPLE], RunOptions())
    counted: dict[str, int] = {}
    for item in run:
        if not isinstance(item, Rejected):
            for rule_id, n in item.findings.group_by("id").len().iter_rows():
                counted[rule_id] = counted.get(rule_id, 0) + n
    report = report_of(SAMPLE)
    assert {r["id"]: r["count"] for r in report.findings} == counted
    by_severity = {"error": 0, "warning": 0, "info": 0}
    for rule in report.findings:
        for severity, n in rule["severities"].items():
            by_severity[severity] += n
    assert by_severity == report.totals["findings"]


def test_each_rule_has_its_catalogue_check_an_example_and_errors_come_first() -> None:
    from cognibill.rules.catalogue import RULES

    rules = report_of(SAMPLE).findings
    assert all(r["checks"] == RULES[r["id"]].checks for r in rules)
    assert all(r["example"] == r["lines"][0] for r in rules)
    ranks = [{"error": 2, "warning": 1, "info": 0}[r["severity"]] for r in rules]
    assert ranks == sorted(ranks, reverse=True)


def test_dollars_at_risk_are_the_allowed_of_the_lines_of_the_findings_code(
    tmp_path: Path,
) -> None:
    # 97130 without 97129: the add-on's lines are at risk, not the visit's 97110.
    path = export(
        tmp_path,
        "P1,2026-03-02,Ann Lee,slp,97130,30,GN,medicare",
        "P1,2026-03-02,Ann Lee,slp,97110,15,GN,medicare",
    )
    report = report_of(path)
    rule = next(r for r in report.findings if r["id"] == "addon-without-primary")
    allowed = {r["code"]: r["allowed_lo"] for r in report.by_code}
    assert rule["at_risk_lo"] == allowed["97130"] < report.totals["allowed_lo"]


def test_the_affected_lines_kept_per_rule_are_bounded(tmp_path: Path) -> None:
    path = export(
        tmp_path, *(f"P{n},2026-03-02,Ann Lee,pt,97532,30,GP,medicare" for n in range(12))
    )
    rule = next(r for r in report_of(path, keep=5).findings if r["id"] == "deleted-code")
    assert rule["count"] == 12 and len(rule["lines"]) == 5


def test_visits_with_errors_come_first_then_by_money_at_risk() -> None:
    attention = report_of(SAMPLE).attention
    shown = attention["shown"]
    assert attention["visits"] == len(shown) > 0
    keys = [(v["errors"] > 0, v["at_risk_hi"]) for v in shown]
    assert keys == sorted(keys, reverse=True)


def test_rejected_rows_are_grouped_by_reason_with_their_line_numbers() -> None:
    rejected = report_of(SAMPLE).rejected
    assert rejected == [
        {
            "column": "Duration",
            "reason": "'…' is not a number of minutes",
            "count": 1,
            "example": "'thirty' is not a number of minutes",
            "where": [{"source": SAMPLE, "line": 40}],
        }
    ]


# -- thresholds, providers, codes -------------------------------------------------------------


def test_kx_proximity_counts_medicare_lines_per_patient_year_and_group(tmp_path: Path) -> None:
    # 30 visits of 97110 x4 (about $88 each) for one patient: past $2,480 (KX, 2026).
    rows = [f"P1,2026-03-{d:02d},Ann Lee,pt,97110,60,GP,medicare" for d in range(1, 31)]
    rows.append("P2,2026-03-02,Ann Lee,pt,97110,60,GP,commercial")  # does not count
    report = report_of(export(tmp_path, *rows))
    th = report.thresholds
    assert th["tracked"] and th["patients"] == 1
    (patient,) = th["shown"]
    medicare = next(p for p in report.by_payer if p["payer"] == "medicare")
    assert patient["cents"] == medicare["allowed_lo"]
    assert patient["group"] == "PT+SLP" and patient["kx"] == 248000
    assert patient["status"] == "past-kx" and th["counts"]["past-kx"] == 1


def test_no_estimate_leaves_no_threshold_section_and_no_money() -> None:
    report = report_of(SAMPLE, estimate=False)
    assert report.thresholds["tracked"] is False
    assert report.totals["allowed_lo"] is None


def test_units_per_visit_by_provider_count_every_visit() -> None:
    report = report_of(SAMPLE)
    rows = report.units_per_visit
    assert sum(r["visits"] for r in rows) == report.totals["visits"]
    assert sum(r["units"] for r in rows) == report.totals["units"]
    for r in rows:
        assert sum(r["histogram"].values()) == r["visits"]


def test_the_report_is_the_same_whatever_the_batch_size() -> None:
    whole = report_of(SAMPLE).to_dict()
    batched = report_of(SAMPLE, batch_rows=7, hold_rows=7).to_dict()
    for tree in (whole, batched):
        tree["totals"].pop("sources")
    assert batched == whole


def test_to_dict_says_money_is_in_cents() -> None:
    tree = report_of(SAMPLE).to_dict()
    assert tree["money_unit"] == "cents"
    assert isinstance(tree["totals"]["allowed_lo"], int)

"""Real EHR exports end to end, with no flags (issue 10, "Done when").

Each fixture in ``tests/fixtures/exports/`` is one vendor shape (headers exactly as
``../shared/domain/EXPORTS.md`` documents them, fictional rows) or one input edge. Each runs
through ``cognibill claim --format json`` and ``cognibill check --format json`` with no flag,
and the table :data:`EXPECTED` says, worked out by hand from RULES.md, what must come out:
the units of every visit and code, the findings of every visit, the rejected and skipped
lines, and the notes said once per file. ``rows read = used + rejected + skipped`` in every
one, and no visit repeats a fact about the file (RULES.md §11).

Visits are named ``(patient, date of service)``; no fixture has two visits with the same pair.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, Run

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
SAMPLES = REPO / "sample_sessions"

Cli = Callable[..., Run]
Visit = tuple[str, str]
"""(patient as the file names them, date of service ISO)."""

PER_FILE = frozenset({"checks-skipped", "payer-fallback", "default-payer"})
"""Facts about a file: said once in ``summary.notes``, never on a visit (RULES.md §11)."""


@dataclass(frozen=True)
class Expected:
    """What one fixture must give, from RULES.md by hand."""

    units: Mapping[Visit, Mapping[str, int]]
    """Every visit, and the units of each code its claim lines bill (lines of 0 units left out)."""
    findings: Mapping[Visit, frozenset[str]] = field(default_factory=dict)
    """Finding ids of each visit (on any of its lines); a visit not named has none."""
    rejected: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()
    """Lines set apart on purpose: metadata above the header, blank rows, total rows."""
    notes: Mapping[str, int] = field(default_factory=dict)
    """The file's notes other than ``checks-skipped``: id -> how many visits it concerns."""
    skipped_checks: tuple[str, ...] = ()
    """The columns the file lacks, one ``checks-skipped`` note each ("no plan-of-care column:
    ..."), named by the first word of the column as the note says it."""
    incomplete: Mapping[Visit, tuple[int, ...]] = field(default_factory=dict)
    """Visits that lost rows to rejection, and the rejected lines ``visit-incomplete`` names."""
    payers: frozenset[str] = frozenset({"medicare"})
    """The payer profiles the claim lines use."""
    minutes: Mapping[tuple[Visit, str], int] = field(default_factory=dict)
    """Minutes of some claim lines: proof that durations and times were read."""
    modifiers: Mapping[tuple[Visit, str], tuple[str, ...]] = field(default_factory=dict)
    """Modifiers of some claim lines, in order."""
    disciplines: Mapping[Visit, str] = field(default_factory=dict)
    units_only: bool = False
    """A file with no minutes: no line may show minutes (money columns are not minutes)."""

    @property
    def exit_code(self) -> int:
        errors = {"visit-incomplete", "addon-without-primary", "primary-more-than-once"}
        has_error = any(ids & errors for ids in self.findings.values())
        return 1 if self.rejected or has_error else 0


def j(*ids: str) -> frozenset[str]:
    return frozenset(ids)


PLAN, MINUTES, MODIFIERS, DIAGNOSES = "plan", "minutes", "modifier", "diagnos"

# fmt: off
EXPECTED: dict[str, Expected] = {
    # WebPT EMR Documented (Billed) Units report: UTF-8 BOM + CRLF, M/D/YY dates (20YY), "Last,
    # First" names, units only. Provider and discipline come from Documenting Therapist: on
    # visit 50004 a PTA documented and a PT finalized, so GP CQ is right (RULES.md §6). Aetna
    # has no profile: one payer-fallback note for its one visit. 97112 with an empty Modifier
    # cell gets GP added, nothing reported.
    "webpt_billed_units.csv": Expected(
        units={
            ("Doe, Jane", "2026-03-02"): {"97110": 2, "97140": 1, "G0283": 1},
            ("Roe, Richard", "2026-03-03"): {"97535": 2, "97530": 1},
            ("Doe, Jane", "2026-03-04"): {"97110": 3},
            ("Stone, Ada", "2026-03-04"): {"97110": 2, "97112": 1},
            ("Blake, Tom", "2026-03-05"): {"97129": 1, "97130": 2},
            ("Doe, Jane", "2026-03-06"): {"97110": 2, "97112": 1},
        },
        notes={"payer-fallback": 1},
        skipped_checks=(PLAN, MINUTES),
        payers=j("medicare", "commercial"),
        modifiers={
            (("Stone, Ada", "2026-03-04"), "97110"): ("GP", "CQ"),
            (("Doe, Jane", "2026-03-06"), "97112"): ("GP",),
        },
        disciplines={
            ("Stone, Ada", "2026-03-04"): "pta",
            ("Roe, Richard", "2026-03-03"): "ot",
            ("Blake, Tom", "2026-03-05"): "slp",
        },
        units_only=True,
    ),
    # WebPT Analytics charges standard extract: ISO dates, units only, therapist ids (no
    # credentials: the discipline is unknown, the listed GP/GO stand), insurance_type_id 3 =
    # Medicare. 97012 (traction) is untimed: 1 unit (RULES.md §4).
    "webpt_analytics_charges.csv": Expected(
        units={
            ("20001", "2026-03-09"): {"97161": 1, "97110": 1},
            ("20001", "2026-03-11"): {"97110": 2, "97140": 1, "97012": 1},
            ("20002", "2026-03-11"): {"97165": 1},
            ("20002", "2026-03-13"): {"97535": 2, "97530": 1},
        },
        skipped_checks=(PLAN, MINUTES, DIAGNOSES),
        modifiers={(("20001", "2026-03-11"), "97110"): ("GP",)},
        units_only=True,
    ),
    # SimplePractice appointment status report: units only; Rate Per Unit, Total Fee, Charge,
    # Paid ... are money, never minutes. No payer column: the default payer (Medicare) with one
    # note; no modifier column: GN/GP added from "Smith, Anna SLP" / "Chen, Mark PT".
    "simplepractice_appointment_status.csv": Expected(
        units={
            ("Ava Martin", "2026-03-02"): {"92507": 1},
            ("Noah Patel", "2026-03-03"): {"97129": 1, "97130": 2},
            ("Ava Martin", "2026-03-05"): {"92507": 1},
            ("Liam Brooks", "2026-03-05"): {"97110": 2, "97112": 1},
            ("Noah Patel", "2026-03-09"): {"97129": 1, "97130": 1},
        },
        notes={"default-payer": 5},
        skipped_checks=(PLAN, MINUTES, MODIFIERS, DIAGNOSES),
        modifiers={
            (("Noah Patel", "2026-03-03"), "97130"): ("GN",),
            (("Liam Brooks", "2026-03-05"), "97110"): ("GP",),
        },
        disciplines={("Noah Patel", "2026-03-03"): "slp", ("Liam Brooks", "2026-03-05"): "pt"},
        units_only=True,
    ),
    # Ensora/Fusion-style visit export, Duration written 0:38, 22, 1h 15m, 15 min, 38 min,
    # 1:05, 1:00, 75m. CMS pool (RULES.md §2): 38+22 = 60 -> 4, the extra unit to 97110 (8 left
    # vs 7); 38+65 = 103 -> 7, extra to 97535 (8 vs 5); 38+9 = 47 -> 3, extra to 97140 (9 vs
    # 8). G0283 is untimed, outside the pool (75 alone -> 5; pooled it would be 6). The Units
    # column agrees with the minutes everywhere.
    "ensora_visit_duration.csv": Expected(
        units={
            ("Doe, Jane", "2026-03-02"): {"97110": 3, "97112": 1},
            ("Roe, Richard", "2026-03-03"): {"97530": 5, "G0283": 1},
            ("Stone, Ada", "2026-03-04"): {"97535": 3, "97530": 4},
            ("Blake, Tom", "2026-03-05"): {"97129": 1, "97130": 4},
            ("Doe, Jane", "2026-03-06"): {"97110": 2, "97140": 1},
            ("Lane, Ivy", "2026-03-06"): {"97110": 5},
        },
        skipped_checks=(PLAN, DIAGNOSES),
        minutes={
            (("Doe, Jane", "2026-03-02"), "97110"): 38,
            (("Doe, Jane", "2026-03-02"), "97112"): 22,
            (("Roe, Richard", "2026-03-03"), "97530"): 75,
            (("Stone, Ada", "2026-03-04"), "97535"): 38,
            (("Stone, Ada", "2026-03-04"), "97530"): 65,
            (("Blake, Tom", "2026-03-05"), "97130"): 60,
            (("Doe, Jane", "2026-03-06"), "97140"): 9,
            (("Lane, Ivy", "2026-03-06"), "97110"): 75,
        },
    ),
    # The same shape with start and end times, 12-hour across noon (11:50 AM-12:28 PM = 38) and
    # 24-hour (13:05-13:28 = 23). 97010 (hot packs) is bundled for Medicare: 1 unit, outside the
    # pool, with a code-bundled warning, not a rejection (RULES.md §4).
    "ensora_visit_start_end.csv": Expected(
        units={
            ("Doe, Jane", "2026-03-09"): {"97110": 2, "97140": 1},
            ("Roe, Richard", "2026-03-10"): {"97112": 2, "97010": 1},
            ("Stone, Ada", "2026-03-10"): {"97535": 4},
            ("Blake, Tom", "2026-03-11"): {"97129": 1, "97130": 2},
            ("Lane, Ivy", "2026-03-11"): {"97110": 2},
        },
        findings={("Roe, Richard", "2026-03-10"): j("code-bundled")},
        skipped_checks=(PLAN, DIAGNOSES),
        minutes={
            (("Doe, Jane", "2026-03-09"), "97110"): 38,
            (("Doe, Jane", "2026-03-09"), "97140"): 9,
            (("Roe, Richard", "2026-03-10"), "97112"): 23,
            (("Stone, Ada", "2026-03-10"), "97535"): 53,
            (("Blake, Tom", "2026-03-11"), "97130"): 23,
            (("Lane, Ivy", "2026-03-11"), "97110"): 25,
        },
    ),
    # OpenEMR sales by item, CSV export with details and $GLOBALS['sales_report_invoice'] = 1:
    # "Category","Item","Date","Name","ID","Qty","Amount" (sales_by_item.php). Item is the code,
    # a space, then the code's text; Name is "fname mname lname" (two spaces without a middle
    # name); ID is the patient's pid, the identifier. Rows come sorted by category, code, date.
    # No provider, payer or modifier column: default payer, modifiers not checked.
    "openemr_sales_by_item.csv": Expected(
        units={
            ("101", "2026-03-02"): {"97110": 2, "97140": 1, "G0283": 1},
            ("101", "2026-03-04"): {"97110": 2},
            ("102", "2026-03-04"): {"97110": 1, "97530": 2},
        },
        notes={"default-payer": 3},
        skipped_checks=(PLAN, MINUTES, MODIFIERS, DIAGNOSES),
        units_only=True,
    ),
    # Rethink-style billing export: 4 metadata lines above the header (lines 1-4), an all-empty
    # row and a Grand Total row below the data (lines 10-11): all skipped and counted. Minutes
    # from Actual Start/End Time; Funder "Blue Cross Blue Shield" has no profile (AMA rule: 53
    # min -> 4).
    "rethink_billing_export.csv": Expected(
        units={
            ("Doe, Jane", "2026-03-02"): {"92507": 1},
            ("Roe, Richard", "2026-03-02"): {"97535": 3},
            ("Blake, Tom", "2026-03-03"): {"97530": 4},
            ("Doe, Jane", "2026-03-04"): {"92507": 1},
        },
        skipped=(1, 2, 3, 4, 10, 11),
        notes={"payer-fallback": 1},
        skipped_checks=(PLAN, DIAGNOSES),
        payers=j("medicare", "commercial"),
        minutes={
            (("Roe, Richard", "2026-03-02"), "97535"): 38,
            (("Blake, Tom", "2026-03-03"), "97530"): 53,
        },
    ),
    # A generic export with the new aliases: patient_member_id, service_date_from, Treating
    # Therapist (credentials in the name), Modifier 1..4, Diagnosis Codes, Time In / Time Out.
    # M1001 is RULES.md §2's first worked example (26+19+6 -> 97110 x2, 97530 x1, 97140 x0);
    # M1004: 12+29 = 41 -> 3, both leftovers (12, 14) get a unit.
    "generic_aliases.csv": Expected(
        units={
            ("M1001", "2026-03-16"): {"97110": 2, "97530": 1},
            ("M1002", "2026-03-16"): {"97110": 3},
            ("M1003", "2026-03-17"): {"97129": 1, "97130": 2},
            ("M1004", "2026-03-17"): {"97535": 1, "97530": 2},
        },
        findings={("M1001", "2026-03-16"): j("below-minimum")},
        skipped_checks=(PLAN,),
        minutes={
            (("M1001", "2026-03-16"), "97110"): 26,
            (("M1001", "2026-03-16"), "97530"): 19,
            (("M1004", "2026-03-17"), "97535"): 12,
            (("M1004", "2026-03-17"), "97530"): 29,
        },
        modifiers={
            (("M1002", "2026-03-16"), "97110"): ("GP", "CQ"),
            (("M1004", "2026-03-17"), "97530"): ("GO", "59"),
        },
        disciplines={("M1002", "2026-03-16"): "pta", ("M1004", "2026-03-17"): "ot"},
    ),
    # RULES.md §11: 97113 24 + 97116 23 is 97113 x2 + 97116 x1 (P-3002). When the 97113 row is
    # rejected (modifier 'G', line 2) the 97116 line must carry visit-incomplete naming line 2,
    # not pass as a whole visit of 97116 x2. Line 6 is rejected alone: no visit to flag.
    "edge_visit_incomplete.csv": Expected(
        units={
            ("P-3001", "2026-03-18"): {"97116": 2},
            ("P-3002", "2026-03-18"): {"97113": 2, "97116": 1},
        },
        findings={("P-3001", "2026-03-18"): j("visit-incomplete")},
        rejected=(2, 6),
        skipped_checks=(PLAN, DIAGNOSES),
        incomplete={("P-3001", "2026-03-18"): (2,)},
    ),
    # An end before its start is a bad row (RULES.md §11); 12:30 PM-1:05 PM is 35 min.
    "edge_end_before_start.csv": Expected(
        units={
            ("P-4001", "2026-03-19"): {"97140": 1},
            ("P-4002", "2026-03-19"): {"97110": 2},
        },
        findings={("P-4001", "2026-03-19"): j("visit-incomplete")},
        rejected=(2,),
        skipped_checks=(PLAN, DIAGNOSES),
        incomplete={("P-4001", "2026-03-19"): (2,)},
        minutes={(("P-4002", "2026-03-19"), "97110"): 35},
    ),
    # Near misses of codes in scope stay rejected with "did you mean" (RULES.md §5).
    "edge_near_miss.csv": Expected(
        units={("P-5002", "2026-03-20"): {"97129": 1}},
        findings={("P-5002", "2026-03-20"): j("visit-incomplete")},
        rejected=(2, 4),
        skipped_checks=(PLAN, DIAGNOSES),
        incomplete={("P-5002", "2026-03-20"): (4,)},
    ),
    # Well-formed codes outside the catalogue are carried with their units, outside the timed
    # pool (97110 30 alone -> 2; pooled with 97799's 10 it would be 3), with a warning.
    "edge_unknown_code.csv": Expected(
        units={
            ("P-6001", "2026-03-20"): {"97110": 2, "97799": 1},
            ("P-6002", "2026-03-20"): {"99213": 1},
        },
        findings={
            ("P-6001", "2026-03-20"): j("code-not-in-catalogue"),
            ("P-6002", "2026-03-20"): j("code-not-in-catalogue"),
        },
        skipped_checks=(PLAN, DIAGNOSES),
    ),
    # Units only: the units are taken as billed (RULES.md §11), 97129 x1 + 97130 x2. 97130 x2
    # with no 97129 is still checked (that needs no minutes, RULES.md §5) and stays as billed:
    # without minutes nobody can tell whether the session was 2 units or a lost 97129 line.
    "edge_units_only_cognitive.csv": Expected(
        units={
            ("P-7001", "2026-03-23"): {"97129": 1, "97130": 2},
            ("P-7002", "2026-03-24"): {"97130": 2},
        },
        findings={("P-7002", "2026-03-24"): j("addon-without-primary")},
        skipped_checks=(PLAN, MINUTES, DIAGNOSES),
        units_only=True,
    ),
    # A blank row, a "Total" and a "Report Total" row below the data: skipped and counted.
    "edge_total_rows.csv": Expected(
        units={
            ("P-8001", "2026-03-25"): {"97530": 2},
            ("P-8002", "2026-03-25"): {"97535": 3},
        },
        skipped=(4, 5, 6),
        skipped_checks=(PLAN, DIAGNOSES),
    ),
}
# fmt: on

NAMES = sorted(EXPECTED)


# -- running ----------------------------------------------------------------------------------


@dataclass
class Result:
    """The two runs of one fixture; a run that did not finish (exit 2 or 3) fails the test that
    reads it, with cognibill's own message."""

    claim_run: Run
    check_run: Run

    @property
    def claim(self) -> dict[str, Any]:
        return _output("claim", self.claim_run)

    @property
    def check(self) -> dict[str, Any]:
        return _output("check", self.check_run)

    @property
    def claim_code(self) -> int:
        return self.claim_run.code

    @property
    def check_code(self) -> int:
        return self.check_run.code


def _output(command: str, done: Run) -> dict[str, Any]:
    assert done.code in (0, 1), f"{command} exited {done.code}: {done.err.strip()}"
    data: dict[str, Any] = done.json()
    return data


def run(cli: Cli, path: Path) -> Result:
    return Result(
        cli("claim", str(path), "--format", "json"), cli("check", str(path), "--format", "json")
    )


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    return {}


@pytest.fixture
def result(cli: Cli, results: dict[str, Result], request: pytest.FixtureRequest) -> Result:
    """The fixture's claim and check output, run once per test module."""
    name = request.node.callspec.params["name"]
    if name not in results:
        results[name] = run(cli, FIXTURES / name)
    return results[name]


def visit_of(item: Mapping[str, Any]) -> Visit:
    return (item["patient_id"], item["date"])


def units_by_visit(lines: list[dict[str, Any]]) -> dict[Visit, dict[str, int]]:
    out: dict[Visit, dict[str, int]] = {}
    for line in lines:
        codes = out.setdefault(visit_of(line), {})
        if line["units"]:
            codes[line["code"]] = codes.get(line["code"], 0) + line["units"]
    return out


def findings_by_visit(lines: list[dict[str, Any]]) -> dict[Visit, set[str]]:
    out: dict[Visit, set[str]] = {}
    for line in lines:
        out.setdefault(visit_of(line), set()).update(f["id"] for f in line["findings"])
    return out


def line_of(lines: list[dict[str, Any]], visit: Visit, code: str) -> dict[str, Any]:
    found = [x for x in lines if visit_of(x) == visit and x["code"] == code]
    assert found, f"no claim line {code} for {visit}"
    return found[0]


def data_lines(path: Path) -> int:
    """Physical lines of a CSV after its header row (rows read counts every one of them)."""
    return path.read_bytes().count(b"\n") - 1


# -- the expectations ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_claim_bills_each_visit_the_units_worked_out_by_hand(name: str, result: Result) -> None:
    assert units_by_visit(result.claim["lines"]) == EXPECTED[name].units


@pytest.mark.parametrize("name", NAMES)
def test_each_visit_has_exactly_the_findings_worked_out_by_hand(name: str, result: Result) -> None:
    want = EXPECTED[name]
    got = findings_by_visit(result.claim["lines"])
    assert {v: got.get(v, set()) for v in want.units} == {
        v: set(want.findings.get(v, ())) for v in want.units
    }


@pytest.mark.parametrize("name", NAMES)
def test_check_reports_the_same_findings_per_visit(name: str, result: Result) -> None:
    want = EXPECTED[name]
    got: dict[Visit, set[str]] = {}
    for finding in result.check["findings"]:
        if finding["patient_id"] is not None:
            got.setdefault(visit_of(finding), set()).add(finding["id"])
    assert got == {v: set(ids) for v, ids in want.findings.items() if ids}
    rejected = [f["line"] for f in result.check["findings"] if f["id"] == "rejected-row"]
    assert rejected == list(want.rejected)


@pytest.mark.parametrize("name", NAMES)
def test_rejected_and_skipped_lines_are_the_expected_ones(name: str, result: Result) -> None:
    want = EXPECTED[name]
    summary = result.claim["summary"]
    assert [r["line"] for r in result.claim["rejected"]] == list(want.rejected)
    assert [s["line"] for s in summary["skipped"]] == list(want.skipped)
    assert all(s["reason"] for s in summary["skipped"])
    assert summary["rows_skipped"] == len(want.skipped)
    assert summary["rows_rejected"] == len(want.rejected)


@pytest.mark.parametrize("name", NAMES)
def test_rows_read_are_used_plus_rejected_plus_skipped(name: str, result: Result) -> None:
    for summary in (result.claim["summary"], result.check["summary"]):
        assert summary["rows_read"] == data_lines(FIXTURES / name)
        assert summary["rows_read"] == (
            summary["rows_used"] + summary["rows_rejected"] + summary["rows_skipped"]
        )


@pytest.mark.parametrize("name", NAMES)
def test_facts_about_the_file_are_said_once_never_per_visit(name: str, result: Result) -> None:
    """RULES.md §11: an absent column proves nothing; a fact about the file is said once."""
    want = EXPECTED[name]
    for output in (result.claim, result.check):
        notes = output["summary"]["notes"]
        assert {n["source"] for n in notes} <= {str(FIXTURES / name)}
        others = {n["id"]: n["count"] for n in notes if n["id"] != "checks-skipped"}
        assert len(others) == len([n for n in notes if n["id"] != "checks-skipped"]), notes
        assert others == dict(want.notes)
        lacking = sorted(
            n["message"].split()[1] for n in notes if n["id"] == "checks-skipped"
        )  # "no plan-of-care column: not run: ..." -> "plan-of-care"
        assert len(lacking) == len(want.skipped_checks), lacking
        for word in want.skipped_checks:
            assert [c for c in lacking if c.startswith(word)], f"no note for {word}: {lacking}"
    per_visit = {f["id"] for line in result.claim["lines"] for f in line["findings"]}
    per_visit |= {f["id"] for f in result.check["findings"] if f["patient_id"] is not None}
    assert not per_visit & (PER_FILE | {"no-plan-of-care"})


@pytest.mark.parametrize("name", NAMES)
def test_visit_incomplete_is_on_every_line_and_names_the_rejected_lines(
    name: str, result: Result
) -> None:
    """RULES.md §11: a visit is billed from all its rows or flagged."""
    for visit, lost in EXPECTED[name].incomplete.items():
        lines = [x for x in result.claim["lines"] if visit_of(x) == visit]
        assert lines
        for line in lines:
            found = [f for f in line["findings"] if f["id"] == "visit-incomplete"]
            assert found, f"{visit} {line['code']} is billed as if whole"
            for number in lost:
                assert re.search(rf"\b{number}\b", found[0]["message"]), found[0]["message"]


@pytest.mark.parametrize("name", NAMES)
def test_lines_carry_the_payers_minutes_modifiers_and_disciplines_expected(
    name: str, result: Result
) -> None:
    want = EXPECTED[name]
    lines = result.claim["lines"]
    assert {x["payer"] for x in lines} == set(want.payers)
    for (visit, code), minutes in want.minutes.items():
        assert line_of(lines, visit, code)["minutes"] == minutes, (visit, code)
    for (visit, code), modifiers in want.modifiers.items():
        assert tuple(line_of(lines, visit, code)["modifiers"]) == modifiers, (visit, code)
    for visit, discipline in want.disciplines.items():
        assert {x["discipline"] for x in lines if visit_of(x) == visit} == {discipline}
    if want.units_only:  # Rate Per Unit, Charge, Amount ... are never minutes
        assert not [x for x in lines if x["minutes"]], "a units-only file shows minutes"


@pytest.mark.parametrize("name", NAMES)
def test_exit_code_is_1_exactly_when_there_are_errors(name: str, result: Result) -> None:
    assert result.claim_code == EXPECTED[name].exit_code
    assert result.check_code == EXPECTED[name].exit_code


# -- the details a test of the table cannot show ------------------------------------------------


def test_the_webpt_fixture_keeps_its_bom_and_crlf() -> None:
    """The WebPT report is UTF-8 with a BOM, CRLF: a checkout that rewrites it tests nothing."""
    data = (FIXTURES / "webpt_billed_units.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfClinic Name,")
    assert data.count(b"\r\n") == data.count(b"\n") == 13


def test_near_misses_are_rejected_with_did_you_mean(cli: Cli) -> None:
    data = _output("claim", cli("claim", str(FIXTURES / "edge_near_miss.csv"), "--format", "json"))
    reasons = {r["line"]: r["reason"] for r in data["rejected"]}
    assert "did you mean 97129" in reasons[2]
    assert "did you mean 97130" in reasons[4]


def test_an_end_before_its_start_is_the_reason_given(cli: Cli) -> None:
    path = FIXTURES / "edge_end_before_start.csv"
    data = _output("claim", cli("claim", str(path), "--format", "json"))
    [row] = data["rejected"]
    assert "before" in row["reason"] and "13:40" in row["reason"], row


def test_an_xlsx_workbook_with_real_date_cells_reads_like_its_csv(cli: Cli, tmp_path: Path) -> None:
    """SimplePractice offers its report as Excel: the same rows as real cells (dates, numbers)
    bill exactly as the CSV does. The workbook is built here; none is stored in the repo."""
    pytest.importorskip("openpyxl")
    spec = importlib.util.spec_from_file_location("make_xlsx", FIXTURES / "make_xlsx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    book = module.build(
        FIXTURES / "simplepractice_appointment_status.csv", tmp_path / "appointments.xlsx"
    )
    want = EXPECTED["simplepractice_appointment_status.csv"]
    claim = cli("claim", str(book), "--format", "json")
    assert claim.code == 0, claim.err
    data = claim.json()
    assert units_by_visit(data["lines"]) == want.units
    summary = data["summary"]
    assert summary["rows_read"] == 8 == summary["rows_used"]
    others = {n["id"]: n["count"] for n in summary["notes"] if n["id"] != "checks-skipped"}
    assert others == dict(want.notes)
    assert not [x for x in data["lines"] if x["minutes"]]


# -- the bundled samples ------------------------------------------------------------------------


@dataclass(frozen=True)
class Mistakes:
    """The deliberate mistakes of a bundled sample (``scripts/make_samples.py --list``)."""

    errors: frozenset[tuple[str, str, str]]
    """Every error of a visit: (patient, date, id). Nothing else may be an error."""
    warnings: frozenset[tuple[str, str, str]]
    """Every warning of a visit, the same way: the deliberate ones and nothing else."""
    rejected: tuple[int, ...]
    skipped: tuple[int, ...] = ()


SAMPLE_MISTAKES: dict[str, Mistakes] = {
    "webpt_billed_units.csv": Mistakes(
        errors=frozenset(
            {
                ("Wells, Doris", "2026-03-10", "primary-more-than-once"),  # 97129 line twice
                ("Quinn, Harold", "2026-03-16", "addon-without-primary"),  # 97130 x2 alone
                ("Nash, Irene", "2026-03-25", "discipline-modifier"),  # an OT's line with GP
                ("Roe, Richard", "2026-03-31", "discipline-modifier"),  # KX but no GP
            }
        ),
        warnings=frozenset(
            {
                ("Stone, Ada", "2026-03-09", "assistant-modifier"),  # a PTA's lines without CQ
                ("Doe, Jane", "2026-03-25", "code-bundled"),  # 97010 to Medicare
                ("Blake, Tom", "2026-03-26", "code-not-payable"),  # 97014 to Medicare
            }
        ),
        rejected=(118,),  # CPT 92129
    ),
    "clinic_visits.csv": Mistakes(
        errors=frozenset(
            {
                ("Diaz, Maria", "2026-03-10", "visit-incomplete"),  # line 40 'thirty' rejected
                ("Hunt, Walter", "2026-03-12", "addon-without-primary"),  # 97130 x2 alone
                ("Adams, Carl", "2026-03-16", "units-not-supported"),  # 30 min billed 3
                ("Baker, Helen", "2026-03-17", "units-not-supported"),  # 7 min billed 1
                ("Ives, Nora", "2026-03-20", "primary-more-than-once"),  # second SLP, same day
                ("Hunt, Walter", "2026-03-23", "deleted-code"),  # 97532
            }
        ),
        warnings=frozenset(
            {
                ("Baker, Helen", "2026-03-17", "below-minimum"),
                ("Gray, Alice", "2026-03-20", "units-not-supported"),  # 45 min billed 2
                ("Adams, Carl", "2026-03-25", "assistant-modifier"),  # a PTA's line without CQ
            }
        ),
        rejected=(40,),
    ),
    "rethink_billing_export.csv": Mistakes(
        errors=frozenset(
            {
                ("Keane, Oscar", "2026-03-16", "visit-incomplete"),  # line 29 ends before start
                ("Lowry, Edith", "2026-03-17", "primary-more-than-once"),  # 97129 x2
                ("Keane, Oscar", "2026-03-26", "discipline-modifier"),  # an SLP's lines with GO
            }
        ),
        warnings=frozenset(),
        rejected=(29,),
        skipped=(1, 2, 3, 4, 63, 64),
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_MISTAKES))
def test_every_error_of_a_bundled_sample_is_a_deliberate_mistake(cli: Cli, name: str) -> None:
    """Issue 10: on the bundled samples every error is one a biller would act on, and no
    finding repeats per visit a fact about the file."""
    want = SAMPLE_MISTAKES[name]
    path = SAMPLES / name
    done = cli("check", str(path), "--format", "json")
    data = _output("check", done)
    by_visit = [f for f in data["findings"] if f["patient_id"] is not None]
    errors = {(*visit_of(f), f["id"]) for f in by_visit if f["severity"] == "error"}
    warnings = {(*visit_of(f), f["id"]) for f in by_visit if f["severity"] == "warning"}
    assert errors == set(want.errors)
    assert warnings == set(want.warnings)
    assert not {f["id"] for f in by_visit} & (PER_FILE | {"no-plan-of-care"})
    rejected = [f["line"] for f in data["findings"] if f["id"] == "rejected-row"]
    assert rejected == list(want.rejected)
    summary = data["summary"]
    assert [s["line"] for s in summary["skipped"]] == list(want.skipped)
    assert summary["rows_read"] == data_lines(path)
    assert summary["rows_read"] == (
        summary["rows_used"] + summary["rows_rejected"] + summary["rows_skipped"]
    )

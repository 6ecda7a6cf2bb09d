"""Session files: the TOML visit format, its validation, its ``file:line: field: reason`` errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from cognibill.catalogue import COGNITIVE, load_catalogue
from cognibill.engine import Entry, UnitRule, units_for_minutes
from cognibill.engine.one_visit import one_visit
from cognibill.errors import InputError
from cognibill.exitcodes import ExitCode
from cognibill.models import Discipline, PlanOfCare, Provider, Service, Visit
from cognibill.payers import get_payer
from cognibill.readers.session_file import read_session_file, read_session_text

SESSIONS = Path(__file__).parent / "data" / "sessions"
ONE_SERVICE = """[[visit]]
patient = "P-1"
date = 2026-03-02
[[visit.service]]
code = "97129"
minutes = 38
"""
SAMPLES = Path(__file__).parent.parent / "sample_sessions"

CLEAN_FIXTURES = {"clean.toml", "bom_crlf.toml"}

EXPECTED: dict[str, list[str]] = {
    "unknown_key.toml": [
        "unknown_key.toml:4: pos: unknown key (did you mean 'place_of_service'?)",
        "unknown_key.toml:5: source: unknown key",
        "unknown_key.toml:6: provider.name: unknown key",
        "unknown_key.toml:10: service.minute: unknown key (did you mean 'minutes'?)",
        "unknown_key.toml:11: service.units: unknown key (did you mean 'units_billed'?)",
        "unknown_key.toml:12: service.line: unknown key",
    ],
    "bad_date.toml": [
        'bad_date.toml:3: date: expected a date like 2026-03-02, got "03/02/2026"',
        'bad_date.toml:4: plan_of_care.certified: not a real date: "2026-02-30"',
        "bad_date.toml:4: plan_of_care.through: expected a date without a time of day, "
        "like 2026-03-02",
    ],
    "impossible_date.toml": [
        "impossible_date.toml:3: date: TOML syntax error at column 8: invalid date or datetime "
        "(not a real date?)",
    ],
    "wrong_type.toml": [
        'wrong_type.toml:2: patient: expected text in "quotes", got a number',
        "wrong_type.toml:4: provider: expected a table, got text",
        'wrong_type.toml:5: plan_of_care.diagnoses: expected an array such as ["…"], got text',
        'wrong_type.toml:5: plan_of_care.goals: expected true or false, got "maybe"',
        'wrong_type.toml:8: service.code: expected text in "quotes", got a number',
        'wrong_type.toml:9: service.minutes: expected a whole number, got "forty"',
        "wrong_type.toml:10: service.assistant_minutes: expected a whole number, got true",
        "wrong_type.toml:11: service.units_billed: expected a whole number, got 2.5",
        'wrong_type.toml:12: service.modifiers: item 2: expected text in "quotes", got a number',
    ],
    "missing_field.toml": [
        "missing_field.toml:1: patient: required, but missing",
        "missing_field.toml:4: service.code: required, but missing",
        "missing_field.toml:7: service: a visit needs at least one [[visit.service]] table",
    ],
    "not_toml.toml": [
        "not_toml.toml:2: patient: TOML syntax error at column 11: "
        'invalid value (text goes in "quotes")',
    ],
    "empty.toml": ["empty.toml: no visits: the file has no [[visit]] table"],
    "comments_only.toml": ["comments_only.toml: no visits: the file has no [[visit]] table"],
    "latin1.toml": [
        "latin1.toml:4: not UTF-8 text (byte 0xe9 at column 18); save the file as UTF-8",
    ],
    "single_table.toml": [
        "single_table.toml:1: visit: write [[visit]] (double brackets), one table per visit",
    ],
    "single_service_table.toml": [
        "single_service_table.toml:5: service: write [[visit.service]] (double brackets), "
        "one table per service",
    ],
    "top_level.toml": [
        "top_level.toml:1: patient: belongs inside a [[visit]] table: "
        "put it after the [[visit]] line",
        "top_level.toml:3: visits: unknown key (did you mean 'visit'?); "
        "the file holds [[visit]] tables",
        "top_level.toml: no visits: the file has no [[visit]] table",
    ],
    "bad_values.toml": [
        "bad_values.toml:2: patient: must not be empty",
        "bad_values.toml:6: service.code: must not be empty",
        "bad_values.toml:7: service.minutes: cannot be negative",
        "bad_values.toml:12: service.assistant_minutes: more than the service's 20 minutes",
        "bad_values.toml:13: service.units_billed: cannot be negative",
        "bad_values.toml:17: service.minutes: more than a day (1440 minutes)",
    ],
    "many_visits.toml": [
        "many_visits.toml:13: provider.discipline: expected one of pt, ot, slp, physician, "
        'psychologist, np, cns, pa, pta, ota, aide or other; got "SLP-A"',
        "many_visits.toml:21: service.minutes: expected a whole number, got 12.5",
        'many_visits.toml:28: plan_of_care.diagnoses: item 2: expected text in "quotes", '
        "got true/false",
        'many_visits.toml:32: service.minutes: expected a whole number, got "x"',
    ],
}


def problems(name: str) -> InputError:
    with pytest.raises(InputError) as caught:
        read_session_file(SESSIONS / name, name=name)
    return caught.value


# -- clean files -------------------------------------------------------------------------------


def test_clean_file_reads_three_visits_with_their_source_lines() -> None:
    first, second, third = read_session_file(SESSIONS / "clean.toml", name="clean.toml")

    assert first == Visit(
        patient="P-1001",
        date=dt.date(2026, 3, 2),
        payer="medicare",
        place_of_service="11",
        provider=Provider(id="1234567893", discipline=Discipline.SLP),
        plan_of_care=PlanOfCare(
            start=dt.date(2026, 2, 20),
            certified=dt.date(2026, 2, 25),
            through=dt.date(2026, 5, 14),
            diagnoses=("I69.314",),
            goals=True,
            frequency="2x/week",
            duration="12 weeks",
        ),
        services=(Service(code="97129", minutes=38, modifiers=("GN",), line=12),),
        source="clean.toml",
        line=4,
    )
    assert (second.line, [s.line for s in second.services]) == (18, [37, 44])
    assert second.services[0] == Service(
        code="97110",
        minutes=40,
        assistant_minutes=12,
        units_billed=3,
        modifiers=("GP", "CQ"),
        line=37,
    )
    assert second.services[1].group is True
    assert (second.diagnoses, second.session_id) == (("I69.351",), "note-0042")
    assert second.provider == Provider(id="PT-0017", discipline=Discipline.PT)
    # Services as an array of inline tables, the provider as dotted keys, no plan of care.
    assert (third.line, [s.line for s in third.services]) == (51, [57, 58])
    assert third.provider.discipline is Discipline.PSYCHOLOGIST
    assert third.plan_of_care is None
    assert [(s.code, s.minutes, s.units_billed) for s in third.services] == [
        ("97129", 15, None),
        ("97130", 16, 1),
    ]


def _as_toml(visits: list[Visit]) -> str:
    """Visits written back as a session file: what a user could have typed."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out = {}
            for f in dataclasses.fields(value):
                item = getattr(value, f.name)
                if f.name in ("source", "line") or item is None or item == ():
                    continue
                out["service" if f.name == "services" else f.name] = plain(item)
            return out
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return tomli_w.dumps({"visit": [plain(v) for v in visits]})


def test_clean_file_round_trips_through_toml() -> None:
    visits = read_session_file(SESSIONS / "clean.toml")
    again = read_session_text(_as_toml(visits), "again.toml")

    def without_positions(v: Visit) -> Visit:
        services = tuple(dataclasses.replace(s, line=None) for s in v.services)
        return dataclasses.replace(v, services=services, source=None, line=None)

    assert [without_positions(v) for v in again] == [without_positions(v) for v in visits]
    assert {v.source for v in again} == {"again.toml"}


def test_utf8_bom_and_windows_newlines_read_with_the_right_lines() -> None:
    (visit,) = read_session_file(SESSIONS / "bom_crlf.toml")
    assert (visit.patient, visit.line, visit.services[0].line) == ("P-1001", 1, 5)


def test_source_is_the_path_as_given_unless_named() -> None:
    path = SESSIONS / "clean.toml"
    assert read_session_file(path)[0].source == str(path)
    assert read_session_file(str(path), name="visits.toml")[0].source == "visits.toml"


def test_dash_reads_standard_input() -> None:
    data = (SESSIONS / "clean.toml").read_bytes()
    visits = read_session_file("-", stdin=io.BytesIO(data))
    assert [v.patient for v in visits] == ["P-1001", "P-1005", "P-1010"]
    assert {v.source for v in visits} == {"<stdin>"}


def test_errors_on_standard_input_name_stdin() -> None:
    with pytest.raises(InputError) as caught:
        read_session_file("-", stdin=io.BytesIO(b"[[visit]]\npatient = P-1\n"))
    assert caught.value.lines()[0].startswith("<stdin>:2: patient: TOML syntax error")


def test_codes_modifiers_and_disciplines_are_read_in_any_case() -> None:
    text = """
[[visit]]
patient = "P-1001"
date = 2026-03-02
provider = { discipline = " SLP " }
[[visit.service]]
code = " 97129 "
minutes = "38"
modifiers = ["gn"]
"""
    (visit,) = read_session_text(text, "case.toml")
    assert visit.provider.discipline is Discipline.SLP
    assert visit.services[0] == Service(code="97129", minutes=38, modifiers=("GN",), line=6)


# -- errors ------------------------------------------------------------------------------------


def test_every_fixture_is_either_clean_or_has_its_expected_problems() -> None:
    on_disk = {p.name for p in SESSIONS.glob("*.toml")}
    assert on_disk == CLEAN_FIXTURES | set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_reports_exact_file_line_field_reason(name: str) -> None:
    error = problems(name)
    assert error.lines() == EXPECTED[name]
    assert error.exit_code is ExitCode.INPUT


def test_several_problems_are_reported_at_once_in_line_order() -> None:
    error = problems("wrong_type.toml")
    assert len(error.problems) == len(EXPECTED["wrong_type.toml"]) > 1
    assert error.message == f"wrong_type.toml: {len(error.problems)} problems in the session file"
    lines = [line or 0 for line, _, _ in error.problems]
    assert lines == sorted(lines) and 0 not in lines


def test_problems_in_later_visits_and_services_point_at_their_own_lines() -> None:
    # Visit 2's second service, visit 3's inline service: services are counted per visit.
    error = problems("many_visits.toml")
    assert [(line, field) for line, field, _ in error.problems] == [
        (13, "provider.discipline"),
        (21, "service.minutes"),
        (28, "plan_of_care.diagnoses"),
        (32, "service.minutes"),
    ]


def test_toml_syntax_error_is_one_problem_with_its_line_and_key() -> None:
    error = problems("not_toml.toml")
    assert (error.line, error.column) == (2, "patient")
    assert len(error.problems) == 1
    assert error.hint is not None and "cognibill new" in error.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[[visit]]\ndate = 03/02/2026\n",
            "s.toml:2: date: TOML syntax error at column 9: "
            "expected newline or end of document after a statement (dates are written 2026-03-02, "
            "without quotes)",
        ),
        (
            '[[visit]]\npatient = "P-1\n',
            "s.toml:2: patient: TOML syntax error at column 15: "
            "illegal character '\\n' (a closing quote is missing?)",
        ),
        (
            '[[visit]]\npatient = "P-1"\npatient = "P-2"\n',
            "s.toml:3: patient: TOML syntax error at column 16: cannot overwrite a value",
        ),
    ],
)
def test_common_toml_slips_get_a_hint(text: str, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        read_session_text(text, "s.toml")
    assert caught.value.lines() == [expected]


def test_missing_file_is_an_input_error_without_a_line() -> None:
    with pytest.raises(InputError) as caught:
        read_session_file(SESSIONS / "no_such_file.toml", name="no_such_file.toml")
    assert caught.value.lines() == ["no_such_file.toml: no such file"]
    assert caught.value.exit_code is ExitCode.INPUT


def test_a_directory_is_not_a_session_file() -> None:
    with pytest.raises(InputError) as caught:
        read_session_file(SESSIONS, name="sessions")
    assert caught.value.lines() == ["sessions: is a directory, not a session file"]


def test_true_is_not_one_minute() -> None:
    text = ONE_SERVICE.replace("minutes = 38", "minutes = true")
    with pytest.raises(InputError) as caught:
        read_session_text(text, "t.toml")
    assert caught.value.lines() == ["t.toml:6: service.minutes: expected a whole number, got true"]


def test_a_bad_value_is_shown_short_and_a_wrong_type_not_at_all() -> None:
    text = """[[visit]]
patient = 9990001234
date = "the second of March, twenty twenty-six"
[[visit.service]]
code = "97129"
"""
    with pytest.raises(InputError) as caught:
        read_session_text(text, "t.toml")
    message = "\n".join(caught.value.lines())
    assert "9990001234" not in message
    assert '"the second of March…"' in message
    assert "twenty-six" not in message


def test_assistant_minutes_may_equal_the_minutes_but_not_exceed_them() -> None:
    base = '[[visit]]\npatient = "P-1"\ndate = 2026-03-02\n[[visit.service]]\ncode = "97110"\n'
    (visit,) = read_session_text(base + "minutes = 20\nassistant_minutes = 20\n", "t.toml")
    assert visit.services[0].assistant_minutes == 20
    with pytest.raises(InputError):
        read_session_text(base + "minutes = 20\nassistant_minutes = 21\n", "t.toml")


def test_a_day_of_minutes_is_the_most_a_service_can_hold() -> None:
    base = '[[visit]]\npatient = "P-1"\ndate = 2026-03-02\n[[visit.service]]\ncode = "97110"\n'
    assert read_session_text(base + "minutes = 1440\n", "t.toml")[0].services[0].minutes == 1440
    with pytest.raises(InputError):
        read_session_text(base + "minutes = 1441\n", "t.toml")


def test_lines_are_found_past_strings_comments_and_quoted_keys_that_look_like_toml() -> None:
    text = '''[[visit]]
patient = "P-1001"
session_id = """
[[visit]]
minutes = 3
"""
date = 2026-03-02  # [[visit.service]] in a comment
"plan_of_care" = { start = 2026-02-20, 'goals' = "maybe" }
[[visit.service]]
code = "a\\"b = ["
minutes = 'x'
'''
    with pytest.raises(InputError) as caught:
        read_session_text(text, "t.toml")
    assert [(line, field) for line, field, _ in caught.value.problems] == [
        (8, "plan_of_care.goals"),
        (11, "service.minutes"),
    ]


def test_reading_module_does_not_import_pydantic_until_a_file_is_read() -> None:
    code = (
        "import sys, cognibill.readers.session_file as m;"
        "assert 'pydantic' not in sys.modules, 'imported at start-up';"
        'm.read_session_text(\'[[visit]]\\npatient="P"\\ndate=2026-01-01\\n'
        '[[visit.service]]\\ncode="97129"\\nminutes=8\\n\');'
        "assert 'pydantic' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the sample sessions (they feed the README) ------------------------------------------------


def sample(name: str) -> list[Visit]:
    return read_session_file(SAMPLES / name)


@pytest.mark.parametrize("name", ["clean_visit.toml", "mistakes.toml", "multi_code_day.toml"])
def test_sample_reads_cleanly_with_fictional_patients_and_sensible_plans(name: str) -> None:
    """RULES.md §7: certified within 30 days of the first treatment, at most 90 days."""
    visits = sample(name)
    assert visits
    for visit in visits:
        assert visit.patient.startswith("P-")
        plan = visit.plan_of_care
        assert plan is not None and plan.start and plan.certified and plan.through
        assert dt.timedelta(0) <= plan.certified - plan.start <= dt.timedelta(days=30)
        assert plan.through - plan.start <= dt.timedelta(days=90)


def test_clean_sample_is_an_slp_medicare_visit_of_38_cognitive_minutes() -> None:
    (visit,) = sample("clean_visit.toml")
    assert visit.payer == "medicare"
    assert visit.provider.discipline is Discipline.SLP
    assert visit.plan_of_care is not None and visit.plan_of_care.start is not None
    assert visit.plan_of_care.start <= visit.date <= (visit.plan_of_care.through or visit.date)
    assert [(s.code, s.minutes, s.modifiers) for s in visit.services] == [("97129", 38, ("GN",))]


def _cognitive_minutes(visit: Visit) -> int:
    catalogue = load_catalogue()
    return sum(
        s.minutes
        for s in visit.services
        if (info := catalogue.get(s.code)) is not None and info.family == COGNITIVE
    )


def test_mistakes_sample_holds_each_typical_mistake_once() -> None:
    """RULES.md §5-§7: the mistakes README shows `cognibill check` finding."""
    visits = sample("mistakes.toml")
    catalogue = load_catalogue()

    def codes(v: Visit) -> set[str]:
        return {s.code for s in v.services}

    def plan_after(v: Visit) -> bool:
        return v.plan_of_care is not None and (v.plan_of_care.start or v.date) > v.date

    def slp_without_gn(v: Visit) -> bool:
        slp = v.provider.discipline is Discipline.SLP
        return slp and any(s.modifiers and "GN" not in s.modifiers for s in v.services)

    def assistant_without_cq(v: Visit) -> bool:
        return any(
            10 * s.assistant_minutes > s.minutes and "CQ" not in s.modifiers for s in v.services
        )

    def deleted_code_used(v: Visit) -> bool:
        return any(
            (info := catalogue.get(s.code)) is not None and not info.valid_on(v.date)
            for s in v.services
        )

    def billed_above_minutes(v: Visit) -> bool:
        billed = [s.units_billed for s in v.services if s.units_billed is not None]
        return len(billed) == len(v.services) == 2 and sum(billed) > units_for_minutes(
            _cognitive_minutes(v)
        )

    mistakes: dict[str, Callable[[Visit], bool]] = {
        "97130 without 97129": lambda v: "97130" in codes(v) and "97129" not in codes(v),
        "GN missing": slp_without_gn,
        "plan after visit": plan_after,
        "assistant without CQ": assistant_without_cq,
        "deleted 97532": lambda v: (
            "97532" in codes(v) and v.date.year == 2025 and deleted_code_used(v)
        ),
        "units above minutes": billed_above_minutes,
        "typo 92129": lambda v: "92129" in codes(v) and catalogue.get("92129") is None,
    }
    found = {name: [v.patient for v in visits if test(v)] for name, test in mistakes.items()}
    assert all(len(patients) == 1 for patients in found.values()), found
    assert len({p[0] for p in found.values()}) == len(visits) == len(mistakes)


def test_assistant_sample_is_30_percent() -> None:
    (service,) = [s for v in sample("mistakes.toml") for s in v.services if s.assistant_minutes]
    assert 10 * service.assistant_minutes == 3 * service.minutes


def test_multi_code_day_sample_matches_the_rules_worked_example_and_holds_a_tie() -> None:
    """RULES.md §2: 97110 26 + 97530 19 + 97140 6 -> 97110 x2, 97530 x1, 97140 x0; a tie."""
    example, tie = sample("multi_code_day.toml")

    def units(visit: Visit) -> Any:
        entries = [Entry(s.code, s.minutes) for s in visit.services]
        ((result, _),) = one_visit(entries, [UnitRule.CMS], visit.date, get_payer("medicare"))
        return result

    result = units(example)
    assert [(s.code, s.minutes) for s in example.services] == [
        ("97110", 26),
        ("97530", 19),
        ("97140", 6),
    ]
    assert [result.units_of(c) for c in ("97110", "97530", "97140")] == [2, 1, 0]
    assert not result.ties
    assert units(tie).ties
    assert example.patient == tie.patient and example.date < tie.date


@pytest.mark.parametrize("place", ["office", "111", "２２"])
def test_a_place_of_service_that_is_not_a_cms_code_is_a_problem_on_its_line(place: str) -> None:
    """Checked at the edge, as in exports: it used to stop a priced run with no line (exit 2)."""
    text = (
        '[[visit]]\npatient = "P-1"\ndate = 2026-03-02\n'
        f'place_of_service = "{place}"\n\n[[visit.service]]\ncode = "97129"\nminutes = 38\n'
    )
    with pytest.raises(InputError) as caught:
        read_session_text(text, "pos.toml")
    assert [(line, field) for line, field, _ in caught.value.problems] == [(4, "place_of_service")]
    assert "is not a 2-digit CMS code" in caught.value.problems[0][2]


def test_a_two_digit_place_of_service_reads_as_written() -> None:
    text = (
        '[[visit]]\npatient = "P-1"\ndate = 2026-03-02\nplace_of_service = "02"\n\n'
        '[[visit.service]]\ncode = "97129"\nminutes = 38\n'
    )
    assert read_session_text(text, "pos.toml")[0].place_of_service == "02"

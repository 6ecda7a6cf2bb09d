"""The commented template session file (``cognibill new``): it documents and reads back."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
import sys

import pytest

from cognibill.engine import MAX_MINUTES
from cognibill.errors import EntryError, InputError
from cognibill.models import Discipline, PlanOfCare, Provider, Service, Visit
from cognibill.readers.session_file import read_session_text
from cognibill.template import render_template

DAY = dt.date(2026, 3, 2)


def read_back(text: str) -> Visit:
    (visit,) = read_session_text(text, "template.toml")
    return visit


def filled(text: str) -> str:
    """The template with its minutes filled in, as a user does before checking it."""
    return text.replace("minutes = 0\n", "minutes = 38\n", 1)


def test_template_reads_back_cleanly_once_its_minutes_are_filled_in() -> None:
    visit = read_back(filled(render_template(today=DAY)))
    assert (visit.patient, visit.date, visit.payer) == ("P-1001", DAY, "medicare")
    assert visit.provider == Provider(id="1234567893", discipline=Discipline.SLP)
    assert [(s.code, s.minutes) for s in visit.services] == [("97129", 38)]


def test_the_untouched_template_is_refused_at_its_minutes_line_rules_1() -> None:
    """RULES.md §1, §11: 0 minutes bill nothing; the template must not check clean untouched."""
    text = render_template(today=DAY)
    line = text.splitlines().index("minutes = 0") + 1
    with pytest.raises(InputError) as caught:
        read_back(text)
    assert caught.value.lines()[0].startswith(f"template.toml:{line}: service.minutes: 0 minutes")


def test_template_date_is_today_by_default() -> None:
    assert read_back(filled(render_template())).date == dt.date.today()


def test_template_plan_of_care_is_certified_in_time_and_for_at_most_90_days() -> None:
    """RULES.md §7: certified within 30 days of the first treatment, at most 90 days."""
    plan = read_back(filled(render_template(today=DAY))).plan_of_care
    assert plan is not None and plan.start and plan.certified and plan.through
    assert plan.start <= DAY
    assert plan.certified - plan.start <= dt.timedelta(days=30)
    assert DAY <= plan.through <= plan.start + dt.timedelta(days=90)
    assert plan.diagnoses and plan.goals is True and plan.frequency and plan.duration


def test_from_units_38_prefills_97129_with_38_minutes() -> None:
    """RULES.md §5: 38 cognitive minutes are 3 units, 97129 x1 + 97130 x2."""
    text = render_template(38, today=DAY)
    service = read_back(text).services[0]
    assert (service.code, service.minutes) == ("97129", 38)
    assert "# ^ 38 minutes: 3 units under the 8-minute rule, 97129 x1 + 97130 x2." in text


@pytest.mark.parametrize(
    ("minutes", "note"),
    [
        (7, "7 minutes earn no unit"),
        (8, "8 minutes: 1 unit under the 8-minute rule, 97129 x1."),
        (22, "22 minutes: 1 unit under the 8-minute rule, 97129 x1."),
        (23, "23 minutes: 2 units under the 8-minute rule, 97129 x1 + 97130 x1."),
    ],
)
def test_from_units_note_follows_the_8_minute_rule_at_its_edges(minutes: int, note: str) -> None:
    """RULES.md §1 and §5: a first unit at 8 minutes, 97130 from 23 minutes."""
    text = render_template(minutes, today=DAY)
    assert note in text
    assert read_back(text).services[0].minutes == minutes


def test_from_units_0_is_prefilled_too() -> None:
    text = render_template(0, today=DAY)
    assert "0 minutes earn no unit" in text
    assert "fill in the minutes" not in text


@pytest.mark.parametrize("minutes", [-1, MAX_MINUTES + 1])
def test_from_units_outside_a_day_is_an_entry_error(minutes: int) -> None:
    with pytest.raises(EntryError, match="between 0 and 1440"):
        render_template(minutes)


def test_template_names_every_field_a_session_file_can_set() -> None:
    text = render_template(today=DAY)
    internal = {"source", "line"}
    for model, rename in (
        (Visit, {"services": "service"}),
        (Service, {}),
        (Provider, {}),
        (PlanOfCare, {}),
    ):
        for f in dataclasses.fields(model):
            if f.name in internal:
                continue
            key = rename.get(f.name, f.name)
            as_table = re.search(rf"^\[+visit\.{key}\]+$", text, re.MULTILINE)
            assert as_table or re.search(rf"^(# )?{key} = ", text, re.MULTILINE), key


def test_every_set_field_has_a_comment_just_above_or_below_it() -> None:
    lines = render_template(today=DAY).splitlines()
    for i, line in enumerate(lines):
        if re.match(r"[a-z_]+ = ", line):
            around = lines[i - 1 : i + 2]
            assert any(a.startswith("#") for a in around), line


def test_template_lists_every_discipline() -> None:
    text = render_template(today=DAY)
    comment = " ".join(
        line for line in text.splitlines() if line.startswith("# One of:") or "aide" in line
    )
    for discipline in Discipline:
        assert re.search(rf"\b{discipline.value}\b", comment), discipline


def test_optional_lines_read_back_once_uncommented() -> None:
    text = render_template(38, today=DAY)
    optional = (
        "diagnoses",
        "session_id",
        "assistant_minutes",
        "group",
        "units_billed",
        "modifiers",
    )
    pattern = re.compile(rf"^# (({'|'.join(optional)}) = )", re.MULTILINE)
    assert len(pattern.findall(text)) == len(optional)
    visit = read_back(pattern.sub(r"\1", text))
    service = visit.services[0]
    assert visit.diagnoses and visit.session_id
    assert (service.group, service.units_billed, service.modifiers) == (True, 1, ("GN",))


def test_template_is_plain_toml_with_array_of_tables_not_inline_services() -> None:
    text = render_template(38, today=DAY)
    assert text.count("[[visit]]\n") == 1
    assert "\n[[visit.service]]\n" in text
    assert "service = [" not in text
    assert 'diagnoses = ["I69.314"]' in text  # short arrays on one line
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_importing_the_template_module_loads_neither_tomli_w_nor_pydantic() -> None:
    code = (
        "import sys, cognibill.template;"
        "assert 'tomli_w' not in sys.modules and 'pydantic' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

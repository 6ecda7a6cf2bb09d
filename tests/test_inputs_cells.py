"""The one-value cell parsers of an export (issues 4 and 9): a value, or the reason to show.

Each parser is tried on good cells and on every way a cell is refused; the reasons are the
exact text a rejected row carries.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cognibill.catalogue import load_catalogue
from cognibill.inputs.cells import (
    MAX_UNITS,
    BadCell,
    parse_assistant_minutes,
    parse_code,
    parse_date,
    parse_discipline,
    parse_flag,
    parse_list,
    parse_minutes,
    parse_modifiers,
    parse_optional_date,
    parse_patient,
    parse_place,
    parse_text,
    parse_units,
    shown,
)
from cognibill.models import Discipline

CATALOGUE = load_catalogue()
FORMS = "write dates as YYYY-MM-DD or MM/DD/YYYY"


def refused(parse: object, cell: str) -> str:
    """The reason ``parse`` refuses ``cell`` with."""
    with pytest.raises(BadCell) as caught:
        parse(cell)  # type: ignore[operator]
    return str(caught.value)


# -- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2026-03-02", dt.date(2026, 3, 2)),
        ("2026/03/02", dt.date(2026, 3, 2)),
        ("2026-3-2", dt.date(2026, 3, 2)),
        ("03/02/2026", dt.date(2026, 3, 2)),
        ("3/2/2026", dt.date(2026, 3, 2)),
        (" 03/02/2026 ", dt.date(2026, 3, 2)),
        ("2026-03-02 14:30", dt.date(2026, 3, 2)),
        ("2026-03-02T14:30:05.25", dt.date(2026, 3, 2)),
        ("3/2/2026 2:30 PM", dt.date(2026, 3, 2)),
        ("3/2/2026 2:30 p.m.", dt.date(2026, 3, 2)),
    ],
)
def test_iso_and_us_dates_are_dates_of_service(cell: str, day: dt.date) -> None:
    assert parse_date(cell) == day


def test_a_two_digit_year_with_dashes_is_refused_not_guessed() -> None:
    """M/D/YY is read as 20YY (RULES.md §11); M-D-YY is not a form any EHR writes."""
    assert refused(parse_date, "03-24-26") == f"'03-24-26' has a two-digit year; {FORMS}"


def test_day_first_and_dotted_dates_are_refused_as_ambiguous() -> None:
    reason = f"could be day-first or month-first; {FORMS}"
    assert refused(parse_date, "04.03.2026") == f"'04.03.2026' {reason}"
    assert refused(parse_date, "04-03-2026") == f"'04-03-2026' {reason}"


def test_a_day_first_us_looking_date_says_only_month_first_is_read() -> None:
    assert refused(parse_date, "24/03/2026") == (
        "'24/03/2026' is not a valid MM/DD/YYYY date: month must be in 1..12"
        " (day-first dates are not read: MM/DD/YYYY only)"
    )


def test_an_impossible_date_names_its_form() -> None:
    assert refused(parse_date, "02/30/2026") == (
        "'02/30/2026' is not a valid MM/DD/YYYY date: day is out of range for month"
    )
    assert refused(parse_date, "2026-02-30") == (
        "'2026-02-30' is not a valid YYYY-MM-DD date: day is out of range for month"
    )


def test_a_spreadsheet_serial_number_is_refused() -> None:
    assert refused(parse_date, "46085") == (
        "'46085' looks like a spreadsheet serial number, not a date; "
        "format the column as a date and export again"
    )


def test_a_time_zone_is_refused_because_the_day_depends_on_it() -> None:
    assert refused(parse_date, "2026-03-02T23:30:00Z") == (
        "'2026-03-02T23:30:00Z' has a time zone: the date of service depends on it; " + FORMS
    )
    assert "has a time zone" in refused(parse_date, "2026-03-02 23:30+05:00")


def test_words_and_empty_dates_are_refused() -> None:
    assert refused(parse_date, "March 2") == f"'March 2' is not a date; {FORMS}"
    assert refused(parse_date, "  ") == "the date is empty"


def test_a_long_cell_is_cut_short_in_the_reason() -> None:
    cell = "x" * 100
    assert shown(cell) == repr("x" * 39 + "…")
    assert refused(parse_date, cell) == f"{shown(cell)} is not a date; {FORMS}"


def test_a_plan_of_care_date_may_be_empty() -> None:
    assert parse_optional_date(" ") is None
    assert parse_optional_date("2026-01-05") == dt.date(2026, 1, 5)
    assert refused(parse_optional_date, "1-5-26") == f"'1-5-26' has a two-digit year; {FORMS}"


# -- minutes (RULES.md §1: units come from whole minutes) ----------------------------------------


@pytest.mark.parametrize(
    ("cell", "minutes"),
    [
        ("45", 45),
        ("45.0", 45),
        ("45.", 45),
        ("+45", 45),
        ("045", 45),
        ("45 min", 45),
        ("45 mins", 45),
        ("45min.", 45),
        ("45 Minutes", 45),
        (" 0 ", 0),
        ("1440", 1440),
    ],
)
def test_whole_minutes_are_read_with_or_without_a_unit(cell: str, minutes: int) -> None:
    """RULES.md §1: the units of a service come from its whole minutes."""
    assert parse_minutes(cell) == minutes


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("-15", "minutes cannot be negative (-15)"),
        ("-15 min", "minutes cannot be negative (-15)"),
        ("45.5", "minutes must be whole minutes, not 45.5"),
        (".5", "minutes must be whole minutes, not .5"),
        ("1441", "1441 minutes is more than a day (1440 minutes)"),
        ("thirty", "'thirty' is not a number of minutes"),
        ("1:15", "'1:15' looks like hours:minutes; give whole minutes"),
        ("", "the minutes are empty"),
        (" min", "the minutes are empty"),
    ],
)
def test_minutes_that_are_not_whole_minutes_of_a_day_are_refused(cell: str, reason: str) -> None:
    """RULES.md §1: no minutes are guessed (negative, fractional, over a day, words)."""
    assert refused(parse_minutes, cell) == reason


def test_assistant_minutes_are_whole_minutes_and_empty_is_none() -> None:
    """RULES.md §6: minutes furnished by an assistant (CQ/CO above 10%)."""
    assert parse_assistant_minutes("") == 0
    assert parse_assistant_minutes(" 12 ") == 12
    assert refused(parse_assistant_minutes, "-3") == "assistant minutes cannot be negative (-3)"
    assert refused(parse_assistant_minutes, "1441") == "assistant minutes: 1441 is more than 1440"
    assert refused(parse_assistant_minutes, "half") == (
        "assistant minutes: 'half' is not a whole number"
    )


def test_billed_units_are_whole_and_at_most_a_day_of_units() -> None:
    assert parse_units("") is None
    assert parse_units("3") == 3
    assert parse_units("3.0") == 3
    assert parse_units(str(MAX_UNITS)) == MAX_UNITS == 96
    assert refused(parse_units, "97") == "billed units: 97 is more than 96"
    assert refused(parse_units, "-1") == "billed units cannot be negative (-1)"
    assert refused(parse_units, "2.5") == "billed units: '2.5' is not a whole number"


# -- codes and modifiers (RULES.md §4, §5, §6) ---------------------------------------------------


def test_a_known_code_is_read_in_upper_case_without_spaces() -> None:
    """RULES.md §5: 97129 is the cognitive code."""
    assert parse_code(" 97129 ", CATALOGUE) == ("97129", ())
    assert parse_code("g0515", CATALOGUE)[0] == "G0515"


def test_a_code_with_minus_59_is_the_code_with_modifier_59() -> None:
    """RULES.md §6: ``97110-59`` is 97110 billed with modifier 59."""
    assert parse_code("97110-59", CATALOGUE) == ("97110", ("59",))
    assert parse_code("97110-59-gp", CATALOGUE) == ("97110", ("59", "GP"))


def test_a_code_with_a_tail_that_is_no_modifier_is_an_unknown_code() -> None:
    assert refused(lambda c: parse_code(c, CATALOGUE), "97110-5") == (
        "unknown code 97110-5; did you mean 97110?"
    )


def test_deleted_codes_pass_so_that_the_claim_rules_can_explain_them() -> None:
    """RULES.md §5: 97532 and 97127 are deleted; the rules say so, the reader does not."""
    assert parse_code("97532", CATALOGUE)[0] == "97532"
    assert parse_code("97127", CATALOGUE)[0] == "97127"


def test_an_unknown_code_is_refused_with_did_you_mean() -> None:
    assert refused(lambda c: parse_code(c, CATALOGUE), "92129") == (
        "unknown code 92129; did you mean 97129?"
    )
    assert refused(lambda c: parse_code(c, CATALOGUE), " ") == "the code is empty"
    assert refused(lambda c: parse_code(c, CATALOGUE), "zzz").startswith("unknown code ZZZ")


def test_modifiers_split_on_spaces_commas_semicolons_and_bars() -> None:
    """RULES.md §6: modifiers are two letters or digits."""
    assert parse_modifiers("gp, cq") == ("GP", "CQ")
    assert parse_modifiers("GN|59;KX") == ("GN", "59", "KX")
    assert parse_modifiers("  ") == ()
    assert refused(parse_modifiers, "GP CQX") == (
        "'CQX' is not a modifier (two letters or digits: GN, GP, CQ, 59)"
    )
    assert "is not a modifier" in refused(parse_modifiers, "G-")


def test_diagnoses_are_listed_in_upper_case_and_never_refused() -> None:
    """RULES.md §9: diagnoses as the export lists them."""
    assert parse_list("r41.840, f07.81") == ("R41.840", "F07.81")
    assert parse_list("") == ()


# -- credentials (RULES.md §6) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "discipline"),
    [
        ("CCC-SLP", Discipline.SLP),
        ("MS, CCC-SLP", Discipline.SLP),
        ("PhD, CCC-SLP", Discipline.SLP),
        ("OTR/L", Discipline.OT),
        ("DPT", Discipline.PT),
        ("PTA", Discipline.PTA),
        ("COTA/L", Discipline.OTA),
        ("MD, PhD", Discipline.PHYSICIAN),
        ("PT Aide", Discipline.AIDE),
        ("nurse practitioner", Discipline.NP),
        ("", None),
        ("  ", None),
    ],
)
def test_a_credential_names_who_furnished_the_service(
    cell: str, discipline: Discipline | None
) -> None:
    """RULES.md §6: who may furnish and bill depends on the discipline."""
    assert parse_discipline(cell) is discipline


def test_an_unknown_credential_is_refused_with_the_near_ones() -> None:
    """RULES.md §6."""
    reason = refused(parse_discipline, "SPL")
    assert reason.startswith("unknown credential 'SPL'; did you mean SLP")
    assert reason.endswith(
        "(known: PT, DPT, OT, OTR/L, SLP, CCC-SLP, ST, PTA, COTA, MD, DO, "
        "PhD, PsyD, NP, CNS, PA, aide)"
    )


# -- text, places and flags ----------------------------------------------------------------------


def test_a_patient_id_is_stripped_and_may_not_be_empty() -> None:
    assert parse_patient(" C-102 ") == "C-102"
    assert refused(parse_patient, " \t") == "the patient id is empty"


def test_free_text_is_stripped_and_empty_is_none() -> None:
    assert parse_text("  Medicare ") == "Medicare"
    assert parse_text(" ") is None


def test_a_place_of_service_is_a_cms_code_of_one_or_two_digits() -> None:
    assert parse_place(" 11 ") == "11"
    assert parse_place("2") == "2"
    assert parse_place("") is None
    assert refused(parse_place, "Office") == (
        "place of service 'Office' is not a 2-digit CMS code "
        "(11 office, 12 home, 02/10 telehealth, 22 outpatient hospital)"
    )


@pytest.mark.parametrize("cell", ["y", "Yes", "TRUE", "t", "1", "x", " X "])
def test_yes_flags(cell: str) -> None:
    assert parse_flag(cell) is True


@pytest.mark.parametrize("cell", ["", "n", "No", "false", "F", "0"])
def test_no_flags(cell: str) -> None:
    assert parse_flag(cell) is False


def test_a_flag_that_is_neither_yes_nor_no_is_refused() -> None:
    assert refused(parse_flag, " maybe ") == (
        "'maybe' is not yes/no (use yes, no, true, false, 1, 0 or leave empty)"
    )


def test_a_refused_cell_is_a_value_error_for_callers_that_expect_one() -> None:
    with pytest.raises(ValueError, match="two-digit year"):
        parse_date("1-2-26")

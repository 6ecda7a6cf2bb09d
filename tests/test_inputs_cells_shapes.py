"""The cell shapes real EHR exports have (issue 10): durations, start and end times, M/D/YY
dates, and credentials written after a provider's name. Each parser gives a value or the exact
reason a rejected row carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from cognibill.inputs.cells import (
    BadCell,
    minutes_between,
    parse_clock,
    parse_date,
    parse_duration,
    parse_minutes,
    parse_optional_date,
    provider_and_discipline,
)
from cognibill.models import Discipline
from cognibill.readers.columns import split_credentials

FORMS = "write dates as YYYY-MM-DD or MM/DD/YYYY"
DURATIONS = "write minutes (38), hours:minutes (0:38) or hours and minutes (1h 15m)"


def refused(parse: Callable[..., object], *cells: str) -> str:
    """The reason ``parse`` refuses ``cells`` with."""
    with pytest.raises(BadCell) as caught:
        parse(*cells)
    return str(caught.value)


# -- durations (RULES.md §1: units come from whole minutes) -------------------------------------


@pytest.mark.parametrize(
    ("cell", "minutes"),
    [
        ("38", 38),
        ("38 min", 38),
        ("38 mins", 38),
        ("38m", 38),
        ("38 M", 38),
        ("75m", 75),
        ("0:38", 38),
        ("00:38", 38),
        ("1:05", 65),
        ("0:38:00", 38),
        ("1h 15m", 75),
        ("1h15m", 75),
        ("1 hr 15 min", 75),
        ("1 hour 15 minutes", 75),
        ("1 hour and 15 minutes", 75),
        ("2h", 120),
        ("2 hrs", 120),
        ("1.5 h", 90),
        ("1.25h", 75),
        ("24:00", 1440),
    ],
)
def test_a_duration_is_read_in_the_ways_ehrs_write_it(cell: str, minutes: int) -> None:
    """RULES.md §1: 38 minutes however written is 38 minutes."""
    assert parse_duration(cell) == minutes


@pytest.mark.parametrize(
    "cell", ["45", "45.0", "45.", "+45", "045", "45 min", "45min.", "45 Minutes", " 0 ", "1440"]
)
def test_plain_minutes_read_as_the_minutes_parser_reads_them(cell: str) -> None:
    assert parse_duration(cell) == parse_minutes(cell)


@pytest.mark.parametrize(
    "cell", ["-15", "-15 min", "45.5", ".5", "1441", "", " min", "37.5m", "-5m", "thirty"]
)
def test_plain_minutes_are_refused_for_the_minutes_parsers_reasons(cell: str) -> None:
    assert refused(parse_duration, cell) == refused(parse_minutes, cell.removesuffix("m"))


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("thirty", "'thirty' is not a number of minutes"),
        ("38 sec", "'38 sec' is not a number of minutes"),
        ("1h 15", f"'1h 15' is not a duration; {DURATIONS}"),
        ("1 h 15 s", f"'1 h 15 s' is not a duration; {DURATIONS}"),
        ("100:00", f"'100:00' is not a duration; {DURATIONS}"),
        ("-5", "minutes cannot be negative (-5)"),
        ("-0:05", "a duration cannot be negative (-0:05)"),
        ("-1h", "a duration cannot be negative (-1h)"),
        ("1:75", "'1:75' has 75 minutes after the hours (0 to 59); write 135 or 2:15"),
        ("25:00", "1500 minutes is more than a day (1440 minutes)"),
        ("25h", "1500 minutes is more than a day (1440 minutes)"),
        ("1:05:30", "'1:05:30' has seconds: give whole minutes"),
        ("0.33 h", "'0.33 h' is not whole minutes (19.8 minutes)"),
        (
            "1h 75m",
            "'1h 75m' mixes its hours and minutes; write whole hours and 0 to 59 minutes "
            "(1h 15m), or the minutes alone",
        ),
        (
            "1.5h 10m",
            "'1.5h 10m' mixes its hours and minutes; write whole hours and 0 to 59 minutes "
            "(1h 15m), or the minutes alone",
        ),
    ],
)
def test_a_duration_that_is_not_whole_minutes_of_a_day_is_refused(cell: str, reason: str) -> None:
    """RULES.md §1: no minutes are guessed: no fraction, no negative, no more than a day."""
    assert refused(parse_duration, cell) == reason


def test_the_minutes_parser_still_refuses_hours_and_minutes() -> None:
    """The minutes column's parser is unchanged: a reader opts into durations."""
    assert refused(parse_minutes, "1:15") == "'1:15' looks like hours:minutes; give whole minutes"


# -- times of day and the minutes between them (RULES.md §11) ------------------------------------


@pytest.mark.parametrize(
    ("cell", "minutes"),
    [
        ("13:05", 785),
        ("9:30", 570),
        ("09:30", 570),
        ("09:30:00", 570),
        ("0930", 570),
        ("0000", 0),
        ("1:05 PM", 785),
        ("1:05pm", 785),
        ("1:05 p.m.", 785),
        ("1 PM", 780),
        ("9:30 am", 570),
        ("12:00 AM", 0),
        ("12:30 AM", 30),
        ("12:00 PM", 720),
        ("12:30 PM", 750),
        ("24:00", 1440),
        ("2026-03-02 13:05", 785),
        ("2026-03-02T13:05:00", 785),
        ("3/2/2026 1:05 PM", 785),
        ("3/2/26 1:05 PM", 785),
    ],
)
def test_a_time_of_day_is_minutes_after_midnight(cell: str, minutes: int) -> None:
    assert parse_clock(cell) == minutes


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("", "the time is empty"),
        ("thirty", "'thirty' is not a time of day; write 13:05 or 1:05 PM"),
        ("13", "'13' is not a time of day; write 13:05 or 1:05 PM"),
        ("930", "'930' is not a time of day; write 13:05 or 1:05 PM"),
        ("2026-03-02", "'2026-03-02' is not a time of day; write 13:05 or 1:05 PM"),
        ("25:00", "'25:00' is not a time of day: the hour must be 0 to 23"),
        ("9:75", "'9:75' is not a time of day: 75 minutes past the hour"),
        ("13:05 PM", "'13:05 PM' is not a 12-hour time: the hour must be 1 to 12"),
        ("0:30 AM", "'0:30 AM' is not a 12-hour time: the hour must be 1 to 12"),
        ("13:05:30", "'13:05:30' has seconds: give times in whole minutes"),
        (
            "2026-02-30 10:00",
            "'2026-02-30 10:00' is not a valid YYYY-MM-DD date: day is out of range for month",
        ),
        (
            "2026-03-02T13:05:00Z",
            "'2026-03-02T13:05:00Z' has a time zone: the date of service depends on it; " + FORMS,
        ),
    ],
)
def test_a_time_that_needs_a_guess_is_refused(cell: str, reason: str) -> None:
    assert refused(parse_clock, cell) == reason


def test_every_minute_of_the_day_reads_the_same_in_24_hour_12_hour_and_four_digit_form() -> None:
    for minute in range(24 * 60):
        hour, past = divmod(minute, 60)
        twelve = f"{hour % 12 or 12}:{past:02d} {'PM' if hour >= 12 else 'AM'}"
        forms = (f"{hour}:{past:02d}", f"{hour:02d}:{past:02d}", f"{hour:02d}{past:02d}", twelve)
        assert [parse_clock(form) for form in forms] == [minute] * 4, forms


def test_every_duration_of_a_day_reads_the_same_in_each_form() -> None:
    for minutes in range(24 * 60 + 1):
        hours, past = divmod(minutes, 60)
        forms = (str(minutes), f"{minutes}m", f"{minutes} min", f"{hours}:{past:02d}")
        assert [parse_duration(form) for form in forms] == [minutes] * 4, forms
        assert parse_duration(f"{hours}h {past}m") == minutes


def test_a_service_from_1130_am_to_1215_pm_is_45_minutes_across_noon() -> None:
    """RULES.md §11: start and end times give the minutes, end - start."""
    assert minutes_between("11:30 AM", "12:15 PM") == 45
    assert minutes_between("11:30", "12:15") == 45
    assert minutes_between("11:30 AM", "12:15") == 45
    assert minutes_between("9:00", "9:00") == 0


def test_a_service_that_ends_before_it_starts_is_a_bad_row() -> None:
    """RULES.md §11: an end before its start is a bad row, never read as the next day."""
    assert refused(minutes_between, "13:05", "12:50") == (
        "the service ends before it starts (13:05 to 12:50); "
        "a time without AM or PM is read as 24-hour"
    )
    assert refused(minutes_between, "23:30", "00:15").startswith("the service ends before")
    assert refused(minutes_between, "2:00 PM", "1:15 PM") == (
        "the service ends before it starts (2:00 PM to 1:15 PM)"
    )


def test_a_12_hour_time_without_am_or_pm_is_read_as_24_hour_not_guessed() -> None:
    """11:30 to 1:15 is refused (a biller writes 1:15 PM or 13:15), never taken as 105 minutes."""
    assert refused(minutes_between, "11:30", "1:15") == (
        "the service ends before it starts (11:30 to 1:15); "
        "a time without AM or PM is read as 24-hour"
    )
    assert minutes_between("11:30", "1:15 PM") == 105
    assert minutes_between("11:30", "13:15") == 105


def test_dated_times_may_run_past_midnight_but_not_past_a_day() -> None:
    assert minutes_between("2026-03-02 23:30", "2026-03-03 00:15") == 45
    assert minutes_between("3/2/2026 11:30 PM", "3/3/2026 12:15 AM") == 45
    assert minutes_between("00:00", "24:00") == 1440
    assert refused(minutes_between, "2026-03-02 10:00", "2026-03-03 10:01") == (
        "2026-03-02 10:00 to 2026-03-03 10:01 is 1441 minutes, more than a day (1440 minutes)"
    )


def test_a_bad_start_or_end_says_which() -> None:
    assert refused(minutes_between, "x", "10:00") == (
        "start time: 'x' is not a time of day; write 13:05 or 1:05 PM"
    )
    assert refused(minutes_between, "10:00", "10:75") == (
        "end time: '10:75' is not a time of day: 75 minutes past the hour"
    )
    assert refused(minutes_between, " ", "10:00") == "the start time is empty"
    assert refused(minutes_between, "10:00", "") == "the end time is empty"


# -- dates: M/D/YY is 20YY (RULES.md §11) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("3/24/26", dt.date(2026, 3, 24)),
        ("03/24/26", dt.date(2026, 3, 24)),
        ("4/1/22", dt.date(2022, 4, 1)),
        ("12/31/99", dt.date(2099, 12, 31)),
        ("3/24/26 1:05 PM", dt.date(2026, 3, 24)),
        ("3/24/26 13:05", dt.date(2026, 3, 24)),
    ],
)
def test_a_two_digit_year_is_20yy_as_webpt_prints_it(cell: str, day: dt.date) -> None:
    """RULES.md §11: two-digit years are read as 20YY (97129/97130 exist only from 2020)."""
    assert parse_date(cell) == day


def test_a_plan_of_care_date_may_have_a_two_digit_year() -> None:
    assert parse_optional_date("1/5/26") == dt.date(2026, 1, 5)


def test_two_digit_years_are_checked_like_the_others() -> None:
    assert refused(parse_date, "2/30/26") == (
        "'2/30/26' is not a valid M/D/YY date: day is out of range for month"
    )
    assert refused(parse_date, "24/3/26") == (
        "'24/3/26' is not a valid M/D/YY date: month must be in 1..12 "
        "(day-first dates are not read: month first only)"
    )
    assert refused(parse_date, "3/24/26x") == f"'3/24/26x' is not a date; {FORMS}"


def test_a_two_digit_year_with_dashes_or_dots_is_still_refused() -> None:
    """``26-03-24`` is written year first as often as ``03-24-26`` year last."""
    assert refused(parse_date, "03-24-26") == f"'03-24-26' has a two-digit year; {FORMS}"
    assert refused(parse_date, "03.24.26") == f"'03.24.26' has a two-digit year; {FORMS}"


def test_every_other_date_is_read_as_before() -> None:
    assert parse_date("2026-03-02") == parse_date("03/02/2026") == dt.date(2026, 3, 2)
    assert refused(parse_date, "04.03.2026") == (
        f"'04.03.2026' could be day-first or month-first; {FORMS}"
    )
    assert "spreadsheet serial number" in refused(parse_date, "46085")


# -- credentials (RULES.md §6) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "provider", "discipline"),
    [
        ("Smith, Anna SLP", "Smith, Anna", Discipline.SLP),
        ("Anna Smith, PT, DPT", "Anna Smith", Discipline.PT),
        ("Anna Smith, MS, CCC-SLP", "Anna Smith", Discipline.SLP),
        ("Anna Smith CCC-SLP", "Anna Smith", Discipline.SLP),
        ("Ng, Cy OTR/L", "Ng, Cy", Discipline.OT),
        ("Ng, Cy, COTA/L", "Ng, Cy", Discipline.OTA),
        ("Bo Lee PTA", "Bo Lee", Discipline.PTA),
        ("Bo Lee, PT, DPT, OCS", "Bo Lee", Discipline.PT),
        ("Kim, Jo PhD, CCC-SLP", "Kim, Jo", Discipline.SLP),
        ("Anna Smith (SLP)", "Anna Smith", Discipline.SLP),
        ("Bo Lee, PT Aide", "Bo Lee", Discipline.AIDE),
        ("Anna Smith, Speech-Language Pathologist", "Anna Smith", Discipline.SLP),
        ("Smith, Anna", "Smith, Anna", None),
        ("1234567890", "1234567890", None),
        ("", "", None),
    ],
)
def test_a_credential_after_a_providers_name_gives_the_discipline(
    cell: str, provider: str, discipline: Discipline | None
) -> None:
    """RULES.md §6: who furnished the service decides who may bill it and its modifier."""
    assert provider_and_discipline(cell) == (provider, discipline)


def test_one_clinician_is_one_provider_whatever_credentials_a_report_prints() -> None:
    """A CF-SLP who becomes a CCC-SLP mid-year stays one provider."""
    assert provider_and_discipline("Anna Smith, CF-SLP")[0] == "Anna Smith"
    assert provider_and_discipline("Anna Smith, MS, CCC-SLP")[0] == "Anna Smith"


@pytest.mark.parametrize("cell", ["John Do", "Lee, Pa", "Mo St", "Ana Pt"])
def test_a_surname_that_spells_a_credential_in_lower_case_stays_a_name(cell: str) -> None:
    """Only abbreviations as spelled ("DO", "PA", "ST") end a name, not "Do" or "Pa"."""
    assert provider_and_discipline(cell) == (cell, None)


def test_a_cell_of_credentials_only_is_its_own_provider() -> None:
    assert provider_and_discipline("PT, DPT") == ("PT, DPT", Discipline.PT)
    assert split_credentials("  OTR/L ") == ("OTR/L", "OTR/L")


def test_the_credentials_are_split_off_as_written() -> None:
    assert split_credentials("Anna Smith, MS, CCC-SLP") == ("Anna Smith", "MS, CCC-SLP")
    assert split_credentials(" Smith, Anna  SLP ") == ("Smith, Anna", "SLP")

"""Hostile and mistaken inputs other than exports (issue 11): session files, payer files, units
entries and the terminal view end in one clear message and a documented exit code, never an
internal error (exit 4), and never put a control character on the terminal raw."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from cognibill.entries import escape_controls, parse_entries, parse_minutes
from cognibill.errors import EntryError, InputError
from cognibill.inputs import cells
from cognibill.payers import starter_profile
from cognibill.readers.session_file import (
    MAX_NESTING,
    MAX_SESSION_BYTES,
    read_session_text,
    toml_nesting_problem,
)
from cognibill.template import render_template

VISIT = '[[visit]]\npatient = "P-1001"\ndate = 2026-03-02\n'
SERVICE = '[[visit.service]]\ncode = "97129"\nminutes = 38\n'


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def assert_one_clean_error(run, code: int) -> None:  # type: ignore[no-untyped-def]
    assert run.code == code, run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert run.err.startswith("cognibill: error: ")


# -- session files: nesting, size, long numbers ----------------------------------------------------


def test_a_700_byte_session_file_nested_325_deep_is_an_input_error_naming_its_line(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    text = f"{VISIT}diagnoses = {'[' * 325}{']' * 325}\n"
    assert len(text) <= 710
    run = cli("check", write(tmp_path, "deep.toml", text))
    assert_one_clean_error(run, 3)
    assert f"deep.toml:4: arrays and inline tables nested more than {MAX_NESTING} deep" in run.err


@pytest.mark.parametrize(
    "value",
    ["[" * 2000 + "]" * 2000, "{ a = " * 400 + "1" + " }" * 400, "[{ a = [" * 300 + "]}]" * 300],
)
def test_deep_arrays_and_inline_tables_are_refused_at_any_depth(value: str) -> None:
    with pytest.raises(InputError, match="nested more than"):
        read_session_text(f"{VISIT}x = {value}\n{SERVICE}", "deep.toml")


def test_brackets_in_strings_and_comments_do_not_count_as_nesting() -> None:
    text = f'{VISIT}session_id = "{"[" * 100}" # {"{" * 100}\n{SERVICE}'
    assert toml_nesting_problem(text) is None
    assert read_session_text(text, "ok.toml")[0].session_id == "[" * 100


def test_the_deepest_session_shape_is_well_inside_the_bound() -> None:
    """visit = [{ service = [{ modifiers = [...] }] }] is 5 deep."""
    text = 'visit = [{ patient = "P", date = 2026-03-02, service = [{ code = "97129", '
    text += 'minutes = 38, modifiers = ["GN"] }] }]\n'
    assert read_session_text(text, "inline.toml")[0].services[0].modifiers == ("GN",)


def test_the_nesting_scan_stays_linear_on_unclosed_strings() -> None:
    start = time.perf_counter()
    for text in ('"""' * 200_000, "'" * 500_000, '"' + "\\" * 500_000, "# [\n" * 100_000):
        toml_nesting_problem(text)
    assert time.perf_counter() - start < 5


def test_a_session_file_larger_than_the_cap_is_refused_before_it_is_parsed(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    path = tmp_path / "big.toml"
    with path.open("wb") as handle:
        handle.truncate(MAX_SESSION_BYTES + 1)  # a sparse file: no 8 MiB written
    start = time.perf_counter()
    run = cli("check", str(path))
    assert time.perf_counter() - start < 5
    assert_one_clean_error(run, 3)
    assert "big.toml: larger than 8 MiB: too large for a session file" in run.err
    assert "CSV export" in run.err


def test_a_session_file_larger_than_the_cap_on_stdin_is_refused(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import io

    from cognibill.readers.session_file import read_session_file

    stream = io.BytesIO(b"#" * (MAX_SESSION_BYTES + 10))
    with pytest.raises(InputError, match="larger than 8 MiB"):
        read_session_file("-", stdin=stream)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1" * 4301, "a number with more than 4,300 digits"),
        ('"' + "1" * 5000 + '"', "is not a plausible number"),
    ],
)
def test_minutes_of_more_than_4300_digits_are_an_input_error(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, value: str, reason: str
) -> None:
    text = f'{VISIT}[[visit.service]]\ncode = "97129"\nminutes = {value}\n'
    run = cli("check", write(tmp_path, "long.toml", text))
    assert_one_clean_error(run, 3)
    assert "long.toml:6: " in run.err and reason in run.err
    assert len(run.err) < 600


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("units_billed", "10000000000000000000000", "more than a day of units (96)"),
        ("assistant_minutes", "99999999999", "more than a day (1440 minutes)"),
    ],
)
def test_counts_beyond_a_day_are_refused_not_overflowed(key: str, value: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        read_session_text(f"{SERVICE.join([VISIT, ''])}{key} = {value}\n", "big.toml")
    assert caught.value.lines() == [f"big.toml:7: service.{key}: {reason}"]


# -- session files: minutes (RULES.md §1, §11) -----------------------------------------------------


def test_a_service_without_minutes_is_refused_naming_its_line_rules_1_and_11(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    """RULES.md §11: minutes decide units; the CSV reader rejects an empty minutes cell too."""
    text = f'{VISIT}\n[[visit.service]]\ncode = "97129"\nunits_billed = 3\n'
    run = cli("check", write(tmp_path, "no_minutes.toml", text))
    assert_one_clean_error(run, 3)
    assert "no_minutes.toml:5: service.minutes: required, but missing" in run.err


def test_0_minutes_is_refused_rules_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """RULES.md §1: 0 minutes earn no unit; a service table is a code performed."""
    text = f'{VISIT}[[visit.service]]\ncode = "97110"\nminutes = 0\n'
    run = cli("claim", write(tmp_path, "zero.toml", text), "-f", "json")
    assert_one_clean_error(run, 3)
    assert "zero.toml:6: service.minutes: 0 minutes: enter the minutes" in run.err
    assert run.out == ""


def test_the_untouched_template_does_not_check_clean(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = render_template()
    line = text.splitlines().index("minutes = 0") + 1
    run = cli("check", write(tmp_path, "new.toml", text))
    assert_one_clean_error(run, 3)
    assert f"new.toml:{line}: service.minutes: 0 minutes" in run.err


def test_the_template_with_its_minutes_filled_in_checks_clean(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("check", write(tmp_path, "new.toml", render_template(38))).code == 0


def test_a_misspelt_minutes_key_is_reported_once_with_did_you_mean() -> None:
    text = f'{VISIT}[[visit.service]]\ncode = "97129"\nminute = 38\n'
    with pytest.raises(InputError) as caught:
        read_session_text(text, "typo.toml")
    assert caught.value.lines() == [
        "typo.toml:6: service.minute: unknown key (did you mean 'minutes'?)"
    ]


def test_control_characters_of_a_session_file_are_escaped_in_its_messages() -> None:
    text = f'{VISIT}"\\u001b[2J" = 1\nplace_of_service = "\\u001b]0;x\\u0007"\n{SERVICE}'
    with pytest.raises(InputError) as caught:
        read_session_text(text, "esc.toml")
    shown = "\n".join(caught.value.lines())
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J: unknown key" in shown and "\\x1b]0;x\\x07" in shown


# -- payer files -----------------------------------------------------------------------------------


def payers_file(tmp_path: Path, body: str) -> str:
    head = '[payer.acme]\nname = "Acme"\nunit_rule = "ama"\npricing = "per-unit"\n'
    return write(tmp_path, "payers.toml", head + body)


def test_a_payers_file_nested_325_deep_is_an_input_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = payers_file(tmp_path, f"covered_diagnoses = {'[' * 325}{']' * 325}\n")
    run = cli("units", "38", "--payers", path, "--payer", "acme")
    assert_one_clean_error(run, 3)
    assert "payers.toml:5: arrays and inline tables nested more than" in run.err


@pytest.mark.parametrize(
    "body",
    [
        "unit_low = 1\nunit_high = 1e26\n",
        'unit_low = 1\nunit_high = "1e26"\n',
        'pricing = "per-code"\n[payer.acme.per_code]\n"97129" = 1e26\n',
    ],
)
def test_a_unit_rate_of_1e26_is_refused_with_its_bound(cli, tmp_path: Path, body: str) -> None:  # type: ignore[no-untyped-def]
    text = '[payer.acme]\nname = "Acme"\nunit_rule = "ama"\n'
    text += body if "pricing" in body else 'pricing = "per-unit"\n' + body
    run = cli("units", "38", "--payers", write(tmp_path, "p.toml", text), "--payer", "acme")
    assert_one_clean_error(run, 3)
    assert "1E+26 per unit is not plausible (at most 100,000)" in run.err


def test_a_rate_of_4301_digits_in_a_payers_file_is_an_input_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = payers_file(tmp_path, f"unit_low = 1\nunit_high = {'9' * 4301}\n")
    run = cli("units", "38", "--payers", path, "--payer", "acme")
    assert_one_clean_error(run, 3)
    assert "payers.toml:6: a number with more than 4,300 digits" in run.err


def test_a_daily_cap_beyond_a_day_of_units_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    body = 'unit_low = 1\nunit_high = 2\n[payer.acme.daily_caps]\n"97130" = 100000000000000000000\n'
    run = cli("units", "38", "--payers", payers_file(tmp_path, body), "--payer", "acme")
    assert_one_clean_error(run, 3)
    assert "daily_caps.97130: more units than a day holds (at most 96)" in run.err


def test_payers_naming_a_directory_says_it_is_a_directory(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38", "--payers", str(tmp_path))
    assert_one_clean_error(run, 3)
    assert "is a directory, not a payer file" in run.err and "not found" not in run.err


def test_an_endless_payers_file_is_read_only_up_to_its_cap(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "38", "--payers", "/dev/zero")
    assert_one_clean_error(run, 3)
    assert "too large for a payer file" in run.err


@pytest.mark.parametrize("compare", [False, True])
def test_a_profile_from_payers_init_prints_no_empty_data_line(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, compare: bool
) -> None:
    path = write(tmp_path, "acme.toml", starter_profile("acme"))
    run = cli(
        "units", "38", "--payers", path, "--payer", "acme", *(["--compare"] if compare else [])
    )
    assert run.code == 0, run.err
    assert not [line for line in run.out.splitlines() if line.strip() in ("Data:", "Data: ")]
    assert "Data:" in cli("units", "38").out  # Medicare's data still says where it came from


# -- units entries: read as the CSV reader reads minutes -------------------------------------------


def _cell(text: str) -> int | str:
    try:
        return cells.parse_minutes(text)
    except cells.BadCell:
        return "refused"


def _entry(text: str) -> int | str:
    try:
        return parse_entries([text])[0].minutes
    except EntryError:
        return "refused"


@pytest.mark.parametrize(
    "text",
    [
        "38",
        "٣٨",
        "３８",
        "\u3000３８\u3000",
        " 38 ",
        "+38",
        "38.0",
        "38 min",
        "1_000",
        "1e3",
        "0x26",
    ],
)
def test_entries_read_digits_and_whitespace_as_the_csv_reader_does(text: str) -> None:
    assert _entry(text) == _cell(text)
    assert _entry(f"97110={text}") == _cell(text)


@pytest.mark.parametrize("text", ["", "-5", "-0", "37.5", "0:38", "thirty", "1441", "9" * 5000])
def test_an_entry_and_a_csv_cell_give_the_same_reason_for_the_same_minutes(text: str) -> None:
    with pytest.raises(cells.BadCell) as cell:
        cells.parse_minutes(text)
    with pytest.raises(EntryError) as entry:
        parse_minutes(text, text)
    assert str(entry.value).endswith(f": {cell.value}")


@pytest.mark.parametrize("text", ["-0", "97110=-0", "-00", "-0.0"])
def test_minus_zero_is_refused_without_being_called_negative(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "--", text)
    assert_one_clean_error(run, 2)
    assert "negative" not in run.err and "no minus sign" in run.err


@pytest.mark.parametrize("text", ["1" * 4301, "97110=" + "9" * 5000])
def test_an_entry_of_more_than_4300_digits_is_an_entry_error(cli, text: str) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", text)
    assert_one_clean_error(run, 2)
    assert "digits is more than a day (1440 minutes)" in run.err
    assert len(run.err) < 300


def test_entry_errors_show_control_characters_escaped(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("units", "3\x1b[2J8", "971\x1b]0;x\x0710=5")
    assert_one_clean_error(run, 2)
    assert "\x1b" not in run.err and "3\\x1b[2J8" in run.err


def test_units_format_ndjson_is_listed_and_prints_one_result_a_line(cli) -> None:  # type: ignore[no-untyped-def]
    import json

    assert "ndjson" in cli("units", "--help").out
    one = cli("units", "38", "--date", "2026-03-02", "-f", "ndjson")
    assert one.code == 0
    (line,) = one.out.splitlines()
    assert json.loads(line) == cli("units", "38", "--date", "2026-03-02", "-f", "json").json()
    both = cli("units", "38", "--compare", "-f", "ndjson").out.splitlines()
    assert [json.loads(line)["rule"] for line in both] == ["cms", "ama"]
    ranges = [
        json.loads(line) for line in cli("ranges", "--up-to", "2", "-f", "ndjson").out.splitlines()
    ]
    assert [r["units"] for r in ranges] == [0, 1, 2]


def test_localities_matching_nothing_exits_2_as_locality_does(cli) -> None:  # type: ignore[no-untyped-def]
    listed = cli("localities", "zzz")
    priced = cli("fees", "97129", "--locality", "zzz")
    assert listed.code == priced.code == 2
    assert listed.out == ""
    assert "no Medicare locality matches 'zzz'" in listed.err
    assert "no Medicare locality matches 'zzz'" in priced.err
    assert cli("localities", "zzz", "-f", "json").code == 2
    assert cli("localities", "alabama").code == 0


# -- the terminal view -----------------------------------------------------------------------------

HOSTILE_EXPORT = (
    "patient,date,code,minutes,payer\n"
    '"P\x1b]0;pwned\x07X",2026-03-02,97110,38,"\x1b[31mred\x1b[0m"\n'
    '"[/x]",2026-03-02,97110,38,"[bold]x[/bold]"\n'
    '"\u202eP-1001",2026-03-02,97110,38,medicare\n'
)


def test_the_claim_table_shows_control_characters_escaped(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = cli("claim", write(tmp_path, "hostile.csv", HOSTILE_EXPORT), "--explain")
    assert run.code in (0, 1), run.err
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", run.out)
    assert "P\\x1b]0;pwned\\x07X" in run.out
    assert "\\u202eP-1001" in run.out


def test_the_claim_table_never_reads_a_cell_as_markup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "hostile.csv", HOSTILE_EXPORT)
    assert "internal error" not in cli("claim", path).err  # the summary view
    run = cli("claim", path, "--lines")
    assert "internal error" not in run.err
    assert "[/x]" in run.out


def test_the_units_table_shows_a_payer_name_escaped_and_not_as_markup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = starter_profile("acme").replace(
        'name = "acme (edit me)"', 'name = "[/x]\\u001b]0;t\\u0007"'
    )
    path = write(tmp_path, "acme.toml", text)
    for extra in ((), ("--compare",)):
        run = cli("units", "38", "--payers", path, "--payer", "acme", *extra)
        assert run.code == 0, run.err
        assert "\x1b" not in run.out and "[/x]\\x1b]0;t\\x07" in run.out


def test_payers_list_and_show_a_payer_name_escaped_and_not_as_markup(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = starter_profile("acme").replace(
        'name = "acme (edit me)"', 'name = "[/x]\\u001b]0;t\\u0007"'
    )
    path = write(tmp_path, "acme.toml", text)
    for args in (("payers", "--payers", path), ("payers", "show", "acme", "--payers", path)):
        run = cli(*args)
        assert run.code == 0, run.err
        assert "\x1b" not in run.out and "[/x]\\x1b]0;t\\x07" in run.out


def test_escape_controls_leaves_printable_text_of_any_script_alone() -> None:
    assert escape_controls("Émile ٣٨ ３８ P-1001 née") == "Émile ٣٨ ３８ P-1001 née"
    assert escape_controls("a\x1bb\x9b\u202e\n") == "a\\x1bb\\x9b\\u202e\\x0a"

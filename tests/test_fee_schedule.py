"""The dated Medicare fee schedule (RULES.md §6, §8; shared/domain/data/README.md check figures)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from cognibill.catalogue import load_catalogue
from cognibill.errors import EntryError, InputError
from cognibill.fees import fee_breakdown, load_schedule, release_label, unit_fee
from cognibill.fees.schedule import FEE_DATA_ENV, FeeSchedule

REPO = Path(__file__).parent.parent
FEES = REPO / "cognibill" / "data" / "fees"
SHARED = REPO.parent / "shared" / "domain" / "data"
SCRIPT = REPO / "scripts" / "build_fee_data.py"


def fee(code: str, day: date, locality: str | None = None, *, facility: bool = False) -> Decimal:
    (row,) = fee_breakdown([code], day, locality=locality)
    amounts = row.facility if facility else row.non_facility
    assert amounts is not None
    return amounts.fee


def reduced(code: str, day: date, locality: str | None = None) -> Decimal | None:
    (row,) = fee_breakdown([code], day, locality=locality)
    assert row.non_facility is not None
    return row.non_facility.reduced_fee


# -- RULES.md §8 check figures -----------------------------------------------------------------


def test_rules_8_check_figures_2025_national_97129_and_97130() -> None:
    assert fee("97129", date(2025, 2, 14)) == Decimal("21.67")
    assert fee("97130", date(2025, 2, 14)) == Decimal("20.70")


def test_rules_8_97130_pays_less_than_97129() -> None:
    """RULES.md §10: "97130 pays the same as 97129" is a known error."""
    for day in (date(2020, 6, 1), date(2023, 6, 1), date(2025, 2, 1), date(2026, 8, 1)):
        assert fee("97130", day) < fee("97129", day)


def test_rules_8_check_figures_2024_from_9_march() -> None:
    assert fee("97129", date(2024, 3, 9)) == Decimal("22.30")
    assert fee("97130", date(2024, 3, 9)) == Decimal("21.30")


def test_rules_8_2024_conversion_factor_changes_on_9_march() -> None:
    schedule = load_schedule()
    assert schedule.conversion_factor(date(2024, 3, 8)).value == Decimal("32.7442")
    assert schedule.conversion_factor(date(2024, 3, 9)).value == Decimal("33.2875")
    # 97129 in 2024: work 0.50, PE 0.16, MP 0.01 (RULES.md §8 table) at each CF.
    assert fee("97129", date(2024, 3, 8)) == Decimal("21.94")  # 0.67 x 32.7442 = 21.9386
    assert fee("97129", date(2024, 3, 9)) == Decimal("22.30")  # 0.67 x 33.2875 = 22.3026


@pytest.mark.parametrize(
    ("locality", "expected"),
    [("10112-00", "21.46"), ("02102-01", "30.92"), ("13202-01", "24.49")],
    ids=["alabama", "alaska", "manhattan"],
)
def test_rules_8_check_figures_2024_localities(locality: str, expected: str) -> None:
    assert fee("97129", date(2024, 5, 1), locality) == Decimal(expected)


def test_rules_8_example_gpcis_2024() -> None:
    schedule = load_schedule()
    found = {
        q: schedule.locality(q, date(2024, 5, 1)).value.gpcis
        for q in ("Alabama", "Alaska", "Manhattan")
    }
    assert found == {
        "Alabama": "1.000/0.869/0.575",
        "Alaska": "1.500/1.081/0.592",
        "Manhattan": "1.065/1.166/1.656",
    }


@pytest.mark.parametrize(
    ("code", "full", "with_mppr", "facility"),
    [
        ("97110", "26.83", "20.79", "26.83"),
        ("97129", "20.86", None, "20.58"),
        ("97161", "91.32", "70.94", "91.32"),
        ("97530", "31.85", "23.13", "31.85"),
    ],
)
def test_cms_2025_alabama_payment_file_figures(
    code: str, full: str, with_mppr: str | None, facility: str
) -> None:
    """data/README.md: CMS's PFAL25A.TXT amounts, reproduced to the cent (RULES.md §8)."""
    day = date(2025, 1, 15)
    assert fee(code, day, "10112-00") == Decimal(full)
    assert reduced(code, day, "10112-00") == (None if with_mppr is None else Decimal(with_mppr))
    assert fee(code, day, "10112-00", facility=True) == Decimal(facility)


def test_rules_8_facility_pe_na_codes_are_priced_non_facility_everywhere() -> None:
    schedule = load_schedule()
    rvu = schedule.rvu("97110", date(2025, 1, 15))
    assert rvu is not None and rvu.value.facility_na
    assert not rvu.value.uses_facility_pe(facility=True)


def test_rules_8_sometimes_therapy_codes_use_the_facility_pe_in_a_facility() -> None:
    schedule = load_schedule()
    rvu = schedule.rvu("97129", date(2026, 8, 1))
    assert rvu is not None and not rvu.value.facility_na
    assert rvu.value.pe(facility=True) == Decimal("0.08")  # RULES.md §8: 2026 July release
    assert rvu.value.pe(facility=False) == Decimal("0.16")


def test_rules_8_rvu_table_rows_match_the_data() -> None:
    schedule = load_schedule()
    expected = {
        ("97129", date(2020, 5, 1)): ("0.50", "0.16", "0.15", "0.02", 0),
        ("97130", date(2022, 5, 1)): ("0.48", "0.15", "0.14", "0.02", 0),
        ("97129", date(2023, 5, 1)): ("0.50", "0.16", "0.15", "0.01", 0),
        ("97130", date(2025, 2, 1)): ("0.48", "0.15", "0.15", "0.01", 0),
        ("97130", date(2026, 8, 1)): ("0.48", "0.15", "0.07", "0.00", 0),
        ("97110", date(2024, 5, 1)): ("0.45", "0.42", "0.42", "0.01", 5),
        ("97150", date(2024, 5, 1)): ("0.29", "0.24", "0.24", "0.01", 5),
        ("92507", date(2024, 5, 1)): ("1.30", "0.96", "0.96", "0.03", 5),
    }
    for (code, day), (work, pe_nf, pe_f, mp, indicator) in expected.items():
        found = schedule.rvu(code, day)
        assert found is not None
        rvu = found.value
        assert (rvu.work, rvu.pe_nonfacility, rvu.pe_facility, rvu.mp, rvu.mp_indicator) == (
            Decimal(work),
            Decimal(pe_nf),
            Decimal(pe_f),
            Decimal(mp),
            indicator,
        ), (code, day)


@pytest.mark.parametrize(
    ("day", "cf"),
    [
        (date(2020, 7, 1), "36.0896"),
        (date(2021, 7, 1), "34.8931"),
        (date(2022, 7, 1), "34.6062"),
        (date(2023, 7, 1), "33.8872"),
        (date(2024, 1, 1), "32.7442"),
        (date(2024, 12, 31), "33.2875"),
        (date(2025, 7, 1), "32.3465"),
        (date(2026, 7, 1), "33.4009"),
    ],
)
def test_rules_8_conversion_factor_by_date_of_service(day: date, cf: str) -> None:
    found = load_schedule().conversion_factor(day)
    assert found.value == Decimal(cf)
    assert not found.fallback


def test_rules_8_2026_qualifying_apm_rate_only_when_asked() -> None:
    schedule = load_schedule()
    assert schedule.conversion_factor(date(2026, 3, 1)).value == Decimal("33.4009")
    qp = schedule.conversion_factor(date(2026, 3, 1), qualifying_apm=True)
    assert qp.value == Decimal("33.5675")
    assert "qualifying APM" in qp.note
    # Before 2026 there is one rate, whatever is asked.
    assert schedule.conversion_factor(date(2025, 3, 1), qualifying_apm=True).value == Decimal(
        "32.3465"
    )


# -- dates without a release: same-year fallback, said so ---------------------------------------


@pytest.mark.parametrize(
    ("day", "release"),
    [
        (date(2025, 6, 1), "RVU25A"),
        (date(2025, 9, 1), "RVU25D"),
        (date(2024, 11, 15), "RVU24C"),
        (date(2026, 2, 1), "RVU26C"),
        (date(2026, 11, 23), "RVU26C"),
    ],
)
def test_rules_8_gap_date_falls_back_to_nearest_release_of_same_year_and_says_so(
    day: date, release: str
) -> None:
    found = load_schedule().rvu("97129", day)
    assert found is not None
    assert found.fallback
    assert release in found.note
    assert "nearest release of the same year" in found.note
    assert found.value.year == day.year


def test_gap_note_names_the_release_in_words() -> None:
    found = load_schedule().rvu("97130", date(2026, 2, 1))
    assert found is not None
    assert found.note.startswith(
        "RVUs: 2026 July release (RVU26C), nearest release of the same year"
    )


def test_rules_8_2026_gap_never_bridges_to_2025() -> None:
    """2026 changed the PE method: January 2026 uses 2026 RVUs (facility PE 0.08), not 2025."""
    found = load_schedule().rvu("97129", date(2026, 1, 5))
    assert found is not None
    assert found.value.pe_facility == Decimal("0.08")
    assert found.value.year == 2026


@pytest.mark.parametrize("day", [date(2025, 2, 1), date(2024, 3, 9), date(2026, 7, 1)])
def test_date_inside_a_release_has_no_fallback_note(day: date) -> None:
    found = load_schedule().rvu("97129", day)
    assert found is not None
    assert not found.fallback
    assert "nearest" not in found.note


def test_merged_row_names_the_release_in_force_on_the_date() -> None:
    schedule = load_schedule()
    notes = [schedule.rvu("97129", date(2024, m, 15)) for m in (3, 5, 8)]
    assert [n.note if n else "" for n in notes] == [
        "RVUs: 2024 revised January release (RVU24AR)",
        "RVUs: 2024 April release (RVU24B)",
        "RVUs: 2024 July release (RVU24C)",
    ]


def test_missing_year_uses_last_known_year_and_says_so() -> None:
    schedule = load_schedule()
    found = schedule.rvu("97129", date(2027, 3, 1))
    assert found is not None and found.fallback
    assert found.value.year == 2026
    assert "no data for 2027, last known year used" in found.note
    cf = schedule.conversion_factor(date(2027, 3, 1))
    assert cf.value == Decimal("33.4009") and cf.fallback
    assert "last known year" in cf.note


def test_year_before_the_data_uses_the_earliest_year_and_says_so() -> None:
    found = load_schedule().rvu("97110", date(2019, 6, 1))
    assert found is not None and found.fallback
    assert found.value.year == 2020
    assert "earliest known year" in found.note


def test_release_label() -> None:
    assert release_label("RVU26C") == "2026 July release (RVU26C)"
    assert release_label("RVU24AR") == "2024 revised January release (RVU24AR)"


# -- thresholds (RULES.md §6) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "amount"),
    [(2021, 2110), (2022, 2150), (2023, 2230), (2024, 2330), (2025, 2410), (2026, 2480)],
)
def test_rules_6_kx_threshold_by_year(year: int, amount: int) -> None:
    found = load_schedule().kx_threshold(date(year, 6, 1))
    assert found is not None and found.value == Decimal(amount) and not found.fallback


def test_rules_10_kx_2025_is_not_2230() -> None:
    found = load_schedule().kx_threshold(date(2025, 1, 1))
    assert found is not None and found.value != Decimal(2230)


def test_rules_6_kx_threshold_missing_year_uses_last_known_and_none_before_2021() -> None:
    schedule = load_schedule()
    later = schedule.kx_threshold(date(2027, 1, 1))
    assert later is not None and later.value == Decimal(2480) and later.fallback
    assert "2027" in later.note
    assert schedule.kx_threshold(date(2020, 6, 1)) is None


def test_rules_6_review_threshold_is_3000() -> None:
    assert load_schedule().review_threshold == Decimal(3000)


# -- localities --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "locality_id"),
    [
        ("01112-05", "01112-05"),
        ("0111205", "01112-05"),
        ("01112 5", "01112-05"),
        ("AL", "10112-00"),
        ("al", "10112-00"),
        ("alabama", "10112-00"),
        ("Manhattan", "13202-01"),
        ("guam", "01212-01"),
        ("rest of texas", "04412-99"),
    ],
)
def test_locality_by_id_state_or_unique_part_of_name(query: str, locality_id: str) -> None:
    assert load_schedule().locality(query, date(2025, 2, 1)).value.id == locality_id


@pytest.mark.parametrize("query", [None, "national", "NATIONAL", ""])
def test_national_is_gpci_one(query: str | None) -> None:
    found = load_schedule().locality(query, date(2025, 2, 1))
    assert found.value.national
    assert (found.value.work, found.value.pe, found.value.mp) == (1, 1, 1)


def test_ambiguous_locality_lists_the_matches() -> None:
    with pytest.raises(EntryError) as caught:
        load_schedule().locality("san francisco", date(2025, 2, 1))
    assert "matches 2 localities" in caught.value.message
    assert "01112-05" in caught.value.message and "01112-52" in caught.value.message
    assert caught.value.hint is not None and "MAC-locality id" in caught.value.hint


def test_state_with_several_localities_is_ambiguous() -> None:
    with pytest.raises(EntryError, match="13202-01"):
        load_schedule().locality("NY", date(2025, 2, 1))


def test_unknown_locality_is_an_entry_error() -> None:
    with pytest.raises(EntryError, match="no Medicare locality matches 'atlantis' in 2025"):
        load_schedule().locality("atlantis", date(2025, 2, 1))


def test_locality_consolidated_in_2024_names_the_years_it_existed() -> None:
    schedule = load_schedule()
    assert schedule.locality("01112-06", date(2023, 6, 1)).value.name.startswith("SAN FRANCISCO")
    with pytest.raises(
        EntryError, match=r"01112-06 has no GPCIs for 2024 .*2020, 2021, 2022, 2023"
    ):
        schedule.locality("01112-06", date(2024, 6, 1))


def test_locality_gap_date_falls_back_within_the_year() -> None:
    found = load_schedule().locality("10112-00", date(2026, 2, 1))
    assert found.fallback
    assert "RVU26C" in found.note and "nearest release of the same year" in found.note


def test_locality_2023_puerto_rico_changes_in_october() -> None:
    schedule = load_schedule()
    assert schedule.locality("09202-20", date(2023, 9, 30)).value.pe == Decimal("1.000")
    assert schedule.locality("09202-20", date(2023, 10, 1)).value.pe == Decimal("1.008")


def test_find_localities() -> None:
    schedule = load_schedule()
    assert len(schedule.find_localities(None, date(2025, 2, 1))) == 109
    assert len(schedule.find_localities(None, date(2023, 2, 1))) == 112
    texas = schedule.find_localities("TX", date(2025, 2, 1))
    assert {loc.state for loc in texas} == {"TX"} and len(texas) == 8
    assert [loc.id for loc in schedule.find_localities("manhattan", date(2025, 2, 1))] == [
        "13202-01"
    ]
    assert schedule.find_localities("atlantis", date(2025, 2, 1)) == []


# -- laziness ----------------------------------------------------------------------------------


def test_national_lookups_never_read_the_gpci_file() -> None:
    schedule = FeeSchedule(FEES)
    day = date(2025, 2, 1)
    rvu = schedule.rvu("97129", day)
    assert rvu is not None
    unit_fee(
        rvu.value, schedule.locality(None, day).value, schedule.conversion_factor(day).value, False
    )
    assert "_localities" not in schedule.__dict__
    schedule.locality("AL", day)
    assert "_localities" in schedule.__dict__


def test_codes_without_rvus_are_the_three_deleted_before_2020() -> None:
    """RULES.md §5: 97532, 97127 and G0515 were deleted before 2020; every other code is priced."""
    schedule = load_schedule()
    missing = sorted(info.code for info in load_catalogue() if not schedule.has_code(info.code))
    assert missing == ["97127", "97532", "G0515"]
    (row,) = fee_breakdown(["97127"], date(2025, 2, 1))
    assert row.non_facility is None
    assert any("deleted on 2020-01-01" in note and "97129/97130" in note for note in row.notes)


def test_carrier_priced_code_has_no_fee() -> None:
    (row,) = fee_breakdown(["97153"], date(2025, 2, 1))
    assert row.rvu is not None and row.rvu.status == "C"
    assert row.non_facility is None
    assert any("carrier-priced" in note for note in row.notes)


def test_fee_breakdown_unknown_code_suggests_a_near_miss() -> None:
    with pytest.raises(EntryError) as caught:
        fee_breakdown(["92129"], date(2025, 2, 1))
    assert caught.value.hint is not None and "97129" in caught.value.hint


def test_fee_breakdown_names_the_data_version() -> None:
    (row,) = fee_breakdown(["97129"], date(2025, 2, 1))
    assert row.data_version == load_schedule().version
    assert row.data_version.startswith("pfs-20a-26c+")
    assert row.to_dict()["non_facility"] == {
        "work": "0.5000",
        "pe": "0.1600",
        "mp": "0.0100",
        "fee": "21.67",
        "reduced_fee": None,
        "facility_pe": False,
    }


# -- the data files and the script that builds them ------------------------------------------


@pytest.mark.parametrize(
    "name", ["rvu.csv", "gpci.csv", "conversion_factors.csv", "thresholds.toml", "manifest.toml"]
)
def test_every_data_file_starts_with_a_header_on_format_source_and_dates(name: str) -> None:
    text = (FEES / name).read_text("utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert text.startswith("# cognibill fee data")
    assert "Source:" in header and "Effective dates:" in header


def test_manifest_lists_the_gaps_of_the_data_readme() -> None:
    manifest = tomllib.loads((FEES / "manifest.toml").read_text("utf-8"))
    gaps = [(g["from"].isoformat(), g["to"].isoformat()) for g in manifest["gaps"]]
    assert gaps == [
        ("2024-10-01", "2024-12-31"),
        ("2025-04-01", "2025-09-30"),
        ("2026-01-01", "2026-06-30"),
        ("2026-10-01", "2026-12-31"),
    ]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_fee_data", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


needs_shared = pytest.mark.skipif(not (SHARED / "rvu.csv").exists(), reason="shared data absent")


@needs_shared
def test_package_data_is_what_the_script_builds_from_the_shared_csvs() -> None:
    assert _script().main(["--check"]) == 0


@needs_shared
def test_users_can_build_newer_data_into_a_folder_and_load_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rvu = tmp_path / "rvu.csv"
    text = (SHARED / "rvu.csv").read_text("utf-8")
    # A 2027 January release for 97129 (values invented for the test), with its CF and KX.
    rvu.write_text(
        text + "2027,2027-01-01,2027-03-31,RVU27A,97129,,A,0.50,0.17,0.09,0.01,0,XXX,34.0000,0,,\n"
    )
    out = tmp_path / "fees"
    script = _script()
    assert script.main(["--rvu", str(rvu), "--out", str(out), "--cf", "2027-01-01:2027-12-31:34",
                        "--kx", "2027:2550"]) == 0  # fmt: skip
    monkeypatch.setenv(FEE_DATA_ENV, str(out))
    schedule = load_schedule()
    assert schedule.version != load_schedule(FEES).version
    found = schedule.rvu("97129", date(2027, 2, 1))
    assert found is not None and not found.fallback and "RVU27A" in found.note
    assert schedule.conversion_factor(date(2027, 2, 1)).value == Decimal("34.0000")
    kx = schedule.kx_threshold(date(2027, 2, 1))
    assert kx is not None and kx.value == Decimal(2550)


@needs_shared
def test_script_rejects_a_row_whose_conversion_factor_contradicts_rules_8(tmp_path: Path) -> None:
    rvu = tmp_path / "rvu.csv"
    text = (SHARED / "rvu.csv").read_text("utf-8")
    rvu.write_text(text.replace(",XXX,32.3465,", ",XXX,32.3466,", 1))
    assert _script().main(["--rvu", str(rvu), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


def test_a_broken_row_in_user_fee_data_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "fees"
    shutil.copytree(FEES, folder)
    lines = (folder / "rvu.csv").read_text("utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("97129,2025"))
    lines[number - 1] = lines[number - 1].replace(",0.50,", ",zero,", 1)
    (folder / "rvu.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as caught:
        load_schedule(folder).rvu("97129", date(2025, 2, 1))
    assert caught.value.line == number
    assert caught.value.path.endswith("rvu.csv")


def test_a_missing_fee_data_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="fee data folder not found"):
        load_schedule(tmp_path / "nowhere")


def test_script_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "--rvu" in done.stdout


def test_find_localities_defaults_to_today() -> None:
    from cognibill.fees import find_localities

    assert find_localities("alaska", date(2024, 5, 1))[0].id == "02102-01"
    assert [loc.state for loc in find_localities("AK")] == ["AK"]

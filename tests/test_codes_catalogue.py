"""The code catalogue built from ../shared/domain/data/therapy_codes.csv (issue 10, RULES.md §4,
§5): every code of the table, the codes of before kept as they were, near misses and the shape
of a code."""

from __future__ import annotations

import csv
import importlib.util
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

from cognibill.catalogue import Kind, is_well_formed, load_catalogue

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "domain" / "data"
SCRIPT = REPO / "scripts" / "build_codes.py"
needs_shared = pytest.mark.skipif(
    not (SHARED / "therapy_codes.csv").exists(), reason="shared data absent"
)
CATALOGUE = load_catalogue()


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_codes", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _table() -> list[dict[str, str]]:
    with (SHARED / "therapy_codes.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@needs_shared
def test_codes_toml_is_what_the_script_builds_from_the_shared_table() -> None:
    assert _script().main(["--check"]) == 0


@needs_shared
def test_every_code_of_the_table_is_in_the_catalogue_with_its_timing_rules_4() -> None:
    rows = _table()
    assert len(rows) == 101
    for row in rows:
        info = CATALOGUE[row["code"]]
        if info.family == "cognitive":  # 97129/97130: 15-minute units in the pool (RULES.md §5)
            assert info.kind is Kind.TIMED
        else:
            assert info.kind.value == row["timing"], row["code"]
        if row["timing"] == "first-and-additional" and info.family != "cognitive":
            assert info.first_unit_minutes == int(row["first_unit_minutes"])
            assert info.unit_minutes == int(row["unit_minutes"])


def test_the_codes_of_before_keep_their_fields_rules_5() -> None:
    pair = CATALOGUE["97129"], CATALOGUE["97130"]
    assert [(c.kind, c.family, c.role, c.therapy) for c in pair] == [
        (Kind.TIMED, "cognitive", "primary", "sometimes"),
        (Kind.TIMED, "cognitive", "addon", "sometimes"),
    ]
    assert pair[0].label == "Cognitive intervention, first 15 min"
    assert CATALOGUE["97532"].deleted_on == date(2018, 1, 1)
    assert CATALOGUE["G0515"].replaced_by == ("97129", "97130")
    assert CATALOGUE["97127"].kind is Kind.UNTIMED
    assert CATALOGUE["96125"].kind is Kind.HOURLY and CATALOGUE["96125"].therapy is None
    assert CATALOGUE["97150"].group and CATALOGUE["92508"].group


@pytest.mark.parametrize(
    "code",
    ["97010", "97012", "97014", "97016", "97018", "97022", "97024", "97026", "97028", "G0283"],
)
def test_the_supervised_modalities_are_untimed_rules_4(code: str) -> None:
    assert CATALOGUE[code].kind is Kind.UNTIMED


def test_the_first_and_additional_families_and_their_unit_lengths_rules_4() -> None:
    assert {
        key: (f.primary, f.addon, f.first_unit_minutes, f.unit_minutes)
        for key, f in CATALOGUE.families().items()
    } == {
        "cognitive": ("97129", "97130", 15, 15),
        "92605": ("92605", "92618", 60, 30),
        "92607": ("92607", "92608", 60, 30),
        "96112": ("96112", "96113", 60, 30),
        "97545": ("97545", "97546", 120, 60),
    }


def test_area_codes_and_instruments_rules_4() -> None:
    area = sorted(c.code for c in CATALOGUE if c.kind is Kind.AREA)
    assert area == ["97597", "97598", "97605", "97606", "97607", "97608"]
    assert sorted(c.code for c in CATALOGUE if c.per_instrument) == ["96110", "96127"]
    assert CATALOGUE["97014"].medicare_code == "G0283"


def test_every_label_is_our_own_short_plain_words() -> None:
    labels = [c.label for c in CATALOGUE]
    assert len(set(labels)) == len(labels)
    assert all(0 < len(label) <= 80 and label[0].isupper() for label in labels)


@pytest.mark.parametrize(
    ("typo", "near"),
    [
        ("92129", ["97129"]),  # one digit wrong (RULES.md §5)
        ("91730", ["97130"]),  # two neighbouring digits swapped
        ("97111", ["97110", "97112", "97113", "97116", "97151", "97161", "97171"]),
        ("g0238", ["G0283"]),
        ("97001", ["97010"]),
    ],
)
def test_near_misses_are_one_substitution_or_one_swap_away_best_first_rules_5(
    typo: str, near: list[str]
) -> None:
    assert CATALOGUE.near_misses(typo) == near


@pytest.mark.parametrize("code", ["99213", "97799", "97127", "97110", "9712", "971290"])
def test_codes_with_no_near_miss_rules_5(code: str) -> None:
    # not one edit from a live code, a code of the catalogue itself, or of another length
    assert CATALOGUE.near_misses(code) == []


def test_deleted_codes_are_never_offered_as_near_misses_rules_5() -> None:
    assert "97532" not in CATALOGUE.near_misses("97523")


def test_suggest_gives_the_near_misses_first_rules_5() -> None:
    assert CATALOGUE.suggest("92129") == ["97129"]
    assert CATALOGUE.suggest("91730") == ["97130"]
    assert CATALOGUE.suggest("97110-5") == ["97110"]


@pytest.mark.parametrize("code", ["97110", "g0283", " 99213 ", "A0001"])
def test_well_formed_codes_are_five_digits_or_a_letter_and_four_digits(code: str) -> None:
    assert is_well_formed(code)


@pytest.mark.parametrize("code", ["9711", "971100", "0042T", "97110-59", "GO283", "", "ABCDE"])
def test_codes_that_are_not_well_formed(code: str) -> None:
    assert not is_well_formed(code)

"""Payer profiles: built-ins, user files that override them, and errors with file:line:field."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import platformdirs
import pytest

from cognibill.engine import UnitRule
from cognibill.errors import EntryError, InputError
from cognibill.fees import Span
from cognibill.payers import (
    PAYERS_ENV,
    PayerProfile,
    builtin_ids,
    find_line,
    get_payer,
    load_payers,
    parse_payers,
    starter_profile,
    user_payers_file,
)
from tests.test_estimate import visit as priced

PAYERS = Path(__file__).parent / "data" / "payers"
NO_ENV: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never read the real user config dir: point XDG (Linux) and platformdirs at an empty
    folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(
        platformdirs, "user_config_dir", lambda *a, **k: str(tmp_path / "xdg" / "cognibill")
    )
    monkeypatch.delenv(PAYERS_ENV, raising=False)


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# -- built-ins ---------------------------------------------------------------------------------


def test_builtin_ids() -> None:
    assert builtin_ids() == ("medicare", "commercial")
    assert list(load_payers()) == ["medicare", "commercial"]


def test_medicare_profile() -> None:
    """RULES.md §2 (CMS rule), §6 (modifiers, CQ/CO 85% from 2022, KX), §7 (plan of care), §8."""
    medicare = get_payer("medicare")
    assert medicare.unit_rule is UnitRule.CMS
    assert medicare.is_medicare and medicare.pricing == "mpfs"
    assert medicare.locality is None and medicare.facility is None and medicare.participating
    assert medicare.requires_plan_of_care and medicare.requires_discipline_modifiers
    assert medicare.tracks_kx and medicare.multiple_procedure_reduction
    assert medicare.assistant_rate == Decimal("0.85")
    assert medicare.assistant_rate_from == date(2022, 1, 1)
    assert medicare.assistant_rate_on(date(2021, 12, 31)) == 1
    assert medicare.sequestration == Decimal("0.02") and medicare.coinsurance == Decimal("0.20")
    assert medicare.accepts_slp_cognitive and medicare.covered_diagnoses == ()
    assert medicare.source == "built-in"


def test_rules_5_medicare_ships_no_97130_daily_cap() -> None:
    assert dict(get_payer("medicare").daily_caps) == {}


def test_rules_8_open_settings_are_profile_fields_not_constants() -> None:
    medicare = get_payer("medicare")
    assert medicare.assistant_order in ("after-mppr", "before-mppr")


def test_commercial_profile_says_where_its_range_comes_from() -> None:
    commercial = get_payer("commercial")
    assert commercial.unit_rule is UnitRule.AMA
    assert commercial.pricing == "per-unit"
    assert (commercial.unit_low, commercial.unit_high) == (Decimal(35), Decimal(55))
    assert "public guides quote" in commercial.note
    assert commercial.sequestration == 0 and not commercial.is_medicare
    assert not commercial.tracks_kx


def test_unknown_payer_suggests_a_near_one() -> None:
    with pytest.raises(EntryError) as caught:
        get_payer("medicar")
    assert "medicare, commercial" in caught.value.message
    assert caught.value.hint is not None and "'medicare'" in caught.value.hint


def test_payer_id_is_case_insensitive() -> None:
    assert get_payer("Medicare").id == "medicare"


def test_covers_diagnosis() -> None:
    """RULES.md §9: an empty list covers any diagnosis; prefixes match with or without dots."""
    medicare = get_payer("medicare")
    assert medicare.covers_diagnosis("R41.840")
    brain_injury = PayerProfile(
        id="abi", name="ABI only", unit_rule=UnitRule.AMA, pricing="per-unit",
        unit_low=Decimal(1), unit_high=Decimal(2), covered_diagnoses=("S06", "I69.31"),
    )  # fmt: skip
    assert brain_injury.covers_diagnosis("s06.2x1s") and brain_injury.covers_diagnosis("I69311")
    assert not brain_injury.covers_diagnosis("R41.840")


# -- user files --------------------------------------------------------------------------------


def test_user_file_overrides_a_builtin_field_by_field() -> None:
    path = PAYERS / "override_medicare.toml"
    payers = load_payers(path)
    medicare = payers["medicare"]
    assert medicare.locality == "10112-00"
    assert medicare.source == str(path)
    assert medicare.unit_rule is UnitRule.CMS and medicare.assistant_rate == Decimal("0.85")
    assert payers["commercial"].source == "built-in"


def test_user_profile_override_works_end_to_end() -> None:
    """The overridden medicare prices in Alabama: 97129 $20.86 in January 2025 (PFAL25A)."""
    medicare = get_payer("medicare", PAYERS / "override_medicare.toml")
    estimate = priced(medicare, ("97129", 1), day=date(2025, 1, 15))
    assert estimate.allowed == Span.of(Decimal("20.86"))
    assert estimate.locality is not None and estimate.locality.id == "10112-00"


def test_user_profiles_start_from_a_base() -> None:
    payers = load_payers(PAYERS / "override_medicare.toml")
    acme = payers["acme"]
    assert acme.unit_rule is UnitRule.AMA  # from commercial
    assert acme.per_code == {"97129": Decimal("40.00"), "97130": Decimal("38.50")}
    assert acme.daily_caps == {"97130": 2}
    advantage = payers["mcare-adv"]
    assert advantage.percent == Decimal(110) and advantage.unit_rule is UnitRule.CMS
    assert advantage.locality == "10112-00"  # from the overridden medicare
    estimate = priced(advantage, ("97129", 1), day=date(2025, 1, 15))
    assert estimate.allowed.low == Decimal("22.95")  # 110% of $20.86


def test_user_file_from_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PAYERS_ENV, str(PAYERS / "override_medicare.toml"))
    assert "acme" in load_payers()
    assert user_payers_file() == PAYERS / "override_medicare.toml"


def test_path_given_wins_over_the_environment_variable() -> None:
    env = {PAYERS_ENV: str(PAYERS / "override_medicare.toml")}
    with pytest.raises(InputError):
        load_payers(PAYERS / "broken_field.toml", environ=env)


def test_user_file_from_the_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "cognibill"
    config.mkdir(parents=True)
    (config / "payers.toml").write_text((PAYERS / "override_medicare.toml").read_text())
    assert user_payers_file(environ=NO_ENV) == config / "payers.toml"
    assert get_payer("acme", environ=NO_ENV).name == "Acme Health"


def test_no_user_file_means_builtins_only() -> None:
    assert user_payers_file(environ=NO_ENV) is None
    assert list(load_payers(environ=NO_ENV)) == ["medicare", "commercial"]


def test_missing_user_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="payer file not found"):
        load_payers(tmp_path / "nope.toml")
    with pytest.raises(InputError, match=r"from \$COGNIBILL_PAYERS"):
        load_payers(environ={PAYERS_ENV: str(tmp_path / "nope.toml")})


# -- broken files: file, line, field -----------------------------------------------------------


def test_broken_profile_names_file_line_and_field() -> None:
    path = PAYERS / "broken_field.toml"
    with pytest.raises(InputError) as caught:
        load_payers(path)
    error = caught.value
    assert error.path == str(path)
    assert error.line == line_of(path, "unit_low =")
    assert error.column == "payer.acme.unit_low"
    assert error.lines() == [
        f"{path}:{error.line}: payer.acme.unit_low: expected a number, got 'cheap'"
    ]


def test_unknown_field_suggests_the_right_name() -> None:
    path = PAYERS / "unknown_field.toml"
    with pytest.raises(InputError) as caught:
        load_payers(path)
    assert caught.value.line == line_of(path, "coinsurence")
    assert "did you mean 'coinsurance'" in caught.value.reason


def test_every_problem_is_reported_at_once() -> None:
    path = PAYERS / "several_problems.toml"
    with pytest.raises(InputError) as caught:
        load_payers(path)
    found = {(line, field) for line, field, _ in caught.value.problems}
    assert found == {
        (line_of(path, "unit_rule"), "payer.acme.unit_rule"),
        (line_of(path, "unit_high"), "payer.acme.unit_high"),
        (line_of(path, "coinsurance"), "payer.acme.coinsurance"),
        (line_of(path, '"97130" = -1'), "payer.acme.daily_caps.97130"),
    }
    assert any("0.20 for 20%" in reason for *_, reason in caught.value.problems)


def test_missing_required_fields_point_at_the_profile_table() -> None:
    path = PAYERS / "missing_required.toml"
    with pytest.raises(InputError) as caught:
        load_payers(path)
    found = {(line, field) for line, field, _ in caught.value.problems}
    header = line_of(path, "[payer.acme]")
    assert found == {(header, "payer.acme.unit_rule"), (header, "payer.acme.percent")}


def test_toml_syntax_error_names_the_line() -> None:
    path = PAYERS / "bad_syntax.toml"
    with pytest.raises(InputError) as caught:
        load_payers(path)
    assert caught.value.line == line_of(path, 'pricing "per-unit"')
    assert "not valid TOML" in caught.value.reason


def test_circular_base_is_an_error() -> None:
    with pytest.raises(InputError, match="circular base"):
        load_payers(PAYERS / "circular_base.toml")


def test_top_level_keys_outside_payer_tables_are_errors() -> None:
    with pytest.raises(InputError) as caught:
        parse_payers('name = "x"\n', "inline.toml")
    assert caught.value.line == 1 and caught.value.column == "name"


def test_percent_written_as_a_fraction_is_caught() -> None:
    text = '[payer.x]\nname = "X"\nunit_rule = "cms"\npricing = "percent-of-mpfs"\npercent = 1.1\n'
    with pytest.raises(InputError, match="write 110 for 110%") as caught:
        parse_payers(text, "x.toml")
    assert caught.value.line == 5


def test_find_line() -> None:
    text = '[payer.a]\nname = "A"\n\n[payer."b"]\nname = "B"\n[payer.b.per_code]\n"97129" = 1\n'
    assert find_line(text, "payer.a.name") == 2
    assert find_line(text, "payer.b.name") == 5
    assert find_line(text, "payer.b.per_code.97129") == 7
    assert find_line(text, "payer.b.missing") == 4
    assert find_line(text, "payer.zzz.name") is None


# -- payers init -------------------------------------------------------------------------------


@pytest.mark.parametrize("base", ["commercial", "medicare"])
def test_starter_profile_is_commented_and_loads_back(base: str) -> None:
    text = starter_profile("acme-health", base=base)
    assert text.startswith("# cognibill payer profile 'acme-health'")
    assert "# Patient's share of the allowed amount" in text
    profile = parse_payers(text, "starter.toml")["acme-health"]
    builtin = get_payer(base)
    for name in ("unit_rule", "pricing", "assistant_rate", "sequestration", "coinsurance",
                 "requires_plan_of_care", "tracks_kx", "unit_low", "unit_high"):  # fmt: skip
        assert getattr(profile, name) == getattr(builtin, name), name


def test_starter_profile_rejects_a_bad_id() -> None:
    with pytest.raises(EntryError):
        starter_profile("Acme Health")


# -- start-up ----------------------------------------------------------------------------------

PROBE = """
import json, sys, time
from datetime import date
import polars as pl
from cognibill.fees.kernel import Pricer
from cognibill.fees.schedule import load_schedule
from cognibill.payers import get_payer
payer = get_payer("medicare")
lines = pl.DataFrame({"visit": [0, 0], "code": ["97129", "97130"], "units": [1, 2],
                      "assistant": [False, False]}, schema_overrides={"visit": pl.UInt32})
visits = pl.DataFrame({"visit": [0], "date": [date.today()], "place_of_service": [None],
                       "payer_id": ["medicare"]}, schema_overrides={"visit": pl.UInt32,
                       "place_of_service": pl.String})
(result,) = Pricer({"medicare": payer}, facility=None, locality=None,
                   participating=None).explain(lines, visits)
watch = ("pydantic", "typer", "rich", "tomli_w", "platformdirs")
print(json.dumps({
    "loaded": [m for m in watch if m in sys.modules],
    "gpci_read": "_localities" in load_schedule().__dict__,
    "allowed": str(result.allowed.low),
}))
"""


def _probe(env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_national_estimate_loads_no_heavy_module_and_no_gpci_file(tmp_path: Path) -> None:
    import os

    env = {**os.environ, PAYERS_ENV: str(PAYERS / "override_medicare.toml")}
    env.pop("COGNIBILL_FEE_DATA", None)
    probe = _probe(env)
    assert probe["loaded"] == []  # a path given: platformdirs is not even imported
    assert probe["gpci_read"] is True  # the override sets a locality


def test_default_national_estimate_reads_no_gpcis(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in (PAYERS_ENV, "COGNIBILL_FEE_DATA")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # an empty user config dir
    probe = _probe(env)
    # looked up the config dir without importing platformdirs on Linux; nothing heavier
    assert probe["loaded"] == ([] if sys.platform.startswith("linux") else ["platformdirs"])
    assert probe["gpci_read"] is False
    assert Decimal(str(probe["allowed"])) > 0


def test_user_config_file_is_where_platformdirs_puts_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from cognibill.payers import user_config_file

    for xdg in ("", "/tmp/xdg-config"):
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
        expected = Path(platformdirs.PlatformDirs("cognibill").user_config_dir) / "payers.toml"
        assert user_config_file() == expected

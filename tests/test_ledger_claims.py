"""The biller's year (issue 12): claim runs month by month against one ledger count KX and the
review threshold over the calendar year, in date order, and never bill a line twice
(RULES.md §8, §11)."""

from __future__ import annotations

import datetime as dt
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

Cli = Any

HEADER = "Patient,DOS,Provider NPI,Credential,CPT,Minutes,Payer,Modifiers\n"


def _weeks(start: dt.date, weeks: int, minutes: int = 120, patient: str = "P1") -> str:
    """One 97110 visit a week (a PT, Medicare): 120 min is 8 units, about $185 allowed."""
    return "".join(
        f"{patient},{start + dt.timedelta(days=7 * i)},1234567893,PT,97110,{minutes},Medicare,GP\n"
        for i in range(weeks)
    )


@pytest.fixture
def months(tmp_path: Path) -> dict[str, Path]:
    """January-February (8 visits) and March-May (12 visits) of one patient, and the whole."""
    first = _weeks(dt.date(2026, 1, 5), 8)
    second = _weeks(dt.date(2026, 3, 2), 12)
    paths = {"m1": first, "m2": second, "all": first + second}
    out = {}
    for name, rows in paths.items():
        out[name] = tmp_path / f"{name}.csv"
        out[name].write_text(HEADER + rows, encoding="utf-8")
    return out


def _claim(cli: Cli, path: Path, *args: str) -> Any:
    run = cli("claim", str(path), "-f", "json", *args)
    assert run.code in (0, 1), run.err
    return run


def _kx_dates(data: dict[str, Any]) -> list[str]:
    return [line["date"] for line in data["lines"] if "KX" in line["modifiers"]]


def test_month_two_with_the_ledger_gets_kx_counted_from_january(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m1"], "--ledger", ledger)
    second = _claim(cli, months["m2"], "--ledger", ledger).json()
    whole = _claim(cli, months["all"]).json()
    assert _kx_dates(second) == _kx_dates(whole) != []
    assert _kx_dates(second)[0] == "2026-04-06"
    crossing = [f for x in second["lines"] for f in x["findings"] if f["id"] == "kx-threshold"]
    assert len(crossing) == 1


def test_month_two_without_the_ledger_has_no_kx(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    _claim(cli, months["m1"], "--ledger", str(tmp_path / "year.ledger"))
    alone = _claim(cli, months["m2"], "--no-ledger").json()
    assert _kx_dates(alone) == []


def test_the_environment_names_the_ledger_and_no_ledger_overrides_it(
    cli: Cli, months: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "env.ledger"
    monkeypatch.setenv("COGNIBILL_LEDGER", str(ledger))
    _claim(cli, months["m1"])
    assert ledger.exists()
    assert _kx_dates(_claim(cli, months["m2"], "--no-ledger").json()) == []
    assert _kx_dates(_claim(cli, months["m2"]).json()) != []


def test_rerunning_month_one_adds_nothing_and_flags_every_line_as_already_billed(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m1"], "--ledger", ledger)
    before = cli("ledger", "export", "--ledger", ledger, "-f", "json").json()
    again = _claim(cli, months["m1"], "--ledger", ledger)
    assert again.code == 1
    assert all(
        [f["id"] for f in line["findings"]] == ["already-billed"] for line in again.json()["lines"]
    )
    assert "nothing new to record" in again.err
    after = cli("ledger", "export", "--ledger", ledger, "-f", "json").json()
    assert after == before


def test_already_billed_lines_are_not_counted_twice_toward_kx(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    """Month one twice, then month two: KX where the whole year puts it, not earlier."""
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m1"], "--ledger", ledger)
    _claim(cli, months["m1"], "--ledger", ledger)
    second = _claim(cli, months["m2"], "--ledger", ledger).json()
    assert _kx_dates(second)[0] == "2026-04-06"


def test_replace_puts_a_corrected_month_in_place_of_the_first_and_says_how_many(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m1"], "--ledger", ledger)
    corrected = tmp_path / "m1-corrected.csv"
    corrected.write_text(HEADER + _weeks(dt.date(2026, 1, 5), 8, minutes=60), encoding="utf-8")
    run = _claim(cli, corrected, "--ledger", ledger, "--replace")
    assert run.code == 0
    assert "8 lines added, 8 earlier lines replaced" in run.err
    shown = cli("ledger", "show", "P1", "--ledger", ledger, "--year", "2026", "-f", "json")
    lines = shown.json()["lines"]
    assert len(lines) == 8 and {line["units"] for line in lines} == {4}


def test_check_reads_the_ledger_but_never_records(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m1"], "--ledger", ledger)
    before = cli("ledger", "runs", "--ledger", ledger, "-f", "json").json()
    checked = cli("check", str(months["m2"]), "--ledger", ledger, "-f", "json")
    assert "kx-threshold" in {f["id"] for f in checked.json()["findings"]}
    assert cli("ledger", "runs", "--ledger", ledger, "-f", "json").json() == before


def test_the_ledger_file_is_readable_by_its_owner_only(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = tmp_path / "year.ledger"
    _claim(cli, months["m1"], "--ledger", str(ledger))
    assert stat.S_IMODE(os.stat(ledger).st_mode) == 0o600


def test_a_failed_run_records_nothing(cli: Cli, months: dict[str, Path], tmp_path: Path) -> None:
    """The run records itself only once its report is written: an output that cannot be
    written (a folder that does not exist) leaves the ledger as it was."""
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m1"], "--ledger", ledger)
    before = cli("ledger", "export", "--ledger", ledger, "-f", "json").json()
    failed = cli("claim", str(months["m2"]), "--ledger", ledger, "--out", "/nonexistent/x.csv")
    assert failed.code != 0
    assert cli("ledger", "export", "--ledger", ledger, "-f", "json").json() == before


def test_ledger_show_year_to_date_adds_up_to_the_claims_allowed(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "year.ledger")
    first = _claim(cli, months["m1"], "--ledger", ledger).json()
    second = _claim(cli, months["m2"], "--ledger", ledger).json()
    shown = cli("ledger", "show", "P1", "--ledger", ledger, "--year", "2026", "-f", "json").json()
    claimed = sum(Decimal(x["allowed"]) for x in first["lines"] + second["lines"])
    assert sum(Decimal(line["allowed_lo"]) for line in shown["lines"]) == claimed
    (group,) = [g for g in shown["groups"] if g["group"] == "pt-slp"]
    assert Decimal(group["total_lo"]) == claimed
    assert Decimal(group["to_kx"]) == Decimal(group["kx_threshold"]) - claimed


def test_kx_late_names_the_already_billed_lines_a_late_month_puts_past_the_threshold(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    """March-May billed first (below the threshold: no KX), then January-February: counted in
    date order, the later lines now pass it. The new lines get no KX (they come first);
    kx-late names the billed ones that needed it."""
    ledger = str(tmp_path / "year.ledger")
    first = _claim(cli, months["m2"], "--ledger", ledger).json()
    assert _kx_dates(first) == []
    late = _claim(cli, months["m1"], "--ledger", ledger).json()
    assert _kx_dates(late) == []
    (note,) = [n for n in late["summary"]["notes"] if n["id"] == "kx-late"]
    whole = _claim(cli, months["all"]).json()
    needed = [d for d in _kx_dates(whole) if d >= "2026-03-01"]
    assert note["count"] == len(needed) and note["severity"] == "warning"
    assert all(f"{d} 97110 (run 1)" in note["message"] for d in needed)
    assert note["message"].startswith("P1 2026 PT+SLP: earlier dates in this export move")


def test_a_late_entry_that_stays_below_the_threshold_says_nothing(
    cli: Cli, months: dict[str, Path], tmp_path: Path
) -> None:
    ledger = str(tmp_path / "year.ledger")
    _claim(cli, months["m2"], "--ledger", ledger)
    small = tmp_path / "one.csv"
    small.write_text(HEADER + _weeks(dt.date(2026, 1, 5), 1, minutes=15), encoding="utf-8")
    late = _claim(cli, small, "--ledger", ledger).json()
    assert [n for n in late["summary"]["notes"] if n["id"] == "kx-late"] == []

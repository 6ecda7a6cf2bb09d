"""``cognibill ledger runs|show|export|seed|void``: exit codes, stdout and stderr (issue 12)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from cognibill.ledger import open_ledger
from tests.test_ledger_store import FEB, RUN, SEED_HEADER, claim_lines, month_one


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger with January (97129 x1, 97130 x2 for P1) and February (97129 x1) recorded."""
    monkeypatch.delenv("COGNIBILL_LEDGER", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "year.ledger"
    with open_ledger(path) as book:
        book.record_run(RUN, month_one())
        book.record_run(RUN, claim_lines({"date": FEB}))
    return path


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_runs_in_every_format(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    table = cli("ledger", "runs", "--ledger", str(ledger))
    assert table.code == 0 and table.err == ""
    assert "january.csv" in table.out and "63.07" in table.out
    data = cli("ledger", "runs", "--ledger", str(ledger), "-f", "json").json()["runs"]
    assert [(r["run_id"], r["lines"], r["allowed_lo"]) for r in data] == [
        (1, 2, "63.07"),
        (2, 1, "21.67"),
    ]
    assert data[0]["inputs"] == [{"path": "january.csv", "sha256": "a" * 64, "size": 1234}]
    assert data[0]["recorded_at"].endswith("Z")
    flat = rows(cli("ledger", "runs", "--ledger", str(ledger), "-f", "csv").out)
    assert [(r["run_id"], r["inputs"], r["first_date"]) for r in flat] == [
        ("1", "january.csv", "2026-01-12"),
        ("2", "january.csv", "2026-02-09"),
    ]


def test_show_gives_the_year_to_date_that_adds_up(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    """$21.67 + $41.40 + $21.67 = $84.74 of PT+SLP; KX at $2,480.00 in 2026 (RULES.md §6)."""
    args = ("ledger", "show", "P1", "--year", "2026", "--ledger", str(ledger))
    data = cli(*args, "-f", "json").json()
    slp, ot = data["groups"]
    assert (slp["group"], slp["total_lo"], slp["kx_threshold"], slp["to_kx"]) == (
        "pt-slp",
        "84.74",
        "2480.00",
        "2395.26",
    )
    assert (slp["review_threshold"], slp["to_review"], slp["lines"]) == ("3000.00", "2915.26", 3)
    assert (ot["total_lo"], ot["lines"]) == ("0.00", 0)
    assert [line["code"] for line in data["lines"]] == ["97129", "97130", "97129"]
    assert all(line["counted"] for line in data["lines"])
    table = cli(*args)
    assert table.code == 0
    assert "PT+SLP" in table.out and "$84.74" in table.out and "$2,395.26" in table.out
    flat = rows(cli(*args, "-f", "csv").out)
    assert [(r["group"], r["total_lo"], r["to_kx"]) for r in flat] == [
        ("pt-slp", "84.74", "2395.26"),
        ("ot", "0.00", "2480.00"),
    ]


def test_show_of_a_year_without_lines_is_all_zero(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    data = cli("ledger", "show", "P1", "--year", "2025", "--ledger", str(ledger), "-f", "json")
    assert data.code == 0
    assert [g["total_lo"] for g in data.json()["groups"]] == ["0.00", "0.00"]
    assert data.json()["groups"][0]["kx_threshold"] == "2410.00"  # 2025 (RULES.md §6)


def test_export_in_every_format(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("ledger", "seed", "-", "--ledger", str(ledger)).code == 3  # empty stdin: no header
    seed = ledger.parent / "seed.csv"
    seed.write_text(SEED_HEADER + "P1,2026,ot,100,2026-01-31,MAC portal\n", "utf-8")
    assert cli("ledger", "seed", str(seed), "--ledger", str(ledger)).code == 0
    flat = rows(cli("ledger", "export", "--ledger", str(ledger)).out)  # CSV by default
    assert [(r["kind"], r["date"], r["code"], r["allowed_lo"], r["source"]) for r in flat] == [
        ("line", "2026-01-12", "97129", "21.67", ""),
        ("line", "2026-01-12", "97130", "41.40", ""),
        ("line", "2026-02-09", "97129", "21.67", ""),
        ("seed", "2026-01-31", "", "100.00", "MAC portal"),
    ]
    data = cli("ledger", "export", "--ledger", str(ledger), "-f", "json").json()
    assert (len(data["runs"]), len(data["lines"]), len(data["seeds"])) == (2, 3, 1)
    assert data["lines"][1]["modifiers"] == "GN" and data["lines"][1]["units"] == 2
    table = cli("ledger", "export", "--ledger", str(ledger), "-f", "table")
    assert table.code == 0 and "97130" in table.out and "MAC portal" in table.out


def test_seed_adds_amounts_and_says_so_on_stderr(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    seed = ledger.parent / "seed.csv"
    seed.write_text(SEED_HEADER + 'P1,2026,PT+SLP,"$2,400.00",2026-01-05,MAC portal\n', "utf-8")
    done = cli("ledger", "seed", str(seed), "--ledger", str(ledger))
    assert (done.code, done.out) == (0, "")
    assert done.err == "seeded 1 row: 1 added, 0 updated, 0 already there\n"
    again = cli("ledger", "seed", str(seed), "--ledger", str(ledger), "-f", "json")
    assert again.json() == {"added": 0, "updated": 0, "unchanged": 1}
    csv_out = cli("ledger", "seed", str(seed), "--ledger", str(ledger), "-f", "csv").out
    assert rows(csv_out) == [{"added": "0", "updated": "0", "unchanged": "1"}]
    data = cli("ledger", "show", "P1", "--year", "2026", "--ledger", str(ledger), "-f", "json")
    slp = data.json()["groups"][0]
    assert (slp["seeded"], slp["total_lo"], slp["to_kx"]) == ("2400.00", "2484.74", "-4.74")
    assert (
        "past by $4.74"
        in cli("ledger", "show", "P1", "--year", "2026", "--ledger", str(ledger)).out
    )


def test_seed_creates_a_new_ledger_0600(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = tmp_path / "seed.csv"
    seed.write_text(SEED_HEADER + "P9,2026,ot,10,2026-03-01,portal\n", "utf-8")
    path = tmp_path / "new.ledger"
    assert cli("ledger", "seed", str(seed), "--ledger", str(path)).code == 0
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_bad_seed_file_exits_3_with_line_numbers_and_seeds_nothing(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    seed = ledger.parent / "seed.csv"
    seed.write_text(
        SEED_HEADER + "P1,2026,ot,10,2026-03-01,portal\nP1,2026,ot,ten,2026-03-01,elsewhere\n",
        "utf-8",
    )
    done = cli("ledger", "seed", str(seed), "--ledger", str(ledger))
    assert done.code == 3 and done.out == ""
    assert f"cognibill: error: {seed}:3: amount: 'ten' is not an amount in dollars" in done.err
    exported = cli("ledger", "export", "--ledger", str(ledger), "-f", "json").json()
    assert exported["seeds"] == []


def test_void_removes_a_run(cli, ledger: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("ledger", "void", "2", "--ledger", str(ledger), "-f", "json")
    assert (done.code, done.json()) == (0, {"run_id": 2, "lines_removed": 1})
    assert done.err == "voided run 2: 1 line removed\n"
    assert cli("ledger", "runs", "--ledger", str(ledger), "-f", "csv").out.count("\n") == 2
    again = cli("ledger", "void", "2", "--ledger", str(ledger))
    assert again.code == 2 and "the ledger has no run 2" in again.err
    flat = cli("ledger", "void", "1", "--ledger", str(ledger), "-f", "csv")
    assert rows(flat.out) == [{"run_id": "1", "lines_removed": "2"}]
    table = cli("ledger", "runs", "--ledger", str(ledger))
    assert table.code == 0 and "january.csv" not in table.out


def test_a_missing_ledger_is_an_error_not_a_new_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "nowhere.ledger"
    for args in (("runs",), ("show", "P1"), ("export",), ("void", "1")):
        done = cli("ledger", *args, "--ledger", str(path))
        assert done.code == 3, args
        assert "no ledger here" in done.err
    assert not path.exists()


def test_no_ledger_named_is_a_usage_error(
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("COGNIBILL_LEDGER", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    done = cli("ledger", "runs")
    assert done.code == 2 and "no ledger named" in done.err and "COGNIBILL_LEDGER" in done.err


def test_the_ledger_comes_from_the_environment_then_the_config_file(  # type: ignore[no-untyped-def]
    cli, ledger: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config" / "cognibill"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'ledger = "{ledger}"\n', "utf-8")
    assert cli("ledger", "runs", "-f", "json").json()["runs"][0]["run_id"] == 1
    monkeypatch.setenv("COGNIBILL_LEDGER", str(tmp_path / "elsewhere.ledger"))
    assert cli("ledger", "runs").code == 3  # the variable wins over the config file
    assert cli("ledger", "runs", "--ledger", str(ledger)).code == 0  # the option over both


def test_a_corrupt_ledger_exits_3(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "year.ledger"
    path.write_bytes(os.urandom(4096))
    done = cli("ledger", "runs", "--ledger", str(path))
    assert done.code == 3 and "not a cognibill ledger, or damaged" in done.err
    assert "Traceback" not in done.err


def test_ledger_commands_have_help(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("ledger", "--help")
    assert done.code == 0
    for name in ("runs", "show", "export", "seed", "void"):
        assert name in done.out

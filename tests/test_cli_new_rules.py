"""``cognibill new`` and ``cognibill rules`` through the entry point."""

from __future__ import annotations

from pathlib import Path

from cognibill.readers.session_file import read_session_file


def test_new_from_units_38_writes_a_template_that_reads_back(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "visit.toml"
    run = cli("new", str(target), "--from-units", "38")
    assert run.code == 0 and run.out == ""
    (visit,) = read_session_file(str(target))
    assert [(s.code, s.minutes) for s in visit.services] == [("97129", 38)]


def test_new_to_stdout_and_refusing_to_overwrite(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "[[visit]]" in cli("new").out
    target = tmp_path / "visit.toml"
    target.write_text("keep me")
    run = cli("new", str(target))
    assert run.code == 2 and "refusing to overwrite" in run.err
    assert target.read_text() == "keep me"
    assert cli("new", str(target), "--force").code == 0
    assert "[[visit]]" in target.read_text()


def test_rules_lists_the_catalogue_and_explains_one(cli) -> None:  # type: ignore[no-untyped-def]
    ids = [r["id"] for r in cli("rules", "-f", "json").json()["rules"]]
    assert "addon-without-primary" in ids and "unit-tie" in ids
    one = cli("rules", "addon-without-primary")
    assert one.code == 0 and "RULES.md §5" in one.out and "Example:" in one.out


def test_rules_unknown_id_exits_2_with_a_suggestion(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("rules", "addon-without-primry")
    assert run.code == 2
    assert "did you mean addon-without-primary" in run.err

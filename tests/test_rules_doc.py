"""The rules document ships in the package; every "RULES.md §N" the product cites is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cognibill.errors import EntryError
from cognibill.rulesdoc import cited_sections, document, find_section, section_numbers, sections
from tests.conftest import REPO

PACKAGE = REPO / "cognibill"
SHIPPED = PACKAGE / "data" / "RULES.md"
TEAM_NOTES = REPO.parent / "shared" / "domain" / "RULES.md"

# "RULES.md §4", "RULES.md §4, §5", "RULES.md §1-§3, §7", "RULES.md §2.5".
_ONE = r"§(\d+)(?:\.(\d+))?(?:\s*[-–]\s*§?(\d+))?"
_CITATION = re.compile(rf"RULES\.md\s+({_ONE}(?:\s*,\s*{_ONE})*)")
_ITEM = re.compile(_ONE)
# A bare "§2.5" in a comment means RULES.md too; a CMS manual section ("Ch. 5 §20.2") does not.
_CMS_MANUAL = re.compile(r"(Pub\.|Ch\.|Chapter)\s*[\d-]*\s*$")


def _sources() -> list[Path]:
    files = [p for ext in ("py", "toml", "csv", "md") for p in PACKAGE.rglob(f"*.{ext}")]
    return [p for p in files if p != SHIPPED]


def _cited() -> set[tuple[str, str | None, str]]:
    """Every (section, item, where) cited in the package's code, comments and data files."""
    found: set[tuple[str, str | None, str]] = set()
    for path in _sources():
        text = path.read_text("utf-8")
        for match in _ITEM.finditer(text):
            if _CMS_MANUAL.search(text[max(0, match.start() - 20) : match.start()]):
                continue
            first, item, last = match.group(1), match.group(2), match.group(3)
            where = f"{path.relative_to(REPO)}: {text[match.start() : match.end() + 10]!r}"
            found.add((first, item, where))
            if last:
                found.add((last, None, where))
    return found


def _numbered_items(number: str) -> set[str]:
    return set(re.findall(r"^(\d+)\. ", find_section(number).text, re.M))


def test_the_document_has_the_eleven_sections_in_order() -> None:
    assert section_numbers() == tuple(str(n) for n in range(1, 12))
    assert sections()[0].title == "Units from minutes (confirmed)"
    assert document().startswith("# cognibill billing rules")


def test_every_rules_md_citation_in_the_package_names_a_section_of_the_document() -> None:
    lists = [m.group(1) for p in _sources() for m in _CITATION.finditer(p.read_text("utf-8"))]
    assert len(lists) > 50  # the pattern does find the citations
    assert any("," in cited for cited in lists)  # "§4, §5" lists among them
    missing = [where for number, _, where in _cited() if number not in section_numbers()]
    assert not missing, missing


def test_every_cited_item_of_a_section_is_a_numbered_step_of_it() -> None:
    """§2.1 … §2.5 are the five steps of the CMS total-time rule; the engine cites them."""
    missing = [
        where
        for number, item, where in _cited()
        if item is not None and item not in _numbered_items(number)
    ]
    assert not missing, missing
    assert _numbered_items("2") == {"1", "2", "3", "4", "5"}


def test_each_catalogue_source_names_one_existing_section() -> None:
    from cognibill.rules import all_rules

    for rule in all_rules():
        assert cited_sections(rule.source), rule.id


def test_a_citation_list_or_range_reads_as_its_sections() -> None:
    assert cited_sections("RULES.md §6, §8") == ("6", "8")
    assert cited_sections("RULES.md §1-§3, §7") == ("1", "2", "3", "7")
    assert cited_sections("RULES.md §2.5") == ("2",)
    assert cited_sections("RULES.md §12") == ()


def test_a_section_is_named_by_number_with_or_without_the_sign() -> None:
    assert find_section("2") == find_section("§2") == find_section("§2.5") == find_section(" 2 ")
    with pytest.raises(EntryError, match="no section '12'") as raised:
        find_section("12")
    assert raised.value.hint is not None and "§1, §2" in raised.value.hint


def test_doc_2_prints_section_2_and_nothing_of_section_3(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("rules", "--doc", "2")
    assert run.code == 0 and run.err == ""
    assert run.out.startswith("## 2. Several timed codes in one visit: the CMS total-time rule")
    assert "U = (T + 7) // 15" in run.out
    assert "## 3." not in run.out and "AMA / CPT midpoint" not in run.out
    assert "## 1." not in run.out
    assert cli("rules", "--doc", "§2").out == run.out


def test_doc_without_a_section_prints_the_whole_document(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("rules", "--doc")
    assert run.code == 0 and run.out == document()
    sections_json = cli("rules", "--doc", "-f", "json").json()["sections"]
    assert [s["section"] for s in sections_json] == list(section_numbers())


def test_doc_with_an_unknown_section_exits_2_listing_the_valid_ones(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("rules", "--doc", "12")
    assert run.code == 2 and run.out == ""
    assert "RULES.md has no section '12'" in run.err
    assert "§1, §2, §3, §4, §5, §6, §7, §8, §9, §10, §11" in run.err


def test_one_rule_ends_with_where_to_read_more(cli) -> None:  # type: ignore[no-untyped-def]
    run = cli("rules", "plan-after-service")
    assert run.code == 0
    assert run.out.rstrip().splitlines()[-1] == "Read: cognibill rules --doc 7"


def test_the_document_quotes_no_cpt_descriptor() -> None:
    """Our own labels only: the AMA's wording ("each additional 15 minutes") stays out."""
    text = document().lower()
    assert "each additional 15 minutes" not in text
    assert "initial 15 minutes" not in text


@pytest.mark.skipif(not TEAM_NOTES.is_file(), reason="the team's research notes are not here")
def test_the_document_copies_no_long_line_of_the_team_notes() -> None:
    """In our own words; only the section headings are the same, so that citations stay right."""
    notes = {line.strip() for line in TEAM_NOTES.read_text("utf-8").splitlines()}
    copied = [
        line.strip()
        for line in document().splitlines()
        if len(line.strip()) > 60 and line.strip() in notes and not line.startswith("## ")
    ]
    assert not copied, copied

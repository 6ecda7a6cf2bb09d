"""Rules the claim pipeline raises across visits and payers: KX and review thresholds (RULES.md
§6) and the payer fallback (RULES.md §8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cognibill


def _export(tmp_path: Path, visits: int, payer: str = "medicare", discipline: str = "SLP") -> str:
    """One 38-minute cognitive visit a day for one patient in 2026 ($64.46 allowed each)."""
    start = dt.date(2026, 1, 5)
    rows = ["Patient,DOS,Discipline,CPT,Minutes,Payer,Place of Service"]
    for i in range(visits):
        day = start + dt.timedelta(days=i)
        rows.append(f"P-1,{day.isoformat()},{discipline},97129,38,{payer},11")
    path = tmp_path / "year.csv"
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def _claims(path: str, **options: Any) -> list[Any]:
    """Each visit of a claim run: its billed lines, findings, payer and rule."""
    result = cognibill.bill([path], today=dt.date(2026, 11, 23), **options)
    out = []
    for _, lines in result.lines.group_by("visit", maintain_order=True):
        rows = list(lines.iter_rows(named=True))
        claim = SimpleNamespace(
            lines=[SimpleNamespace(**r) for r in rows if r["units"] > 0],
            findings=[SimpleNamespace(**f) for r in rows for f in r["findings"]],
            payer=rows[0]["payer"],
            rule=SimpleNamespace(value=rows[0]["rule"]),
        )
        out.append(SimpleNamespace(claim=claim))
    return out


def _ids(item: Any) -> list[str]:
    return [f.id for f in item.claim.findings]


def test_kx_threshold_is_raised_on_the_line_that_passes_2480_and_later_lines_carry_kx(
    tmp_path: Path,
) -> None:
    """RULES.md §6: 2026 KX threshold $2,480, PT+SLP together; 39 x $64.46 = $2,513.94."""
    claims = _claims(_export(tmp_path, 40))
    crossing = [i for i, c in enumerate(claims) if "kx-threshold" in _ids(c)]
    assert crossing == [38]  # the 39th visit
    assert all("KX" not in ln.modifiers for c in claims[:38] for ln in c.claim.lines)
    # Counted line by line: on the 39th visit 97129 ($22.38) ends at $2,471.86, still below;
    # its 97130 line passes the threshold and carries KX, as does every later line.
    assert [("KX" in ln.modifiers) for ln in claims[38].claim.lines] == [False, True]
    assert all("KX" in ln.modifiers for c in claims[39:] for ln in c.claim.lines)
    message = next(f for f in claims[38].claim.findings if f.id == "kx-threshold").message
    assert "$2,480.00" in message


def test_kx_threshold_edge_38_visits_stay_below_the_threshold(tmp_path: Path) -> None:
    """38 x $64.46 = $2,449.48: below $2,480, no KX."""
    claims = _claims(_export(tmp_path, 38))
    assert not any("kx-threshold" in _ids(c) for c in claims)
    assert not any("KX" in ln.modifiers for c in claims for ln in c.claim.lines)


def test_kx_threshold_is_not_tracked_for_a_commercial_payer(tmp_path: Path) -> None:
    claims = _claims(_export(tmp_path, 40, payer="commercial"))
    assert not any("kx-threshold" in _ids(c) for c in claims)


def test_medical_review_threshold_info_past_3000_and_not_at_46_visits(tmp_path: Path) -> None:
    """47 x $64.46 = $3,029.62 > $3,000; 46 x $64.46 = $2,965.16."""
    claims = _claims(_export(tmp_path, 47))
    flagged = [i for i, c in enumerate(claims) if "medical-review-threshold" in _ids(c)]
    assert flagged == [46]
    assert not any("medical-review-threshold" in _ids(c) for c in claims[:46])


def _notes(path: str, **options: Any) -> list[dict[str, Any]]:
    """The run's findings about whole files (said once, with their count)."""
    notes = cognibill.bill([path], today=dt.date(2026, 11, 23), **options).summary["notes"]
    assert isinstance(notes, list)
    return notes


def test_payer_fallback_names_the_payer_and_the_profile_used_once_per_file(
    tmp_path: Path,
) -> None:
    """RULES.md §8: a fact about the file, so one note with its count, not one per visit."""
    path = _export(tmp_path, 3, payer="Acme Health")
    claims = _claims(path, payer="commercial")
    assert all("payer-fallback" not in _ids(c) for c in claims)
    (note,) = [n for n in _notes(path, payer="commercial") if n["id"] == "payer-fallback"]
    assert note["message"] == (
        "payer 'Acme Health' has no profile: checked and priced as 'commercial' (3 visits)."
    )
    assert (note["count"], note["severity"]) == (3, "info")
    assert claims[0].claim.payer == "commercial"


def test_payer_fallback_not_raised_for_a_known_profile_in_any_case(tmp_path: Path) -> None:
    claims = _claims(_export(tmp_path, 1, payer="Medicare"))
    assert "payer-fallback" not in _ids(claims[0])
    assert claims[0].claim.payer == "medicare"


def _two_rows(tmp_path: Path, second_payer: str) -> str:
    path = tmp_path / "two.csv"
    path.write_text(
        "Patient,DOS,Provider NPI,Discipline,CPT,Minutes,Payer\n"
        "P-1,2026-03-02,1234567893,SLP,97129,20,medicare\n"
        f"P-1,2026-03-02,1234567893,SLP,97129,18,{second_payer}\n"
    )
    return str(path)


def test_visit_field_conflict_when_rows_of_one_visit_disagree_on_the_payer(tmp_path: Path) -> None:
    """RULES.md §2: the rows form one visit (38 min: 3 units) and the conflict is reported."""
    (claim,) = _claims(_two_rows(tmp_path, "commercial"))
    assert "visit-field-conflict" in _ids(claim)
    assert sum(line.units for line in claim.claim.lines) == 3


def test_visit_field_conflict_edge_rows_that_agree_and_ignore(tmp_path: Path) -> None:
    (claim,) = _claims(_two_rows(tmp_path, "medicare"))
    assert "visit-field-conflict" not in _ids(claim)
    (ignored,) = _claims(
        _two_rows(tmp_path, "commercial"), ignore=frozenset({"visit-field-conflict"})
    )
    assert "visit-field-conflict" not in _ids(ignored)


def test_payer_fallback_without_payer_option_is_commercial_not_medicare(tmp_path: Path) -> None:
    """An unknown named plan (Aetna) must not be checked under Medicare's rules."""
    (claim,) = _claims(_export(tmp_path, 1, payer="Aetna"))
    assert claim.claim.payer == "commercial"
    assert claim.claim.rule.value == "ama"
    assert "'Aetna' has no profile: checked and priced as 'commercial'" in " ".join(
        str(n["message"]) for n in _notes(_export(tmp_path, 1, payer="Aetna"))
    )

"""Rows into visits (issue 4, RULES.md §2: one timed pool per patient and date of service)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from cognibill.engine.units import Entry, UnitRule, compute_units
from cognibill.errors import EntryError
from cognibill.findings import Finding, Severity
from cognibill.grouping import (
    DEFAULT_VISIT_KEY,
    UnsortedInputError,
    describe_visit_key,
    group_visits,
    parse_visit_key,
)
from cognibill.models import Discipline, Visit
from cognibill.readers.csv_export import ExportReader, RejectedRow, ServiceRow
from cognibill.rules import context

CSV = Path(__file__).parent / "data" / "csv"

HEADER = "Client,DOS,Provider NPI,Credential,CPT,Duration,Payer\n"


def visits_of(text: str, key: str | Sequence[str] = DEFAULT_VISIT_KEY) -> list[Visit]:
    rejected: list[RejectedRow] = []
    reader = ExportReader(io.StringIO(HEADER + text))
    return list(group_visits(reader, parse_visit_key(key), on_rejected=rejected.append))


def units(visit: Visit) -> dict[str, int]:
    result = compute_units([Entry(s.code, s.minutes) for s in visit.services], UnitRule.CMS)
    return {line.code: line.units for line in result.lines if line.units}


def test_two_sessions_the_same_day_by_the_same_provider_are_one_visit_rules_md_s2() -> None:
    visits = visits_of(
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\nC1,03/02/2026,111,CCC-SLP,97129,18,Medicare\n"
    )
    assert len(visits) == 1
    visit = visits[0]
    # Repeated codes stay separate services; the engine pools them: 38 min -> 97129 once + 97130 x2.
    assert [s.minutes for s in visit.services] == [20, 18]
    assert units(visit) == {"97129": 1, "97130": 2}
    assert visit.line == 2 and [s.line for s in visit.services] == [2, 3]


def test_different_disciplines_the_same_day_are_separate_visits_by_default_rules_md_s2() -> None:
    visits = visits_of(
        "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\nC1,03/02/2026,222,OTR/L,97530,20,Medicare\n"
    )
    assert [(v.provider.id, v.provider.discipline) for v in visits] == [
        ("111", Discipline.SLP),
        ("222", Discipline.OT),
    ]


def test_key_patient_date_pools_the_whole_day_rules_md_s2_open_setting() -> None:
    rows = "C1,03/02/2026,111,CCC-SLP,97129,7,Medicare\nC1,03/02/2026,222,OTR/L,97530,7,Medicare\n"
    apart = visits_of(rows)
    pooled = visits_of(rows, key="patient,date")
    # Apart, 7 minutes each earn nothing; pooled, 14 minutes earn one unit (RULES.md §1-§2).
    assert [sum(units(v).values()) for v in apart] == [0, 0]
    assert len(pooled) == 1 and sum(units(pooled[0]).values()) == 1


def test_the_pool_never_spans_two_dates_or_two_patients() -> None:
    visits = visits_of(
        "C1,03/02/2026,111,CCC-SLP,97129,7,Medicare\n"
        "C1,03/03/2026,111,CCC-SLP,97129,7,Medicare\n"
        "C2,03/03/2026,111,CCC-SLP,97129,7,Medicare\n",
        key="patient,date",
    )
    assert len(visits) == 3
    assert all(units(v) == {} for v in visits)  # 7 minutes each: no unit (RULES.md §1)


def test_a_visit_key_without_patient_and_date_is_refused() -> None:
    with pytest.raises(EntryError, match="must include patient and date"):
        parse_visit_key("patient,provider")
    with pytest.raises(EntryError, match="unknown field 'room'"):
        parse_visit_key("patient,date,room")


def test_visit_key_spellings() -> None:
    assert parse_visit_key(" Patient , DOS , provider ") == ("patient", "date", "provider")
    assert parse_visit_key(["patient", "date", "session"]) == ("patient", "date", "session_id")


def test_the_default_key_is_described_as_the_claim_output_names_it() -> None:
    assert describe_visit_key(DEFAULT_VISIT_KEY) == context.DEFAULT_VISIT_KEY
    assert describe_visit_key(("patient", "date")) == "patient, date of service"


def test_streaming_emits_a_visit_as_soon_as_the_patient_day_changes() -> None:
    consumed = 0

    def rows() -> Iterator[ServiceRow | RejectedRow]:
        nonlocal consumed
        for item in ExportReader(CSV / "crlf.csv"):
            consumed += 1
            yield item

    visits = group_visits(rows())
    first = next(visits)
    # C1's day (lines 2-3) is complete once C2's row (line 4) arrives; the rest is unread.
    assert (first.patient, len(first.services)) == ("C1", 2)
    assert consumed == 3
    assert [v.patient for v in visits] == ["C2"]


def test_a_patient_day_that_comes_back_stops_streaming_with_its_line() -> None:
    rejected: list[RejectedRow] = []
    reader = ExportReader(CSV / "unsorted.csv")
    with pytest.raises(UnsortedInputError) as caught:
        list(group_visits(reader, source=reader.name, on_rejected=rejected.append))
    assert caught.value.line == 4
    assert caught.value.hint is not None and "--unsorted" in caught.value.hint


def test_buffered_grouping_takes_any_order_and_emits_by_first_line() -> None:
    rejected: list[RejectedRow] = []
    reader = ExportReader(CSV / "unsorted.csv")
    visits = list(group_visits(reader, buffer=True, on_rejected=rejected.append))
    assert [(v.patient, v.line, [s.line for s in v.services]) for v in visits] == [
        ("C1", 2, [2, 4]),
        ("C2", 3, [3]),
    ]
    assert units(visits[0]) == {"97129": 1, "97130": 2}  # 20 + 18 = 38 min pooled: 3 units


def test_streaming_and_buffered_agree_on_sorted_input() -> None:
    def run(buffer: bool) -> list[tuple[str, object, tuple[int | None, ...]]]:
        rejected: list[RejectedRow] = []
        reader = ExportReader(CSV / "bad_rows.csv")
        out = group_visits(reader, buffer=buffer, on_rejected=rejected.append)
        return [(v.patient, v.date, tuple(s.line for s in v.services)) for v in out]

    assert run(buffer=False) == run(buffer=True)


def test_rejected_rows_go_to_the_sink_in_order_and_nothing_is_lost() -> None:
    rejected: list[RejectedRow] = []
    reader = ExportReader(CSV / "bad_rows.csv")
    visits = list(group_visits(reader, on_rejected=rejected.append))
    used = sum(len(v.services) for v in visits)
    assert [r.line for r in rejected] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16]
    assert used + len(rejected) == reader.rows_read


def test_a_rejected_row_without_a_sink_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(ValueError, match="on_rejected"):
        list(group_visits(ExportReader(CSV / "bad_rows.csv")))


def test_visit_fields_that_differ_within_a_visit_are_reported_rules_md_s2() -> None:
    found: list[tuple[int | None, Finding]] = []
    rejected: list[RejectedRow] = []
    reader = ExportReader(
        io.StringIO(
            HEADER + "C1,03/02/2026,111,CCC-SLP,97129,20,Medicare\n"
            "C1,03/02/2026,111,CCC-SLP,97130,15,Aetna\n"
        )
    )
    visits = list(
        group_visits(
            reader,
            on_rejected=rejected.append,
            on_finding=lambda visit, finding: found.append((visit.line, finding)),
        )
    )
    assert len(visits) == 1 and visits[0].payer == "Medicare"
    (line, finding), *more = found
    assert more == [] and line == 2
    assert finding.id == "visit-field-conflict" and finding.severity is Severity.WARNING
    assert "'Medicare' (line 2), 'Aetna' (line 3)" in finding.message
    assert "add payer to --visit-key" in finding.hint


def test_rows_that_agree_raise_no_conflict() -> None:
    found: list[Finding] = []
    rejected: list[RejectedRow] = []
    reader = ExportReader(CSV / "crlf.csv")
    list(group_visits(reader, on_rejected=rejected.append, on_finding=lambda v, f: found.append(f)))
    assert found == []


def test_sessions_and_diagnoses_of_all_rows_are_kept() -> None:
    text = io.StringIO(
        "Patient,Date,Minutes,Code,Session ID,Dx\n"
        "P1,2026-03-02,20,97129,S1,R41.840\n"
        "P1,2026-03-02,18,97130,S2,I69.31\n"
    )
    visits = list(group_visits(ExportReader(text)))
    assert visits[0].session_id == "S1;S2"
    assert visits[0].diagnoses == ("R41.840", "I69.31")


def test_visits_carry_their_source_and_first_line() -> None:
    reader = ExportReader(CSV / "crlf.csv")
    visits = list(group_visits(reader, source=reader.name))
    name = str(CSV / "crlf.csv")
    assert [(v.source, v.line) for v in visits] == [(name, 2), (name, 4)]

"""The services stage: entries checked against the code catalogue and pooled per service
(RULES.md §1, §2, §4, §5, §6), by cognibill.engine.services."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from cognibill.engine.frames import FINDINGS, ROWS, SERVICES, conform, empty
from cognibill.engine.services import FLAGS, Services, build_services

DAY = date(2026, 3, 2)


def entry(code: str, minutes: int = 0, **fields: Any) -> dict[str, Any]:
    """One row as a reader gives it (``billed``: units_billed; ``assistant``: its minutes)."""
    return {
        "code": code,
        "minutes": minutes,
        "assistant_minutes": fields.pop("assistant", 0),
        "group": fields.pop("group", False),
        "units_billed": fields.pop("billed", None),
        "modifiers": list(fields.pop("modifiers", ())),
        "line": fields.pop("line", None),
        **fields,
    }


def run(*visits: list[dict[str, Any]], days: tuple[date, ...] = ()) -> Services:
    """The services stage on visits 0, 1, ... (each a list of entries), on ``days`` or DAY."""
    records: list[dict[str, Any]] = []
    for index, entries in enumerate(visits):
        for item in entries:
            records.append({"visit": index, "row": len(records), **item})
    rows = conform(pl.DataFrame(records), ROWS) if records else empty(ROWS)
    ids = [r["visit"] for r in records]
    rows = rows.with_columns(pl.Series("visit", ids, dtype=pl.UInt32))
    dates = list(days) or [DAY] * len(visits)
    visit_frame = pl.DataFrame(
        {"visit": list(range(len(visits))), "date": dates},
        schema={"visit": pl.UInt32, "date": pl.Date},
    )
    return build_services(rows, visit_frame)


def service(result: Services, key: str, visit: int = 0) -> dict[str, Any]:
    found = result.services.filter((pl.col("visit") == visit) & (pl.col("service") == key))
    assert found.height == 1
    return found.row(0, named=True)


def messages(result: Services, rule_id: str) -> list[str]:
    return result.findings.filter(pl.col("id") == rule_id).get_column("message").to_list()


def test_frames_have_the_stage_schemas() -> None:
    result = run([entry("97110", 30)], [])
    assert result.services.schema == pl.Schema(SERVICES)
    assert result.flags.schema == pl.Schema(FLAGS)
    assert result.findings.schema == pl.Schema(FINDINGS)
    empty = run()
    assert empty.services.height == empty.flags.height == empty.findings.height == 0


# -- pooling (RULES.md §2, §5) --------------------------------------------------------------------


def test_97129_15_and_97130_23_minutes_are_one_cognitive_service_of_38_minutes_rules_5() -> None:
    result = run([entry("97129", 15, billed=1), entry("97130", 23, billed=2)])
    cognitive = service(result, "cognitive")
    assert cognitive["kind"] == "timed"
    assert cognitive["codes"] == ["97129", "97130"]
    assert cognitive["minutes"] == 38
    assert (cognitive["billed"], cognitive["billed_primary"], cognitive["billed_addon"]) == (
        3,
        1,
        2,
    )
    assert result.services.height == 1


def test_97110_entered_twice_is_one_service_with_the_minutes_summed_rules_2() -> None:
    result = run([entry("97110", 10, assistant=2, line=4), entry("97110", 14, line=9)])
    therex = service(result, "97110")
    assert (therex["minutes"], therex["assistant_minutes"], therex["first_line"]) == (24, 2, 4)


def test_codes_keep_entry_order_and_services_sort_in_code_order_pair_as_97129_rules_5() -> None:
    result = run([entry("97530", 10), entry("97130", 20), entry("97110", 10), entry("97129", 5)])
    ordered = result.services.sort("order").get_column("service").to_list()
    assert ordered == ["97110", "cognitive", "97530"]
    assert result.services.get_column("service").to_list() == ordered
    assert service(result, "cognitive")["codes"] == ["97130", "97129"]


def test_pair_billed_units_split_by_code_only_once_some_entry_states_them_rules_5() -> None:
    unstated = service(run([entry("97129", 20), entry("97130", 10)]), "cognitive")
    assert (unstated["billed_primary"], unstated["billed_addon"]) == (None, None)
    addon_only = service(run([entry("97130", 38, billed=2)]), "cognitive")
    assert (addon_only["billed_primary"], addon_only["billed_addon"]) == (0, 2)
    assert service(run([entry("97110", 20, billed=1)]), "97110")["billed_primary"] is None


def test_billed_units_are_complete_only_when_every_entry_states_them_rules_7() -> None:
    both = service(run([entry("97110", 10, billed=1), entry("97110", 10, billed=1)]), "97110")
    assert (both["billed"], both["billed_complete"], both["billed_stated"]) == (2, True, True)
    one = service(run([entry("97110", 10), entry("97110", 10, billed=1)]), "97110")
    assert (one["billed"], one["billed_complete"], one["billed_stated"]) == (1, False, True)
    none = service(run([entry("97110", 10)]), "97110")
    assert (none["billed"], none["billed_complete"], none["billed_stated"]) == (0, False, False)


def test_modifiers_are_cleaned_and_merged_in_entry_order_rules_6() -> None:
    result = run(
        [
            entry("97110", 10, modifiers=(" gp", "59", "GP")),
            entry("97110", 10, modifiers=("GP", "95", " ", "kx")),
            entry("97112", 10),
        ]
    )
    assert service(result, "97110")["modifiers"] == ["GP", "59", "95", "KX"]
    assert service(result, "97112")["modifiers"] == []


# -- flags (RULES.md §6) -------------------------------------------------------------------------


def test_flags_of_telehealth_modifiers_billed_units_and_therapy_codes_rules_6() -> None:
    result = run(
        [entry("97129", 30, modifiers=("93",))],
        [entry("97110", 30, billed=2)],
        [entry("92129", 30, modifiers=("95",), billed=2)],  # unknown: left out, flags nothing
    )
    assert result.flags.rows() == [
        (0, False, True, True, False),  # 97129 is "sometimes therapy"
        (1, True, False, True, True),
        (2, False, False, False, False),
    ]
    assert result.services.get_column("visit").to_list() == [0, 1]


def test_group_work_billed_units_still_count_as_billed_for_the_flags_rules_5() -> None:
    result = run([entry("97129", 45, group=True, billed=3)])
    assert result.flags.row(0) == (0, True, False, True, True)  # 97150 is "always therapy"


# -- unknown and deleted codes (RULES.md §5) -----------------------------------------------------


def test_unknown_code_92129_is_left_out_and_suggests_97129_rules_5() -> None:
    result = run([entry("92129", 30, line=7), entry("97110", 20)])
    assert result.findings.select("id", "severity", "code", "line").rows() == [
        ("unknown-code", "error", "92129", 7)
    ]
    assert messages(result, "unknown-code") == [
        "92129 is not a code in scope; did you mean 97129? Its 30 min were left out of the units."
    ]
    assert result.services.get_column("service").to_list() == ["97110"]


def test_unknown_code_91730_suggests_97130_first_and_a_far_code_nothing_rules_5() -> None:
    result = run([entry("91730", 20), entry("ABCDE", 5)])
    assert messages(result, "unknown-code") == [
        "91730 is not a code in scope; did you mean 97130? Its 20 min were left out of the units.",
        "ABCDE is not a code in scope. Its 5 min were left out of the units.",
    ]


def test_g0515_on_its_deletion_date_is_left_out_pointing_to_97129_97130_rules_5() -> None:
    result = run([entry("G0515", 30)], days=(date(2020, 1, 1),))
    assert messages(result, "deleted-code") == [
        "G0515 was deleted on 2020-01-01 and cannot be billed on 2020-01-01; use 97129/97130. "
        "Its minutes were left out of the units."
    ]
    assert result.services.height == 0


def test_g0515_the_day_before_its_deletion_is_billed_rules_5() -> None:
    result = run([entry("G0515", 30)], days=(date(2019, 12, 31),))
    assert result.findings.height == 0
    assert service(result, "G0515")["minutes"] == 30


# -- before a code existed (RULES.md §5) ---------------------------------------------------------


def test_97129_on_2019_12_31_is_reported_and_kept_rules_5() -> None:
    result = run([entry("97129", 30)], days=(date(2019, 12, 31),))
    assert messages(result, "before-code-existed") == [
        "97129 did not exist on 2019-12-31: it is valid from 2020-01-01. Before 2020 cognitive "
        "intervention was 97127 or G0515 (2018-2019), 97532 before."
    ]
    assert service(result, "cognitive")["minutes"] == 30


def test_97129_on_2020_01_01_is_not_reported_rules_5() -> None:
    assert run([entry("97129", 30)], days=(date(2020, 1, 1),)).findings.height == 0


# -- impossible minutes (RULES.md §1) ------------------------------------------------------------


def test_impossible_minutes_are_left_out_with_what_is_wrong_rules_1() -> None:
    result = run(
        [
            entry("97110", -5),
            entry("97112", 10, assistant=-1),
            entry("97530", 30, assistant=45),
            entry("97535", 30, assistant=30),  # all assistant minutes: possible
        ]
    )
    assert messages(result, "invalid-minutes") == [
        "97110: -5 minutes cannot be negative; the entry was left out of the units.",
        "97112: assistant minutes -1 cannot be negative; the entry was left out of the units.",
        "97530: assistant minutes 45 exceed the 30 min; the entry was left out of the units.",
    ]
    assert result.services.get_column("service").to_list() == ["97535"]


# -- group work (RULES.md §4, §5) ----------------------------------------------------------------


def test_97129_for_a_group_bills_as_97150_and_warns_rules_5() -> None:
    result = run([entry("97129", 45, group=True, line=3)])
    assert result.findings.select("id", "severity", "code", "line").rows() == [
        ("group-session", "warning", "97129", 3)
    ]
    assert messages(result, "group-session") == [
        "97129 for a group bills as 97150 ×1 per patient (45 min, untimed); the claim lines use "
        "97150."
    ]
    group = service(result, "97150")
    assert (group["kind"], group["codes"], group["billed_stated"]) == ("untimed", ["97129"], False)


def test_units_billed_under_the_individual_code_for_a_group_are_an_error_rules_5() -> None:
    result = run([entry("97129", 45, group=True, billed=3)])
    assert result.findings.select("severity").item() == "error"
    assert messages(result, "group-session") == [
        "97129 ×3 billed for group work: a group bills as 97150 ×1 per patient, not 97129/97130; "
        "the claim lines use 97150."
    ]


def test_92507_for_a_group_bills_as_92508_and_97150_itself_is_not_reported_rules_4() -> None:
    result = run([entry("92507", 30, group=True), entry("97150", 30, group=True)])
    assert result.findings.get_column("code").to_list() == ["92507"]
    assert sorted(result.services.get_column("service").to_list()) == ["92508", "97150"]


def test_97130_in_2019_for_a_group_reports_before_code_existed_then_group_rules_5() -> None:
    result = run([entry("97130", 20, group=True)], days=(date(2019, 6, 3),))
    assert result.findings.get_column("id").to_list() == ["before-code-existed", "group-session"]

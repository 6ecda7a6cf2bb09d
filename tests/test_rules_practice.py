"""Who furnished a visit and the modifiers that follow, on frames: RULES.md §6."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from cognibill.engine.frames import FINDINGS, SERVICES, VISITS, Batch, conform, empty
from cognibill.rules.context import COMMERCIAL_LIKE, MEDICARE_LIKE, PayerPolicy, StandInPayer
from cognibill.rules.practice import RULES, check_provider, line_modifiers

PAYERS: dict[str, PayerPolicy] = {
    "medicare": MEDICARE_LIKE,
    "commercial": COMMERCIAL_LIKE,
    "acme": StandInPayer(id="acme", accepts_slp_cognitive=False),
}
TODAY = dt.date(2026, 3, 15)


def svc(
    service: str,
    minutes: int,
    *,
    visit: int = 0,
    assistant: int = 0,
    modifiers: tuple[str, ...] = (),
    codes: tuple[str, ...] | None = None,
    line: int | None = None,
) -> dict[str, Any]:
    """One SERVICES row (``service``: the code, or ``cognitive`` for 97129/97130)."""
    return {
        "visit": visit,
        "service": service,
        "codes": list(codes or (("97129",) if service == "cognitive" else (service,))),
        "minutes": minutes,
        "assistant_minutes": assistant,
        "modifiers": list(modifiers),
        "first_line": line,
    }


def services(*rows: dict[str, Any]) -> pl.DataFrame:
    frame = pl.DataFrame(list(rows)).with_columns(
        pl.when(pl.col("service") == "cognitive")
        .then(pl.lit("97129"))
        .otherwise(pl.col("service"))
        .alias("_key")
    )
    frame = frame.with_columns(
        pl.col("_key").rank("ordinal").over("visit").sub(1).alias("order")
    ).sort("visit", "order")
    return conform(frame, SERVICES)


def visits(*disciplines: str | None, plan: bool = True, payer: str = "medicare") -> pl.DataFrame:
    """One VISITS row per discipline given, all with the same plan and payer."""
    return conform(
        pl.DataFrame(
            {
                "visit": list(range(len(disciplines))),
                "discipline": list(disciplines),
                "has_plan": [plan] * len(disciplines),
                "payer_id": [payer] * len(disciplines),
            },
            schema={
                "visit": pl.UInt32,
                "discipline": pl.String,
                "has_plan": pl.Boolean,
                "payer_id": pl.String,
            },
        ),
        VISITS,
    )


def modify(
    service_rows: pl.DataFrame, visit_rows: pl.DataFrame, billed: pl.DataFrame | None = None
) -> tuple[dict[tuple[int, str], tuple[str, ...]], list[dict[str, Any]]]:
    """``line_modifiers`` with every service billed unless told: modifiers by (visit, service),
    findings as dicts."""
    if billed is None:
        billed = service_rows.select("visit", "service")
    mods, found = line_modifiers(service_rows, visit_rows, PAYERS, billed)
    assert found.schema == pl.Schema(FINDINGS)
    by_key = {(r["visit"], r["service"]): tuple(r["modifiers"]) for r in mods.iter_rows(named=True)}
    return by_key, found.to_dicts()


def provider(service_rows: pl.DataFrame, visit_rows: pl.DataFrame) -> list[dict[str, Any]]:
    batch = Batch(visit_rows, service_rows, empty(SERVICES), PAYERS, TODAY)
    found = check_provider(batch)
    assert found.schema == pl.Schema(FINDINGS)
    return found.to_dicts()


def only(found: list[dict[str, Any]], rule_id: str) -> dict[str, Any]:
    matching = [f for f in found if f["id"] == rule_id]
    assert len(matching) == 1, found
    return matching[0]


# -- GN/GO/GP from the discipline (RULES.md §6) --------------------------------------------------


@pytest.mark.parametrize(
    ("discipline", "expected", "reported"),
    [
        ("pt", ("GP",), []),
        ("ot", ("GO",), []),
        ("slp", ("GN",), []),
        ("pta", ("GP", "CQ"), ["assistant-modifier"]),
        ("ota", ("GO", "CO"), ["assistant-modifier"]),
    ],
)
def test_lines_carry_gp_go_gn_from_the_discipline_and_cq_co_for_assistants_rules_6(
    discipline: str, expected: tuple[str, ...], reported: list[str]
) -> None:
    """An assistant furnished all of the minutes: CQ/CO is added, with a warning."""
    mods, found = modify(services(svc("cognitive", 38)), visits(discipline))
    assert mods == {(0, "cognitive"): expected}
    assert [f["id"] for f in found] == reported


def test_the_input_modifiers_other_than_gn_go_gp_cq_co_are_kept_after_them_rules_6() -> None:
    mods, found = modify(services(svc("97110", 30, modifiers=("GP", "KX", "59"))), visits("pt"))
    assert mods == {(0, "97110"): ("GP", "KX", "59")}
    assert found == []


def test_a_payer_without_the_modifier_requirement_gets_the_input_modifiers_rules_6() -> None:
    rows = services(svc("97110", 30, modifiers=("GO", "59"), assistant=20))
    mods, found = modify(rows, visits("pt", payer="commercial"))
    assert mods == {(0, "97110"): ("GO", "59")}
    assert found == []


def test_a_code_that_is_not_therapy_takes_no_gn_go_gp_rules_6() -> None:
    mods, found = modify(services(svc("96125", 60, modifiers=("59",))), visits("slp"))
    assert mods == {(0, "96125"): ("59",)}
    assert found == []


def test_missing_discipline_modifier_when_others_are_given_is_an_error_and_added_rules_6() -> None:
    mods, found = modify(services(svc("cognitive", 30, modifiers=("59",))), visits("slp"))
    assert mods == {(0, "cognitive"): ("GN", "59")}
    finding = only(found, "discipline-modifier")
    assert finding["severity"] == "error"
    assert finding["code"] == "97129"
    assert finding["message"] == (
        "97129/97130 lists 59 but no GN/GO/GP; the SLP's lines need GN; the claim lines add it."
    )


def test_discipline_modifier_gp_on_an_slps_line_is_replaced_by_gn_rules_6() -> None:
    mods, found = modify(services(svc("cognitive", 30, modifiers=("GP",))), visits("slp"))
    assert mods == {(0, "cognitive"): ("GN",)}
    assert only(found, "discipline-modifier")["message"] == (
        "97129/97130 carries GP but the SLP's lines need GN; the claim lines use GN."
    )


def test_discipline_modifier_several_on_one_line_rules_6() -> None:
    mods, found = modify(services(svc("97110", 30, modifiers=("GN", "GP"))), visits("pt"))
    assert mods == {(0, "97110"): ("GP",)}
    assert only(found, "discipline-modifier")["message"] == (
        "97110 carries GN and GP: a line takes exactly one of GN/GO/GP; the PT's lines take GP."
    )


@pytest.mark.parametrize("discipline", ["physician", "np", "psychologist", "cns", "pa"])
def test_a_practitioner_billing_97129_outside_a_plan_needs_no_gn_go_gp_rules_6(
    discipline: str,
) -> None:
    mods, found = modify(services(svc("cognitive", 38)), visits(discipline, plan=False))
    assert mods == {(0, "cognitive"): ()}
    assert found == []


def test_a_psychologist_under_a_plan_keeps_the_plans_modifier_from_the_input_rules_6() -> None:
    rows = services(svc("cognitive", 30, modifiers=("GN",)))
    mods, found = modify(rows, visits("psychologist"))
    assert mods == {(0, "cognitive"): ("GN",)}
    assert found == []


def test_a_physician_under_a_plan_without_a_modifier_cannot_be_told_apart_rules_6() -> None:
    mods, found = modify(services(svc("cognitive", 30)), visits("physician"))
    assert mods == {(0, "cognitive"): ()}
    assert only(found, "discipline-modifier")["message"] == (
        "97129/97130 needs GP, GO or GN under a therapy plan of care, and a physician gives no "
        "way to tell which: name the plan's discipline with a modifier."
    )


def test_a_physician_billing_always_therapy_97110_needs_one_outside_a_plan_too_rules_6() -> None:
    _, found = modify(services(svc("97110", 30)), visits("physician", plan=False))
    assert "97110 needs GP, GO or GN" in only(found, "discipline-modifier")["message"]


def test_a_provider_of_unknown_discipline_under_a_plan_needs_a_modifier_rules_6() -> None:
    _, found = modify(services(svc("97110", 30)), visits(None))
    assert (
        "and a provider of unknown discipline gives no way"
        in only(found, "discipline-modifier")["message"]
    )


def test_only_services_that_bill_a_unit_get_modifiers_and_findings_rules_6() -> None:
    rows = services(svc("97110", 5, modifiers=("GO",)), svc("97112", 30))
    billed = pl.DataFrame(
        {"visit": [0, 0], "service": ["97110", "97112"], "units": [0, 2]},
        schema={"visit": pl.UInt32, "service": pl.String, "units": pl.Int32},
    )
    mods, found = modify(rows, visits("pt"), billed)
    assert mods == {(0, "97112"): ("GP",)}
    assert found == []


# -- CQ/CO above 10% assistant minutes (RULES.md §6) ---------------------------------------------


def test_exactly_10_percent_assistant_minutes_needs_no_cq_rules_6() -> None:
    mods, found = modify(services(svc("97110", 40, assistant=4)), visits("pt"))
    assert mods == {(0, "97110"): ("GP",)}
    assert found == []


def test_just_above_10_percent_assistant_minutes_adds_cq_with_a_warning_rules_6() -> None:
    mods, found = modify(services(svc("97110", 39, assistant=4)), visits("pt"))
    assert mods == {(0, "97110"): ("GP", "CQ")}
    finding = only(found, "assistant-modifier")
    assert finding["severity"] == "warning"
    assert finding["message"] == (
        "97110: an assistant furnished 4 of 39 min (10.3%), over 10%: the line needs CQ "
        "(Medicare pays 85% of it); the claim lines add it."
    )


def test_an_ot_line_above_10_percent_gets_co_and_a_stated_co_is_quiet_rules_6() -> None:
    rows = services(
        svc("97530", 31, assistant=4), svc("97535", 30, assistant=8, modifiers=("GO", "CO"))
    )
    mods, found = modify(rows, visits("ot"))
    assert mods == {(0, "97530"): ("GO", "CO"), (0, "97535"): ("GO", "CO")}
    assert [f["message"] for f in found] == [
        "97530: an assistant furnished 4 of 31 min (12.9%), over 10%: the line needs CO "
        "(Medicare pays 85% of it); the claim lines add it."
    ]


def test_cq_stated_at_exactly_10_percent_is_kept_with_a_warning_and_its_own_hint_rules_6() -> None:
    mods, found = modify(services(svc("97110", 40, assistant=4, modifiers=("CQ",))), visits("pt"))
    assert mods == {(0, "97110"): ("GP", "CQ")}
    finding = only(found, "assistant-modifier")
    assert finding["message"] == (
        "97110 carries CQ but the assistant furnished 4 of 40 min (10%), not over 10%: CQ is due "
        "only above 10% and cuts the payment to 85%."
    )
    assert finding["hint"] == "Enter assistant_minutes, or drop CQ."


def test_cq_on_an_ot_line_is_an_error_and_co_takes_its_place_rules_6() -> None:
    rows = services(svc("97530", 30, assistant=30, modifiers=("GO", "CQ")))
    mods, found = modify(rows, visits("ot"))
    assert mods == {(0, "97530"): ("GO", "CO")}
    assert [(f["severity"], f["message"]) for f in found] == [
        (
            "error",
            "97530 carries CQ, which is for PT assistants (with GP), on a OT's line; a OT's "
            "assistant takes CO.",
        ),
        (
            "warning",
            "97530: an assistant furnished 30 of 30 min (100%), over 10%: the line needs CO "
            "(Medicare pays 85% of it); the claim lines add it.",
        ),
    ]


def test_an_slps_assistant_minutes_have_no_modifier_rules_6() -> None:
    mods, found = modify(services(svc("92507", 30, assistant=10)), visits("slp"))
    assert mods == {(0, "92507"): ("GN",)}
    finding = only(found, "assistant-modifier")
    assert finding["message"] == (
        "92507: an assistant furnished 10 of 30 min (33.3%), but no assistant modifier exists "
        "for a SLP's line; check the payer's rules on assistants."
    )
    assert finding["hint"] == (
        "CQ/CO exist only for PT and OT assistants; there is no SLP-assistant modifier."
    )


def test_assistant_minutes_without_a_discipline_cannot_choose_cq_or_co_rules_6() -> None:
    mods, found = modify(services(svc("97110", 38, assistant=5, modifiers=("GP",))), visits(None))
    assert mods == {(0, "97110"): ("GP",)}
    assert only(found, "assistant-modifier")["message"] == (
        "97110: an assistant furnished 5 of 38 min (13.2%), over 10%, but without a discipline "
        "the line cannot tell CQ (PT) from CO (OT)."
    )


def test_findings_come_in_code_order_with_the_discipline_modifier_first_rules_6() -> None:
    rows = services(
        svc("97530", 30, assistant=30, modifiers=("59",)),
        svc("97110", 30, modifiers=("GO", "CO")),
    )
    _, found = modify(rows, visits("pt"))
    assert [(f["id"], f["code"]) for f in found] == [
        ("discipline-modifier", "97110"),
        ("assistant-modifier", "97110"),
        ("discipline-modifier", "97530"),
        ("assistant-modifier", "97530"),
    ]


# -- slp-97000-series (RULES.md §6) --------------------------------------------------------------


def test_an_slp_billing_97110_is_warned_toward_92507_rules_6() -> None:
    finding = only(provider(services(svc("97110", 30)), visits("slp")), "slp-97000-series")
    assert finding["severity"] == "warning"
    assert finding["code"] == "97110"
    assert finding["message"] == (
        "SLP billing 97110 (30 min): some payers question 97000-series codes from SLPs; 92507 "
        "(untimed) is the usual SLP code."
    )


def test_an_slp_billing_group_97150_is_warned_toward_92508_rules_6() -> None:
    found = provider(services(svc("97150", 45)), visits("slp"))
    assert "92508 (untimed) is the usual SLP code" in only(found, "slp-97000-series")["message"]


def test_97129_from_an_slp_where_the_payer_refuses_it_rules_6() -> None:
    found = provider(services(svc("cognitive", 30)), visits("slp", payer="acme"))
    assert only(found, "slp-97000-series")["message"] == (
        "acme does not accept 97129/97130 from an SLP (30 min); bill 92507 (untimed, 1 unit) "
        "instead."
    )


def test_97129_where_accepted_92507_and_an_ots_97110_are_not_warned_rules_6() -> None:
    assert provider(services(svc("cognitive", 30), svc("92507", 30)), visits("slp")) == []
    assert provider(services(svc("97110", 30)), visits("ot")) == []


# -- unqualified-provider (RULES.md §6) ----------------------------------------------------------


def test_a_therapy_aides_minutes_never_count_rules_6() -> None:
    rows = services(svc("97110", 10, line=12), svc("cognitive", 30, line=11))
    finding = only(provider(rows, visits("aide")), "unqualified-provider")
    assert finding["severity"] == "error"
    assert finding["code"] is None
    assert finding["message"] == (
        "a therapy aide's 40 min never count as treatment time: 97129/97130, 97110 cannot be "
        "billed for this visit."
    )
    assert finding["hint"].startswith("Bill only time of a PT, OT, SLP")


def test_a_provider_of_another_discipline_is_not_qualified_rules_6() -> None:
    found = provider(services(svc("97110", 25)), visits("other"))
    assert only(found, "unqualified-provider")["message"] == (
        "a provider of another discipline is not qualified under RULES.md §6 (25 min): 97110 "
        "cannot be billed for this visit."
    )


@pytest.mark.parametrize(
    "discipline", ["pt", "ot", "physician", "psychologist", "np", "cns", "pa", "pta", "ota", None]
)
def test_the_qualified_disciplines_are_not_reported_rules_6(discipline: str | None) -> None:
    assert provider(services(svc("cognitive", 30)), visits(discipline)) == []


def test_an_aide_gets_no_gn_go_gp_rules_6() -> None:
    mods, found = modify(services(svc("97110", 30)), visits("aide"))
    assert mods == {(0, "97110"): ()}
    assert found == []


def test_the_rules_of_the_module_rules_6() -> None:
    assert (check_provider,) == RULES
    assert provider(empty(SERVICES), visits("aide")) == []


@pytest.mark.parametrize("numbers", [[5, 6], [7, 3]])
def test_visits_of_a_later_chunk_or_numbered_with_gaps_get_their_own_discipline_rules_6(
    numbers: list[int],
) -> None:
    rows = services(svc("97110", 30, visit=numbers[0]), svc("97110", 30, visit=numbers[1]))
    visit_rows = visits("pt", "ot").with_columns(pl.Series("visit", numbers, dtype=pl.UInt32))
    mods, found = modify(rows, visit_rows)
    assert mods == {(numbers[0], "97110"): ("GP",), (numbers[1], "97110"): ("GO",)}
    assert found == []

"""CMS status of the billed codes on the date of service (RULES.md §4; rvu.csv ``status``): codes
Medicare bundles (B) or does not pay (I, N, X, E) are findings for payers that follow Medicare
(``is_medicare``), never rejections, and say nothing for other payers."""

from __future__ import annotations

from datetime import date

import pytest

from cognibill.rules import COMMERCIAL_LIKE, StandInPayer
from tests.test_codes_units import billed
from tests.test_rules_support import svc

MEDICARE_ADVANTAGE = StandInPayer(id="ma", name="A plan that follows Medicare")
NOT_MEDICARE_BUT_STRICT = StandInPayer(
    id="strict", name="Commercial, plans of care and KX", is_medicare=False, tracks_kx=True
)


def test_code_bundled_97010_to_medicare_is_a_warning_and_the_line_stays_rules_4() -> None:
    done = billed(svc("97010", 15), svc("97110", 30))
    assert done.units() == {"97010": 1, "97110": 2}
    assert [(i, s) for i, s, _ in done.findings if i.startswith("code-")] == [
        ("code-bundled", "warning")
    ]
    assert done.messages("code-bundled") == [
        "97010 is bundled by Medicare (CMS status B on 2026-07-15): it is not paid separately, "
        "its payment is in the visit's other services; leave it off the Medicare claim."
    ]


@pytest.mark.parametrize("code", ["97602", "92606"])
def test_code_bundled_for_every_status_b_code_rules_4(code: str) -> None:
    assert billed(svc(code, 20), discipline="slp").ids().count("code-bundled") == 1


def test_code_bundled_92605_is_said_for_each_billed_line_of_the_family_rules_4() -> None:
    done = billed(svc("92605", 76), discipline="slp")
    assert [m.split(" ")[0] for m in done.messages("code-bundled")] == ["92605", "92618"]


def test_code_not_payable_97014_to_medicare_names_g0283_rules_4() -> None:
    done = billed(svc("97014", 15))
    assert done.units() == {"97014": 1}
    assert done.messages("code-not-payable") == [
        "97014 is not valid for Medicare (CMS status I on 2026-07-15): Medicare uses another code "
        "for it; bill G0283 instead."
    ]


def test_code_not_payable_g0283_is_what_medicare_takes_for_unattended_e_stim_rules_4() -> None:
    done = billed(svc("G0283", 15))
    assert not [i for i in done.ids() if i.startswith("code-")]


@pytest.mark.parametrize(
    ("code", "status", "said"),
    [
        ("97169", "N", "is not covered by Medicare"),
        ("96110", "N", "is not covered by Medicare"),
        ("G0151", "X", "by statute"),
        ("G0157", "E", "by regulation"),
    ],
)
def test_code_not_payable_for_status_n_x_and_e_rules_4(code: str, status: str, said: str) -> None:
    (message,) = billed(svc(code, 20)).messages("code-not-payable")
    assert message.startswith(f"{code} {said}") or f"{code} is excluded" in message
    assert said in message and f"CMS status {status} on 2026-07-15" in message


def test_code_not_payable_follows_the_date_of_service_20560_in_2020_rules_4() -> None:
    # 20560 was N in the January 2020 release only, A from 2020-04-01
    early = billed(svc("20560", 10), day=date(2020, 3, 31))
    later = billed(svc("20560", 10), day=date(2020, 4, 1))
    assert early.ids().count("code-not-payable") == 1
    assert "CMS status N on 2020-03-31" in early.messages("code-not-payable")[0]
    assert "code-not-payable" not in later.ids()


def test_code_bundled_in_a_release_gap_uses_the_nearest_release_of_the_year_rules_8() -> None:
    # 2026-03-02 has no release on file: RVU26C (July) says B
    assert billed(svc("97010", 15), day=date(2026, 3, 2)).ids().count("code-bundled") == 1


@pytest.mark.parametrize("code", ["97010", "97014", "97169", "G0151"])
def test_code_bundled_and_code_not_payable_say_nothing_to_other_payers_rules_4(code: str) -> None:
    for payer in (COMMERCIAL_LIKE, NOT_MEDICARE_BUT_STRICT):
        done = billed(svc(code, 15), payer=payer)
        assert not {"code-bundled", "code-not-payable"} & set(done.ids())
        assert done.units() == {code: 1}


def test_code_bundled_is_said_to_every_payer_that_follows_medicare_rules_4() -> None:
    assert billed(svc("97010", 15), payer=MEDICARE_ADVANTAGE).ids().count("code-bundled") == 1


@pytest.mark.parametrize("code", ["97110", "97012", "97026", "97153", "97545", "99213"])
def test_active_restricted_carrier_priced_and_unknown_codes_get_no_status_finding_rules_4(
    code: str,
) -> None:
    done = billed(svc(code, 30, units_billed=1))
    assert not {"code-bundled", "code-not-payable"} & set(done.ids())

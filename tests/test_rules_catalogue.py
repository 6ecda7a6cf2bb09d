"""The rule catalogue behind ``cognibill rules``: ids, sources, and examples that really work."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from cognibill.models import Visit
from cognibill.rules import (
    MEDICARE_LIKE,
    RULES,
    StandInPayer,
    all_rules,
    find_rule,
    suggest_rule,
    unknown_rule_ids,
)
from cognibill.rules.catalogue import Rule
from tests.test_rules_support import claim_of

TESTS = Path(__file__).parent

ISSUE_RULES = {
    "addon-without-primary",
    "primary-more-than-once",
    "units-not-supported",
    "below-minimum",
    "unit-tie",
    "deleted-code",
    "unknown-code",
    "before-code-existed",
    "group-session",
    "unqualified-provider",
    "slp-97000-series",
    "discipline-modifier",
    "assistant-modifier",
    "no-plan-of-care",
    "plan-after-service",
    "certification-lapsed",
    "plan-incomplete",
    "progress-report-due",
    "adaptive-behavior-conflict",
    "diagnosis-excludes",
    "diagnosis-not-covered",
    "daily-cap",
    "telehealth-coverage",
    "future-date",
}

EXAMPLE_PAYERS = {
    "medicare": MEDICARE_LIKE,
    "acme": StandInPayer(id="acme", covered_diagnoses=("S06",), daily_caps={"97130": 4}),
}


def test_the_catalogue_holds_every_rule_of_the_issue_plus_invalid_minutes() -> None:
    """Plus the two money thresholds of the fees issue (RULES.md §6), raised by the batch, and
    the rows an input could not give (rejected-row, RULES.md §11)."""
    batch = {
        "kx-threshold",
        "medical-review-threshold",
        "payer-fallback",
        "visit-field-conflict",
        "rejected-row",
    }
    exports = {  # the shapes of real EHR exports (issue 10, RULES.md §4, §8, §11)
        "visit-incomplete",
        "checks-skipped",
        "default-payer",
        "code-not-in-catalogue",
        "code-bundled",
        "code-not-payable",
    }
    ledger = {"already-billed", "kx-late"}  # the biller's year (issue 12, RULES.md §11)
    assert set(RULES) == ISSUE_RULES | {"invalid-minutes"} | batch | exports | ledger
    assert [r.id for r in all_rules()] == list(RULES)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_has_a_one_line_check_a_hint_and_a_rules_md_section(rule: Rule) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.id)
    assert rule.checks and "\n" not in rule.checks
    assert rule.hint
    assert re.fullmatch(r"RULES\.md §\d+", rule.source)
    assert rule.example
    assert set(rule.to_dict()) >= {"id", "severity", "checks", "hint", "source", "example"}


def _example_visit(text: str) -> tuple[Visit, StandInPayer]:
    raw: dict[str, Any] = tomllib.loads(text)["visit"][0]
    raw["services"] = raw.pop("service")
    return TypeAdapter(Visit).validate_python(raw), EXAMPLE_PAYERS[raw["payer"]]


@pytest.mark.parametrize(
    "rule", [r for r in all_rules() if r.example.startswith("[[visit]]")], ids=lambda r: r.id
)
def test_every_session_example_triggers_its_rule_with_the_message_it_shows(rule: Rule) -> None:
    """Each example billed through the engine, as ``cognibill check`` runs it."""
    toml, _, shown = rule.example.partition("# -> ")
    visit, payer = _example_visit(toml)
    claim = claim_of(visit, payer, today=date(2026, 3, 15))
    severity, _, rest = shown.partition("[")
    rule_id, _, message = rest.partition("]: ")
    assert rule_id == rule.id
    found = [f for f in claim.findings if f.id == rule.id]
    assert found, [f.message for f in claim.findings]
    prefix = message.split(" ...")[0]
    assert any(f.severity.value == severity and f.message.startswith(prefix) for f in found), [
        f"{f.severity}: {f.message}" for f in found
    ]


def test_the_only_examples_that_are_not_session_snippets_span_many_visits() -> None:
    assert [r.id for r in all_rules() if not r.example.startswith("[[visit]]")] == [
        "progress-report-due",
        "kx-threshold",
        "medical-review-threshold",
        "visit-field-conflict",
        "rejected-row",
        "payer-fallback",
        "visit-incomplete",
        "checks-skipped",
        "default-payer",
        "code-not-in-catalogue",
        "already-billed",
        "kx-late",
    ]


def test_engine_rules_are_marked_as_such() -> None:
    assert {r.id for r in all_rules() if r.engine} == {"below-minimum", "unit-tie"}


def test_every_rule_has_a_test_named_for_it() -> None:
    names = " ".join(
        " ".join(re.findall(r"def (test_\w+)", path.read_text("utf-8")))
        for path in sorted(TESTS.glob("test_*.py"))
    )
    assert [r for r in RULES if f"test_{r.replace('-', '_')}" not in names] == []


def test_find_rule_forgives_case_and_spaces_and_suggests_near_misses() -> None:
    assert find_rule(" Future-Date ") is RULES["future-date"]
    assert find_rule("future-dates") is None
    assert suggest_rule("future-dates") == ["future-date"]
    assert unknown_rule_ids(["unit-tie", "unit-ties"]) == ["unit-ties"]

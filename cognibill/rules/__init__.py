"""The claim rules: the catalogue (``RULES``: id, severity, hint, source, example) and one
module per family of rules, each a function of the engine's frames to a findings frame:
``coding`` (codes and units), ``practice`` (providers and modifiers), ``plan_of_care``,
``visit_facts`` (diagnoses, telehealth, dates) and ``across_visits`` (97129 per day, progress
reports). ``engine.bill`` runs them; ``PayerPolicy`` is what they read of a payer.
"""

from cognibill.rules.catalogue import (
    RULES,
    Rule,
    all_rules,
    find_rule,
    suggest_rule,
    unknown_rule_ids,
)
from cognibill.rules.context import (
    COMMERCIAL_LIKE,
    MEDICARE_LIKE,
    PayerPolicy,
    StandInPayer,
)

__all__ = [
    "COMMERCIAL_LIKE",
    "MEDICARE_LIKE",
    "RULES",
    "PayerPolicy",
    "Rule",
    "StandInPayer",
    "all_rules",
    "find_rule",
    "suggest_rule",
    "unknown_rule_ids",
]

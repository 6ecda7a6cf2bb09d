"""The claim-rule checker: a catalogue of rules and the pure checks behind it.

``cognibill.claims.build_claim`` and ``check_visits`` run the checks; this package holds the
catalogue (``RULES``), the check context (``CheckContext``, ``PayerPolicy``) and the checks,
one module per subject: codes and units, providers and modifiers, the plan of care, the visit
(diagnoses, telehealth, date), and the history of earlier visits.
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
    DEFAULT_VISIT_KEY,
    MEDICARE_LIKE,
    CheckContext,
    CodeMinutes,
    FeeLookup,
    PayerPolicy,
    StandInPayer,
    UnitsFunction,
)

__all__ = [
    "COMMERCIAL_LIKE",
    "DEFAULT_VISIT_KEY",
    "MEDICARE_LIKE",
    "RULES",
    "CheckContext",
    "CodeMinutes",
    "FeeLookup",
    "PayerPolicy",
    "Rule",
    "StandInPayer",
    "UnitsFunction",
    "all_rules",
    "find_rule",
    "suggest_rule",
    "unknown_rule_ids",
]

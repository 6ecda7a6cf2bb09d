"""What the rules need to know of each code, looked up once from the code catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache

from cognibill.catalogue import (
    COGNITIVE,
    COGNITIVE_ADDON,
    COGNITIVE_PRIMARY,
    Kind,
    is_well_formed,
    load_catalogue,
)

ADAPTIVE_BEHAVIOR = frozenset({"97153", "97155"})
"""Adaptive behaviour treatment, not reported with 97129/97130 (RULES.md §5)."""

GROUP_CODE = "97150"
"""Group therapeutic procedures: 1 untimed unit per patient (RULES.md §4, §5)."""
GROUP_CODE_FOR = {"92507": "92508"}
"""Individual codes whose group form is not 97150."""


@dataclass(frozen=True, slots=True)
class CodeFacts:
    """One catalogue code, flattened for cheap checks."""

    code: str
    service: str
    """The engine's service key: the family (``cognitive``) or the code itself."""
    label: str
    timed: bool
    cognitive: bool
    primary: bool
    addon: bool
    therapy: str | None
    """"always", "sometimes" or None (not a therapy code), RULES.md §6."""
    valid_from: date | None
    deleted_on: date | None
    replaced_by: tuple[str, ...]
    group: bool
    series_97000: bool
    adaptive: bool
    kind: Kind = Kind.TIMED
    per_instrument: bool = False
    """Untimed, one unit per standardized instrument (96110, 96127)."""
    medicare_code: str | None = None
    """The code Medicare accepts instead (97014 -> G0283)."""
    role: str | None = None
    """Within a primary/add-on family: ``primary`` or ``addon``."""

    @property
    def group_code(self) -> str:
        """The code that bills this work when done with a group."""
        return self.code if self.group else GROUP_CODE_FOR.get(self.code, GROUP_CODE)

    @property
    def display(self) -> str:
        """How messages name the service: ``97129/97130`` for the cognitive pair."""
        return "97129/97130" if self.cognitive else self.code


@cache
def code_facts() -> dict[str, CodeFacts]:
    """Every catalogue code's facts by code (upper case), built once."""
    out: dict[str, CodeFacts] = {}
    for info in load_catalogue():
        out[info.code] = CodeFacts(
            code=info.code,
            service=info.service,
            label=info.label,
            timed=info.kind is Kind.TIMED,
            cognitive=info.family == COGNITIVE,
            primary=info.code == COGNITIVE_PRIMARY,
            addon=info.code == COGNITIVE_ADDON,
            therapy=info.therapy,
            valid_from=info.valid_from,
            deleted_on=info.deleted_on,
            replaced_by=info.replaced_by,
            group=info.group,
            series_97000=info.code.startswith("97"),
            adaptive=info.code in ADAPTIVE_BEHAVIOR,
            kind=info.kind,
            per_instrument=info.per_instrument,
            medicare_code=info.medicare_code,
            role=info.role,
        )
    return out


def lookup(code: str) -> CodeFacts | None:
    """Facts of a code as entered (spaces and case forgiven), or None when unknown."""
    facts = code_facts()
    found = facts.get(code)
    if found is None:
        found = facts.get(code.strip().upper())
    return found


@lru_cache(maxsize=4096)
def carried_as_given(code: str) -> bool:
    """Whether a code not in the catalogue is carried to the claim as given (a well-formed code
    that is no near miss of a catalogue code, issue 10) rather than reported as a typo
    (``unknown-code``: 92129, 91730, or not a code at all)."""
    catalogue = load_catalogue()
    return catalogue.get(code) is None and is_well_formed(code) and not catalogue.near_misses(code)


@lru_cache(maxsize=1024)
def suggest_codes(code: str) -> tuple[str, ...]:
    """Near misses for an unknown code, best first (``Catalogue.suggest``, the one "did you
    mean")."""
    return tuple(load_catalogue().suggest(code))

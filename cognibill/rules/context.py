"""The payer settings the claim rules read (``PayerPolicy``), and stand-in payers for tests.

``PayerPolicy`` is a structural type: any object with these read-only attributes will do (the
payer profiles of ``cognibill.payers`` among them), so the rules never import the payer loader.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from cognibill.engine.units import UnitRule

if TYPE_CHECKING:
    pass


class PayerPolicy(Protocol):
    """The payer settings the claim rules read (RULES.md §2, §3, §5-§9)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def unit_rule(self) -> UnitRule:
        """CMS total time or AMA per code (RULES.md §2, §3)."""
        ...

    @property
    def is_medicare(self) -> bool: ...

    @property
    def requires_plan_of_care(self) -> bool:
        """Plan-of-care rules are errors, not warnings (RULES.md §7)."""
        ...

    @property
    def requires_discipline_modifiers(self) -> bool:
        """Lines need GN/GO/GP, and CQ/CO for assistants (RULES.md §6)."""
        ...

    @property
    def accepts_slp_cognitive(self) -> bool:
        """97129/97130 from a speech-language pathologist are accepted (RULES.md §6)."""
        ...

    @property
    def covered_diagnoses(self) -> Collection[str]:
        """ICD-10 prefixes the payer covers; empty means any (RULES.md §9)."""
        ...

    @property
    def daily_caps(self) -> Mapping[str, int]:
        """Most units of a code per date of service (RULES.md §5)."""
        ...

    @property
    def tracks_kx(self) -> bool: ...


def normalise_diagnosis(code: str) -> str:
    """ICD-10 code without dots or spaces, upper case: ``"i69.314"`` -> ``"I69314"``."""
    return code.replace(".", "").replace(" ", "").upper()


@dataclass(frozen=True, slots=True)
class StandInPayer:
    """A minimal payer for tests and examples; real profiles live in ``cognibill.payers``."""

    id: str = "medicare"
    name: str = "Medicare-like stand-in"
    unit_rule: UnitRule = UnitRule.CMS
    is_medicare: bool = True
    requires_plan_of_care: bool = True
    requires_discipline_modifiers: bool = True
    accepts_slp_cognitive: bool = True
    covered_diagnoses: tuple[str, ...] = ()
    daily_caps: Mapping[str, int] = field(default_factory=dict)
    tracks_kx: bool = True


MEDICARE_LIKE = StandInPayer()
"""CMS rule, plan of care and GN/GO/GP required, KX tracked."""

COMMERCIAL_LIKE = StandInPayer(
    id="commercial",
    name="Commercial-like stand-in",
    unit_rule=UnitRule.AMA,
    is_medicare=False,
    requires_plan_of_care=False,
    requires_discipline_modifiers=False,
    tracks_kx=False,
)
"""AMA per-code rule, no plan-of-care or modifier requirements."""

"""What a check needs besides the visit: the payer's policy, the unit rule, today, ignored ids.

``PayerPolicy`` is a structural type: any object with these read-only attributes will do (the
payer profiles of ``cognibill.payers`` among them), so the rules never import the payer loader.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from cognibill.engine.units import UnitResult, UnitRule, UnitValue

if TYPE_CHECKING:
    from cognibill.models import Visit


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


FeeLookup = Callable[["Visit", str], Decimal | None]
"""What one unit of a code pays on a visit (its date, payer, locality), when fees are known."""

CodeMinutes = tuple[tuple[str, int], ...]
"""A visit's minutes per code (catalogue codes, repeated codes summed), in code order."""

UnitsFunction = Callable[[CodeMinutes, UnitRule, UnitValue | None], UnitResult]
"""The units engine as the checker calls it, on a visit's minutes per code: a caller may pass a
cached one (see ``cognibill.claims.cached_units``)."""

DEFAULT_VISIT_KEY = "patient, date of service, rendering provider, discipline"
"""How visits were formed from the input: one timed pool per key (RULES.md §2, open setting)."""


def normalise_diagnosis(code: str) -> str:
    """ICD-10 code without dots or spaces, upper case: ``"i69.314"`` -> ``"I69314"``."""
    return code.replace(".", "").replace(" ", "").upper()


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything besides the visit that a check reads. Build one per payer and reuse it."""

    payer: PayerPolicy
    rule: UnitRule | None = None
    """``--rule`` overriding the payer's unit rule, or None."""
    today: date = field(default_factory=date.today)
    """Dates after it are ``future-date``."""
    ignore: frozenset[str] = frozenset()
    """Rule ids not to report (``--ignore``); engine findings included."""
    visit_key: str = DEFAULT_VISIT_KEY
    """Which key formed the visits, for the output to say (RULES.md §2)."""
    fee: FeeLookup | None = None
    """Unit values, once fees exist: tie-breaks (RULES.md §2.5) and money left behind."""
    units: UnitsFunction | None = None
    """The units engine to call; None calls ``compute_units`` directly."""
    covered_prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """``payer.covered_diagnoses`` normalised once, for ``str.startswith``."""
    caps: dict[str, int] = field(init=False, repr=False, compare=False)
    """``payer.daily_caps`` with upper-case codes."""
    unit_rule: UnitRule = field(init=False, repr=False, compare=False)
    """The rule in force: the override, else the payer's."""

    def __post_init__(self) -> None:
        prefixes = tuple(normalise_diagnosis(c) for c in self.payer.covered_diagnoses)
        object.__setattr__(self, "covered_prefixes", prefixes)
        caps = {c.strip().upper(): int(n) for c, n in self.payer.daily_caps.items()}
        object.__setattr__(self, "caps", caps)
        rule = self.rule if self.rule is not None else self.payer.unit_rule
        object.__setattr__(self, "unit_rule", rule)


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

"""The domain models shared by the readers, the engine, the rules and the estimates.

Frozen, slotted standard-library dataclasses: cheap to build in a CSV stream (a batch reader that
has already checked its fields builds them directly) and validated with pydantic at the edge for
session files (``pydantic.TypeAdapter(Visit)`` honours ``__pydantic_config__``). Minutes are
whole minutes; dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar


class Discipline(StrEnum):
    """Who furnished the service (RULES.md §6)."""

    PT = "pt"
    OT = "ot"
    SLP = "slp"
    PHYSICIAN = "physician"
    PSYCHOLOGIST = "psychologist"
    NP = "np"
    CNS = "cns"
    PA = "pa"
    PTA = "pta"
    OTA = "ota"
    AIDE = "aide"
    OTHER = "other"


_STRICT: dict[str, object] = {"extra": "forbid", "str_strip_whitespace": True}


@dataclass(frozen=True, slots=True)
class Provider:
    """The rendering provider: an id (NPI or local) and a discipline."""

    __pydantic_config__: ClassVar[dict[str, object]] = _STRICT

    id: str | None = None
    discipline: Discipline | None = None


@dataclass(frozen=True, slots=True)
class PlanOfCare:
    """The therapy plan of care behind a visit (RULES.md §7)."""

    __pydantic_config__: ClassVar[dict[str, object]] = _STRICT

    start: dt.date | None = None
    certified: dt.date | None = None
    through: dt.date | None = None
    diagnoses: tuple[str, ...] = ()
    goals: bool | None = None
    frequency: str | None = None
    duration: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    """One code performed in a visit, with its minutes and what the claim says of it."""

    __pydantic_config__: ClassVar[dict[str, object]] = _STRICT

    code: str
    minutes: int = 0
    assistant_minutes: int = 0
    """Minutes furnished by a PT/OT assistant (RULES.md §6, CQ/CO above 10%)."""
    group: bool = False
    units_billed: int | None = None
    """Units the EHR or the therapist proposes to bill, checked against the minutes."""
    modifiers: tuple[str, ...] = ()
    line: int | None = None
    """Line of the source file this service came from, for messages."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One patient, one date of service, one provider: the unit a claim is built from."""

    __pydantic_config__: ClassVar[dict[str, object]] = _STRICT

    patient: str
    date: dt.date
    services: tuple[Service, ...] = ()
    payer: str | None = None
    place_of_service: str | None = None
    provider: Provider = field(default_factory=Provider)
    plan_of_care: PlanOfCare | None = None
    diagnoses: tuple[str, ...] = ()
    session_id: str | None = None
    source: str | None = None
    """The file the visit came from."""
    line: int | None = None
    """The line its definition starts on."""


def is_place_of_service(code: str) -> bool:
    """Whether ``code`` (stripped) is written as a CMS place-of-service code: one or two ASCII
    digits (``11``, ``02``, ``2``)."""
    return code.isascii() and code.isdigit() and len(code) <= 2


PLACE_OF_SERVICE_HELP = "11 office, 12 home, 02/10 telehealth, 22 outpatient hospital"

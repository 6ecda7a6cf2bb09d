"""The code catalogue: how each code counts units, which codes form one service, our own labels.

Built from ``../shared/domain/data/therapy_codes.csv`` by ``scripts/build_codes.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

COGNITIVE = "cognitive"
"""The family of 97129 (primary) and 97130 (add-on): one cognitive intervention service."""
COGNITIVE_PRIMARY = "97129"
COGNITIVE_ADDON = "97130"


class Kind(StrEnum):
    """How a code counts units (RULES.md §1-§4)."""

    TIMED = "timed"
    """15-minute units from the visit's timed pool (RULES.md §1-§3)."""
    UNTIMED = "untimed"
    """One unit per visit (per instrument for ``per_instrument`` codes), outside the pool (§4)."""
    HOURLY = "hourly"
    """Per-hour units with the CPT midpoint (31 minutes), outside the pool."""
    FIRST_AND_ADDITIONAL = "first-and-additional"
    """A first unit of ``first_unit_minutes`` and further units of ``unit_minutes``, each
    attained once its midpoint is passed (RULES.md §4), outside the pool."""
    AREA = "area"
    """Counted by wound area or device, not time: the units the input gives (RULES.md §4)."""
    NOT_IN_CATALOGUE = "not-in-catalogue"
    """Never in codes.toml: the engine's kind for a well-formed code it does not know, carried
    to the claim with the units the input gives (issue 10)."""


_WELL_FORMED = re.compile(r"[0-9]{5}|[A-Z][0-9]{4}")


def is_well_formed(code: str) -> bool:
    """Whether ``code`` (stripped, any case) is written as a CPT or HCPCS code: five digits
    (97110) or a HCPCS letter and four digits (G0283)."""
    return _WELL_FORMED.fullmatch(code.strip().upper()) is not None


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One code of the catalogue."""

    code: str
    label: str
    kind: Kind
    family: str | None = None
    role: str | None = None
    therapy: str | None = None
    valid_from: date | None = None
    deleted_on: date | None = None
    replaced_by: tuple[str, ...] = ()
    group: bool = False
    first_unit_minutes: int | None = None
    """First-and-additional codes: minutes of the first unit."""
    unit_minutes: int | None = None
    """First-and-additional codes: minutes of each further unit."""
    per_instrument: bool = False
    """Untimed, one unit per standardized instrument (96110, 96127): more than one a visit."""
    medicare_code: str | None = None
    """The code Medicare accepts instead of this one (97014 -> G0283; CMS status I)."""

    @property
    def timed(self) -> bool:
        return self.kind is Kind.TIMED

    @property
    def service(self) -> str:
        """The service this code's minutes belong to: its family, or the code itself."""
        return self.family or self.code

    def valid_on(self, day: date) -> bool:
        """Whether the code existed on a date of service."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.deleted_on is not None and day >= self.deleted_on)


class Family(NamedTuple):
    """A primary code and its add-on billed as one service (RULES.md §4, §5): the first unit as
    ``primary``, the rest as ``addon``."""

    service: str
    """The engine's service key (``cognitive`` for 97129/97130, else the primary's code)."""
    primary: str
    addon: str
    first_unit_minutes: int
    unit_minutes: int


class Catalogue:
    """All codes in scope, by code."""

    def __init__(self, codes: dict[str, CodeInfo]) -> None:
        self._codes = codes

    def families(self) -> dict[str, Family]:
        """Every primary/add-on family by its service key (97129/97130 as ``cognitive``, 15 and
        15 minutes), in the catalogue's order of primaries."""
        out: dict[str, Family] = {}
        for info in self._codes.values():
            if info.family is None or info.role != "primary":
                continue
            addon = next(
                c.code
                for c in self._codes.values()
                if c.family == info.family and c.role == "addon"
            )
            out[info.family] = Family(
                info.family,
                info.code,
                addon,
                info.first_unit_minutes or 15,
                info.unit_minutes or 15,
            )
        return out

    def near_misses(self, code: str) -> list[str]:
        """Live codes of the catalogue one typo away from ``code``: one character replaced
        (92129 -> 97129) or two neighbouring characters swapped (91730 -> 97130), the typos
        seen in print (RULES.md §5). Best first: the typo nearest the end of the code (the
        code's series kept), then code order. Empty for a code of the catalogue itself."""
        wanted = code.strip().upper()
        if wanted in self._codes:
            return []
        found: list[tuple[int, str]] = []
        for candidate, info in self._codes.items():
            if info.deleted_on is not None or len(candidate) != len(wanted):
                continue
            diff = [i for i, (a, b) in enumerate(zip(wanted, candidate, strict=True)) if a != b]
            one_replaced = len(diff) == 1
            swapped = (
                len(diff) == 2
                and diff[1] == diff[0] + 1
                and wanted[diff[0]] == candidate[diff[1]]
                and wanted[diff[1]] == candidate[diff[0]]
            )
            if one_replaced or swapped:
                found.append((-diff[0], candidate))
        return [c for _, c in sorted(found)]

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def __iter__(self) -> Iterator[CodeInfo]:
        return iter(self._codes.values())

    def get(self, code: str) -> CodeInfo | None:
        return self._codes.get(code.strip().upper())

    def __getitem__(self, code: str) -> CodeInfo:
        return self._codes[code]

    def suggest(self, code: str, limit: int = 3) -> list[str]:
        """Near misses for an unknown code ("92129" -> 97129), best first: the one "did you
        mean" of every input (entries, session files, exports).

        The codes one typo away (``near_misses``) when there are any, because the typos seen in
        print are one wrong digit (92129) or two swapped digits (91730) (RULES.md §5). Else
        live codes similar by difflib's ratio, ranked by edit distance counting a swap of
        neighbouring characters as one edit (``97110-5`` -> 97110).
        """
        import difflib

        near = self.near_misses(code)
        if near:
            return near[:limit]
        wanted = code.strip().upper()
        live = [c for c, info in self._codes.items() if info.deleted_on is None]
        candidates = difflib.get_close_matches(wanted, live, n=5, cutoff=0.75)
        ranked = sorted(
            enumerate(candidates), key=lambda ic: (_edit_distance(wanted, ic[1]), ic[0])
        )
        return [c for _, c in ranked[:limit]]


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions)."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, rows[i - 2][j - 2] + 1)
            rows[i][j] = best
    return rows[len(a)][len(b)]


def _parse(raw: dict[str, Any]) -> dict[str, CodeInfo]:
    out: dict[str, CodeInfo] = {}
    for code, fields in raw["code"].items():
        out[code] = CodeInfo(
            code=code,
            label=str(fields["label"]),
            kind=_kind(fields["kind"]),
            family=_opt_str(fields.get("family")),
            role=_opt_str(fields.get("role")),
            therapy=_opt_str(fields.get("therapy")),
            valid_from=_opt_date(fields.get("valid_from")),
            deleted_on=_opt_date(fields.get("deleted_on")),
            replaced_by=tuple(str(c) for c in fields.get("replaced_by", ())),
            group=bool(fields.get("group", False)),
            first_unit_minutes=_opt_int(fields.get("first_unit_minutes")),
            unit_minutes=_opt_int(fields.get("unit_minutes")),
            per_instrument=bool(fields.get("per_instrument", False)),
            medicare_code=_opt_str(fields.get("medicare_code")),
        )
    return out


def _kind(value: object) -> Kind:
    kind = Kind(str(value))
    if kind is Kind.NOT_IN_CATALOGUE:
        raise ValueError(f"catalogue kind {value!r} is the engine's, not a catalogue code's")
    return kind


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"catalogue whole minutes expected, got {value!r}")
    return value


def _opt_date(value: object) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise TypeError(f"catalogue date expected, got {value!r}")
    return value


@cache
def load_catalogue() -> Catalogue:
    """The built-in catalogue (package data ``data/codes.toml``), read once."""
    import tomllib  # here, not at import: --help and --version never read the catalogue

    text = (Path(__file__).parent / "data" / "codes.toml").read_text("utf-8")
    return Catalogue(_parse(tomllib.loads(text)))

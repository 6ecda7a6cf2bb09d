"""The code catalogue: which codes are timed, which form one service, our own labels."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

COGNITIVE = "cognitive"
"""The family of 97129 (primary) and 97130 (add-on): one cognitive intervention service."""
COGNITIVE_PRIMARY = "97129"
COGNITIVE_ADDON = "97130"


class Kind(StrEnum):
    """How a code counts units."""

    TIMED = "timed"
    UNTIMED = "untimed"
    HOURLY = "hourly"


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


class Catalogue:
    """All codes in scope, by code."""

    def __init__(self, codes: dict[str, CodeInfo]) -> None:
        self._codes = codes

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

        Live codes similar by difflib's ratio are the candidates; they are ranked by edit
        distance counting a swap of neighbouring characters as one edit, because the typos seen
        in print are one wrong digit (92129) or two swapped digits (91730) (RULES.md §5).
        """
        import difflib

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
            kind=Kind(str(fields["kind"])),
            family=_opt_str(fields.get("family")),
            role=_opt_str(fields.get("role")),
            therapy=_opt_str(fields.get("therapy")),
            valid_from=_opt_date(fields.get("valid_from")),
            deleted_on=_opt_date(fields.get("deleted_on")),
            replaced_by=tuple(str(c) for c in fields.get("replaced_by", ())),
            group=bool(fields.get("group", False)),
        )
    return out


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


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

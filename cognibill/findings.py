"""Findings: what a check or the engine wants the user to know about a visit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is; ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding: a stable rule id, a severity, a message naming codes and numbers, a fix."""

    id: str
    severity: Severity
    message: str
    hint: str = ""
    source: str = ""
    code: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "source": self.source,
            "code": self.code,
        }

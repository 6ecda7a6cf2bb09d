"""Findings: what a check or the engine wants the user to know about a visit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
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


def price_findings(
    findings: Iterable[Finding], unit_value: Callable[[str], Decimal | None]
) -> tuple[Finding, ...]:
    """``below-minimum`` findings with the money involved, once fees are known (RULES.md §8):
    what one unit of the code would have paid."""
    out = []
    for finding in findings:
        if finding.id == "below-minimum" and finding.code:
            code = finding.code.split("/")[0]
            value = unit_value(code)
            if value is not None:
                finding = replace(
                    finding,
                    message=f"{finding.message} One unit of {code} pays about ${value:,.2f}.",
                )
        out.append(finding)
    return tuple(out)

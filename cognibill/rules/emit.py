"""Collecting a visit's findings: catalogue defaults filled in, ignored ids dropped, sorted."""

from __future__ import annotations

from collections.abc import Iterable

from cognibill.findings import Finding, Severity
from cognibill.rules.catalogue import RULES


class Emitter:
    """The findings of one visit, as checks add them."""

    __slots__ = ("findings", "ignore")

    def __init__(self, ignore: frozenset[str]) -> None:
        self.ignore = ignore
        self.findings: list[Finding] = []

    def wants(self, rule_id: str) -> bool:
        """Whether ``rule_id`` is reported: checks skip costly messages for ignored rules."""
        return rule_id not in self.ignore

    def add(
        self,
        rule_id: str,
        message: str,
        *,
        severity: Severity | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Report ``rule_id`` (unless ignored) with the catalogue's severity, hint and source
        unless given here."""
        if rule_id in self.ignore:
            return
        rule = RULES[rule_id]
        self.findings.append(
            Finding(
                id=rule_id,
                severity=rule.severity if severity is None else severity,
                message=message,
                hint=rule.hint if hint is None else hint,
                source=rule.source,
                code=code,
            )
        )

    def extend(self, findings: Iterable[Finding]) -> None:
        """Take findings made elsewhere (the units engine), dropping ignored ids."""
        ignore = self.ignore
        self.findings.extend(f for f in findings if f.id not in ignore)


def _order(finding: Finding) -> tuple[int, str]:
    return (-finding.severity.rank, finding.id)


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Errors first, then warnings, then info; by rule id within a severity (stable)."""
    if not findings:
        return ()
    if len(findings) > 1:
        findings.sort(key=_order)
    return tuple(findings)

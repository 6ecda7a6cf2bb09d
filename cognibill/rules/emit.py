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
        self.findings.append(
            make_finding(rule_id, message, severity=severity, code=code, hint=hint)
        )

    def keep(self, finding: Finding) -> None:
        """Report a finding made beforehand (e.g. a cached one), unless its rule is ignored."""
        if finding.id not in self.ignore:
            self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        """Take findings made elsewhere (the units engine), dropping ignored ids."""
        ignore = self.ignore
        self.findings.extend(f for f in findings if f.id not in ignore)


def make_finding(
    rule_id: str,
    message: str,
    *,
    severity: Severity | None = None,
    code: str | None = None,
    hint: str | None = None,
) -> Finding:
    """A finding of ``rule_id`` with the catalogue's severity, hint and source unless given."""
    rule = RULES[rule_id]
    return Finding(
        rule_id,
        rule.severity if severity is None else severity,
        message,
        rule.hint if hint is None else hint,
        rule.source,
        code,
    )


def _order(finding: Finding) -> tuple[int, str]:
    return (-_RANK[finding.severity], finding.id)


_RANK = {severity: severity.rank for severity in Severity}


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Errors first, then warnings, then info; by rule id within a severity (stable)."""
    count = len(findings)
    if count == 1:
        return (findings[0],)
    if count == 2:  # the usual case with more than one: no key tuples
        first, second = findings
        rank, other = _RANK[first.severity], _RANK[second.severity]
        if rank < other or (rank == other and first.id > second.id):
            return (second, first)
        return (first, second)
    if not count:
        return ()
    findings.sort(key=_order)
    return tuple(findings)

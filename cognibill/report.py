"""Plain data views of results for the machine formats (JSON, CSV): complete and stable."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cognibill.catalogue import load_catalogue

if TYPE_CHECKING:
    from cognibill.engine.one_visit import VisitUnits as UnitResult
    from cognibill.engine.units import UnitRange
    from cognibill.fees.estimate import Estimate


def label_of(code: str) -> str:
    info = load_catalogue().get(code)
    return info.label if info else ""


def unit_result_dict(result: UnitResult) -> dict[str, Any]:
    """Everything a script needs from one units result (the JSON object of ``cognibill units``)."""
    return {
        "rule": result.rule.value,
        "rule_source": result.rule.source,
        "total_timed_minutes": result.total_timed_minutes,
        "total_timed_units": result.total_timed_units,
        "total_units": result.total_units,
        "lines": [
            {
                "code": line.code,
                "label": label_of(line.code),
                "service": line.service,
                "minutes": line.minutes,
                "units": line.units,
            }
            for line in result.lines
        ],
        "services": [
            {
                "service": s.service,
                "codes": list(s.codes),
                "kind": s.kind.value,
                "minutes": s.minutes,
                "blocks": s.blocks,
                "leftover": s.leftover,
                "extra_units": s.extra,
                "removed_units": s.removed,
                "units": s.units,
            }
            for s in result.services
        ],
        "next_unit_at": result.next_unit_at,
        "minutes_to_next_unit": result.minutes_to_next_unit,
        "spare_minutes": result.spare_minutes,
        "ties": [tie.to_dict() for tie in result.ties],
        "trace": list(result.trace),
        "findings": [f.to_dict() for f in result.findings],
    }


UNIT_CSV_FIELDS = (
    "rule",
    "code",
    "label",
    "service",
    "minutes",
    "units",
    "total_timed_minutes",
    "total_units",
    "next_unit_at",
    "spare_minutes",
    "ties",
    "findings",
    "payer",
    "allowed",
    "payer_pays",
    "patient_owes",
    "data_version",
)


def unit_csv_rows(result: UnitResult, estimate: Estimate | None = None) -> list[dict[str, Any]]:
    """One CSV row per billing line, with the visit's totals, ties and findings on every row."""
    ties = "; ".join(
        f"{'/'.join(t.candidates)} tie at {t.leftover} min: {t.action} {'/'.join(t.chosen)}"
        for t in result.ties
    )
    findings = "; ".join(f"{f.severity.value}[{f.id}]: {f.message}" for f in result.findings)
    return [
        {
            "rule": result.rule.value,
            "code": line.code,
            "label": label_of(line.code),
            "service": line.service,
            "minutes": line.minutes,
            "units": line.units,
            "total_timed_minutes": result.total_timed_minutes,
            "total_units": result.total_units,
            "next_unit_at": "" if result.next_unit_at is None else result.next_unit_at,
            "spare_minutes": "" if result.spare_minutes is None else result.spare_minutes,
            "ties": ties,
            "findings": findings,
            **_line_money(estimate, i),
        }
        for i, line in enumerate(result.lines)
    ]


def _line_money(estimate: Estimate | None, index: int) -> dict[str, str]:
    if estimate is None:
        return {}
    line = estimate.lines[index]
    return {
        "payer": estimate.payer.id,
        "allowed": line.allowed.to_csv(),
        "payer_pays": line.payer_pays.to_csv(),
        "patient_owes": line.patient_owes.to_csv(),
        "data_version": estimate.data_version,
    }


RANGE_FIELDS = ("units", "min_minutes", "max_minutes", "97129", "97130")


def range_rows(rows: list[UnitRange]) -> list[dict[str, int]]:
    return [
        {
            "units": r.units,
            "min_minutes": r.low,
            "max_minutes": r.high,
            "97129": r.primary,
            "97130": r.addon,
        }
        for r in rows
    ]

"""While the engine migrates (issue 9): today's objects turned into the columnar engine's frames.

The stage tests of the columnar engine compare it with the old per-visit code on the same
visits; this module makes the canonical ``ROWS`` frame from old ``Visit`` objects so both sides
read the same input. It goes when the old path is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from cognibill.engine.frames import ROWS
from cognibill.models import Visit


def rows_of(visits: Iterable[Visit]) -> pl.DataFrame:
    """The canonical service rows of ``visits``, one per service, visits in order, with the
    ``visit`` column the visits stage would add (the index of the visit in ``visits``).

    A visit with no service gives no row.
    """
    out: dict[str, list[object]] = {name: [] for name in ROWS}
    ids: list[int] = []
    row = 0
    for index, visit in enumerate(visits):
        plan = visit.plan_of_care
        provider = visit.provider
        for service in visit.services:
            values: dict[str, object] = {
                "row": row,
                "source": visit.source,
                "line": service.line,
                "patient": visit.patient,
                "date": visit.date,
                "provider": provider.id,
                "discipline": None if provider.discipline is None else provider.discipline.value,
                "payer": visit.payer,
                "place_of_service": visit.place_of_service,
                "poc_start": None if plan is None else plan.start,
                "poc_certified": None if plan is None else plan.certified,
                "poc_through": None if plan is None else plan.through,
                "poc_diagnoses": [] if plan is None else list(plan.diagnoses),
                "poc_goals": None if plan is None else plan.goals,
                "poc_frequency": None if plan is None else plan.frequency,
                "poc_duration": None if plan is None else plan.duration,
                "has_plan": plan is not None,
                "session_id": visit.session_id,
                "diagnoses": list(visit.diagnoses),
                "visit_line": visit.line,
                "code": service.code.strip().upper(),
                "minutes": service.minutes,
                "assistant_minutes": service.assistant_minutes,
                "group": service.group,
                "units_billed": service.units_billed,
                "modifiers": list(service.modifiers),
            }
            for name, value in values.items():
                out[name].append(value)
            ids.append(index)
            row += 1
    frame = pl.DataFrame(out, schema=ROWS)
    return frame.with_columns(pl.Series("visit", ids, dtype=pl.UInt32))


def _order_key(service: str) -> str:
    return "97129" if service == "cognitive" else service


def services_of(visits: Iterable[Visit]) -> pl.DataFrame:
    """The ``SERVICES`` frame as today's ``rules.codes.prepare`` sees each visit's services."""
    from cognibill.catalogue import load_catalogue
    from cognibill.engine.frames import SERVICES
    from cognibill.rules.codes import prepare
    from cognibill.rules.emit import Emitter

    catalogue = load_catalogue()
    out: dict[str, list[object]] = {name: [] for name in SERVICES}
    for index, visit in enumerate(visits):
        prepared = prepare(visit, Emitter(frozenset()))
        keys = sorted(prepared.services, key=_order_key)
        for order, key in enumerate(keys):
            given = prepared.services[key]
            first_line = next(
                (
                    s.line
                    for s in visit.services
                    if (info := catalogue.get(s.code)) is not None
                    and (info.service == key or (s.group and key == "97150"))
                ),
                None,
            )
            by_code = given.billed_by_code
            kind = catalogue[_order_key(key) if key == "cognitive" else key].kind.value
            values: dict[str, object] = {
                "visit": index,
                "service": key,
                "kind": kind,
                "codes": list(given.codes),
                "minutes": given.minutes,
                "assistant_minutes": given.assistant_minutes,
                "modifiers": list(given.modifiers),
                "billed": given.billed,
                "billed_complete": given.billed_complete,
                "billed_stated": given.billed_stated,
                "billed_primary": None if by_code is None else by_code.get("97129", 0),
                "billed_addon": None if by_code is None else by_code.get("97130", 0),
                "first_line": first_line,
                "order": order,
            }
            for name, value in values.items():
                out[name].append(value)
    return pl.DataFrame(out, schema=SERVICES)


def lines_of(visits: Iterable[Visit], ctx: object) -> pl.DataFrame:
    """The ``LINES`` frame (without money and ranks) as today's ``claims.build_claim`` bills
    each visit under the check context ``ctx``: every line of the units engine, 0 units too,
    with the modifiers the claim puts on the billed ones."""
    from cognibill.claims import build_claim
    from cognibill.engine.frames import LINES

    out: dict[str, list[object]] = {name: [] for name in LINES}
    for index, visit in enumerate(visits):
        claim = build_claim(visit, ctx)  # type: ignore[arg-type]
        by_service = {s.service: s for s in claim.units.services}
        billed = {line.code: line.modifiers for line in claim.lines}
        for line in claim.units.lines:
            s = by_service[line.service]
            values: dict[str, object] = {
                "visit": index,
                "service": line.service,
                "code": line.code,
                "minutes": line.minutes,
                "units": line.units,
                "blocks": s.blocks,
                "leftover": s.leftover,
                "extra": s.extra,
                "removed": s.removed,
                "rank": None,
                "tied": None,
                "modifiers": list(billed.get(line.code, ())),
            }
            for name in LINES:
                out[name].append(values.get(name))
    return pl.DataFrame(out, schema=LINES)

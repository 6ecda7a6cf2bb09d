"""Session files into the canonical service rows: one row per ``[[visit.service]]``.

The TOML is read and validated at the edge (``cognibill.readers.session_file``); this module
only lays the validated visits out as the ``ROWS`` frame. A visit with no service gives one
row with a null code, so that it is still a visit (with nothing to bill).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cognibill.engine.frames import ROWS
from cognibill.models import Service, Visit

_NOTHING = Service(code="", minutes=0)


def session_rows(visits: Sequence[Visit], first_row: int = 0) -> pl.DataFrame:
    """The ``ROWS`` frame of ``visits``, rows numbered from ``first_row``."""
    out: dict[str, list[object]] = {name: [] for name in ROWS}
    row = first_row
    for visit in visits:
        plan = visit.plan_of_care
        provider = visit.provider
        discipline = None if provider.discipline is None else provider.discipline.value
        shared: dict[str, object] = {
            "source": visit.source,
            "patient": visit.patient,
            "date": visit.date,
            "provider": provider.id,
            "discipline": discipline,
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
        }
        for service in visit.services or (_NOTHING,):
            given = service is not _NOTHING
            own: dict[str, object] = {
                "row": row,
                "line": service.line if given else visit.line,
                "code": service.code.strip().upper() if given else None,
                "minutes": service.minutes,
                "assistant_minutes": service.assistant_minutes,
                "group": service.group,
                "units_billed": service.units_billed,
                "modifiers": list(service.modifiers),
            }
            for name in ROWS:
                out[name].append(own[name] if name in own else shared[name])
            row += 1
    return pl.DataFrame(out, schema=ROWS)

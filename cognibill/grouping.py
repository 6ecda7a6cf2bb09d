"""Rows of an export grouped into visits: one timed pool per visit key (RULES.md §2).

Whether Medicare pools the minutes of different providers or disciplines on one day is open
(RULES.md §2), so the key is a setting: patient, date, provider and discipline by default;
``patient,date`` pools the whole day. Rows with the same key form one :class:`Visit`; repeated
codes stay separate services (the engine pools them), so a patient seen twice the same day by
the same provider is one visit whose minutes add up.

Two ways to group, both pure and lazy:

- **streaming** (default): the rows of one visit must come close together, as EHR exports list
  them (sorted by patient then date, by date then patient, by provider then date, or any order
  that keeps a visit's rows within ``window`` rows of each other, counting the good rows: rows
  n and n + window still join). A visit is emitted once the patient-day changes and its last row
  is more than ``window`` rows behind (``window=0``: as soon as the next patient-day starts), so
  memory holds the visits of that many rows, plus one number (about 80 bytes) per visit emitted,
  to notice a visit that comes back. If one does, grouping stops with
  :class:`UnsortedInputError` rather than bill half a visit (the claim pipeline then starts
  again buffered when nothing has been output yet).
- **buffered** (``buffer=True``): any order. Every row is held until the input ends (memory
  grows with the rows, about 400 bytes a row: 400 MiB for a million); visits come out in the
  order of their first line.

A visit keeps the fields of its first row. Fields outside the key that differ between its rows
(payer, place of service, plan-of-care dates, or provider/discipline when the key leaves them
out) are reported as a ``visit-field-conflict`` warning through ``on_finding``; session ids
and diagnoses of all rows are kept.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter

from cognibill.errors import EntryError, InputError
from cognibill.findings import Finding, Severity
from cognibill.models import Discipline, PlanOfCare, Provider, Service, Visit
from cognibill.readers.csv_export import RejectedRow, ServiceRow

KEY_FIELDS: dict[str, str] = {
    "patient": "patient",
    "date": "date of service",
    "provider": "rendering provider",
    "discipline": "discipline",
    "payer": "payer",
    "place_of_service": "place of service",
    "session_id": "session",
}
"""Fields a visit key may use, with how the output names them."""

DEFAULT_VISIT_KEY: tuple[str, ...] = ("patient", "date", "provider", "discipline")
"""One pool per patient, date, rendering provider and discipline (RULES.md §2, our default)."""

_ALWAYS = ("patient", "date")
_INDEX = {name: i for i, name in enumerate(ServiceRow._fields)}
_VISIT_FIELDS = (
    "provider",
    "discipline",
    "payer",
    "place_of_service",
    "poc_start",
    "poc_certified",
)
"""Row fields that describe the visit, not the service: compared between a visit's rows."""

RejectedSink = Callable[[RejectedRow], object]
FindingSink = Callable[[Visit, Finding], object]


class UnsortedInputError(InputError):
    """Rows of a visit came back after the visit was emitted, while streaming."""


def parse_visit_key(text: str | Sequence[str]) -> tuple[str, ...]:
    """A visit key from ``"patient,date,provider"`` (or a list of names); checks the names.

    Patient and date are always part of the key: the pool never spans patients or dates of
    service (RULES.md §2, confirmed). A bad key is a command-line mistake (``EntryError``).
    """
    names = text.split(",") if isinstance(text, str) else list(text)
    key: list[str] = []
    for raw in names:
        name = raw.strip().lower().replace("-", "_").replace(" ", "_")
        name = {"dos": "date", "session": "session_id", "pos": "place_of_service"}.get(name, name)
        if not name:
            continue
        if name not in KEY_FIELDS:
            raise EntryError(
                f"--visit-key: unknown field {raw.strip()!r}",
                hint=f"fields: {', '.join(KEY_FIELDS)}",
            )
        if name not in key:
            key.append(name)
    missing = [f for f in _ALWAYS if f not in key]
    if missing:
        raise EntryError(
            f"--visit-key {','.join(key) or '(empty)'}: the key must include patient and date",
            hint="minutes pool per patient per date of service at most (RULES.md §2)",
        )
    return tuple(key)


def describe_visit_key(key: Sequence[str]) -> str:
    """How the output names a key: ``"patient, date of service, rendering provider, ..."``."""
    return ", ".join(KEY_FIELDS[f] for f in key)


def _visit_factory() -> Callable[..., Visit]:
    """``Visit(...)`` with every field given, positionally, by setting its slots directly: half
    the cost of the frozen dataclass's ``__init__`` (once per visit, 450,000 times a benchmark).
    Falls back to the constructor if the model's fields ever stop matching."""
    names = (
        "patient",
        "date",
        "services",
        "payer",
        "place_of_service",
        "provider",
        "plan_of_care",
        "diagnoses",
        "session_id",
        "source",
        "line",
    )
    if tuple(f.name for f in dataclasses.fields(Visit)) != names:  # pragma: no cover
        return Visit
    (
        set_patient,
        set_date,
        set_services,
        set_payer,
        set_pos,
        set_provider,
        set_plan,
        set_diagnoses,
        set_session,
        set_source,
        set_line,
    ) = (getattr(Visit, name).__set__ for name in names)
    new = object.__new__

    def visit(
        patient: str,
        date: dt.date,
        services: tuple[Service, ...],
        payer: str | None,
        place_of_service: str | None,
        provider: Provider,
        plan_of_care: PlanOfCare | None,
        diagnoses: tuple[str, ...],
        session_id: str | None,
        source: str | None,
        line: int,
    ) -> Visit:
        made = new(Visit)
        set_patient(made, patient)
        set_date(made, date)
        set_services(made, services)
        set_payer(made, payer)
        set_pos(made, place_of_service)
        set_provider(made, provider)
        set_plan(made, plan_of_care)
        set_diagnoses(made, diagnoses)
        set_session(made, session_id)
        set_source(made, source)
        set_line(made, line)
        return made

    return visit


_new_visit = _visit_factory()


def with_payer(visit: Visit, payer: str | None) -> Visit:
    """A copy of ``visit`` naming another payer: ``dataclasses.replace`` at a fraction of its
    cost (the claim pipeline swaps the export's payer names for profile ids, visit by visit)."""
    return _new_visit(
        visit.patient,
        visit.date,
        visit.services,
        payer,
        visit.place_of_service,
        visit.provider,
        visit.plan_of_care,
        visit.diagnoses,
        visit.session_id,
        visit.source,
        visit.line,
    )


class _Builder:
    """Builds the Visit of a run of rows; remembers shared Provider objects."""

    def __init__(self, key: Sequence[str], source: str | None, on_finding: FindingSink | None):
        self.source = source
        self.on_finding = on_finding
        self.loose = tuple(f for f in _VISIT_FIELDS if f not in key)
        """Visit fields outside the key: they may differ between a visit's rows."""
        self.loose_get = itemgetter(*(_INDEX[f] for f in self.loose)) if self.loose else None
        self.providers: dict[tuple[str | None, Discipline | None], Provider] = {}

    def visit(self, rows: list[ServiceRow]) -> Visit:
        first = rows[0]
        session = first.session_id
        diagnoses = first.diagnoses
        findings: list[Finding] = []
        services: tuple[Service, ...]
        if len(rows) == 1:
            services = (first.service,)
        else:
            # One pass for the usual case (rows agree); the rare disagreement is worked out after.
            get = self.loose_get
            wanted = get(first) if get is not None else None
            listed = [first.service]
            odd = False
            for r in rows[1:]:
                listed.append(r.service)
                if (
                    r.session_id != session
                    or r.diagnoses != diagnoses
                    or (get is not None and get(r) != wanted)
                ):
                    odd = True
            services = tuple(listed)
            if odd:
                sessions = list(dict.fromkeys(r.session_id for r in rows if r.session_id))
                session = ";".join(sessions) if sessions else None
                diagnoses = tuple(dict.fromkeys(d for r in rows for d in r.diagnoses))
                findings = self._conflicts(rows)
        who = (first.provider, first.discipline)
        provider = self.providers.get(who)
        if provider is None:
            provider = Provider(first.provider, first.discipline)
            if len(self.providers) < 100_000:
                self.providers[who] = provider
        plan = None
        if first.poc_start is not None or first.poc_certified is not None:
            plan = PlanOfCare(start=first.poc_start, certified=first.poc_certified)
        visit = _new_visit(
            first.patient,
            first.date,
            services,
            first.payer,
            first.place_of_service,
            provider,
            plan,
            diagnoses,
            session,
            self.source,
            first.line,
        )
        if findings and self.on_finding is not None:
            for finding in findings:
                self.on_finding(visit, finding)
        return visit

    def _conflicts(self, rows: list[ServiceRow]) -> list[Finding]:
        out = []
        first = rows[0]
        for field in self.loose:
            index = _INDEX[field]
            seen: dict[object, int] = {}
            for r in rows:
                seen.setdefault(r[index], r.line)
            if len(seen) < 2:
                continue
            shown = ", ".join(f"{_show(v)} (line {line})" for v, line in seen.items())
            name = field.replace("_", " ")
            out.append(
                Finding(
                    id="visit-field-conflict",
                    severity=Severity.WARNING,
                    message=(
                        f"{name} differs between the rows of one visit: {shown}; the visit "
                        f"uses {_show(first[index])}."
                    ),
                    hint=(
                        f"correct the export, or add {field} to --visit-key to bill the rows "
                        "as separate visits"
                        if field in KEY_FIELDS
                        else "correct the export so that one visit has one value"
                    ),
                    source="RULES.md §2",
                )
            )
        return out


def _show(value: object) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, Discipline):
        return value.value
    return repr(str(value))


def group_visits(
    items: Iterable[ServiceRow | RejectedRow],
    key: Sequence[str] = DEFAULT_VISIT_KEY,
    *,
    buffer: bool = False,
    window: int = 0,
    source: str | None = None,
    on_rejected: RejectedSink | None = None,
    on_finding: FindingSink | None = None,
) -> Iterator[Visit]:
    """Visits from the rows of an export, streaming (default) or buffered (any order).

    ``items`` is what :class:`~cognibill.readers.csv_export.ExportReader` yields: rejected rows
    are handed to ``on_rejected`` as they come (required when there can be any), so a caller
    can collect them without a second pass. ``source`` becomes ``Visit.source``.
    ``on_finding(visit, finding)`` receives the ``visit-field-conflict`` warnings, before the
    visit is yielded. ``window``: rows a streamed visit waits for more of its rows once its
    patient-day has passed. Raises :class:`UnsortedInputError` when streaming meets a row of a
    visit already emitted.
    """
    key = parse_visit_key(key)
    builder = _Builder(key, source, on_finding)
    keyget = itemgetter(*(_INDEX[f] for f in key))
    if buffer:
        return _buffered(items, keyget, builder, on_rejected)
    if window < 0:
        raise ValueError("window cannot be negative")
    return _streaming(items, keyget, builder, on_rejected, source, window)


def _rejected(item: object, on_rejected: RejectedSink | None) -> None:
    if not isinstance(item, RejectedRow):
        raise TypeError(f"expected a ServiceRow or a RejectedRow, got {type(item).__name__}")
    if on_rejected is None:
        raise ValueError("a rejected row reached group_visits without on_rejected to take it")
    on_rejected(item)


def _streaming(
    items: Iterable[ServiceRow | RejectedRow],
    keyget: Callable[[ServiceRow], object],
    builder: _Builder,
    on_rejected: RejectedSink | None,
    source: str | None,
    window: int,
) -> Iterator[Visit]:
    # Open visits by first row (dict order), and the row count at each one's last row.
    groups: dict[object, list[ServiceRow]] = {}
    last: dict[object, int] = {}
    seen: set[int] = set()
    patient: str | None = None
    day = None
    key: object = None
    rows: list[ServiceRow] = []
    count = 0
    visit = builder.visit
    for item in items:
        if type(item) is not ServiceRow:
            _rejected(item, on_rejected)
            continue
        count += 1
        if item.date != day or item.patient != patient:
            if groups:
                last[key] = count - 1
                # The patient-day changed: emit the oldest visits that had no row for `window`
                # rows, in the order of their first rows.
                while groups:
                    head = next(iter(groups))
                    if count - last[head] <= window:
                        break
                    yield visit(groups.pop(head))
                    del last[head]
                    seen.add(hash(head))
            patient, day = item.patient, item.date
            key = None
        k = keyget(item)
        if k != key:
            if key is not None:
                last[key] = count - 1
            found = groups.get(k)
            if found is None:
                if hash(k) in seen:
                    raise UnsortedInputError(
                        source or "input",
                        "the rows of one visit are not together: this row belongs to a visit "
                        "(same patient, date and visit key) that was already billed from rows "
                        "before it",
                        line=item.line,
                        hint=(
                            "sort the export by patient and date (or date and patient), or group "
                            "it unsorted (--unsorted; holds every row in memory)"
                        ),
                    )
                found = groups[k] = []
            key, rows = k, found
        rows.append(item)
    for rows in groups.values():
        yield visit(rows)


def _buffered(
    items: Iterable[ServiceRow | RejectedRow],
    keyget: Callable[[ServiceRow], object],
    builder: _Builder,
    on_rejected: RejectedSink | None,
) -> Iterator[Visit]:
    groups: dict[object, list[ServiceRow]] = {}
    for item in items:
        if type(item) is not ServiceRow:
            _rejected(item, on_rejected)
            continue
        k = keyget(item)
        found = groups.get(k)
        if found is None:
            groups[k] = [item]
        else:
            found.append(item)
    # Dict order is the order of each key's first row: visits come out by first line. Each
    # visit's rows are let go once it is built.
    pending = list(groups.values())
    groups.clear()
    pending.reverse()
    while pending:
        yield builder.visit(pending.pop())

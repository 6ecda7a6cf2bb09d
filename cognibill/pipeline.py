"""The claim pipeline: session files and CSV exports in, claims, rejected rows and a summary out.

One streaming pass: a reader yields visits (and, for exports, rejected rows), the claim checker
builds each visit's claim, the fee layer prices it, and the caller writes each result as it
comes. Only the per-patient state of the cross-visit rules and the yearly therapy totals (KX)
grow with the input. Pure: no printing, no exiting.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple

from cognibill.claims import ClaimLine, VisitClaim, cached_units, check_visits
from cognibill.engine.units import UnitRule
from cognibill.errors import EntryError, InputError
from cognibill.findings import Finding, Severity, price_findings
from cognibill.inputs.kinds import STDIN, input_kind, sniff_stdin
from cognibill.models import Visit
from cognibill.rules.context import CheckContext
from cognibill.rules.emit import sort_findings


class Rejected(NamedTuple):
    """An input row that could not be used: where it is, which column, why."""

    source: str
    line: int | None
    column: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }


class Claimed(NamedTuple):
    """One visit's claim with its estimate (None when fees were not asked for)."""

    claim: VisitClaim
    estimate: Any | None


@dataclasses.dataclass(frozen=True)
class ClaimOptions:
    """Everything a claim run needs besides its inputs (one object from the command line)."""

    input_kind: str | None = None
    """``csv`` or ``toml``; None: by file ending (and by content for stdin)."""
    encoding: str | None = None
    column_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    visit_key: tuple[str, ...] = ("patient", "date", "provider", "discipline")
    unsorted: bool = False
    """Group in memory from the start (any order). Otherwise exports stream (see ``hold``)."""
    window: int = 10_000
    """Rows a streamed visit waits for more of its rows after its patient-day has passed
    (an export sorted by date and time lists a patient's second session that day later)."""
    hold: int = 20_000
    """Rows read before the first result goes out. A visit that comes back within them (an
    export far from visit order shows it at once) starts the run again, buffered; one that
    comes back later stops the run with an error, since claims have gone out."""
    strict: bool = False
    payer: str | None = None
    """The payer of visits that name none (default ``medicare``)."""
    payers_file: Path | None = None
    rule: UnitRule | None = None
    ignore: frozenset[str] = frozenset()
    today: dt.date = dataclasses.field(default_factory=dt.date.today)
    locality: str | None = None
    facility: bool | None = None
    participating: bool | None = None
    estimate: bool = True


@dataclasses.dataclass
class Summary:
    """What a run read and produced; rows read = rows used + rows rejected."""

    visit_key: str = ""
    grouping: str = "streaming"
    """``streaming``, or ``buffered`` (``--unsorted``, or the rows of a visit were apart)."""
    regrouped_at: str | None = None
    """``file:line`` of the row that showed the input unsorted, when the run started again
    buffered."""
    sources: list[str] = dataclasses.field(default_factory=list)
    rows_read: int = 0
    rows_rejected: int = 0
    visits: int = 0
    lines: int = 0
    """Billable claim lines (with at least one unit)."""
    output_rows: int = 0
    """Rows written: the claim lines, plus one 0-unit row for each visit with nothing billable."""
    units: int = 0
    findings: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"error": 0, "warning": 0, "info": 0}
    )
    allowed: list[Decimal] = dataclasses.field(default_factory=lambda: [Decimal(0), Decimal(0)])
    payer_pays: list[Decimal] = dataclasses.field(default_factory=lambda: [Decimal(0), Decimal(0)])
    patient_owes: list[Decimal] = dataclasses.field(
        default_factory=lambda: [Decimal(0), Decimal(0)]
    )
    data_versions: set[str] = dataclasses.field(default_factory=set)
    seconds: float = 0.0

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected

    def add(self, item: Claimed) -> None:
        claim = item.claim
        lines = claim.lines
        self.visits += 1
        self.lines += len(lines)
        self.output_rows += len(lines) or 1
        for line in lines:
            self.units += line.units
        counts = self.findings
        for finding in claim.findings:
            counts[finding.severity] += 1  # a StrEnum member finds its value's key
        estimate = item.estimate
        if estimate is not None:
            span = estimate.allowed
            self.allowed[0] += span.low
            self.allowed[1] += span.high
            span = estimate.payer_pays
            self.payer_pays[0] += span.low
            self.payer_pays[1] += span.high
            span = estimate.patient_owes
            self.patient_owes[0] += span.low
            self.patient_owes[1] += span.high
            self.data_versions.add(estimate.data_version)

    def to_dict(self) -> dict[str, object]:
        def money(pair: list[Decimal]) -> str | dict[str, str] | None:
            if not self.data_versions:
                return None  # no estimate was made (--no-estimate)
            low, high = (f"{v:.2f}" for v in pair)
            return low if low == high else {"low": low, "high": high}

        return {
            "sources": list(self.sources),
            "visit_key": self.visit_key,
            "grouping": self.grouping,
            "regrouped_at": self.regrouped_at,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "visits": self.visits,
            "lines": self.lines,
            "output_rows": self.output_rows,
            "units": self.units,
            "findings": dict(self.findings),
            "allowed": money(self.allowed),
            "payer_pays": money(self.payer_pays),
            "patient_owes": money(self.patient_owes),
            "data_version": sorted(self.data_versions),
            "seconds": round(self.seconds, 3),
        }


class ClaimRun:
    """Iterate for :class:`Claimed` and :class:`Rejected` items; ``summary`` is complete once
    iteration ends.

    Claims come in the order of their visits' first rows; a rejected row comes as it is read,
    so it may come before the claims of visits still open around it (grouping holds a visit
    for ``ClaimOptions.window`` rows). The first results are held back for
    ``ClaimOptions.hold`` rows: if the input turns out unsorted within them, the run starts
    again with the rows grouped in memory (stdin and pipes are replayed from the bytes kept).
    """

    def __init__(
        self,
        sources: Sequence[str],
        options: ClaimOptions,
        *,
        stdin: IO[bytes] | None = None,
    ) -> None:
        from cognibill.grouping import describe_visit_key, parse_visit_key

        self.sources = list(sources) or [STDIN]
        self.options = options
        self.stdin = stdin
        self.visit_key = parse_visit_key(options.visit_key)
        self.summary = Summary(
            visit_key=describe_visit_key(self.visit_key),
            grouping="buffered" if options.unsorted else "streaming",
        )
        self._buffer = options.unsorted
        self._replays: dict[str, Any] = {}
        """Inputs that cannot be opened twice (stdin, pipes), by name: read through a replay."""
        self._stdin_kind: str | None = None
        self._pending: deque[Rejected] = deque()
        self._contexts: dict[str, CheckContext | None] = {}
        self._profiles: dict[str, Any] = {}
        # 16k results (about 20 MiB): most of the hits of a larger cache at a fraction of its
        # memory (a 64k cache took the 1M-row benchmark past 256 MiB).
        self._units = cached_units(maxsize=16_384)
        self._kx: Any = None
        self._pricers: dict[str, Any] = {}
        self._priced_by: dict[str, tuple[Any, Any]] = {}
        """payer id -> (profile, pricer), looked up once per payer."""
        self._groups: dict[tuple[tuple[str, ...], Any], Any] = {}
        """(modifiers, discipline) -> the KX threshold group (or None)."""
        for source in self.sources:  # check every name before reading anything
            if source != STDIN:
                input_kind(source, options.input_kind)
        if self.sources.count(STDIN) > 1:
            raise EntryError("stdin (-) can be read only once")

    # -- payers and contexts ------------------------------------------------------------------

    def _payers(self) -> Mapping[str, Any]:
        if not self._profiles:
            from cognibill.payers import load_payers

            self._profiles = dict(load_payers(self.options.payers_file))
        return self._profiles

    def default_payer(self) -> str:
        wanted = (self.options.payer or "medicare").strip().lower()
        if wanted not in self._payers():
            from cognibill.payers import get_payer

            get_payer(wanted, self.options.payers_file)  # raises with the known ids
        return wanted

    def _context(self, payer_id: str) -> CheckContext | None:
        if payer_id in self._contexts:
            return self._contexts[payer_id]
        profile = self._payers().get(payer_id)
        ctx = None
        if profile is not None:
            fee = None
            if self.options.estimate:
                pricer = self._pricer(payer_id)

                def fee(visit: Any, code: str) -> Decimal | None:
                    return pricer.unit_value(visit.date, visit.place_of_service, code)  # type: ignore[no-any-return]

            ctx = CheckContext(
                payer=profile,
                rule=self.options.rule,
                today=self.options.today,
                ignore=self.options.ignore,
                visit_key=self.summary.visit_key,
                fee=fee,
                units=self._units,
            )
        self._contexts[payer_id] = ctx
        return ctx

    def _pricer(self, payer_id: str) -> Any:
        """One cached batch pricer per payer (same money as ``estimate_visit``)."""
        pricer = self._pricers.get(payer_id)
        if pricer is None:
            from cognibill.fees.batch import BatchPricer

            pricer = self._pricers[payer_id] = BatchPricer(
                self._payers()[payer_id],
                facility=self.options.facility,
                locality=self.options.locality,
                participating=self.options.participating,
            )
        return pricer

    # -- reading ------------------------------------------------------------------------------

    def _visits(self) -> Iterator[Visit]:
        from cognibill.grouping import with_payer

        default = self.default_payer()
        # Export payer names repeat: each is resolved to a profile id (and its note) once.
        known: dict[str | None, tuple[str, Finding | None]] = {}
        for source in self.sources:
            for visit in self._read(source):
                found = known.get(visit.payer)
                if found is None:
                    found = known[visit.payer] = self._payer_of(visit.payer, default)
                payer, note = found
                if note is not None:
                    self._extra(visit).append(note)
                if visit.payer != payer:
                    extra = self._conflicts.pop(id(visit), None)
                    visit = with_payer(visit, payer)
                    if extra:
                        self._conflicts[id(visit)] = extra
                yield visit

    def _extra(self, visit: Visit) -> list[Finding]:
        return self._conflicts.setdefault(id(visit), [])

    def _payer_of(self, named: str | None, default: str) -> tuple[str, Finding | None]:
        """The profile id for a visit's payer: its own id when there is a profile for it
        (case, spaces and dashes forgiven). A visit that names no payer gets the default
        (``--payer``, else medicare); one that names a payer with no profile gets ``--payer``
        when given, else ``commercial`` (an unknown named plan is almost never Medicare Part B),
        with an info finding."""
        if not named or not named.strip():
            return default, None
        wanted = "-".join(named.strip().lower().replace("_", " ").split())
        if wanted in self._payers():
            return wanted, None
        fallback = default if self.options.payer else "commercial"
        if fallback not in self._payers():
            fallback = default
        if "payer-fallback" in self.options.ignore:
            return fallback, None
        return fallback, Finding(
            "payer-fallback",
            Severity.INFO,
            f"payer {named.strip()!r} has no profile: checked and priced as {fallback!r}.",
            "Add a profile with this id (cognibill payers init), or pass --payer.",
            "RULES.md §8",
        )

    def _reject_visit(self, visit: Visit, column: str, reason: str) -> None:
        lines = [s.line for s in visit.services] or [visit.line]
        for line in lines:
            self._pending.append(Rejected(visit.source or "", line, column, reason))
        self.summary.rows_rejected += len(lines)

    def _read(self, source: str) -> Iterator[Visit]:
        kind = input_kind(source, self.options.input_kind)
        stream = self._once_only(source)
        if kind is None:  # stdin without --input
            assert stream is not None
            if self._stdin_kind is None:
                self._stdin_kind, stream = sniff_stdin(stream)
            kind = self._stdin_kind
        self.summary.sources.append("<stdin>" if source == STDIN else source)
        if kind == "toml":
            yield from self._read_toml(source, stream)
        else:
            yield from self._read_csv(source, stream)

    def _once_only(self, source: str) -> IO[bytes] | None:
        """A stream of an input that cannot be opened twice (stdin, a named pipe, ``<(...)``),
        from its first byte while a run may still start again; None for a regular file, which
        the readers open themselves (again, on a restart)."""
        if source != STDIN:
            try:
                if stat.S_ISREG(os.stat(source).st_mode):
                    return None
            except OSError:
                return None  # the reader says what is wrong with it
        replay = self._replays.get(source)
        if replay is None:
            from cognibill.readers.replay import Replayable

            if source == STDIN:
                import sys

                raw = self.stdin if self.stdin is not None else sys.stdin.buffer
            else:
                try:
                    raw = open(source, "rb")  # noqa: SIM115 - closed at the end of the run
                except OSError as exc:
                    reason = (exc.strerror or type(exc).__name__).lower()
                    raise InputError(source, f"cannot read the file: {reason}") from None
            replay = self._replays[source] = Replayable(raw)
        stream = replay.stream()
        if self._buffer:
            replay.forget()  # a buffered pass never starts again: keep nothing
        return stream

    @staticmethod
    def _as_read(source: str, stream: IO[bytes] | None) -> tuple[str, str | None]:
        """What the readers are given for ``source``: ``-`` with ``stream`` for stdin and
        pipes (named as the user named them), else the path."""
        if stream is None:
            return source, None
        return STDIN, None if source == STDIN else source

    def _read_toml(self, source: str, stream: IO[bytes] | None) -> Iterator[Visit]:
        from cognibill.readers.session_file import read_session_file

        path, name = self._as_read(source, stream)
        visits = read_session_file(path, name=name, stdin=stream)  # type: ignore[arg-type]
        self.summary.rows_read += sum(max(len(v.services), 1) for v in visits)
        yield from visits

    def _read_csv(self, source: str, stream: IO[bytes] | None) -> Iterator[Visit]:
        from cognibill.grouping import group_visits
        from cognibill.readers.csv_export import ExportReader

        options = self.options
        path, given_name = self._as_read(source, stream)
        reader = ExportReader(
            path,
            name=given_name,
            encoding=options.encoding,
            column_map=options.column_map,
            strict=options.strict,
            stdin=stream,
        )
        name = reader.name
        self._reader = reader
        conflicts: list[tuple[Visit, Finding]] = []

        def conflict(visit: Visit, finding: Finding) -> None:
            if finding.id not in options.ignore:
                conflicts.append((visit, finding))

        def rejected(row: Any) -> None:
            self._pending.append(Rejected(name, row.line, row.column, row.reason))

        try:
            for visit in group_visits(
                reader,
                self.visit_key,
                buffer=self._buffer,
                window=options.window,
                source=name,
                on_rejected=rejected,
                on_finding=conflict,
            ):
                if conflicts:
                    self._conflicts[id(visit)] = [f for v, f in conflicts if v is visit]
                    conflicts.clear()
                yield visit
        finally:
            self.summary.rows_read += reader.rows_read
            self.summary.rows_rejected += reader.rows_rejected
            self._reader = None

    # -- the run ------------------------------------------------------------------------------

    _reader: Any = None

    def progress(self) -> tuple[int, int] | None:
        """``(bytes read, bytes in all)`` of the export being read, for a progress bar; None
        when unknown (stdin, session files)."""
        reader = self._reader
        if reader is None or reader.size is None:
            return None
        done = reader.position()
        return None if done is None else (done, reader.size)

    _conflicts: dict[int, list[Finding]]

    def __iter__(self) -> Iterator[Claimed | Rejected]:
        from cognibill.grouping import UnsortedInputError

        start = time.perf_counter()
        held: list[Claimed | Rejected] | None = None if self._buffer else []
        try:
            try:
                for item in self._run():
                    if held is None:
                        yield item
                        continue
                    held.append(item)
                    if self._rows_so_far() >= self.options.hold:
                        yield from self._release(held)
                        held = None
            except UnsortedInputError as exc:
                if held is None:
                    raise
                # Nothing has gone out yet: start again, holding the rows in memory.
                self._start_again(f"{exc.path}:{exc.line}")
                held = None
                yield from self._run()
            if held:
                yield from self._release(held)
        finally:
            for source, replay in self._replays.items():
                if source != STDIN:
                    replay.close()  # the pipes this run opened; stdin is the caller's
            self.summary.seconds = time.perf_counter() - start

    def _rows_so_far(self) -> int:
        reader = self._reader
        return self.summary.rows_read + (0 if reader is None else reader.rows_read)

    def _release(self, held: list[Claimed | Rejected]) -> Iterator[Claimed | Rejected]:
        """Give out what the run held back; from here on it cannot start again."""
        for replay in self._replays.values():
            replay.forget()
        yield from held
        held.clear()

    def _start_again(self, where: str) -> None:
        """Forget a streamed attempt (counts, pending rows, yearly totals) and group buffered."""
        self._buffer = True
        self.summary = Summary(
            visit_key=self.summary.visit_key, grouping="buffered", regrouped_at=where
        )
        self._pending.clear()
        self._kx = None
        self._reader = None

    def _run(self) -> Iterator[Claimed | Rejected]:
        self._conflicts = {}
        default = self.default_payer()
        first_ctx = self._context(default)
        assert first_ctx is not None
        claims = check_visits(
            self._visits(),
            first_ctx,
            context_for=lambda v: self._context(v.payer or default) or first_ctx,
        )
        for claim in claims:
            while self._pending:
                yield self._pending.popleft()
            extra = self._conflicts.pop(id(claim.visit), None)
            if extra:
                claim = claim.with_findings(extra)
            item = self._price(claim)
            self.summary.add(item)
            yield item
        while self._pending:
            yield self._pending.popleft()

    def _price(self, claim: VisitClaim) -> Claimed:
        if not self.options.estimate:
            return Claimed(claim, None)
        visit = claim.visit
        payer_id = claim.payer or visit.payer or self.default_payer()
        found = self._priced_by.get(payer_id)
        if found is None:
            found = self._priced_by[payer_id] = (self._payers()[payer_id], self._pricer(payer_id))
        profile, pricer = found
        billed = tuple(
            (line.code, line.units, "CQ" in line.modifiers or "CO" in line.modifiers)
            for line in claim.lines
        )
        price = pricer.price(visit.date, visit.place_of_service, billed)
        lines = tuple(
            _new(ClaimLine, (line.code, line.units, line.minutes, line.modifiers, line.service, p))
            for line, p in zip(claim.lines, price.lines, strict=True)
        )
        findings = claim.findings
        if findings and any(f.id == "below-minimum" for f in findings):
            findings = price_findings(
                findings,
                lambda code: pricer.unit_value(visit.date, visit.place_of_service, code),
            )
        if profile.tracks_kx and lines:
            lines, kx_findings = self._track_kx(claim, lines)
            if kx_findings:
                findings = sort_findings([*findings, *kx_findings])
        return Claimed(claim._replace(lines=lines, findings=findings), price)

    def _track_kx(
        self, claim: VisitClaim, lines: tuple[ClaimLine, ...]
    ) -> tuple[tuple[ClaimLine, ...], list[Finding]]:
        """Yearly therapy totals per patient (PT+SLP, OT): KX past the threshold (RULES.md §6)."""
        if self._kx is None:
            from cognibill.fees.estimate import ThresholdTracker

            self._kx = ThresholdTracker()
        visit = claim.visit
        discipline = visit.provider.discipline
        ignore = self.options.ignore
        groups = self._groups
        out: list[ClaimLine] = []
        findings: list[Finding] = []
        for line in lines:
            key = (line.modifiers, discipline)
            group = groups.get(key, _UNKNOWN)
            if group is _UNKNOWN:
                from cognibill.fees.estimate import therapy_group

                group = groups[key] = therapy_group(
                    modifiers=line.modifiers,
                    discipline=None if discipline is None else discipline.value,
                )
            if group is None or line.estimate is None:
                out.append(line)
                continue
            priced: Any = line.estimate
            check = self._kx.add(visit.patient, visit.date, group, priced.allowed.low)
            if check.needs_kx and "KX" not in line.modifiers:
                line = line._replace(modifiers=(*line.modifiers, "KX"))
            label = "OT" if group == "ot" else "PT+SLP"
            if check.crosses_kx and "kx-threshold" not in ignore:
                findings.append(
                    Finding(
                        "kx-threshold",
                        Severity.WARNING,
                        f"{visit.patient} {check.year} {label} therapy reaches "
                        f"${check.after:,.2f}, past the KX threshold "
                        f"${check.kx_threshold:,.2f}: {line.code} and the patient's "
                        "later therapy lines this year carry KX.",
                        "Bill KX only when the notes show the therapy is medically necessary.",
                        "RULES.md §6",
                        line.code,
                    )
                )
            if check.crosses_review and "medical-review-threshold" not in ignore:
                findings.append(
                    Finding(
                        "medical-review-threshold",
                        Severity.INFO,
                        f"{visit.patient} {check.year} {label} therapy reaches "
                        f"${check.after:,.2f}, past ${check.review_threshold:,.2f}: claims may "
                        "be picked for targeted medical review.",
                        "Make sure the notes support medical necessity.",
                        "RULES.md §6",
                        line.code,
                    )
                )
            out.append(line)
        return tuple(out), findings


_UNKNOWN: Any = object()
_new = tuple.__new__
"""A NamedTuple from a tuple of all its fields, without its generated ``__new__``."""


def _placed(claim: VisitClaim) -> list[tuple[ClaimLine, list[Finding]]]:
    """The visit's claim lines, each with the findings that name its code (the rest go on the
    first line); a visit with no billable line still gives one line, with 0 units."""
    visit = claim.visit
    lines = list(claim.lines)
    if not lines:
        first = visit.services[0].code if visit.services else ""
        lines = [ClaimLine(first, 0, sum(s.minutes for s in visit.services))]
    placed: list[list[Finding]] = [[] for _ in lines]
    if not claim.findings:
        return list(zip(lines, placed, strict=True))
    for finding in claim.findings:
        index = 0
        if finding.code and len(lines) > 1:
            codes = finding.code.split("/")
            index = next((i for i, ln in enumerate(lines) if ln.code in codes), 0)
        placed[index].append(finding)
    return list(zip(lines, placed, strict=True))


def claim_rows(item: Claimed) -> list[dict[str, Any]]:
    """The output rows of one visit (JSON and NDJSON): one per claim line."""
    claim = item.claim
    visit = claim.visit
    discipline = visit.provider.discipline
    base = {
        "source": visit.source,
        "line": visit.line,
        "patient_id": visit.patient,
        "date": visit.date.isoformat(),
        "provider": visit.provider.id,
        "discipline": None if discipline is None else discipline.value,
        "payer": claim.payer or visit.payer,
        "place_of_service": visit.place_of_service,
        "rule": claim.rule.value,
        "visit_key": claim.visit_key,
        "session_id": visit.session_id,
        "total_timed_minutes": claim.units.total_timed_minutes,
        "visit_units": sum(line.units for line in claim.lines),
    }
    rows = []
    for line, found in _placed(claim):
        est: Any = line.estimate
        rows.append(
            {
                **base,
                "code": line.code,
                "units": line.units,
                "minutes": line.minutes,
                "modifiers": list(line.modifiers),
                "allowed": None if est is None else est.allowed.to_json(),
                "payer_pays": None if est is None else est.payer_pays.to_json(),
                "patient_owes": None if est is None else est.patient_owes.to_json(),
                "findings": [f.to_dict() for f in found],
            }
        )
    return rows


def claim_csv_values(item: Claimed) -> list[list[Any]]:
    """The CSV rows of one visit, in ``CLAIM_CSV_FIELDS`` order: money ranges as ``low-high``,
    modifiers space-separated, findings as ``severity[id]: message`` joined by ``; ``."""
    claim = item.claim
    visit = claim.visit
    discipline = visit.provider.discipline
    head = [
        visit.source,
        visit.line,
        visit.patient,
        visit.date.isoformat(),
        visit.provider.id,
        None if discipline is None else discipline.value,
        claim.payer or visit.payer,
        visit.place_of_service,
        claim.rule.value,
        visit.session_id,
    ]
    out = []
    for line, found in _placed(claim):
        est: Any = line.estimate
        out.append(
            [
                *head,
                line.code,
                line.units,
                line.minutes,
                " ".join(line.modifiers),
                "" if est is None else est.allowed.to_csv(),
                "" if est is None else est.payer_pays.to_csv(),
                "" if est is None else est.patient_owes.to_csv(),
                "; ".join(f"{f.severity.value}[{f.id}]: {f.message}" for f in found),
            ]
        )
    return out


class _Cells(dict[Any, str]):
    """CSV field text by value, made on first use; emptied when it holds too many."""

    __slots__ = ("_make",)
    _LIMIT = 100_000

    def __init__(self, make: Callable[[Any], str]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: Any) -> str:
        if len(self) >= self._LIMIT:
            self.clear()
        value = self[key] = self._make(key)
        return value


class ClaimCsv:
    """The CSV text of claims: the rows of :func:`claim_csv_values` exactly as ``CsvWriter``
    writes them, with the cells that repeat across a batch (files, patients, providers, dates,
    modifiers, money) formatted once and remembered (bounded)."""

    def __init__(self) -> None:
        from cognibill.writers import csv_text

        self._csv_text = csv_text
        self._texts = _Cells(csv_text)
        """Text cells (and StrEnum members, which format as their value) by value."""
        self._dates = _Cells(lambda day: csv_text(day.isoformat()))
        self._modifiers = _Cells(lambda mods: csv_text(" ".join(mods)))
        self._money: dict[int, tuple[object, str]] = {}
        """id(line estimate) -> (the estimate, its three cells): the pricer shares estimates."""

    def lines(self, item: Claimed) -> list[str]:
        """The visit's CSV lines, each ending in ``\\n``."""
        claim = item.claim
        visit = claim.visit
        discipline = visit.provider.discipline
        text = self._texts
        head = ",".join(
            (
                text[visit.source],
                "" if visit.line is None else str(visit.line),
                text[visit.patient],
                self._dates[visit.date],
                text[visit.provider.id],
                "" if discipline is None else text[discipline],
                text[claim.payer or visit.payer],
                text[visit.place_of_service],
                text[claim.rule],
                text[visit.session_id],
                "",
            )
        )
        modifiers = self._modifiers
        out = []
        for line, found in _placed(claim):
            money = ",,"
            est: Any = line.estimate
            if est is not None:
                known = self._money.get(id(est))
                if known is None or known[0] is not est:
                    if len(self._money) >= _Cells._LIMIT:
                        self._money.clear()
                    spans = (est.allowed, est.payer_pays, est.patient_owes)
                    cells = ",".join(self._csv_text(span.to_csv()) for span in spans)
                    known = self._money[id(est)] = (est, cells)
                money = known[1]
            notes = ""
            if found:
                said = "; ".join(f"{f.severity}[{f.id}]: {f.message}" for f in found)
                notes = self._csv_text(said)
            out.append(
                f"{head}{text[line.code]},{line.units},{line.minutes},{modifiers[line.modifiers]},"
                f"{money},{notes}\n"
            )
        return out


CLAIM_CSV_FIELDS = (
    "source",
    "line",
    "patient_id",
    "date",
    "provider",
    "discipline",
    "payer",
    "place_of_service",
    "rule",
    "session_id",
    "code",
    "units",
    "minutes",
    "modifiers",
    "allowed",
    "payer_pays",
    "patient_owes",
    "findings",
)

"""A claim run: inputs read into batches of whole visits, each billed by ``engine.bill``.

Exports stream in batches that end where the date of service changes, so a visit's rows stay
together as long as the export keeps them together (sorted by date, by patient and date, or
by date and time). A batch must not go back in time for a patient it has already billed: that
would split a visit or count a yearly threshold out of date order. When it does, the run starts
again with every row in memory (nothing has been written yet) or, once output has gone out,
stops with the line that showed it. ``--unsorted`` holds every row from the start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple

import polars as pl

from cognibill.engine.bill import Billed, Settings, State, bill
from cognibill.engine.frames import LOST, empty
from cognibill.engine.visits import DEFAULT_VISIT_KEY, describe_visit_key
from cognibill.errors import EntryError, InputError
from cognibill.inputs.kinds import STDIN, STDIN_NAME, input_kind, sniff_stdin


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Everything a claim run needs besides its inputs (one object from the command line)."""

    input_kind: str | None = None
    shape: str | None = None
    """``--from``: the vendor shape every export is read as (None: from each header)."""
    sheet: str | None = None
    """``--sheet``: the sheet of a workbook to read (None: the first)."""
    encoding: str | None = None
    column_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    visit_key: tuple[str, ...] = DEFAULT_VISIT_KEY
    unsorted: bool = False
    strict: bool = False
    payer: str | None = None
    payers_file: Path | None = None
    rule: str | None = None
    ignore: frozenset[str] = frozenset()
    today: dt.date = dataclasses.field(default_factory=dt.date.today)
    locality: str | None = None
    facility: bool | None = None
    participating: bool | None = None
    estimate: bool = True
    explain: bool = False
    """Each visit's working (how its units were found) on its first line: ``trace``."""
    ledger: Path | None = None
    """The claims ledger (issue 12): earlier lines count toward the year's thresholds, lines
    it holds are ``already-billed``; ``ClaimRun.record`` adds this run to it."""
    replace: bool = False
    """``--replace``: this input's visits replace their earlier lines in the ledger."""
    batch_rows: int = 100_000
    """Rows read before a batch is cut (at the next change of date)."""
    hold_rows: int = 200_000
    """Rows read before the first results go out: within them, an input out of order starts
    the run again in memory rather than stopping it."""


_ZERO = Decimal("0.00")


@dataclasses.dataclass
class Summary:
    """What a run read and produced; rows read = rows used + rows rejected + rows skipped."""

    visit_key: str = ""
    grouping: str = "streaming"
    regrouped_at: str | None = None
    sources: list[str] = dataclasses.field(default_factory=list)
    rows_read: int = 0
    rows_rejected: int = 0
    rows_skipped: int = 0
    skipped: list[dict[str, object]] = dataclasses.field(default_factory=list)
    """Blank rows, total rows and lines above a header: source, line, reason."""
    notes: list[dict[str, object]] = dataclasses.field(default_factory=list)
    """Findings about a whole file (``NOTES``): source, id, severity, message, count."""
    read_as: list[dict[str, object]] = dataclasses.field(default_factory=list)
    """How each export was read: its vendor shape (null: generic), sheet, header line, where
    minutes come from (``minutes``, ``start-end``, ``units``) and field -> headers."""
    visits: int = 0
    visits_incomplete: int = 0
    """Visits that lost a row to rejection (``visit-incomplete``): not billed as whole."""
    lines: int = 0
    output_rows: int = 0
    units: int = 0
    findings: dict[str, int] = dataclasses.field(
        default_factory=lambda: {"error": 0, "warning": 0, "info": 0}
    )
    cents: dict[str, int] = dataclasses.field(
        default_factory=lambda: dict.fromkeys(
            (
                "allowed_lo",
                "allowed_hi",
                "payer_pays_lo",
                "payer_pays_hi",
                "patient_owes_lo",
                "patient_owes_hi",
            ),
            0,
        )
    )
    data_versions: set[str] = dataclasses.field(default_factory=set)
    seconds: float = 0.0

    @property
    def rows_used(self) -> int:
        return self.rows_read - self.rows_rejected - self.rows_skipped

    def amount(self, name: str) -> tuple[Decimal, Decimal]:
        """A money total as (low, high) dollars."""
        return (
            Decimal(self.cents[f"{name}_lo"]) / 100,
            Decimal(self.cents[f"{name}_hi"]) / 100,
        )

    def add(self, billed: Billed) -> None:
        sums = billed.visits
        self.visits += sums.height
        self.lines += int(sums.get_column("lines").sum())
        self.output_rows += billed.lines.height
        self.units += int(sums.get_column("units").sum())
        for severity, count in billed.findings.group_by("severity").len().iter_rows():
            self.findings[severity] += count
        incomplete = billed.findings.filter(pl.col("id") == "visit-incomplete")
        self.visits_incomplete += incomplete.get_column("visit").n_unique()
        for name in self.cents:
            self.cents[name] += int(sums.get_column(name).sum())
        if "data_version" in sums.columns:
            self.data_versions.update(sums.get_column("data_version").drop_nulls().unique())

    def to_dict(self) -> dict[str, object]:
        def money(name: str) -> str | dict[str, str] | None:
            if not self.data_versions:
                return None
            low, high = (f"{v:.2f}" for v in self.amount(name))
            return low if low == high else {"low": low, "high": high}

        return {
            "sources": list(self.sources),
            "visit_key": self.visit_key,
            "grouping": self.grouping,
            "regrouped_at": self.regrouped_at,
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_rejected": self.rows_rejected,
            "rows_skipped": self.rows_skipped,
            "visits": self.visits,
            "visits_incomplete": self.visits_incomplete,
            "lines": self.lines,
            "output_rows": self.output_rows,
            "units": self.units,
            "findings": dict(self.findings),
            "allowed": money("allowed"),
            "payer_pays": money("payer_pays"),
            "patient_owes": money("patient_owes"),
            "data_version": sorted(self.data_versions),
            "read_as": list(self.read_as),
            "notes": list(self.notes),
            "skipped": list(self.skipped),
            "seconds": round(self.seconds, 3),
        }


class Rejected(NamedTuple):
    """Rejected input rows (``REJECTED``), in input order."""

    rows: pl.DataFrame


class OutOfOrder(InputError):
    """An export went back in time for a patient already billed in an earlier batch."""


class ClaimRun:
    """Iterate for :class:`Billed` batches and :class:`Rejected` rows; ``summary`` is complete
    once iteration ends."""

    def __init__(
        self, sources: Sequence[str], options: RunOptions, *, stdin: IO[bytes] | None = None
    ) -> None:
        self.sources = list(sources) or [STDIN]
        self.options = options
        self.stdin = stdin
        self.summary = Summary(
            visit_key=describe_visit_key(options.visit_key),
            grouping="buffered" if options.unsorted else "streaming",
        )
        for source in self.sources:  # check every name before reading anything
            if source != STDIN:
                input_kind(source, options.input_kind)
        if self.sources.count(STDIN) > 1:
            raise EntryError("stdin (-) can be read only once")
        self.ledger: Any = None
        if options.ledger is not None:
            from cognibill.ledger import open_ledger

            self.ledger = open_ledger(options.ledger)
        self._settings = make_settings(options, self.ledger)
        self._state: State | None = None
        self._started = dt.datetime.now(dt.UTC)
        self._reader: Any = None
        self._buffer = options.unsorted
        self._replays: dict[str, Any] = {}
        self.timings: dict[str, float] | None = None
        """Seconds per stage, when set to a dict before the run (benchmarks)."""
        self.on_progress: Callable[[int, int], None] | None = None
        """Called with (bytes read, bytes in all) as each part of an export is read."""

    # -- the run ---------------------------------------------------------------------------

    def progress(self) -> tuple[int, int] | None:
        """``(bytes read, bytes in all)`` of the export being read; None when unknown."""
        reader = self._reader
        if reader is None or reader.size is None:
            return None
        done = reader.position()
        return None if done is None else (done, reader.size)

    def __iter__(self) -> Iterator[Billed | Rejected]:
        start = time.perf_counter()
        try:
            held: list[Billed | Rejected] | None = None if self._buffer else []
            try:
                for item in self._run():
                    if held is None:
                        yield item
                        continue
                    held.append(item)
                    if self.summary.rows_read >= self.options.hold_rows:
                        yield from self._release(held)
                        held = None
            except OutOfOrder as exc:
                if held is None:
                    raise
                self._start_again(f"{exc.path}:{exc.line}")
                held = None
                yield from self._run()
            if held:
                yield from self._release(held)
        finally:
            for source, replay in self._replays.items():
                if source != STDIN:
                    replay.close()
            self.summary.seconds = time.perf_counter() - start

    def _release(self, held: list[Billed | Rejected]) -> Iterator[Billed | Rejected]:
        for replay in self._replays.values():
            replay.forget()
        yield from held
        held.clear()

    def _start_again(self, where: str) -> None:
        self._buffer = True
        self.summary = Summary(
            visit_key=self.summary.visit_key, grouping="buffered", regrouped_at=where
        )
        self._reader = None

    def _run(self) -> Iterator[Billed | Rejected]:
        state = State(timings=self.timings)
        self._state = state
        for source in self.sources:
            yield from self._source(source, state)
        self._late_kx(state)
        self.summary.notes = notes_of(state.notes, self.options.ignore)

    def _source(self, source: str, state: State) -> Iterator[Billed | Rejected]:
        kind = input_kind(source, self.options.input_kind)
        stream = self._once_only(source)
        if kind is None:
            assert stream is not None
            kind, stream = sniff_stdin(stream)
        self.summary.sources.append(STDIN_NAME if source == STDIN else source)
        if kind == "toml":
            yield from self._toml(source, stream, state)
        else:
            yield from self._csv(source, stream, state)

    def _once_only(self, source: str) -> IO[bytes] | None:
        """A replayable stream for inputs that cannot be opened twice (stdin, pipes); None for a
        regular file, which the readers open themselves (again, on a restart)."""
        import os
        import stat

        if source != STDIN:
            try:
                if stat.S_ISREG(os.stat(source).st_mode):
                    return None
            except OSError:
                return None
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
            replay.forget()
        return stream

    def _toml(self, source: str, stream: IO[bytes] | None, state: State) -> Iterator[Billed]:
        from cognibill.inputs.sessions import session_rows
        from cognibill.readers.session_file import read_session_file

        if stream is None:
            visits = read_session_file(source)
        else:
            name = None if source == STDIN else source
            visits = read_session_file(STDIN, name=name, stdin=stream)  # type: ignore[arg-type]
        self.summary.rows_read += sum(max(len(v.services), 1) for v in visits)
        if not visits:
            return
        billed = bill(session_rows(visits), self._settings, state, tables=True)
        self.summary.add(billed)
        yield billed

    def _csv(
        self, source: str, stream: IO[bytes] | None, state: State
    ) -> Iterator[Billed | Rejected]:
        from cognibill.inputs.export import ExportFrames

        options = self.options
        reader = ExportFrames(
            STDIN if stream is not None else source,
            name=None if stream is None or source == STDIN else source,
            encoding=options.encoding,
            column_map=options.column_map,
            strict=options.strict,
            stdin=stream,
            chunk_rows=options.batch_rows,
            shape=options.shape,
            sheet=options.sheet,
        )
        self._reader = reader
        pending: pl.DataFrame | None = None
        lost = empty(LOST)
        seen = _Seen()
        summary = self.summary
        try:
            self._skipping(reader, state)
            read_before = summary.rows_read
            rejected_before = summary.rows_rejected
            skipped_before = summary.rows_skipped
            for chunk in reader:
                self._progressed(reader)
                summary.rows_read = read_before + reader.rows_read
                summary.rows_rejected = rejected_before + reader.rows_rejected
                summary.rows_skipped = skipped_before + reader.rows_skipped
                summary.skipped.extend(chunk.skipped.iter_rows(named=True))
                if chunk.rejected.height:
                    yield Rejected(chunk.rejected)
                if chunk.lost.height:
                    lost = pl.concat([lost, chunk.lost])
                rows = chunk.rows if pending is None else pl.concat([pending, chunk.rows])
                if self._buffer:
                    pending = rows
                    continue
                ready, pending = _cut(rows)
                if ready is not None:
                    # a rejected row goes with the batch that holds its visit's day, whatever
                    # the export's order (by date, or by patient then date)
                    days = ready.select("source", "patient", "date").unique()
                    here = lost.join(days, on=["source", "patient", "date"], how="semi")
                    yield self._bill(ready, state, seen, reader.name, here)
                    lost = lost.join(days, on=["source", "patient", "date"], how="anti")
            summary.rows_read = read_before + reader.rows_read
            summary.rows_rejected = rejected_before + reader.rows_rejected
            summary.rows_skipped = skipped_before + reader.rows_skipped
            if pending is not None and pending.height:
                yield self._bill(pending, state, seen, reader.name, lost)
        finally:
            self._reader = None

    def _skipping(self, reader: Any, state: State) -> None:
        """Read the header; note once which checks the file's absent columns skip."""
        from cognibill.partition import read_as, skipped_checks
        from cognibill.readers.columns import absent_fields

        layout = reader.columns()
        self.summary.read_as.append(read_as(reader, layout))
        absent = absent_fields(layout)
        if not absent:
            return
        state.absent[reader.name] = absent
        state.notes.update(skipped_checks(reader.name, absent))

    def _progressed(self, reader: Any) -> None:
        where = None if self.on_progress is None else self.progress()
        if where is not None and self.on_progress is not None:
            self.on_progress(*where)

    def _bill(
        self, rows: pl.DataFrame, state: State, seen: _Seen, name: str, lost: pl.DataFrame
    ) -> Billed:
        if not self._buffer:
            seen.check(rows, name)
        billed = bill(rows, self._settings, state, lost=lost)
        self.summary.add(billed)
        return billed

    def _late_kx(self, state: State) -> None:
        """``kx-late`` notes: ledger lines this input's earlier dates push past KX."""
        settings = self._settings
        if self.ledger is None or not state.to_record or settings.limits is None:
            return
        from cognibill.engine.ledger import late_kx, prior_for

        lines = pl.concat(state.to_record)
        visits = lines.select(pl.col("patient_id").alias("patient"), "date", "provider")
        prior = prior_for(visits.unique(), settings)
        tracked = {i for i, p in settings.payers.items() if p.tracks_kx}
        for source, message, count in late_kx(lines, prior, settings.limits.kx, tracked):
            state.notes[(source, "kx-late", message)] = count

    def record(self) -> Any:
        """Add this run and its claim lines to the ledger, in one transaction (call it once
        the report is written); the ``RecordResult``, or None without a ledger."""
        if self.ledger is None or self._state is None:
            return None
        from cognibill.ledger import RunRecord, digest_input

        lines = pl.concat(self._state.to_record) if self._state.to_record else None
        if lines is None:
            return None
        replace = None
        if self.options.replace:
            replace = lines.select(
                pl.col("patient_id").alias("patient"), "date", "provider"
            ).unique()
        run = RunRecord(
            inputs=[digest_input(s) for s in self.sources if s != STDIN],
            fee_data=sorted(self.summary.data_versions),
            options={
                "visit_key": list(self.options.visit_key),
                "payer": self.options.payer,
                "rule": self.options.rule,
                "locality": self.options.locality,
                "replace": self.options.replace,
            },
            started_at=self._started,
        )
        return self.ledger.record_run(run, lines, replace)

    def close(self) -> None:
        """Close the ledger, if one is open."""
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None


def make_settings(options: RunOptions, ledger: Any = None) -> Settings:
    """What every batch of a run is billed with: payer profiles, pricer, thresholds."""
    from cognibill.payers import get_payer, load_payers

    payers = dict(load_payers(options.payers_file))
    default = (options.payer or "medicare").strip().lower()
    if default not in payers:
        get_payer(default, options.payers_file)  # raises with the known ids
    pricer = None
    limits = None
    if options.estimate:
        from cognibill.engine.thresholds import Thresholds
        from cognibill.fees.kernel import Pricer

        pricer = Pricer(
            payers,
            facility=options.facility,
            locality=options.locality,
            participating=options.participating,
        )
        limits = Thresholds.load()
    return Settings(
        key=options.visit_key,
        visit_key=describe_visit_key(options.visit_key),
        payers=payers,
        default_payer=default,
        payer_given=options.payer is not None,
        rule=options.rule,
        ignore=options.ignore,
        today=options.today,
        pricer=pricer,
        limits=limits,
        explain=options.explain,
        ledger=ledger,
        replace=options.replace,
    )


def notes_of(
    counted: Mapping[tuple[str, str, str], int], ignore: frozenset[str]
) -> list[dict[str, object]]:
    """The per-file notes of a run (``NOTES``), each message with its count; ``--ignore``d
    rule ids left out."""
    from cognibill.rules.catalogue import RULES

    out: list[dict[str, object]] = []
    for (source, rule_id, message), count in counted.items():
        if rule_id in ignore:
            continue
        if "{visits}" in message:
            visits = "1 visit names" if count == 1 else f"{count} visits name"
            text = message.replace("{visits}", visits)
        elif rule_id in ("checks-skipped", "kx-late"):
            text = message
        else:
            text = f"{message.rstrip('.')} ({count} visit{'s' if count != 1 else ''})."
        severity = RULES[rule_id].severity.value
        out.append(
            {"source": source, "id": rule_id, "severity": severity, "message": text, "count": count}
        )
    return out


def _cut(rows: pl.DataFrame) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """``rows`` split after the last change of date: (whole days, the rest)."""
    dates = rows.get_column("date")
    changes = (dates != dates.shift(1)).arg_true()  # the first row compares with null: never
    if changes.len() == 0:
        return None, rows
    at = int(changes[-1])
    return rows.slice(0, at), rows.slice(at)


class _Seen:
    """The latest date billed per patient, to notice an export that goes back in time."""

    def __init__(self) -> None:
        self.latest = pl.DataFrame(schema={"patient": pl.String, "_latest": pl.Date})

    def check(self, rows: pl.DataFrame, name: str) -> None:
        if not self.latest.is_empty():
            back = (
                rows.select("patient", "date", "line")
                .join(self.latest, on="patient", how="inner")
                .filter(pl.col("date") <= pl.col("_latest"))
            )
            if back.height:
                first = back.get_column("line").min()
                line = first if isinstance(first, int) else None
                raise OutOfOrder(
                    name,
                    "the rows of one visit are not together: this row belongs to a visit "
                    "(same patient, date and visit key) that was already billed from rows "
                    "before it",
                    line=line,
                    hint=(
                        "sort the export by patient and date (or date and patient), or group "
                        "it unsorted (--unsorted; holds every row in memory)"
                    ),
                )
        latest = rows.group_by("patient").agg(pl.col("date").max().alias("_latest"))
        self.latest = (
            pl.concat([self.latest, latest]).group_by("patient").agg(pl.col("_latest").max())
        )

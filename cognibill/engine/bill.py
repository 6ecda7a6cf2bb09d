"""One batch of canonical rows billed: every stage, in order, once (issue 9).

``rows → visits → services → units → modifiers → rules → money → thresholds → claim lines``.
Each stage is a function of frames; none calls back into an earlier one. What crosses batches
(visit numbers, yearly totals, per-patient history) is in :class:`State`; what is fixed for the
run (payers, options, fee tables) in :class:`Settings`.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import polars as pl

from cognibill.engine.assemble import check_rows, claim_lines, sorted_findings, visit_sums
from cognibill.engine.frames import FINDINGS, PRICED, VISITS, Batch, conform
from cognibill.engine.thresholds import Thresholds, Totals, apply_thresholds
from cognibill.engine.visits import form_visits
from cognibill.quoting import quoted
from cognibill.rules.catalogue import RULES


@dataclass(frozen=True)
class Settings:
    """What every batch of a run is billed with."""

    key: tuple[str, ...]
    visit_key: str
    """How the output names the key."""
    payers: Mapping[str, Any]
    """Payer profiles by id (``cognibill.payers.PayerProfile``)."""
    default_payer: str
    payer_given: bool
    """``--payer`` was given: it also prices payers with no profile."""
    rule: str | None
    """``--rule`` overriding the payer's unit rule."""
    ignore: frozenset[str]
    today: dt.date
    pricer: Any | None
    """``cognibill.fees.kernel.Pricer``; None: no estimate."""
    limits: Thresholds | None = None
    explain: bool = False
    """Add each visit's trace (``claim --explain``)."""
    ledger: Any | None = None
    """``cognibill.ledger.Ledger``: the year's earlier lines count toward the thresholds, and a
    line already in it is ``already-billed`` (issue 12); None: this input alone."""
    replace: bool = False
    """``--replace``: this input's visits replace their earlier lines in the ledger."""


@dataclass
class State:
    """What one batch leaves for the next."""

    next_visit: int = 0
    totals: Totals = field(default_factory=Totals)
    history: Any = None
    payer_names: dict[str | None, tuple[str, str | None]] = field(default_factory=dict)
    """Payer name as given -> (profile id, the payer-fallback message or None)."""
    notes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(source, rule id, message) -> visits: the findings about a whole file (``per_file``
    rules), said once at the end with their count (``{visits}`` in a message stands for it)."""
    absent: dict[str, frozenset[str]] = field(default_factory=dict)
    to_record: list[pl.DataFrame] = field(default_factory=list)
    """Claim lines (``CLAIM_LINE``) for the ledger, less those it already holds."""
    """Source -> the fields its file lacks: the rules that need them are not run on it."""
    timings: dict[str, float] | None = None
    """Seconds per stage when a dict (``benchmarks/batch.py --stages``)."""


class Billed(NamedTuple):
    """A batch's results."""

    lines: pl.DataFrame
    """``CLAIM_LINE`` rows plus ``visit``, in visit order."""
    findings: pl.DataFrame
    """Every finding with ``visit``, ``source``, ``line``, ``patient_id``, ``date``: ``check``'s
    rows, in visit order, errors first within a visit."""
    visits: pl.DataFrame
    """``visit``, ``lines`` (billable), ``units``, the money totals and ``data_version``."""


def bill(
    rows: pl.DataFrame,
    settings: Settings,
    state: State,
    *,
    tables: bool = False,
    lost: pl.DataFrame | None = None,
) -> Billed:
    """Bill ``rows`` (``ROWS``; whole visits only) and advance ``state``. ``tables``: the rows
    come from session files, where each ``[[visit]]`` table is a visit whatever the key says.
    ``lost`` (``LOST``): rejected rows whose visits are not billed as whole."""
    from cognibill.engine.allocate import allocate
    from cognibill.engine.services import build_services
    from cognibill.rules import coding, practice
    from cognibill.rules.across_visits import History, check_history
    from cognibill.rules.plan_of_care import check_plan
    from cognibill.rules.visit_facts import check_date, check_diagnoses, check_telehealth

    timed = _Timer(state.timings)
    with timed("visits"):
        group = pl.col("visit_line") if tables else pl.lit(None, dtype=pl.Int64)
        grouped = form_visits(
            rows.with_columns(group.alias("_group")), ("_group", *settings.key), state.next_visit
        )
        state.next_visit += grouped.visits.height
        visits = _payers(grouped.visits, settings, state)
        incomplete = _incomplete(visits, lost, settings.key)
    with timed("services"):
        kept = grouped.rows.filter(pl.col("code").is_not_null())
        services = build_services(kept, visits)
    with timed("unit values"):
        values = _unit_values(services.services, visits, settings)
    with timed("units"):
        units = allocate(services.services, visits.select("visit", "rule"), values)
    with timed("modifiers"):
        modifiers, modifier_findings = practice.line_modifiers(
            services.services, visits, settings.payers, units.lines
        )
        every = units.lines.drop("modifiers").join(
            modifiers, on=["visit", "service"], how="left", maintain_order="left"
        )
    # The rules read every line (a 0-unit line tells which services competed for a unit).
    batch = Batch(visits, services.services, every, settings.payers, settings.today)
    found = [grouped.findings, incomplete, services.findings, units.findings, modifier_findings]
    with timed("rules"):
        coded = coding.RULES if values is None else coding.priced_rules(values)
        for rule in (*coded, *practice.RULES):
            found.append(rule(batch))
        found.append(check_plan(batch, services.flags))
        for check in (check_telehealth, check_diagnoses, check_date):
            found.append(check(batch))
    with timed("across visits"):
        if state.history is None:
            state.history = History()
        history, state.history = check_history(batch, state.history)
        found.append(history)
    with timed("money"):
        billed = every.filter(pl.col("units") > 0)
        # the line's number within its visit (lines come in visit order: a run per visit)
        i = pl.int_range(pl.len())
        first = pl.col("visit").ne_missing(pl.col("visit").shift()).fill_null(True)
        billed = billed.with_columns((i - pl.when(first).then(i).forward_fill()).alias("n"))
        billed = _priced(billed, visits, settings)
    before = None
    with timed("thresholds"):
        prior = None
        if settings.ledger is not None:
            from cognibill.engine.ledger import already_billed, prior_for

            billed, before, again = already_billed(billed, visits, settings)
            found.append(again)
            prior = prior_for(visits, settings)
        if settings.limits is not None and settings.pricer is not None:
            tracked = {i for i, p in settings.payers.items() if p.tracks_kx}
            billed, kx, state.totals = apply_thresholds(
                billed, visits, tracked, settings.limits, state.totals, prior
            )
            found.append(kx)
    with timed("claim lines"):
        every_finding = pl.concat([conform(f, FINDINGS) for f in found])
        if state.absent:
            every_finding = _runnable(every_finding, visits, services.services, state.absent)
        findings = sorted_findings(every_finding, settings.ignore)
        lines = claim_lines(
            grouped.rows, visits, billed, units.totals, findings, settings.visit_key
        )
        sums = visit_sums(lines)
        if settings.pricer is not None:
            versions = settings.pricer.data_versions(visits)
            sums = sums.join(versions, on="visit", how="left", maintain_order="left")
        checks = check_rows(findings, grouped.rows, visits)
    if settings.ledger is not None:
        from cognibill.engine.ledger import lines_to_record

        state.to_record.append(lines_to_record(lines, before))
    if settings.explain:
        from cognibill.engine.one_visit import visit_traces

        traces = visit_traces(services.services, units, visits).join(
            _fee_traces(billed.filter(pl.col("units") > 0), visits, settings),
            on="visit",
            how="left",
            maintain_order="left",
        )
        first = pl.col("visit").is_first_distinct()
        lines = lines.join(
            traces.rename({"fees": "fee_trace"}), on="visit", how="left", maintain_order="left"
        ).with_columns(
            pl.when(first).then(pl.col(name)).otherwise(None).alias(name)
            for name in ("trace", "fee_trace")
        )
    return Billed(lines, checks, sums)


class _Timer:
    """Seconds per stage, added into ``timings`` when it is a dict (benchmarks), else nothing."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.timings is None:
            yield
            return
        start = time.perf_counter()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


def _payers(visits: pl.DataFrame, settings: Settings, state: State) -> pl.DataFrame:
    """Each visit's payer profile id; the ``payer-fallback`` and ``default-payer`` notes are
    counted per file in ``state.notes`` (RULES.md §8), never made per visit."""
    names = visits.get_column("payer").unique(maintain_order=True).to_list()
    known = state.payer_names
    for name in names:
        if name not in known:
            known[name] = _payer_of(name, settings)
    table = pl.DataFrame(
        {
            "payer": names,
            "payer_id": [known[n][0] for n in names],
            "_note": [known[n][1] for n in names],
        },
        schema={"payer": pl.String, "payer_id": pl.String, "_note": pl.String},
    )
    joined = visits.join(table, on="payer", how="left", nulls_equal=True, maintain_order="left")
    unnamed = pl.col("payer").is_null() | (pl.col("payer").str.strip_chars() == "")
    counted = (
        joined.filter(pl.col("_note").is_not_null() | unnamed)
        .group_by("source", "_note", maintain_order=True)
        .len()
    )
    for source, note, count in counted.iter_rows():
        if note is not None:
            key = (source, "payer-fallback", note)
        elif settings.payer_given:
            continue  # --payer says which payer they are
        else:
            message = "{visits} no payer: checked and priced as "
            key = (source, "default-payer", message + repr(settings.default_payer))
        state.notes[key] = state.notes.get(key, 0) + count
    rule = pl.col("payer_id").replace_strict(
        {i: (settings.rule or str(p.unit_rule.value)) for i, p in settings.payers.items()},
        return_dtype=pl.String,
    )
    out = joined.with_columns(rule.alias("rule"))
    return conform(out, VISITS)


def _incomplete(
    visits: pl.DataFrame, lost: pl.DataFrame | None, key: tuple[str, ...]
) -> pl.DataFrame:
    """``visit-incomplete`` on each visit a rejected row belonged to (RULES.md §11): same file,
    patient and date, and the same provider and discipline when the key has them and the
    rejected row's cell could be read (an unreadable one matches every visit of that day)."""
    if lost is None or lost.is_empty():
        return pl.DataFrame(schema=FINDINGS)
    cols = ("visit", "source", "patient", "date", "provider", "discipline")
    matched = visits.select(cols).join(
        lost, on=["source", "patient", "date"], how="inner", suffix="_lost"
    )
    for name in ("provider", "discipline"):
        if name in key:
            theirs = pl.col(f"{name}_lost")
            matched = matched.filter(theirs.is_null() | theirs.eq_missing(pl.col(name)))
    if matched.is_empty():
        return pl.DataFrame(schema=FINDINGS)
    per_visit = matched.group_by("visit", maintain_order=True).agg(
        pl.col("line").unique().sort().alias("lines")
    )
    several = pl.col("lines").list.len() > 1
    listed = pl.col("lines").cast(pl.List(pl.String)).list.join(", ")
    message = pl.format(
        "rejected {} {} of this visit: not billed as whole (its units and money would be "
        "those of part of the visit)",
        pl.when(several).then(pl.lit("lines")).otherwise(pl.lit("line")),
        listed,
    )
    return per_visit.select(
        "visit",
        pl.lit("visit-incomplete").alias("id"),
        pl.lit(RULES["visit-incomplete"].severity.value).alias("severity"),
        message.alias("message"),
        pl.col("lines").list.first().alias("line"),
    )


def _runnable(
    findings: pl.DataFrame,
    visits: pl.DataFrame,
    services: pl.DataFrame,
    absent: Mapping[str, frozenset[str]],
) -> pl.DataFrame:
    """``findings`` without those of rules that need a field the visit's file lacks (the run
    says once per file which checks it skipped, ``checks-skipped``). Modifiers written after
    the code (``97110-GO``) are the input's own even with no modifier column: the findings
    about them stay."""
    from cognibill.rules.catalogue import all_rules

    stated = (
        services.filter(pl.col("modifiers").list.len() > 0)
        .select(
            "visit",
            pl.when(pl.col("service") == "cognitive")
            .then(pl.lit("97129/97130"))
            .otherwise(pl.col("service"))
            .alias("code"),
            pl.lit(True).alias("_stated"),
        )
        .unique()
    )
    modifier_rules = [r.id for r in all_rules() if "modifiers" in r.needs]
    findings = findings.join(stated, on=["visit", "code"], how="left", maintain_order="left")
    kept = pl.col("_stated").fill_null(False) & pl.col("id").is_in(modifier_rules)

    dropped = [
        (source, rule.id)
        for source, fields in absent.items()
        for rule in all_rules()
        if fields.intersection(rule.needs)
    ]
    if not dropped:
        return findings.drop("_stated")
    table = pl.DataFrame(
        {"source": [s for s, _ in dropped], "id": [i for _, i in dropped]},
        schema={"source": pl.String, "id": pl.String},
    )
    sources = visits.select("visit", "source")
    joined = findings.join(sources, on="visit", how="left", maintain_order="left")
    skipped = joined.join(table, on=["source", "id"], how="semi", maintain_order="left")
    return (
        joined.join(table, on=["source", "id"], how="anti", maintain_order="left")
        .vstack(skipped.filter(kept))
        .drop("source", "_stated")
    )


def _payer_of(named: str | None, settings: Settings) -> tuple[str, str | None]:
    """The profile for a payer as named: its own when there is one (case, spaces and dashes
    forgiven); none named: the default; unknown: ``--payer`` when given, else ``commercial``
    (an unknown named plan is almost never Medicare Part B), with a note."""
    if not named or not named.strip():
        return settings.default_payer, None
    wanted = "-".join(named.strip().lower().replace("_", " ").split())
    if wanted in settings.payers:
        return wanted, None
    fallback = settings.default_payer if settings.payer_given else "commercial"
    if fallback not in settings.payers:
        fallback = settings.default_payer
    return fallback, (
        f"payer {quoted(named.strip())} has no profile: checked and priced as {fallback!r}."
    )


def _unit_values(
    services: pl.DataFrame, visits: pl.DataFrame, settings: Settings
) -> pl.DataFrame | None:
    """What one unit of each code of each visit pays: the tie-break of RULES.md §2.5 and the
    money a below-minimum finding states."""
    if settings.pricer is None:
        return None
    codes = services.select(
        "visit",
        pl.when(pl.col("service") == "cognitive")
        .then(pl.lit(["97129", "97130"]))
        .otherwise(pl.concat_list(pl.col("service")))
        .alias("code"),
    ).explode("code")
    return settings.pricer.unit_values(codes.unique(maintain_order=True), visits)  # type: ignore[no-any-return]


def _priced(billed: pl.DataFrame, visits: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    if settings.pricer is None or billed.is_empty():
        return billed.with_columns(pl.lit(None, dtype=pl.Int64).alias(m) for m in PRICED)
    priced = settings.pricer.price(_to_price(billed), visits)
    return priced.drop("assistant")  # type: ignore[no-any-return]


def _to_price(billed: pl.DataFrame) -> pl.DataFrame:
    """Billed lines as the pricer takes them: no money yet, ``assistant`` for CQ/CO."""
    assistant = pl.col("modifiers").list.contains("CQ") | pl.col("modifiers").list.contains("CO")
    return billed.drop(PRICED, strict=False).with_columns(assistant.alias("assistant"))


def _fee_traces(billed: pl.DataFrame, visits: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """``[visit, fees]``: each visit's pricing worked out (``claim --explain``), the pricer's
    own intermediate columns worded (``Pricer.explain``). A Python step per visit: asked for,
    never on the default path."""
    ids = visits.get_column("visit")
    if settings.pricer is None or billed.is_empty():
        steps: list[list[str]] = [[] for _ in range(ids.len())]
    else:
        estimates = settings.pricer.explain(_to_price(billed), visits)
        steps = [list(estimate.trace) for estimate in estimates]
    return pl.DataFrame(
        {"visit": ids, "fees": steps}, schema={"visit": pl.UInt32, "fees": pl.List(pl.String)}
    )

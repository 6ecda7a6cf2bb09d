"""The plan-of-care, visit and cross-visit rules on frames give today's findings (issue 9).

Oracle: ``cognibill.claims.check_visits`` on the same visits, its findings kept to the rules of
``cognibill.rules.plan``, ``visit`` and ``history`` (RULES.md §5, §6, §7, §9). Visits come in
date order, the only order in which the old input-order counting and the new date order agree;
the last test shows where they differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cognibill.claims import check_visits
from cognibill.engine.frames import VISIT_FIELDS, VISITS, Batch, conform
from cognibill.models import Discipline, PlanOfCare, Provider, Service, Visit
from cognibill.rules.across_visits import History, check_history
from cognibill.rules.codes import prepare
from cognibill.rules.context import COMMERCIAL_LIKE, MEDICARE_LIKE, CheckContext, StandInPayer
from cognibill.rules.emit import Emitter
from cognibill.rules.plan_of_care import check_plan
from cognibill.rules.visit_facts import check_date, check_diagnoses, check_telehealth
from tests.oracle import lines_of, rows_of, services_of

TODAY = date(2026, 4, 15)
START = date(2026, 1, 1)
ACME = StandInPayer(
    id="acme",
    name="Acme",
    is_medicare=False,
    requires_plan_of_care=False,
    requires_discipline_modifiers=False,
    covered_diagnoses=("S06", "I69.3"),
)
PAYERS = {p.id: p for p in (MEDICARE_LIKE, COMMERCIAL_LIKE, ACME)}
CONTEXTS = {i: CheckContext(p, today=TODAY) for i, p in PAYERS.items()}

RULE_IDS = frozenset(
    {
        "no-plan-of-care",
        "plan-after-service",
        "certification-lapsed",
        "plan-incomplete",
        "future-date",
        "diagnosis-excludes",
        "diagnosis-not-covered",
        "telehealth-coverage",
        "primary-more-than-once",
        "progress-report-due",
    }
)
FLAGS = {
    "visit": pl.UInt32,
    "any_billed": pl.Boolean,
    "telehealth_modifier": pl.Boolean,
    "therapy_any": pl.Boolean,
    "therapy_always": pl.Boolean,
}
"""The services stage's per-visit flags (``cognibill.engine.services.FLAGS``)."""
_RANK = {"error": 2, "warning": 1, "info": 0}

Found = tuple[str, str, str | None, str]


def old_findings(visits: Sequence[Visit]) -> list[list[Found]]:
    """Today's findings of these rules per visit (``primary-more-than-once`` across visits only:
    the within-visit one belongs to the code rules)."""
    claims = check_visits(
        visits, CONTEXTS["medicare"], context_for=lambda v: CONTEXTS[v.payer or ""]
    )
    return [
        [
            (f.id, f.severity.value, f.code, f.message)
            for f in claim.findings
            if f.id in RULE_IDS
            and not (f.id == "primary-more-than-once" and not f.message.startswith("97129 billed"))
        ]
        for claim in claims
    ]


def frames_of(visits: Sequence[Visit]) -> tuple[Batch, pl.DataFrame]:
    """The batch and the services stage's flags for ``visits``, from today's objects."""
    rows = rows_of(visits)
    firsts = rows.group_by("visit", maintain_order=True).agg(pl.col(VISIT_FIELDS).first())
    firsts = firsts.with_columns(pl.col("payer").alias("payer_id"), pl.lit("cms").alias("rule"))
    lines = [
        lines_of([v], CONTEXTS[v.payer or ""]).with_columns(
            pl.lit(i, dtype=pl.UInt32).alias("visit")
        )
        for i, v in enumerate(visits)
    ]
    flags = []
    for i, v in enumerate(visits):
        p = prepare(v, Emitter(frozenset()))
        flags.append((i, p.any_billed, p.telehealth_modifier, p.therapy_any, p.therapy_always))
    batch = Batch(
        visits=conform(firsts, VISITS),
        services=services_of(visits),
        lines=pl.concat(lines),
        payers=PAYERS,
        today=TODAY,
    )
    return batch, pl.DataFrame(flags, schema=FLAGS, orient="row")


def chunk(batch: Batch, visit_ids: pl.Series) -> Batch:
    def keep(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("visit").is_in(visit_ids.implode()))

    return Batch(
        keep(batch.visits), keep(batch.services), keep(batch.lines), batch.payers, batch.today
    )


def new_findings(batch: Batch, flags: pl.DataFrame) -> pl.DataFrame:
    """The new rules' FINDINGS, the history in one chunk."""
    parts = [check_plan(batch, flags), check_date(batch), check_diagnoses(batch)]
    parts += [check_telehealth(batch), check_history(batch, History())[0]]
    return pl.concat(parts)


def history_in_two_chunks(batch: Batch, split: date) -> pl.DataFrame:
    """``check_history`` on the visits before ``split``, then on the rest with the history
    the first chunk left."""
    dates = batch.visits.get_column("date")
    ids = batch.visits.get_column("visit")
    first, history = check_history(chunk(batch, ids.filter(dates < split)), History())
    second, _ = check_history(chunk(batch, ids.filter(dates >= split)), history)
    return pl.concat([first, second]).sort("visit", maintain_order=True)


def by_visit(findings: pl.DataFrame, count: int) -> list[list[Found]]:
    """Findings per visit, sorted as a visit's findings are (errors first, then by rule id,
    stably)."""
    out: list[list[Found]] = [[] for _ in range(count)]
    rows = findings.sort("visit", maintain_order=True)
    columns = rows.select("visit", "id", "severity", "code", "message")
    for visit, rule_id, severity, code, message in columns.iter_rows():
        out[visit].append((rule_id, severity, code, message))
    for found in out:
        found.sort(key=lambda f: (-_RANK[f[1]], f[0]))
    return out


# -- strategies --------------------------------------------------------------------------------
# Pools of ready-made parts, one draw each: generation stays cheap with ~30 visits an example.

DIAGNOSES = (
    "R41.840",
    "r41.841",
    "R41.89",
    "I69.314",
    "I69.21",
    "i69 31 4",
    "I69.391",
    "S06.2X0S",
    "F07.81",
)
DISCIPLINES = (None, "pt", "pta", "ot", "ota", "slp", "physician", "np", "psychologist", "aide")
SERVICES = tuple(
    Service(code, minutes, modifiers=mods, group=group, line=line)
    for code in ("97129", "97130", "97110", "92507", "97150", "97530", "97755", "G0515", "9712X")
    for minutes in (0, 5, 8, 23, 30, 53)
    for mods in ((), ("95",), ("93", "gp"), ("59",))
    for group, line in ((False, None), (False, 7), (True, 9))
)
PLANS = tuple(
    (start, certified, through, complete)
    for start in (None, -130, -100, -90, -89, -60, -31, -30, -5, 0, 1, 2)
    for certified in (None, 0, 30, 31)
    for through in (None, 20, 89, 120)
    for complete in range(4)
)
"""Plan templates: start relative to the visit, certified and through relative to the start."""
CONTENTS = (
    ((), None, None, None),
    (("I69.314",), True, "2x/week", "8 weeks"),
    (("R41.840", "S06.2X0S"), False, "", "8 weeks"),
    (("F07.81",), None, "2x/week", ""),
)
"""What a plan says: diagnoses, goals, frequency, duration (nothing, all, some)."""
WHERE = ((None, None), ("", 0), ("a.toml", 3), ("a.toml", None), ("b.csv", 14), (None, 14))


def plan_of(day: date, template: tuple[int | None, int | None, int | None, int]) -> PlanOfCare:
    start, certified, through, complete = template
    begin = None if start is None else day + timedelta(days=start)
    anchor = begin or day
    diagnoses, goals, frequency, duration = CONTENTS[complete]
    return PlanOfCare(
        start=begin,
        certified=None if certified is None else anchor + timedelta(days=certified),
        through=None if through is None else anchor + timedelta(days=through),
        diagnoses=diagnoses,
        goals=goals,
        frequency=frequency,
        duration=duration,
    )


class Cast:
    """Who appears in one input: a few patients, disciplines and payers, so that one patient
    under one plan of care often reaches treatment day 10."""

    def __init__(self, draw: st.DrawFn) -> None:
        patients = st.lists(st.sampled_from(("P-1", "P-2", "P-3")), min_size=1, unique=True)
        self.patients = draw(patients)
        self.disciplines = draw(st.lists(st.sampled_from(DISCIPLINES), min_size=1, max_size=3))
        self.payers = draw(st.lists(st.sampled_from(tuple(PAYERS)), min_size=1, max_size=2))


@st.composite
def visits(draw: st.DrawFn, day: date, cast: Cast) -> Visit:
    discipline = draw(st.sampled_from(cast.disciplines))
    plan = draw(st.none() | st.sampled_from(PLANS))
    source, line = draw(st.sampled_from(WHERE))
    return Visit(
        patient=draw(st.sampled_from(cast.patients)),
        date=day,
        services=tuple(draw(st.lists(st.sampled_from(SERVICES), min_size=1, max_size=3))),
        payer=draw(st.sampled_from(cast.payers)),
        place_of_service=draw(st.sampled_from((None, "11", "02", " 10 ", "2", "12"))),
        provider=Provider(
            id=draw(st.sampled_from((None, "", "1111111111", "2222222222"))),
            discipline=None if discipline is None else Discipline(discipline),
        ),
        plan_of_care=None if plan is None else plan_of(day, plan),
        diagnoses=tuple(draw(st.lists(st.sampled_from(DIAGNOSES), max_size=3))),
        source=source,
        line=line,
    )


@st.composite
def date_sorted_visits(draw: st.DrawFn) -> list[Visit]:
    """A few patients' visits in date order: many on few dates (97129 twice a day), or
    spread over enough dates to reach treatment day 10 and 20; some after ``TODAY``."""
    cast = Cast(draw)
    span = draw(st.sampled_from((3, 30, 130)))
    shift = timedelta(days=100 if span == 3 and draw(st.booleans()) else 0)
    least = draw(st.sampled_from((1, 12)))
    offsets = sorted(draw(st.lists(st.integers(0, span), min_size=least, max_size=30)))
    return [draw(visits(START + shift + timedelta(days=n), cast)) for n in offsets]


@settings(max_examples=80, deadline=None)
@given(date_sorted_visits(), st.integers(0, 130))
def test_findings_match_check_visits_on_date_sorted_visits(
    sequence: list[Visit], split_day: int
) -> None:
    batch, flags = frames_of(sequence)
    assert by_visit(new_findings(batch, flags), len(sequence)) == old_findings(sequence)
    # Chunks that end at a date change, the history carried between them: the same findings.
    whole = check_history(batch, History())[0]
    split = history_in_two_chunks(batch, START + timedelta(days=split_day))
    assert split.equals(whole)


def _ten_dates_newest_first() -> list[Visit]:
    return [
        Visit(
            patient="P-1",
            date=START + timedelta(days=10 - i),
            services=(Service("97110", 38),),
            payer="medicare",
            provider=Provider("1111111111", Discipline.PT),
            plan_of_care=PlanOfCare(
                start=START,
                certified=START,
                diagnoses=("I69.314",),
                goals=True,
                frequency="2x/week",
                duration="4 weeks",
            ),
        )
        for i in range(11)
    ]


def test_progress_report_differs_from_input_order_only_on_unsorted_dates_rules_7() -> None:
    """Eleven visits, newest first (dates day 10 down to day 0): today's input order calls the
    10th visit *to appear* (the day-1 visit) treatment day 10; date order calls the 10th date of
    the calendar (the day-9 visit, the second in the input) day 10."""
    sequence = _ten_dates_newest_first()
    batch, flags = frames_of(sequence)
    new_by_visit = by_visit(new_findings(batch, flags), len(sequence))
    assert [i for i, found in enumerate(old_findings(sequence)) if found] == [9]
    assert [i for i, found in enumerate(new_by_visit) if found] == [1]
    assert new_by_visit[1] == [
        (
            "progress-report-due",
            "warning",
            None,
            "P-1: 2026-01-10 is treatment day 10 in this input (PT plan of care): a progress "
            "report is due at least once every 10 treatment days.",
        )
    ]

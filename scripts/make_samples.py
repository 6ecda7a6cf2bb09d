"""Write the bundled sample exports in ``sample_sessions/`` (issue 10), deterministically.

Three files in vendor shapes (``../shared/domain/EXPORTS.md``), fictional patients and
providers, March 2026:

- ``webpt_billed_units.csv``: a WebPT Documented (Billed) Units report of an outpatient
  PT/OT/SLP clinic (UTF-8 with BOM, CRLF, M/D/YY dates, units only);
- ``clinic_visits.csv``: an Ensora/Fusion-style visit export with Duration (written ``38``,
  ``38 min``, ``0:38``, ``1h 15m``, ``75m``) and Units;
- ``rethink_billing_export.csv``: a billing export with metadata rows above the header, actual
  start and end times, a blank row and a Grand Total row.

Each holds a few deliberate mistakes a biller would act on; ``--list`` prints them with their
line numbers and the finding each should give. Everything else is billed as the minutes (or
units) support: the Units column of the minute files is worked out with the CMS total-time rule
for Medicare and the AMA per-code rule for other payers (RULES.md §2, §3), ties avoided.

Usage: ``python scripts/make_samples.py [--out sample_sessions] [--list]``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20260301
MARCH = [dt.date(2026, 3, d) for d in range(2, 32) if dt.date(2026, 3, d).weekday() < 5]
COGNITIVE = ("97129", "97130")
UNTIMED = frozenset({"97010", "97012", "97014", "G0283", "92507", "92523", "97161", "97165"})
RATES = {  # the clinic's own charge per unit, dollars (not fees: any number will do)
    "97110": 64, "97112": 66, "97116": 62, "97140": 60, "97530": 70, "97535": 68,
    "97129": 95, "97130": 85, "92507": 140, "92523": 250, "97161": 180, "97165": 180,
    "97010": 20, "97012": 30, "97014": 25, "G0283": 25, "97532": 60,
}  # fmt: skip


@dataclass(frozen=True)
class Mistake:
    file: str
    line: int
    patient: str
    date: dt.date
    finding: str
    what: str


@dataclass
class Sample:
    name: str
    rows: list[list[str]] = field(default_factory=list)
    mistakes: list[Mistake] = field(default_factory=list)
    first_line: int = 2
    """Line of the first data row (after the header, and metadata rows above it)."""

    def add(self, row: list[str]) -> int:
        self.rows.append(row)
        return self.first_line + len(self.rows) - 1

    def mistake(self, line: int, patient: str, date: dt.date, finding: str, what: str) -> None:
        self.mistakes.append(Mistake(self.name, line, patient, date, finding, what))


# -- units, as RULES.md §2/§3 count them ----------------------------------------------------------


def units_for(minutes: dict[str, int], rule: str) -> tuple[dict[str, int], bool]:
    """Units of each timed service (``cognitive`` pooled) and whether a tie decided one."""
    if rule == "ama":
        return {k: (m + 7) // 15 for k, m in minutes.items()}, False
    total = sum(minutes.values())
    owed = (total + 7) // 15 - sum(m // 15 for m in minutes.values())
    blocks = {k: m // 15 for k, m in minutes.items()}
    order = sorted(minutes, key=lambda k: -(minutes[k] % 15))
    leftovers = [minutes[k] % 15 for k in order]
    tie = 0 < owed < len(order) and leftovers[owed - 1] == leftovers[owed] > 0
    for key in order[:owed]:
        blocks[key] += 1
    return blocks, tie


def settle(rng: random.Random, codes: list[str], rule: str, low: int, high: int) -> dict[str, int]:
    """Minutes for the timed ``codes`` of a visit that give no tie (97129/97130 as one)."""
    while True:
        minutes = {c: rng.randint(low, high) for c in codes}
        if not units_for(minutes, rule)[1]:
            return minutes


# -- cell formats ---------------------------------------------------------------------------------


def webpt_date(day: dt.date) -> str:
    return f"{day.month}/{day.day}/{day.year % 100:02d}"


def us_date(day: dt.date) -> str:
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def duration(rng: random.Random, minutes: int) -> str:
    forms = [str(minutes), f"{minutes} min", f"{minutes // 60}:{minutes % 60:02d}"]
    if minutes >= 60:
        forms += [f"{minutes // 60}h {minutes % 60}m", f"{minutes}m"]
    return rng.choice(forms)


def clock(minute_of_day: int) -> str:
    hour, minute = divmod(minute_of_day, 60)
    suffix = "AM" if hour < 12 else "PM"
    return f"{(hour - 1) % 12 + 1}:{minute:02d} {suffix}"


def money(amount: int) -> str:
    return f"${amount:,.2f}"


def days(rng: random.Random, weekdays: tuple[int, int], count: int) -> list[dt.date]:
    chosen = [d for d in MARCH if d.weekday() in weekdays]
    skip = rng.sample(range(len(chosen)), max(0, len(chosen) - count))
    return [d for i, d in enumerate(chosen) if i not in skip]


# -- 1. WebPT documented (billed) units report ----------------------------------------------------

WEBPT_HEADER = [
    "Clinic Name", "Case Name", "Visit ID", "Patient Name", "Patient DOB", "Date of Service",
    "Date of Finalization", "Addendum", "Documenting Therapist", "Finalizing Therapist",
    "Primary Payer Type", "Primary Insurance", "Secondary Payer Type", "Secondary Insurance",
    "Place of Service", "Visit Type", "Treating Diagnosis", "Modifier", "CPT Code", "Units",
]  # fmt: skip

PT, PTA = "Sam Rivera, PT, DPT", "Kim Ode, PTA"
OT, COTA = "Lena Park, OTR/L", "Joe Banks, COTA"
SLP = "Ana Cruz, MS, CCC-SLP"


@dataclass(frozen=True)
class Patient:
    name: str
    dob: str
    discipline: str
    payer: str
    diagnosis: str
    case: str
    weekdays: tuple[int, int]
    visits: int


WEBPT_PATIENTS = [
    Patient("Doe, Jane", "7/14/51", "pt", "Medicare", "M54.50", "Low back", (0, 2), 6),
    Patient("Roe, Richard", "2/3/48", "pt", "Medicare", "M17.11", "R knee OA", (1, 3), 6),
    Patient("Stone, Ada", "11/30/55", "pt", "Medicare", "M75.101", "R shoulder", (0, 3), 5),
    Patient("Hill, Martin", "5/22/61", "pt", "Aetna", "S83.511D", "L ACL", (1, 4), 6),
    Patient("Vega, Rosa", "9/1/72", "pt", "Blue Cross Blue Shield", "M54.2", "Neck", (0, 2), 5),
    Patient("Blake, Tom", "3/17/49", "ot", "Medicare", "I69.351", "CVA R side", (1, 3), 6),
    Patient("Nash, Irene", "12/5/46", "ot", "Medicare", "M19.041", "Hand OA", (0, 2), 5),
    Patient("Ford, Calvin", "6/30/58", "ot", "UnitedHealthcare", "S62.101D", "Wrist", (1, 4), 5),
    Patient("Quinn, Harold", "8/8/44", "slp", "Medicare", "I69.311", "Cognition", (0, 3), 6),
    Patient("Wells, Doris", "1/12/50", "slp", "Medicare", "R41.841", "Cognition", (1, 3), 6),
    Patient("Moss, Evan", "4/4/67", "slp", "Aetna", "S06.2X1S", "TBI cognition", (0, 2), 5),
    Patient("Kerr, Lydia", "10/19/53", "slp", "Medicare", "R13.12", "Dysphagia", (1, 4), 5),
]  # fmt: skip


WEBPT_MISTAKES = {
    ("Quinn, Harold", 3), ("Wells, Doris", 2), ("Nash, Irene", 4), ("Roe, Richard", 5),
    ("Stone, Ada", 2), ("Doe, Jane", 4), ("Blake, Tom", 4), ("Wells, Doris", 5),
}  # fmt: skip
"""(patient, visit number) of the visits that carry a deliberate mistake."""


def _webpt_lines(rng: random.Random, p: Patient, index: int) -> list[tuple[str, int]]:
    """(code, units) of one visit of ``p``; index 0 is the evaluation."""
    medicare = p.payer == "Medicare"
    if p.discipline == "pt":
        if index == 0:
            return [("97161", 1), ("97110", 1)]
        plans = [
            [("97110", 2), ("97140", 1)],
            [("97110", 2), ("97112", 1), ("G0283" if medicare else "97014", 1)],
            [("97110", 1), ("97530", 2)],
            [("97116", 2), ("97110", 1)],
        ]
        if not medicare:
            plans.append([("97110", 2), ("97140", 1), ("97010", 1)])
        return rng.choice(plans)
    if p.discipline == "ot":
        if index == 0:
            return [("97165", 1), ("97535", 1)]
        return rng.choice([[("97535", 2), ("97530", 1)], [("97530", 2), ("97110", 1)]])
    if index == 0:
        return [("92523", 1)]
    if p.diagnosis.startswith("R13"):
        return [("92507", 1)]
    return rng.choice([[("97129", 1), ("97130", 2)], [("97129", 1), ("97130", 1)], [("92507", 1)]])


def webpt(rng: random.Random) -> Sample:
    sample = Sample("webpt_billed_units.csv")
    visit_id = 60000
    visits = []
    for p in WEBPT_PATIENTS:
        for i, day in enumerate(days(rng, p.weekdays, p.visits)):
            visits.append((day, p, i))
    visits.sort(key=lambda v: (v[0], WEBPT_PATIENTS.index(v[1])))
    modifier = {"pt": "GP", "ot": "GO", "slp": "GN"}
    for day, p, i in visits:
        visit_id += 1
        lines = _webpt_lines(rng, p, i)
        documenting = {"pt": PT, "ot": OT, "slp": SLP}[p.discipline]
        finalizing = documenting
        mods = modifier[p.discipline]
        # An assistant documents some follow-up visits; the therapist finalizes (co-signs).
        assisted = i > 0 and p.discipline in ("pt", "ot") and visit_id % 3 == 0
        if assisted and (p.name, i) not in WEBPT_MISTAKES:
            documenting = PTA if p.discipline == "pt" else COTA
            mods += ",CQ" if p.discipline == "pt" else ",CO"
        medicare = p.payer == "Medicare"
        kind = "Medicare" if medicare else "Commercial"
        secondary = ("Supplemental", "Medigap Plan G") if medicare and visit_id % 2 else ("", "")
        final = day + dt.timedelta(days=visit_id % 2)
        cells = []
        for code, units in lines:
            cells.append([
                "Riverside Rehab", f"{p.case} 2026", str(visit_id), p.name, p.dob,
                webpt_date(day), webpt_date(final), "No", documenting, finalizing, kind,
                p.payer, *secondary, "11",
                "Initial Evaluation" if i == 0 else "Daily Note", p.diagnosis, mods, code,
                str(units),
            ])  # fmt: skip
        _webpt_mistakes(sample, cells, p, day, i)
        for row in cells:
            sample.add(row)
    return sample


def _webpt_mistakes(
    sample: Sample, cells: list[list[str]], p: Patient, day: dt.date, index: int
) -> None:
    """The deliberate mistakes, each on one chosen visit (patient, visit number)."""
    line = sample.first_line + len(sample.rows)
    code, mods = 18, 17  # columns
    if p.name == "Quinn, Harold" and index == 3:
        cells[:] = [cells[0]]
        cells[0][code], cells[0][19] = "97130", "2"
        sample.mistake(
            line, p.name, day, "addon-without-primary", "97130 x2 billed with no 97129 (error)"
        )
    elif p.name == "Wells, Doris" and index == 2:
        cells[:] = [cells[0].copy(), cells[0].copy()]
        cells[0][code] = cells[1][code] = "97129"
        cells[0][19] = cells[1][19] = "1"
        sample.mistake(
            line + 1,
            p.name,
            day,
            "primary-more-than-once",
            "the 97129 x1 line entered twice on one visit (error)",
        )
    elif p.name == "Nash, Irene" and index == 4:
        cells[0][mods] = "GP"
        sample.mistake(
            line,
            p.name,
            day,
            "discipline-modifier",
            "an OT's line carries GP instead of GO (error)",
        )
    elif p.name == "Roe, Richard" and index == 5:
        cells[0][mods] = "KX"
        sample.mistake(
            line,
            p.name,
            day,
            "discipline-modifier",
            "KX listed but no GP on a Medicare PT line (error)",
        )
    elif p.name == "Stone, Ada" and index == 2:
        for row in cells:
            row[8], row[mods] = PTA, "GP"
        sample.mistake(
            line,
            p.name,
            day,
            "assistant-modifier",
            "a PTA documented the visit but the lines lack CQ (warning)",
        )
    elif p.name == "Doe, Jane" and index == 4:
        cells.append([*cells[0][:code], "97010", "1"])
        sample.mistake(
            line + len(cells) - 1,
            p.name,
            day,
            "code-bundled",
            "97010 hot packs billed to Medicare, which bundles it (warning)",
        )
    elif p.name == "Blake, Tom" and index == 4:
        cells.append([*cells[0][:code], "97014", "1"])
        sample.mistake(
            line + len(cells) - 1,
            p.name,
            day,
            "code-not-payable",
            "97014 billed to Medicare, which takes G0283 instead (warning)",
        )
    elif p.name == "Wells, Doris" and index == 5:
        cells[:] = [cells[0]]
        cells[0][code], cells[0][19] = "92129", "1"
        sample.mistake(
            line,
            p.name,
            day,
            "rejected-row",
            "CPT typed 92129: rejected, did you mean 97129 (error)",
        )


# -- 2. Ensora/Fusion-style visit export with Duration --------------------------------------------

CLINIC_HEADER = [
    "Patient Name", "Visit Date", "Appointment Type", "Treating Therapist", "CPT Code",
    "Modifier", "Duration", "Units", "Charges", "Primary Insurance",
]  # fmt: skip

CLINIC_PT, CLINIC_PTA = "Paul Reyes, PT, DPT", "Tina Wolfe, PTA"
CLINIC_OT = "Grace Kim, OTR/L"
CLINIC_SLP, CLINIC_SLP2 = "Owen Hart, CCC-SLP", "Nina Lowe, MA, CCC-SLP"

CLINIC_PATIENTS = [
    Patient("Adams, Carl", "", "pt", "Medicare", "", "", (0, 2), 8),
    Patient("Baker, Helen", "", "pt", "Medicare", "", "", (1, 3), 8),
    Patient("Cole, Peter", "", "pt", "Aetna", "", "", (0, 3), 7),
    Patient("Diaz, Maria", "", "pt", "Medicare", "", "", (1, 4), 6),
    Patient("Evans, Ruth", "", "ot", "Medicare", "", "", (0, 2), 7),
    Patient("Fox, Gary", "", "ot", "Cigna", "", "", (1, 3), 6),
    Patient("Gray, Alice", "", "ot", "Medicare", "", "", (2, 4), 6),
    Patient("Hunt, Walter", "", "slp", "Medicare", "", "", (0, 3), 8),
    Patient("Ives, Nora", "", "slp", "Medicare", "", "", (1, 4), 7),
    Patient("Jones, Frank", "", "slp", "Aetna", "", "", (0, 2), 6),
]


def _clinic_codes(rng: random.Random, p: Patient, index: int) -> tuple[list[str], list[str]]:
    """(timed codes, untimed codes) of one visit."""
    if p.discipline == "pt":
        if index == 0:
            return ["97110"], ["97161"]
        timed = rng.choice([["97110", "97140"], ["97110", "97112"], ["97110", "97530"], ["97116"]])
        untimed = ["G0283"] if p.payer == "Medicare" and rng.random() < 0.3 else []
        return timed, untimed
    if p.discipline == "ot":
        if index == 0:
            return ["97535"], ["97165"]
        return rng.choice([["97535", "97530"], ["97530"], ["97535", "97110"]]), []
    if index == 0:
        return [], ["92523"]
    return rng.choice([list(COGNITIVE), list(COGNITIVE), []]) or [], (
        [] if rng.random() < 0.7 else ["92507"]
    )


def clinic(rng: random.Random) -> Sample:
    sample = Sample("clinic_visits.csv")
    visits = []
    for p in CLINIC_PATIENTS:
        for i, day in enumerate(days(rng, p.weekdays, p.visits)):
            visits.append((day, p, i))
    visits.sort(key=lambda v: (v[0], CLINIC_PATIENTS.index(v[1])))
    for day, p, i in visits:
        special = _clinic_special(sample, p, day, i)
        if special is not None:
            for row in special:
                sample.add(row)
            continue
        timed, untimed = _clinic_codes(rng, p, i)
        if p.discipline == "slp" and not timed and not untimed:
            untimed = ["92507"]
        rule = "cms" if p.payer == "Medicare" else "ama"
        therapist = {"pt": CLINIC_PT, "ot": CLINIC_OT, "slp": CLINIC_SLP}[p.discipline]
        mods = {"pt": "GP", "ot": "GO", "slp": "GN"}[p.discipline]
        if p.discipline == "pt" and i > 0 and i % 4 == 2:
            therapist, mods = CLINIC_PTA, "GP CQ"
        for code, minutes, units in _clinic_services(rng, timed, untimed, rule):
            sample.add([
                p.name, us_date(day), "Initial Evaluation" if i == 0 else "Follow-up",
                therapist, code, mods, duration(rng, minutes), str(units),
                money(units * RATES[code]), p.payer,
            ])  # fmt: skip
    return sample


def _clinic_services(
    rng: random.Random, timed: list[str], untimed: list[str], rule: str
) -> Iterator[tuple[str, int, int]]:
    """(code, minutes, units) of each row of a visit, units as the rule gives them."""
    keys = ["cognitive" if c in COGNITIVE else c for c in timed]
    keys = list(dict.fromkeys(keys))
    minutes = settle(rng, keys, rule, 15, 45)
    if "cognitive" in minutes:
        minutes["cognitive"] += 8  # a cognitive session runs longer: 23-53 min
        while units_for(minutes, rule)[1]:
            minutes["cognitive"] += 1
    units, _ = units_for(minutes, rule)
    for key in keys:
        if key == "cognitive":
            total, n = minutes[key], units[key]
            yield "97129", 15, 1
            if n > 1:
                yield "97130", total - 15, n - 1
        else:
            yield key, minutes[key], units[key]
    for code in untimed:
        yield code, rng.choice([15, 20, 45, 60]) if code != "G0283" else 15, 1


def _clinic_special(sample: Sample, p: Patient, day: dt.date, i: int) -> list[list[str]] | None:
    """The deliberate mistakes: whole visits written by hand."""
    line = sample.first_line + len(sample.rows)
    date = us_date(day)

    def row(code: str, mods: str, dur: str, units: int, who: str = "") -> list[str]:
        who = who or {"pt": CLINIC_PT, "ot": CLINIC_OT, "slp": CLINIC_SLP}[p.discipline]
        return [p.name, date, "Follow-up", who, code, mods, dur, str(units),
                money(units * RATES[code]), p.payer]  # fmt: skip

    if p.name == "Adams, Carl" and i == 3:
        sample.mistake(
            line,
            p.name,
            day,
            "units-not-supported",
            "97110 30 min billed 3 units; the minutes support 2 (error)",
        )
        return [row("97110", "GP", "30", 3)]
    if p.name == "Baker, Helen" and i == 4:
        sample.mistake(
            line,
            p.name,
            day,
            "units-not-supported",
            "a 7-minute 97140 billed 1 unit: 7 min earn none (error; also below-minimum warning)",
        )
        return [row("97140", "GP", "7 min", 1)]
    if p.name == "Hunt, Walter" and i == 2:
        sample.mistake(
            line,
            p.name,
            day,
            "addon-without-primary",
            "97130 x2 for 30 cognitive min with no 97129 (error)",
        )
        return [row("97130", "GN", "0:30", 2)]
    if p.name == "Diaz, Maria" and i == 2:
        sample.mistake(
            line,
            p.name,
            day,
            "rejected-row",
            "Duration 'thirty' is not minutes: the row is rejected (error)",
        )
        sample.mistake(
            line + 1,
            p.name,
            day,
            "visit-incomplete",
            "so the visit's 97140 line is not billed as a whole visit (error)",
        )
        return [row("97110", "GP", "thirty", 2), row("97140", "GP", "0:20", 1)]
    if p.name == "Ives, Nora" and i == 3:
        sample.mistake(
            line + 2,
            p.name,
            day,
            "primary-more-than-once",
            "the same day's cognitive session entered again by a second SLP: "
            "97129 twice on one date (error)",
        )
        return [
            row("97129", "GN", "15", 1),
            row("97130", "GN", "23 min", 2),
            row("97129", "GN", "15", 1, CLINIC_SLP2),
        ]
    if p.name == "Hunt, Walter" and i == 5:
        sample.mistake(
            line,
            p.name,
            day,
            "deleted-code",
            "97532 (deleted 2018) from an old template; bill 97129/97130 (error)",
        )
        return [row("97532", "GN", "0:30", 2)]
    if p.name == "Adams, Carl" and i == 6:
        sample.mistake(
            line,
            p.name,
            day,
            "assistant-modifier",
            "a PTA's 97110 without CQ (warning; the claim lines add it)",
        )
        return [row("97110", "GP", "38", 3, CLINIC_PTA)]
    if p.name == "Gray, Alice" and i == 3:
        sample.mistake(
            line,
            p.name,
            day,
            "units-not-supported",
            "97530 45 min billed 2 units; the minutes support 3 (warning: money left behind)",
        )
        return [row("97530", "GO", "0:45", 2)]
    return None


# -- 3. Rethink-style billing export: metadata above the header, start and end times ---------------

RETHINK_HEADER = [
    "Validation", "Appt Type", "Appt Status", "Office Location", "Funder", "Date of Service",
    "Actual Start Time", "Actual End Time", "Client", "Rendering Provider", "Procedure Code",
    "Modifiers", "Units", "Charges",
]  # fmt: skip

NEURO_SLP, NEURO_OT = "Maya Fox, CCC-SLP", "Leo Grant, OTR/L"

RETHINK_PATIENTS = [
    Patient("Keane, Oscar", "", "slp", "Medicare", "", "", (0, 3), 7),
    Patient("Lowry, Edith", "", "slp", "Medicare", "", "", (1, 4), 6),
    Patient("Marsh, Vincent", "", "slp", "Blue Cross Blue Shield", "", "", (0, 2), 5),
    Patient("Noble, Grace", "", "ot", "Medicare", "", "", (1, 3), 6),
    Patient("Owens, Leon", "", "ot", "Blue Cross Blue Shield", "", "", (2, 4), 5),
]


def rethink(rng: random.Random) -> Sample:
    sample = Sample("rethink_billing_export.csv", first_line=6)
    visits = []
    for p in RETHINK_PATIENTS:
        for i, day in enumerate(days(rng, p.weekdays, p.visits)):
            visits.append((day, p, i))
    visits.sort(key=lambda v: (v[0], RETHINK_PATIENTS.index(v[1])))
    for day, p, i in visits:
        start = 8 * 60 + 60 * RETHINK_PATIENTS.index(p) + rng.choice([0, 15, 30])
        slp = p.discipline == "slp"
        rule = "cms" if p.payer == "Medicare" else "ama"
        who = NEURO_SLP if slp else NEURO_OT
        kind = "Speech Therapy" if slp else "Occupational Therapy"
        mods = "GN" if slp else "GO"
        services: list[tuple[str, int, int]] = []
        if slp:
            total = settle(rng, ["cognitive"], rule, 23, 53)["cognitive"]
            n = (total + 7) // 15
            services = [("97129", 15, 1), ("97130", total - 15, n - 1)]
        else:
            minutes = settle(rng, ["97535", "97530"], rule, 15, 40)
            units, _ = units_for(minutes, rule)
            services = [(c, minutes[c], units[c]) for c in ("97535", "97530")]
        rows = []
        starts = []
        for code, minutes_, units_ in services:
            starts.append(start)
            rows.append([
                "Valid", kind, "Completed", "Lakeside Neuro Rehab", p.payer, us_date(day),
                clock(start), clock(start + minutes_), p.name, who, code, mods, str(units_),
                money(units_ * RATES[code]),
            ])  # fmt: skip
            start += minutes_
        line = sample.first_line + len(sample.rows)
        if p.name == "Keane, Oscar" and i == 2:  # the end typed an hour early
            rows[1][7] = clock(start - 60)
            sample.mistake(
                line + 1,
                p.name,
                day,
                "rejected-row",
                "Actual End Time before Actual Start Time: rejected (error)",
            )
            sample.mistake(
                line,
                p.name,
                day,
                "visit-incomplete",
                "so the visit's 97129 line is flagged, not billed as whole (error)",
            )
        if p.name == "Lowry, Edith" and i == 3:  # one row for the whole session
            end = rows[-1][7]
            rows = [rows[0]]
            rows[0][7], rows[0][12] = end, str(sum(u for _, _, u in services))
            sample.mistake(
                line,
                p.name,
                day,
                "primary-more-than-once",
                f"the whole session billed as 97129 x{rows[0][12]} instead of 97129 x1 + "
                "97130 (error)",
            )
        if p.name == "Keane, Oscar" and i == 5:
            for r in rows:
                r[11] = "GO"
            sample.mistake(
                line,
                p.name,
                day,
                "discipline-modifier",
                "an SLP's Medicare lines carry GO instead of GN (error)",
            )
        for r in rows:
            sample.add(r)
    return sample


# -- writing ---------------------------------------------------------------------------------


def _csv(rows: list[list[str]], newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerows(rows)
    return out.getvalue()


def write(out: Path) -> list[Mistake]:
    rng = random.Random(SEED)
    first, second, third = webpt(rng), clinic(rng), rethink(rng)
    out.mkdir(parents=True, exist_ok=True)
    text = _csv([WEBPT_HEADER, *first.rows], "\r\n")
    (out / first.name).write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (out / second.name).write_text(_csv([CLINIC_HEADER, *second.rows]), encoding="utf-8")
    width = len(RETHINK_HEADER)
    pad = [""] * width
    meta = [
        ["Billing Export", *pad[1:]],
        ["Date Range:", "03/01/2026 - 03/31/2026", *pad[2:]],
        ["Tax ID:", "00-0000000", *pad[2:]],
        ["Time Zone:", "America/Chicago", *pad[2:]],
    ]
    units = sum(int(r[12]) for r in third.rows)
    charges = sum(int(r[13][1:].replace(",", "").split(".")[0]) for r in third.rows)
    total = ["Grand Total", *pad[1:12], str(units), money(charges)]
    rows = [*meta, RETHINK_HEADER, *third.rows, pad, total]
    (out / third.name).write_text(_csv(rows), encoding="utf-8")
    return [*first.mistakes, *second.mistakes, *third.mistakes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent.parent / "sample_sessions"
    )
    parser.add_argument("--list", action="store_true", help="print the deliberate mistakes")
    args = parser.parse_args()
    mistakes = write(args.out)
    if args.list:
        for m in mistakes:
            print(f"{m.file}:{m.line}: {m.finding}: {m.patient} {m.date}: {m.what}")


if __name__ == "__main__":
    main()

"""Which column of an EHR export holds which field: vendor header aliases and credentials.

Headers match case- and punctuation-insensitively ("Date of Service", "date_of_service" and
"DateOfService" are one name). When several headers of a file match one field, the alias listed
first wins ("Provider NPI" over "Provider"). A user map (``--map minutes=Duration``) overrides
everything. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cognibill.errors import EntryError, InputError
from cognibill.models import Discipline
from cognibill.quoting import quoted


def normalise(text: str) -> str:
    """A header or credential without case, spaces or punctuation: "Time (min)" -> "timemin"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


REQUIRED = ("patient", "date", "minutes")
"""Fields every export must have (issue 4): patient id, date of service, and the time: minutes,
or start and end times, or (a units-only export, RULES.md §11) the units billed."""

TIME_FIELDS = (("minutes",), ("start", "end"), ("units_billed",))
"""What can stand for ``minutes``, best first: a minutes (duration) column, start and end times,
or units without minutes (whose checks that need minutes are skipped, RULES.md §11)."""

# Field -> aliases, best first. Written as vendors print them; matched after ``normalise``.
_ALIASES: dict[str, tuple[str, ...]] = {
    "patient": (
        "Patient ID",
        "PatientID",
        "Patient",
        "Patient No",
        "Patient Number",
        "Client ID",
        "Client",
        "MRN",
        "Medical Record Number",
        "Member ID",
        "Member",
        "Chart Number",
        "Chart",
        "Account Number",
        "Account",
        "Person ID",
        "patient_member_id",
        "Patient Name",
        "Client Name",
        "Name",
    ),
    "date": (
        "Date of Service",
        "DOS",
        "Service Date",
        "Visit Date",
        "Session Date",
        "Appointment Date",
        "Appt Date",
        "Encounter Date",
        "Treatment Date",
        "From DOS",
        "Svc Date",
        "visit_date",
        "service_date_from",
        "Date",
    ),
    "minutes": (
        "Minutes",
        "Mins",
        "Min",
        "Duration",
        "Duration (min)",
        "Duration Minutes",
        "Time (min)",
        "Time Minutes",
        "Treatment Minutes",
        "Timed Minutes",
        "Service Minutes",
        "Total Minutes",
        "Minutes Spent",
        "Time Spent",
        "Treatment Time",
    ),
    "start": (
        "Start Time",
        "Actual Start Time",
        "Time In",
        "Start",
        "Begin Time",
        "Session Start",
        "Appointment Start",
    ),
    "end": (
        "End Time",
        "Actual End Time",
        "Time Out",
        "End",
        "Stop Time",
        "Session End",
        "Appointment End",
    ),
    "code": (
        "CPT",
        "CPT Code",
        "CPT/HCPCS",
        "HCPCS",
        "HCPCS Code",
        "Procedure Code",
        "Procedure",
        "Proc Code",
        "Service Code",
        "Billing Code",
        "Code",
        "Item",
    ),
    "provider": (
        "Provider NPI",
        "Rendering NPI",
        "Rendering Provider NPI",
        "NPI",
        "Provider ID",
        "Rendering Provider",
        "Therapist ID",
        "Clinician ID",
        "Staff ID",
        "Rendering Provider Name",
        "Documenting Therapist",
        "Treating Therapist",
        "Treating Provider",
        "Finalizing Therapist",
        "Provider",
        "Therapist",
        "Clinician",
        "Clinician Name",
        "Billing Provider",
    ),
    "discipline": (
        "Discipline",
        "Credential",
        "Credentials",
        "Provider Credential",
        "Provider Type",
        "Profession",
        "License",
        "Licence",
        "Specialty",
        "Provider Discipline",
    ),
    "payer": (
        "Payer",
        "Payor",
        "Payer Name",
        "Payor Name",
        "Primary Insurance",
        "Insurance",
        "Insurance Plan",
        "Primary Payer",
        "Financial Class",
        "Carrier",
        "Plan",
        "Funder",
        "Primary Payer Type",
    ),
    "modifiers": ("Modifiers", "Modifier", "Mods", "Mod", "CPT Modifiers", "cpt_modifier"),
    "units_billed": (
        "Billed Units",
        "Units Billed",
        "Billing Units",
        "Charge Units",
        "Units",
        "Unit Count",
        "Qty",
        "Quantity",
        "Documented Units",
    ),
    "assistant": (
        "Assistant",
        "Assisted",
        "Assistant Flag",
        "By Assistant",
        "Furnished by Assistant",
        "Assistant Involved",
    ),
    "assistant_minutes": (
        "Assistant Minutes",
        "Assistant Mins",
        "Assistant Time",
        "PTA Minutes",
        "COTA Minutes",
    ),
    "group": ("Group", "Group Flag", "Group Session", "Group Therapy", "Is Group"),
    "session_id": (
        "Session ID",
        "Session",
        "Session Number",
        "Appointment ID",
        "Appt ID",
        "Encounter ID",
        "Encounter",
        "Visit ID",
        "Note ID",
    ),
    "place_of_service": ("Place of Service", "POS", "POS Code", "Place of Service Code"),
    "diagnoses": (
        "Diagnoses",
        "Diagnosis",
        "Diagnosis Code",
        "Diagnosis Codes",
        "Treating Diagnosis",
        "icd_codes",
        "ICD Codes",
        "Dx",
        "Dx Code",
        "ICD10",
        "ICD-10",
        "ICD10 Code",
        "ICD-10 Code",
    ),
    "poc_start": (
        "Plan of Care Date",
        "Plan of Care Start",
        "POC Date",
        "POC Start",
        "POC Start Date",
        "Plan Start Date",
        "Plan of Care",
    ),
    "poc_certified": (
        "POC Certified",
        "POC Cert Date",
        "Plan of Care Certified",
        "Certification Date",
        "Cert Date",
        "Plan Certified",
    ),
}

FIELDS: tuple[str, ...] = tuple(_ALIASES)
"""Every field a column can hold, as ``--map`` names them."""

MULTI = frozenset({"modifiers", "diagnoses"})
"""Fields that may span several columns ("Modifier 1" ... "Modifier 4", "Dx 1", "Dx 2")."""

_LOOKUP: dict[str, tuple[str, int]] = {}
for _field, _names in _ALIASES.items():
    for _rank, _name in enumerate(_names):
        _LOOKUP.setdefault(normalise(_name), (_field, _rank))

_TRAILING_NUMBER = re.compile(r"\d+$")


def aliases(field: str) -> tuple[str, ...]:
    """The header names recognised for ``field``, best first."""
    return _ALIASES[field]


@dataclass(frozen=True, slots=True)
class ColumnLayout:
    """Where each field is in the rows of one file (0-based indexes)."""

    header: tuple[str, ...]
    columns: Mapping[str, tuple[int, ...]]
    """Field -> the indexes of its columns (several only for modifiers and diagnoses)."""

    def index(self, field: str) -> int:
        """The column of a single-column field, or -1 when the file has none."""
        found = self.columns.get(field)
        return found[0] if found else -1

    def name(self, field: str) -> str:
        """The file's header of a field's (first) column, for messages."""
        found = self.columns.get(field)
        return self.header[found[0]] if found else field

    def describe(self) -> dict[str, list[str]]:
        """Field -> the headers it was read from (for ``--verbose`` output and the summary)."""
        return {f: [self.header[i] for i in idx] for f, idx in self.columns.items()}


def _match(norm: str) -> tuple[str, int] | None:
    found = _LOOKUP.get(norm)
    if found is not None:
        return found
    # "Modifier 2", "Dx1": a numbered column of a multi-column field.
    base = _TRAILING_NUMBER.sub("", norm)
    if base != norm:
        found = _LOOKUP.get(base)
        if found is not None and found[0] in MULTI:
            return found
    return None


def resolve_columns(
    header: Sequence[str],
    path: str,
    column_map: Mapping[str, str] | None = None,
    *,
    line: int = 1,
) -> ColumnLayout:
    """Match a header row to fields; one ``InputError`` names every missing required column.

    ``column_map`` (``{"minutes": "Duration"}``) names the header of a field explicitly; an
    unknown field name there is an ``EntryError`` (a command-line mistake, exit 2).
    """
    cells = tuple(h.strip() for h in header)
    norms = [normalise(h) for h in cells]
    chosen: dict[str, list[int]] = {}
    taken: set[int] = set()
    for field, wanted in (column_map or {}).items():
        if field not in _ALIASES:
            near = difflib.get_close_matches(field, FIELDS, n=1)
            hint = f"did you mean {near[0]}?" if near else f"fields: {', '.join(FIELDS)}"
            raise EntryError(f"--map {field}={wanted}: unknown field {field!r}", hint=hint)
        target = normalise(wanted)
        hits = [i for i, n in enumerate(norms) if n == target]
        if not hits:
            close = difflib.get_close_matches(wanted, cells, n=3, cutoff=0.5)
            raise InputError(
                path,
                f"--map {field}={wanted}: no column {wanted!r} in the header",
                line=line,
                hint=_found_hint(cells, close),
            )
        chosen[field] = hits if field in MULTI else hits[:1]
        taken.update(chosen[field])

    best: dict[str, tuple[int, int]] = {}  # single-column field -> (rank, index)
    multi: dict[str, list[int]] = {}
    for i, norm in enumerate(norms):
        if i in taken or not norm:
            continue
        found = _match(norm)
        if found is None:
            continue
        field, rank = found
        if field in chosen:
            continue
        if field in MULTI:
            multi.setdefault(field, []).append(i)
        elif field not in best or rank < best[field][0]:
            best[field] = (rank, i)
        elif rank == best[field][0]:  # two columns of one name: which is meant is unknowable
            first = best[field][1]
            raise InputError(
                path,
                f"two columns are named {quoted(cells[first])} (columns {first + 1} and {i + 1}): "
                f"cognibill cannot tell which holds the {field}",
                line=line,
                hint="rename one of them in the file (the EHR's column settings, or a spreadsheet)",
            )
    for field, (_, i) in best.items():
        chosen[field] = [i]
    for field, idx in multi.items():
        chosen[field] = idx

    missing = [f for f in REQUIRED if f not in chosen and not _stands_in(f, chosen)]
    if "minutes" not in chosen and ("start" in chosen) != ("end" in chosen):
        have, lack = ("start", "end") if "start" in chosen else ("end", "start")
        raise InputError(
            path,
            f"a {have} time column ({quoted(cells[chosen[have][0]])}) but no {lack} time column",
            line=line,
            hint=f"minutes come from start and end times: add the {lack} time column, or "
            "name it with --map {lack}=HEADER".replace("{lack}", lack),
        )
    if missing:
        raise _missing_error(path, cells, missing, line)
    return ColumnLayout(cells, {f: tuple(chosen[f]) for f in FIELDS if f in chosen})


def fields_named(header: Sequence[str]) -> set[str]:
    """The fields the cells of a line name by the aliases: a header names several, a report
    title or metadata line (``Billing export``, ``Tax ID: …``) at most one."""
    found = (_match(normalise(cell)) for cell in header)
    return {hit[0] for hit in found if hit is not None}


def _stands_in(field: str, chosen: Mapping[str, object]) -> bool:
    """Whether the file has what can stand for a missing required field (minutes: start and end
    times, or units billed; see ``TIME_FIELDS``)."""
    if field != "minutes":
        return False
    return any(all(f in chosen for f in group) for group in TIME_FIELDS)


def minutes_from(layout: ColumnLayout) -> str:
    """Where a file's minutes come from: ``minutes``, ``start-end`` or ``units`` (none: the
    units billed are taken as given, RULES.md §11)."""
    if "minutes" in layout.columns:
        return "minutes"
    if "start" in layout.columns and "end" in layout.columns:
        return "start-end"
    return "units"


def absent_fields(layout: ColumnLayout) -> frozenset[str]:
    """The fields rules may need (``Rule.needs``) that a file lacks: ``minutes`` (no minutes
    and no start and end times), ``plan`` (no plan-of-care column of any kind), ``modifiers``,
    ``diagnoses``."""
    have = layout.columns
    absent = set()
    if minutes_from(layout) == "units":
        absent.add("minutes")
    if "poc_start" not in have and "poc_certified" not in have:
        absent.add("plan")
    absent.update(f for f in ("modifiers", "diagnoses") if f not in have)
    return frozenset(absent)


def _found_hint(cells: Sequence[str], close: Sequence[str]) -> str:
    found = ", ".join(repr(c) for c in cells if c) or "no named columns"
    guess = f"closest: {', '.join(repr(c) for c in close)}; " if close else ""
    return f"{guess}columns found: {found}"


def _missing_error(
    path: str, cells: Sequence[str], missing: Sequence[str], line: int = 1
) -> InputError:
    unused = [c for c in cells if c and _match(normalise(c)) is None]
    problems: list[tuple[int | None, str | None, str]] = []
    maps: list[str] = []
    closest = _closest_by_field(missing, unused)
    for field in missing:
        known = ", ".join(repr(a) for a in _ALIASES[field][:6])
        close = closest[field]
        reason = f"no {field} column (looked for {known} ...)"
        if field == "minutes":
            reason = (
                f"no minutes column (looked for {known} ...), no start and end times and no units"
            )
        if close:
            reason += f"; closest: {', '.join(repr(c) for c in close)}"
            shown = repr(close[0]) if " " in close[0] else close[0]
            maps.append(f"--map {field}={shown}")
        problems.append((line, None, reason))
    found = ", ".join(repr(c) for c in cells if c) or "none"
    hint = f"columns found: {found}"
    if maps:
        hint += f"; if one of them is right, say so: {' '.join(maps)}"
    else:
        hint += "; name the column with --map FIELD=HEADER"
    return InputError(
        path,
        f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
        line=line,
        hint=hint,
        problems=tuple(problems),
    )


_KEYWORDS = {
    "patient": ("patient", "client", "member", "mrn", "chart", "person"),
    "date": ("date", "day", "dos", "when"),
    "minutes": ("min", "time", "duration", "length"),
}
"""Words that point a header at a required field ("Treatment Time" is minutes, not a date)."""


_MONEY_WORDS = ("rate", "fee", "charge", "amount", "paid", "price", "cost", "balance", "payment")
"""A header holding one of these is money: never offered as a guess for minutes (issue 10)."""


def _score(field: str, norm: str) -> float:
    if field == "minutes" and any(word in norm for word in _MONEY_WORDS):
        return 0.0
    best = max(
        difflib.SequenceMatcher(None, normalise(alias), norm).ratio() for alias in _ALIASES[field]
    )
    if any(word in norm for word in _KEYWORDS.get(field, ())):
        best += 0.5
    return best


def _closest_by_field(fields: Sequence[str], headers: Sequence[str]) -> dict[str, list[str]]:
    """For each missing field, the unused headers that look most like it (difflib on the
    aliases, plus a keyword bonus); each header is offered to one field only, its best."""
    offers: dict[str, list[tuple[float, str]]] = {f: [] for f in fields}
    for header in headers:
        norm = normalise(header)
        scores = {f: _score(f, norm) for f in fields}
        field = max(scores, key=lambda f: scores[f])
        if scores[field] >= 0.6:
            offers[field].append((scores[field], header))
    return {f: [h for _, h in sorted(o, key=lambda x: -x[0])[:3]] for f, o in offers.items()}


# Credentials and discipline names as EHRs print them -> the discipline (RULES.md §6).
_CREDENTIALS: dict[str, Discipline] = {}
_CREDENTIAL_RANK: dict[Discipline, int] = {}
_NAME_CREDENTIALS: dict[str, Discipline | None] = {}
"""Credentials that may end a provider's name ("Smith, Anna SLP"), as spelled (and in capitals):
only the abbreviations of two capitals or more, so that "John Do" and "Lee, Pa" stay names."""
for _disc, _rank_, _names_ in (
    (
        Discipline.PT,
        0,
        ("PT", "DPT", "MPT", "MSPT", "Physical Therapist", "Physical Therapy", "Physiotherapist"),
    ),
    (
        Discipline.OT,
        0,
        (
            "OT",
            "OTR",
            "OTR/L",
            "OT/L",
            "OTD",
            "MOT",
            "MSOT",
            "Occupational Therapist",
            "Occupational Therapy",
        ),
    ),
    (
        Discipline.SLP,
        0,
        (
            "SLP",
            "CCC-SLP",
            "SLP-CCC",
            "CF-SLP",
            "SLP-CF",
            "CCC/SLP",
            "SLPD",
            "CScD",
            "ST",
            "Speech",
            "Speech Therapy",
            "Speech Therapist",
            "Speech-Language Pathologist",
            "Speech Language Pathologist",
            "Speech Language Pathology",
        ),
    ),
    (
        Discipline.PTA,
        0,
        ("PTA", "LPTA", "Physical Therapist Assistant", "Physical Therapy Assistant"),
    ),
    (
        Discipline.OTA,
        0,
        (
            "COTA",
            "COTA/L",
            "OTA",
            "OTA/L",
            "Occupational Therapy Assistant",
            "Occupational Therapist Assistant",
        ),
    ),
    (Discipline.NP, 1, ("NP", "FNP", "FNP-C", "AGNP", "PMHNP", "CRNP", "Nurse Practitioner")),
    (Discipline.CNS, 1, ("CNS", "Clinical Nurse Specialist")),
    (Discipline.PA, 1, ("PA", "PA-C", "Physician Assistant")),
    (Discipline.PHYSICIAN, 2, ("MD", "DO", "Physician")),
    (Discipline.PSYCHOLOGIST, 3, ("PsyD", "PhD", "Psychologist")),
    (
        Discipline.AIDE,
        4,
        (
            "Aide",
            "Tech",
            "Technician",
            "Rehab Aide",
            "Rehab Tech",
            "Therapy Aide",
            "PT Aide",
            "OT Aide",
            "Therapy Tech",
        ),
    ),
    (Discipline.OTHER, 5, ("Other",)),
):
    _CREDENTIAL_RANK[_disc] = _rank_
    for _cred in (*_names_, _disc.value):
        _CREDENTIALS[normalise(_cred)] = _disc
    for _cred in _names_:
        if " " not in _cred and sum(ch.isupper() for ch in _cred) >= 2:
            _NAME_CREDENTIALS[_cred] = _NAME_CREDENTIALS[_cred.upper()] = _disc

# Degrees and certifications printed after a name that say nothing of the discipline
# ("Anna Smith, MS, CCC-SLP"; "Bo Lee, PT, DPT, OCS"): part of the credentials, not of the name.
for _cred in (
    *("MS", "MA", "MEd", "MSEd", "MSc", "MHS", "MBA", "MPH", "BS", "BA", "BSc", "EdD", "ScD"),
    *("OCS", "NCS", "PCS", "GCS", "SCS", "CSCS", "CHT", "CLT", "CBIS", "ATC", "CSRS", "BCS-S"),
    *("CCC", "CF", "RN"),
):
    _NAME_CREDENTIALS[_cred] = _NAME_CREDENTIALS[_cred.upper()] = None

_TOKENS = re.compile(r"[\s,;|]+")
_LAST_TOKEN = re.compile(r"[(\[]?([^\s,;|()\[\]]+)[)\]]?$")
_SEPARATORS = " \t,;|-"


def discipline_of(text: str) -> Discipline | None:
    """The discipline a credential cell names, or None when it names none we know.

    The whole cell first ("PT Aide" is an aide), then each credential of a list
    ("MS, CCC-SLP" is an SLP): a therapy credential wins over NP/CNS/PA, which win over MD/DO,
    which win over a doctorate ("PhD, CCC-SLP" is an SLP, "MD, PhD" a physician).
    """
    whole = _CREDENTIALS.get(normalise(text))
    if whole is not None:
        return whole
    found = [d for t in _TOKENS.split(text) if (d := _CREDENTIALS.get(normalise(t))) is not None]
    if not found:
        return None
    return min(found, key=lambda d: _CREDENTIAL_RANK[d])


def split_credentials(text: str) -> tuple[str, str]:
    """(name, credentials) of a provider cell whose name ends with credentials.

    "Smith, Anna SLP" -> ("Smith, Anna", "SLP"); "Anna Smith, MS, CCC-SLP" -> ("Anna Smith",
    "MS, CCC-SLP"); "Bo Lee, PT Aide" -> ("Bo Lee", "PT Aide"). A trailing word is a credential
    when it is an abbreviation of :data:`_NAME_CREDENTIALS` as spelled or in capitals ("DPT",
    "PhD", "PHD"; not "Do" or "Pa", which are names), or when everything after the last comma is
    a credential of several words ("Physical Therapist"). A cell of credentials only is its own
    name: ("PT, DPT", "PT, DPT"). The name is otherwise as written, stripped.
    """
    value = text.strip()
    cut = len(value)
    while cut:
        head = value[:cut].rstrip(_SEPARATORS)
        comma = head.rfind(",")
        tail = head[comma + 1 :].strip()
        if comma > 0 and " " in tail and normalise(tail) in _CREDENTIALS:
            cut = comma
            continue
        last = _LAST_TOKEN.search(head)
        if last is None or last.group(1) not in _NAME_CREDENTIALS:
            break
        cut = last.start()
    name = value[:cut].rstrip(_SEPARATORS)
    credentials = value[cut:].strip(_SEPARATORS)
    if not name:
        return value, value
    return name, credentials


def suggest_credential(text: str) -> list[str]:
    """Known credentials that look like an unknown one ("SPL" -> "SLP")."""
    names = sorted({n.upper() for n in _CREDENTIALS if len(n) <= 6})
    return difflib.get_close_matches(normalise(text).upper(), names, n=3, cutoff=0.6)


CREDENTIALS_HELP = (
    "PT, DPT, OT, OTR/L, SLP, CCC-SLP, ST, PTA, COTA, MD, DO, PhD, PsyD, NP, CNS, PA, aide"
)
"""The credentials named in messages."""

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


def normalise(text: str) -> str:
    """A header or credential without case, spaces or punctuation: "Time (min)" -> "timemin"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


REQUIRED = ("patient", "date", "minutes")
"""Fields every export must have (issue 4): patient id, date of service, minutes."""

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
        "Patient Name",
        "Client Name",
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
        "Provider",
        "Therapist",
        "Clinician",
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
    ),
    "modifiers": ("Modifiers", "Modifier", "Mods", "Mod", "CPT Modifiers"),
    "units_billed": (
        "Billed Units",
        "Units Billed",
        "Billing Units",
        "Charge Units",
        "Units",
        "Unit Count",
        "Qty",
        "Quantity",
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
    header: Sequence[str], path: str, column_map: Mapping[str, str] | None = None
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
                line=1,
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
    for field, (_, i) in best.items():
        chosen[field] = [i]
    for field, idx in multi.items():
        chosen[field] = idx

    missing = [f for f in REQUIRED if f not in chosen]
    if missing:
        raise _missing_error(path, cells, missing)
    return ColumnLayout(cells, {f: tuple(chosen[f]) for f in FIELDS if f in chosen})


def _found_hint(cells: Sequence[str], close: Sequence[str]) -> str:
    found = ", ".join(repr(c) for c in cells if c) or "no named columns"
    guess = f"closest: {', '.join(repr(c) for c in close)}; " if close else ""
    return f"{guess}columns found: {found}"


def _missing_error(path: str, cells: Sequence[str], missing: Sequence[str]) -> InputError:
    unused = [c for c in cells if c and _match(normalise(c)) is None]
    problems: list[tuple[int | None, str | None, str]] = []
    maps: list[str] = []
    closest = _closest_by_field(missing, unused)
    for field in missing:
        known = ", ".join(repr(a) for a in _ALIASES[field][:6])
        close = closest[field]
        reason = f"no {field} column (looked for {known} ...)"
        if close:
            reason += f"; closest: {', '.join(repr(c) for c in close)}"
            shown = repr(close[0]) if " " in close[0] else close[0]
            maps.append(f"--map {field}={shown}")
        problems.append((1, None, reason))
    found = ", ".join(repr(c) for c in cells if c) or "none"
    hint = f"columns found: {found}"
    if maps:
        hint += f"; if one of them is right, say so: {' '.join(maps)}"
    else:
        hint += "; name the column with --map FIELD=HEADER"
    return InputError(
        path,
        f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
        line=1,
        hint=hint,
        problems=tuple(problems),
    )


_KEYWORDS = {
    "patient": ("patient", "client", "member", "mrn", "chart", "person"),
    "date": ("date", "day", "dos", "when"),
    "minutes": ("min", "time", "duration", "length"),
}
"""Words that point a header at a required field ("Treatment Time" is minutes, not a date)."""


def _score(field: str, norm: str) -> float:
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
for _disc, _rank_, _names_ in (
    (
        Discipline.PT,
        0,
        ("PT", "DPT", "MPT", "MSPT", "Physical Therapist", "Physical Therapy", "Physiotherapist"),
    ),
    (
        Discipline.OT,
        0,
        ("OT", "OTR", "OTR/L", "OTD", "Occupational Therapist", "Occupational Therapy"),
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
            "ST",
            "Speech",
            "Speech Therapy",
            "Speech Therapist",
            "Speech-Language Pathologist",
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

_TOKENS = re.compile(r"[\s,;|]+")


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


def suggest_credential(text: str) -> list[str]:
    """Known credentials that look like an unknown one ("SPL" -> "SLP")."""
    names = sorted({n.upper() for n in _CREDENTIALS if len(n) <= 6})
    return difflib.get_close_matches(normalise(text).upper(), names, n=3, cutoff=0.6)


CREDENTIALS_HELP = (
    "PT, DPT, OT, OTR/L, SLP, CCC-SLP, ST, PTA, COTA, MD, DO, PhD, PsyD, NP, CNS, PA, aide"
)
"""The credentials named in messages."""

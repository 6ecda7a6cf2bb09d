"""The commented template session file written by ``cognibill new``."""

from __future__ import annotations

import datetime as dt
import re

from cognibill.engine.units import MAX_MINUTES, units_for_minutes
from cognibill.errors import EntryError

PLAN_WEEKS = 12
"""Length of the template's plan of care: 12 weeks stays inside a 90-day certification."""

_HEADER = """\
# cognibill session file: one [[visit]] table per patient, date of service and provider, each
# with one [[visit.service]] table per code performed. Copy the [[visit]] block (with its
# services) to keep more visits in one file.
#
# Check it:          cognibill check FILE
# See claim lines:   cognibill claim FILE
#
# TOML in brief: text goes in "quotes", dates are written 2026-03-02 without quotes, numbers and
# true/false are bare, lines starting with # are comments. Sub-tables may also be written inline:
#   provider = { id = "1234567893", discipline = "slp" }
# The values below are fictional: replace them with your own.
"""

_BEFORE: dict[str, tuple[str, ...]] = {
    "[[visit]]": (),
    "[visit.provider]": ("# The rendering provider: who furnished the services.",),
    "[visit.plan_of_care]": (
        "# The therapy plan of care the visit is furnished under. Delete this table (all its",
        "# lines) when there is none, e.g. a physician or psychologist billing outside a plan.",
    ),
    "[[visit.service]]": ("# One [[visit.service]] table per code performed in the visit.",),
}

_ABOUT: dict[tuple[str, str], tuple[str, ...]] = {
    ("[[visit]]", "patient"): ("# Your own patient identifier (never a name or a date of birth).",),
    ("[[visit]]", "date"): ("# Date of service.",),
    ("[[visit]]", "payer"): (
        '# Payer profile id: "medicare", or one of your own profiles. Leave it out to use the',
        "# default from your configuration. The payer decides the unit rule (CMS total time or",
        "# AMA per code) and which checks are errors.",
    ),
    ("[[visit]]", "place_of_service"): (
        '# Place of service code: "11" office, "12" home, "22" / "19" outpatient hospital',
        '# (on / off campus), "31" skilled nursing facility, "02" / "10" telehealth (other than',
        "# home / in the patient's home).",
    ),
    ("[visit.provider]", "id"): ("# NPI or your own provider id.",),
    ("[visit.provider]", "discipline"): (
        "# One of: pt | ot | slp | physician | psychologist | np | cns | pa | pta | ota |",
        "# aide | other (np nurse practitioner, cns clinical nurse specialist, pa physician",
        "# assistant, pta / ota PT / OT assistant; an aide's minutes never count; other: anyone",
        "# else).",
    ),
    ("[visit.plan_of_care]", "start"): (
        "# First day of the plan (evaluation or first treatment).",
    ),
    ("[visit.plan_of_care]", "certified"): (
        "# Date a physician or NPP signed the plan: within 30 days of the first treatment.",
    ),
    ("[visit.plan_of_care]", "through"): (
        "# Last day the certification covers: at most 90 days from the start; recertify to go on.",
    ),
    ("[visit.plan_of_care]", "diagnoses"): ("# ICD-10-CM codes the plan treats.",),
    ("[visit.plan_of_care]", "goals"): ("# true when the plan states long-term goals.",),
    ("[visit.plan_of_care]", "frequency"): ('# How often, as the plan says: "2x/week".',),
    ("[visit.plan_of_care]", "duration"): ('# For how long, as the plan says: "12 weeks".',),
    ("[[visit.service]]", "code"): (
        "# The CPT or HCPCS code. Enter all cognitive minutes on 97129: cognibill splits them",
        "# into 97129 (first unit) and 97130 (each further unit); minutes entered as 97130 pool",
        "# with them.",
    ),
    ("[[visit.service]]", "minutes"): (
        "# Minutes of direct one-on-one treatment with this code: whole minutes, without rest,",
        "# set-up or documentation time.",
    ),
}

_AFTER: dict[tuple[str, str], tuple[str, ...]] = {
    ("[[visit]]", "place_of_service"): (
        "# Optional:",
        '# diagnoses = ["I69.314"]     # claim diagnoses (ICD-10-CM), when not the plan\'s',
        '# session_id = "note-0001"    # your own note or session id, carried into the output',
    ),
    ("[[visit.service]]", "minutes"): (
        "# Optional (remove the leading # to use a line):",
        "# assistant_minutes = 0       # minutes a PT / OT assistant furnished (CQ / CO above 10%)",
        "# group = true                # two or more patients at once: group therapy (97150)",
        "# units_billed = 1            # units of this code on your claim, checked against minutes",
        '# modifiers = ["GN"]          # modifiers on the claim line: GN (SLP), GO (OT), GP (PT),',
        "#                             # CQ / CO (assistant), 95 / 93 (telehealth), 59, KX ...",
    ),
}

_ARRAY = re.compile(r"\[\n((?:    [^\n\[\]{}]*,\n)+)\]")
_KEY = re.compile(r"([A-Za-z_]+) = ")


def render_template(from_units: int | None = None, *, today: dt.date | None = None) -> str:
    """A commented session file with one visit that ``read_session_file`` reads back cleanly.

    ``from_units``: cognitive minutes to pre-fill (97129 with that many minutes), as given to
    ``cognibill units``; otherwise the minutes are 0, to fill in. ``today``: the date of service
    and start of the plan of care (default: today).
    """
    import tomli_w

    if from_units is not None and not 0 <= from_units <= MAX_MINUTES:
        raise EntryError(
            f"{from_units}: minutes must be between 0 and {MAX_MINUTES}",
            hint="--from-units takes the cognitive minutes of the visit, e.g. 38",
        )
    day = today or dt.date.today()
    tables: list[tuple[str, dict[str, object]]] = [
        (
            "[[visit]]",
            {"patient": "P-1001", "date": day, "payer": "medicare", "place_of_service": "11"},
        ),
        ("[visit.provider]", {"id": "1234567893", "discipline": "slp"}),
        (
            "[visit.plan_of_care]",
            {
                "start": day,
                "certified": day,
                "through": day + dt.timedelta(weeks=PLAN_WEEKS, days=-1),
                "diagnoses": ["I69.314"],
                "goals": True,
                "frequency": "2x/week",
                "duration": f"{PLAN_WEEKS} weeks",
            },
        ),
        ("[[visit.service]]", {"code": "97129", "minutes": from_units or 0}),
    ]
    # One tomli-w body per table under our own headers: left to itself, tomli-w writes short
    # arrays of tables inline (service = [{ ... }]), which a template should not teach.
    text = "\n".join(f"{header}\n{tomli_w.dumps(body)}" for header, body in tables)
    return _annotate(_ARRAY.sub(_one_line_array, text), from_units)


def _one_line_array(match: re.Match[str]) -> str:
    """tomli-w writes every array over several lines; short ones read better on one."""
    items = [item.strip().removesuffix(",") for item in match.group(1).splitlines()]
    return "[" + ", ".join(items) + "]"


def _annotate(text: str, from_units: int | None) -> str:
    out = _HEADER.splitlines()
    out.append("")
    table = ""
    for line in text.splitlines():
        if line in _BEFORE:
            table = line
            out.extend(_BEFORE[line])
            out.append(line)
            continue
        key = _KEY.match(line)
        name = key.group(1) if key else ""
        out.extend(_ABOUT.get((table, name), ()))
        out.append(line)
        if (table, name) == ("[[visit.service]]", "minutes"):
            out.extend(_minutes_note(from_units))
        out.extend(_AFTER.get((table, name), ()))
    return "\n".join(out).rstrip("\n") + "\n"


def _minutes_note(from_units: int | None) -> tuple[str, ...]:
    if from_units is None:
        return ("# ^ fill in the minutes (cognibill new --from-units 38 pre-fills them).",)
    units = units_for_minutes(from_units)
    if units == 0:
        return (f"# ^ {from_units} minutes earn no unit: a first unit needs 8 minutes.",)
    split = "97129 x1" + (f" + 97130 x{units - 1}" if units > 1 else "")
    plural = "s" if units > 1 else ""
    return (f"# ^ {from_units} minutes: {units} unit{plural} under the 8-minute rule, {split}.",)

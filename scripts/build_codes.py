#!/usr/bin/env python3
"""Build cognibill's code catalogue (cognibill/data/codes.toml) from the shared therapy-code table.

Usage (from the repository root)::

    python scripts/build_codes.py            # write cognibill/data/codes.toml
    python scripts/build_codes.py --check    # fail if codes.toml is not what this script builds
    python scripts/build_codes.py --csv PATH --rvu PATH

Inputs: ``../shared/domain/data/therapy_codes.csv`` (one row per code: timing, unit lengths,
family; README.md beside it) and ``rvu.csv`` (the CMS indicators behind the "always therapy"
pattern). Labels are ours (``LABELS``): short plain words, never the AMA CPT descriptor text.
The codes the catalogue held before the table existed keep their fields exactly (``KEPT``); the
deleted codes 97127, 97532 and G0515 (RULES.md §5) are not rows of the table and are kept too.

How a table row becomes a catalogue entry:

- ``timing`` is the ``kind``: timed, untimed, hourly, first-and-additional, area.
- A ``A+B`` family (primary A with add-on B, 92605+92618 ...) of kind first-and-additional is
  one service: both codes get ``family = "A"`` (the primary's code is the engine's service key),
  ``role`` primary/addon and the family's ``first_unit_minutes`` and ``unit_minutes``. The
  area pair 97597+97598 is not pooled (units are taken as billed, RULES.md §4).
- ``therapy``: the table's ``cms_therapy_list`` when it says always/sometimes; else "always" when
  the latest CMS row shows the "always therapy" pattern (MULT PROC 5, PC/TC 7, facility PE NA;
  data README: a pattern, not the list); else none.
- 96110 and 96127 are one unit per standardized instrument: ``per_instrument = true``.
- An ``A/B`` alternative where A is not valid for Medicare (status I) and B is active gives A
  ``medicare_code = "B"`` (97014 -> G0283).
- The group adaptive-behaviour codes 97154, 97157, 97158 are group services (``group``).

Output is deterministic, so ``--check`` can run in CI (tests/test_codes_catalogue.py does).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "domain" / "data"
OUT = REPO / "cognibill" / "data" / "codes.toml"

HEADER = """\
# cognibill code catalogue. Built by scripts/build_codes.py from
#   ../shared/domain/data/therapy_codes.csv (timing, unit lengths, families; sources in that
#   folder's README.md) and our own labels: do not edit by hand, edit the script.
#
# One [code."NNNNN"] table per code in scope. Fields:
#   label     our own short plain-language label (never the AMA CPT descriptor, which is licensed)
#   kind      "timed"    15-minute units under the 8-minute rule (RULES.md §1-§3)
#             "untimed"  one unit per visit, never in the timed pool (RULES.md §4)
#             "hourly"   per-hour units with the CPT midpoint (31 minutes), kept out of the pool
#             "first-and-additional"  a first unit of first_unit_minutes, then units of
#                        unit_minutes, each attained once its midpoint is passed (RULES.md §4);
#                        kept out of the pool
#             "area"     counted by wound area or device, not time: units as billed (RULES.md §4)
#   family    codes of one service share minutes and units (97129 + 97130: "cognitive", RULES.md §5;
#             92605 + 92618 ...: the primary's code)
#   role      within a family: "primary" (once per day) or "addon" (only with its primary)
#   first_unit_minutes / unit_minutes   first-and-additional: minutes of the first and of each
#             further unit
#   per_instrument  untimed, one unit per standardized instrument: more than one unit a visit
#   medicare_code   the code Medicare accepts instead (CMS status I, RULES.md §4)
#   therapy   CMS therapy status: "always" or "sometimes" (RULES.md §6; "sometimes" for
#             97129/97130 is open)
#   valid_from / deleted_on   dates the code is valid from / deleted on (RULES.md §5)
#   replaced_by  codes to use instead after deletion
#   group     true for group services (97150)
#
# Sources: RULES.md §4-§6, CMS PFS RVU files (MULT PROC indicator 5 = "always therapy"),
#   therapy_codes.csv (its `source` column names each timing fact's source).
"""

KEPT: dict[str, dict[str, object]] = {
    "97129": {"label": "Cognitive intervention, first 15 min", "kind": "timed",
              "family": "cognitive", "role": "primary", "therapy": "sometimes",
              "valid_from": "2020-01-01"},
    "97130": {"label": "Cognitive intervention, each extra 15 min", "kind": "timed",
              "family": "cognitive", "role": "addon", "therapy": "sometimes",
              "valid_from": "2020-01-01"},
    "97110": {"label": "Therapeutic exercise", "kind": "timed", "therapy": "always"},
    "97112": {"label": "Neuromuscular re-education", "kind": "timed", "therapy": "always"},
    "97116": {"label": "Gait training", "kind": "timed", "therapy": "always"},
    "97140": {"label": "Manual therapy", "kind": "timed", "therapy": "always"},
    "97530": {"label": "Therapeutic activities", "kind": "timed", "therapy": "always"},
    "97535": {"label": "Self-care and home skills training", "kind": "timed", "therapy": "always"},
    "97032": {"label": "Electrical stimulation, attended", "kind": "timed", "therapy": "always"},
    "97033": {"label": "Iontophoresis", "kind": "timed", "therapy": "always"},
    "97035": {"label": "Ultrasound", "kind": "timed", "therapy": "always"},
    "97750": {"label": "Physical performance testing", "kind": "timed", "therapy": "always"},
    "97760": {"label": "Orthotic fitting and training", "kind": "timed", "therapy": "always"},
    "97761": {"label": "Prosthetic training", "kind": "timed", "therapy": "always"},
    "97763": {"label": "Orthotic/prosthetic follow-up", "kind": "timed", "therapy": "always"},
    "92507": {"label": "Speech-language therapy, one-on-one", "kind": "untimed",
              "therapy": "always"},
    "92508": {"label": "Speech-language therapy, group", "kind": "untimed", "therapy": "always",
              "group": True},
    "92521": {"label": "Fluency (stuttering) evaluation", "kind": "untimed", "therapy": "always"},
    "92522": {"label": "Articulation evaluation", "kind": "untimed", "therapy": "always"},
    "92523": {"label": "Articulation and language evaluation", "kind": "untimed",
              "therapy": "always"},
    "92524": {"label": "Voice evaluation", "kind": "untimed", "therapy": "always"},
    "92526": {"label": "Swallowing therapy", "kind": "untimed", "therapy": "always"},
    "97150": {"label": "Group therapy", "kind": "untimed", "therapy": "always", "group": True},
    "97161": {"label": "PT evaluation, low complexity", "kind": "untimed", "therapy": "always"},
    "97162": {"label": "PT evaluation, moderate complexity", "kind": "untimed",
              "therapy": "always"},
    "97163": {"label": "PT evaluation, high complexity", "kind": "untimed", "therapy": "always"},
    "97164": {"label": "PT re-evaluation", "kind": "untimed", "therapy": "always"},
    "97165": {"label": "OT evaluation, low complexity", "kind": "untimed", "therapy": "always"},
    "97166": {"label": "OT evaluation, moderate complexity", "kind": "untimed",
              "therapy": "always"},
    "97167": {"label": "OT evaluation, high complexity", "kind": "untimed", "therapy": "always"},
    "97168": {"label": "OT re-evaluation", "kind": "untimed", "therapy": "always"},
    "96125": {"label": "Cognitive testing by the clinician, per hour", "kind": "hourly"},
    "97533": {"label": "Sensory integration", "kind": "timed", "therapy": "always"},
    "92610": {"label": "Swallowing evaluation", "kind": "untimed", "therapy": "always"},
    "96105": {"label": "Aphasia testing, per hour", "kind": "hourly", "therapy": "always"},
    "97153": {"label": "ABA treatment, technician", "kind": "timed"},
    "97155": {"label": "ABA treatment, clinician adjusting the plan", "kind": "timed"},
}  # fmt: skip
"""The codes of the catalogue before therapy_codes.csv, with their fields exactly as they were."""

DELETED: dict[str, dict[str, object]] = {
    "97532": {"label": "Cognitive skills development (deleted)", "kind": "timed",
              "deleted_on": "2018-01-01", "replaced_by": ["97129", "97130"]},
    "97127": {"label": "Cognitive function intervention (deleted)", "kind": "untimed",
              "valid_from": "2018-01-01", "deleted_on": "2020-01-01",
              "replaced_by": ["97129", "97130"]},
    "G0515": {"label": "Cognitive skills development, Medicare (deleted)", "kind": "timed",
              "valid_from": "2018-01-01", "deleted_on": "2020-01-01",
              "replaced_by": ["97129", "97130"]},
}  # fmt: skip
"""Deleted codes: kept so that old cheat sheets get a clear answer (RULES.md §5)."""

LABELS: dict[str, str] = {
    "20560": "Dry needling, one or two muscles",
    "20561": "Dry needling, three muscles or more",
    "92520": "SLP voice box function study",
    "92597": "SLP voice prosthesis fitting check",
    "92605": "SLP communication device (not speech-making) assessment, first hour",
    "92606": "SLP communication device (not speech-making) sessions",
    "92607": "SLP speech-making device assessment, first hour",
    "92608": "SLP speech-making device assessment, each extra 30 min",
    "92609": "SLP speech-making device sessions",
    "92611": "SLP swallow study on video x-ray",
    "92612": "SLP swallow study with a scope",
    "92618": "SLP communication device (not speech-making) assessment, each extra 30 min",
    "95992": "Vestibular: repositioning of ear crystals, per day",
    "96110": "Development screening, per instrument",
    "96112": "Development testing, first hour",
    "96113": "Development testing, each extra 30 min",
    "96127": "Emotional or behaviour screening, per instrument",
    "97010": "Supervised modality: heat or cold packs",
    "97012": "Supervised modality: traction by machine",
    "97014": "Supervised modality: unattended e-stim (not Medicare)",
    "97016": "Supervised modality: pneumatic compression device",
    "97018": "Supervised modality: paraffin wax",
    "97022": "Supervised modality: whirlpool",
    "97024": "Supervised modality: diathermy",
    "97026": "Supervised modality: infrared",
    "97028": "Supervised modality: ultraviolet",
    "97034": "Attended modality: alternating hot and cold baths",
    "97036": "Attended modality: therapy tank",
    "97039": "Modality not listed elsewhere (payer sets the unit)",
    "97113": "Exercise in a pool",
    "97124": "Soft-tissue massage",
    "97139": "Procedure not listed elsewhere (payer sets the unit)",
    "97151": "Adaptive behaviour: assessment by the clinician",
    "97152": "Adaptive behaviour: assessment with a technician",
    "97154": "Adaptive behaviour: group treatment, technician",
    "97156": "Adaptive behaviour: family guidance",
    "97157": "Adaptive behaviour: guidance for several families",
    "97158": "Adaptive behaviour: group treatment, clinician",
    "97169": "Athletic trainer evaluation, low complexity",
    "97170": "Athletic trainer evaluation, moderate complexity",
    "97171": "Athletic trainer evaluation, high complexity",
    "97172": "Athletic trainer re-evaluation",
    "97537": "Training to return to community or work",
    "97542": "Wheelchair skills training",
    "97545": "Work rehabilitation program, first 2 hours",
    "97546": "Work rehabilitation program, each extra hour",
    "97597": "Wound care: selective debridement, first 20 sq cm",
    "97598": "Wound care: selective debridement, each extra 20 sq cm",
    "97602": "Wound care: debridement, not selective",
    "97605": "Wound care: negative pressure device, 50 sq cm or less",
    "97606": "Wound care: negative pressure device, over 50 sq cm",
    "97607": "Wound care: disposable negative pressure, 50 sq cm or less",
    "97608": "Wound care: disposable negative pressure, over 50 sq cm",
    "97610": "Wound care: ultrasound mist",
    "97755": "Check of assistive devices and technology",
    "G0151": "Home health or hospice: PT",
    "G0152": "Home health or hospice: OT",
    "G0153": "Home health or hospice: SLP",
    "G0157": "Home health or hospice: PT assistant",
    "G0158": "Home health or hospice: OT assistant",
    "G0159": "Home health: PT maintenance program",
    "G0160": "Home health: OT maintenance program",
    "G0161": "Home health: SLP maintenance program",
    "G0283": "Supervised modality: unattended e-stim (Medicare)",
}
"""Our labels for the codes added from therapy_codes.csv (our words; no AMA descriptor text)."""

GROUP_CODES = frozenset({"97154", "97157", "97158"})
"""Group adaptive-behaviour treatment: one patient of several, as 97150 (RULES.md §4)."""

PER_INSTRUMENT = frozenset({"96110", "96127"})
"""One unit per standardized instrument (therapy_codes.csv README note)."""

_KINDS = ("timed", "untimed", "hourly", "first-and-additional", "area")
_ORDER = (
    "label", "kind", "family", "role", "first_unit_minutes", "unit_minutes", "per_instrument",
    "medicare_code", "therapy", "valid_from", "deleted_on", "replaced_by", "group",
)  # fmt: skip


class BuildError(Exception):
    """An input that cannot be used."""


def _read(path: Path) -> list[dict[str, str]]:
    try:
        text = path.read_text("utf-8-sig")
    except OSError as exc:
        raise BuildError(f"{path}: cannot read ({exc.strerror})") from exc
    return [
        {k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(text.splitlines())
    ]


def _latest_rvu_rows(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    latest: dict[str, dict[str, str]] = {}
    for row in rows:
        code = row["hcpcs"]
        if code not in latest or row["effective_from"] > latest[code]["effective_from"]:
            latest[code] = row
    return latest


def _always_pattern(row: dict[str, str] | None) -> bool:
    return (
        row is not None
        and row.get("mult_proc_indicator") == "5"
        and row.get("pctc_indicator") == "7"
        and row.get("facility_na_indicator") == "NA"
    )


def entries(
    codes: list[dict[str, str]], rvus: list[dict[str, str]]
) -> dict[str, dict[str, object]]:
    """Every catalogue entry by code: the table's codes (kept ones as they were), then the
    deleted codes."""
    latest = _latest_rvu_rows(rvus)
    by_code = {row["code"]: row for row in codes}
    out: dict[str, dict[str, object]] = {}
    for row in codes:
        code, timing = row["code"], row["timing"]
        if timing not in _KINDS:
            raise BuildError(f"{code}: unknown timing {timing!r}")
        if code in KEPT:
            kept = dict(KEPT[code])
            if kept["kind"] != timing and kept.get("family") != "cognitive":
                raise BuildError(f"{code}: kind {kept['kind']} here, {timing} in the table")
            out[code] = kept
            continue
        if code not in LABELS:
            raise BuildError(f"{code}: no label of ours (add it to LABELS)")
        entry: dict[str, object] = {"label": LABELS[code], "kind": timing}
        family = row["family"]
        if timing == "first-and-additional" and "+" in family:
            primary, addon = family.split("+")
            entry["family"] = primary
            entry["role"] = "primary" if code == primary else "addon"
            entry["first_unit_minutes"] = int(row["first_unit_minutes"])
            entry["unit_minutes"] = int(row["unit_minutes"])
            if addon not in by_code or primary not in by_code:
                raise BuildError(f"{code}: family {family} names a code not in the table")
        if code in PER_INSTRUMENT:
            entry["per_instrument"] = True
        if "/" in family and latest.get(code, {}).get("status") == "I":
            others = [
                c for c in family.split("/") if c != code and latest.get(c, {}).get("status") == "A"
            ]
            if others:
                entry["medicare_code"] = others[0]
        listed = row["cms_therapy_list"]
        if listed in ("always", "sometimes"):
            entry["therapy"] = listed
        elif _always_pattern(latest.get(code)):
            entry["therapy"] = "always"
        if code in GROUP_CODES:
            entry["group"] = True
        out[code] = entry
    missing = sorted(set(KEPT) - set(out))
    if missing:
        raise BuildError(f"codes of the catalogue missing from the table: {', '.join(missing)}")
    for code, fields in DELETED.items():
        out[code] = dict(fields)
    return out


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
        return text  # a TOML date
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(table: dict[str, dict[str, object]]) -> str:
    """codes.toml's text: the header, the live codes in code order, then the deleted codes."""
    parts = [HEADER]
    live = sorted(c for c in table if c not in DELETED)
    for code in live:
        parts.append(_table(code, table[code]))
    parts.append(
        "\n# Deleted codes: kept so that old cheat sheets get a clear answer (RULES.md §5)."
    )
    for code in DELETED:
        parts.append(_table(code, table[code]))
    return "\n".join(parts) + "\n"


def _table(code: str, fields: dict[str, object]) -> str:
    unknown = set(fields) - set(_ORDER)
    if unknown:
        raise BuildError(f"{code}: unknown field(s) {sorted(unknown)}")
    lines = [f'\n[code."{code}"]']
    lines += [f"{name} = {_value(fields[name])}" for name in _ORDER if name in fields]
    return "\n".join(lines)


def build(csv_path: Path, rvu_path: Path) -> str:
    """The text of codes.toml built from the two tables."""
    return render(entries(_read(csv_path), _read(rvu_path)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, default=SHARED / "therapy_codes.csv")
    parser.add_argument("--rvu", type=Path, default=SHARED / "rvu.csv")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="fail if the output is stale")
    args = parser.parse_args(argv)
    try:
        text = build(args.csv, args.rvu)
    except BuildError as exc:
        print(f"build_codes: {exc}", file=sys.stderr)
        return 1
    if args.check:
        current = args.out.read_text("utf-8") if args.out.exists() else ""
        if current != text:
            print(f"build_codes: {args.out} is stale; run scripts/build_codes.py", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

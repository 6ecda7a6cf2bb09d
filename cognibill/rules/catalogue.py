"""The rule catalogue: every claim rule's id, default severity, what it checks, fix and source.

Ids are stable: users pass them to ``--ignore`` and scripts match on them. ``below-minimum`` and
``unit-tie`` are emitted by the units engine (``cognibill.engine``); they are listed here so that
``cognibill rules`` shows, explains and ignores them like the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from cognibill.findings import Severity


@dataclass(frozen=True, slots=True)
class Rule:
    """One claim rule as ``cognibill rules`` shows it."""

    id: str
    severity: Severity
    """The default severity; ``severity_note`` says when it changes."""
    checks: str
    """What the rule checks, in one line."""
    hint: str
    """How to fix what it finds (messages may give a more specific hint)."""
    source: str
    """The RULES.md section the rule comes from."""
    example: str
    """A short session-file snippet that triggers the rule, with the finding it gives."""
    severity_note: str = ""
    engine: bool = False
    """Emitted by the units engine rather than by ``cognibill.rules``."""
    variants: tuple[tuple[str, str], ...] = ()
    """Hints for particular cases, by name (``hint_for``): a finding says the one that fits."""
    needs: tuple[str, ...] = ()
    """Input fields (``cognibill.readers.columns.FIELDS``) the rule reads: on a file that lacks
    one of them the rule is not run, and one ``checks-skipped`` note says so (issue 10)."""
    per_file: bool = False
    """Said once per input file, with a count, never per visit (a fact about the file)."""

    def hint_for(self, case: str) -> str:
        """The hint of a named case (see ``variants``)."""
        return dict(self.variants)[case]

    def to_dict(self) -> dict[str, str | bool]:
        return {
            "id": self.id,
            "severity": self.severity.value,
            "checks": self.checks,
            "hint": self.hint,
            "source": self.source,
            "example": self.example,
            "severity_note": self.severity_note,
            "engine": self.engine,
        }


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO

_VISIT = """[[visit]]
patient = "P-1001"
date = 2026-03-02
payer = "medicare"
provider = { id = "1528060837", discipline = "slp" }
plan_of_care = { PLAN }
"""
_PLAN = (
    'start = 2026-02-20, certified = 2026-02-25, through = 2026-05-20, diagnoses = ["I69.314"], '
    'goals = true, frequency = "2x/week", duration = "12 weeks"'
)
_VISIT = _VISIT.replace("PLAN", _PLAN)


def _example(extra: str, services: str, finding: str) -> str:
    """A session snippet: the standard visit, changed by ``extra`` lines (``key = value``
    replaces or adds a key, ``-key`` drops it), then ``services`` and the finding it gives."""
    lines = _VISIT.splitlines()
    for change in extra.strip().splitlines():
        drop = change.startswith("-")
        key = change.lstrip("-").split("=", 1)[0].strip()
        kept = [old for old in lines if old.split("=", 1)[0].strip() != key]
        if drop:
            lines = kept
        elif len(kept) < len(lines):
            lines = [change if old.split("=", 1)[0].strip() == key else old for old in lines]
        else:
            lines.append(change)
    visit = "\n".join(lines) + "\n"
    services = services.strip().replace("\n[[visit.service]]", "\n\n[[visit.service]]")
    return f"{visit}\n{services}\n# -> {finding}"


def _service(code: str, minutes: int, extra: str = "") -> str:
    more = f"\n{extra}" if extra else ""
    return f'[[visit.service]]\ncode = "{code}"\nminutes = {minutes}{more}\n'


_RULES: tuple[Rule, ...] = (
    Rule(
        "addon-without-primary",
        _E,
        "97130 (an add-on) on a visit that bills no 97129; the same for the add-on of every "
        "first-and-additional family (92618, 92608, 96113, 97546; RULES.md §4).",
        "Bill the first period as the family's first code ×1 (97129 for the first 15 cognitive "
        "minutes) and only the rest as its add-on.",
        "RULES.md §5",
        _example(
            "",
            _service("97130", 38, "units_billed = 2"),
            "error[addon-without-primary]: 97130 ×2 billed without 97129 ...",
        ),
        "error when billed units put 97130 on the claim without 97129; warning when 97130 "
        "was only entered without 97129 (the claim lines bill 97129 first).",
    ),
    Rule(
        "primary-more-than-once",
        _E,
        "97129 more than once on a date of service (units above 1, or two visits that day); a "
        "first-and-additional family's first code with units above 1 (RULES.md §4).",
        "97129 is reported once per day: bill 97129 ×1 and the rest as 97130; with two "
        "providers on one day only one of them bills 97129. A family's first code likewise: "
        "the further time as its add-on.",
        "RULES.md §5",
        _example(
            "",
            _service("97129", 38, "units_billed = 3"),
            "error[primary-more-than-once]: 97129 ×3 billed ...",
        ),
    ),
    Rule(
        "units-not-supported",
        _E,
        "Billed units that the minutes do not support (more: error; fewer: warning).",
        "Bill the units the minutes support, or correct the documented minutes.",
        "RULES.md §7",
        _example(
            "",
            _service("97129", 20, "units_billed = 2"),
            "error[units-not-supported]: 97129/97130 billed 2 unit(s), 20 min support 1 ...",
        ),
        "error when more units are billed than the minutes support; warning when fewer "
        "(with the money left behind when fees are known).",
        variants=(("fewer", "Bill the units the minutes support (RULES.md §7)."),),
    ),
    Rule(
        "below-minimum",
        _W,
        "A timed service that earned no unit.",
        "Document the minutes anyway; bill no unit for this code.",
        "RULES.md §1",
        _example(
            "",
            _service("97129", 7),
            "warning[below-minimum]: 97129/97130: 7 min earned no unit ...",
        ),
        "info when its minutes still counted toward the CMS visit total, warning otherwise.",
        engine=True,
        variants=(("alone", "8 minutes are needed for a unit."),),
    ),
    Rule(
        "unit-tie",
        _I,
        "Services with equal leftover minutes competed for the last unit.",
        "Either code may bill the unit; switch if your documentation favours another.",
        "RULES.md §2",
        _example(
            'provider = { id = "1528060837", discipline = "pt" }',
            _service("97110", 7) + _service("97112", 7),
            "info[unit-tie]: 97110 and 97112 tie with 7 min left over ...",
        ),
        engine=True,
    ),
    Rule(
        "deleted-code",
        _E,
        "A code used on or after its deletion date (97532, 97127, G0515).",
        "Bill cognitive intervention as 97129 (first 15 min) and 97130 (each further 15 min).",
        "RULES.md §5",
        _example(
            "", _service("G0515", 30), "error[deleted-code]: G0515 was deleted on 2020-01-01 ..."
        ),
    ),
    Rule(
        "unknown-code",
        _E,
        "A code that is not in the catalogue (typos such as 92129 or 91730).",
        "Check the code; `cognibill codes` lists the codes in scope.",
        "RULES.md §5",
        _example(
            "",
            _service("92129", 30),
            "error[unknown-code]: 92129 is not a code in scope; did you mean 97129? ...",
        ),
    ),
    Rule(
        "before-code-existed",
        _E,
        "A code billed before it existed (97129/97130 before 2020-01-01).",
        "Before 2020 cognitive intervention was 97127 or G0515 (2018-2019) or 97532 (before 2018).",
        "RULES.md §5",
        _example(
            "date = 2019-06-03\nplan_of_care = { start = 2019-05-20, certified = "
            '2019-05-22, through = 2019-08-10, diagnoses = ["I69.314"], goals = true, '
            'frequency = "2x/week", duration = "12 weeks" }',
            _service("97129", 30),
            "error[before-code-existed]: 97129 did not exist on 2019-06-03 ...",
        ),
    ),
    Rule(
        "group-session",
        _W,
        "Cognitive (or other) work with two or more patients at once billed as an individual code.",
        "Group work is 97150 (92508 for speech), 1 untimed unit per patient.",
        "RULES.md §5",
        _example(
            "",
            _service("97129", 45, "group = true"),
            "warning[group-session]: 97129 for a group bills as 97150 ×1 ...",
        ),
        "error when units were billed under the individual code; warning when the claim "
        "lines only switch it to 97150.",
    ),
    Rule(
        "unqualified-provider",
        _E,
        "A provider outside RULES.md §6 (therapy aides, other disciplines).",
        "Only time of a qualified provider (or a supervised PT/OT assistant) is billable.",
        "RULES.md §6",
        _example(
            'provider = { id = "A-7", discipline = "aide" }',
            _service("97129", 30),
            "error[unqualified-provider]: a therapy aide's 30 min never count ...",
        ),
    ),
    Rule(
        "slp-97000-series",
        _W,
        "An SLP billing 97000-series codes (and 97129/97130 where the payer refuses them).",
        "Many payers expect 92507 (untimed) from SLPs; check the payer's policy.",
        "RULES.md §6",
        _example("", _service("97110", 30), "warning[slp-97000-series]: SLP billing 97110 ..."),
        "for 97129/97130 only when the payer does not accept them from an SLP.",
    ),
    Rule(
        "discipline-modifier",
        _E,
        "GN/GO/GP missing, several, or not matching the discipline, when the payer requires it.",
        "Put exactly one of GP (PT), GO (OT), GN (SLP) on every line under a therapy plan.",
        "RULES.md §6",
        _example(
            "",
            _service("97129", 30, 'modifiers = ["GP"]'),
            "error[discipline-modifier]: 97129/97130 carries GP but the SLP's lines need GN ...",
        ),
        "checked on the modifiers the input lists; with none listed the claim lines add "
        "GN/GO/GP from the discipline and nothing is reported.",
    ),
    Rule(
        "assistant-modifier",
        _W,
        "CQ/CO when a PT/OT assistant furnished more than 10% of a service, and only then.",
        "Add CQ (PT assistant, with GP) or CO (OT assistant, with GO) when the assistant's share "
        "is over 10%; Medicare pays 85% of such lines.",
        "RULES.md §6",
        _example(
            'provider = { id = "1528060837", discipline = "pt" }',
            _service("97110", 38, 'assistant_minutes = 5\nmodifiers = ["GP"]'),
            "warning[assistant-modifier]: 97110: an assistant furnished 5 of 38 min (13.2%) ...",
        ),
        "error for CQ/CO with the wrong discipline; warning for a missing CQ/CO (the claim "
        "lines add it), an unneeded one, or assistant minutes where no modifier exists.",
    ),
    Rule(
        "no-plan-of-care",
        _E,
        "A therapy visit without a plan of care.",
        "Record the plan of care (start, certification, diagnoses, goals, frequency, duration).",
        "RULES.md §7",
        _example(
            "-plan_of_care",
            _service("97129", 30),
            "error[no-plan-of-care]: no plan of care on 2026-03-02 ...",
        ),
        "error for payers that require a plan of care (Medicare), warning elsewhere.",
    ),
    Rule(
        "plan-after-service",
        _E,
        "A plan of care that starts after the date of service.",
        "The plan must exist before treatment: correct its start date or the visit date.",
        "RULES.md §7",
        _example(
            "date = 2026-02-18",
            _service("97129", 30),
            "error[plan-after-service]: plan of care starts 2026-02-20, after ...",
        ),
        "error for payers that require a plan of care, warning elsewhere.",
    ),
    Rule(
        "certification-lapsed",
        _E,
        "A visit past the 90-day certification or plan end, or a certification later than 30 days.",
        "Recertify the plan (signed and dated by a physician or NPP) before continuing.",
        "RULES.md §7",
        _example(
            "date = 2026-05-21",
            _service("97129", 30),
            "error[certification-lapsed]: 2026-05-21 is day 91 of the plan ...",
        ),
        "error for Medicare and payers that require a plan of care, info elsewhere.",
    ),
    Rule(
        "plan-incomplete",
        _W,
        "A plan of care without diagnoses, goals, frequency or duration.",
        "Complete the plan: diagnoses, long-term goals, frequency and duration.",
        "RULES.md §7",
        _example(
            "plan_of_care = { start = 2026-02-20, certified = 2026-02-25, through = "
            '2026-05-20, diagnoses = ["I69.314"], goals = true }',
            _service("97129", 30),
            "warning[plan-incomplete]: plan of care lacks frequency, duration ...",
        ),
    ),
    Rule(
        "progress-report-due",
        _W,
        "Every 10th treatment day of a patient within the input.",
        "Write a progress report at least once every 10 treatment days.",
        "RULES.md §7",
        "Ten visits of patient P-1001 on ten different dates in one input\n"
        "# -> warning[progress-report-due]: P-1001: 2026-03-30 is treatment day 10 ...",
        "warning for payers that require a plan of care, info elsewhere.",
    ),
    Rule(
        "adaptive-behavior-conflict",
        _E,
        "97129/97130 in the same visit as adaptive behaviour treatment 97153/97155.",
        "CPT says not to report them together: bill one or the other.",
        "RULES.md §5",
        _example(
            "",
            _service("97129", 30) + _service("97153", 30),
            "error[adaptive-behavior-conflict]: 97129/97130 with 97153 ...",
        ),
    ),
    Rule(
        "diagnosis-excludes",
        _E,
        "R41.84- together with I69.x1- (ICD-10-CM Excludes1).",
        "For cognitive deficits after cerebrovascular disease use I69.x1- alone.",
        "RULES.md §9",
        _example(
            'diagnoses = ["R41.840", "I69.314"]',
            _service("97129", 30),
            "error[diagnosis-excludes]: R41.840 with I69.314 ...",
        ),
    ),
    Rule(
        "diagnosis-not-covered",
        _W,
        "No diagnosis of the visit is among the payer's covered diagnoses.",
        "Check the payer's coverage policy (many cover acquired brain injury only).",
        "RULES.md §9",
        _example(
            'payer = "acme"\ndiagnoses = ["F07.81"]',
            _service("97129", 30),
            "warning[diagnosis-not-covered]: payer acme covers S06 ... not F07.81",
        ),
    ),
    Rule(
        "daily-cap",
        _E,
        "More units of a code on a date than the payer's daily cap.",
        "Bill no more than the cap; document why if the payer allows an exception.",
        "RULES.md §5",
        _example(
            'payer = "acme"',
            _service("97129", 98),
            "error[daily-cap]: 97130 ×6 is above acme's daily cap of 4 ...",
        ),
    ),
    Rule(
        "telehealth-coverage",
        _W,
        "Telehealth (place of service 02/10, modifier 95/93): coverage varies by payer and date.",
        "Check that the payer covers these codes by telehealth on the date of service.",
        "RULES.md §6",
        _example(
            'place_of_service = "10"',
            _service("97129", 30),
            "warning[telehealth-coverage]: place of service 10 (telehealth) ...",
        ),
    ),
    Rule(
        "future-date",
        _E,
        "A date of service after today.",
        "Bill treatment only once it has been given; check the date.",
        "RULES.md §7",
        _example(
            "date = 2099-01-05",
            _service("97129", 30),
            "error[future-date]: date of service 2099-01-05 is after today ...",
        ),
    ),
    Rule(
        "kx-threshold",
        _W,
        "A Medicare line past the patient's yearly therapy threshold (PT+SLP together, OT "
        "apart), counted on allowed amounts across the input: KX is added.",
        "Bill KX only when the notes show the therapy is medically necessary.",
        "RULES.md §6",
        "A patient whose PT+SLP allowed amounts in 2026 pass $2,480 within the input:\n"
        "# -> warning[kx-threshold]: P-1001 2026 PT+SLP therapy reaches $2,495.12, past the "
        "KX threshold $2,480.00 ...",
        severity_note="Raised on the line that first passes the threshold; later lines carry KX.",
    ),
    Rule(
        "medical-review-threshold",
        _I,
        "A Medicare patient's yearly therapy total past $3,000: claims may be picked for "
        "targeted medical review.",
        "Make sure the notes support medical necessity.",
        "RULES.md §6",
        "A patient whose PT+SLP allowed amounts in 2026 pass $3,000 within the input:\n"
        "# -> info[medical-review-threshold]: P-1001 2026 PT+SLP therapy reaches $3,010.40 ...",
    ),
    Rule(
        "visit-field-conflict",
        _W,
        "Rows of one visit in an export that disagree on a field outside the visit key "
        "(payer, place of service, plan-of-care dates …): the visit uses its first row's value.",
        "Correct the export, or add the field to --visit-key to bill the rows as separate visits.",
        "RULES.md §2",
        "Two rows of P-1 on 2026-03-02 by one provider, one with Payer medicare, one commercial:\n"
        "# -> warning[visit-field-conflict]: payer differs between the rows of one visit ...",
        variants=(
            (
                "key field",
                "correct the export, or add {field} to --visit-key to bill the rows as separate "
                "visits",
            ),
            ("other field", "correct the export so that one visit has one value"),
        ),
    ),
    Rule(
        "rejected-row",
        _E,
        "An input row that could not be read (a bad date, code or minutes): it is in no claim.",
        "Fix the row in the export and run again.",
        "RULES.md §11",
        "A row of an export whose Duration is 'thirty':\n"
        "# -> error[rejected-row]: Duration: 'thirty' is not a number of minutes",
    ),
    Rule(
        "payer-fallback",
        _I,
        "A visit whose payer has no profile: it is checked and priced as --payer, else as "
        "commercial.",
        "Add a profile with this id (cognibill payers init), or pass --payer.",
        "RULES.md §8",
        'A visit with payer = "acme-health" and no profile of that id:\n'
        "# -> info[payer-fallback]: payer 'acme-health' has no profile: checked and priced as "
        "'commercial'.",
        per_file=True,
    ),
    Rule(
        "visit-incomplete",
        _E,
        "A visit that lost one of its rows to rejection: its other lines are not the whole visit.",
        "Fix the rejected line(s) it names and run again; do not bill the visit until then: its "
        "units and money would be those of part of the visit.",
        "RULES.md §11",
        "An export visit of 97113 24 min (line 4, minutes 'twenty') and 97116 23 min (line 5):\n"
        "# -> error[visit-incomplete]: visit is missing rejected line 4: not billed as whole",
    ),
    Rule(
        "checks-skipped",
        _I,
        "A column the file does not have: the checks that need it were not run (said once per "
        "file).",
        "Add the column to the export (or name it with --map FIELD=HEADER) to run these checks.",
        "RULES.md §11",
        "An export with no plan-of-care column:\n"
        "# -> info[checks-skipped]: no plan-of-care column: not run: no-plan-of-care, ...",
        per_file=True,
        variants=(
            (
                "minutes",
                "no minutes column (nor start and end times): the units are taken as billed",
            ),
            ("plan", "no plan-of-care column"),
            (
                "modifiers",
                "no modifier column: GN/GO/GP and CQ/CO are added from the discipline, the "
                "input's own are not checked",
            ),
            ("diagnoses", "no diagnosis column"),
        ),
    ),
    Rule(
        "default-payer",
        _I,
        "Visits that name no payer: checked and priced as the default payer (said once per file).",
        "Add a payer column to the export, or pass --payer to say which payer these visits are.",
        "RULES.md §8",
        "An export with no payer column:\n"
        "# -> info[default-payer]: 135 visits name no payer: checked and priced as 'medicare'",
        per_file=True,
    ),
    Rule(
        "code-not-in-catalogue",
        _W,
        "A well-formed code cognibill does not know: carried to the claim as given, its units not "
        "checked.",
        "Check the code and its units by hand; if it is a therapy code, ask for it to be added.",
        "RULES.md §4",
        "An export row with CPT 99213 and Units 1:\n"
        "# -> warning[code-not-in-catalogue]: 99213 is not in cognibill's catalogue: carried as "
        "given (1 unit), units not checked",
    ),
    Rule(
        "code-bundled",
        _W,
        "A code Medicare bundles (CMS status B): no separate payment on a Medicare claim.",
        "Leave the code off the Medicare claim (its payment is in the other services of the "
        "visit), or bill it to a payer that pays it.",
        "RULES.md §4",
        _example("", _service("97010", 10), "warning[code-bundled]: 97010 ..."),
        "warning for payers that follow Medicare; not emitted for others.",
    ),
    Rule(
        "code-not-payable",
        _W,
        "A code Medicare does not pay (CMS status I, N, X or E) on the date of service.",
        "Use the code Medicare accepts (97014 unattended e-stim: G0283), or bill another payer.",
        "RULES.md §4",
        _example("", _service("97014", 10), "warning[code-not-payable]: 97014 ..."),
        "warning for payers that follow Medicare; not emitted for others.",
    ),
    Rule(
        "already-billed",
        _E,
        "A line the ledger holds already (same patient, date, provider and code): billed before.",
        "Leave it off this claim, or, if this export corrects the earlier one, run with "
        "--replace to replace that visit's earlier lines.",
        "RULES.md §11",
        "Last month's export run again with --ledger:\n"
        "# -> error[already-billed]: 97110 on 2026-03-02 is in the ledger already (run 1, ...",
    ),
    Rule(
        "kx-late",
        _W,
        "Lines already billed without KX that a late entry (an earlier date) now puts past the "
        "KX threshold.",
        "Correct the earlier claims (add KX to the lines named) with the payer.",
        "RULES.md §11",
        "March's export run after April's, with --ledger:\n"
        "# -> warning[kx-late]: P1 2026 PT+SLP: earlier dates in this export move the KX ...",
        per_file=True,
    ),
    Rule(
        "invalid-minutes",
        _E,
        "Minutes that cannot be: negative, assistant minutes above the service's, over a day.",
        "Enter whole minutes of direct treatment, at most a day's worth per visit.",
        "RULES.md §1",
        _example(
            "",
            _service("97110", 30, "assistant_minutes = 45"),
            "error[invalid-minutes]: 97110: assistant minutes 45 exceed the 30 min ...",
        ),
    ),
)

_NEEDS: dict[str, tuple[str, ...]] = {
    # Rules that read minutes: a units-only export cannot show them (RULES.md §11).
    "units-not-supported": ("minutes",),
    "below-minimum": ("minutes",),
    "unit-tie": ("minutes",),
    "invalid-minutes": ("minutes",),
    # An absent column proves nothing (RULES.md §11): no plan-of-care column is no plan check.
    "no-plan-of-care": ("plan",),
    "plan-after-service": ("plan",),
    "certification-lapsed": ("plan",),
    "plan-incomplete": ("plan",),
    # Modifiers a file does not carry are not checked; the claim lines still get GN/GO/GP/CQ/CO.
    "discipline-modifier": ("modifiers",),
    "assistant-modifier": ("modifiers",),
    "diagnosis-excludes": ("diagnoses",),
    "diagnosis-not-covered": ("diagnoses",),
}
"""The input fields each rule reads, where a file may lack them (``Rule.needs``). ``plan`` is a
plan-of-care column of any kind; ``minutes`` is minutes or start and end times."""

_RULES = tuple(dataclasses.replace(rule, needs=_NEEDS.get(rule.id, ())) for rule in _RULES)

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}
"""Every rule by id, in catalogue order."""


def all_rules() -> tuple[Rule, ...]:
    """The catalogue in display order."""
    return _RULES


def find_rule(rule_id: str) -> Rule | None:
    """The rule with this id (case and surrounding spaces ignored), or None."""
    return RULES.get(rule_id.strip().lower())


def suggest_rule(rule_id: str) -> list[str]:
    """Rule ids close to a mistyped one, best first."""
    import difflib

    return difflib.get_close_matches(rule_id.strip().lower(), list(RULES), n=3, cutoff=0.6)


def unknown_rule_ids(ids: Iterable[str]) -> list[str]:
    """The ids in ``ids`` (e.g. from ``--ignore``) that name no rule."""
    return [i for i in ids if find_rule(i) is None]

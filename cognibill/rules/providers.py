"""Rules on who furnished the visit and the modifiers that follow from it (RULES.md §6)."""

from __future__ import annotations

from collections.abc import Mapping

from cognibill.findings import Finding, Severity
from cognibill.models import Discipline
from cognibill.rules.codes import ServiceInput
from cognibill.rules.context import PayerPolicy
from cognibill.rules.emit import Emitter

THERAPISTS = frozenset({Discipline.PT, Discipline.OT, Discipline.SLP})
ASSISTANTS = frozenset({Discipline.PTA, Discipline.OTA})
PRACTITIONERS = frozenset(
    {Discipline.PHYSICIAN, Discipline.PSYCHOLOGIST, Discipline.NP, Discipline.CNS, Discipline.PA}
)
"""Qualified to bill 97129/97130 outside a therapy plan of care, without GN/GO/GP."""
UNQUALIFIED = frozenset({Discipline.AIDE, Discipline.OTHER})

DISCIPLINE_MODIFIER = {
    Discipline.PT: "GP",
    Discipline.PTA: "GP",
    Discipline.OT: "GO",
    Discipline.OTA: "GO",
    Discipline.SLP: "GN",
}
ASSISTANT_MODIFIER = {
    Discipline.PT: "CQ",
    Discipline.PTA: "CQ",
    Discipline.OT: "CO",
    Discipline.OTA: "CO",
}
_OWN = {d: (DISCIPLINE_MODIFIER[d],) for d in THERAPISTS}
THERAPY_MODIFIERS = frozenset({"GP", "GO", "GN"})
ASSISTANT_MODIFIERS = frozenset({"CQ", "CO"})
_CMS_MODIFIERS = THERAPY_MODIFIERS | ASSISTANT_MODIFIERS

_NAMES = {
    Discipline.PT: "PT",
    Discipline.OT: "OT",
    Discipline.SLP: "SLP",
    Discipline.PTA: "PT assistant",
    Discipline.OTA: "OT assistant",
    Discipline.PHYSICIAN: "physician",
    Discipline.PSYCHOLOGIST: "psychologist",
    Discipline.NP: "nurse practitioner",
    Discipline.CNS: "clinical nurse specialist",
    Discipline.PA: "physician assistant",
    Discipline.AIDE: "therapy aide",
    Discipline.OTHER: "provider of another discipline",
}


def discipline_name(discipline: Discipline | None) -> str:
    return "provider of unknown discipline" if discipline is None else _NAMES[discipline]


def check_provider(
    emit: Emitter,
    discipline: Discipline | None,
    services: Mapping[str, ServiceInput],
    payer: PayerPolicy,
) -> None:
    """``unqualified-provider`` and ``slp-97000-series``."""
    if discipline is None or not services:
        return
    if discipline in UNQUALIFIED:
        minutes = sum(s.minutes for s in services.values())
        codes = ", ".join(s.facts.display for s in services.values())
        if discipline is Discipline.AIDE:
            what = f"a therapy aide's {minutes} min never count as treatment time"
        else:
            what = f"a {_NAMES[discipline]} is not qualified under RULES.md §6 ({minutes} min)"
        emit.add(
            "unqualified-provider",
            f"{what}: {codes} cannot be billed for this visit.",
            hint="Bill only time of a PT, OT, SLP, physician, psychologist, NP, CNS or PA, or a "
            "supervised PT/OT assistant (with CQ/CO).",
        )
    elif discipline is Discipline.SLP:
        for service in services.values():
            facts = service.facts
            if not facts.series_97000 or facts.therapy is None:
                continue
            if facts.cognitive:
                if payer.accepts_slp_cognitive:
                    continue
                message = (
                    f"{payer.id} does not accept 97129/97130 from an SLP "
                    f"({service.minutes} min); bill 92507 (untimed, 1 unit) instead."
                )
            else:
                instead = "92508" if facts.group else "92507"
                message = (
                    f"SLP billing {facts.code} ({service.minutes} min): some payers question "
                    f"97000-series codes from SLPs; {instead} (untimed) is the usual SLP code."
                )
            emit.add("slp-97000-series", message, code=facts.code)


def needs_discipline_modifier(
    service: ServiceInput, discipline: Discipline | None, under_plan: bool
) -> bool:
    """Whether a line needs GN/GO/GP (RULES.md §6): every line of a therapist or assistant;
    a physician, NP, CNS, PA or psychologist only for "always therapy" codes or under a plan."""
    therapy = service.facts.therapy
    if therapy is None or discipline in UNQUALIFIED:
        return False
    if discipline in THERAPISTS or discipline in ASSISTANTS:
        return True
    return therapy == "always" or under_plan


def line_modifiers(
    emit: Emitter,
    service: ServiceInput,
    discipline: Discipline | None,
    *,
    under_plan: bool,
    payer: PayerPolicy,
) -> tuple[str, ...]:
    """The modifiers the claim lines of ``service`` carry, reporting ``discipline-modifier``
    and ``assistant-modifier``.

    For payers that require discipline modifiers the tool puts GN/GO/GP from the discipline and
    CQ/CO when an assistant furnished more than 10% of the service's minutes; every other
    modifier the input gave (59, 95, KX ...) is kept. Other payers get the input's modifiers.
    """
    given = service.modifiers
    if not payer.requires_discipline_modifiers:
        return given
    if not given and not service.assistant_minutes and discipline in THERAPISTS:
        # The common case: a therapist's own minutes, no modifiers entered.
        return _OWN[discipline] if service.facts.therapy is not None else ()
    # Everything below depends on these alone (the facts through the code), and they repeat
    # across a batch: the answer and its findings are remembered.
    key = (
        service.facts.code,
        discipline,
        under_plan,
        given,
        service.assistant_minutes,
        service.minutes,
        emit.ignore,
    )
    known = _DERIVED.get(key)
    if known is None:
        own = Emitter(emit.ignore)
        known = (_derive(own, service, discipline, under_plan), tuple(own.findings))
        if len(_DERIVED) >= _DERIVED_MAX:
            _DERIVED.clear()
        _DERIVED[key] = known
    if known[1]:
        emit.findings.extend(known[1])
    return known[0]


_DERIVED: dict[tuple[object, ...], tuple[tuple[str, ...], tuple[Finding, ...]]] = {}
_DERIVED_MAX = 8192


def _derive(
    emit: Emitter, service: ServiceInput, discipline: Discipline | None, under_plan: bool
) -> tuple[str, ...]:
    """``line_modifiers`` for a payer that requires discipline modifiers."""
    given = service.modifiers
    needs = needs_discipline_modifier(service, discipline, under_plan)
    therapy_mods = _therapy_modifier(emit, service, discipline) if needs else None
    if therapy_mods is None:
        therapy_mods = tuple(m for m in given if m in THERAPY_MODIFIERS)
    assistant_mods = _assistant_modifier(emit, service, discipline)
    if not given:
        return therapy_mods + assistant_mods
    others = tuple(m for m in given if m not in _CMS_MODIFIERS)
    return therapy_mods + assistant_mods + others


def _therapy_modifier(
    emit: Emitter, service: ServiceInput, discipline: Discipline | None
) -> tuple[str, ...] | None:
    """GN/GO/GP for a line that needs one: the discipline's, or None to keep the input's (a
    physician, NP, CNS, PA or psychologist under a plan: the plan's discipline is not known)."""
    given = service.modifiers
    derived = DISCIPLINE_MODIFIER.get(discipline) if discipline is not None else None
    stated = [m for m in given if m in THERAPY_MODIFIERS] if given else []
    code = service.facts.display
    who = discipline_name(discipline)
    if len(stated) > 1:
        emit.add(
            "discipline-modifier",
            f"{code} carries {' and '.join(stated)}: a line takes exactly one of GN/GO/GP"
            + (f"; the {who}'s lines take {derived}." if derived else "."),
            code=service.facts.code,
        )
    elif derived is not None and stated and stated[0] != derived:
        emit.add(
            "discipline-modifier",
            f"{code} carries {stated[0]} but the {who}'s lines need {derived}; the claim lines "
            f"use {derived}.",
            code=service.facts.code,
        )
    elif derived is not None and given and not stated:
        emit.add(
            "discipline-modifier",
            f"{code} lists {', '.join(given)} but no GN/GO/GP; the {who}'s lines need "
            f"{derived}; the claim lines add it.",
            code=service.facts.code,
        )
    elif derived is None and not stated:
        emit.add(
            "discipline-modifier",
            f"{code} needs GP, GO or GN under a therapy plan of care, and a {who} gives no way "
            "to tell which: name the plan's discipline with a modifier.",
            code=service.facts.code,
        )
    if derived is None:
        return None
    return (derived,)


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "0"
    text = f"{part * 100 / whole:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _assistant_modifier(
    emit: Emitter, service: ServiceInput, discipline: Discipline | None
) -> tuple[str, ...]:
    """CQ/CO when a PT/OT assistant furnished more than 10% of the minutes (RULES.md §6).

    A PT or OT assistant as the rendering provider furnished all of the minutes; otherwise
    ``assistant_minutes`` says how many. Exactly 10% needs no modifier, anything above does.
    """
    minutes = service.minutes
    assisted = minutes if discipline in ASSISTANTS else service.assistant_minutes
    given = service.modifiers
    stated = tuple(m for m in given if m in ASSISTANT_MODIFIERS) if given else ()
    if not assisted and not stated:
        return ()
    due = assisted * 10 > minutes
    code = service.facts.display
    share = f"{assisted} of {minutes} min ({_percent(assisted, minutes)}%)"
    if discipline is None:
        if due and not stated:
            emit.add(
                "assistant-modifier",
                f"{code}: an assistant furnished {share}, over 10%, but without a discipline "
                "the line cannot tell CQ (PT) from CO (OT).",
                code=service.facts.code,
            )
        return stated
    expected = ASSISTANT_MODIFIER.get(discipline)
    who = discipline_name(discipline)
    wrong = [m for m in stated if m != expected]
    for mod in wrong:
        right = f"; a {who}'s assistant takes {expected}" if expected else ""
        kind, partner = ("PT", "GP") if mod == "CQ" else ("OT", "GO")
        emit.add(
            "assistant-modifier",
            f"{code} carries {mod}, which is for {kind} assistants (with {partner}), on a "
            f"{who}'s line{right}.",
            severity=Severity.ERROR,
            code=service.facts.code,
        )
    if expected is None:
        if due and not wrong:
            emit.add(
                "assistant-modifier",
                f"{code}: an assistant furnished {share}, but no assistant modifier exists for "
                f"a {who}'s line; check the payer's rules on assistants.",
                code=service.facts.code,
                hint="CQ/CO exist only for PT and OT assistants; there is no SLP-assistant "
                "modifier.",
            )
        return ()
    if due:
        if expected not in stated:
            emit.add(
                "assistant-modifier",
                f"{code}: an assistant furnished {share}, over 10%: the line needs {expected} "
                "(Medicare pays 85% of it); the claim lines add it.",
                code=service.facts.code,
            )
        return (expected,)
    if expected in stated:
        emit.add(
            "assistant-modifier",
            f"{code} carries {expected} but the assistant furnished {share}, not over 10%: "
            f"{expected} is due only above 10% and cuts the payment to 85%.",
            code=service.facts.code,
            hint=f"Enter assistant_minutes, or drop {expected}.",
        )
        return (expected,)
    return ()

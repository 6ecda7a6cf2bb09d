"""Parse command-line entries (``38``, ``97112=24``) into engine entries."""

from __future__ import annotations

from collections.abc import Iterable

from cognibill.catalogue import COGNITIVE_PRIMARY, Catalogue, load_catalogue
from cognibill.engine.units import MAX_MINUTES, Entry
from cognibill.errors import EntryError

_FORM = "expected minutes (38) or CODE=MINUTES (97112=24)"


def parse_minutes(text: str, entry: str) -> int:
    """Whole minutes from ``text``; errors name the whole ``entry``."""
    value = text.strip()
    if not value:
        raise EntryError(f"{entry}: minutes are missing", hint=_FORM)
    if not value.isascii():
        raise EntryError(f"{entry}: minutes must be written with the digits 0-9", hint=_FORM)
    try:
        minutes = int(value)
    except ValueError:
        if _is_number(value):
            raise EntryError(f"{entry}: minutes must be whole minutes, not {value}") from None
        raise EntryError(f"{entry}: {value!r} is not a number of minutes", hint=_FORM) from None
    if minutes < 0:
        raise EntryError(f"{entry}: minutes cannot be negative")
    if minutes > MAX_MINUTES:
        raise EntryError(f"{entry}: {minutes} minutes is more than a day ({MAX_MINUTES} minutes)")
    return minutes


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_entry(text: str, catalogue: Catalogue) -> Entry:
    """One entry: bare minutes are the cognitive service (97129/97130)."""
    raw = text.strip()
    if raw.startswith("--"):
        raise EntryError(f"no such option: {raw}", hint="cognibill units --help lists the options")
    if "=" not in raw:
        if raw and (raw[0].isdigit() or raw[0] in "+-.") and _is_number(raw):
            return Entry(COGNITIVE_PRIMARY, parse_minutes(raw, text))
        raise EntryError(f"{text}: {_FORM}")
    code_text, _, minutes_text = raw.partition("=")
    code = code_text.strip().upper()
    if not code:
        raise EntryError(f"{text}: the code is missing", hint=_FORM)
    info = catalogue.get(code)
    if info is None:
        near = catalogue.suggest(code)
        hint = (
            f"did you mean {' or '.join(near)}?"
            if near
            else "cognibill codes lists the codes in scope"
        )
        raise EntryError(f"{text}: unknown code {code}", hint=hint)
    if info.deleted_on is not None:
        instead = "/".join(info.replaced_by) or "a current code"
        raise EntryError(
            f"{text}: {code} was deleted on {info.deleted_on.isoformat()}; bill {instead} instead "
            "(RULES.md §5)"
        )
    return Entry(info.code, parse_minutes(minutes_text, text))


def parse_entries(texts: Iterable[str], catalogue: Catalogue | None = None) -> list[Entry]:
    """All entries of one visit; a code given twice is an error (add the minutes up instead)."""
    catalogue = catalogue or load_catalogue()
    seen: dict[str, str] = {}
    out: list[Entry] = []
    for text in texts:
        entry = parse_entry(text, catalogue)
        if entry.code in seen:
            raise EntryError(
                f"{text}: {entry.code} is already given as {seen[entry.code]!r}",
                hint="give each code once, with its total minutes",
            )
        seen[entry.code] = text
        out.append(entry)
    if not out:
        raise EntryError("no entries: give minutes (38) or CODE=MINUTES (97112=24)")
    return out

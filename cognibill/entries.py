"""Parse command-line entries (``38``, ``97112=24``) into engine entries.

Minutes are read as an export's minutes cells are, by :func:`cognibill.minutes.read_minutes`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cognibill.catalogue import COGNITIVE_PRIMARY, Catalogue, load_catalogue
from cognibill.engine.units import Entry
from cognibill.errors import EntryError
from cognibill.minutes import MinutesError, read_minutes
from cognibill.quoting import quoted

_FORM = "expected minutes (38) or CODE=MINUTES (97112=24)"

_NEEDS_FORM = re.compile(r"empty|no minus sign|hours:minutes|is not a number")
"""Reasons that the expected forms of an entry answer."""

_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
"""What a terminal acts on or hides rather than shows: C0 and C1 controls (ESC, BEL, CSI, a
newline), DEL, and the invisible format and bidirectional characters (a right-to-left override
makes ``P-1001`` read as another id)."""


def escape_controls(text: str) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\u202e``), for
    messages and tables: the one place user text is made safe to show (no I/O, no Rich)."""
    if text.isprintable():
        return text
    return _CONTROL.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str, limit: int = 40) -> str:
    """An entry as a message shows it: control characters escaped (``\\x1b``), cut short."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escape_controls(text)


def parse_minutes(text: str, entry: str) -> int:
    """Whole minutes from ``text`` (:func:`cognibill.minutes.read_minutes`); errors name the
    whole ``entry``."""
    try:
        return read_minutes(text)
    except MinutesError as exc:
        hint = _FORM if _NEEDS_FORM.search(str(exc)) else None
        raise EntryError(f"{shown(entry)}: {exc}", hint=hint) from None


def _looks_like_minutes(text: str) -> bool:
    """A bare entry meant as minutes: it starts like a number (in any script's digits)."""
    return bool(text) and (text[0].isdecimal() or text[0] in "+-.")


def parse_entry(text: str, catalogue: Catalogue) -> Entry:
    """One entry: bare minutes are the cognitive service (97129/97130)."""
    raw = text.strip()
    name = shown(text)
    if raw.startswith("--"):
        raise EntryError(
            f"no such option: {shown(raw)}", hint="cognibill units --help lists the options"
        )
    if "=" not in raw:
        if _looks_like_minutes(raw):
            return Entry(COGNITIVE_PRIMARY, parse_minutes(raw, text))
        raise EntryError(f"{name}: {_FORM}")
    code_text, _, minutes_text = raw.partition("=")
    code = code_text.strip().upper()
    if not code:
        raise EntryError(f"{name}: the code is missing", hint=_FORM)
    info = catalogue.get(code)
    if info is None:
        code = shown(code)
        near = catalogue.suggest(code)
        hint = (
            f"did you mean {' or '.join(near)}?"
            if near
            else "cognibill codes lists the codes in scope"
        )
        raise EntryError(f"{name}: unknown code {code}", hint=hint)
    if info.deleted_on is not None:
        instead = "/".join(info.replaced_by) or "a current code"
        raise EntryError(
            f"{name}: {code} was deleted on {info.deleted_on.isoformat()}; bill {instead} instead "
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
                f"{shown(text)}: {entry.code} is already given as {quoted(seen[entry.code])}",
                hint="give each code once, with its total minutes",
            )
        seen[entry.code] = text
        out.append(entry)
    if not out:
        raise EntryError("no entries: give minutes (38) or CODE=MINUTES (97112=24)")
    return out

"""The rules document that every "RULES.md §N" cites: read whole, or one section at a time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cognibill.errors import EntryError

_HEADING = re.compile(r"^## (\d+)\. (.+)$")
_REF = re.compile(r"^\s*§?\s*(\d+)(?:\.\d+)?\.?\s*$")
_CITED = re.compile(r"§\s*(\d+)(?:\.\d+)?(?:\s*[-–]\s*§?\s*(\d+))?")


@dataclass(frozen=True)
class Section:
    """One numbered section: its number (``"2"``), its title and its text, heading included."""

    number: str
    title: str
    text: str


@cache
def document() -> str:
    """The whole rules document (``cognibill/data/RULES.md``), as shipped."""
    path = Path(__file__).parent / "data" / "RULES.md"
    if path.is_file():  # a plain install: skip importlib.resources' start-up cost
        return path.read_text("utf-8")
    from importlib import resources

    return resources.files("cognibill").joinpath("data/RULES.md").read_text("utf-8")


@cache
def sections() -> tuple[Section, ...]:
    """The numbered sections in document order; each runs to the next ``## `` heading."""
    found: list[Section] = []
    number = title = None
    lines: list[str] = []
    for line in [*document().splitlines(), "## end"]:
        if line.startswith("## "):
            if number is not None and title is not None:
                found.append(Section(number, title, "\n".join(lines).strip("\n") + "\n"))
            match = _HEADING.match(line)
            number, title = (match.group(1), match.group(2)) if match else (None, None)
            lines = []
        lines.append(line)
    return tuple(found)


def section_numbers() -> tuple[str, ...]:
    """The section numbers the document has, in order (``("1", "2", …, "11")``)."""
    return tuple(s.number for s in sections())


def find_section(ref: str) -> Section:
    """The section ``ref`` names: ``"2"``, ``"§2"`` or ``"§2.5"`` (an item of §2: all of §2).

    Raises :class:`EntryError` (exit 2), listing the valid sections, when there is no such one.
    """
    match = _REF.match(ref)
    for section in sections():
        if match and section.number == str(int(match.group(1))):
            return section
    valid = ", ".join(f"§{n}" for n in section_numbers())
    raise EntryError(f"RULES.md has no section {ref!r}", hint=f"sections: {valid}")


def cited_sections(source: str) -> tuple[str, ...]:
    """The document's sections a citation such as ``"RULES.md §6, §8"`` or ``"§1-§3"`` names,
    in order, without repeats; numbers the document does not have are left out."""
    have = section_numbers()
    wanted: list[str] = []
    for match in _CITED.finditer(source):
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        for n in range(first, max(first, last) + 1):
            if str(n) in have and str(n) not in wanted:
                wanted.append(str(n))
    return tuple(wanted)

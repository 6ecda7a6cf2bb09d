"""Vendor export shapes: which EHR report a file is, from its header alone (issue 10).

The shapes are data (``cognibill/data/shapes.toml``): each names the vendor's report, the
headers that identify it (its *signature*) and the header of each field in it. A file whose
header holds a shape's whole signature is read as that shape (the longest signature wins, then
the first listed); ``--from NAME`` forces one. A shape only says which header holds which field
(and, for a few coded columns, what a value means): parsing and checking are those of every
export. Pure: no I/O beyond reading the packaged data file once.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from cognibill.errors import EntryError
from cognibill.readers.columns import FIELDS, normalise


@dataclass(frozen=True, slots=True)
class Shape:
    """One vendor's export, as ``cognibill formats`` lists it."""

    name: str
    vendor: str
    signature: tuple[str, ...]
    columns: Mapping[str, str]
    """Field -> the header that holds it in this shape."""
    notes: str = ""
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Field -> cell value -> what it means (``insurance_type_id`` 3 is ``medicare``)."""

    def matches(self, header: Sequence[str]) -> bool:
        """Whether every signature header is in ``header``."""
        have = {normalise(h) for h in header}
        return all(normalise(s) in have for s in self.signature)

    def column_map(self, header: Sequence[str]) -> dict[str, str]:
        """The shape's columns that ``header`` has, as a ``--map`` would name them."""
        have = {normalise(h) for h in header}
        return {f: h for f, h in self.columns.items() if normalise(h) in have}

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "signature": list(self.signature),
            "columns": dict(self.columns),
            "notes": self.notes,
        }


@cache
def all_shapes() -> tuple[Shape, ...]:
    """Every known shape, in the data file's order."""
    text = resources.files("cognibill").joinpath("data/shapes.toml").read_text("utf-8")
    shapes = []
    for name, raw in tomllib.loads(text)["shape"].items():
        columns = dict(raw.get("columns", {}))
        unknown = sorted(set(columns) - set(FIELDS))
        if unknown:  # a mistake in the data file, caught by the tests
            raise ValueError(f"shape {name}: unknown fields {unknown}")
        shapes.append(
            Shape(
                name=name,
                vendor=raw["vendor"],
                signature=tuple(raw["signature"]),
                columns=columns,
                notes=raw.get("notes", ""),
                values={f: dict(v) for f, v in raw.get("values", {}).items()},
            )
        )
    return tuple(shapes)


def detect(header: Sequence[str]) -> Shape | None:
    """The shape of a file with this header, or None (a generic export)."""
    found = [s for s in all_shapes() if s.matches(header)]
    if not found:
        return None
    return max(found, key=lambda s: len(s.signature))


def shape_named(name: str) -> Shape:
    """The shape ``--from NAME`` names; an unknown name is an ``EntryError`` (exit 2)."""
    wanted = name.strip().lower()
    for shape in all_shapes():
        if shape.name == wanted:
            return shape
    names = [s.name for s in all_shapes()]
    near = difflib.get_close_matches(wanted, names, n=1)
    hint = f"did you mean {near[0]}?" if near else f"known: {', '.join(names)}"
    raise EntryError(f"--from {name}: no such export shape", hint=hint)

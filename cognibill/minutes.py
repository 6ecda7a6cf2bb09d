"""Whole minutes as people write them: the one reading of a minutes value, for a command-line
entry (``cognibill units 38``) and an export's minutes cell alike.

``38``, ``38.0``, ``38 min``, ``+38``, with any script's decimal digits (``٣٨``, fullwidth
``３８``) and whitespace of any kind around; never ``1_000``, ``1e3``, a fraction, a sign other
than ``+``, or more than a day. Light on purpose (``re`` only): ``cognibill units`` imports it
without any reader.
"""

from __future__ import annotations

import re

from cognibill.engine.units import MAX_MINUTES
from cognibill.quoting import quoted

_SUFFIX = re.compile(r"\s*(?:mins?|minutes)\.?$", re.IGNORECASE)
WHOLE = re.compile(r"\+?(\d+)(?:\.0*)?")
"""A whole number (``38``, ``+38``, ``38.0``): any whole count is read with it."""
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
"""Any decimal number, signed: what a value that is not whole but is a number matches."""
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_NEGATIVE_ZERO = re.compile(r"-(?:0+\.?0*|\.0+)", re.ASCII)

MOST_DIGITS = 18
"""Digits (after leading zeros) a value may have before it is converted: a day needs 4, and
Python refuses to convert more than 4,300."""


class MinutesError(ValueError):
    """A value that is not whole minutes; the message is the reason (no prefix, no hint)."""


def read_minutes(text: str) -> int:
    """Whole minutes, 0 to a day, from ``text``; raises :class:`MinutesError`."""
    value = _SUFFIX.sub("", text.strip())
    if not value:
        raise MinutesError("the minutes are empty")
    found = WHOLE.fullmatch(value)
    if found is None:
        if _NEGATIVE_ZERO.fullmatch(value):
            raise MinutesError("minutes take no minus sign; write 0")
        if NUMBER.fullmatch(value):
            if value.startswith("-"):
                raise MinutesError(f"minutes cannot be negative ({value})")
            raise MinutesError(f"minutes must be whole minutes, not {value}")
        if _CLOCK.fullmatch(value):
            raise MinutesError(f"{quoted(value)} looks like hours:minutes; give whole minutes")
        raise MinutesError(f"{quoted(value)} is not a number of minutes")
    digits = found.group(1).lstrip("0")
    if len(digits) > MOST_DIGITS:
        raise MinutesError(
            f"a number of {len(digits):,} digits is more than a day ({MAX_MINUTES} minutes)"
        )
    minutes = int(found.group(1))
    if minutes > MAX_MINUTES:
        raise MinutesError(f"{minutes} minutes is more than a day ({MAX_MINUTES} minutes)")
    return minutes

"""A value quoted for a message: ``repr`` (which escapes what a terminal would act on), cut
short, so that a huge cell (an unclosed quote can swallow a whole file) never becomes a huge
message, finding or output cell."""

from __future__ import annotations

QUOTE_LIMIT = 40
"""Characters of a value a message quotes at most."""


def quoted(value: str, limit: int = QUOTE_LIMIT) -> str:
    """``'value'``, cut to ``limit`` characters with ``…``."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")

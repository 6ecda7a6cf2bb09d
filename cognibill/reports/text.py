"""How the report's renderers write its figures: dollars from cents, means, severities."""

from __future__ import annotations

from decimal import Decimal


def dollars(cents: int | None) -> str:
    """``123456`` → ``$1,234.56``; None → empty."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def span(low: int | None, high: int | None) -> str:
    """An amount or a range of two: ``$35.00`` or ``$35.00–$55.00``."""
    if low is None or high is None:
        return ""
    return dollars(low) if low == high else f"{dollars(low)}–{dollars(high)}"


def compact(cents: int) -> str:
    """An amount for a narrow column: exact below $10,000, else ``$65.3K``, ``$41.9M``."""
    if abs(cents) < 1_000_000:
        return dollars(cents)
    amount = Decimal(cents) / 100
    for size, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "K")):
        if abs(amount) >= size:
            return f"${(amount / size).quantize(Decimal('0.1'))}{suffix}"
    return dollars(cents)  # pragma: no cover - below $1,000 was shown exactly above


def compact_span(low: int | None, high: int | None) -> str:
    """``span`` with :func:`compact` amounts."""
    if low is None or high is None:
        return ""
    return compact(low) if low == high else f"{compact(low)}–{compact(high)}"


def mean(total: int, count: int, places: int = 1) -> str:
    """``total / count`` to ``places`` decimals, worked out in ``Decimal`` (no float)."""
    if count == 0:
        return ""
    step = Decimal(1).scaleb(-places)
    return str((Decimal(total) / Decimal(count)).quantize(step))


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 visit``, ``2 visits``, with thousands separators."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def code_label(code: str) -> str:
    """Our own short label of a code (the catalogue's; never AMA descriptor text)."""
    from cognibill.catalogue import load_catalogue

    info = load_catalogue().get(code)
    return "" if info is None else info.label

"""Money as text, from integer cents, as polars expressions (the one formatter of the engine).

``amount`` gives ``1234.56`` (what CSV and JSON carry), ``dollars`` gives ``$1,234.56`` (what
messages say), ``span`` gives ``21.67`` or ``105.00-165.00`` for a range. Python's
``f"{Decimal:,.2f}"`` is the reference: the same text for every integer number of cents.
"""

from __future__ import annotations

import polars as pl


def _expr(value: str | pl.Expr) -> pl.Expr:
    return pl.col(value) if isinstance(value, str) else value


def _pad(expr: pl.Expr, width: int) -> pl.Expr:
    return expr.cast(pl.String).str.zfill(width)


def amount(cents: str | pl.Expr) -> pl.Expr:
    """``-0.05``, ``1234.56``: cents as a decimal amount with two places."""
    c = _expr(cents)
    units = c.abs()
    sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("{}{}.{}", sign, (units // 100).cast(pl.String), _pad(units % 100, 2))


def dollars(cents: str | pl.Expr) -> pl.Expr:
    """``$1,234.56`` (``$-1.00`` below zero, as Python's format writes it)."""
    c = _expr(cents)
    units = c.abs()
    whole = units // 100
    text: pl.Expr = whole.cast(pl.String)
    for power in (1_000, 1_000_000, 1_000_000_000, 1_000_000_000_000, 1_000_000_000_000_000):
        text = pl.when(whole >= power).then(_joined(whole, power)).otherwise(text)
    sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.format("${}{}.{}", sign, text, _pad(units % 100, 2))


def _joined(whole: pl.Expr, power: int) -> pl.Expr:
    """``whole`` with thousands separators, knowing it is at least ``power`` (a power of 1000)."""
    parts = [(whole // power).cast(pl.String)]
    step = power // 1000
    while step >= 1:
        parts.append(_pad((whole // step) % 1000, 3))
        step //= 1000
    return pl.concat_str(parts, separator=",")


def span(low: str | pl.Expr, high: str | pl.Expr) -> pl.Expr:
    """``21.67`` for an exact amount, ``105.00-165.00`` for a range; null when unknown."""
    lo, hi = _expr(low), _expr(high)
    return pl.when(lo == hi).then(amount(lo)).otherwise(pl.format("{}-{}", amount(lo), amount(hi)))

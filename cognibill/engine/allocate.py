"""The units stage of the columnar engine: each visit's services become billing lines with units.

RULES.md §1 (units from minutes), §2 (CMS total time: pool, then give the units owed to the largest
leftovers, ties reported), §3 (AMA per code, and per code capped at the CMS total), §4 (untimed
and per-hour codes), §5 (97129/97130: one service billed 97129 x1 + 97130 x(N-1)). All visits at
once, in columns; the results equal the old per-visit ``cognibill.engine.units.compute_units``.

``allocate(services, rules, unit_values=None) -> Allocation``

- ``services``: a ``SERVICES`` frame; reads ``visit``, ``service``, ``kind``, ``minutes`` and
  ``order`` (position of the service in code order within its visit).
- ``rules``: ``visit``, ``rule`` (``cms``, ``ama`` or ``ama-capped``), one row per visit. Every
  visit of ``services`` must have one; a visit with no service gets totals only.
- ``unit_values``: optional ``visit``, ``code``, ``value_cents`` (Int64, null = unknown), at most
  one row per visit and code: what one unit of ``code`` pays on that visit. It breaks ties
  (§2.5: the unit that pays more, or for the capped rule's take-back less, then code order; only
  when every tied service's unit has a value and they are not all equal) and prices the
  ``below-minimum`` message ("One unit of 97110 pays about $31.40.").

``Allocation`` holds four frames:

- ``lines`` (``LINES`` schema): one row per billing line, 0-unit lines too, by visit then line
  order (services in code order; the cognitive pair as 97129, then 97130 when it has 2+ units).
  ``blocks``, ``leftover``, ``extra`` and ``removed`` are the service's (the pair's two lines
  repeat them); ``rank`` is the service's place in the allocation (CMS: 1 = first to get a unit
  owed; ama-capped: 1 = first to lose one) when there was one and the service competed in it,
  else null; ``tied`` marks the candidates of a tie. Modifiers and money are null.
- ``ties`` (``TIES``): at most one per visit, as the old ``Tie``: the tied leftover, the
  candidates in code order, the chosen in the order chosen, units contested, reason, action.
- ``totals`` (``TOTALS``): one row per visit of ``rules``, as the old ``UnitResult``: total timed
  minutes and units, ``next_unit_at`` (null past a day or with no timed service) and
  ``spare_minutes``.
- ``findings`` (``FINDINGS``): the stage's own: ``unit-tie`` and ``below-minimum`` (ties first,
  then services in code order), and ``invalid-minutes`` for a visit of more than a day of timed
  minutes, which gets no lines and the totals of an empty visit. ``hint`` carries the old
  engine's hint where it differs from the catalogue's (both engine findings), else null.

How: services sorted by (visit, code order) form one run per visit; sums per visit are running
sums differenced at run ends, minima a running minimum on a key that restarts per run. The
competing services are sorted on one integer (visit, signed leftover, code order) and ranked
within their run; the first ``count`` get (or lose) the unit, and a tie is the leftover at rank
``count`` equal to the next one. Only tied visits, few, are looked at further (unit values).
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import polars as pl

from cognibill.catalogue import COGNITIVE, COGNITIVE_ADDON, COGNITIVE_PRIMARY, Kind, load_catalogue
from cognibill.engine.frames import FINDINGS, LINES, conform
from cognibill.engine.money import dollars
from cognibill.engine.units import POOLED_KINDS
from cognibill.engine.visits import per_value
from cognibill.rules.catalogue import RULES

UNIT_MINUTES = 15
MIDPOINT = 8
MAX_MINUTES = 24 * 60
"""No visit can hold more than a day of timed minutes."""
PAIR = f"{COGNITIVE_PRIMARY}/{COGNITIVE_ADDON}"
"""How findings and ties name the cognitive service."""

CMS = "cms"
AMA = "ama"
AMA_CAPPED = "ama-capped"
_LONG_NAME = {
    CMS: "CMS total-time rule",
    AMA: "AMA per-code rule",
    AMA_CAPPED: "AMA per-code rule capped at the CMS total",
}

TIES: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "leftover": pl.Int32,
    "candidates": pl.List(pl.String),
    "chosen": pl.List(pl.String),
    "units": pl.Int32,
    "reason": pl.String,
    "action": pl.String,
}
"""One row per tie: services with equal leftovers that competed for fewer units than they were."""

TOTALS: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "rule": pl.String,
    "total_timed_minutes": pl.Int32,
    "total_timed_units": pl.Int32,
    "next_unit_at": pl.Int32,
    # Total timed minutes at which one more timed unit is earned (null: none within a day, or no
    # timed service).
    "spare_minutes": pl.Int32,
    # Minutes that could be lost before a timed unit is lost (null: no timed unit to lose).
}
"""One row per visit, in visit order."""


class Allocation(NamedTuple):
    """What the units stage works out for a batch of visits (see the module docstring)."""

    lines: pl.DataFrame
    ties: pl.DataFrame
    totals: pl.DataFrame
    findings: pl.DataFrame


_GAVE = "gave"
_TOOK_BACK = "took back"
_BY_CODE = "code order (fees equal or unknown)"
_BY_MORE = "the unit that pays more, then code order"
_BY_LESS = "the unit that pays less, then code order"

_V = pl.col("visit")
_RULES = pl.Enum([CMS, AMA, AMA_CAPPED])
"""The rules as small integers inside the stage: 0 cms, 1 ama, 2 ama-capped."""
_IS_CMS = pl.col("_rule") == 0
_IS_AMA = pl.col("_rule") == 1
_IS_CAPPED = pl.col("_rule") == 2
_RUN_LIMIT = (1 << 26) - 1
"""More visits with services than one batch holds (keys of ``_run_min`` fit 32 bits)."""


def allocate(
    services: pl.DataFrame, rules: pl.DataFrame, unit_values: pl.DataFrame | None = None
) -> Allocation:
    """Units of every visit of ``services`` under its rule of ``rules`` (RULES.md §1-§5)."""
    visits = _visits(rules)
    s = _services(services)
    runs, at = _pool(s, visits)
    s = pl.concat(
        [s, runs.select("_rule", "count", "invalid", "cms_units")[s.get_column("run")]],
        how="horizontal",
    )
    invalid = runs.filter(pl.col("invalid"))
    if invalid.height:
        s = s.filter(~pl.col("invalid"))
    competing, tied, ties = _compete(s, unit_values)
    s = _units(s, competing, tied)
    runs = _capped_advice(s, runs)
    return Allocation(
        lines=_lines(s),
        ties=ties,
        totals=_totals(runs, visits, at),
        findings=_findings(s, ties, invalid, unit_values),
    )


def _visits(rules: pl.DataFrame) -> pl.DataFrame:
    """``rules`` in visit order, checked, with the rule as a small integer ``_rule``."""
    visits = rules.select(_V.cast(pl.UInt32), pl.col("rule").cast(pl.String))
    ids = visits.get_column("visit")
    if not ids.is_sorted():
        visits = visits.sort("visit")
        ids = visits.get_column("visit")
    if ids.len() > 1 and (ids.slice(1) == ids.slice(0, ids.len() - 1)).any():
        raise ValueError("rules: more than one rule for a visit")
    named = visits.get_column("rule")
    try:
        code = named.cast(_RULES)
    except pl.exceptions.InvalidOperationError:
        code = None
    if code is None or code.null_count():
        unknown = set(named.unique().to_list()) - {CMS, AMA, AMA_CAPPED}
        raise ValueError(f"rules: unknown unit rule(s) {sorted(map(str, unknown))}")
    return visits.with_columns(code.to_physical().cast(pl.Int8).alias("_rule"))


@cache
def service_facts() -> pl.DataFrame:
    """What the stage needs of a service key beyond its kind, one row per key that has any: a
    primary/add-on family's codes and unit lengths (``_family``: 97129/97130, 92605/92618 ...)
    and whether an untimed code is one unit per instrument (96110, 96127). Built once."""
    catalogue = load_catalogue()
    families = catalogue.families()
    instruments = [c.code for c in catalogue if c.per_instrument]
    keys = [*families, *instruments]
    return pl.DataFrame(
        {
            "service": keys,
            "_family": [k in families for k in keys],
            "_primary": [families[k].primary if k in families else None for k in keys],
            "_addon": [families[k].addon if k in families else None for k in keys],
            "_first": [families[k].first_unit_minutes if k in families else None for k in keys],
            "_each": [families[k].unit_minutes if k in families else None for k in keys],
            "_instrument": [k in instruments for k in keys],
        },
        schema={
            "service": pl.String,
            "_family": pl.Boolean,
            "_primary": pl.String,
            "_addon": pl.String,
            "_first": pl.Int32,
            "_each": pl.Int32,
            "_instrument": pl.Boolean,
        },
    )


def _optional(services: pl.DataFrame, name: str, dtype: type[pl.DataType]) -> pl.Expr:
    """A column of ``services`` the stage reads when it is there (null when not)."""
    if name in services.columns:
        return pl.col(name).cast(dtype)
    return pl.lit(None, dtype=dtype).alias(name)


def _services(services: pl.DataFrame) -> pl.DataFrame:
    """The columns the stage reads, in (visit, code order), with blocks and leftovers (§2.2)
    and ``run``: the visit's number among the visits that have services.

    ``as_given``: the service has no minutes (null, a units-only export) but billed units: its
    units are the ones billed, outside the pool (issue 10; RULES.md §11)."""
    s = services.select(
        _V.cast(pl.UInt32),
        pl.col("service").cast(pl.String),
        pl.col("kind").cast(pl.String),
        pl.col("minutes").cast(pl.Int32),
        pl.col("order").cast(pl.UInt16),
        _optional(services, "billed", pl.Int32),
        _optional(services, "billed_stated", pl.Boolean),
        _optional(services, "billed_primary", pl.Int32),
        _optional(services, "billed_addon", pl.Int32),
    )
    key = s.select((_V.cast(pl.UInt64) * 65536) + pl.col("order").cast(pl.UInt64)).to_series()
    if not key.is_sorted():
        s = s.sort(key)
    as_given = pl.col("minutes").is_null() & pl.col("billed_stated").fill_null(False)
    s = s.with_columns(
        as_given.alias("as_given"),
        pl.when(~as_given).then(pl.col("minutes").fill_null(0)).alias("minutes"),
    ).join(service_facts(), on="service", how="left", maintain_order="left")
    s = s.with_columns(pl.col("_family").fill_null(False), pl.col("_instrument").fill_null(False))
    timed = pl.col("kind").is_in(sorted(POOLED_KINDS)) & ~pl.col("as_given")
    return s.with_columns(
        timed.alias("timed"),
        (pl.col("service") == COGNITIVE).alias("cognitive"),
        pl.when(timed).then(pl.col("minutes") // UNIT_MINUTES).otherwise(0).alias("blocks"),
        pl.when(timed).then(pl.col("minutes") % UNIT_MINUTES).otherwise(0).alias("leftover"),
        _V.rle_id().alias("run"),
    )


def _run_ends(frame: pl.DataFrame, *columns: pl.Expr) -> pl.DataFrame:
    """``columns`` on the last row of each run of equal ``run`` in ``frame`` (sorted by it)."""
    run = pl.col("run")
    end = run.ne_missing(run.shift(-1))
    return frame.select("run", *columns, end.alias("_end")).filter("_end").drop("_end").rechunk()


def _run_sum(value: pl.Expr, name: str) -> tuple[pl.Expr, pl.Expr]:
    """Sum of ``value`` over each run: a running sum, then the difference between run ends."""
    total = pl.col(name)
    return value.cast(pl.Int64).cum_sum().alias(name), total.diff().fill_null(total)


def _run_min(value: pl.Expr) -> pl.Expr:
    """Running minimum of ``value`` (0 to 30, or null: ignored) since the run's first row.

    Runs are numbered upwards, so a key with a run part that falls as the run rises and the
    value in its low 5 bits makes one running minimum over the frame restart at every run.
    Every value it is used for is a count of minutes within one 15-minute unit.
    """
    key = (_RUN_LIMIT - pl.col("run").cast(pl.Int32)) * 32 + value.cast(pl.Int32).fill_null(31)
    low = key.cum_min() % 32
    return pl.when(low != 31).then(low)


def _pool(s: pl.DataFrame, visits: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """Each visit's timed pool (§2.1) and what its rule leaves to give or take back, one row per
    run of ``s``; and where each run's visit is in ``visits`` (None: the same order)."""
    m = pl.col("minutes").cast(pl.Int64)
    timed = pl.col("timed")
    own = (m + MIDPOINT - 1) // UNIT_MINUTES  # a timed code's own units (§3)
    sums = {
        "total": pl.when(timed).then(m).otherwise(0),
        "blocks": pl.col("blocks"),
        "past_midpoint": pl.col("leftover") >= MIDPOINT,
        "timed": timed,
    }
    running = [_run_sum(value, name) for name, value in sums.items()]
    runs = _run_ends(
        s,
        _V,
        *(first for first, _ in running),
        # AMA advice (§3): the nearest next unit of one code, the tightest code's margin.
        _run_min(pl.when(timed).then(UNIT_MINUTES * own + MIDPOINT - m)).alias("_gap"),
        _run_min(pl.when(timed & (own > 0)).then(m - (UNIT_MINUTES * own - MIDPOINT + 1))).alias(
            "_margin"
        ),
    ).with_columns(*(diff.cast(pl.Int32) for _, diff in running))
    if runs.height >= _RUN_LIMIT:
        raise ValueError(f"services: more than {_RUN_LIMIT - 1} visits in one batch")
    ids = visits.get_column("visit")
    found = runs.get_column("visit")
    at: pl.Series | None = None
    if found.len() != ids.len() or not (found == ids).all():
        at = ids.search_sorted(found).clip(0, max(ids.len() - 1, 0))
        if found.len() and (ids.len() == 0 or not (ids.gather(at) == found).all()):
            raise ValueError("services: a visit has no unit rule")
    rule = visits.get_column("_rule")
    runs = runs.with_columns(rule if at is None else rule.gather(at))
    total = pl.col("total")
    cms_units = (total + MIDPOINT - 1) // UNIT_MINUTES
    runs = runs.with_columns(
        cms_units.alias("cms_units"),
        (pl.col("blocks") + pl.col("past_midpoint")).alias("per_code"),
        (total > MAX_MINUTES).alias("invalid"),
    )
    # Units still to give (CMS, §2.3) or to take back (capped, §3); none per code.
    count = (
        pl.when(_IS_CMS)
        .then(pl.col("cms_units") - pl.col("blocks"))
        .when(_IS_CAPPED)
        .then(pl.col("per_code") - pl.col("cms_units"))
        .otherwise(0)
    )
    return runs.with_columns(count.cast(pl.Int32).alias("count")), at


def _compete(
    s: pl.DataFrame, unit_values: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Who gets (CMS, §2.4) or loses (ama-capped, §3) a unit, and each visit's tie (§2.5).

    Returns the competing services (``_row`` in ``s``, ``rank``, ``chosen``), the tied ones
    re-ranked, and the ties. Candidates are ranked by leftover (largest first, smallest first
    to take back), then code order; the first ``count`` are chosen. A tie is the leftover at
    rank ``count`` equal to the one at rank ``count + 1``: then the services at that leftover
    are ranked among themselves by the unit that pays more (less), when their values allow it.
    """
    enters = pl.col("timed") & (pl.col("count") > 0)
    enters = enters & pl.when(_IS_CMS).then(pl.col("leftover") > 0).otherwise(
        pl.col("leftover") >= MIDPOINT
    )
    key = pl.when(_IS_CAPPED).then(pl.col("leftover")).otherwise(-pl.col("leftover"))
    c = (
        s.with_row_index("_row")
        .filter(enters)
        .select(
            "_row",
            "visit",
            "cognitive",
            "order",
            "blocks",
            "leftover",
            "count",
            _IS_CAPPED.alias("take"),
            key.cast(pl.Int32).alias("key"),
        )
    )
    # One integer to sort on: visit, leftover (signed as ranked), code order.
    c = c.sort(
        _V.cast(pl.UInt64) * (1 << 21)
        + (pl.col("key") + 16).cast(pl.UInt64) * (1 << 16)
        + pl.col("order").cast(pl.UInt64)
    )
    index = pl.int_range(pl.len(), dtype=pl.Int32)
    first = pl.when(_V.ne_missing(_V.shift(1))).then(index).forward_fill()
    c = c.with_columns((index - first + 1).alias("rank"))
    c = c.with_columns((pl.col("rank") <= pl.col("count")).alias("chosen"))
    tie = (
        (pl.col("rank") == pl.col("count"))
        & (_V.shift(-1) == _V).fill_null(False)
        & (pl.col("key").shift(-1) == pl.col("key")).fill_null(False)
    )
    cuts = c.filter(tie).select("visit", pl.col("key").alias("cut"))
    if cuts.height == 0:
        return c, c.clear(), _empty_ties()
    # The tied visits, few: their services at the cut leftover compete among themselves.
    t = c.filter(_V.is_in(cuts.get_column("visit").implode())).join(
        cuts, on="visit", how="left", maintain_order="left"
    )
    t = t.with_columns(
        (pl.col("key") < pl.col("cut")).sum().over("visit").cast(pl.Int32).alias("sure"),
    ).filter(pl.col("key") == pl.col("cut"))
    t = t.with_columns(s.get_column("service").gather(t.get_column("_row")))
    # The code whose unit is contested: for the pair, 97129 until it has a whole block.
    code = (
        pl.when(~pl.col("cognitive"))
        .then(pl.col("service"))
        .when(pl.col("blocks") == 0)
        .then(pl.lit(COGNITIVE_PRIMARY))
        .otherwise(pl.lit(COGNITIVE_ADDON))
    )
    t = _with_values(t.with_columns(code.alias("code")), unit_values)
    value = pl.col("value_cents")
    by_value = (value.count().over("visit") == pl.len().over("visit")) & (
        value.drop_nulls().n_unique().over("visit") > 1
    )
    signed = pl.when(pl.col("take")).then(value).otherwise(-value)
    t = t.with_columns(by_value.alias("by_value"))
    t = t.with_columns(pl.when(pl.col("by_value")).then(signed).otherwise(0).alias("_pays"))
    t = t.sort("visit", "_pays", "order")
    t = t.with_columns(
        (pl.col("sure") + pl.int_range(pl.len(), dtype=pl.Int32).over("visit") + 1).alias("rank"),
    ).with_columns(
        (pl.col("rank") <= pl.col("count")).alias("chosen"),
        pl.when(pl.col("cognitive")).then(pl.lit(PAIR)).otherwise(pl.col("service")).alias("label"),
    )
    take = pl.col("take").first()
    ties = t.group_by("visit", maintain_order=True).agg(
        pl.col("leftover").first(),
        pl.col("label").sort_by("order").alias("candidates"),
        pl.col("label").filter(pl.col("chosen")).alias("chosen"),
        (pl.col("count").first() - pl.col("sure").first()).alias("units"),
        pl.when(~pl.col("by_value").first())
        .then(pl.lit(_BY_CODE))
        .when(take)
        .then(pl.lit(_BY_LESS))
        .otherwise(pl.lit(_BY_MORE))
        .alias("reason"),
        pl.when(take).then(pl.lit(_TOOK_BACK)).otherwise(pl.lit(_GAVE)).alias("action"),
    )
    return c, t, conform(ties.sort("visit"), TIES)


def _with_values(frame: pl.DataFrame, unit_values: pl.DataFrame | None) -> pl.DataFrame:
    """``frame`` (with ``visit`` and ``code``) with ``value_cents``, null where unknown."""
    if unit_values is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("value_cents"))
    # ``frame`` is small (tied or below-minimum services): look at its visits' values only.
    wanted = frame.get_column("visit").unique().implode()
    values = unit_values.filter(_V.is_in(wanted)).select(
        _V.cast(pl.UInt32), pl.col("code").cast(pl.String), pl.col("value_cents").cast(pl.Int64)
    )
    return frame.join(values, on=["visit", "code"], how="left", maintain_order="left")


def _empty_ties() -> pl.DataFrame:
    return pl.DataFrame(schema=TIES)


def _scattered(n: int, default: int | None, *updates: tuple[pl.Series, pl.Series]) -> pl.Series:
    """A column of ``n`` ``default`` values, then each ``(rows, values)`` written at its rows."""
    out = pl.repeat(default, n, dtype=updates[0][1].dtype, eager=True)
    for rows, values in updates:
        if rows.len():
            out = out.scatter(rows, values)
    return out


def _units(s: pl.DataFrame, competing: pl.DataFrame, tied: pl.DataFrame) -> pl.DataFrame:
    """Every service's units: timed by its rule (§2, §3), untimed 1 (§4), per hour (§4)."""
    n = s.height

    def column(frame: pl.DataFrame, name: str) -> tuple[pl.Series, pl.Series]:
        return frame.get_column("_row"), frame.get_column(name)

    tied_rows = tied.get_column("_row")
    s = s.with_columns(
        _scattered(n, None, column(competing, "rank"), column(tied, "rank")).alias("rank"),
        _scattered(n, False, column(competing, "chosen"), column(tied, "chosen")).alias("_won"),
        _scattered(n, False, (tied_rows, pl.repeat(True, tied_rows.len(), eager=True))).alias(
            "tied"
        ),
    )
    timed = pl.col("timed")
    won = pl.col("_won").cast(pl.Int32)
    midpoint = (pl.col("leftover") >= MIDPOINT).cast(pl.Int32)
    extra = pl.when(~timed).then(0).when(_IS_CMS).then(won).otherwise(midpoint)
    removed = pl.when(timed & _IS_CAPPED).then(won).otherwise(0)
    s = s.with_columns(extra.cast(pl.Int32).alias("extra"), removed.cast(pl.Int32).alias("removed"))
    m = pl.col("minutes")
    # Per hour: the CPT midpoint, 31 minutes for the first hour (derived; RULES.md is silent).
    hourly = (m + 29) // 60
    # First and additional periods, each attained at its midpoint (RULES.md §4, units.py
    # ``family_units``).
    first, each = pl.col("_first"), pl.col("_each")
    further = (m - first + each - (each // 2 + 1)) // each
    family = pl.when(m < first // 2 + 1).then(0).otherwise(1 + pl.max_horizontal(further, 0))
    billed = pl.col("billed").fill_null(0)
    given = pl.when(pl.col("billed_stated").fill_null(False)).then(billed).otherwise(1)
    kind = pl.col("kind")
    untimed = kind == Kind.UNTIMED.value
    units = (
        # untimed: 1 a visit, minutes or not (RULES.md §4), unless one unit per instrument
        pl.when(untimed)
        .then(pl.when(pl.col("_instrument")).then(given).otherwise(1))
        .when(pl.col("as_given"))
        .then(billed)
        .when(timed)
        .then(pl.col("blocks") + pl.col("extra") - pl.col("removed"))
        .when(kind == Kind.FIRST_AND_ADDITIONAL.value)
        .then(family)
        .when(kind.is_in([Kind.AREA.value, Kind.NOT_IN_CATALOGUE.value]))
        .then(given)
        .otherwise(hourly)
    )
    return s.with_columns(units.cast(pl.Int32).alias("units"))


def _capped_advice(s: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    """``runs`` with the capped rule's advice terms (old ``units._capped_advice``, solved).

    With P the per-code units, U the CMS units and now = min(P, U): a service gaining d minutes
    gains a unit once its own units reach now + 1 - (P - own) and the visit's reach now + 1; one
    losing k minutes loses a unit once its own drop to now - 1 - (P - own) or the visit's to
    now - 1; k is looked for up to 15 minutes, and no more than the service's minutes.
    ``_to_next`` is the least d, ``_least`` the least k of the visit.
    """
    now = pl.min_horizontal("per_code", "cms_units")
    total = pl.col("total")
    terms = runs.select(
        "per_code",
        now.alias("now"),
        pl.max_horizontal(pl.lit(1), UNIT_MINUTES * (now + 1) - MIDPOINT + 1 - total).alias("gain"),
        (total - UNIT_MINUTES * (now - 1) - MIDPOINT + 1).alias("loss"),
    )
    capped = s.filter(pl.col("timed") & _IS_CAPPED).select("run", "minutes")
    capped = pl.concat([capped, terms[capped.get_column("run")]], how="horizontal")
    m = pl.col("minutes")
    others = pl.col("per_code") - (m + MIDPOINT - 1) // UNIT_MINUTES
    need = pl.col("now") + 1 - others
    gain = pl.col("gain")
    d = (
        pl.when(need > 0)
        .then(pl.max_horizontal(gain, UNIT_MINUTES * need - MIDPOINT + 1 - m))
        .otherwise(gain)
    )
    keep = pl.col("now") - 1 - others
    loss = pl.col("loss")
    k = pl.max_horizontal(
        pl.lit(1),
        pl.when(keep < 0)
        .then(loss)
        .otherwise(pl.min_horizontal(loss, m - UNIT_MINUTES * keep - MIDPOINT + 1)),
    )
    k = pl.when((pl.col("now") > 0) & (k <= UNIT_MINUTES) & (k <= m)).then(k)
    found = _run_ends(capped, _run_min(d).alias("_to_next"), _run_min(k).alias("_least"))
    rows = found.get_column("run")
    n = runs.height
    return runs.with_columns(
        _scattered(n, None, (rows, found.get_column("_to_next"))).alias("_to_next"),
        _scattered(n, None, (rows, found.get_column("_least"))).alias("_least"),
    )


def _totals(runs: pl.DataFrame, visits: pl.DataFrame, at: pl.Series | None) -> pl.DataFrame:
    """Totals and advice per visit (old ``units._advice``): when the next timed unit comes, and
    how many minutes could go before one is lost. Visits with no service: an empty visit's."""
    total = pl.col("total")
    cms_units = pl.col("cms_units")
    per_code = pl.col("per_code")
    now = pl.min_horizontal(per_code, cms_units)
    units = pl.when(_IS_CMS).then(cms_units).when(_IS_AMA).then(per_code).otherwise(now)
    reach = UNIT_MINUTES + MIDPOINT  # more than any code's distance to its next unit
    cms_margin = total - (UNIT_MINUTES * cms_units - MIDPOINT + 1)
    next_at = (
        pl.when(_IS_CMS)
        .then(UNIT_MINUTES * cms_units + MIDPOINT)
        .when(_IS_AMA)
        .then(total + pl.min_horizontal(pl.lit(reach), pl.col("_gap")))
        .otherwise(total + pl.min_horizontal(pl.lit(reach), pl.col("_to_next")))
    )
    # Held at the CMS total, the capped rule loses a unit to minutes lost from any mix of codes.
    held = pl.when(now == cms_units).then(cms_margin + 1)
    spare = (
        pl.when(_IS_CMS)
        .then(pl.when(cms_units > 0).then(cms_margin))
        .when(_IS_AMA)
        .then(pl.col("_margin"))
        .otherwise(pl.when(now > 0).then(pl.min_horizontal(pl.col("_least"), held) - 1))
    )
    live = (pl.col("timed") > 0) & ~pl.col("invalid")
    valid = ~pl.col("invalid")
    totals = runs.select(
        "visit",
        pl.when(valid).then(total).otherwise(0).alias("total_timed_minutes"),
        pl.when(valid).then(units).otherwise(0).alias("total_timed_units"),
        pl.when(live & (next_at <= MAX_MINUTES)).then(next_at).alias("next_unit_at"),
        pl.when(live).then(spare).alias("spare_minutes"),
    )
    rule = visits.get_column("rule")
    if at is None:
        return conform(totals.with_columns(rule), TOTALS)
    totals = totals.with_columns(rule.gather(at))
    covered = _scattered(visits.height, False, (at, pl.repeat(True, at.len(), eager=True)))
    empty = visits.filter(~covered).select(
        "visit",
        "rule",
        pl.lit(0).alias("total_timed_minutes"),
        pl.lit(0).alias("total_timed_units"),
    )
    return conform(pl.concat([conform(totals, TOTALS), conform(empty, TOTALS)]), TOTALS).sort(
        "visit"
    )


def _lines(s: pl.DataFrame) -> pl.DataFrame:
    """One line per service; a primary/add-on family with 2+ units as primary x1 + add-on
    x(N-1) (97129 + 97130, RULES.md §5; 92605 + 92618 ..., §4): the primary carries the first
    period's minutes and the add-on the rest. A family billed as given (no minutes) bills each
    code's own billed units: a primary line, and an add-on line when the add-on is billed."""
    s = s.select(
        "visit",
        "service",
        "cognitive",
        "minutes",
        "units",
        "blocks",
        "leftover",
        "extra",
        "removed",
        "rank",
        "tied",
        "as_given",
        "_family",
        "_primary",
        "_addon",
        "_first",
        "billed_primary",
        "billed_addon",
    )
    family = pl.col("_family")
    as_given = pl.col("as_given")
    split_when = family & pl.when(as_given).then(pl.col("billed_addon").fill_null(0) > 0).otherwise(
        pl.col("units") >= 2
    )
    split = s.select(split_when.fill_null(False)).to_series()
    if split.any():
        # Each service's line moves down by the add-on lines before it; its add-on follows it.
        before = split.cast(pl.UInt32).cum_sum() - split.cast(pl.UInt32)
        main = pl.int_range(s.height, dtype=pl.UInt32, eager=True) + before
        addon = (main + 1).filter(split)
        n = s.height + addon.len()
        rows = _scattered(
            n,
            0,
            (main, pl.int_range(s.height, dtype=pl.UInt32, eager=True)),
            (addon, pl.int_range(s.height, dtype=pl.UInt32, eager=True).filter(split)),
        )
        is_addon = _scattered(n, False, (addon, pl.repeat(True, addon.len(), eager=True)))
        s = s[rows].with_columns(is_addon.alias("_addon_line"))
    else:
        s = s.with_columns(pl.lit(False).alias("_addon_line"))
    addon_line = pl.col("_addon_line")
    split_line = split_when.fill_null(False)
    minutes = pl.col("minutes")
    first = pl.col("_first")
    lines = s.with_columns(
        pl.when(~family)
        .then(pl.col("service"))
        .when(addon_line)
        .then(pl.col("_addon"))
        .otherwise(pl.col("_primary"))
        .alias("code"),
        pl.when(~split_line | as_given)
        .then(minutes)
        .when(addon_line)
        .then(pl.max_horizontal(minutes - first, pl.lit(0)))
        .otherwise(pl.min_horizontal(minutes, first))
        .alias("minutes"),
        pl.when(~split_line)
        .then(pl.col("units"))
        .when(addon_line)
        .then(
            pl.when(as_given)
            .then(pl.col("billed_addon").fill_null(0))
            .otherwise(pl.col("units") - 1)
        )
        .otherwise(pl.when(as_given).then(pl.col("billed_primary").fill_null(0)).otherwise(1))
        .alias("units"),
    )
    return conform(lines, LINES)


def _findings(
    s: pl.DataFrame,
    ties: pl.DataFrame,
    invalid: pl.DataFrame,
    unit_values: pl.DataFrame | None,
) -> pl.DataFrame:
    """``unit-tie`` (§2.5), ``below-minimum`` (§1) and ``invalid-minutes``, per visit in that
    order; below-minimum in code order."""
    # Rechunked first: polars 2.1's str.format can panic on a multi-chunk column.
    ties, invalid = ties.rechunk(), invalid.rechunk()
    frames = [
        ties.select(
            "visit",
            pl.lit("unit-tie").alias("id"),
            pl.lit(RULES["unit-tie"].severity.value).alias("severity"),
            pl.col("chosen").list.first().alias("code"),
            pl.format(
                "{} tie with {} min left over for {} unit(s); {} {} by {}.",
                pl.col("candidates").list.join(" and "),
                "leftover",
                "units",
                "action",
                pl.col("chosen").list.join(", "),
                "reason",
            ).alias("message"),
            pl.lit(None, dtype=pl.String).alias("hint"),
            pl.lit(0).alias("_at"),
            pl.lit(0, dtype=pl.UInt16).alias("order"),
        ),
        _below_minimum(s, unit_values),
        _family_below_minimum(s),
        invalid.select(
            "visit",
            pl.lit("invalid-minutes").alias("id"),
            pl.lit(RULES["invalid-minutes"].severity.value).alias("severity"),
            pl.lit(None, dtype=pl.String).alias("code"),
            pl.format(
                f"{{}} timed minutes in one visit is more than a day ({MAX_MINUTES} minutes); "
                "no units were computed for this visit.",
                "total",
            ).alias("message"),
            pl.lit(None, dtype=pl.String).alias("hint"),
            pl.lit(2).alias("_at"),
            pl.lit(0, dtype=pl.UInt16).alias("order"),
        ),
    ]
    findings = pl.concat([_conform_at(f) for f in frames], how="vertical")
    return conform(findings.sort("visit", "_at", "order", maintain_order=True), FINDINGS)


def _conform_at(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rechunk().select(
        _V.cast(pl.UInt32),
        pl.col("id").cast(pl.String),
        pl.col("severity").cast(pl.String),
        pl.col("code").cast(pl.String),
        pl.col("message").cast(pl.String),
        pl.col("hint").cast(pl.String),
        pl.col("_at").cast(pl.Int32),
        pl.col("order").cast(pl.UInt16),
    )


def _family_below_minimum(s: pl.DataFrame) -> pl.DataFrame:
    """First-and-additional families whose minutes did not reach the first period's midpoint
    (RULES.md §4): a warning, as for a timed code on its own."""
    below = s.filter(
        (pl.col("kind") == Kind.FIRST_AND_ADDITIONAL.value)
        & ~pl.col("as_given")
        & (pl.col("minutes") > 0)
        & (pl.col("units") == 0)
    ).rechunk()
    first = pl.col("_first")
    return below.select(
        "visit",
        pl.lit("below-minimum").alias("id"),
        pl.lit(RULES["below-minimum"].severity.value).alias("severity"),
        pl.format("{}/{}", "_primary", "_addon").alias("code"),
        pl.format(
            "{}/{}: {} min earned no unit: the first {}-minute period is attained at {} min "
            "(RULES.md §4).",
            "_primary",
            "_addon",
            pl.col("minutes").cast(pl.String),
            first.cast(pl.String),
            (first // 2 + 1).cast(pl.String),
        ).alias("message"),
        pl.lit(None, dtype=pl.String).alias("hint"),
        pl.lit(1).alias("_at"),
        "order",
    )


def _below_minimum(s: pl.DataFrame, unit_values: pl.DataFrame | None) -> pl.DataFrame:
    """Timed services whose minutes earned no unit; info when they counted toward a CMS total
    that earned units, else a warning; with what one unit would have paid, when known."""
    below = s.filter(pl.col("timed") & (pl.col("minutes") > 0) & (pl.col("units") == 0))
    cognitive = pl.col("cognitive")
    below = below.with_columns(
        pl.when(cognitive).then(pl.lit(PAIR)).otherwise(pl.col("service")).alias("label"),
        pl.when(cognitive)
        .then(pl.lit(COGNITIVE_PRIMARY))
        .otherwise(pl.col("service"))
        .alias("code"),
    )
    below = _with_values(below, unit_values).rechunk()
    pooled = _IS_CMS & (pl.col("cms_units") > 0)
    texts = (
        pl.when(pooled).then(pl.lit("info")).otherwise(pl.lit("warning")).alias("severity"),
        pl.concat_str(
            pl.col("label"),
            pl.lit(": "),
            pl.col("minutes").cast(pl.String),
            pl.lit(" min earned no unit under the "),
            pl.col("_rule").replace_strict(
                {i: _LONG_NAME[name] for i, name in enumerate(_RULES.categories)},
                return_dtype=pl.String,
            ),
            pl.when(pooled)
            .then(pl.lit(" (its minutes still counted toward the visit total)."))
            .otherwise(pl.lit(".")),
            pl.when(pl.col("value_cents").is_not_null())
            .then(pl.format(" One unit of {} pays about {}.", "code", dollars("value_cents")))
            .otherwise(pl.lit("")),
        ).alias("message"),
        pl.when(pooled)
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.lit(RULES["below-minimum"].hint_for("alone")))
        .alias("hint"),
    )
    # The texts are made once per distinct (code, minutes, rule, ..., value): few of them.
    return per_value(below, ["visit", "label", "order"], texts).select(
        "visit",
        pl.lit("below-minimum").alias("id"),
        "severity",
        pl.col("label").alias("code"),
        "message",
        "hint",
        pl.lit(1).alias("_at"),
        "order",
    )

"""Rules on a visit's codes and their units, on whole frames (RULES.md §1-§3, §5, §7).

The columnar form of ``check_cognitive``, ``check_adaptive``, ``check_billed_units`` and
``check_daily_caps`` of ``cognibill.rules.codes`` (issue 9). Each rule is a function
``Batch -> FINDINGS frame`` reading the batch's SERVICES (what the input says of each service)
and LINES (the units the minutes support, and ``tied``); a visit's findings come in the order
the old checks emitted them (services by their first entry's line, then in code order). ``line``
is left null: the findings are about a service, not one entry. ``RULES`` holds them all;
``priced_rules`` the same with the money left behind named (``UNIT_VALUES``).

Money in messages is ``$`` and ``engine.money.amount`` (`` ($41.40)``: no thousands separator,
as the old ``f"{total:.2f}"`` wrote it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache, lru_cache, partial

import polars as pl

from cognibill.catalogue import COGNITIVE, COGNITIVE_ADDON, COGNITIVE_PRIMARY, Kind, load_catalogue
from cognibill.engine.frames import FINDINGS, Batch, conform, empty, payer_columns
from cognibill.engine.money import amount
from cognibill.engine.services import service_ranks
from cognibill.engine.units import UnitRule
from cognibill.rules.catalogue import RULES as CATALOGUE

Rule = Callable[[Batch], pl.DataFrame]
"""A rule of the columnar engine: the batch in, its findings (FINDINGS) out."""

UNIT_VALUES: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "code": pl.String,
    "value_cents": pl.Int64,
    # What one unit of the code alone is allowed on the visit (its date, payer and place), the
    # low end of a range, as ``CheckContext.fee`` gives it; null or no row: not priced.
}
"""Unit values by visit and code, as the units stage reads them to break ties (RULES.md §2.5)."""

LEFT_BEHIND_HINT = CATALOGUE["units-not-supported"].hint_for("fewer")
"""The hint of ``units-not-supported`` when fewer units are billed than the minutes support."""

_LONG_NAMES = {rule.value: rule.long_name for rule in UnitRule}
_ADAPTIVE = ("97153", "97155")
_ADDON_OF = {
    f.service: f.addon for f in load_catalogue().families().values() if f.service != COGNITIVE
}
"""The add-on of each primary/add-on family other than the cognitive pair, by service key."""


def _severity(rule_id: str) -> str:
    return CATALOGUE[rule_id].severity.value


def _text(expr: str | pl.Expr) -> pl.Expr:
    return (pl.col(expr) if isinstance(expr, str) else expr).cast(pl.String)


def _finding(
    frame: pl.DataFrame,
    rule_id: str,
    message: pl.Expr,
    *,
    code: pl.Expr,
    severity: str | pl.Expr | None = None,
    hint: pl.Expr | None = None,
    step: int | pl.Expr = 0,
) -> pl.DataFrame:
    """One finding of ``rule_id`` per row of ``frame``, with ``_step`` keeping the order in
    which the old check emitted the findings of one visit."""
    if severity is None:
        severity = _severity(rule_id)
    return frame.select(
        pl.col("visit"),
        pl.lit(rule_id).alias("id"),
        (pl.lit(severity) if isinstance(severity, str) else severity).alias("severity"),
        code.alias("code"),
        message.alias("message"),
        pl.lit(None, dtype=pl.Int64).alias("line"),
        (pl.lit(None, dtype=pl.String) if hint is None else hint).alias("hint"),
        (pl.lit(step) if isinstance(step, int) else step).cast(pl.Int64).alias("_step"),
    )


def _done(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The parts as one FINDINGS frame in visit order, each visit's in emission order."""
    parts = [p for p in parts if p.height]
    if not parts:
        return empty(FINDINGS)
    return conform(pl.concat(parts).sort("visit", "_step", maintain_order=True), FINDINGS)


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``_k``, one integer for its (visit, service): ``visit * 2**19 + rank`` of
    the service in code order (``service_rank``), as the services stage groups them."""
    rank = service_ranks(frame.get_column("service"))
    return frame.with_columns((pl.col("visit").cast(pl.UInt64) * (1 << 19) + rank).alias("_k"))


def _units_by_service(lines: pl.DataFrame) -> pl.DataFrame:
    """The units the minutes support per visit and service (``_k``), and whether the service
    was in a tie."""
    keyed = _keyed(lines.select("visit", "service", "units", "tied"))
    if keyed.get_column("_k").is_sorted():  # lines in visit then code order: sorted runs
        keyed = keyed.set_sorted("_k")
    return keyed.group_by("_k", maintain_order=True).agg(
        pl.col("units").sum().cast(pl.Int64).alias("_units"),
        pl.col("tied").fill_null(False).any().alias("_tied"),
    )


_FAMILIES = load_catalogue().families()
"""Every primary/add-on family by its service key (``cognitive``: 97129/97130)."""


def _family(column: str) -> pl.Expr:
    """The family's ``primary`` or ``addon`` code of the row's ``service``."""
    codes = {key: getattr(family, column) for key, family in _FAMILIES.items()}
    return pl.col("service").replace_strict(codes, default=None, return_dtype=pl.String)


def _family_split(lines: pl.DataFrame) -> pl.DataFrame:
    """``[_k, _split]``: how each family service's units bill, from its claim lines: ``no
    unit``, ``97129 ×1`` or ``97129 ×1 + 97130 ×N`` (``96112 ×1 + 96113 ×2``)."""
    keyed = _keyed(lines.select("visit", "service", "code", "units"))
    return (
        keyed.group_by("_k", "service")
        .agg(
            pl.col("units").filter(pl.col("code") == _family("primary")).sum().alias("_p"),
            pl.col("units").filter(pl.col("code") == _family("addon")).sum().alias("_a"),
        )
        .select(
            "_k",
            pl.when(pl.col("_p") + pl.col("_a") == 0)
            .then(pl.lit("no unit"))
            .otherwise(
                pl.format("{} ×{}", _family("primary"), _text("_p"))
                + pl.when(pl.col("_a") > 0)
                .then(pl.format(" + {} ×{}", _family("addon"), _text("_a")))
                .otherwise(pl.lit(""))
            )
            .alias("_split"),
        )
    )


def _further(primary: pl.Expr) -> pl.Expr:
    """Add-on units that bill the time of ``primary`` first periods but one: each further first
    period is ``first_unit_minutes / unit_minutes`` add-on periods (97129: 1; 96112: 2)."""
    ratio = {k: f.first_unit_minutes // f.unit_minutes for k, f in _FAMILIES.items()}
    periods = pl.col("service").replace_strict(ratio, default=1, return_dtype=pl.Int64)
    return (primary - 1) * periods


def check_cognitive(batch: Batch) -> pl.DataFrame:
    """``primary-more-than-once`` (a family's primary billed with more than 1 unit) and
    ``addon-without-primary`` within a visit, for 97129/97130 (RULES.md §5) and every other
    primary/add-on family (92605/92618, 92607/92608, 96112/96113, 97545/97546: RULES.md §4).

    ``addon-without-primary`` is an error when the billed units put the add-on on the claim
    without its primary; a warning when the add-on was only entered without the primary and the
    minutes earn a unit (the claim lines bill the primary first).
    """
    pair = batch.services.select(
        "visit", "service", "codes", "minutes", "billed_primary", "billed_addon"
    ).filter(pl.col("service").is_in(list(_FAMILIES)))
    if not pair.height:
        return empty(FINDINGS)
    family_lines = batch.lines.filter(pl.col("service").is_in(list(_FAMILIES)))
    units = _units_by_service(family_lines.select("visit", "service", "units", "tied"))
    pair = (
        _keyed(pair)
        .join(units.select("_k", "_units"), on="_k", how="left", maintain_order="left")
        .join(_family_split(family_lines), on="_k", how="left", maintain_order="left")
    ).with_columns(
        pl.col("_units").fill_null(0),
        pl.col("_split").fill_null("no unit"),
        pl.col("billed_primary").fill_null(0).alias("_primary"),
        pl.col("billed_addon").fill_null(0).alias("_addon"),
        _family("primary").alias("_pc"),
        _family("addon").alias("_ac"),
        pl.when(pl.col("service") == COGNITIVE)
        .then(pl.lit(" cognitive"))
        .otherwise(pl.lit(""))
        .alias("_what"),
    )
    primary, addon = pl.col("_primary"), pl.col("_addon")
    minutes = _text("minutes")
    billed_alone = (addon > 0) & (primary == 0)
    codes = pl.col("codes")
    entered_alone = (
        ~billed_alone
        & (pl.col("_units") > 0)
        & codes.list.contains(pl.col("_ac"))
        & ~codes.list.contains(pl.col("_pc"))
    )
    return _done(
        [
            _finding(
                pair.filter(primary > 1),
                "primary-more-than-once",
                pl.format(
                    "{} ×{} billed: {} is once per day; bill {} ×1 and {} ×{} for the further "
                    "units.",
                    "_pc",
                    _text(primary),
                    "_pc",
                    "_pc",
                    "_ac",
                    _text(_further(primary)),
                ),
                code=pl.col("_pc"),
            ),
            _finding(
                pair.filter(billed_alone),
                "addon-without-primary",
                pl.when(pl.col("minutes").is_null())
                .then(
                    pl.format(
                        "{} ×{} billed without {}: the add-on is paid only with its "
                        "primary; bill {} ×1 for the first unit.",
                        "_ac",
                        _text(addon),
                        "_pc",
                        "_pc",
                    )
                )
                .otherwise(
                    pl.format(
                        "{} ×{} billed without {}: the add-on is paid only with its "
                        "primary; {}{} min bill as {}.",
                        "_ac",
                        _text(addon),
                        "_pc",
                        minutes,
                        "_what",
                        "_split",
                    )
                ),
                code=pl.col("_ac"),
                step=1,
            ),
            _finding(
                pair.filter(entered_alone),
                "addon-without-primary",
                pl.format(
                    "{} entered without {}: {}{} min bill as {} (the claim lines do).",
                    "_ac",
                    "_pc",
                    minutes,
                    "_what",
                    "_split",
                ),
                code=pl.col("_ac"),
                severity="warning",
                step=1,
            ),
        ]
    )


def check_adaptive(batch: Batch) -> pl.DataFrame:
    """``adaptive-behavior-conflict``: 97129/97130 with 97153 or 97155 (RULES.md §5)."""
    services = batch.services.select("visit", "service").filter(
        pl.col("service").is_in([COGNITIVE, *_ADAPTIVE])
    )
    if not services.height:
        return empty(FINDINGS)
    service = pl.col("service")
    per_visit = (
        services.group_by("visit", maintain_order=True)
        .agg(
            (service == COGNITIVE).any().alias("_cognitive"),
            *((service == code).any().alias(f"_{code}") for code in _ADAPTIVE),
        )
        .filter(pl.col("_cognitive") & pl.any_horizontal(f"_{code}" for code in _ADAPTIVE))
    )
    first, second = (pl.col(f"_{code}") for code in _ADAPTIVE)
    others = (
        pl.when(first & second)
        .then(pl.lit(" and ".join(_ADAPTIVE)))
        .when(first)
        .then(pl.lit(_ADAPTIVE[0]))
        .otherwise(pl.lit(_ADAPTIVE[1]))
    )
    lines = pl.when(first & second).then(pl.lit("3")).otherwise(pl.lit("2"))
    return _done(
        [
            _finding(
                per_visit,
                "adaptive-behavior-conflict",
                pl.format(
                    "97129/97130 with {} on {} lines of one visit: CPT says not to report "
                    "cognitive intervention with adaptive behaviour treatment.",
                    others,
                    lines,
                ),
                code=pl.when(first).then(pl.lit(_ADAPTIVE[0])).otherwise(pl.lit(_ADAPTIVE[1])),
            )
        ]
    )


def check_billed_units(batch: Batch, unit_values: pl.DataFrame | None = None) -> pl.DataFrame:
    """``units-not-supported``: stated billed units against the units the minutes support
    (RULES.md §1-§3, §7).

    A service is compared only when every one of its entries states ``units_billed``
    (``billed_complete``). More units than supported: an error; fewer: a warning naming the
    money left behind when ``unit_values`` (UNIT_VALUES) prices every unit not billed, at what
    one unit of its code alone is allowed (for the pair: 97129 for the first unit, 97130 for
    the rest). A visit whose differences are only which of several tied services bills a
    contested unit (RULES.md §2.5) is not reported: every difference is on a service of a tie
    (LINES ``tied``: the service was a candidate of one), every timed service states its
    units, and their sum is the visit's timed units.
    """
    services = batch.services.select(
        "visit", "service", "kind", "codes", "minutes", "billed", "first_line", "order"
    ).filter(
        batch.services.get_column("billed_complete") & batch.services.get_column("billed_stated")
    )
    if not services.height:
        return empty(FINDINGS)
    earned = _units_by_service(batch.lines)
    compared = (
        _keyed(services)
        .join(earned, on="_k", how="left", maintain_order="left")
        .with_columns(pl.col("_units").fill_null(0), pl.col("_tied").fill_null(False))
    )
    wrong = compared.filter(pl.col("billed") != pl.col("_units"))
    if not wrong.height:
        return empty(FINDINGS)
    wrong = wrong.filter(~pl.col("visit").is_in(_tie_swaps(batch, wrong, earned).implode()))
    if not wrong.height:
        return empty(FINDINGS)
    # The order the old check met the services: their first entry (then code order).
    wrong = (
        wrong.sort("visit", "first_line", "order", nulls_last=False, maintain_order=True)
        .with_row_index("_step")
        .join(batch.visits.select("visit", "rule"), on="visit", how="left", maintain_order="left")
    )
    cognitive = pl.col("service") == COGNITIVE
    family = pl.col("kind") == Kind.FIRST_AND_ADDITIONAL.value
    name = (
        pl.when(cognitive)
        .then(pl.lit("97129/97130"))
        .when(family)
        .then(pl.format("{}/{}", "service", pl.col("service").replace(_ADDON_OF)))
        .otherwise(pl.col("service"))
    )
    code = (
        pl.when(cognitive | family).then(pl.col("codes").list.first()).otherwise(pl.col("service"))
    )
    billed, units = pl.col("billed"), pl.col("_units")
    counted = (
        pl.when(family)
        .then(pl.lit("first and additional periods (RULES.md §4)"))
        .otherwise(pl.col("rule").replace_strict(_LONG_NAMES, return_dtype=pl.String))
    )
    said = (
        pl.when(pl.col("minutes").is_null())
        # billed as given (no minutes): only an untimed code's 1 unit a visit can differ
        .then(
            pl.format(
                "{} billed {} unit(s), an untimed code bills {} a visit (RULES.md §4): ",
                name,
                _text(billed),
                _text(units),
            )
        )
        .otherwise(
            pl.format(
                "{} billed {} unit(s), {} min support {} under the {}: ",
                name,
                _text(billed),
                _text("minutes"),
                _text(units),
                counted,
            )
        )
    )
    over = wrong.filter(billed > units)
    under = _left_behind(wrong.filter(billed < units), unit_values)
    return _done(
        [
            _finding(
                over,
                "units-not-supported",
                pl.format("{}{} unit(s) too many.", said, _text(billed - units)),
                code=code,
                step=pl.col("_step"),
            ),
            _finding(
                under,
                "units-not-supported",
                pl.format("{}{} unit(s){} left behind.", said, _text(units - billed), "_money"),
                code=code,
                severity="warning",
                hint=pl.lit(LEFT_BEHIND_HINT),
                step=pl.col("_step"),
            ),
        ]
    )


def _tie_swaps(batch: Batch, wrong: pl.DataFrame, earned: pl.DataFrame) -> pl.Series:
    """Visits of ``wrong`` whose differences only move a contested unit between tied services
    (RULES.md §2.5)."""
    tied_visits = wrong.group_by("visit").agg(pl.col("_tied").all()).filter("_tied")
    if not tied_visits.height:
        return pl.Series("visit", [], dtype=pl.UInt32)
    timed = (
        _keyed(batch.services.join(tied_visits, on="visit", how="semi"))
        .filter(pl.col("kind") == "timed")
        .join(earned, on="_k", how="left")
        .group_by("visit")
        .agg(
            (pl.col("billed_complete") & pl.col("billed_stated")).all().alias("_all"),
            pl.col("billed").sum().alias("_billed"),
            pl.col("_units").fill_null(0).sum().alias("_units"),
        )
    )
    return timed.filter(pl.col("_all") & (pl.col("_billed") == pl.col("_units"))).get_column(
        "visit"
    )


def _left_behind(under: pl.DataFrame, unit_values: pl.DataFrame | None) -> pl.DataFrame:
    """``under`` with ``_money``: `` ($41.40)``, what the units not billed would pay, or empty
    when some of them is not priced (or no unit values are given)."""
    if unit_values is None or not under.height:
        return under.with_columns(pl.lit("").alias("_money"))
    billed, units = pl.col("billed"), pl.col("_units")
    # The units not billed are the old check's ``unit_codes[billed:]`` (a Python slice).
    start = pl.when(billed >= 0).then(billed).otherwise(pl.max_horizontal(units + billed, 0))
    cognitive = pl.col("service") == COGNITIVE
    work = under.with_columns(
        # for the pair: 97129 once (the first unit), 97130 for the rest; else the code itself
        pl.when(cognitive & (start == 0)).then(1).otherwise(0).alias("_n_first"),
        pl.when(cognitive)
        .then(pl.max_horizontal(units - pl.max_horizontal(start, 1), 0))
        .otherwise(pl.max_horizontal(units - start, 0))
        .alias("_n_rest"),
        pl.when(cognitive)
        .then(pl.lit(COGNITIVE_PRIMARY))
        .otherwise(pl.col("service"))
        .alias("_first_code"),
        pl.when(cognitive)
        .then(pl.lit(COGNITIVE_ADDON))
        .otherwise(pl.col("service"))
        .alias("_rest_code"),
    )
    values = (
        unit_values.select(
            pl.col("visit").cast(pl.UInt32), pl.col("code").cast(pl.String), "value_cents"
        )
        .filter(pl.col("visit").is_in(under.get_column("visit").unique().implode()))
        .unique(["visit", "code"], keep="first", maintain_order=True)
    )
    for which in ("first", "rest"):
        work = work.join(
            values.rename({"code": f"_{which}_code", "value_cents": f"_{which}_value"}),
            on=["visit", f"_{which}_code"],
            how="left",
            maintain_order="left",
        )
    n_first, n_rest = pl.col("_n_first"), pl.col("_n_rest")
    v_first, v_rest = pl.col("_first_value"), pl.col("_rest_value")
    priced = ((n_first == 0) | v_first.is_not_null()) & ((n_rest == 0) | v_rest.is_not_null())
    total = (
        pl.when(n_first > 0).then(n_first * v_first).otherwise(0)
        + pl.when(n_rest > 0).then(n_rest * v_rest).otherwise(0)
    ).cast(pl.Int64)
    money = pl.when(priced).then(pl.format(" (${})", amount(total))).otherwise(pl.lit(""))
    return work.with_columns(money.alias("_money"))


def check_daily_caps(batch: Batch) -> pl.DataFrame:
    """``daily-cap``: more units of a code on a visit than its payer allows a day (RULES.md §5);
    the payer profile's ``daily_caps``, codes upper case."""
    ids = sorted(set(batch.visits.get_column("payer_id").drop_nulls().unique().to_list()))
    caps: dict[str, list[object]] = {"payer_id": [], "code": [], "_cap": [], "_name": []}
    for payer_id in ids:
        payer = batch.payers[payer_id]
        for code, cap in payer.daily_caps.items():
            caps["payer_id"].append(payer_id)
            caps["code"].append(code.strip().upper())
            caps["_cap"].append(int(cap))
            caps["_name"].append(payer.id)
    if not caps["code"]:
        return empty(FINDINGS)
    table = pl.DataFrame(
        caps,
        schema={"payer_id": pl.String, "code": pl.String, "_cap": pl.Int64, "_name": pl.String},
    ).unique(["payer_id", "code"], keep="last", maintain_order=True)
    over = (
        batch.lines.filter(pl.col("units") > 0)
        .select("visit", "code", pl.col("units").cast(pl.Int64))
        .with_row_index("_step")
        .join(
            batch.visits.select("visit", "payer_id"), on="visit", how="left", maintain_order="left"
        )
        .join(table, on=["payer_id", "code"], how="inner", maintain_order="left")
        .filter(pl.col("units") > pl.col("_cap"))
    )
    units, most = pl.col("units"), pl.col("_cap")
    return _done(
        [
            _finding(
                over,
                "daily-cap",
                pl.format(
                    "{} ×{} is above {}'s daily cap of {}: {} unit(s) would be denied.",
                    pl.col("code"),
                    _text(units),
                    pl.col("_name"),
                    _text(most),
                    _text(units - most),
                ),
                code=pl.col("code"),
                step=pl.col("_step"),
            )
        ]
    )


NOT_PAID_STATUS = {
    "B": "code-bundled",
    "I": "code-not-payable",
    "N": "code-not-payable",
    "X": "code-not-payable",
    "E": "code-not-payable",
}
"""CMS statuses (rvu.csv ``status``) under which Medicare does not pay a line, and the rule
that says so (RULES.md §4): B bundled; I not valid for Medicare; N non-covered; X, E excluded."""

_WHY = {
    "B": "is bundled by Medicare (CMS status B on {}): it is not paid separately, its payment "
    "is in the visit's other services; leave it off the Medicare claim",
    "I": "is not valid for Medicare (CMS status I on {}): Medicare uses another code for it",
    "N": "is not covered by Medicare (CMS status N on {}): Medicare does not pay it",
    "X": "is excluded from the Medicare physician fee schedule by statute (CMS status X on {}): "
    "Medicare does not pay it on this claim",
    "E": "is excluded from the Medicare physician fee schedule by regulation (CMS status E on "
    "{}): Medicare does not pay it on this claim",
}


@cache
def _status_codes() -> frozenset[str]:
    """Codes of the fee data with a row of a status Medicare does not pay."""
    from cognibill.fees.schedule import load_schedule

    return load_schedule().codes_with_status(NOT_PAID_STATUS)


@lru_cache(maxsize=8192)
def _status_on(code: str, day: dt.date) -> str | None:
    from cognibill.fees.schedule import load_schedule

    return load_schedule().status(code, day)


def check_cms_status(batch: Batch) -> pl.DataFrame:
    """``code-bundled`` (CMS status B) and ``code-not-payable`` (I, N, X, E) on the billed lines
    of visits whose payer is Medicare (``is_medicare``), by the status on the date of service
    in the fee data (RULES.md §4). A code's status is a fact about Medicare: other payers get
    neither. Warnings, not rejections: the line stays on the claim (priced at nothing, as CMS
    publishes no payable fee for these statuses) for the biller to remove or send elsewhere."""
    wanted = sorted(_status_codes())
    lines = batch.lines.filter((pl.col("units") > 0) & pl.col("code").is_in(wanted))
    if not lines.height:
        return empty(FINDINGS)
    medicare = payer_columns(
        batch.visits.select("visit", "date", "payer_id"), batch.payers, "is_medicare"
    ).filter(pl.col("is_medicare").fill_null(False))
    lines = (
        lines.select("visit", "code")
        .with_row_index("_step")
        .join(medicare.select("visit", "date"), on="visit", how="inner", maintain_order="left")
    )
    if not lines.height:
        return empty(FINDINGS)
    pairs = lines.select("code", "date").unique(maintain_order=True)
    facts = load_catalogue()
    statuses = [_status_on(c, d) for c, d in pairs.iter_rows()]
    texts: list[str | None] = []
    for (code, day), status in zip(pairs.iter_rows(), statuses, strict=True):
        if status not in _WHY:
            texts.append(None)
            continue
        text = f"{code} " + _WHY[status].format(day.isoformat())
        info = facts.get(code)
        if status == "I" and info is not None and info.medicare_code:
            text += f"; bill {info.medicare_code} instead"
        texts.append(text + ".")
    table = pairs.with_columns(
        pl.Series("_status", statuses, dtype=pl.String),
        pl.Series("message", texts, dtype=pl.String),
    ).filter(pl.col("message").is_not_null())
    found = lines.join(table, on=["code", "date"], how="inner", maintain_order="left")
    bundled = pl.col("_status") == "B"
    return _done(
        [
            _finding(
                found.filter(bundled),
                "code-bundled",
                pl.col("message"),
                code=pl.col("code"),
                step=pl.col("_step"),
            ),
            _finding(
                found.filter(~bundled),
                "code-not-payable",
                pl.col("message"),
                code=pl.col("code"),
                step=pl.col("_step"),
            ),
        ]
    )


RULES: tuple[Rule, ...] = (
    check_cognitive,
    check_adaptive,
    check_billed_units,
    check_daily_caps,
    check_cms_status,
)
"""The coding rules, in the order the old claim builder ran them (money left behind unpriced:
see ``priced_rules``), then the CMS status of the billed codes."""


def priced_rules(unit_values: pl.DataFrame) -> tuple[Rule, ...]:
    """``RULES`` with ``units-not-supported`` naming the money left behind at ``unit_values``."""
    return (
        check_cognitive,
        check_adaptive,
        partial(check_billed_units, unit_values=unit_values),
        check_daily_caps,
        check_cms_status,
    )

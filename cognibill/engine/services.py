"""Rows into services: a visit's entries checked against the code catalogue and pooled.

The services stage of the columnar engine (issue 9), after ``visits`` and before ``units``. Each
entry (a row) is looked up in the catalogue; unknown codes, codes used on or after their
deletion date and impossible minutes are left out of the units and reported (RULES.md §1, §5);
a code used before it existed is reported and kept; individual codes done with a group are
reported and pooled as their group code (97150, 92508 for 92507; RULES.md §4, §5). The kept
entries of a visit pool into one service per engine key (the code, ``cognitive`` for
97129/97130, the primary's code for another primary/add-on family such as 92605 + 92618), as the
units engine pools their minutes.

A well-formed code that is not in the catalogue and is no near miss of one (99213, not 92129) is
kept as a service of its own, kind ``not-in-catalogue``, with a ``code-not-in-catalogue``
warning: its units are the ones the input gives (1 for an entry that gives none), its minutes are
never pooled (issue 10). A service whose entries give no minutes (a units-only export) has null
``minutes``: the units stage bills its units as given.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import polars as pl

from cognibill.catalogue import COGNITIVE, COGNITIVE_PRIMARY, Kind, load_catalogue
from cognibill.engine.frames import FINDINGS, SERVICES, conform, empty
from cognibill.rules.catalogue import RULES
from cognibill.rules.codefacts import carried_as_given, code_facts, suggest_codes
from cognibill.rules.visit_facts import TELEHEALTH_MODIFIERS

FLAGS: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "any_billed": pl.Boolean,
    # Some entry kept states ``units_billed`` (group work included).
    "telehealth_modifier": pl.Boolean,
    # Some entry kept carries 95 or 93 (RULES.md §6).
    "therapy_any": pl.Boolean,
    # Some service kept is a therapy code, "always" or "sometimes" (RULES.md §6).
    "therapy_always": pl.Boolean,
    # Some service kept is an "always therapy" code.
}
"""What the later rules need to know of a visit's kept entries: one row per visit."""


class Services(NamedTuple):
    """What the services stage gives the next ones."""

    services: pl.DataFrame
    """SERVICES: one row per visit and service kept, in visit order then code order."""
    flags: pl.DataFrame
    """FLAGS: one row per visit of ``visits``, in its order."""
    findings: pl.DataFrame
    """FINDINGS: ``unknown-code``, ``code-not-in-catalogue``, ``deleted-code``,
    ``invalid-minutes``, ``before-code-existed``, ``group-session``, in entry order; ``line`` is
    the entry's."""


NOT_IN_CATALOGUE = Kind.NOT_IN_CATALOGUE.value
"""``SERVICES.kind`` of a code carried as given (not in the catalogue, no near miss of one)."""

_RANKS = 1 << 19
"""More than any code's rank (``service_rank``): a visit's services group on
``visit * _RANKS + rank``."""


def service_rank(key: str) -> int:
    """Where a service key sorts in code order, as an integer below ``_RANKS``: a 5-digit code
    is its number, a HCPCS letter code comes after them in letter then number order, the
    cognitive pair sorts as 97129. The same for every batch, and for codes not in the
    catalogue."""
    code = COGNITIVE_PRIMARY if key == COGNITIVE else key
    if code.isdigit():
        return int(code)
    return 100_000 + (ord(code[0]) - ord("A")) * 10_000 + int(code[1:])


def service_ranks(keys: pl.Series) -> pl.Series:
    """``service_rank`` of each service key of ``keys`` (Python once per distinct key)."""
    distinct = keys.unique().drop_nulls().to_list()
    return keys.replace_strict(
        distinct, [service_rank(k) for k in distinct], default=None, return_dtype=pl.UInt64
    )


@cache
def code_table() -> pl.DataFrame:
    """The catalogue as a frame, one row per code (upper case): its dates, what messages say
    of it, its role in a primary/add-on family (1 primary, 2 add-on, 0 none), and the rank of
    its service (``own_rank``) and of the service it becomes when done with a group
    (``target_rank``; its own when it is a group code), ``service_rank``s. Built once."""
    facts = code_facts()
    role = {"primary": 1, "addon": 2}
    return pl.DataFrame(
        {
            "code": list(facts),
            "valid_from": [f.valid_from for f in facts.values()],
            "deleted_on": [f.deleted_on for f in facts.values()],
            "is_group": [f.group for f in facts.values()],
            "cognitive": [f.cognitive for f in facts.values()],
            "own_rank": [service_rank(f.service) for f in facts.values()],
            "target_rank": [service_rank(facts[f.group_code].service) for f in facts.values()],
            "role": [role.get(f.role or "", 0) for f in facts.values()],
            "instead": ["/".join(f.replaced_by) or "a current code" for f in facts.values()],
            "display": [f.display for f in facts.values()],
            "target": [f.group_code for f in facts.values()],
        },
        schema={
            "code": pl.String,
            "valid_from": pl.Date,
            "deleted_on": pl.Date,
            "is_group": pl.Boolean,
            "cognitive": pl.Boolean,
            "own_rank": pl.UInt64,
            "target_rank": pl.UInt64,
            "role": pl.Int8,
            "instead": pl.String,
            "display": pl.String,
            "target": pl.String,
        },
    )


@cache
def service_table() -> pl.DataFrame:
    """The catalogue's service keys in code order (the pair sorts as 97129), one row each: its
    ``_rank`` (``service_rank``), kind and therapy status (RULES.md §4, §6). Built once."""
    catalogue = load_catalogue()
    facts = code_facts()
    keys = _service_keys()
    heads = [COGNITIVE_PRIMARY if key == COGNITIVE else key for key in keys]
    return pl.DataFrame(
        {
            "_rank": [service_rank(key) for key in keys],
            "service": keys,
            "kind": [catalogue[code].kind.value for code in heads],
            "therapy": [facts[code].therapy for code in heads],
        },
        schema={"_rank": pl.UInt64, "service": pl.String, "kind": pl.String, "therapy": pl.String},
    )


def _service_keys() -> list[str]:
    keys = {f.service for f in code_facts().values()}
    return sorted(keys, key=service_rank)


def _carried_table(codes: pl.Series) -> pl.DataFrame:
    """``[code, _carried]`` for each distinct code not in the catalogue: carried as given
    (well-formed, no near miss) or not (``unknown-code``)."""
    distinct = codes.unique().drop_nulls().to_list()
    return pl.DataFrame(
        {"code": distinct, "_carried": [carried_as_given(c) for c in distinct]},
        schema={"code": pl.String, "_carried": pl.Boolean},
    )


_OLDER = " Before 2020 cognitive intervention was 97127 or G0515 (2018-2019), 97532 before."


def _severity(rule_id: str) -> pl.Expr:
    return pl.lit(RULES[rule_id].severity.value)


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


def _finding(
    frame: pl.DataFrame,
    rule_id: str,
    message: pl.Expr,
    *,
    code: pl.Expr,
    severity: pl.Expr | None = None,
    step: int = 0,
) -> pl.DataFrame:
    """One finding per row of ``frame`` (entries), keyed for entry order (``step``: the order of
    findings of one entry)."""
    return frame.select(
        pl.col("visit"),
        pl.lit(rule_id).alias("id"),
        (_severity(rule_id) if severity is None else severity).alias("severity"),
        code.alias("code"),
        message.alias("message"),
        pl.col("line"),
        pl.col("row"),
        pl.lit(step, dtype=pl.Int8).alias("_step"),
    )


def _suggestions(codes: pl.Series) -> pl.DataFrame:
    """``; did you mean 97129?`` or ``.`` for each distinct unknown code (``suggest_codes``)."""
    distinct = codes.unique().to_list()
    guesses = []
    for code in distinct:
        near = suggest_codes(code)
        guesses.append(f"; did you mean {' or '.join(near)}?" if near else ".")
    return pl.DataFrame(
        {"code": distinct, "_guess": guesses}, schema={"code": pl.String, "_guess": pl.String}
    )


def _clean(raw: pl.Series) -> pl.DataFrame:
    """Each distinct modifier as entered, cleaned as ``rules.codes.clean_modifiers`` cleans
    one: stripped and upper case (empty when blank)."""
    distinct = raw.unique().drop_nulls().to_list()
    return pl.DataFrame(
        {"_raw": distinct, "_mod": [text.strip().upper() for text in distinct]},
        schema={"_raw": pl.String, "_mod": pl.String},
    )


def build_services(rows: pl.DataFrame, visits: pl.DataFrame) -> Services:
    """The services of ``visits`` from their ``rows`` (ROWS with ``visit``), with the flags and
    findings of RULES.md §1, §4, §5 (as ``rules.codes.prepare`` makes them, visit by visit).

    Entries keep the order of their ``row``. A service takes its first entry's line; its codes
    are the codes entered for it (before a group switch), in order of first entry; its
    modifiers those of its entries, stripped, upper case, without blanks or repeats, in entry
    order. ``billed`` sums the units billed by entries that state them (not group work switched
    to its group code; for a code carried as given, 1 for an entry that states none);
    ``billed_complete``: every entry states them; ``billed_stated``: some does. For a
    primary/add-on family (97129/97130, 92605/92618 ...) ``billed_primary``/``billed_addon``
    split them by code once some entry states them. ``minutes`` is null when no entry of the
    service gives minutes (a units-only export).
    """
    table = code_table()
    codes = table.get_column("code").to_list()
    cid = pl.col("code").replace_strict(
        codes, list(range(len(codes))), default=None, return_dtype=pl.UInt16
    )
    entries = rows.select(
        pl.col("visit").cast(pl.UInt32),
        "row",
        "line",
        "code",
        pl.col("minutes").is_not_null().alias("_timed_known"),
        pl.col("minutes").fill_null(0),
        pl.col("assistant_minutes").fill_null(0),
        pl.col("group").fill_null(False),
        "units_billed",
        "modifiers",
        cid.alias("_cid"),
    )
    if not entries.get_column("row").is_sorted():
        entries = entries.sort("row")
    # The catalogue's facts by code id, and the visit's date: gathers from short columns.
    entries = entries.with_columns(
        *(
            pl.lit(table.get_column(name)).gather(pl.col("_cid")).alias(name)
            for name in (
                "valid_from",
                "deleted_on",
                "is_group",
                "own_rank",
                "target_rank",
                "role",
            )
        ),
        _visit_dates(entries, visits),
    )
    outside = entries.filter(pl.col("_cid").is_null())
    if outside.height:
        # Codes not in the catalogue, few distinct ones: carried as given, or typos.
        carried = _carried_table(outside.get_column("code"))
        ranks = service_ranks(carried.filter("_carried").get_column("code"))
        carried = carried.join(
            carried.filter("_carried").select("code", ranks.alias("_crank")),
            on="code",
            how="left",
            maintain_order="left",
        )
        entries = entries.join(carried, on="code", how="left", maintain_order="left").with_columns(
            pl.col("_carried").fill_null(False),
            pl.col("own_rank").fill_null(pl.col("_crank")),
            pl.col("target_rank").fill_null(pl.col("_crank")),
            pl.col("is_group").fill_null(False),
        )
    else:
        entries = entries.with_columns(pl.lit(False).alias("_carried"))
    minutes = pl.col("minutes")
    assistant = pl.col("assistant_minutes")
    day = pl.col("date")
    unknown = pl.col("_cid").is_null() & ~pl.col("_carried")
    in_catalogue = pl.col("_cid").is_not_null()
    deleted = in_catalogue & pl.col("deleted_on").is_not_null() & (day >= pl.col("deleted_on"))
    invalid = ~unknown & ~deleted & ((minutes < 0) | (assistant < 0) | (assistant > minutes))
    entries = entries.with_columns(
        unknown.alias("_unknown"),
        deleted.fill_null(False).alias("_deleted"),
        invalid.fill_null(False).alias("_invalid"),
    )
    kept = entries.filter(~pl.col("_unknown") & ~pl.col("_deleted") & ~pl.col("_invalid"))
    # group work of a catalogue code bills as its group code; a code carried as given stays
    switched = pl.col("group") & ~pl.col("is_group") & ~pl.col("_carried")
    rank = pl.when(switched).then(pl.col("target_rank")).otherwise(pl.col("own_rank"))
    kept = kept.with_columns(
        switched.alias("_switched"),
        (pl.col("visit").cast(pl.UInt64) * _RANKS + rank).alias("_k"),
    )
    findings = _findings(entries, kept)
    # A stable sort on the one integer key keeps row order within a service; grouping sorted
    # runs is polars' fast path, and the groups come out in visit then code order.
    kept = kept.select(
        "_k",
        "visit",
        "code",
        "minutes",
        "_timed_known",
        "assistant_minutes",
        "line",
        "units_billed",
        "_switched",
        "_carried",
        "role",
        "modifiers",
    ).sort("_k", maintain_order=True)
    mods = _modifiers(kept)
    services = _pool(kept, mods)
    flags = _flags(services, mods, visits)
    return Services(conform(services, SERVICES), flags, findings)


def _visit_dates(entries: pl.DataFrame, visits: pl.DataFrame) -> pl.Expr:
    """The ``date`` of each entry's visit: gathered by position when the visit ids are one run
    (as the visits stage numbers them), else joined."""
    ids = visits.get_column("visit").cast(pl.Int64)
    dates = visits.get_column("date")
    if ids.len() and (ids.len() == 1 or bool((ids.diff().drop_nulls() == 1).all())):
        return pl.lit(dates).gather(pl.col("visit").cast(pl.Int64) - ids[0]).alias("date")
    lookup = entries.select("visit").join(
        visits.select(pl.col("visit").cast(pl.UInt32), "date"),
        on="visit",
        how="left",
        maintain_order="left",
    )
    return pl.lit(lookup.get_column("date")).alias("date")


def _findings(entries: pl.DataFrame, kept: pl.DataFrame) -> pl.DataFrame:
    """The entries' findings in entry order (``before-code-existed`` before ``group-session``
    for one entry)."""
    parts: list[pl.DataFrame] = []
    words = code_table().select("code", "cognitive", "instead", "display", "target")
    entries = entries.filter(pl.col("_unknown") | pl.col("_deleted") | pl.col("_invalid"))
    carried = kept.filter(pl.col("_carried"))
    kept = kept.filter(
        pl.col("_switched")
        | (pl.col("valid_from").is_not_null() & (pl.col("date") < pl.col("valid_from")))
    ).join(words, on="code", how="left", maintain_order="left")
    code = pl.col("code")
    minutes = _text("minutes")
    day = _text("date")
    unknown = entries.filter(pl.col("_unknown"))
    if unknown.height:
        unknown = unknown.join(
            _suggestions(unknown.get_column("code")), on="code", how="left", maintain_order="left"
        )
        parts.append(
            _finding(
                unknown,
                "unknown-code",
                pl.when(pl.col("_timed_known"))
                .then(
                    pl.format(
                        "{} is not a code in scope{} Its {} min were left out of the units.",
                        code,
                        pl.col("_guess"),
                        minutes,
                    )
                )
                .otherwise(
                    pl.format(
                        "{} is not a code in scope{} It was left out of the claim.",
                        code,
                        pl.col("_guess"),
                    )
                ),
                code=code,
            )
        )
    if carried.height:
        units = pl.col("units_billed")
        given = (
            pl.when(units.is_null())
            .then(pl.lit("1 unit: none given"))
            .when(units == 1)
            .then(pl.lit("1 unit"))
            .otherwise(pl.format("{} units", _text("units_billed")))
        )
        timed = (
            pl.when(pl.col("_timed_known") & (pl.col("minutes") > 0))
            .then(pl.format("; its {} min were not counted toward the timed total", minutes))
            .otherwise(pl.lit(""))
        )
        parts.append(
            _finding(
                carried,
                "code-not-in-catalogue",
                pl.format(
                    "{} is not in cognibill's catalogue: carried as given ({}), units not "
                    "checked{}.",
                    code,
                    given,
                    timed,
                ),
                code=code,
            )
        )
    deleted = entries.filter(pl.col("_deleted")).join(
        words, on="code", how="left", maintain_order="left"
    )
    if deleted.height:
        parts.append(
            _finding(
                deleted,
                "deleted-code",
                pl.format(
                    "{} was deleted on {} and cannot be billed on {}; use {}. Its minutes were "
                    "left out of the units.",
                    code,
                    _text("deleted_on"),
                    day,
                    pl.col("instead"),
                ),
                code=code,
            )
        )
    invalid = entries.filter(pl.col("_invalid"))
    if invalid.height:
        assistant = _text("assistant_minutes")
        what = (
            pl.when(pl.col("minutes") < 0)
            .then(pl.format("{} minutes cannot be negative", minutes))
            .when(pl.col("assistant_minutes") < 0)
            .then(pl.format("assistant minutes {} cannot be negative", assistant))
            .otherwise(pl.format("assistant minutes {} exceed the {} min", assistant, minutes))
        )
        parts.append(
            _finding(
                invalid,
                "invalid-minutes",
                pl.format("{}: {}; the entry was left out of the units.", code, what),
                code=code,
            )
        )
    early = kept.filter(
        pl.col("valid_from").is_not_null() & (pl.col("date") < pl.col("valid_from"))
    )
    if early.height:
        older = pl.when(pl.col("cognitive")).then(pl.lit(_OLDER)).otherwise(pl.lit(""))
        parts.append(
            _finding(
                early,
                "before-code-existed",
                pl.format(
                    "{} did not exist on {}: it is valid from {}.{}",
                    code,
                    day,
                    _text("valid_from"),
                    older,
                ),
                code=code,
            )
        )
    group = kept.filter(pl.col("_switched"))
    if group.height:
        billed = pl.col("units_billed").is_not_null()
        target = pl.col("target")
        message = (
            pl.when(billed)
            .then(
                pl.format(
                    "{} ×{} billed for group work: a group bills as {} ×1 per patient, not {}; "
                    "the claim lines use {}.",
                    code,
                    _text("units_billed"),
                    target,
                    pl.col("display"),
                    target,
                )
            )
            .otherwise(
                pl.format(
                    "{} for a group bills as {} ×1 per patient ({} min, untimed); the claim "
                    "lines use {}.",
                    code,
                    target,
                    minutes,
                    target,
                )
            )
        )
        severity = pl.when(billed).then(pl.lit("error")).otherwise(_severity("group-session"))
        parts.append(
            _finding(group, "group-session", message, code=code, severity=severity, step=1)
        )
    if not parts:
        return empty(FINDINGS)
    return conform(pl.concat(parts).sort("visit", "row", "_step"), FINDINGS)


def _modifiers(kept: pl.DataFrame) -> pl.DataFrame:
    """The kept entries' modifiers, cleaned, one row per entry and modifier, in the order of
    ``kept`` (sorted on ``_k``)."""
    exploded = kept.select("visit", "_k", "modifiers").explode(
        "modifiers", keep_nulls=False, empty_as_null=False
    )
    clean = _clean(exploded.get_column("modifiers"))
    return (
        exploded.join(
            clean, left_on="modifiers", right_on="_raw", how="inner", maintain_order="left"
        )
        .filter(pl.col("_mod") != "")
        .select("visit", "_k", "_mod")
        .set_sorted("_k")
    )


def _pool(kept: pl.DataFrame, mods: pl.DataFrame) -> pl.DataFrame:
    """One row per visit and service of ``kept`` (sorted on ``_k``), in visit then code order
    (SERVICES columns, and ``therapy`` and ``_any_billed`` for the flags)."""
    if not kept.height:
        return empty(SERVICES).with_columns(
            pl.lit(None, dtype=pl.String).alias("therapy"),
            pl.lit(None, dtype=pl.Boolean).alias("_any_billed"),
        )
    given = pl.col("units_billed").is_not_null()
    stated = (given & ~pl.col("_switched")) | pl.col("_carried")
    billed = (
        pl.when(given & ~pl.col("_switched"))
        .then(pl.col("units_billed"))
        .when(pl.col("_carried"))
        .then(1)
        .otherwise(0)
        .cast(pl.Int32)
    )
    role = pl.col("role").fill_null(0)
    # Plain column aggregations only: polars runs them on sorted groups without per-group work.
    work = kept.select(
        "_k",
        "visit",
        "code",
        "minutes",
        "_timed_known",
        "assistant_minutes",
        "line",
        billed.alias("billed"),
        stated.alias("billed_stated"),
        given.alias("_given"),
        pl.when(role == 1).then(billed).otherwise(0).alias("_primary"),
        pl.when(role == 2).then(billed).otherwise(0).alias("_addon"),
        (role > 0).alias("_family"),
        given.alias("_any_billed"),
    ).set_sorted("_k")
    pooled = work.group_by("_k", maintain_order=True).agg(
        pl.col("visit").first(),
        pl.col("minutes").sum().cast(pl.Int32),
        pl.col("_timed_known").any(),
        pl.col("assistant_minutes").sum().cast(pl.Int32),
        pl.col("billed").sum().cast(pl.Int32),
        pl.col("billed_stated").all().alias("billed_complete"),
        pl.col("billed_stated").any(),
        pl.col("_given").any(),
        pl.col("_primary").sum().cast(pl.Int32),
        pl.col("_addon").sum().cast(pl.Int32),
        pl.col("_family").any(),
        pl.col("line").first().alias("first_line"),
        pl.col("_any_billed").any(),
    )
    codes = work.group_by("_k", maintain_order=True).agg(
        pl.col("code").unique(maintain_order=True).alias("codes")
    )
    merged = mods.group_by("_k", maintain_order=True).agg(
        pl.col("_mod").unique(maintain_order=True).alias("modifiers")
    )
    pooled = pooled.with_columns((pl.col("_k") % _RANKS).alias("_rank"))
    pair = pl.col("_family") & pl.col("_given")
    table, at = _services_of(pooled, codes)
    pooled = (
        pooled.with_columns(
            *(pl.lit(table.get_column(name)).gather(at).alias(name) for name in table.columns),
            codes.get_column("codes"),
        )
        .join(merged, on="_k", how="left", maintain_order="left")
        .with_columns(
            pl.col("modifiers").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.when(pl.col("_timed_known")).then(pl.col("minutes")).alias("minutes"),
            pl.when(pair).then(pl.col("_primary")).alias("billed_primary"),
            pl.when(pair).then(pl.col("_addon")).alias("billed_addon"),
        )
        .with_row_index("_i")
    )
    # Ranks on sorted runs: a service's order is its index less its visit's first index.
    new_visit = pl.col("visit").ne_missing(pl.col("visit").shift(1))
    first = pl.when(new_visit).then(pl.col("_i")).forward_fill()
    return pooled.with_columns((pl.col("_i") - first).cast(pl.UInt16).alias("order"))


@cache
def _rank_positions() -> pl.Series:
    """Position in ``service_table`` of each rank below ``_RANKS`` (null: no catalogue key)."""
    positions: list[int | None] = [None] * _RANKS
    for i, rank in enumerate(service_table().get_column("_rank").to_list()):
        positions[rank] = i
    return pl.Series("_at", positions, dtype=pl.UInt32)


def _services_of(pooled: pl.DataFrame, codes: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """``[service, kind, therapy]`` of the service keys of ``pooled``, and where each row of
    ``pooled`` is in it: the catalogue's keys, and a code carried as given (a rank no catalogue
    key has) as a service of its own."""
    known = service_table().select("service", "kind", "therapy")
    ranks = pooled.get_column("_rank")
    at = _rank_positions().gather(ranks)
    missing = at.is_null()
    if not missing.any():
        return known, at
    extra = (
        pooled.select("_rank", codes.get_column("codes").list.first().alias("service"))
        .filter(missing)
        .unique("_rank", maintain_order=True)
    )
    table = pl.concat(
        [
            known,
            extra.select(
                "service",
                pl.lit(NOT_IN_CATALOGUE).alias("kind"),
                pl.lit(None, dtype=pl.String).alias("therapy"),
            ),
        ]
    )
    extra_at = pl.Series(range(known.height, table.height), dtype=pl.UInt32)
    found = ranks.filter(missing).replace_strict(
        extra.get_column("_rank"), extra_at, return_dtype=pl.UInt32
    )
    return table, at.scatter(missing.arg_true(), found)


def _flags(services: pl.DataFrame, mods: pl.DataFrame, visits: pl.DataFrame) -> pl.DataFrame:
    """``FLAGS`` of every visit (False when none of its entries is kept)."""
    therapy = pl.col("therapy")
    # ``services`` come in visit order: sorted runs again.
    by_visit = (
        services.set_sorted("visit")
        .group_by("visit", maintain_order=True)
        .agg(
            pl.col("_any_billed").any().alias("any_billed"),
            therapy.is_not_null().any().alias("therapy_any"),
            (therapy == "always").any().alias("therapy_always"),
        )
    )
    telehealth = (
        mods.filter(pl.col("_mod").is_in(sorted(TELEHEALTH_MODIFIERS)))
        .select("visit")
        .unique()
        .with_columns(pl.lit(True).alias("telehealth_modifier"))
    )
    out = (
        visits.select(pl.col("visit").cast(pl.UInt32))
        .join(by_visit, on="visit", how="left", maintain_order="left")
        .join(telehealth, on="visit", how="left", maintain_order="left")
    )
    return conform(out, FLAGS).with_columns(pl.exclude("visit").fill_null(False))

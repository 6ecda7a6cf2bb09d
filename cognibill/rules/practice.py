"""Who furnished a visit and the modifiers that follow from it, on whole frames (RULES.md §6).

``line_modifiers`` is the stage that gives each billed service its claim modifiers (GN/GO/GP from
the discipline, CQ/CO above 10% assistant minutes, the input's others kept) with the
``discipline-modifier`` and ``assistant-modifier`` findings; ``check_provider`` is the rule for
``unqualified-provider`` and ``slp-97000-series``. Messages are built from columns, only for the
rows that report; Python runs once per distinct service key, payer, modifier list, modifier
recipe (which GN/GO/GP and CQ/CO a line takes) and (assistant minutes, minutes) pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache

import polars as pl

from cognibill.catalogue import COGNITIVE, COGNITIVE_PRIMARY, load_catalogue
from cognibill.engine.frames import FINDINGS, SERVICES, Batch, empty, payer_columns
from cognibill.engine.visits import of_visits, visit_columns
from cognibill.models import Discipline
from cognibill.rules.catalogue import RULES as CATALOGUE
from cognibill.rules.context import PayerPolicy

THERAPISTS = frozenset({Discipline.PT, Discipline.OT, Discipline.SLP})
ASSISTANTS = frozenset({Discipline.PTA, Discipline.OTA})
PRACTITIONERS = frozenset(
    {Discipline.PHYSICIAN, Discipline.PSYCHOLOGIST, Discipline.NP, Discipline.CNS, Discipline.PA}
)
"""Qualified to bill 97129/97130 outside a therapy plan of care, without GN/GO/GP."""
UNQUALIFIED = frozenset({Discipline.AIDE, Discipline.OTHER})

DISCIPLINE_MODIFIER = {
    Discipline.PT: "GP",
    Discipline.PTA: "GP",
    Discipline.OT: "GO",
    Discipline.OTA: "GO",
    Discipline.SLP: "GN",
}
ASSISTANT_MODIFIER = {
    Discipline.PT: "CQ",
    Discipline.PTA: "CQ",
    Discipline.OT: "CO",
    Discipline.OTA: "CO",
}
THERAPY_MODIFIERS = ("GP", "GO", "GN")
ASSISTANT_MODIFIERS = ("CQ", "CO")

NAMES = {
    Discipline.PT: "PT",
    Discipline.OT: "OT",
    Discipline.SLP: "SLP",
    Discipline.PTA: "PT assistant",
    Discipline.OTA: "OT assistant",
    Discipline.PHYSICIAN: "physician",
    Discipline.PSYCHOLOGIST: "psychologist",
    Discipline.NP: "nurse practitioner",
    Discipline.CNS: "clinical nurse specialist",
    Discipline.PA: "physician assistant",
    Discipline.AIDE: "therapy aide",
    Discipline.OTHER: "provider of another discipline",
}
UNKNOWN_NAME = "provider of unknown discipline"

UNQUALIFIED_HINT = (
    "Bill only time of a PT, OT, SLP, physician, psychologist, NP, CNS or PA, or a supervised "
    "PT/OT assistant (with CQ/CO)."
)
NO_ASSISTANT_MODIFIER_HINT = (
    "CQ/CO exist only for PT and OT assistants; there is no SLP-assistant modifier."
)

_NO_MODIFIERS = pl.lit([], dtype=pl.List(pl.String))
MODIFIERS: dict[str, pl.DataType | type[pl.DataType]] = {
    "visit": pl.UInt32,
    "service": pl.String,
    "modifiers": pl.List(pl.String),
}
"""What ``line_modifiers`` gives: the modifiers every claim line of a billed service carries."""


def _values(disciplines: Iterable[Discipline]) -> list[str]:
    return sorted(d.value for d in disciplines)


def _among(disciplines: Iterable[Discipline]) -> pl.Expr:
    return pl.col("discipline").is_in(_values(disciplines)).fill_null(False)


def _by_discipline(table: Mapping[Discipline, str]) -> pl.Expr:
    mapping = {d.value: text for d, text in table.items()}
    return pl.col("discipline").replace_strict(mapping, default=None, return_dtype=pl.String)


def _severity(rule_id: str) -> str:
    return CATALOGUE[rule_id].severity.value


# -- what the rules need of each service code ----------------------------------------------------


@cache
def _code_facts() -> dict[str, tuple[str | None, bool, bool, str]]:
    """Per service key: (therapy, group, 97000-series, how messages name it)."""
    out: dict[str, tuple[str | None, bool, bool, str]] = {}
    for info in load_catalogue():
        out[info.code] = (info.therapy, info.group, info.code.startswith("97"), info.code)
    primary = load_catalogue()[COGNITIVE_PRIMARY]
    out[COGNITIVE] = (primary.therapy, False, True, "97129/97130")
    return out


def _facts(services: pl.DataFrame) -> pl.DataFrame:
    """The catalogue facts of each distinct service key of ``services``."""
    keys = sorted(services.get_column("service").unique().drop_nulls().to_list())
    table = _code_facts()
    # a code not in the catalogue (carried as given): not known to be therapy, so its
    # modifiers are the input's own
    rows = [table.get(key, (None, False, key.startswith("97"), key)) for key in keys]
    return pl.DataFrame(
        {
            "service": keys,
            "therapy": [r[0] for r in rows],
            "is_group": [r[1] for r in rows],
            "series_97000": [r[2] for r in rows],
            "display": [r[3] for r in rows],
        },
        schema={
            "service": pl.String,
            "therapy": pl.String,
            "is_group": pl.Boolean,
            "series_97000": pl.Boolean,
            "display": pl.String,
        },
    )


_FACT_CODE = (
    pl.when(pl.col("service") == COGNITIVE)
    .then(pl.col("codes").list.first())
    .otherwise(pl.col("service"))
)
"""The code findings name (``Finding.code``): the pair's first code entered, else the service."""


def _findings(
    frame: pl.DataFrame,
    rule_id: str,
    severity: str | None = None,
    hint: pl.Expr | None = None,
    code: pl.Expr | None = None,
) -> pl.DataFrame:
    """FINDINGS rows of ``rule_id`` (the catalogue's severity and hint unless given; the code
    of the service unless given) from ``frame``'s ``visit`` and ``message``, plus the ordering
    columns ``_i``, ``_seq``."""
    sev = pl.lit(_severity(rule_id) if severity is None else severity)
    own = pl.lit(None, dtype=pl.String) if hint is None else hint
    extra = [c for c in ("_i", "_seq") if c in frame.columns]
    return frame.select(
        pl.col("visit").cast(pl.UInt32),
        pl.lit(rule_id, dtype=pl.String).alias("id"),
        sev.cast(pl.String).alias("severity"),
        (_FACT_CODE if code is None else code).cast(pl.String).alias("code"),
        pl.col("message").cast(pl.String),
        pl.lit(None, dtype=pl.Int64).alias("line"),
        own.cast(pl.String).alias("hint"),
        *extra,
    )


def _finish(parts: list[pl.DataFrame], order: list[str]) -> pl.DataFrame:
    parts = [p for p in parts if p.height]
    if not parts:
        return empty(FINDINGS)
    return pl.concat(parts, how="vertical").sort(order, maintain_order=True).select(list(FINDINGS))


# -- modifiers (discipline-modifier, assistant-modifier) -----------------------------------------

_DERIVED_INDEX = {"GP": 1, "GO": 2, "GN": 3}
"""``t`` of a recipe: 0 keeps the input's GN/GO/GP, else the one derived from the discipline."""
_DERIVED_OF = {index: mod for mod, index in _DERIVED_INDEX.items()}
_ASSISTANT_INDEX = {"CQ": 1, "CO": 2}
"""``a`` of a recipe: 0 no CQ/CO, 1 CQ, 2 CO, 3 the input's own (no discipline to tell)."""
_ASSISTANT_OF = {index: mod for mod, index in _ASSISTANT_INDEX.items()}
_KEEP_STATED = 3


def _given_table(given: pl.Series) -> pl.DataFrame:
    """What the rules read of each distinct modifier list (``given``: its distinct values):
    its id ``_g`` and counts, firsts and joined texts of its GN/GO/GP and CQ/CO."""
    lists: list[list[str]] = given.to_list()
    cols: dict[str, list[object]] = {
        name: [] for name in ("n_given", "n_t", "t0", "t_text", "g_text", "n_a", "a0", "a1")
    }
    cols["has_cq"], cols["has_co"] = [], []
    for mods in lists:
        stated_t = [m for m in mods if m in THERAPY_MODIFIERS]
        stated_a = [m for m in mods if m in ASSISTANT_MODIFIERS]
        values: dict[str, object] = {
            "n_given": len(mods),
            "n_t": len(stated_t),
            "t0": stated_t[0] if stated_t else None,
            "t_text": " and ".join(stated_t),
            "g_text": ", ".join(mods),
            "n_a": len(stated_a),
            "a0": stated_a[0] if stated_a else None,
            "a1": stated_a[1] if len(stated_a) > 1 else None,
            "has_cq": "CQ" in stated_a,
            "has_co": "CO" in stated_a,
        }
        for name, value in values.items():
            cols[name].append(value)
    counts = {"n_given": pl.UInt32, "n_t": pl.UInt32, "n_a": pl.UInt32}
    return pl.DataFrame(
        {"modifiers": given, "_g": list(range(len(lists))), **cols},
        schema={
            "modifiers": pl.List(pl.String),
            "_g": pl.Int64,
            **counts,
            **{name: pl.String for name in ("t0", "t_text", "g_text", "a0", "a1")},
            "has_cq": pl.Boolean,
            "has_co": pl.Boolean,
        },
    )


def _recipe_table(recipes: pl.Series, given: pl.Series) -> pl.DataFrame:
    """The claim modifiers of each distinct recipe ``_g * 16 + t * 4 + a``: GN/GO/GP, then
    CQ/CO, then the input's other modifiers in their order."""
    lists: list[list[str]] = given.to_list()
    codes = recipes.drop_nulls().to_list()
    out: list[list[str]] = []
    for recipe in codes:
        mods = lists[recipe // 16]
        t, a = (recipe // 4) % 4, recipe % 4
        therapy = [_DERIVED_OF[t]] if t else [m for m in mods if m in THERAPY_MODIFIERS]
        if a == _KEEP_STATED:
            assistant = [m for m in mods if m in ASSISTANT_MODIFIERS]
        else:
            assistant = [_ASSISTANT_OF[a]] if a else []
        others = [m for m in mods if m not in THERAPY_MODIFIERS and m not in ASSISTANT_MODIFIERS]
        out.append(therapy + assistant + others)
    return pl.DataFrame(
        {"_recipe": codes, "_claim": out},
        schema={"_recipe": pl.Int64, "_claim": pl.List(pl.String)},
    )


def _percent(part: int, whole: int) -> str:
    """The assistant's share as the old messages write it (one decimal, ``.0`` dropped)."""
    if whole <= 0:
        return "0"
    text = f"{part * 100 / whole:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _shares(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``share`` (``5 of 38 min (13.2%)``), formatted once per distinct pair."""
    pairs = frame.select("assisted", "minutes").unique().drop_nulls()
    a = pairs.get_column("assisted").to_list()
    m = pairs.get_column("minutes").to_list()
    table = pairs.with_columns(
        pl.Series("_pct", [_percent(x, y) for x, y in zip(a, m, strict=True)], dtype=pl.String)
    )
    joined = frame.join(table, on=["assisted", "minutes"], how="left", maintain_order="left")
    return joined.with_columns(
        pl.when(pl.col("minutes").is_null())
        .then(pl.lit("the whole service (the file gives no minutes)"))
        .otherwise(pl.format("{} of {} min ({}%)", "assisted", "minutes", "_pct"))
        .alias("share")
    ).drop("_pct")


def _billed_only(services: pl.DataFrame, billed: pl.DataFrame) -> pl.DataFrame:
    """The rows of ``services`` whose (visit, service) is in ``billed`` (units > 0 when it has
    ``units``), in visit then code order, numbered ``_i``."""
    if "units" in billed.columns:
        runs = _line_runs(services, billed)
        if runs is not None:
            return _in_code_order(services.filter(runs))
        billed = billed.select("visit", "service", "units").filter(pl.col("units") > 0)
    keys = sorted(services.get_column("service").unique().drop_nulls().to_list())
    index = {key: number for number, key in enumerate(keys)}

    def packed(frame: pl.DataFrame) -> pl.Expr:
        service = pl.col("service").replace_strict(index, default=None, return_dtype=pl.UInt64)
        return pl.col("visit").cast(pl.UInt64) * (len(keys) + 1) + service

    wanted = billed.select(packed(billed).alias("_k")).get_column("_k").drop_nulls()
    return _in_code_order(services.filter(packed(services).is_in(wanted.implode())))


def _line_runs(services: pl.DataFrame, lines: pl.DataFrame) -> pl.Series | None:
    """Per service: whether one of its lines bills a unit, when ``lines`` are the services'
    lines in their order (each service one run of lines); else None."""
    keys = lines.select(
        pl.struct("visit", "service").rle_id().alias("_run"), (pl.col("units") > 0).alias("_b")
    )
    runs = keys.group_by("_run", maintain_order=True).agg(pl.col("_b").any())
    if runs.height != services.height:
        return None
    starts = keys.get_column("_run").is_first_distinct()
    heads = lines.select("visit", "service").filter(starts)
    same = heads.get_column("visit").equals(services.get_column("visit")) and heads.get_column(
        "service"
    ).equals(services.get_column("service"))
    return runs.get_column("_b").fill_null(False) if same else None


def _in_code_order(kept: pl.DataFrame) -> pl.DataFrame:
    ordered = (
        pl.col("visit").cast(pl.UInt64) * 65536 + pl.col("order").cast(pl.UInt64)
    ).is_sorted()
    if not kept.select(ordered).item():
        kept = kept.sort(["visit", "order"], maintain_order=True)
    return kept.with_row_index("_i")


def _with_visit_columns(
    frame: pl.DataFrame, visits: pl.DataFrame, names: tuple[str, ...]
) -> pl.DataFrame:
    """``frame`` with the named columns of its visits: gathered by position when the visits are
    numbered without gaps (as the visits stage numbers them), else joined."""
    ids = visits.get_column("visit").cast(pl.Int64)
    if ids.len() and frame.height:
        first = ids[0]
        own = frame.get_column("visit").cast(pl.Int64)
        numbered = bool((ids - pl.int_range(0, ids.len(), eager=True) == first).all())
        within = own.min() >= first and own.max() < first + ids.len()
        if numbered and within:
            position = pl.col("visit").cast(pl.Int64) - first
            return frame.with_columns(
                pl.lit(visits.get_column(name)).gather(position).alias(name) for name in names
            )
    return frame.join(visits.select("visit", *names), on="visit", how="left", maintain_order="left")


def line_modifiers(
    services: pl.DataFrame,
    visits: pl.DataFrame,
    payers: Mapping[str, PayerPolicy],
    billed: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The modifiers of each billed service's claim lines, and the ``discipline-modifier`` and
    ``assistant-modifier`` findings (RULES.md §6).

    ``services`` is a SERVICES frame, ``visits`` a VISITS frame (``discipline``, ``has_plan``,
    ``payer_id``), ``billed`` the services that bill at least one unit: a frame with ``visit``
    and ``service`` (a LINES frame will do: rows with ``units`` 0 are left out). For payers that
    require discipline modifiers a line gets GN/GO/GP from the discipline, CQ/CO when an
    assistant furnished more than 10% of the minutes, then the input's other modifiers; other
    payers get the input's modifiers.

    Returns ``(modifiers, findings)``: ``modifiers`` (MODIFIERS) has one row per billed
    service, visits in order, services in code order; ``findings`` is a FINDINGS frame in the
    order the old per-visit code reported them (by visit, service, then the discipline modifier
    before the assistant ones).
    """
    needed = ("visit", "service", "codes", "minutes", "assistant_minutes", "modifiers", "order")
    base = _billed_only(services.select(needed), billed)
    attrs = payer_columns(
        visits.select("visit", "discipline", "has_plan", "payer_id"),
        payers,
        "requires_discipline_modifiers",
    )
    base = (
        _with_visit_columns(
            base, attrs, ("discipline", "has_plan", "requires_discipline_modifiers")
        )
        .join(_facts(base), on="service", how="left", maintain_order="left")
        .with_columns(pl.col("modifiers").fill_null(_NO_MODIFIERS))
    )
    distinct = base.get_column("modifiers").unique()
    given = _given_table(distinct)
    therapy, derived, expected = pl.col("therapy"), pl.col("derived"), pl.col("expected")
    frame = (
        base.join(given, on="modifiers", how="left", maintain_order="left")
        .with_columns(
            pl.col("requires_discipline_modifiers").fill_null(False).alias("req"),
            _by_discipline(DISCIPLINE_MODIFIER).alias("derived"),
            _by_discipline(ASSISTANT_MODIFIER).alias("expected"),
            (
                therapy.is_not_null()
                & ~_among(UNQUALIFIED)
                & (
                    _among(THERAPISTS | ASSISTANTS)
                    | (therapy == "always")
                    | pl.col("has_plan").fill_null(False)
                )
            ).alias("needs"),
            pl.when(_among(ASSISTANTS))
            .then(pl.col("minutes"))
            .otherwise(pl.col("assistant_minutes"))
            .cast(pl.Int64)
            .alias("assisted"),
        )
        .with_columns(
            # units without minutes (RULES.md §11): an assistant's service is theirs throughout
            pl.when(pl.col("minutes").is_null())
            .then(_among(ASSISTANTS))
            .otherwise(pl.col("assisted") * 10 > pl.col("minutes").cast(pl.Int64))
            .alias("due"),
            pl.when(expected == "CQ")
            .then(pl.col("has_cq"))
            .when(expected == "CO")
            .then(pl.col("has_co"))
            .otherwise(False)
            .alias("has_expected"),
        )
    )
    t = (
        pl.when(pl.col("needs") & derived.is_not_null())
        .then(derived.replace_strict(_DERIVED_INDEX, default=0, return_dtype=pl.Int64))
        .otherwise(0)
    )
    a = (
        pl.when((pl.col("assisted") == 0) & (pl.col("n_a") == 0))
        .then(0)
        .when(pl.col("discipline").is_null())
        .then(_KEEP_STATED)
        .when(expected.is_null())
        .then(0)
        .when(pl.col("due") | pl.col("has_expected"))
        .then(expected.replace_strict(_ASSISTANT_INDEX, default=0, return_dtype=pl.Int64))
        .otherwise(0)
    )
    frame = frame.with_columns(
        pl.when(pl.col("req")).then(pl.col("_g") * 16 + t * 4 + a).alias("_recipe")
    )
    recipes = _recipe_table(frame.get_column("_recipe").unique(), distinct)
    modifiers = frame.join(recipes, on="_recipe", how="left", maintain_order="left").select(
        pl.col("visit").cast(pl.UInt32),
        pl.col("service").cast(pl.String),
        pl.when(pl.col("req"))
        .then(pl.col("_claim"))
        .otherwise(pl.col("modifiers"))
        .alias("modifiers"),
    )
    checked = frame.drop("modifiers").filter(pl.col("req"))
    return modifiers, _finish(
        [_discipline_findings(checked), *_assistant_findings(checked)], ["_i", "_seq"]
    )


def _discipline_findings(frame: pl.DataFrame) -> pl.DataFrame:
    """``discipline-modifier``: GN/GO/GP several, wrong, missing beside other modifiers, or not
    to be told from the discipline."""
    derived, n_t = pl.col("derived"), pl.col("n_t")
    case = (
        pl.when(~pl.col("needs"))
        .then(0)
        .when(n_t > 1)
        .then(1)
        .when(derived.is_not_null() & (n_t == 1) & (pl.col("t0") != derived))
        .then(2)
        .when(derived.is_not_null() & (pl.col("n_given") > 0) & (n_t == 0))
        .then(3)
        .when(derived.is_null() & (n_t == 0))
        .then(4)
        .otherwise(0)
    )
    found = frame.filter(case > 0)
    if not found.height:
        return empty(FINDINGS)
    code, who = pl.col("display"), pl.col("who")
    message = (
        pl.when(case == 1)
        .then(
            pl.concat_str(
                code,
                pl.lit(" carries "),
                pl.col("t_text"),
                pl.lit(": a line takes exactly one of GN/GO/GP"),
                pl.when(derived.is_not_null())
                .then(pl.format("; the {}'s lines take {}.", who, derived))
                .otherwise(pl.lit(".")),
            )
        )
        .when(case == 2)
        .then(
            pl.format(
                "{} carries {} but the {}'s lines need {}; the claim lines use {}.",
                code,
                pl.col("t0"),
                who,
                derived,
                derived,
            )
        )
        .when(case == 3)
        .then(
            pl.format(
                "{} lists {} but no GN/GO/GP; the {}'s lines need {}; the claim lines add it.",
                code,
                pl.col("g_text"),
                who,
                derived,
            )
        )
        .otherwise(
            pl.format(
                "{} needs GP, GO or GN under a therapy plan of care, and a {} gives no way to "
                "tell which: name the plan's discipline with a modifier.",
                code,
                who,
            )
        )
    )
    found = found.with_columns(_WHO).with_columns(message.alias("message"), pl.lit(0).alias("_seq"))
    return _findings(found, "discipline-modifier")


_WHO = _by_discipline(NAMES).fill_null(UNKNOWN_NAME).alias("who")


def _assistant_findings(frame: pl.DataFrame) -> list[pl.DataFrame]:
    """``assistant-modifier``: CQ/CO on the wrong discipline's line (error), then missing above
    10%, stated at or below 10%, or assistant minutes where no modifier exists (warnings)."""
    unmeasured = pl.col("minutes").is_null() & pl.col("due").fill_null(False)
    active = frame.filter((pl.col("assisted") > 0) | (pl.col("n_a") > 0) | unmeasured)
    if not active.height:
        return []
    code, who, share = pl.col("display"), pl.col("who"), pl.col("share")
    expected, due, has_expected = pl.col("expected"), pl.col("due"), pl.col("has_expected")
    known = pl.col("discipline").is_not_null()
    parts: list[pl.DataFrame] = []
    for slot, column in enumerate(("a0", "a1")):
        mod = pl.col(column)
        wrong = active.filter(known & mod.is_not_null() & mod.ne_missing(expected))
        if not wrong.height:
            continue
        kind = pl.when(mod == "CQ").then(pl.lit("PT")).otherwise(pl.lit("OT"))
        partner = pl.when(mod == "CQ").then(pl.lit("GP")).otherwise(pl.lit("GO"))
        right = (
            pl.when(expected.is_not_null())
            .then(pl.format("; a {}'s assistant takes {}", who, expected))
            .otherwise(pl.lit(""))
        )
        wrong = wrong.with_columns(_WHO).with_columns(
            pl.format(
                "{} carries {}, which is for {} assistants (with {}), on a {}'s line{}.",
                code,
                mod,
                kind,
                partner,
                who,
                right,
            ).alias("message"),
            pl.lit(1 + slot).alias("_seq"),
        )
        parts.append(_findings(wrong, "assistant-modifier", "error"))
    wrong_count = pl.col("n_a") - has_expected.cast(pl.UInt32)
    case = (
        pl.when(~known)
        .then(pl.when(due & (pl.col("n_a") == 0)).then(1).otherwise(0))
        .when(expected.is_null())
        .then(pl.when(due & (wrong_count == 0)).then(2).otherwise(0))
        .when(due)
        .then(pl.when(~has_expected).then(3).otherwise(0))
        .when(has_expected)
        .then(4)
        .otherwise(0)
    )
    last = active.with_columns(case.alias("_case")).filter(pl.col("_case") > 0)
    if not last.height:
        return parts
    last = _shares(last).with_columns(_WHO)
    case = pl.col("_case")
    message = (
        pl.when(case == 1)
        .then(
            pl.format(
                "{}: an assistant furnished {}, over 10%, but without a discipline the line "
                "cannot tell CQ (PT) from CO (OT).",
                code,
                share,
            )
        )
        .when(case == 2)
        .then(
            pl.format(
                "{}: an assistant furnished {}, but no assistant modifier exists for a {}'s "
                "line; check the payer's rules on assistants.",
                code,
                share,
                who,
            )
        )
        .when(case == 3)
        .then(
            pl.format(
                "{}: an assistant furnished {}, over 10%: the line needs {} (Medicare pays "
                "85% of it); the claim lines add it.",
                code,
                share,
                expected,
            )
        )
        .otherwise(
            pl.format(
                "{} carries {} but the assistant furnished {}, not over 10%: {} is due only "
                "above 10% and cuts the payment to 85%.",
                code,
                expected,
                share,
                expected,
            )
        )
    )
    hint = (
        pl.when(case == 2)
        .then(pl.lit(NO_ASSISTANT_MODIFIER_HINT))
        .when(case == 4)
        .then(pl.format("Enter assistant_minutes, or drop {}.", expected))
        .otherwise(None)
    )
    last = last.with_columns(message.alias("message"), pl.lit(9).alias("_seq"))
    parts.append(_findings(last, "assistant-modifier", hint=hint))
    return parts


# -- unqualified-provider, slp-97000-series ------------------------------------------------------


def check_provider(batch: Batch) -> pl.DataFrame:
    """``unqualified-provider`` (a therapy aide or another discipline: nothing is billable) and
    ``slp-97000-series`` (an SLP billing 97000-series codes, and 97129/97130 where the payer
    refuses them from an SLP), RULES.md §6.

    Services are taken in the order of their first entry (``first_line``, then code order), as
    the messages list them.
    """
    visits = batch.visits.select("visit", "discipline", "payer_id").filter(
        pl.col("discipline").is_in(_values(UNQUALIFIED | {Discipline.SLP})).fill_null(False)
    )
    if not visits.height:
        return empty(FINDINGS)
    attrs = payer_columns(
        visits.select("visit", "discipline", "payer_id"),
        batch.payers,
        "id",
        "accepts_slp_cognitive",
    ).rename({"id": "payer_name"})
    services = batch.services.select(list(SERVICES))
    services = services.filter(of_visits(services, attrs.get_column("visit")))
    frame = (
        visit_columns(services, attrs, *attrs.columns[1:])
        .sort(["visit", "first_line", "order"], nulls_last=True, maintain_order=True)
        .with_row_index("_i")
    )
    if not frame.height:
        return empty(FINDINGS)
    frame = frame.join(_facts(frame), on="service", how="left", maintain_order="left")
    return _finish([_unqualified(frame), _slp(frame)], ["visit", "_i"])


def _unqualified(frame: pl.DataFrame) -> pl.DataFrame:
    per_visit = (
        frame.filter(_among(UNQUALIFIED))
        .group_by("visit", maintain_order=True)
        .agg(
            pl.col("discipline").first(),
            pl.col("minutes").cast(pl.Int64).sum().alias("total"),
            pl.col("display").str.join(", ").alias("listed"),
            pl.col("_i").first(),
        )
    )
    what = (
        pl.when(pl.col("discipline") == Discipline.AIDE.value)
        .then(pl.format("a therapy aide's {} min never count as treatment time", "total"))
        .otherwise(
            pl.format(
                "a {} is not qualified under RULES.md §6 ({} min)",
                _by_discipline(NAMES),
                "total",
            )
        )
    )
    found = per_visit.with_columns(
        pl.format("{}: {} cannot be billed for this visit.", what, "listed").alias("message")
    )
    return _findings(
        found,
        "unqualified-provider",
        hint=pl.lit(UNQUALIFIED_HINT),
        code=pl.lit(None, dtype=pl.String),
    )


def _slp(frame: pl.DataFrame) -> pl.DataFrame:
    cognitive = pl.col("service") == COGNITIVE
    found = frame.filter(
        (pl.col("discipline") == Discipline.SLP.value)
        & pl.col("series_97000")
        & pl.col("therapy").is_not_null()
        & ~(cognitive & pl.col("accepts_slp_cognitive").fill_null(False))
    )
    instead = pl.when(pl.col("is_group")).then(pl.lit("92508")).otherwise(pl.lit("92507"))
    message = (
        pl.when(cognitive)
        .then(
            pl.format(
                "{} does not accept 97129/97130 from an SLP ({} min); bill 92507 (untimed, "
                "1 unit) instead.",
                "payer_name",
                "minutes",
            )
        )
        .otherwise(
            pl.format(
                "SLP billing {} ({} min): some payers question 97000-series codes from SLPs; "
                "{} (untimed) is the usual SLP code.",
                _FACT_CODE,
                "minutes",
                instead,
            )
        )
    )
    return _findings(found.with_columns(message.alias("message")), "slp-97000-series")


RULES: tuple[Callable[[Batch], pl.DataFrame], ...] = (check_provider,)
"""The rules of this module as ``Batch -> FINDINGS``; the modifier findings come from
``line_modifiers``, which the lines stage calls (it fills ``LINES.modifiers``)."""

"""The report model: a claim run summed up for a biller, from aggregates of its batches.

:class:`ReportBuilder` takes the batches a :class:`~cognibill.engine.run.ClaimRun` yields (their
``lines``, claim lines with ``visit``, and ``findings``) and keeps only sums and a bounded number
of example rows: per batch, polars group-bys; across batches, small dicts merged. Memory grows
with the distinct payers, codes, providers, rules and patient-years, never with the lines.
:meth:`ReportBuilder.finish` turns them into a :class:`Report`, a plain tree whose
:meth:`Report.to_dict` is the JSON ``report`` object. Money is integer cents throughout, as a
``(low, high)`` pair (``*_lo``/``*_hi``; equal for an exact amount), as the engine's frames.

Definitions (README and the HTML page say them too):

- **Dollars at risk** of a finding: the allowed amount of the claim lines it concerns: the lines
  of its code in its visit (both codes for ``97129/97130``), or every line of the visit when it
  is about the visit (no code). A rule's figure adds up its findings; a line with findings of two
  rules counts in both, so the rules' figures do not add up to a total.
- **Minutes short** of a unit pool: the minutes it needed for one more unit. A pool of ``n``
  units and ``m`` minutes gets unit ``n + 1`` at ``15 n + 8`` minutes (RULES.md §1), so it is
  ``15 n + 8 - m``, from 1 to 15: 7 minutes (0 units) is 1 short, 8 minutes is 15 short, 22 is
  1 short, 23 is 15 short, 37 is 1 short, 38 is 15 short. The pool is the visit's timed
  minutes under the CMS rule (RULES.md §2), each code's own minutes under the AMA rule (§3), and
  under ``ama-capped`` the code nearest to a unit that the visit's total also allows. Only the
  15-minute timed codes (the cognitive pair as one service) form pools.
- **Money left on the table**: for the pools at most :data:`NEAR_MINUTES` short, the price of
  the unit they missed: the average allowed amount per unit of the code that unit would have
  been billed as (97130 after a first cognitive unit; under CMS the code with the most minutes
  not yet paid by a unit), for the same payer, in this run. A unit of a code this run has no
  price for is counted but not priced.
- **Threshold proximity**: each patient's allowed amounts this run on the payers that track KX
  (Medicare), per calendar year and threshold group (``GROUP_LABEL``), against the KX threshold
  of the year and the targeted medical review threshold. With a ledger, the earlier lines it
  holds are not included here (the engine's own KX findings do include them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from cognibill.findings import Severity

if TYPE_CHECKING:
    from cognibill.engine.run import RunOptions, Summary

KEEP = 200
"""Example rows kept per list: affected lines per rule, visits needing attention, near-miss
pools, patients by threshold proximity, line numbers per rejection reason."""

NEAR_MINUTES = 3
"""A pool this many minutes short of its next unit, or fewer, left money on the table."""

NEAR_KX_PERCENT = 80
"""A patient-year at this share of the KX threshold, or more, is near it."""

_RANK = {severity.value: severity.rank for severity in Severity}
_MONEY = ("allowed", "payer_pays", "patient_owes")
_CENTS = tuple(f"{name}_{end}" for name in _MONEY for end in ("lo", "hi"))
_NONE = "(none)"


def minutes_short(units: int, minutes: int) -> int:
    """Minutes a pool of ``units`` earned from ``minutes`` needed for one more unit
    (RULES.md §1: unit ``n + 1`` at ``15 n + 8`` minutes)."""
    return 15 * units + 8 - minutes


def _short(units: pl.Expr, minutes: pl.Expr) -> pl.Expr:
    return units * 15 + 8 - minutes


@dataclasses.dataclass
class Report:
    """A claim run summed up. Every list is in the order a biller reads it; money is integer
    cents (``*_lo``/``*_hi``)."""

    totals: dict[str, Any]
    """Rows, visits, lines, units, findings by severity, and the run's money."""
    by_payer: list[dict[str, Any]]
    """Per payer profile: visits, lines, units and money, largest allowed first."""
    findings: list[dict[str, Any]]
    """Per rule: count, severities, dollars at risk, the catalogue's one-line check, an example
    and up to ``KEEP`` affected lines; errors first, then by count."""
    notes: list[dict[str, Any]]
    """Findings about a whole input file, as the summary has them."""
    rejected: list[dict[str, Any]]
    """Rejected rows by column and reason (quoted cells left out), with line numbers."""
    skipped: list[dict[str, Any]]
    """Skipped rows by reason, with line numbers."""
    attention: dict[str, Any]
    """Visits with an error or warning: how many, their money at risk, the first ``KEEP``."""
    left_on_table: dict[str, Any]
    """Unit pools by minutes short of their next unit, and the money the near ones missed."""
    thresholds: dict[str, Any]
    """Patient-years by share of the KX threshold; the nearest ``KEEP``."""
    units_per_visit: list[dict[str, Any]]
    """Per rendering provider: visits, units, and visits by their units."""
    by_code: list[dict[str, Any]]
    """Per code: lines, units and allowed, most units first."""
    by_code_payer: list[dict[str, Any]]
    """Per code and payer: lines, units and allowed."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``report`` object (money as integer cents)."""
        return {
            "money_unit": "cents",
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
        }


class ReportBuilder:
    """Feed it a claim run's batches (:meth:`add`), then :meth:`finish` for the :class:`Report`.

    ``tracked``: payer ids whose lines count toward KX; ``kx``: the KX threshold by year
    (cents); ``review``: the review threshold (cents). Without them, no threshold section.
    """

    def __init__(
        self,
        *,
        tracked: Collection[str] = (),
        kx: Mapping[int, int] | None = None,
        review: int | None = None,
        keep: int = KEEP,
    ) -> None:
        from cognibill.catalogue import COGNITIVE, load_catalogue

        catalogue = load_catalogue()
        self._service = {c.code: c.service for c in catalogue if c.timed}
        ranks = {s: n for n, s in enumerate(sorted(set(self._service.values())))}
        self._service_rank = {code: ranks[s] for code, s in self._service.items()}
        self._cognitive = COGNITIVE
        self.tracked = sorted(tracked)
        self.kx = dict(kx or {})
        self.review = review
        self.keep = keep
        self._payers: dict[str, dict[str, int]] = {}
        self._codes: dict[tuple[str, str], dict[str, int]] = {}
        self._providers: dict[str, dict[int, int]] = {}
        self._rules: dict[str, dict[str, Any]] = {}
        self._attention = pl.DataFrame()
        self._attention_count = 0
        self._attention_cents = [0, 0]
        self._prices: dict[tuple[str, str], list[int]] = {}
        self._pools: dict[tuple[str | None, str, int], int] = {}
        self._near: list[dict[str, Any]] = []
        self._ytd = pl.DataFrame(
            schema={"patient": pl.String, "year": pl.Int32, "group": pl.String, "cents": pl.Int64}
        )

    @classmethod
    def for_options(cls, options: RunOptions, keep: int = KEEP) -> ReportBuilder:
        """A builder with the payers and thresholds a run of ``options`` bills with."""
        if not options.estimate:
            return cls(keep=keep)
        from cognibill.engine.thresholds import Thresholds
        from cognibill.payers import load_payers

        payers = load_payers(options.payers_file)
        limits = Thresholds.load()
        tracked = [i for i, p in payers.items() if p.tracks_kx]
        return cls(tracked=tracked, kx=limits.kx, review=limits.review, keep=keep)

    # -- a batch ---------------------------------------------------------------------------

    def add(self, billed: Any) -> None:
        """One batch: anything with ``lines`` (``CLAIM_LINE`` plus ``visit``) and ``findings``
        (``Billed.findings``), e.g. :class:`cognibill.engine.bill.Billed`."""
        lines: pl.DataFrame = billed.lines
        findings: pl.DataFrame = billed.findings
        if lines.is_empty():
            return
        billable = lines.filter(pl.col("units") > 0)
        self._add_payers(lines, billable)
        self._add_codes(billable)
        self._add_providers(lines)
        self._add_findings(lines, findings)
        self._add_pools(lines, billable)
        self._add_ytd(billable)

    def _add_payers(self, lines: pl.DataFrame, billable: pl.DataFrame) -> None:
        visits = lines.group_by("payer").agg(pl.col("visit").n_unique().alias("visits"))
        sums = billable.group_by("payer").agg(
            pl.len().alias("lines"),
            pl.col("units").sum().cast(pl.Int64).alias("units"),
            *(pl.col(c).sum().alias(c) for c in _CENTS),
        )
        for row in visits.join(sums, on="payer", how="left").iter_rows(named=True):
            into = self._payers.setdefault(
                row["payer"] or _NONE, dict.fromkeys(("visits", "lines", "units", *_CENTS), 0)
            )
            for name, value in row.items():
                if name != "payer":
                    into[name] += value or 0

    def _add_codes(self, billable: pl.DataFrame) -> None:
        sums = billable.group_by("code", "payer").agg(
            pl.len().alias("lines"),
            pl.col("units").sum().cast(pl.Int64).alias("units"),
            pl.col("allowed_lo").sum(),
            pl.col("allowed_hi").sum(),
            pl.col("allowed_lo").is_not_null().sum().alias("priced"),
            pl.col("units").filter(pl.col("allowed_lo").is_not_null()).sum().alias("priced_units"),
        )
        for row in sums.iter_rows(named=True):
            key = (row["code"] or "", row["payer"] or _NONE)
            into = self._codes.setdefault(
                key, dict.fromkeys(("lines", "units", "allowed_lo", "allowed_hi"), 0)
            )
            for name in into:
                into[name] += row[name] or 0
            if row["priced"]:
                price = self._prices.setdefault(key, [0, 0, 0])
                price[0] += row["allowed_lo"] or 0
                price[1] += row["allowed_hi"] or 0
                price[2] += row["priced_units"] or 0

    def _add_providers(self, lines: pl.DataFrame) -> None:
        # lines come in visit order: a visit's first line carries its provider and units
        first = lines.select("visit", "provider", "visit_units").filter(
            pl.col("visit").ne_missing(pl.col("visit").shift()).fill_null(True)
        )
        counts = first.group_by("provider", "visit_units").len()
        for provider, units, count in counts.iter_rows():
            into = self._providers.setdefault(provider or _NONE, {})
            into[int(units or 0)] = into.get(int(units or 0), 0) + count

    def _add_findings(self, lines: pl.DataFrame, findings: pl.DataFrame) -> None:
        if findings.is_empty():
            return
        # only the visits with findings: their lines' allowed by code and by visit
        lines = lines.filter(pl.col("visit").is_in(findings.get_column("visit").unique().implode()))
        by_code = lines.group_by("visit", "code").agg(
            pl.col("allowed_lo").sum().alias("_lo"), pl.col("allowed_hi").sum().alias("_hi")
        )
        by_visit = by_code.group_by("visit").agg(pl.col("_lo").sum(), pl.col("_hi").sum())
        found = findings.with_row_index("_f")
        about_code = (
            found.filter(pl.col("code").is_not_null())
            .select("_f", "visit", pl.col("code").str.split("/"))
            .explode("code")
            .join(by_code, on=["visit", "code"], how="left")
            .group_by("_f")
            .agg(pl.col("_lo").sum(), pl.col("_hi").sum())
        )
        about_visit = (
            found.filter(pl.col("code").is_null())
            .select("_f", "visit")
            .join(by_visit, on="visit", how="left")
            .select("_f", "_lo", "_hi")
        )
        risk = pl.concat([about_code, about_visit.cast(about_code.schema)])
        found = found.join(risk, on="_f", how="left", maintain_order="left").with_columns(
            pl.col("_lo").fill_null(0), pl.col("_hi").fill_null(0)
        )
        sums = found.group_by("id", "severity").agg(
            pl.len().alias("n"), pl.col("_lo").sum(), pl.col("_hi").sum()
        )
        for rule_id, severity, n, lo, hi in sums.iter_rows():
            rule = self._rules.setdefault(
                rule_id, {"count": 0, "severities": {}, "lo": 0, "hi": 0, "lines": []}
            )
            rule["count"] += n
            rule["severities"][severity] = rule["severities"].get(severity, 0) + n
            rule["lo"] += lo
            rule["hi"] += hi
        keep = self.keep
        # affected lines only for rules that have room left (most are full after a batch)
        full = sorted(i for i, r in self._rules.items() if len(r["lines"]) >= keep)
        open_ = found.filter(~pl.col("id").is_in(full)) if full else found
        room = pl.int_range(pl.len()).over("id") < keep
        shown = open_.filter(room).select(
            "id",
            "severity",
            "source",
            "line",
            "patient_id",
            "date",
            "code",
            "message",
            pl.col("_lo").alias("at_risk_lo"),
            pl.col("_hi").alias("at_risk_hi"),
        )
        for row in shown.iter_rows(named=True):
            kept = self._rules[row["id"]]["lines"]
            if len(kept) < keep:
                kept.append(_dated(row))
        self._add_attention(lines, found, by_code, by_visit)

    def _add_attention(
        self,
        lines: pl.DataFrame,
        found: pl.DataFrame,
        by_code: pl.DataFrame,
        by_visit: pl.DataFrame,
    ) -> None:
        serious = found.filter(pl.col("severity").is_in(["error", "warning"]))
        if serious.is_empty():
            return
        counts = serious.group_by("visit").agg(
            (pl.col("severity") == "error").sum().alias("errors"),
            (pl.col("severity") == "warning").sum().alias("warnings"),
            pl.col("code").is_null().any().alias("_whole"),
        )
        codes = (
            serious.filter(pl.col("code").is_not_null())
            .select("visit", pl.col("code").str.split("/"))
            .explode("code")
            .unique()
            .join(by_code, on=["visit", "code"], how="inner")
            .group_by("visit")
            .agg(pl.col("_lo").sum().alias("_clo"), pl.col("_hi").sum().alias("_chi"))
        )
        rows = (
            counts.join(codes, on="visit", how="left")
            .join(by_visit, on="visit", how="left")
            .with_columns(
                pl.when(pl.col("_whole"))
                .then(pl.col("_lo"))
                .otherwise(pl.col("_clo"))
                .fill_null(0)
                .alias("at_risk_lo"),
                pl.when(pl.col("_whole"))
                .then(pl.col("_hi"))
                .otherwise(pl.col("_chi"))
                .fill_null(0)
                .alias("at_risk_hi"),
            )
            .select("visit", "errors", "warnings", "at_risk_lo", "at_risk_hi")
        )
        self._attention_count += rows.height
        self._attention_cents[0] += int(rows.get_column("at_risk_lo").sum())
        self._attention_cents[1] += int(rows.get_column("at_risk_hi").sum())
        # the batch's candidates for the first ``keep``; their details only for those
        top = _first_to_attend(rows, self.keep)
        wanted = pl.col("visit").is_in(top.get_column("visit").implode())
        info = lines.filter(
            wanted & pl.col("visit").ne_missing(pl.col("visit").shift()).fill_null(True)
        ).select("visit", "source", "line", "patient_id", "date", "provider", "payer")
        rules = (
            serious.filter(wanted)
            .group_by("visit")
            .agg(pl.col("id").unique(maintain_order=True).alias("rules"))
        )
        top = top.join(info, on="visit", how="left").join(rules, on="visit", how="left")
        top = top.select(
            "visit",
            "source",
            "line",
            "patient_id",
            "date",
            "provider",
            "payer",
            "errors",
            "warnings",
            "rules",
            "at_risk_lo",
            "at_risk_hi",
        )
        both = top if self._attention.is_empty() else pl.concat([self._attention, top])
        self._attention = _first_to_attend(both, self.keep)

    def _add_pools(self, lines: pl.DataFrame, billable: pl.DataFrame) -> None:
        timed = lines.filter(
            pl.col("code").is_in(sorted(self._service))
            & pl.col("minutes").is_not_null()
            & pl.col("rule").is_not_null()
        )
        if timed.is_empty():
            return
        # One row per visit and service, grouped on one integer (visit, then the service's rank
        # in name order): a single-key group-by costs a fraction of a two-key one.
        ranked = pl.col("visit").cast(pl.UInt64) * 4096 + pl.col("code").replace_strict(
            self._service_rank, return_dtype=pl.UInt64
        )
        timed = timed.with_row_index("_row")
        per = (
            timed.group_by(ranked.alias("_key"))
            .agg(
                pl.col("_row", "visit", "code", "rule", "payer").first(),
                pl.col("minutes").sum().cast(pl.Int64),
                pl.col("units").sum().cast(pl.Int64),
                pl.col("total_timed_minutes").first().cast(pl.Int64).alias("_total"),
            )
            .sort("_key")
            .with_columns(pl.col("code").replace_strict(self._service).alias("service"))
        )
        visit = pl.col("visit")
        per = per.with_columns(
            pl.col("units").sum().over("visit").alias("_units"),
            (pl.col("minutes") - pl.col("units") * 15).alias("_rest"),
            (visit.ne_missing(visit.shift()) & visit.ne_missing(visit.shift(-1)))
            .fill_null(True)
            .alias("_alone"),
        )
        own = _short(pl.col("units"), pl.col("minutes"))
        pooled = _short(pl.col("_units"), pl.col("_total"))
        rule = pl.col("rule")
        per = per.with_columns(
            pl.when(rule == "ama")
            .then(own)
            .when(rule == "ama-capped")
            .then(pl.max_horizontal(own, pooled))
            .otherwise(pooled)
            .clip(1, 15)
            .alias("short"),
            pl.when(rule == "ama")
            .then(pl.col("minutes"))
            .otherwise(pl.col("_total"))
            .alias("pool_minutes"),
            pl.when(rule == "ama")
            .then(pl.col("units"))
            .otherwise(pl.col("_units"))
            .alias("pool_units"),
            pl.when(pl.col("service") == self._cognitive)
            .then(pl.when(pl.col("units") == 0).then(pl.lit("97129")).otherwise(pl.lit("97130")))
            .otherwise(pl.col("service"))
            .alias("next_code"),
        )
        # Under CMS and ama-capped a visit is one pool: the service nearest its next unit (the
        # one with the most minutes not yet paid by a unit, then more minutes, then by name).
        choose = per.filter((rule != "ama") & ~pl.col("_alone"))
        chosen = (
            choose.sort(
                ["visit", "short", "_rest", "minutes", "service"],
                descending=[False, False, True, True, False],
            )
            .group_by("visit", maintain_order=True)
            .first()
            .select(per.columns)
        )
        pools = pl.concat([per.filter((rule == "ama") | pl.col("_alone")), chosen]).sort("_key")
        for payer, code, short, n in (
            pools.group_by("payer", "next_code", "short").len().iter_rows()
        ):
            key = (payer, code, int(short))
            self._pools[key] = self._pools.get(key, 0) + n
        room = self.keep - len(self._near)
        if room > 0:
            near = pools.filter(pl.col("short") <= NEAR_MINUTES).head(room)
            where = timed.select("source", "line", "patient_id", "date", "provider")
            near = pl.concat([near, where[near.get_column("_row")]], how="horizontal")
            for row in near.select(
                "source",
                "line",
                "patient_id",
                "date",
                "provider",
                "payer",
                "rule",
                pl.col("next_code").alias("code"),
                pl.col("pool_minutes").alias("minutes"),
                pl.col("pool_units").alias("units"),
                "short",
            ).iter_rows(named=True):
                self._near.append(_dated(row))

    def _add_ytd(self, billable: pl.DataFrame) -> None:
        if not self.tracked or not self.kx:
            return
        from cognibill.engine.thresholds import threshold_group

        counted = billable.filter(
            pl.col("payer").is_in(self.tracked) & pl.col("allowed_lo").is_not_null()
        )
        if counted.is_empty():
            return
        sums = (
            counted.with_columns(threshold_group().alias("group"))
            .filter(pl.col("group").is_not_null())
            .group_by(
                pl.col("patient_id").alias("patient"),
                pl.col("date").dt.year().cast(pl.Int32).alias("year"),
                "group",
            )
            .agg(pl.col("allowed_lo").sum().cast(pl.Int64).alias("cents"))
        )
        self._ytd = (
            pl.concat([self._ytd, sums])
            .group_by("patient", "year", "group")
            .agg(pl.col("cents").sum())
        )

    # -- the end ---------------------------------------------------------------------------

    def finish(self, rejected: pl.DataFrame, summary: Summary) -> Report:
        """The report, once every batch is in: ``rejected`` is the run's ``REJECTED`` rows,
        ``summary`` its :class:`~cognibill.engine.run.Summary` (the totals come from it)."""
        return Report(
            totals=_totals(summary),
            by_payer=self._by_payer(),
            findings=self._findings(),
            notes=[dict(n) for n in summary.notes],
            rejected=_rejected(rejected, self.keep),
            skipped=_skipped(summary.skipped, self.keep),
            attention=self._attention_section(),
            left_on_table=self._left_on_table(),
            thresholds=self._thresholds(),
            units_per_visit=self._units_per_visit(),
            by_code=self._by_code(),
            by_code_payer=[
                {"code": code, "payer": payer, **sums}
                for (code, payer), sums in sorted(
                    self._codes.items(), key=lambda kv: (-kv[1]["units"], kv[0])
                )
            ],
        )

    def _by_payer(self) -> list[dict[str, Any]]:
        rows = [{"payer": payer, **sums} for payer, sums in self._payers.items()]
        return sorted(rows, key=lambda r: (-r["allowed_hi"], -r["visits"], r["payer"]))

    def _by_code(self) -> list[dict[str, Any]]:
        codes: dict[str, dict[str, int]] = {}
        for (code, _), sums in self._codes.items():
            into = codes.setdefault(code, dict.fromkeys(sums, 0))
            for name, value in sums.items():
                into[name] += value
        rows = [{"code": code, **sums} for code, sums in codes.items()]
        return sorted(rows, key=lambda r: (-r["units"], r["code"]))

    def _findings(self) -> list[dict[str, Any]]:
        from cognibill.rules.catalogue import RULES

        out = []
        for rule_id, rule in self._rules.items():
            worst = max(rule["severities"], key=lambda s: _RANK[s])
            entry = RULES.get(rule_id)
            out.append(
                {
                    "id": rule_id,
                    "severity": worst,
                    "severities": dict(
                        sorted(rule["severities"].items(), key=lambda kv: -_RANK[kv[0]])
                    ),
                    "count": rule["count"],
                    "checks": entry.checks if entry is not None else "",
                    "at_risk_lo": rule["lo"],
                    "at_risk_hi": rule["hi"],
                    "example": rule["lines"][0] if rule["lines"] else None,
                    "lines": rule["lines"],
                }
            )
        return sorted(out, key=lambda r: (-_RANK[r["severity"]], -r["count"], r["id"]))

    def _attention_section(self) -> dict[str, Any]:
        shown = (
            [_dated(row) for row in self._attention.drop("visit").iter_rows(named=True)]
            if not self._attention.is_empty()
            else []
        )
        return {
            "visits": self._attention_count,
            "at_risk_lo": self._attention_cents[0],
            "at_risk_hi": self._attention_cents[1],
            "shown": shown,
        }

    def _unit_price(self, payer: str | None, code: str) -> tuple[int, int] | None:
        price = self._prices.get((code, payer or _NONE))
        if price is None or price[2] <= 0:
            return None
        units = price[2]
        return _divide(price[0], units), _divide(price[1], units)

    def _left_on_table(self) -> dict[str, Any]:
        by_short = {
            s: {"short": s, "pools": 0, "priced": 0, "value_lo": 0, "value_hi": 0}
            for s in range(1, 16)
        }
        for (payer, code, short), n in sorted(
            self._pools.items(), key=lambda kv: (kv[0][2], str(kv[0][0]), kv[0][1])
        ):
            row = by_short[short]
            row["pools"] += n
            price = self._unit_price(payer, code)
            if price is not None:
                row["priced"] += n
                row["value_lo"] += price[0] * n
                row["value_hi"] += price[1] * n
        near = [by_short[s] for s in range(1, NEAR_MINUTES + 1)]
        examples = []
        for pool in self._near:
            price = self._unit_price(pool["payer"], pool["code"])
            examples.append(
                {
                    **pool,
                    "value_lo": None if price is None else price[0],
                    "value_hi": None if price is None else price[1],
                }
            )
        return {
            "near_minutes": NEAR_MINUTES,
            "pools": sum(r["pools"] for r in by_short.values()),
            "near_pools": sum(r["pools"] for r in near),
            "near_unpriced": sum(r["pools"] - r["priced"] for r in near),
            "value_lo": sum(r["value_lo"] for r in near),
            "value_hi": sum(r["value_hi"] for r in near),
            "by_short": list(by_short.values()),
            "examples": examples,
        }

    def _thresholds(self) -> dict[str, Any]:
        from cognibill.engine.thresholds import GROUP_LABEL

        if not self.tracked or not self.kx or self.review is None:
            return {"tracked": False, "patients": 0, "counts": {}, "shown": []}
        last = max(self.kx)
        rows = []
        counts = {"past-review": 0, "past-kx": 0, "near-kx": 0, "below": 0}
        review = self.review
        for patient, year, group, cents in self._ytd.sort("patient", "year", "group").iter_rows():
            kx = self.kx.get(year, self.kx[last] if year > last else None)
            if kx is None or kx <= 0:
                continue
            if cents > review:
                status = "past-review"
            elif cents > kx:
                status = "past-kx"
            elif cents * 100 >= kx * NEAR_KX_PERCENT:
                status = "near-kx"
            else:
                status = "below"
            counts[status] += 1
            rows.append(
                {
                    "patient_id": patient,
                    "year": year,
                    "group": GROUP_LABEL.get(group, group),
                    "cents": cents,
                    "kx": kx,
                    "review": review,
                    "percent_of_kx": _divide(cents * 100, kx),
                    "to_kx": kx - cents,
                    "status": status,
                }
            )
        rows.sort(
            key=lambda r: (
                -r["cents"] * 10_000 // r["kx"],
                r["patient_id"] or "",
                r["year"],
                r["group"],
            )
        )
        return {
            "tracked": True,
            "kx": {str(y): c for y, c in sorted(self.kx.items()) if y in {r["year"] for r in rows}},
            "review": review,
            "near_percent": NEAR_KX_PERCENT,
            "patients": len(rows),
            "counts": counts,
            "shown": rows[: self.keep],
        }

    def _units_per_visit(self) -> list[dict[str, Any]]:
        out = []
        for provider, histogram in self._providers.items():
            visits = sum(histogram.values())
            units = sum(u * n for u, n in histogram.items())
            out.append(
                {
                    "provider": provider,
                    "visits": visits,
                    "units": units,
                    "histogram": {str(u): histogram[u] for u in sorted(histogram)},
                }
            )
        return sorted(out, key=lambda r: (-r["visits"], r["provider"]))


def _first_to_attend(visits: pl.DataFrame, keep: int) -> pl.DataFrame:
    """The first ``keep`` visits to look at: with errors first, then by money at risk, then
    by errors, then in input order."""
    order = [pl.col("errors") > 0, "at_risk_hi", "errors", "visit"]
    if visits.height > keep:
        visits = visits.top_k(keep, by=order, reverse=[False, False, False, True])
    return visits.sort(order, descending=[True, True, True, False])


def _divide(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up (non-negative amounts)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _dated(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its dates as ISO text (the report is a JSON tree)."""
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in row.items()}


def _totals(summary: Summary) -> dict[str, Any]:
    cents = summary.cents
    priced = bool(summary.data_versions)
    return {
        "rows_read": summary.rows_read,
        "rows_used": summary.rows_used,
        "rows_rejected": summary.rows_rejected,
        "rows_skipped": summary.rows_skipped,
        "visits": summary.visits,
        "visits_incomplete": summary.visits_incomplete,
        "lines": summary.lines,
        "units": summary.units,
        "findings": dict(summary.findings),
        "priced": priced,
        "allowed_lo": cents["allowed_lo"] if priced else None,
        "allowed_hi": cents["allowed_hi"] if priced else None,
        "payer_pays_lo": cents["payer_pays_lo"] if priced else None,
        "payer_pays_hi": cents["payer_pays_hi"] if priced else None,
        "patient_owes_lo": cents["patient_owes_lo"] if priced else None,
        "patient_owes_hi": cents["patient_owes_hi"] if priced else None,
        "data_version": sorted(summary.data_versions),
        "visit_key": summary.visit_key,
        "sources": list(summary.sources),
    }


def _rejected(rejected: pl.DataFrame, keep: int) -> list[dict[str, Any]]:
    """Rejected rows by column and reason; the cells a reason quotes are left out, so that one
    reason is one row (``'thirty' is not a number of minutes`` → ``'…' is not …``)."""
    if rejected.is_empty():
        return []
    shaped = rejected.with_columns(
        pl.col("reason").str.replace_all(r"'[^']*'", "'…'").alias("_reason"),
        pl.col("column").fill_null(""),
    )
    grouped = shaped.group_by("column", "_reason", maintain_order=True).agg(
        pl.len().alias("count"),
        pl.col("reason").first().alias("example"),
        pl.struct("source", "line").head(keep).alias("where"),
    )
    out = [
        {
            "column": column,
            "reason": reason,
            "count": count,
            "example": example,
            "where": [{"source": w["source"], "line": w["line"]} for w in where],
        }
        for column, reason, count, example, where in grouped.iter_rows()
    ]
    return sorted(out, key=lambda r: -r["count"])


def _skipped(skipped: list[dict[str, object]], keep: int) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in skipped:
        reason = str(row["reason"])
        group = groups.setdefault(reason, {"reason": reason, "count": 0, "where": []})
        group["count"] += 1
        if len(group["where"]) < keep:
            group["where"].append({"source": row["source"], "line": row["line"]})
    return sorted(groups.values(), key=lambda r: -r["count"])

"""Batch benchmark: a CSV export in, claim lines as CSV out, against a bare ``csv.reader`` pass.

Generates exports of 100,000, 300,000 and 1,000,000 rows (about 450,000 visits at 1M, 1-4
codes a visit, several payers; see ``make_export.py``) in a temporary directory, then runs,
alternately so that machine noise hits both alike:

- **bare**: a child Python that only iterates ``csv.reader`` over the file;
- **claim**: a child that runs the whole pipeline, CSV in, CSV out to ``--out``.

It prints the median wall time of each, their ratio and the child's peak memory (``ru_maxrss``
from ``os.wait4``). Targets (issue 4): claim at most 4x bare, peak memory under 256 MiB, time
growing linearly with the rows.

``--target cli`` (default) times ``python -m cognibill claim FILE --format csv --out OUT``: the
real command, rules and estimates included. ``--target own`` times :func:`run_pipeline` below,
the lean core alone: read (``ExportReader``) -> group (``group_visits``) -> units per visit
(``compute_units`` behind an LRU cache keyed on the rule and the sorted (code, minutes)
totals) -> write (``CsvWriter``, through ``atomic_output``). ``--stages`` times that pipeline
stage by stage in this process. Results and analysis: ``benchmarks/README.md``.

    python benchmarks/batch.py                            # cli; 100k, 300k, 1M; 3 runs each
    python benchmarks/batch.py --target own --sizes 1000000 --runs 5
    python benchmarks/batch.py --stages --sizes 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BARE = (
    "import csv, sys\n"
    "with open(sys.argv[1], newline='', encoding='utf-8') as fh:\n"
    "    for row in csv.reader(fh):\n"
    "        pass\n"
)

LINE_FIELDS = (
    "patient_id",
    "date",
    "provider",
    "discipline",
    "payer",
    "rule",
    "code",
    "units",
    "minutes",
    "modifiers",
    "findings",
    "line",
)


# -- the pipeline (until `cognibill claim` exists) ---------------------------------------------


def _rule_for(payer: str | None) -> Any:
    """Medicare follows the CMS total-time rule, the commercial payers here the AMA rule."""
    from cognibill.engine.units import UnitRule

    if payer is not None and payer.casefold().startswith("medicare"):
        return UnitRule.CMS
    return UnitRule.AMA


def make_units(maxsize: int | None = 65_536) -> Callable[[Any, tuple[tuple[str, int], ...]], Any]:
    """``compute_units`` behind an LRU cache: it is pure, and visits repeat minute patterns.

    The key is the rule and the visit's minutes summed per code, sorted (the engine pools
    repeated codes and ignores their order, so this is exact). Only what a claim line needs is
    kept (lines and findings, not the explanation trace), so the cache stays small.
    """
    from cognibill.engine.units import Entry, compute_units

    @lru_cache(maxsize=maxsize)
    def units(rule: Any, key: tuple[tuple[str, int], ...]) -> tuple[Any, tuple[str, ...]]:
        result = compute_units([Entry(c, m) for c, m in key], rule, explain=False)
        billed = tuple(line for line in result.lines if line.units > 0)
        return billed, tuple(f.id for f in result.findings)

    return units


def claim_lines(
    visits: Iterator[Any], units: Callable[[Any, tuple[tuple[str, int], ...]], Any]
) -> Iterator[dict[str, object]]:
    """One dict per billed line of every visit."""
    rule_of: dict[str | None, Any] = {}
    iso: dict[Any, str] = {}
    for visit in visits:
        totals: dict[str, int] = {}
        mods: dict[str, tuple[str, ...]] = {}
        for service in visit.services:
            code = service.code
            totals[code] = totals.get(code, 0) + service.minutes
            if code not in mods:
                mods[code] = service.modifiers
        payer = visit.payer
        rule = rule_of.get(payer)
        if rule is None:
            rule = rule_of[payer] = _rule_for(payer)
        lines, findings = units(rule, tuple(sorted(totals.items())))
        day = iso.get(visit.date)
        if day is None:
            day = iso[visit.date] = visit.date.isoformat()
        discipline = visit.provider.discipline
        for line in lines:
            yield {
                "patient_id": visit.patient,
                "date": day,
                "provider": visit.provider.id,
                "discipline": discipline.value if discipline is not None else None,
                "payer": payer,
                "rule": rule.value,
                "code": line.code,
                "units": line.units,
                "minutes": line.minutes,
                "modifiers": mods.get(line.code) or mods.get("97129") or (),
                "findings": findings,
                "line": visit.line,
            }


def run_pipeline(source: str, out: str, *, cache: int | None = 65_536) -> dict[str, object]:
    """Read -> group -> units -> write CSV; returns the summary (counts and time)."""
    from cognibill.grouping import DEFAULT_VISIT_KEY, describe_visit_key, group_visits
    from cognibill.readers.csv_export import ExportReader, RejectedRow
    from cognibill.writers import CsvWriter, atomic_output

    started = time.perf_counter()
    reader = ExportReader(source)
    rejected: list[RejectedRow] = []
    visits = 0

    def counted(items: Iterator[Any]) -> Iterator[Any]:
        nonlocal visits
        for visit in items:
            visits += 1
            yield visit

    units = make_units(cache)
    with atomic_output(out, [source]) as stream:
        writer = CsvWriter(stream, LINE_FIELDS)
        grouped = group_visits(reader, source=reader.name, on_rejected=rejected.append)
        writer.write_all(claim_lines(counted(grouped), units))
    return {
        "rows_read": reader.rows_read,
        "rows_used": reader.rows_used,
        "rows_rejected": reader.rows_rejected,
        "visits": visits,
        "lines": writer.count,
        "visit_key": describe_visit_key(DEFAULT_VISIT_KEY),
        "seconds": round(time.perf_counter() - started, 3),
        "cache": units.cache_info()._asdict(),  # type: ignore[attr-defined]
    }


# -- stages -------------------------------------------------------------------------------------


def stages(path: Path, out: Path) -> list[tuple[str, float]]:
    """Cumulative time of each prefix of the pipeline, in this process."""
    from cognibill.grouping import group_visits
    from cognibill.readers.csv_export import ExportReader, RejectedRow
    from cognibill.writers import CsvWriter

    def timed(work: Callable[[], object]) -> float:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start

    def bare() -> None:
        import csv

        with path.open(newline="", encoding="utf-8") as fh:
            for _ in csv.reader(fh):
                pass

    def read() -> None:
        for _ in ExportReader(path):
            pass

    def group() -> None:
        rejected: list[RejectedRow] = []
        for _ in group_visits(ExportReader(path), on_rejected=rejected.append):
            pass

    def units_with(cache: int | None) -> Callable[[], None]:
        def run() -> None:
            rejected: list[RejectedRow] = []
            visits = group_visits(ExportReader(path), on_rejected=rejected.append)
            for _ in claim_lines(visits, make_units(cache)):
                pass

        return run

    warm = make_units(None)

    def units_warm() -> None:
        rejected: list[RejectedRow] = []
        visits = group_visits(ExportReader(path), on_rejected=rejected.append)
        for _ in claim_lines(visits, warm):
            pass

    def write(units: Callable[[Any, tuple[tuple[str, int], ...]], Any]) -> Callable[[], None]:
        def run() -> None:
            rejected: list[RejectedRow] = []
            with out.open("w", newline="", encoding="utf-8") as stream:
                visits = group_visits(ExportReader(path), on_rejected=rejected.append)
                CsvWriter(stream, LINE_FIELDS).write_all(claim_lines(visits, units))

        return run

    return [
        ("bare csv.reader", timed(bare)),
        ("+ parse rows (ExportReader)", timed(read)),
        ("+ group into visits", timed(group)),
        ("+ units, LRU 65,536 (cold)", timed(units_with(65_536))),
        ("+ write CSV (full pipeline)", timed(write(make_units(65_536)))),
        ("  units, every pattern cached", (units_warm(), timed(units_warm))[1]),
        ("  + write CSV, every pattern cached", timed(write(warm))),
    ]


# -- the harness --------------------------------------------------------------------------------


def _child(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stderr of one child process.

    The parent stays small (it never runs the pipeline itself): a forked child's ``ru_maxrss``
    counts the parent's pages until ``exec``.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if proc.returncode not in (0, 1):  # 1: findings reached the threshold, still a full run
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{text}")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return wall, rss, text


def _claim_argv(target: str, path: Path, out: Path) -> list[str]:
    if target == "cli":
        claim = ["claim", str(path), "--format", "csv", "--out", str(out)]
        return [sys.executable, "-m", "cognibill", *claim]
    return [sys.executable, str(Path(__file__).resolve()), "--pipeline", str(path), str(out)]


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def measure(path: Path, out: Path, runs: int, target: str) -> dict[str, Any]:
    """Bare and claim runs, alternating; medians, peak memory and the last claim's stderr."""
    bare_t: list[float] = []
    claim_t: list[float] = []
    bare_m: list[int] = []
    claim_m: list[int] = []
    said = ""
    for _ in range(runs):
        t, m, _ = _child([sys.executable, "-c", BARE, str(path)])
        bare_t.append(t)
        bare_m.append(m)
        t, m, said = _child(_claim_argv(target, path, out))
        claim_t.append(t)
        claim_m.append(m)
    return {
        "bare": statistics.median(bare_t),
        "claim": statistics.median(claim_t),
        "bare_rss": max(bare_m),
        "claim_rss": max(claim_m),
        "claim_min": min(claim_t),
        "claim_max": max(claim_t),
        "said": said.strip(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", choices=("cli", "own"), default="cli")
    parser.add_argument("--stages", action="store_true", help="time each stage in-process")
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    parser.add_argument("--pipeline", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.pipeline:
        import json

        summary = run_pipeline(*args.pipeline)
        print(json.dumps(summary), file=sys.stderr)
        return 0

    from make_export import write_export

    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="cognibill-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        what = "stages of the own pipeline" if args.stages else f"target: {args.target}"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {what}")
        rows_of: dict[int, int] = {}
        for size in sizes:
            path = folder / f"export-{size}.csv"
            if not path.exists():
                rows_of[size] = write_export(path, size)
            else:
                with path.open("rb") as fh:
                    rows_of[size] = sum(1 for _ in fh) - 1
        if args.stages:
            for size in sizes:
                path = folder / f"export-{size}.csv"
                print(f"\n{rows_of[size]:,} rows, stages (cumulative seconds, one run):")
                for name, seconds in stages(path, folder / "stages-out.csv"):
                    print(f"  {name:36} {seconds:7.2f} s")
            return 0
        print(
            f"\n{'rows':>10} {'bare s':>8} {'claim s':>8} {'ratio':>6} {'µs/row':>7} "
            f"{'bare RSS':>9} {'claim RSS':>10}   (medians of {args.runs})"
        )
        said: list[str] = []
        for size in sizes:
            path = folder / f"export-{size}.csv"
            got = measure(path, folder / "out.csv", args.runs, args.target)
            rows = rows_of[size]
            print(
                f"{rows:>10,} {got['bare']:>8.2f} {got['claim']:>8.2f} "
                f"{got['claim'] / got['bare']:>6.1f} {got['claim'] / rows * 1e6:>7.2f} "
                f"{_mib(got['bare_rss']):>9} {_mib(got['claim_rss']):>10}"
                f"   claim range {got['claim_min']:.2f}-{got['claim_max']:.2f} s",
                flush=True,
            )
            said.append(f"{rows:,} rows: {got['said']}")
        print("\nwhat the claim runs said (last run of each size):")
        for line in said:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

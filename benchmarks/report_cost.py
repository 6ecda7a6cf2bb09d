"""What the report costs: ``cognibill report`` against ``cognibill claim`` on a large export.

Generates an export with ``make_export.py`` (1,000,000 rows by default: about 450,000 visits)
and runs, alternately so that machine noise hits each alike, child processes of:

- **claim csv**: ``claim FILE --format csv --out OUT`` (every claim line written; the batch
  benchmark's command);
- **claim summary**: ``claim FILE --out OUT``, the table format's default view (the run summed
  up by ``cognibill.reports``, rendered with Rich);
- **report**: ``report FILE --out OUT.html`` (the same model, as an HTML page with matplotlib
  charts).

It prints each one's median wall time and peak memory, and report / claim csv. Target (issue
13): the report costs at most 20% more than ``claim`` (ratio ≤ 1.2).

    python benchmarks/report_cost.py                    # 1M rows, 3 runs each
    python benchmarks/report_cost.py --rows 100000 --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch import _child, _mib  # noqa: E402 - the harness of the batch benchmark


def commands(path: Path, folder: Path) -> dict[str, list[str]]:
    """The child command lines to time, by name."""
    cognibill = [sys.executable, "-m", "cognibill"]
    return {
        "claim csv": [
            *cognibill,
            "claim",
            str(path),
            "-f",
            "csv",
            "-q",
            "-o",
            str(folder / "c.csv"),
        ],
        "claim summary": [*cognibill, "claim", str(path), "-q", "-o", str(folder / "s.txt")],
        "report": [*cognibill, "report", str(path), "-q", "-o", str(folder / "r.html")],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    args = parser.parse_args(argv)

    from make_export import write_export

    with tempfile.TemporaryDirectory(prefix="cognibill-report-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"export-{args.rows}.csv"
        rows = write_export(path, args.rows) if not path.exists() else args.rows
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {rows:,} rows")
        runs = commands(path, folder)
        times: dict[str, list[float]] = {name: [] for name in runs}
        peaks: dict[str, int] = dict.fromkeys(runs, 0)
        for _ in range(args.runs):
            for name, argv_ in runs.items():
                seconds, rss, _ = _child(argv_)
                times[name].append(seconds)
                peaks[name] = max(peaks[name], rss)
        print(f"\n{'command':>14} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS':>9}")
        for name, got in times.items():
            print(
                f"{name:>14} {statistics.median(got):>9.2f} {min(got):>7.2f} {max(got):>7.2f} "
                f"{_mib(peaks[name]):>9}"
            )
        base = statistics.median(times["claim csv"])
        summary = statistics.median(times["claim summary"])
        report = statistics.median(times["report"])
        print(
            f"\nreport / claim csv: {report / base:.2f} (target ≤ 1.20); "
            f"report / claim summary: {report / summary:.2f}; medians of {args.runs}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

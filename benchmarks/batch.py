"""Batch benchmark: a CSV export in, claim lines as CSV out, against a bare ``csv.reader`` pass.

Generates exports of 100,000, 300,000 and 1,000,000 rows (about 450,000 visits at 1M, 1-4
codes a visit, several payers; see ``make_export.py``) in a temporary directory, then runs,
alternately so that machine noise hits both alike:

- **bare**: a child Python that only iterates ``csv.reader`` over the file;
- **claim**: a child that runs the whole pipeline, CSV in, CSV out to ``--out``.

It prints the median wall time of each, their ratio and the child's peak memory (``ru_maxrss``
from ``os.wait4``). Targets (issue 9): claim at most 8x bare (our goal 4x), peak memory at
most 256 MiB, time growing linearly with the rows.

The claim child runs ``python -m cognibill claim FILE --format csv --out OUT``: the real
command, rules and estimates included. ``--stages`` runs one claim in this process and prints the
seconds of each engine stage (``cognibill.engine.bill``'s stage timings), the reading and the
writing. Results and analysis: ``benchmarks/README.md``.

    python benchmarks/batch.py                            # 100k, 300k, 1M; 3 runs each
    python benchmarks/batch.py --sizes 1000000 --runs 5
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

# -- stages -------------------------------------------------------------------------------------


def stages(path: Path, out: Path) -> list[tuple[str, float]]:
    """Seconds per stage of one claim run in this process: reading the export, each engine
    stage summed over the batches (``State.timings``), and writing the CSV."""
    import csv

    from cognibill.engine.bill import Billed
    from cognibill.engine.run import ClaimRun, RunOptions
    from cognibill.outputs.claims import ClaimWriter

    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as fh:
        for _ in csv.reader(fh):
            pass
    bare = time.perf_counter() - start

    run = ClaimRun([str(path)], RunOptions())
    run.timings = {}
    writing = 0.0
    start = time.perf_counter()
    with out.open("w", encoding="utf-8", newline="") as stream:
        writer = ClaimWriter(stream, "csv")
        for item in run:
            if isinstance(item, Billed):
                began = time.perf_counter()
                writer.lines(item.lines)
                writing += time.perf_counter() - began
    total = time.perf_counter() - start
    engine = sum(run.timings.values())
    return [
        ("bare csv.reader", bare),
        ("reading the export", total - engine - writing),
        *((f"  {name}", seconds) for name, seconds in run.timings.items()),
        ("writing the CSV", writing),
        ("claim, in all", total),
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


def _claim_argv(path: Path, out: Path) -> list[str]:
    claim = ["claim", str(path), "--format", "csv", "--out", str(out)]
    return [sys.executable, "-m", "cognibill", *claim]


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def measure(path: Path, out: Path, runs: int) -> dict[str, Any]:
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
        t, m, said = _child(_claim_argv(path, out))
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
    parser.add_argument("--stages", action="store_true", help="time each stage in-process")
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    args = parser.parse_args(argv)

    from make_export import write_export

    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="cognibill-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        what = "stages, in-process" if args.stages else "cognibill claim --format csv --out"
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
                print(f"\n{rows_of[size]:,} rows, seconds per stage (one run):")
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
            got = measure(path, folder / "out.csv", args.runs)
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

"""Ledger benchmark (issue 12): what recording a run adds to ``cognibill claim``.

Generates an export (``make_export.py``; 1M rows by default, about 950k claim lines), bills it
once to get its claim lines, then times, alternately and in fresh child processes:

- **claim**: the whole claim run without a ledger (CPU seconds of the child);
- **record**: ``Ledger.record_run`` of those lines into a new ledger (what ``claim --ledger``
  adds once the report is out);
- **floor**: the same rows bound by ``sqlite3.executemany`` into a ``lines`` table with no index
  and no CHECKs: what any per-line recording through Python's ``sqlite3`` costs at least.

Prints the median CPU seconds of each and record/claim (the target is at most 25%). CPU time,
not wall time: the machine is shared and wall time follows its load.

    python benchmarks/ledger_record.py
    python benchmarks/ledger_record.py --rows 300000 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

_CLAIM = """
import sys, time
from cognibill.engine.run import ClaimRun, RunOptions
cpu = time.process_time()
run = ClaimRun([sys.argv[1]], RunOptions())
for _ in run:
    pass
print(time.process_time() - cpu)
"""

_LINES = """
import sys
from pathlib import Path
import polars as pl
from cognibill.engine.run import ClaimRun, RunOptions
run = ClaimRun([sys.argv[1]], RunOptions(ledger=Path(sys.argv[2])))
for _ in run:
    pass
pl.concat(run._state.to_record).write_parquet(sys.argv[3])
run.close()
"""

_RECORD = """
import sys, time
import polars as pl
from cognibill.ledger import RunRecord, open_ledger
lines = pl.read_parquet(sys.argv[1])
with open_ledger(sys.argv[2]) as ledger:
    cpu = time.process_time()
    ledger.record_run(RunRecord(inputs=[]), lines)
    print(time.process_time() - cpu)
"""

_FLOOR = """
import sqlite3, sys, time
import polars as pl
from cognibill.ledger import store
rows, _ = store._ledger_rows(pl.read_parquet(sys.argv[1]))
conn = sqlite3.connect(sys.argv[2], isolation_level=None)
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("PRAGMA synchronous = FULL")
names = ", ".join(store._COLUMNS)
conn.execute(f"CREATE TABLE lines (run_id, {names})")  # no types, CHECKs or index
cpu = time.process_time()
conn.execute("BEGIN IMMEDIATE")
marks = ", ".join("?" * len(store._COLUMNS))
conn.executemany(f"INSERT INTO lines VALUES (1, {marks})", rows.iter_rows())
conn.execute("COMMIT")
print(time.process_time() - cpu)
"""


def _child(code: str, *args: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(done.stdout.split()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from make_export import write_export

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = folder / "export.csv"
        write_export(export, args.rows)
        lines = folder / "lines.parquet"
        subprocess.run(
            [sys.executable, "-c", _LINES, str(export), str(folder / "l.db"), str(lines)],
            check=True,
            cwd=ROOT,
        )
        times: dict[str, list[float]] = {"claim": [], "record": [], "floor": []}
        for n in range(args.runs):
            times["claim"].append(_child(_CLAIM, str(export)))
            times["record"].append(_child(_RECORD, str(lines), str(folder / f"r{n}.db")))
            times["floor"].append(_child(_FLOOR, str(lines), str(folder / f"f{n}.db")))
        median = {k: statistics.median(v) for k, v in times.items()}
        print(f"{args.rows:,} rows, {args.runs} runs, median CPU seconds:")
        for name, value in median.items():
            share = value / median["claim"]
            print(f"  {name:7} {value:6.2f}  ({share:.0%} of claim)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What Spark costs in local mode: ``cognibill.spark`` against ``cognibill claim`` on one export
(issue 14). Needs the spark extra (``pip install -e '.[spark]'``) and Java.

For each size (default 100k and 1M rows of ``make_export.py``), medians of ``--runs``:

- **claim**: a child ``python -m cognibill claim FILE --format csv --out OUT``, as
  ``batch.py`` runs it;
- **spark**: in one warm local SparkSession (``--master``, default ``local[2]``), the whole
  run: read on the driver, ship as Arrow, repartition by patient, bill, write the claim lines
  as ``claim --format csv``'s CSV cells (``csv_cells``) to ``OUT/``, and the summary; with the
  seconds of each step (read, ship + bill + write);
- variants, at the first size only: ``groupBy(...).applyInArrow`` instead of
  ``repartition`` + ``mapInArrow``; a ``sortWithinPartitions("row")`` before ``mapInArrow``;
  the settings rebuilt in each partition instead of shipped; 8 partitions instead of one a core.

The session's start and the first (cold) run are timed apart: they are paid once per job.

    python benchmarks/spark_cost.py                      # 100k and 1M, 3 runs each
    python benchmarks/spark_cost.py --sizes 100000 --runs 3 --no-variants
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def claim_once(path: Path, out: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cognibill",
            "claim",
            str(path),
            "--format",
            "csv",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1, 2, 3):
        raise SystemExit(done.stderr.decode())
    return seconds


def spark_once(
    spark: Any, path: Path, out: Path, variant: str = "map", partitions: int | None = None
) -> tuple[float, float]:
    """(seconds reading on the driver, seconds for the rest) of one whole Spark run."""
    from cognibill.api import _options
    from cognibill.engine.run import make_settings
    from cognibill.partition import read_inputs
    from cognibill.spark import bill_inputs, csv_cells, csv_options

    start = time.perf_counter()
    settings = make_settings(_options())
    read = read_inputs([path])
    read_done = time.perf_counter()
    if variant in ("map", "group"):
        run = bill_inputs(spark, read, settings, partitions=partitions, method=variant)
    else:
        run = _variant(spark, read, settings, variant, partitions)
    shutil.rmtree(out, ignore_errors=True)
    csv_cells(run.lines).write.options(**csv_options()).csv(str(out))
    run.summary()
    run.unpersist()
    return read_done - start, time.perf_counter() - read_done


def _variant(spark: Any, read: Any, settings: Any, variant: str, partitions: int | None) -> Any:
    """``bill_inputs`` with one step changed (``sorted``: sortWithinPartitions; ``rebuilt``:
    the settings made again in each partition)."""
    from pyspark.sql import functions as F

    from cognibill import spark as cs

    n = partitions or spark.sparkContext.defaultParallelism
    frame = spark.createDataFrame(cs._arrow(cs.shipped(read), cs.spark_schema(cs.SHIPPED)))
    biller: Any = cs.PartitionBiller(settings, read.absent, read.sessions)
    spread = frame.repartition(n, "patient")
    if variant == "sorted":
        spread = spread.sortWithinPartitions("row")
    if variant == "rebuilt":
        biller = _Rebuilding(settings, read.absent, read.sessions)
    billed = spread.mapInArrow(biller.batches, cs.BILLED_SCHEMA).persist()
    return cs.SparkClaims(
        lines=billed.where(F.col("line").isNotNull()).select("line.*"),
        findings=billed.where(F.col("finding").isNotNull()).select("finding.*"),
        rejected=spark.createDataFrame([], cs.spark_schema(cs.REJECTED)),
        billed=billed,
        inputs=read,
        settings=settings,
    )


class _Rebuilding:
    """A ``PartitionBiller`` that ships only the options and makes the settings per partition."""

    def __init__(self, settings: Any, absent: Any, sessions: Any) -> None:
        self.absent, self.sessions = absent, sessions

    def batches(self, batches: Any) -> Any:
        from cognibill.api import _options
        from cognibill.engine.run import make_settings
        from cognibill.spark import PartitionBiller

        biller = PartitionBiller(make_settings(_options()), self.absent, self.sessions)
        yield from biller.batches(batches)


def median(runs: int, once: Callable[[], Any]) -> Any:
    results = [once() for _ in range(runs)]
    if isinstance(results[0], tuple):
        return tuple(statistics.median(r[i] for r in results) for i in range(len(results[0])))
    return statistics.median(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--no-variants", action="store_true")
    args = parser.parse_args(argv)

    import make_export

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master(args.master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.memory", "4g")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        print(f"spark session start: {time.perf_counter() - start:.1f} s ({args.master})")
        for size in args.sizes:
            path = work / f"export_{size}.csv"
            rows = make_export.write_export(path, size)
            out = work / "out"
            cold = spark_once(spark, path, out)
            print(f"\n{rows:,} rows; spark first run (cold workers): {sum(cold):.1f} s")
            claim = median(args.runs, lambda: claim_once(path, work / "claim.csv"))  # noqa: B023
            read, rest = median(args.runs, lambda: spark_once(spark, path, out))  # noqa: B023
            total = read + rest
            print(f"  claim (child process, CSV out)   {claim:7.2f} s")
            print(
                f"  spark map  (read {read:.2f} + ship, bill, write {rest:.2f})"
                f"  {total:7.2f} s  = {total / claim:.1f}x claim"
            )
            if args.no_variants or size != args.sizes[0]:
                continue
            for label, variant, partitions in (
                ("group  (groupBy hash % n, applyInArrow)", "group", None),
                ("sorted (sortWithinPartitions, mapInArrow)", "sorted", None),
                ("rebuilt settings in each partition", "rebuilt", None),
                ("map with 8 partitions", "map", 8),
            ):
                read, rest = median(
                    args.runs,
                    lambda v=variant, p=partitions: spark_once(spark, path, out, v, p),  # noqa: B023
                )
                print(f"  {label:42s} {read + rest:7.2f} s")
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Claim lines for exports on Spark, partitioned by patient (issue 14): the lines `cognibill
claim` gives, written as Parquet (every CLAIM_LINE column) or as `claim --format csv`'s CSV.

    pip install -e '.[spark]'            # PySpark 4; Spark needs Java 17+
    python examples/spark_claims.py sample_sessions/clinic_visits.csv --out out/claims
    spark-submit --master yarn examples/spark_claims.py s3://bucket/march/*.csv --out s3://...

DIR gets ``lines/`` (one file per partition), ``findings/``, ``rejected/`` and
``summary.json`` (claim's summary). The inputs are read on the driver, so they must be paths
it can open; the outputs are written by the executors, to any path Spark can write.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="session files (.toml) and exports")
    parser.add_argument("--out", required=True, help="output directory (local or Spark path)")
    parser.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument("--partitions", type=int, default=None, help="default: the cores")
    parser.add_argument("--method", choices=("map", "group"), default="map")
    parser.add_argument("--payer", default=None)
    parser.add_argument("--payers-file", default=None)
    parser.add_argument("--rule", choices=("cms", "ama", "ama-capped"), default=None)
    parser.add_argument("--locality", default=None)
    parser.add_argument("--visit-key", default=None)
    parser.add_argument("--from", dest="shape", default=None, help="the vendor shape")
    parser.add_argument("--encoding", default=None)
    parser.add_argument("--ignore", action="append", default=[], help="a rule id to leave out")
    parser.add_argument("--master", default=None, help="e.g. local[4] (spark-submit sets it)")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession

    from cognibill.errors import CognibillError
    from cognibill.spark import claims, csv_cells, csv_options

    builder = SparkSession.builder.appName("cognibill-claims")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    started = time.perf_counter()
    try:
        run = claims(
            spark,
            args.files,
            partitions=args.partitions,
            method=args.method,
            payer=args.payer,
            payers_file=args.payers_file,
            rule=args.rule,
            locality=args.locality,
            visit_key=args.visit_key,
            shape=args.shape,
            encoding=args.encoding,
            ignore=args.ignore,
        )
    except CognibillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = args.out.rstrip("/")
    if args.format == "csv":
        options = csv_options()
        csv_cells(run.lines).write.mode("overwrite").options(**options).csv(f"{out}/lines")
        run.findings.write.mode("overwrite").options(**options).csv(f"{out}/findings")
        run.rejected.write.mode("overwrite").options(**options).csv(f"{out}/rejected")
    else:
        run.lines.write.mode("overwrite").parquet(f"{out}/lines")
        run.findings.write.mode("overwrite").parquet(f"{out}/findings")
        run.rejected.write.mode("overwrite").parquet(f"{out}/rejected")
    summary = run.summary()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if "://" not in out:
        Path(out).mkdir(parents=True, exist_ok=True)
        Path(out, "summary.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    else:  # a cluster path: the summary is small, written as one text file by Spark
        spark.createDataFrame([(json.dumps(summary),)], "summary string").coalesce(1).write.mode(
            "overwrite"
        ).text(f"{out}/summary")
    run.unpersist()
    print(
        f"{summary['rows_read']} rows read, {summary['visits']} visits, "
        f"{summary['output_rows']} claim lines, findings {summary['findings']}, "
        f"{summary['seconds']} s -> {out}",
        file=sys.stderr,
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

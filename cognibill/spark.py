"""Claims on Apache Spark: the run partitioned by patient, each partition billed by the core
(issue 14; ``pip install 'cognibill[spark]'``, Java 17 or later).

The driver reads the inputs with the core's reader (``partition.read_inputs``: header
detection, vendor shapes and normalisation once per file), ships the canonical rows and the
visit keys of rejected rows to Spark as one Arrow-backed DataFrame, repartitions it by patient
and bills each partition with ``partition.bill_partition``: the ``engine.bill`` call that
``cognibill claim`` makes, with the run's ``Settings`` built once on the driver and shipped in
the function's closure. Every rule that looks past one visit is per patient, so the claim
lines are those ``claim`` gives, value for value (``tests/test_spark.py``).

    from pyspark.sql import SparkSession
    from cognibill.spark import claims

    spark = SparkSession.builder.getOrCreate()
    run = claims(spark, ["march.csv", "april.csv"], payer="medicare", locality="alabama")
    run.lines.write.parquet("out/lines")    # CLAIM_LINE columns, money in cents
    csv_cells(run.lines).write.csv(...)     # the cells of ``claim --format csv``
    run.summary()                           # claim's summary (rows read, findings, money)

Limits: no ledger (the year's earlier claims and ``already-billed`` need one store, not a
partition), no ``--explain`` trace; the inputs are read on the driver (every row of the run
passes through its memory once), the billing is what scales out. The lines come in partition
order (patients grouped), not in input order.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

# The spark extra's modules: checked as typed where installed, as Any where not.
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from cognibill.engine.bill import Settings
from cognibill.engine.frames import REJECTED, ROWS, conform
from cognibill.outputs.claims import CLAIM_LINE, csv_frame
from cognibill.partition import (
    FINDINGS_OUT,
    Inputs,
    Partition,
    bill_partition,
    read_inputs,
    run_summary,
    tally,
)

Schema = Mapping[str, pl.DataType | type[pl.DataType]]

ROWS_PER_PARTITION = 1_000_000
"""The default partitions: at least one per core, and about this many rows each at most (a
partition is billed in one call, in memory, as ``claim --unsorted`` bills a file)."""


def spark_type(dtype: Any) -> T.DataType:
    """The Spark type that carries a polars dtype of the engine's schemas (unsigned integers
    widen: Spark has none)."""
    if isinstance(dtype, pl.List):
        return T.ArrayType(spark_type(dtype.inner))
    if isinstance(dtype, pl.Struct):
        return T.StructType([T.StructField(f.name, spark_type(f.dtype)) for f in dtype.fields])
    simple: dict[Any, T.DataType] = {
        pl.String: T.StringType(),
        pl.Int64: T.LongType(),
        pl.UInt32: T.LongType(),
        pl.Int32: T.IntegerType(),
        pl.UInt16: T.IntegerType(),
        pl.Int8: T.ByteType(),
        pl.Boolean: T.BooleanType(),
        pl.Date: T.DateType(),
    }
    for polars_type, carried in simple.items():
        if dtype == polars_type:
            return carried
    raise TypeError(f"no Spark type for {dtype}")


def spark_schema(schema: Schema) -> T.StructType:
    """A ``StructType`` for one of the engine's frame schemas."""
    return T.StructType([T.StructField(name, spark_type(dtype)) for name, dtype in schema.items()])


def _arrow(frame: pl.DataFrame, schema: T.StructType) -> pa.Table:
    """``frame`` as the Arrow table Spark expects for ``schema`` (plain, not large, types)."""
    from pyspark.sql.pandas.types import (
        to_arrow_schema,
    )

    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(to_arrow_schema(schema))


SHIPPED: dict[str, pl.DataType | type[pl.DataType]] = {
    **ROWS,
    "row": pl.Int64,
    "_lost": pl.Boolean,
}
"""What goes to Spark: the canonical rows (``row`` numbered across the run) and, with
``_lost`` true, the visit keys of rejected rows (``LOST``'s columns, the rest null)."""

LINES_SCHEMA = spark_schema(CLAIM_LINE)
FINDINGS_SCHEMA = spark_schema({k: v for k, v in FINDINGS_OUT.items() if k != "visit"})
BILLED_SCHEMA = T.StructType(
    [
        T.StructField("line", LINES_SCHEMA),
        T.StructField("finding", FINDINGS_SCHEMA),
        T.StructField("tally", T.StringType()),
    ]
)
"""What a partition gives: a claim line, a finding, or the partition's tally (JSON), one of
the three per row."""


def shipped(inputs: Inputs) -> pl.DataFrame:
    """The rows and the lost visit keys of ``inputs`` as one frame (``SHIPPED``)."""
    rows = inputs.rows.with_columns(pl.col("row").cast(pl.Int64), pl.lit(False).alias("_lost"))
    lost = conform(inputs.lost, ROWS).with_columns(
        pl.col("row").cast(pl.Int64), pl.lit(True).alias("_lost")
    )
    return conform(pl.concat([rows, lost]), SHIPPED)


def unshipped(rows: pl.DataFrame, ship: pl.DataFrame) -> tuple[list[str], list[str]]:
    """Columns not worth shipping: (null in every row of ``ship``, the ``SHIPPED`` frame; an
    empty list in every row of ``rows``, the ``ROWS``). An export with no plan-of-care or
    session columns has 9 of the 26 null; shipping them costs a part of the shuffle."""
    nulls = [n for n in ROWS if n != "row" and ship.get_column(n).null_count() == ship.height]
    lists = [n for n, t in ROWS.items() if isinstance(t, pl.List) and n not in nulls]
    if rows.is_empty() or not lists:
        return nulls, []
    longest = rows.select(pl.col(n).list.len().max() for n in lists).row(0)
    unset = rows.select(pl.col(n).null_count() for n in lists).row(0)
    empty_lists = [
        n for n, most, none in zip(lists, longest, unset, strict=True) if most == 0 and none == 0
    ]
    return nulls, empty_lists


def billed_frame(part: Partition) -> pl.DataFrame:
    """A partition's lines, findings and tally as ``BILLED_SCHEMA`` rows."""
    line_type = pl.Struct(dict(CLAIM_LINE))
    finding_type = pl.Struct({k: v for k, v in FINDINGS_OUT.items() if k != "visit"})
    nothing = pl.lit(None, dtype=pl.String).alias("tally")
    lines = part.lines.select(
        pl.struct(*CLAIM_LINE).alias("line"),
        pl.lit(None, dtype=finding_type).alias("finding"),
        nothing,
    )
    findings = part.findings.select(
        pl.lit(None, dtype=line_type).alias("line"),
        pl.struct(*(k for k in FINDINGS_OUT if k != "visit")).alias("finding"),
        nothing,
    )
    counted = pl.DataFrame(
        {"tally": [json.dumps(tally(part))]}, schema={"tally": pl.String}
    ).select(
        pl.lit(None, dtype=line_type).alias("line"),
        pl.lit(None, dtype=finding_type).alias("finding"),
        "tally",
    )
    return pl.concat([lines, findings, counted])


class PartitionBiller:
    """The function each Spark partition runs: its rows (and lost visit keys) in, its billed
    rows out. Holds the run's settings, pickled once into the task."""

    def __init__(
        self,
        settings: Settings,
        absent: Mapping[str, frozenset[str]],
        sessions: frozenset[str],
        empty_lists: Iterable[str] = (),
    ) -> None:
        self.settings = settings
        self.absent = dict(absent)
        self.sessions = sessions
        self.empty_lists = tuple(empty_lists)
        """List columns left out of the shipped rows because every row's list is empty."""

    def table(self, table: pa.Table) -> pa.Table:
        """Bill one table of whole patients (``SHIPPED`` columns)."""
        frame = pl.DataFrame(pl.from_arrow(table))
        if frame.is_empty():
            return _arrow(pl.DataFrame(schema=_billed_polars()), BILLED_SCHEMA)
        lost = frame.get_column("_lost")
        rows = frame.filter(~lost).drop("_lost")
        if self.empty_lists:  # the columns not shipped: null ones come back with ``conform``
            nothing = pl.lit([], dtype=pl.List(pl.String))
            rows = rows.with_columns(nothing.alias(name) for name in self.empty_lists)
        part = bill_partition(
            rows,
            self.settings,
            lost=frame.filter(lost).drop("_lost"),
            absent=self.absent,
            sessions=self.sessions,
        )
        return _arrow(billed_frame(part), BILLED_SCHEMA)

    def batches(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        """``mapInArrow``: the partition's batches gathered into one table, then billed."""
        gathered = list(batches)
        if not gathered:
            return
        yield from self.table(pa.Table.from_batches(gathered)).to_batches()


def _billed_polars() -> dict[str, pl.DataType | type[pl.DataType]]:
    return {
        "line": pl.Struct(dict(CLAIM_LINE)),
        "finding": pl.Struct({k: v for k, v in FINDINGS_OUT.items() if k != "visit"}),
        "tally": pl.String,
    }


@dataclass
class SparkClaims:
    """A run on Spark: lines and findings as Spark DataFrames (lazy; the billing runs once, on
    the first action, then stays cached until :meth:`unpersist`)."""

    lines: DataFrame
    """``CLAIM_LINE`` columns (``outputs.claims``): what ``claim`` gives, money in cents."""
    findings: DataFrame
    """``check``'s rows: id, severity, code, message, line, hint, source, patient_id, date."""
    rejected: DataFrame
    """``REJECTED``: rows the reader could not use (read on the driver)."""
    billed: DataFrame
    """Every partition's output (``BILLED_SCHEMA``), cached."""
    inputs: Inputs
    settings: Settings

    def summary(self) -> dict[str, Any]:
        """``claim``'s summary of the run (``seconds`` is 0: Spark times its own jobs)."""
        parts = [
            json.loads(row["tally"])
            for row in self.billed.where(F.col("tally").isNotNull()).select("tally").collect()
        ]
        return run_summary(self.inputs, self.settings, parts)

    def unpersist(self) -> None:
        self.billed.unpersist()


def claims(
    spark: SparkSession,
    inputs: Iterable[str | os.PathLike[str]],
    *,
    partitions: int | None = None,
    method: str = "map",
    **options: Any,
) -> SparkClaims:
    """Bill session files and exports on ``spark`` as ``cognibill.bill`` does, with its keyword
    options (those of ``claim``; no ledger). ``partitions``: how many (default: the cores, and
    at most ``ROWS_PER_PARTITION`` rows each); ``method``: ``map`` (``repartition`` by patient,
    then ``mapInArrow``) or ``group`` (``groupBy`` a hash of the patient, then
    ``applyInArrow``)."""
    from cognibill.api import _options
    from cognibill.engine.run import make_settings

    run = _options(**options)
    settings = make_settings(run)  # before reading: a bad option fails fast
    read = read_inputs(
        inputs,
        column_map=run.column_map,
        shape=run.shape,
        sheet=run.sheet,
        encoding=run.encoding,
    )
    return bill_inputs(spark, read, settings, partitions=partitions, method=method)


def bill_inputs(
    spark: SparkSession,
    inputs: Inputs,
    settings: Settings,
    *,
    partitions: int | None = None,
    method: str = "map",
) -> SparkClaims:
    """Bill inputs already read (``partition.read_inputs``) with ``settings``
    (``engine.run.make_settings``) on ``spark``."""
    if method not in ("map", "group"):
        raise ValueError("method: 'map' or 'group'")
    if partitions is None:
        cores = spark.sparkContext.defaultParallelism
        partitions = max(cores, math.ceil(inputs.rows.height / ROWS_PER_PARTITION))
    ship = shipped(inputs)
    nulls, empty_lists = unshipped(inputs.rows, ship)
    keep = {k: v for k, v in SHIPPED.items() if k not in nulls and k not in empty_lists}
    rows = ship.select(list(keep))
    frame = spark.createDataFrame(_arrow(rows, spark_schema(keep)))
    biller = PartitionBiller(settings, inputs.absent, inputs.sessions, empty_lists)
    if method == "map":
        billed = frame.repartition(partitions, "patient").mapInArrow(biller.batches, BILLED_SCHEMA)
    else:
        bucket = F.pmod(F.hash("patient"), F.lit(partitions)).alias("_bucket")
        billed = frame.groupBy(bucket).applyInArrow(
            lambda table: biller.table(table), BILLED_SCHEMA
        )
    billed = billed.persist()
    rejected = spark.createDataFrame(
        _arrow(conform(inputs.rejected, REJECTED), spark_schema(REJECTED))
    )
    return SparkClaims(
        lines=billed.where(F.col("line").isNotNull()).select("line.*"),
        findings=billed.where(F.col("finding").isNotNull()).select("finding.*"),
        rejected=rejected,
        billed=billed,
        inputs=inputs,
        settings=settings,
    )


CSV_SCHEMA = spark_schema(dict(csv_frame(pl.DataFrame(schema=CLAIM_LINE)).schema))
"""The columns of ``claim --format csv``: text cells as it writes them, integers as they are."""


def _csv_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        lines = pl.DataFrame(pl.from_arrow(batch))
        yield from _arrow(csv_frame(conform(lines, CLAIM_LINE)), CSV_SCHEMA).to_batches()


def csv_cells(lines: DataFrame) -> DataFrame:
    """Claim lines (``SparkClaims.lines``) as the cells ``claim --format csv`` writes (money
    as ``low-high`` text, modifiers space-separated, findings ``severity[id]: message``, text
    a spreadsheet would run neutralised). Write them with ``csv_options()``."""
    return lines.mapInArrow(_csv_batches, CSV_SCHEMA)


def csv_options() -> dict[str, str]:
    """Spark CSV writer options that quote as ``claim --format csv`` does (a header; a quote
    doubled, not escaped with a backslash)."""
    return {"header": "true", "escape": '"', "lineSep": "\n", "emptyValue": ""}

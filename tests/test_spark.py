"""Claims on Spark (cognibill.spark, issue 14), in local mode: the run partitioned by patient
gives `cognibill claim`'s claim lines value for value, its findings, rejected rows and summary.
Skipped without PySpark (`pip install -e '.[spark]'`) or Java."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import cognibill
from cognibill.outputs.claims import CLAIM_LINE, csv_frame
from tests.conftest import DATA, REPO


def _java() -> bool:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return False
    java = shutil.which("java") or str(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytest.importorskip("pyspark", reason="the spark extra is not installed")
if not _java():  # pragma: no cover - CI without Java
    pytest.skip("Spark needs Java (java -version fails)", allow_module_level=True)

from cognibill.spark import SparkClaims, claims, csv_cells, csv_options  # noqa: E402

SAMPLES = sorted((REPO / "sample_sessions").iterdir())
GENERATED = DATA / "csv" / "generated_export.csv"
BIG_ROWS = 100_000


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cognibill-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def big_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 100k rows of benchmarks/make_export.py, a bad row every 5,000 (rejected: their
    visits get visit-incomplete)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import make_export

    path = tmp_path_factory.mktemp("spark") / "export_100k.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(make_export.HEADER)
        for n, row in enumerate(make_export.generate(BIG_ROWS, seed=14)):
            if n % 5000 == 4999:
                row[5] = "thirty"
            writer.writerow(row)
    return path


def by_visit(lines: pl.DataFrame) -> pl.DataFrame:
    """Claim lines by input and visit line, each visit's lines in the order billed."""
    return lines.select(*CLAIM_LINE).sort("source", "line", maintain_order=True)


def by_place(findings: pl.DataFrame) -> pl.DataFrame:
    columns = ["id", "severity", "code", "message", "line", "hint", "source", "patient_id", "date"]
    return findings.select(columns).sort(
        "source", "patient_id", "date", "line", "id", "message", maintain_order=True
    )


def frame(df: Any) -> pl.DataFrame:
    return pl.DataFrame(pl.from_arrow(df.toArrow()))


def assert_same_run(run: SparkClaims, whole: cognibill.api.Result) -> None:
    lines = frame(run.lines)
    assert lines.schema == pl.Schema(CLAIM_LINE)
    assert lines.height == whole.lines.height
    assert by_visit(lines).equals(by_visit(whole.lines))  # every column, value for value
    assert by_place(frame(run.findings)).equals(by_place(whole.findings))
    assert frame(run.rejected).equals(whole.rejected)
    summary, expected = run.summary(), whole.summary
    ignored = ("grouping", "seconds", "notes")
    assert {k: v for k, v in summary.items() if k not in ignored} == {
        k: v for k, v in expected.items() if k not in ignored
    }

    def key(note: dict[str, Any]) -> tuple[str, str, str]:
        return (note["source"], note["id"], note["message"])

    assert sorted(summary["notes"], key=key) == sorted(expected["notes"], key=key)


@pytest.mark.parametrize("path", [*SAMPLES, GENERATED], ids=lambda p: p.name)
def test_each_sample_on_spark_gives_the_claim_lines_of_claim(spark: Any, path: Path) -> None:
    run = claims(spark, [path])
    try:
        assert_same_run(run, cognibill.bill([path]))
    finally:
        run.unpersist()


def test_every_sample_in_one_run_on_spark_gives_the_claim_lines_of_claim(spark: Any) -> None:
    inputs = [*SAMPLES, GENERATED]
    run = claims(spark, inputs, partitions=3, payer="medicare", locality="alabama")
    try:
        assert_same_run(run, cognibill.bill(inputs, payer="medicare", locality="alabama"))
    finally:
        run.unpersist()


def test_grouped_by_patient_with_apply_in_arrow_gives_the_same_lines(spark: Any) -> None:
    run = claims(spark, [GENERATED], method="group", partitions=4)
    try:
        assert_same_run(run, cognibill.bill([GENERATED]))
    finally:
        run.unpersist()


def test_a_100k_row_export_on_spark_gives_the_claim_lines_of_claim(
    spark: Any, big_export: Path
) -> None:
    run = claims(spark, [big_export])
    try:
        whole = cognibill.bill([big_export])
        assert whole.rejected.height == BIG_ROWS // 5000
        assert whole.summary["visits_incomplete"] > 0
        assert whole.summary["findings"]["warning"] > 0  # KX and the like, across visits
        assert_same_run(run, whole)
    finally:
        run.unpersist()


def test_csv_written_by_spark_holds_the_rows_of_claim_format_csv(
    spark: Any, tmp_path: Path, cli: Any
) -> None:
    path = REPO / "sample_sessions" / "clinic_visits.csv"
    run = claims(spark, [path])
    try:
        cells = frame(csv_cells(run.lines))
        assert cells.sort(cells.columns).equals(
            csv_frame(cognibill.bill([path]).lines).sort(cells.columns)
        )
        out = tmp_path / "lines"
        csv_cells(run.lines).coalesce(1).write.options(**csv_options()).csv(str(out))
    finally:
        run.unpersist()
    (written,) = out.glob("part-*.csv")
    claimed = cli("claim", str(path), "--format", "csv")
    assert claimed.code in (0, 1, 2, 3)

    def rows(text: str) -> list[list[str]]:
        return list(csv.reader(text.splitlines(keepends=True)))

    spark_rows, claim_rows = rows(written.read_text("utf-8")), rows(claimed.out)
    assert spark_rows[0] == claim_rows[0]  # the header
    assert sorted(spark_rows[1:]) == sorted(claim_rows[1:])

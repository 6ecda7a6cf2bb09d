"""XLSX readers compared: openpyxl (read-only, values only) against calamine, via fastexcel and via
python-calamine, on a generated workbook of 100,000 rows by 12 columns (issue 10).

Each reader turns every row of the first sheet into strings as :mod:`cognibill.inputs.workbook`
promises (dates ``YYYY-MM-DD``, times ``HH:MM``, ``38`` not ``38.0``, blank rows kept):

- **openpyxl**: ``load_workbook(read_only=True, data_only=True)``, ``iter_rows(values_only=True)``,
  then each cell to text in Python; also ``openpyxl-raw``, the same pass without the text;
- **fastexcel**: ``load_sheet(header_row=None, skip_rows=0, dtypes="string")`` into polars, then
  vectorised fixes of calamine's own text (``2026-03-02 00:00:00`` -> ``2026-03-02``,
  ``1899-12-31 13:05:00`` -> ``13:05``, null -> ``""``), then the rows out of the frame;
- **calamine**: python-calamine's ``iter_rows()``, each cell to text in Python;
- **cognibill**: :func:`cognibill.inputs.workbook.read_sheet`, the reader chosen;
- **floor**: a child that imports polars and the module and reads nothing (its memory is the
  floor under every other).

Each run is a child process (``--child NAME PATH``); readers alternate, ``--runs`` rounds (3 by
default); the table gives the median wall time of the read, the median import time of the
reader's modules (measured in the child, around the import alone), the whole child's wall time
and its peak memory (``ru_maxrss`` from ``os.wait4``).

    python benchmarks/xlsx_readers.py [--rows 100000] [--runs 3] [--keep DIR]

Needs openpyxl, fastexcel, python-calamine and xlsxwriter (``pip install`` them by name).

Results, 2026-12-02: Python 3.11.7, openpyxl 3.1.5, fastexcel 0.21.0, python-calamine 0.9.1,
polars 2.1.0; 2 CPUs shared with other work (load average 5-6), so wall times are up to twice a
quiet machine's and CPU seconds (``time.process_time`` of the read, all threads) compare best.
100,000 rows x 12 columns (5.6 MiB), medians of 3 alternating runs::

    reader          read s       range  cpu s import ms  child s  peak RSS
    floor             0.00  0.00-0.00    0.00       0.0     0.40    47 MiB
    openpyxl-raw     13.74 10.49-16.82   8.98      79.5    14.56    63 MiB
    openpyxl         19.42 19.39-25.17  10.42     132.6    20.45    63 MiB
    fastexcel         2.76  2.02-3.37    1.13       5.0     3.26   187 MiB
    calamine          2.48  1.88-2.77    1.23       0.9     3.37   146 MiB
    cognibill         2.89  1.47-3.14    1.25       0.8     3.37   146 MiB

An earlier run at load 4-5 (no CPU column): openpyxl 12.38 s, fastexcel 1.12 s, calamine 1.30 s,
cognibill 1.35 s, the same memory. 300,000 rows (16.7 MiB), one run: CPU fastexcel 3.29 s,
calamine 3.73 s, cognibill 3.77 s; peak fastexcel 423 MiB, python-calamine 341 MiB (about 1 KiB
a row over the floor: a whole sheet is read before its first row). Every reader gave the same
text for every row (a digest of all rows). ``floor`` is Python with polars and the module
imported; fastexcel's import time leaves out polars, which the engine imports anyway.

**The choice: python-calamine** (``cognibill.inputs.workbook``). calamine (Rust) reads about 8x
faster than openpyxl (CPU seconds). Through python-calamine each cell keeps its type (date,
date-and-time, time, duration, bool, number), so the text is exact. fastexcel, read with no header
(a title may stand above it), gives calamine's own text for mixed columns instead: a time of day
as ``1899-12-31 13:05:00``, a date as ``2026-03-02 00:00:00``, ``true`` for a boolean and for the
word alike, 1/3 as ``0.333333333``, error cells as null, leading blank rows dropped unless
``skip_rows=0``, and a warning logged to stderr for an empty column. Its text fixes run in polars,
which makes it as fast as python-calamine's per-cell Python, but it holds the sheet twice
(calamine's cells and the Arrow strings: 140 MiB over the floor at 100k rows against 99; openpyxl
streams in 16). Both calamine bindings are MIT, maintained and ship wheels for CPython 3.11-3.14
(python-calamine one per version, fastexcel one abi3); python-calamine has no dependencies and
imports in under a millisecond. openpyxl (MIT, pure Python) stays as the tests' writer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

READERS = ("floor", "openpyxl-raw", "openpyxl", "fastexcel", "calamine", "cognibill")

HEADER = [
    "Client",
    "DOS",
    "Start Time",
    "End Time",
    "Minutes",
    "CPT",
    "Units",
    "Rate",
    "Provider",
    "Credential",
    "Payer",
    "Group",
]


def write_workbook(path: Path, rows: int) -> None:
    """A seeded workbook: a header, then ``rows`` visits with real date, time, number and
    boolean cells (xlsxwriter, constant memory)."""
    import xlsxwriter  # type: ignore[import-untyped]

    rng = random.Random(10)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Visits")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    clock = book.add_format({"num_format": "hh:mm"})
    sheet.write_row(0, 0, HEADER)
    first = dt.datetime(2026, 1, 5)
    for r in range(1, rows + 1):
        start = (8 + rng.randrange(9)) * 60 + rng.randrange(60)
        minutes = rng.randrange(8, 61)
        end = start + minutes
        sheet.write_string(r, 0, f"C{rng.randrange(5000):04d}")
        sheet.write_datetime(r, 1, first + dt.timedelta(days=rng.randrange(90)), day)
        sheet.write_datetime(r, 2, dt.time(start // 60, start % 60), clock)
        sheet.write_datetime(r, 3, dt.time(end // 60, end % 60), clock)
        sheet.write_number(r, 4, minutes)
        sheet.write_string(r, 5, rng.choice(["97110", "97112", "97129", "97130", "97530"]))
        sheet.write_number(r, 6, rng.randrange(1, 5))
        sheet.write_number(r, 7, rng.choice([31.5, 28.25, 40.0]))
        sheet.write_string(r, 8, rng.choice(["Smith, Anna SLP", "Lee, Bo PT, DPT", "Ng, Cy OTR/L"]))
        sheet.write_string(r, 9, rng.choice(["CCC-SLP", "PT, DPT", "OTR/L"]))
        sheet.write_string(r, 10, rng.choice(["Medicare", "Aetna", "BCBS"]))
        sheet.write_boolean(r, 11, rng.random() < 0.1)
    book.close()


# -- the readers, in the child ------------------------------------------------------------------


def _openpyxl(path: str, raw: bool) -> Iterator[list[str]]:
    import openpyxl

    from cognibill.inputs.workbook import cell_text

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield list(row) if raw else [cell_text(v) for v in row]  # type: ignore[misc]
    finally:
        book.close()


def _fastexcel(path: str) -> Iterator[list[str]]:
    import fastexcel
    import polars as pl

    sheet = fastexcel.read_excel(path).load_sheet(0, header_row=None, skip_rows=0, dtypes="string")
    frame = sheet.to_polars()
    fixed = frame.select(
        pl.col(c)
        .fill_null("")
        .str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1")
        .str.replace(r"^1899-12-31 (\d{2}:\d{2}):00$", "$1")
        .str.replace(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}):00$", "$1")
        .replace({"true": "TRUE", "false": "FALSE"})  # also text cells "true": no cell types here
        for c in frame.columns
    )
    for row in fixed.iter_rows():
        yield list(row)


def _calamine(path: str) -> Iterator[list[str]]:
    import python_calamine

    from cognibill.inputs.workbook import cell_text

    sheet = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    for row in sheet.iter_rows():
        yield [v if type(v) is str else cell_text(v) for v in row]


def _cognibill(path: str) -> Iterator[list[str]]:
    from cognibill.inputs.workbook import read_sheet

    return read_sheet(path, None).rows


_MODULES = {
    "floor": (),
    "openpyxl-raw": ("openpyxl",),
    "openpyxl": ("openpyxl",),
    "fastexcel": ("fastexcel",),
    "calamine": ("python_calamine",),
    "cognibill": ("python_calamine",),
}
"""The reader's own modules, timed on import. polars, which fastexcel hands its frame to, is
imported before the clock starts in every child: the engine imports it anyway."""


def child(name: str, path: str, check: bool = False) -> None:
    """One run of one reader: import time, read time and rows, as JSON on stderr; ``check``
    adds a digest of every row's text (outside the timings: a run of its own)."""
    import importlib

    import polars  # noqa: F401  (every child: the engine's own, outside the timings)

    import cognibill.inputs.workbook  # noqa: F401  (the text conversion, outside the timings)

    start = time.perf_counter()
    for module in _MODULES[name]:
        importlib.import_module(module)
    imported = time.perf_counter() - start
    readers = {
        "floor": lambda p: iter(()),
        "openpyxl-raw": lambda p: _openpyxl(p, raw=True),
        "openpyxl": lambda p: _openpyxl(p, raw=False),
        "fastexcel": _fastexcel,
        "calamine": _calamine,
        "cognibill": _cognibill,
    }
    digest = hashlib.sha256()
    cpu = time.process_time()
    start = time.perf_counter()
    rows = 0
    last: list[str] = []
    for row in readers[name](path):
        rows += 1
        last = row
        if check:
            digest.update(("\x1f".join(row) + "\n").encode())
    read = time.perf_counter() - start
    cpu = time.process_time() - cpu
    said = {"import": imported, "read": read, "cpu": cpu, "rows": rows, "last": last}
    said["digest"] = digest.hexdigest()
    sys.stderr.write(json.dumps(said, default=str))


# -- the harness --------------------------------------------------------------------------------


def _run(name: str, path: Path, check: bool = False) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", name, str(path), *(["--check"] if check else [])]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{name} failed:\n{text}")
    got: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    got["wall"] = wall
    got["rss"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--keep", type=Path, help="write the workbook into this directory")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child, check=args.check)
        return 0
    names = args.readers.split(",")
    with tempfile.TemporaryDirectory(prefix="cognibill-xlsx-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"visits-{args.rows}.xlsx"
        if not path.exists():
            write_workbook(path, args.rows)
        size = path.stat().st_size / 2**20
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        print(f"{path.name}: {args.rows:,} rows x {len(HEADER)} columns, {size:.1f} MiB")
        texts = [n for n in names if n not in ("floor", "openpyxl-raw")]
        digests = {n: _run(n, path, check=True)["digest"] for n in texts}
        results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        for _ in range(args.runs):
            for name in names:
                results[name].append(_run(name, path))
        print(
            f"\n{'reader':14} {'read s':>7} {'range':>11} {'cpu s':>6} {'import ms':>9} "
            f"{'child s':>8} {'peak RSS':>9}   (medians of {args.runs})"
        )
        for name, runs in results.items():
            reads = [r["read"] for r in runs]
            print(
                f"{name:14} {statistics.median(reads):>7.2f} "
                f"{min(reads):>5.2f}-{max(reads):<5.2f} "
                f"{statistics.median(r['cpu'] for r in runs):>6.2f} "
                f"{statistics.median(r['import'] for r in runs) * 1000:>9.1f} "
                f"{statistics.median(r['wall'] for r in runs):>8.2f} "
                f"{max(r['rss'] for r in runs) / 2**20:>5.0f} MiB"
            )
        rows = {r["rows"] for n, runs in results.items() for r in runs if n != "floor"}
        same = len(set(digests.values())) == 1
        print(f"\nrows yielded: {sorted(rows)}; every row's text the same: {same}")
        if not same:
            print(f"  digests: {digests}")
        for name, runs in results.items():
            print(f"  {name}: {runs[-1]['last']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

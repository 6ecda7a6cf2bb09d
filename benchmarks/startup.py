"""Start-up benchmark: ``cognibill units 38`` against the floor of its stack, a minimal Typer app
that imports polars, runs a one-row query and prints one Rich table.

Runs both commands alternately (so machine noise hits both alike), reports medians and the ratio.
Target (issue 9): ratio at most 1.10; ``--version`` imports neither polars nor data.

    python benchmarks/startup.py [--runs 30]
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

MINIMAL = """
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer()

@app.command()
def main(minutes: int) -> None:
    import polars as pl

    units = pl.DataFrame({"minutes": [minutes]}).select((pl.col("minutes") + 7) // 15).item()
    table = Table("Code", "Units")
    table.add_row("97129", str(units))
    Console().print(table)

app()
"""


_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Children may write and use .pyc files, as an installed cognibill (pip compiles them) and the
site-packages of the minimal app have: with PYTHONDONTWRITEBYTECODE set (some sandboxes set
it), an editable checkout recompiles every module of cognibill on every run."""


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        minimal = Path(tmp) / "minimal.py"
        minimal.write_text(MINIMAL)
        base_cmd = [sys.executable, str(minimal), "38"]
        ours_cmd = [sys.executable, "-m", "cognibill", "units", "38"]
        version_cmd = [sys.executable, "-m", "cognibill", "--version"]
        for cmd in (base_cmd, ours_cmd):  # warm the file cache and .pyc files
            _time(cmd)
        base, ours, version = [], [], []
        for _ in range(args.runs):
            base.append(_time(base_cmd))
            ours.append(_time(ours_cmd))
            version.append(_time(version_cmd))
    b, o, v = (statistics.median(x) * 1000 for x in (base, ours, version))
    print(f"runs: {args.runs} each, alternating; medians")
    print(f"minimal Typer + Rich table : {b:7.1f} ms")
    print(f"cognibill units 38         : {o:7.1f} ms")
    print(f"cognibill --version        : {v:7.1f} ms")
    print(f"ratio units/minimal        : {o / b:7.2f}  (target <= 1.10)")


if __name__ == "__main__":
    main()

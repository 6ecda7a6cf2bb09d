"""Golden-output oracle for the engine migration (issue 9): today's code, recorded, is the oracle.

``record`` exports the pinned oracle commit (``ORACLE_SHA``, the last commit before the columnar
engine work) with ``git archive`` into ``benchmarks/out/golden/oracle-src/`` and runs every case
against it; ``compare`` runs the same cases against the working tree and reports, case by case,
whether stdout, stderr and the exit code are identical to the oracle's.

    python scripts/golden.py record                 # small: everything but the 1M-row exports
    python scripts/golden.py record --sizes all     # with the 1M-row exports (1-5 min a case)
    python scripts/golden.py compare                # exit 0 only when every case is identical
    python scripts/golden.py compare --only units/  # a substring of the case names
    python scripts/golden.py compare --sizes all --keep
    python scripts/golden.py compare --rev HEAD     # a commit (git archive) instead of the tree
    python scripts/golden.py compare --out /tmp/g   # alongside another compare
    python scripts/golden.py list                   # the case names

Each side runs ``python -m cognibill ...`` with this interpreter (``sys.executable``: use the
project venv), ``PYTHONPATH`` set to the side's tree (the oracle export or the repository root)
and ``PYTHONSAFEPATH=1`` so that the working directory never shadows it. The environment is
fixed: ``NO_COLOR=1``, ``COLUMNS=100``, ``TERM=dumb``, ``LC_ALL=C.UTF-8``, ``PYTHONHASHSEED=0``,
no ``COGNIBILL_*`` variable (so no ``COGNIBILL_FORMAT``, payers file or fee data folder) and
``XDG_CONFIG_HOME`` an empty directory (no user ``payers.toml``). The working directory is
``benchmarks/out/golden/inputs/``, which holds copies of the oracle commit's sample sessions and
test fixtures and the generated exports, so that both sides read the same bytes and print the
same relative paths, whatever later commits do to the fixtures.

Cases (``list`` prints them):

- ``bench/...``: exports from the oracle's ``benchmarks/make_export.py``, 100k and 1M rows, two
  seeds, as written (sorted) and with the data rows shuffled (seeded, header kept), each with
  ``claim --format csv`` and ``claim --format json``; ``claim --format ndjson`` on the first
  100k sorted export. ``--sizes small`` (the default) leaves out the 1M-row ones. A shuffled
  export whose first interrupted visit falls within the 20,000 rows ``claim`` holds back is
  grouped again in memory (both 100k ones, the 1M one of the second seed); the 1M one of the
  first seed is interrupted later, at line 28,001, and stops with exit 3 after a few dozen
  claim lines: recorded as it is, an error path of its own.
- ``sample_sessions/...`` and ``tests/data/{csv,csv/edges,sessions}/...``: every file, with
  ``claim --format csv``, ``claim --format json`` and ``check``.
- ``tests/data/payers/...``: every payers fixture as ``--payers FILE`` on
  ``sample_sessions/clean_visit.toml``, with the same three commands.
- ``units/NNNN``: seeded random visits for ``units ... --format json`` (1-4 codes of the
  catalogue, 0-90 minutes, ``--date`` in 2020-2026 or ``--year``, some with ``--rule``,
  ``--payer commercial``, ``--explain``, ``--facility``, ``--non-par``, ``--compare``). These
  run in ONE process per side (``_units-worker``), which calls ``cognibill.cli.main`` per case
  inside typer's ``CliRunner`` isolation: the CLI's own error boundary, without ~0.3 s of
  start-up per case.

Outputs go to ``benchmarks/out/golden/<side>/<case>.{out,err,rc}`` (``units.jsonl`` for the
units cases), normalised as they are written: the ``"seconds": N`` field of the JSON and NDJSON
summaries and the ``; N.NN s`` at the end of the stderr summary line are the only run-time
dependent parts found. The real date still matters to ``claim``/``check``, which have no
option for "today": the ``future-date`` finding (no input is dated after 2026-12-01, so no
case has one today; a case would change the day its date passed). Every units case names its day
(``--date`` or ``--year``), since the default, today, shows in the estimate. ``compare`` warns
when it runs on another day than ``record`` did.

Big outputs are compared in chunks first (``filecmp``); only when they differ are the lines
read, positionally for files over 2 MB and with ``difflib`` below that. ``compare`` deletes the
new side's outputs of identical cases unless ``--keep``. ``record`` locks
``benchmarks/out/golden/`` for itself; compares share it, one per output folder (``--out``).

The differences from the oracle that the migration is allowed to make are listed in the lead's
note for issue 9; this script reports every difference and judges none.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import dataclasses
import datetime as dt
import difflib
import fcntl
import filecmp
import io
import itertools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

ORACLE_SHA = "f23fd54993e834bc908d9e70dae7ca451095f113"

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "benchmarks" / "out" / "golden"
ORACLE_SRC = GOLDEN / "oracle-src"
INPUTS = GOLDEN / "inputs"

SEEDS = (20260301, 20261201)
BENCH_ROWS = {"100k": 100_000, "1m": 1_000_000}
SMALL_SIZES = ("100k",)
FIXTURE_DIRS = ("sample_sessions", "tests/data/csv", "tests/data/csv/edges", "tests/data/sessions")
PAYERS_DIR = "tests/data/payers"
PAYERS_BASE = "sample_sessions/clean_visit.toml"
FILE_COMMANDS: dict[str, tuple[str, ...]] = {
    "claim-csv": ("claim", "--format", "csv"),
    "claim-json": ("claim", "--format", "json"),
    "check": ("check",),
}
UNITS_CASES = 3000
UNITS_SEED = 97129
MAX_JOBS = 2
BIG_FILE = 2 * 1024 * 1024
SHOW_LINES = 5
SHOW_WIDTH = 150

_SECONDS_JSON = re.compile(rb'("seconds": )-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?')
_SECONDS_LINE = re.compile(rb"; [0-9]+\.[0-9]{2} s(\r?\n?)$")


# -- cases -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One command line, run in ``INPUTS``."""

    name: str
    args: tuple[str, ...]

    @property
    def stem(self) -> str:
        return self.name.replace("/", "__").replace(":", "--")


def bench_inputs(sizes: Iterable[str]) -> list[tuple[str, int, int, bool]]:
    """(relative path, rows, seed, shuffled) of every benchmark export for ``sizes``."""
    out = []
    for size in sizes:
        for seed in SEEDS:
            for shuffled in (False, True):
                order = "shuffled" if shuffled else "sorted"
                out.append(
                    (f"bench/export-{size}-s{seed}-{order}.csv", BENCH_ROWS[size], seed, shuffled)
                )
    return out


def fixture_files(tree: Path) -> list[str]:
    """Relative paths of the fixtures under ``tree`` (the oracle export or ``INPUTS``)."""
    files = []
    for folder in FIXTURE_DIRS:
        files += sorted(f"{folder}/{p.name}" for p in (tree / folder).iterdir() if p.is_file())
    return files


def payers_files(tree: Path) -> list[str]:
    return sorted(f"{PAYERS_DIR}/{p.name}" for p in (tree / PAYERS_DIR).iterdir() if p.is_file())


def file_cases(sizes: Sequence[str]) -> list[Case]:
    """The command-line cases, in report order (needs ``INPUTS`` filled in)."""
    cases: list[Case] = []
    for path, rows, seed, shuffled in bench_inputs(sizes):
        name = path.removesuffix(".csv")
        cases.append(Case(f"{name}:claim-csv", ("claim", path, "--format", "csv")))
        cases.append(Case(f"{name}:claim-json", ("claim", path, "--format", "json")))
        if rows == BENCH_ROWS["100k"] and seed == SEEDS[0] and not shuffled:
            cases.append(Case(f"{name}:claim-ndjson", ("claim", path, "--format", "ndjson")))
    for path in fixture_files(INPUTS):
        for label, (command, *flags) in FILE_COMMANDS.items():
            cases.append(Case(f"{path}:{label}", (command, path, *flags)))
    for path in payers_files(INPUTS):
        for label, (command, *flags) in FILE_COMMANDS.items():
            args = (command, PAYERS_BASE, "--payers", path, *flags)
            cases.append(Case(f"{path}:{label}", args))
    return cases


def units_cases(count: int = UNITS_CASES, seed: int = UNITS_SEED) -> list[Case]:
    """Seeded random one-off visits for ``units --format json`` (read from the oracle's
    catalogue, so that later catalogue edits do not move the cases)."""
    with (ORACLE_SRC / "cognibill" / "data" / "codes.toml").open("rb") as fh:
        catalogue = tomllib.load(fh)["code"]
    live = sorted(code for code, entry in catalogue.items() if "deleted_on" not in entry)
    deleted = sorted(code for code, entry in catalogue.items() if "deleted_on" in entry)
    rng = random.Random(seed)
    first, last = dt.date(2020, 1, 1).toordinal(), dt.date(2026, 12, 31).toordinal()
    cases = []
    for n in range(count):
        picked = rng.sample(live, rng.randint(1, 4))
        if rng.random() < 0.03:  # a deleted code: an error (or a finding, by date)
            picked[-1] = rng.choice(deleted)
        if rng.random() < 0.02:  # the same code twice: an error the CLI must word the same
            picked.append(picked[0])
        entries = []
        for code in picked:
            minutes = rng.randint(0, 90)
            bare = code == "97129" and rng.random() < 0.5
            entries.append(str(minutes) if bare else f"{code}={minutes}")
        args = ["units", *entries, "--format", "json"]
        draw = rng.random()
        if draw < 0.15:
            args += ["--rule", "ama"]
        elif draw < 0.30:
            args += ["--rule", "ama-capped"]
        elif draw < 0.35:
            args += ["--rule", "cms"]
        if rng.random() < 0.25:
            args += ["--payer", "commercial"]
        # Always a day: the default (today) would tie the record to the day it was made.
        if rng.random() < 0.75:
            args += ["--date", dt.date.fromordinal(rng.randint(first, last)).isoformat()]
        else:
            args += ["--year", str(rng.randint(2020, 2026))]
        if rng.random() < 0.3:
            args.append("--explain")
        if rng.random() < 0.1:
            args.append("--facility")
        if rng.random() < 0.1:
            args.append("--non-par")
        if rng.random() < 0.05:
            args.append("--compare")
        cases.append(Case(f"units/{n:04d}", tuple(args)))
    return cases


# -- running a side ----------------------------------------------------------------------------


# The tree each side runs (``compare --rev`` points "new" at an export of a commit) and the
# folder its outputs go to (``compare --out``).
ROOTS = {"oracle": ORACLE_SRC, "new": ROOT}
OUTS = {"oracle": GOLDEN / "oracle", "new": GOLDEN / "new"}


def side_root(side: str) -> Path:
    return ROOTS[side]


def side_env(side: str, config_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COGNIBILL_")}
    for name in ("FORCE_COLOR", "CLICOLOR_FORCE", "PYTHONSTARTUP", "PYTHONWARNINGS"):
        env.pop(name, None)
    env.update(
        {
            "NO_COLOR": "1",
            "COLUMNS": "100",
            "LINES": "40",
            "TERM": "dumb",
            "LC_ALL": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONSAFEPATH": "1",
            "PYTHONPATH": str(side_root(side)),
            "XDG_CONFIG_HOME": str(config_home),
        }
    )
    return env


def check_import(side: str, config_home: Path) -> None:
    """Stop unless ``side``'s environment imports cognibill from ``side``'s tree."""
    where = subprocess.run(
        [sys.executable, "-c", "import cognibill; print(cognibill.__file__)"],
        cwd=INPUTS,
        env=side_env(side, config_home),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(side_root(side).resolve()):
        raise SystemExit(f"golden: the {side} side imports {where}, not {side_root(side)}")


def normalise_out(line: bytes) -> bytes:
    if b'"seconds"' in line:
        return _SECONDS_JSON.sub(rb'\1"<seconds>"', line)
    return line


def normalise_err(line: bytes) -> bytes:
    if line.startswith(b"cognibill: ") and b" s" in line:
        return _SECONDS_LINE.sub(rb"; <N.NN> s\1", line)
    return line


def normalise_text(text: str, stream: str) -> str:
    norm = normalise_out if stream == "out" else normalise_err
    lines = text.encode("utf-8", "surrogateescape").splitlines(keepends=True)
    return b"".join(norm(line) for line in lines).decode("utf-8", "surrogateescape")


def _copy_lines(source: IO[bytes], target: IO[bytes], norm: Callable[[bytes], bytes]) -> None:
    for line in source:
        target.write(norm(line))


def run_case(case: Case, side: str, config_home: Path) -> float:
    """Run ``case`` on ``side``; write the normalised outputs; return the wall time."""
    folder = OUTS[side]
    folder.mkdir(parents=True, exist_ok=True)
    out, err, rc = (folder / f"{case.stem}.{ext}" for ext in ("out", "err", "rc"))
    rc.unlink(missing_ok=True)  # .rc is written last: its presence marks a complete record
    start = time.monotonic()
    with tempfile.TemporaryFile() as raw_err, out.open("wb") as out_fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cognibill", *case.args],
            cwd=INPUTS,
            env=side_env(side, config_home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=raw_err,
        )
        assert proc.stdout is not None
        _copy_lines(proc.stdout, out_fh, normalise_out)
        code = proc.wait()
        seconds = time.monotonic() - start
        raw_err.seek(0)
        with err.open("wb") as err_fh:
            _copy_lines(raw_err, err_fh, normalise_err)
    rc.write_text(f"{code}\n")
    return seconds


def run_units(cases: list[Case], side: str, config_home: Path) -> float:
    """All the units cases of ``side`` in one worker process; writes ``<side>/units.jsonl``."""
    folder = OUTS[side]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "units.jsonl"
    target.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as fh:
        for case in cases:
            fh.write(json.dumps({"name": case.name, "args": case.args}) + "\n")
        listing = Path(fh.name)
    start = time.monotonic()
    try:
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "_units-worker",
                *(str(p) for p in (listing, target, side_root(side))),
            ],
            cwd=INPUTS,
            env=side_env(side, config_home),
            stdin=subprocess.DEVNULL,
            check=True,
        )
    finally:
        listing.unlink()
    return time.monotonic() - start


def units_worker(listing: Path, target: Path, expected_root: Path) -> None:
    """Run each case of ``listing`` through ``cognibill.cli.main`` in this process."""
    import cognibill  # the side's tree, from PYTHONPATH

    where = Path(cognibill.__file__).resolve()
    if not where.is_relative_to(expected_root.resolve()):
        raise SystemExit(f"golden: imported {where}, expected a module under {expected_root}")
    from typer.testing import CliRunner  # noqa: TID251 (a script driving the CLI, not core)

    from cognibill.cli import main

    runner = CliRunner()
    partial = target.with_suffix(".partial")
    with listing.open() as cases, partial.open("w", encoding="utf-8") as out:
        for line in cases:
            case = json.loads(line)
            code: Any = 0
            with runner.isolation() as (stdout, stderr, _):
                try:
                    main(list(case["args"]))
                except SystemExit as exc:
                    code = exc.code
                except Exception as exc:  # main() has a boundary; a leak is worth recording
                    code = f"escaped {type(exc).__name__}: {exc}"
                sys.stdout.flush()
                sys.stderr.flush()
                text = {
                    name: normalise_text(stream.getvalue().decode("utf-8", "surrogateescape"), name)
                    for name, stream in (("out", stdout), ("err", stderr))
                }
            if code is None:
                code = 0
            elif not isinstance(code, int):
                code = str(code)
            result = {
                "name": case["name"],
                "args": case["args"],
                "out": text["out"],
                "err": text["err"],
                "rc": code,
            }
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    partial.replace(target)


def parallel(jobs: int, tasks: list[Any]) -> Iterator[Any]:
    """Run the zero-argument callables of ``tasks``; yield their results in order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(jobs, MAX_JOBS))) as pool:
        futures = [pool.submit(task) for task in tasks]
        try:
            for future in futures:
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


# -- record ------------------------------------------------------------------------------------


def export_commit(sha: str, target: Path) -> None:
    """``git archive`` of ``sha`` into ``target`` (kept while its marker names the same sha)."""
    marker = target / ".golden-sha"
    if marker.exists() and marker.read_text().strip() == sha:
        return
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    tar = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", sha],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(target, filter="data")
    marker.write_text(sha + "\n")


def export_oracle() -> None:
    export_commit(ORACLE_SHA, ORACLE_SRC)


def resolve(rev: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def shuffle_export(source: Path, target: Path, seed: int) -> None:
    """``source`` with its data rows in a seeded random order, the header first."""
    with source.open("rb") as fh:
        header, *rows = fh.read().splitlines(keepends=True)
    if rows and not rows[-1].endswith(b"\n"):
        rows[-1] += b"\r\n"
    random.Random(seed).shuffle(rows)
    partial = target.with_suffix(".partial")
    with partial.open("wb") as fh:
        fh.write(header)
        fh.writelines(rows)
    partial.replace(target)


def make_input(path: str, rows: int, seed: int, shuffled: bool) -> str:
    target = INPUTS / path
    if target.exists():
        return f"kept {path}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if shuffled:
        sorted_path = path.replace("-shuffled.csv", "-sorted.csv")
        make_input(sorted_path, rows, seed, False)
        shuffle_export(INPUTS / sorted_path, target, seed)
        return f"shuffled {path}"
    partial = target.with_suffix(".partial.csv")
    subprocess.run(
        [
            sys.executable,
            str(ORACLE_SRC / "benchmarks" / "make_export.py"),
            str(partial),
            *("--rows", str(rows), "--seed", str(seed)),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    partial.replace(target)
    return f"generated {path}"


def prepare_inputs(sizes: Sequence[str]) -> None:
    for path in [*fixture_files(ORACLE_SRC), *payers_files(ORACLE_SRC)]:
        target = INPUTS / path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ORACLE_SRC / path, target)
    exports = bench_inputs(sizes)
    for shuffled in (False, True):  # the sorted exports first: a shuffled one reads its twin
        tasks = [(lambda a=item: make_input(*a)) for item in exports if item[3] is shuffled]
        for message in parallel(MAX_JOBS, tasks):
            print(f"golden: {message}", flush=True)


def load_meta() -> dict[str, Any]:
    path = OUTS["oracle"] / "meta.json"
    if not path.exists():
        return {}
    meta: dict[str, Any] = json.loads(path.read_text())
    return meta


def save_meta(meta: dict[str, Any]) -> None:
    path = OUTS["oracle"] / "meta.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")


def selected(cases: list[Case], only: str | None) -> list[Case]:
    return [c for c in cases if only is None or only in c.name]


def sizes_of(option: str) -> tuple[str, ...]:
    return SMALL_SIZES if option == "small" else tuple(BENCH_ROWS)


def record(args: argparse.Namespace) -> int:
    meta = load_meta()
    if meta.get("oracle") not in (None, ORACLE_SHA):
        shutil.rmtree(OUTS["oracle"])
        meta = {}
    export_oracle()
    sizes = sizes_of(args.sizes)
    prepare_inputs(sizes)
    cases = selected(file_cases(sizes), args.only)
    todo = [c for c in cases if args.force or not (OUTS["oracle"] / f"{c.stem}.rc").exists()]
    print(
        f"golden: recording {len(todo)} of {len(cases)} command cases at {ORACLE_SHA[:10]} "
        f"({len(cases) - len(todo)} already recorded)",
        flush=True,
    )
    timings: dict[str, float] = meta.get("seconds", {})
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="golden-xdg-") as config_home:
        home = Path(config_home)
        check_import("oracle", home)
        tasks = [(lambda c=c: (c, run_case(c, "oracle", home))) for c in todo]
        units = selected(units_cases(), args.only)
        for n, (case, seconds) in enumerate(parallel(args.jobs, tasks), 1):
            timings[case.name] = round(seconds, 2)
            rc = (OUTS["oracle"] / f"{case.stem}.rc").read_text().strip()
            print(f"[{n}/{len(todo)}] {case.name}: rc {rc}, {seconds:.1f} s", flush=True)
        if units and (args.force or not (OUTS["oracle"] / "units.jsonl").exists()):
            seconds = run_units(units, "oracle", home)
            timings["units"] = round(seconds, 2)
            print(f"golden: {len(units)} units cases in one process, {seconds:.1f} s", flush=True)
    meta.update(
        {
            "oracle": ORACLE_SHA,
            "recorded_on": dt.date.today().isoformat(),
            "python": sys.version.split()[0],
            "seconds": timings,
            "units_cases": UNITS_CASES,
            "units_seed": UNITS_SEED,
        }
    )
    save_meta(meta)
    print(f"golden: recorded in {time.monotonic() - started:.1f} s -> {OUTS['oracle']}")
    return 0


# -- compare -----------------------------------------------------------------------------------


def _show(line: str | None) -> str:
    return "<no line>" if line is None else line.rstrip("\r\n")


def _window(a: str, b: str) -> tuple[str, str]:
    """The two lines cut around their first difference, at most ``SHOW_WIDTH`` characters."""
    if len(a) <= SHOW_WIDTH and len(b) <= SHOW_WIDTH:
        return a, b
    first = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, first - SHOW_WIDTH // 3)

    def cut(s: str) -> str:
        piece = s[start : start + SHOW_WIDTH]
        return ("…" if start else "") + piece + ("…" if start + SHOW_WIDTH < len(s) else "")

    return cut(a), cut(b)


@dataclasses.dataclass
class Diff:
    """How two texts differ: differing lines counted, the first few kept (line no., old, new)."""

    count: int = 0
    lines_old: int = 0
    lines_new: int = 0
    shown: list[tuple[int, str, str]] = dataclasses.field(default_factory=list)

    def add(self, number: int, old: str | None, new: str | None) -> None:
        self.count += 1
        if len(self.shown) < SHOW_LINES:
            self.shown.append((number, *_window(_show(old), _show(new))))

    def report(self, stream: str) -> list[str]:
        out = [
            f"  {stream}: differs, {self.count} line(s) "
            f"(oracle {self.lines_old} lines, new {self.lines_new})"
        ]
        for number, old, new in self.shown:
            out.append(f"    line {number}:")
            out.append(f"      oracle | {old}")
            out.append(f"      new    | {new}")
        return out


def diff_lines(old: list[str], new: list[str]) -> Diff:
    diff = Diff(lines_old=len(old), lines_new=len(new))
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            a = old[i1 + k] if i1 + k < i2 else None
            b = new[j1 + k] if j1 + k < j2 else None
            diff.add((i1 if a is not None else j1) + k + 1, a, b)
    return diff


# -- allowed differences (issue 9) --------------------------------------------------------------
# The migration may change today's output only where issue 9 asks it to; each change is here
# with its reason, and `compare --strict` shows them all as differences again.

_BELOW_MINIMUM_SOURCE = re.compile(
    rb'("id": "below-minimum", .*?"source": ")RULES\.md \xc2\xa7\d(")'
)


_BELOW_MINIMUM_SOURCE_INDENTED = re.compile(
    r'("id": "below-minimum",(?:(?!"id": ).)*?"source": ")RULES\.md §\d(")', re.S
)


def allowed_text(text: str) -> str:
    """``allowed`` for indented JSON (``units --format json``), where a finding spans lines."""
    return _BELOW_MINIMUM_SOURCE_INDENTED.sub(r"\1<below-minimum source>\2", text)


_LIMITING_JSON = re.compile(rb'"limiting_charge": (?:null|"[0-9]+\.[0-9]{2}"), ')
_MONEY_CELL = re.compile(r"(?:[0-9]+\.[0-9]{2}(?:-[0-9]+\.[0-9]{2})?)?")


def _without_limiting_cell(line: bytes) -> bytes:
    """A claim CSV line without its ``limiting_charge`` cell (the 18th of 19), added on
    purpose (issue 9: the limiting charge under ``claim --non-par``); others as they are."""
    if b"patient_owes,limiting_charge,findings" in line:
        return line.replace(b"patient_owes,limiting_charge,findings", b"patient_owes,findings")
    body = line.rstrip(b"\r\n")
    try:
        cells = next(csv.reader([body.decode("utf-8")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return line
    if len(cells) != 19 or not all(_MONEY_CELL.fullmatch(c) for c in cells[14:18]):
        return line
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells[:17] + cells[18:])
    return out.getvalue().encode("utf-8") + line[len(body) :]


def allowed(line: bytes) -> bytes:
    """A line with the allowed differences masked, on both sides alike.

    - below-minimum's ``source``: one value, the catalogue's (RULES.md §1), where the old engine
      said §2 or §3 by unit rule (issue 9, point 2: one source of truth per fact).
    - ``limiting_charge`` (a JSON key, a CSV column): added on purpose (issue 9).
    """
    if b"limiting_charge" in line:
        line = _LIMITING_JSON.sub(b"", line)
    if line.count(b",") >= 18:
        line = _without_limiting_cell(line)
    if b'"below-minimum"' in line:
        return _BELOW_MINIMUM_SOURCE.sub(rb"\1<below-minimum source>\2", line)
    return line


EXPECTED_TO_DIFFER = {
    "-shuffled:": (
        "rows in no date order: KX and the review threshold count in date order, not input "
        "order (issue 9's KX fix); the run starts again in memory at the first row of the batch "
        "that went back in time (regrouped_at), and an export that today stops with exit 3 "
        "once output began within 200,000 rows is billed whole"
    ),
}
"""Cases whose output changes on purpose, by a part of their name, with why."""

STRICT = False


def diff_files(old: Path, new: Path) -> Diff | None:
    """None when the files are equal (allowed differences masked unless --strict); else how
    their lines differ."""
    if not new.exists():
        diff = Diff()
        diff.add(0, "", f"<{new} is missing>")
        return diff
    if filecmp.cmp(old, new, shallow=False):
        return None
    if not STRICT:
        return _diff_masked(old, new)
    return _diff_raw(old, new)


def _without_report(lines: Iterable[bytes]) -> Iterator[bytes]:
    """A claim JSON document without its ``report`` object (added after the summary on
    purpose: issue 13), ending as the oracle's did (the summary's ``}`` then ``}``)."""
    held: bytes | None = None
    for line in lines:
        if line.startswith(b'"report": '):
            if held is not None:
                yield held.rstrip(b"\r\n").removesuffix(b",") + b"}\n"
            return
        if held is not None:
            yield held
        held = line
    if held is not None:
        yield held


def _diff_masked(old: Path, new: Path) -> Diff | None:
    with old.open("rb") as a, new.open("rb") as b:
        for x, y in itertools.zip_longest(a, _without_report(b)):
            if x is None or y is None or (x != y and allowed(x) != allowed(y)):
                return _diff_raw(old, new, masked=True)
    return None


def _diff_raw(old: Path, new: Path, *, masked: bool = False) -> Diff | None:
    mask = allowed if masked else (lambda line: line)
    cut = _without_report if masked else (lambda lines: lines)
    if old.stat().st_size <= BIG_FILE and new.stat().st_size <= BIG_FILE:
        read = [
            [mask(x).decode("utf-8", "replace") for x in cut(p.read_bytes().splitlines(True))]
            for p in (old, new)
        ]
        return diff_lines(*read)
    diff = Diff()  # big: line by line in step, never the whole file in memory
    with old.open("rb") as a, new.open("rb") as b:
        for number, (x, y) in enumerate(itertools.zip_longest(a, cut(b)), 1):
            diff.lines_old += x is not None
            diff.lines_new += y is not None
            if x != y and (x is None or y is None or mask(x) != mask(y)):
                diff.add(
                    number,
                    None if x is None else x.decode("utf-8", "replace"),
                    None if y is None else y.decode("utf-8", "replace"),
                )
    return diff


def diff_texts(old: str, new: str) -> Diff | None:
    return None if old == new else diff_lines(old.splitlines(), new.splitlines())


def case_verdict(name: str, diffs: dict[str, Diff | None], rcs: tuple[str, str]) -> list[str]:
    """Report lines for one case: one line when identical, details per stream otherwise."""
    if all(d is None for d in diffs.values()) and rcs[0] == rcs[1]:
        return [f"{name}: identical"]
    out = [f"{name}: differs"]
    for stream, diff in diffs.items():
        out += [f"  {stream}: identical"] if diff is None else diff.report(stream)
    same = "identical" if rcs[0] == rcs[1] else "differs"
    out.append(f"  exit code: {same} (oracle {rcs[0]}, new {rcs[1]})")
    return out


def compare_case(case: Case, config_home: Path, keep: bool) -> tuple[bool, list[str]]:
    old = OUTS["oracle"]
    if not (old / f"{case.stem}.rc").exists():
        return False, [f"{case.name}: differs (not recorded: run record with the same --sizes)"]
    seconds = run_case(case, "new", config_home)
    new = OUTS["new"]
    diffs = {
        s: diff_files(old / f"{case.stem}.{e}", new / f"{case.stem}.{e}")
        for s, e in (("stdout", "out"), ("stderr", "err"))
    }
    rcs = tuple((p / f"{case.stem}.rc").read_text().strip() for p in (old, new))
    lines = case_verdict(case.name, diffs, (rcs[0], rcs[1]))
    same = len(lines) == 1
    lines[0] += f" ({seconds:.1f} s)"
    if same and not keep:
        for ext in ("out", "err", "rc"):
            (new / f"{case.stem}.{ext}").unlink(missing_ok=True)
    return same, lines


def compare_units(
    cases: list[Case], config_home: Path, verbose: bool
) -> Iterator[tuple[bool, list[str]]]:
    path = OUTS["oracle"] / "units.jsonl"
    if not path.exists():
        for case in cases:
            yield False, [f"{case.name}: differs (not recorded: run record)"]
        return
    with path.open(encoding="utf-8") as fh:
        recorded = {r["name"]: r for r in map(json.loads, fh)}
    try:
        run_units(cases, "new", config_home)
    except subprocess.CalledProcessError as exc:  # say, the tree does not import
        for case in cases:
            yield False, [f"{case.name}: differs (the units worker failed, exit {exc.returncode})"]
        return
    with (OUTS["new"] / "units.jsonl").open(encoding="utf-8") as fh:
        fresh = {r["name"]: r for r in map(json.loads, fh)}
    same_count = 0
    for case in cases:
        old, new = recorded.get(case.name), fresh[case.name]
        if old is None or old.get("args") != list(case.args):
            yield False, [f"{case.name}: differs (not recorded with these arguments: record again)"]
            continue
        mask = (lambda text: text) if STRICT else allowed_text
        diffs = {
            "stdout": diff_texts(mask(old["out"]), mask(new["out"])),
            "stderr": diff_texts(old["err"], new["err"]),
        }
        lines = case_verdict(case.name, diffs, (str(old["rc"]), str(new["rc"])))
        if len(lines) > 1:
            lines.insert(1, f"  args: {' '.join(case.args)}")
        same = len(lines) == 1
        same_count += same
        yield same, lines if (verbose or not same) else []
    if not verbose:
        print(
            f"units: {len(cases)} cases, {same_count} identical (each listed only when it differs)"
        )


def compare(args: argparse.Namespace) -> int:
    meta = load_meta()
    if not meta or not ORACLE_SRC.exists():
        print("golden: nothing recorded; run `python scripts/golden.py record` first")
        return 2
    if args.rev is not None:  # a commit instead of the working tree (say, HEAD while others edit)
        sha = resolve(args.rev)
        export_commit(sha, OUTS["new"] / "src")
        ROOTS["new"] = OUTS["new"] / "src"
        print(f"golden: the new side is {args.rev} ({sha[:10]}), exported to {ROOTS['new']}")
    recorded_on = meta.get("recorded_on")
    if recorded_on != dt.date.today().isoformat():
        print(
            f"golden: warning: recorded on {recorded_on}, compared on {dt.date.today()}: "
            "future-date findings and the default units date depend on the day"
        )
    cases = selected(file_cases(sizes_of(args.sizes)), args.only)
    units = selected(units_cases(), args.only)
    total = same = 0
    with tempfile.TemporaryDirectory(prefix="golden-xdg-") as config_home:
        home = Path(config_home)
        check_import("new", home)
        tasks = [(lambda c=c: compare_case(c, home, args.keep)) for c in cases]
        results: Iterable[tuple[bool, list[str]]] = parallel(args.jobs, tasks)
        if units:
            results = itertools.chain(results, compare_units(units, home, args.verbose))
        for ok, lines in results:
            total += 1
            same += ok
            if not ok and (STRICT or not _expected(lines[0])):
                _unexpected.append(lines[0])
            for line in lines:
                print(line, flush=True)
    print(f"golden: {total} cases, {same} identical, {total - same} differ")
    expected = total - same - len(_unexpected)
    if expected:
        print(f"golden: {expected} of them differ on purpose (EXPECTED_TO_DIFFER in this script)")
    return 0 if total and not _unexpected else 1


_unexpected: list[str] = []


def _expected(verdict: str) -> str | None:
    """Why a case differs on purpose (None: it should not differ)."""
    return next((why for part, why in EXPECTED_TO_DIFFER.items() if part in verdict), None)


def list_cases(args: argparse.Namespace) -> int:
    if not ORACLE_SRC.exists():
        print("golden: no oracle export yet; run record first")
        return 2
    cases = selected(file_cases(sizes_of(args.sizes)), args.only)
    for case in cases + selected(units_cases(), args.only):
        print(f"{case.name}\t{' '.join(case.args)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_units-worker"]:
        listing, target, root = argv[1:4]
        units_worker(Path(listing), Path(target), Path(root))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("record", "run the oracle commit on every case and store its outputs"),
        ("compare", "run the working tree on every case and compare with the oracle's outputs"),
        ("list", "print the cases"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--sizes",
            choices=("small", "all"),
            default="small",
            help="small: no 1M-row exports (default); all: with them",
        )
        sub.add_argument("--only", metavar="PATTERN", help="cases whose name contains PATTERN")
        sub.add_argument(
            "--jobs", type=int, default=MAX_JOBS, help=f"parallel runs (max {MAX_JOBS})"
        )
        if name == "record":
            sub.add_argument("--force", action="store_true", help="re-record recorded cases too")
        if name == "compare":
            sub.add_argument(
                "--out",
                metavar="DIR",
                help="the new side's outputs (default benchmarks/out/golden/new)",
            )
            sub.add_argument(
                "--rev",
                help="run this commit (a git archive export) instead of the working tree",
            )
            sub.add_argument(
                "--strict",
                action="store_true",
                help="show the allowed differences too (see allowed() and EXPECTED_TO_DIFFER)",
            )
            sub.add_argument(
                "--keep",
                action="store_true",
                help="keep the new side's outputs of identical cases too",
            )
            sub.add_argument(
                "-v",
                "--verbose",
                action="store_true",
                help="list every units case, not only those that differ",
            )
    args = parser.parse_args(argv)
    handler = {"record": record, "compare": compare, "list": list_cases}[args.command]
    if args.command == "list":
        return handler(args)
    if args.command == "compare" and args.out is not None:
        OUTS["new"] = Path(args.out).resolve()
    if args.command == "compare" and args.strict:
        global STRICT
        STRICT = True
    # record holds the oracle alone; compares share it, each owning its output folder.
    locks = [(GOLDEN / ".lock", fcntl.LOCK_EX if args.command == "record" else fcntl.LOCK_SH)]
    if args.command == "compare":
        locks.append((OUTS["new"] / ".lock", fcntl.LOCK_EX))
    with contextlib.ExitStack() as stack:
        for path, mode in locks:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context(path.open("w"))
            try:
                fcntl.flock(lock, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                print(
                    f"golden: {path} is locked by another run: a record, or a compare writing "
                    "to the same folder (compare --out DIR runs alongside it)"
                )
                return 2
        return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())

"""A seeded fuzz campaign over the real command line (issue 11): hostile units entries, session
files and exports, each run in-process through ``cognibill.cli.main``, every run checked.

    python scripts/fuzz.py --cases 100000 --seed 11               # the long campaign
    python scripts/fuzz.py --cases 2000 --kinds exports --seed 3  # one kind of input
    python scripts/fuzz.py --replay 11:1234                       # one case again, verbose

Case ``i`` of seed ``s`` is drawn from ``random.Random(f"{s}:{i}")`` alone, so any case is
replayed by its ``seed:index`` whatever ran before it. A case mutates a bundled fixture
(``tests/data/sessions``, ``tests/data/csv``, ``tests/fixtures/exports``) or builds ``units``
entries: bytes flipped, cells replaced by hostile values (quotes, formula starts, fullwidth
``＝``, huge numbers, more than 4,300 digits, control characters, Unicode digits), BOMs,
truncation, gzip (whole or cut short), nesting. Then it runs ``cognibill --debug ...`` and checks
(:func:`check_run`, shared with ``tests/test_fuzz.py``):

- the exit code is documented (0, 1, 2, 3, 5), never 4 (an internal error);
- JSON parses, every NDJSON line parses, CSV parses;
- the summary says ``rows_read == rows_used + rows_rejected + rows_skipped``;
- no CSV cell starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return after Unicode
  compatibility normalisation (NFKC: fullwidth ``＝`` is ``=``) unless neutralised as
  ``cognibill.writers.neutralise`` does (a ``'`` first), or it is a plain number;
- no raw control character reaches a table or stderr (they are shown escaped);
- an ``--out`` report is complete (it parses, with its summary) after exit 0 or 1, and
  untouched (the earlier report's bytes) after any other exit; nothing else is left beside it.

It prints the count of every outcome and each distinct internal error or violation kind (for an
internal error: the exception type and the innermost cognibill frame of its ``--debug``
traceback, without its line number) with the smallest reproducer found, written to
``--out-dir`` (default ``/tmp/cognibill-fuzz``): the input files and ``repro.sh``. Exit 0 when
no case found an internal error, a violation or a timeout.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import io
import json
import os
import random
import re
import shlex
import shutil
import signal
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
EXPORTS = REPO / "tests" / "fixtures" / "exports"

DOCUMENTED_EXITS = frozenset({0, 1, 2, 3, 5})
TRIGGERS = "=+-@\t\r"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Characters a table or a message must never carry raw (newline and tab aside)."""
SENTINEL = b"EARLIER REPORT: must survive a failed run\n"

# -- hostile values -------------------------------------------------------------------------------

HOSTILE_CELLS = (
    "",
    " ",
    "\t",
    "\u00a0",
    "\u3000",
    '"',
    '""',
    '"unclosed',
    "a,b",
    "line\nbreak",
    "=1+1",
    '=HYPERLINK("http://x")',
    "+1",
    "-1",
    "-0",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    " =1",
    "\uff1d1+1",  # fullwidth =
    "\uff0b1",  # fullwidth +
    "\uff0d1",  # fullwidth -
    "\uff20x",  # fullwidth @
    "\ufe62x",  # small +
    "\u207a1",  # superscript +
    "1_000",
    "\u0663\u0668",  # Arabic-Indic 38
    "\uff13\uff18",  # fullwidth 38
    "\u09e9\u09ee",  # Bengali 38
    "38.0",
    "38.5",
    "1e3",
    "1e26",
    "-1e26",
    "nan",
    "inf",
    "-inf",
    "99999999999999999999999999",
    "1" * 4301,
    "9" * 5000,
    "0:38",
    "25:00",
    "1h 15m",
    "\x1b]0;pwned\x07",
    "\x1b[31mred\x1b[0m",
    "\x1b[2J",
    "\x9b31m",
    "\u202eevil",
    "\x00",
    "\x7f",
    "\ufeff",
    "\ufeff38",
    "[/x]",
    "[bold]x[/bold]",
    "%s%n",
    "{0}",
    "../../etc/passwd",
    "2026-02-30",
    "02/30/2026",
    "3/24/26",
    "0000-01-01",
    "9999-12-31",
    "46085",
    "97129",
    "97130",
    "97110-59",
    "G0515",
    "x" * 70_000,
)

HOSTILE_TOML_VALUES = (
    "0",
    "-0",
    "+0",
    "-5",
    "1441",
    "99999999999999999999",
    "1" * 4400,
    "1e26",
    "inf",
    "nan",
    "true",
    '""',
    '"\\u001b]0;x\\u0007"',
    '"\\u001b[31mred"',
    '"=1+1"',
    '"\uff1d1"',
    '"\u0663\u0668"',
    '"1_000"',
    '"' + "9" * 5000 + '"',
    "1_000",
    "2026-02-30",
    "2026-03-02T10:00:00",
    "[]",
    "[[[[[[[[[[]]]]]]]]]]",
    "[" * 400 + "]" * 400,
    "{}",
    "{ a = " * 300 + "1" + " }" * 300,
    '"""multi\nline"""',
    "'''",
    '"unclosed',
)

UNITS_TOKENS = (
    "38",
    "0",
    "7",
    "8",
    "1440",
    "1441",
    "-0",
    "-5",
    "+38",
    "38.0",
    "38.5",
    "38 min",
    "1_000",
    "\u0663\u0668",
    "\uff13\uff18",
    "\u3000\uff13\uff18\u3000",
    "1" * 4301,
    "9" * 20,
    "nan",
    "inf",
    "1e3",
    "0x26",
    "0:38",
    "\ufeff38",
    "3\x1b[2J8",
    "97110=24",
    "97112=23",
    "97129=15",
    "97130=16",
    "97150=30",
    "97161=45",
    "97532=30",
    "99999=10",
    "92129=20",
    "97110=",
    "=10",
    "97110=-0",
    "97110=\uff12\uff14",
    "97110=" + "1" * 5000,
    "\uff19\uff17\uff11\uff11\uff10=24",
    "97110=24=3",
    "97110 = 24",
    "971\x1b]0;x\x0710=5",
    "--nope",
    "-",
    "",
    " ",
    "\x00",
)

UNITS_OPTIONS: tuple[tuple[str, ...], ...] = (
    (),
    ("--compare",),
    ("--explain",),
    ("--rule", "ama"),
    ("--rule", "ama-capped"),
    ("--payer", "commercial"),
    ("--payer", "nobody"),
    ("--locality", "zzz"),
    ("--locality", "alabama"),
    ("--date", "2019-12-31"),
    ("--date", "2026-02-30"),
    ("--year", "2024"),
    ("--facility",),
    ("--non-par",),
)

FORMATS = ("table", "json", "csv", "ndjson")


def fixtures(kind: str) -> list[Path]:
    """The bundled files a kind of case starts from."""
    if kind == "sessions":
        found = sorted((DATA / "sessions").glob("*.toml"))
        found += sorted((REPO / "sample_sessions").glob("*.toml"))
        return found
    if kind == "payers":
        return sorted((DATA / "payers").glob("*.toml"))
    found = sorted((DATA / "csv").glob("*.csv")) + sorted((DATA / "csv").glob("*.tsv"))
    found += sorted((DATA / "csv" / "edges").glob("*.*"))
    found += sorted(EXPORTS.glob("*.csv"))
    return found


# -- mutation -------------------------------------------------------------------------------------


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to three byte-level changes: flips, insertions, deletions, truncation, a BOM."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        at = rng.randrange(len(out) + 1)
        if op == 0 and out:
            at = min(at, len(out) - 1)
            out[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            out[at:at] = bytes([rng.randrange(256)])
        elif op == 2:
            out[at:at] = rng.choice([b'"', b"'", b",", b"\n", b"\r", b"\t", b";", b"\x00"])
        elif op == 3 and out:
            del out[at : at + rng.randint(1, 40)]
        elif op == 4:
            del out[at:]
        elif op == 5:
            out[:0] = rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])
        elif op == 6:
            out[at:at] = rng.choice(HOSTILE_CELLS).encode("utf-8", "surrogatepass")[:200]
        else:
            line_end = out.find(b"\n", at)
            if line_end >= 0:  # duplicate a line
                start = out.rfind(b"\n", 0, at) + 1
                out[line_end + 1 : line_end + 1] = out[start : line_end + 1]
    return bytes(out)


def mutate_csv(data: bytes, rng: random.Random) -> bytes:
    """Cells replaced by hostile values, rows added or dropped, through the csv module."""
    text = data.decode("utf-8-sig", "replace")
    bom = data.startswith(b"\xef\xbb\xbf")
    dialect = "excel-tab" if text[:2000].count("\t") > text[:2000].count(",") else "excel"
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect=dialect))
    except csv.Error:  # NUL, or a bare CR inside a cell: mutate the bytes instead
        return mutate_bytes(data, rng)
    if not rows:
        rows = [["patient", "date", "code", "minutes"]]
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        r = rng.randrange(len(rows))
        row = rows[r]
        if op <= 2 and row:
            row[rng.randrange(len(row))] = rng.choice(HOSTILE_CELLS)
        elif op == 3 and len(rows) > 1:
            del rows[r]
        elif op == 4:
            rows.insert(r, list(rng.choice(rows)))
        elif row:  # the header: a name duplicated, blanked or made hostile
            header = rows[0]
            if header:
                header[rng.randrange(len(header))] = rng.choice(
                    [*header, "", '"', "\ufeffpatient", "=cmd", "Minutes", "minutes"]
                )
    buffer = io.StringIO()
    writer = csv.writer(buffer, dialect=dialect, lineterminator=rng.choice(["\n", "\r\n"]))
    writer.writerows(rows)
    out = buffer.getvalue().encode("utf-8", "surrogatepass")
    return (b"\xef\xbb\xbf" + out) if bom else out


_TOML_VALUE = re.compile(rb"^(\s*[A-Za-z0-9_.\"-]+\s*=\s*)(.*)$", re.MULTILINE)


def mutate_toml(data: bytes, rng: random.Random) -> bytes:
    """Values replaced by hostile TOML values, keys or tables dropped or repeated."""
    out = data
    for _ in range(rng.randint(1, 3)):
        pairs = list(_TOML_VALUE.finditer(out))
        op = rng.randrange(5)
        if op <= 1 and pairs:
            pair = rng.choice(pairs)
            value = rng.choice(HOSTILE_TOML_VALUES).encode()
            out = out[: pair.start(2)] + value + out[pair.end(2) :]
        elif op == 2 and pairs:  # a key dropped (minutes, patient, code ...)
            pair = rng.choice(pairs)
            out = out[: pair.start()] + out[pair.end() :]
        elif op == 3:
            extra = rng.choice(
                [
                    b'\n[[visit.service]]\ncode = "97110"\n',
                    b'\n[[visit]]\npatient = "P"\ndate = 2026-03-02\n',
                    b"\nminutes = 38\n",
                    b"\nx = " + b"[" * 500 + b"]" * 500 + b"\n",
                ]
            )
            at = rng.randrange(len(out) + 1)
            out = out[:at] + extra + out[at:]
        else:
            out = mutate_bytes(out, rng)
    return out


# -- cases ----------------------------------------------------------------------------------------


@dataclass
class Case:
    """One run: the arguments after ``cognibill --debug`` and the files it reads."""

    name: str
    args: list[str]
    files: dict[str, bytes] = field(default_factory=dict)
    stdin: bytes = b""
    out: str | None = None
    """The ``--out`` file name (inside the case folder), when the run writes one."""
    fmt: str = "table"


CODES = tuple(
    "97110 97112 97113 97116 97129 97130 97140 97150 97161 97164 97530 97535 97542 97750 "  # noqa: SIM905
    "92507 92508 92526 92605 92618 96112 96113 97010 97014 97545 97546 97597 G0283".split()
)


def units_case(rng: random.Random) -> Case:
    if rng.random() < 0.5:  # well-formed entries: the engine runs
        codes = rng.sample(CODES, rng.randint(0, 4))
        entries = [
            f"{code}={rng.choice([0, 7, 8, 15, 22, 23, rng.randint(0, 400)])}" for code in codes
        ]
        entries = entries or [str(rng.randint(0, 200))]
    else:
        entries = [rng.choice(UNITS_TOKENS) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:  # a random token of hostile text
        entries[rng.randrange(len(entries))] = "".join(
            rng.choice("0123456789=+-._ \u0663\uff13\x1b\u202eabc97")
            for _ in range(rng.randint(0, 12))
        )
    fmt = rng.choice(FORMATS)
    options = list(rng.choice(UNITS_OPTIONS))
    return Case("units", ["units", *options, "-f", fmt, "--", *entries], fmt=fmt)


def session_case(rng: random.Random, sources: list[Path]) -> Case:
    if rng.random() < 0.15:  # the template of `cognibill new`, touched or not
        from cognibill.template import render_template

        data = render_template(rng.choice([None, 0, 7, 38])).encode()
        if rng.random() < 0.3:
            return _file_case(rng, "session.toml", data, ("claim", "check"))
    else:
        data = rng.choice(sources).read_bytes()
    data = mutate_toml(data, rng) if rng.random() < 0.7 else mutate_bytes(data, rng)
    return _file_case(rng, "session.toml", data, ("claim", "check", "report"))


def export_case(rng: random.Random, sources: list[Path]) -> Case:
    source = rng.choice(sources)
    data = source.read_bytes()
    data = mutate_csv(data, rng) if rng.random() < 0.6 else mutate_bytes(data, rng)
    suffix = source.suffix if source.suffix in (".csv", ".tsv") else ".csv"
    name = f"export{suffix}"
    if rng.random() < 0.1:
        packed = gzip.compress(data)
        if rng.random() < 0.5:
            packed = packed[: rng.randrange(len(packed))]
        data, name = packed, name + ".gz"
    return _file_case(rng, name, data, ("claim", "claim", "check", "report"))


def _file_case(rng: random.Random, name: str, data: bytes, commands: tuple[str, ...]) -> Case:
    command = rng.choice(commands)
    if command == "report":  # the HTML page, to a file or to stdout
        fmt = "html"
        args = [command]
        out = "report.html" if rng.random() < 0.7 else None
        args += ["--out", out] if out else []
        if rng.random() < 0.15:
            args += rng.choice([["--strict"], ["--unsorted"], ["--no-estimate"], ["--rule", "ama"]])
        return Case(name.split(".")[0], [*args, name], {name: data}, out=out, fmt=fmt)
    fmt = rng.choice(FORMATS)
    args = [command, "-f", fmt]
    if command == "claim" and fmt == "table" and rng.random() < 0.3:
        args.append("--lines")
    if rng.random() < 0.15:
        args += rng.choice([["--strict"], ["--unsorted"], ["--no-estimate"], ["--rule", "ama"]])
    out = None
    if command == "claim" and fmt != "table" and rng.random() < 0.35:
        out = f"report.{fmt}"
        args += ["--out", out]
    if rng.random() < 0.05:  # through stdin
        case = Case("stdin", [*args, "--input", "toml" if name.endswith(".toml") else "csv", "-"])
        case.stdin, case.out, case.fmt = data, out, fmt
        return case
    return Case(name.split(".")[0], [*args, name], {name: data}, out=out, fmt=fmt)


def payers_case(rng: random.Random, sources: list[Path]) -> Case:
    from cognibill.payers import starter_profile

    if rng.random() < 0.5:
        data = starter_profile("acme").encode()
    else:
        data = rng.choice(sources).read_bytes()
    data = mutate_toml(data, rng) if rng.random() < 0.7 else mutate_bytes(data, rng)
    fmt = rng.choice(FORMATS)
    payer = rng.choice(["acme", "medicare", "commercial", "override", "nobody"])
    args = rng.choice(
        [
            ["units", "38", "97110=24", "--payer", payer, "-f", fmt],
            ["units", "38", "--compare", "--payer", payer, "-f", fmt],
            ["payers", "-f", fmt if fmt != "ndjson" else "json"],
            ["payers", "show", payer],
        ]
    )
    where = args.index("-f") if "-f" in args else len(args)
    args[where:where] = ["--payers", "payers.toml"] if args[0] != "payers" else []
    if args[0] == "payers":
        args[1:1] = ["--payers", "payers.toml"] if args[1:2] != ["show"] else []
        if args[1] == "show":
            args += ["--payers", "payers.toml"]
    # the machine formats carry names verbatim (as claim's CSV does); only a table escapes them
    shown = "table" if "-f" not in args else args[args.index("-f") + 1]
    return Case("payers", args, {"payers.toml": data}, fmt=shown)


def draw_case(
    seed: str, index: int, kinds: tuple[str, ...], sources: dict[str, list[Path]]
) -> Case:
    rng = random.Random(f"{seed}:{index}")
    kind = rng.choice(kinds)
    if kind == "units":
        return units_case(rng)
    if kind == "sessions":
        return session_case(rng, sources["sessions"])
    if kind == "payers":
        return payers_case(rng, sources["payers"])
    return export_case(rng, sources["exports"])


# -- running --------------------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float
    report: bytes | None
    """The ``--out`` file after the run (None: not there)."""
    left: list[str]
    """Files in the case folder that the case did not put there and the run should not leave."""


class CaseTimeout(BaseException):
    """A case ran longer than its time limit (raised by SIGALRM, past the CLI's boundary)."""


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout


def run_case(case: Case, folder: Path, limit: float = 30.0) -> Result:
    """Run ``case`` in-process inside ``folder`` (created empty), stdout and stderr captured."""
    from cognibill.cli import main

    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    if case.out is not None:
        (folder / case.out).write_bytes(SENTINEL)
    before = set(os.listdir(folder))
    out = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="surrogateescape", write_through=True
    )
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="surrogateescape", write_through=True
    )
    stdin = io.TextIOWrapper(io.BytesIO(case.stdin), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    cwd = os.getcwd()
    previous = signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    code: int
    try:
        os.chdir(folder)
        sys.stdin, sys.stdout, sys.stderr = stdin, out, err
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            main(["--debug", *case.args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:  # pragma: no cover - main always exits
            code = 0
    except CaseTimeout:
        code = -1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.stdin, sys.stdout, sys.stderr = saved
        os.chdir(cwd)
    seconds = time.perf_counter() - start
    report = None
    if case.out is not None and (folder / case.out).is_file():
        report = (folder / case.out).read_bytes()
    left = sorted(set(os.listdir(folder)) - before)
    return Result(code, _text(out), _text(err), seconds, report, left)


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    raw = stream.buffer
    assert isinstance(raw, io.BytesIO)
    return raw.getvalue().decode("utf-8", "surrogateescape")


# -- checking -------------------------------------------------------------------------------------


_FRAME = re.compile(r'File "([^"]*cognibill[/\\][^"]+)", line (\d+), in (\S+)')
_INTERNAL = re.compile(r"internal error: (\w+)")


def internal_kind(err: str) -> str:
    """An internal error's kind: its exception type and innermost cognibill frame."""
    kind = _INTERNAL.search(err)
    name = kind.group(1) if kind else "?"
    frames = _FRAME.findall(err)
    if frames:
        path, _, function = frames[-1]  # no line number: the kind outlives edits of the file
        short = path[path.rfind("cognibill") :]
        return f"{name} in {short} ({function})"
    return name


def is_formula(cell: str) -> bool:
    """A CSV cell a spreadsheet would run (after NFKC), not neutralised, not a plain number."""
    folded = unicodedata.normalize("NFKC", cell)
    first = folded.lstrip(" ")[:1]
    if not first or first not in TRIGGERS:
        return False
    if cell.startswith("'"):
        return False
    return not _PLAIN_NUMBER.fullmatch(folded.strip())


def _summary_problem(summary: Any) -> str | None:
    if not isinstance(summary, dict) or "rows_read" not in summary:
        return None
    used = summary.get("rows_used", 0) + summary.get("rows_rejected", 0)
    used += summary.get("rows_skipped", 0)
    if summary["rows_read"] != used:
        return "rows-read-not-used-rejected-skipped"
    return None


def check_output(fmt: str, text: str) -> list[str]:
    """Violations of a machine output (or of a table) as kinds; [] when it holds."""
    problems: list[str] = []
    if fmt == "json":
        try:
            doc = json.loads(text)
        except ValueError:
            return ["json-does-not-parse"]
        summary = doc.get("summary") if isinstance(doc, dict) else None
        problem = _summary_problem(summary)
        problems += [problem] if problem else []
    elif fmt == "ndjson":
        for line in text.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                return ["ndjson-line-does-not-parse"]
            if isinstance(doc, dict) and doc.get("type") == "summary":
                problem = _summary_problem(doc)
                problems += [problem] if problem else []
    elif fmt == "csv":
        try:
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:
            return ["csv-does-not-parse"]
        if any(is_formula(cell) for row in rows for cell in row):
            problems.append("csv-formula-cell")
    elif fmt == "html":
        problems += _html_problems(text)
    elif _RAW_CONTROL.search(text):
        problems.append("raw-control-in-table")
    return problems


_FETCHING = ("src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href")


def _html_problems(text: str) -> list[str]:
    """What would make the report page run code or fetch anything (issue 13: it opens offline
    and fetches nothing): a script element, an event-handler attribute, an address to fetch
    (anything but a ``#`` or ``data:`` reference), ``url(`` or ``@import`` in a style."""
    from html.parser import HTMLParser

    found: set[str] = set()

    class Page(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "iframe", "object", "embed", "link", "base"):
                found.add(f"html-{tag}-element")
            for name, value in attrs:
                value = (value or "").strip().lower()
                if name.startswith("on"):
                    found.add("html-event-handler")
                if name in _FETCHING and value and not value.startswith(("#", "data:")):
                    found.add("html-fetches")
                if name == "style" and ("url(" in value or "@import" in value):
                    found.add("html-fetches")

        def handle_data(self, data: str) -> None:
            if self.lasttag == "style" and ("url(" in data.lower() or "@import" in data):
                found.add("html-fetches")

    Page(convert_charrefs=True).feed(text)
    if not text.rstrip().endswith("</html>"):
        found.add("html-incomplete")
    return sorted(found)


def check_run(case: Case, result: Result) -> list[str]:
    """Every violation of a run, as kinds ([] when it holds); ``internal`` for exit 4."""
    if result.code == -1:
        return ["timeout"]
    if result.code == 4:
        return ["internal: " + internal_kind(result.err)]
    problems: list[str] = []
    if result.code not in DOCUMENTED_EXITS:
        problems.append(f"undocumented-exit-{result.code}")
    if "Traceback" in result.err:
        problems.append("traceback-without-internal-error")
    if _RAW_CONTROL.search(result.err):
        problems.append("raw-control-in-stderr")
    finished = result.code in (0, 1)
    if finished and case.out is None:
        problems += check_output(case.fmt, result.out)
    if case.out is not None:
        if finished:
            if result.report is None or result.report == SENTINEL:
                problems.append("out-not-written")
            else:
                text = result.report.decode("utf-8", "replace")
                problems += [f"out-{p}" for p in check_output(case.fmt, text)]
                if not text.endswith("\n"):
                    problems.append("out-incomplete")
        elif result.report != SENTINEL:
            problems.append("out-changed-by-a-failed-run")
    if result.left:
        problems.append("files-left-beside-the-report")
    return problems


# -- reproducers ----------------------------------------------------------------------------------


def write_reproducer(folder: Path, kind: str, case: Case, label: str) -> Path:
    """The case's inputs and a ``repro.sh`` under ``folder/<kind slug>/``, replaced by a smaller
    case of the same kind later."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", kind).strip("-")[:80] or "kind"
    target = folder / slug
    size = sum(len(d) for d in case.files.values()) + len(case.stdin) + len(" ".join(case.args))
    marker = target / "size"
    if marker.is_file() and int(marker.read_text()) <= size:
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, data in case.files.items():
        (target / name).write_bytes(data)
    command = "cognibill --debug " + " ".join(shlex.quote(a) for a in case.args)
    if case.stdin:
        (target / "stdin.bin").write_bytes(case.stdin)
        command += " < stdin.bin"
    if case.out is not None:
        earlier = shlex.quote(SENTINEL.decode().rstrip("\n"))
        command = f"printf '%s\\n' {earlier} > {case.out}; " + command
    (target / "repro.sh").write_text(
        f'#!/bin/sh\n# {kind}\n# case {label}\ncd "$(dirname "$0")"\n{command}\necho "exit $?"\n'
    )
    marker.write_text(str(size))
    return target


def shrink(case: Case, kind: str, scratch: Path, budget: int = 40) -> Case:
    """A smaller case of the same kind: lines of its one input file dropped, halves first."""
    if len(case.files) != 1:
        return case
    ((name, data),) = case.files.items()
    lines = data.splitlines(keepends=True)
    chunk = max(len(lines) // 2, 1)
    tries = 0
    while chunk >= 1 and tries < budget:
        at = 0
        while at < len(lines) and tries < budget:
            trial = lines[:at] + lines[at + chunk :]
            tries += 1
            smaller = Case(
                case.name, case.args, {name: b"".join(trial)}, case.stdin, case.out, case.fmt
            )
            with _folder(scratch) as folder:
                found = check_run(smaller, run_case(smaller, folder))
            if kind in found:
                lines = trial
            else:
                at += chunk
        chunk //= 2
    return Case(case.name, case.args, {name: b"".join(lines)}, case.stdin, case.out, case.fmt)


@contextlib.contextmanager
def _folder(scratch: Path) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(dir=scratch))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- the campaign ---------------------------------------------------------------------------------


def campaign(
    seed: str,
    cases: int,
    kinds: tuple[str, ...],
    out_dir: Path,
    *,
    start: int = 0,
    progress: Callable[[int, Counter[str]], None] | None = None,
    time_limit: float | None = None,
) -> tuple[Counter[str], dict[str, str]]:
    """Run ``cases`` cases; (counts per outcome, the first case label of every problem kind)."""
    os.environ.setdefault("NO_COLOR", "1")
    os.environ["COLUMNS"] = "100"
    for name in ("COGNIBILL_FORMAT", "COGNIBILL_PAYERS", "COGNIBILL_DEBUG"):
        os.environ.pop(name, None)
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=out_dir))
    sources = {kind: fixtures(kind) for kind in ("sessions", "exports", "payers")}
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    began = time.monotonic()
    try:
        for index in range(start, start + cases):
            if time_limit is not None and time.monotonic() - began > time_limit:
                break
            case = draw_case(seed, index, kinds, sources)
            with _folder(scratch) as folder:
                result = run_case(case, folder)
            found = check_run(case, result)
            counts[f"{case.name}: exit {result.code}"] += 1
            counts["cases"] += 1
            for kind in found:
                counts[f"PROBLEM {kind}"] += 1
                label = f"{seed}:{index}"
                if kind not in first:
                    first[kind] = label
                    small = shrink(case, kind, scratch) if not kind.startswith("timeout") else case
                    write_reproducer(out_dir, kind, small, label)
            if progress is not None and (index - start + 1) % 500 == 0:
                progress(index - start + 1, counts)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return counts, first


def _report(counts: Counter[str], first: dict[str, str], out_dir: Path, seconds: float) -> None:
    rate = counts["cases"] / max(seconds, 1e-9)
    print(f"{counts['cases']:,} cases in {seconds:,.0f} s ({rate:.1f}/s)")
    print("outcomes:")
    for key, count in sorted(counts.items()):
        if key != "cases" and not key.startswith("PROBLEM"):
            print(f"  {count:>8,}  {key}")
    problems = {k.removeprefix("PROBLEM "): v for k, v in counts.items() if k.startswith("PROBLEM")}
    internal = sum(v for k, v in problems.items() if k.startswith("internal"))
    print(f"internal errors: {internal:,}; other problems: {sum(problems.values()) - internal:,}")
    for kind, count in sorted(problems.items(), key=lambda kv: -kv[1]):
        slug = re.sub(r"[^A-Za-z0-9]+", "-", kind).strip("-")[:80]
        print(f"  {count:>8,}  {kind}")
        print(f"            first: case {first[kind]}; reproducer: {out_dir / slug}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", default="11")
    parser.add_argument("--start", type=int, default=0, help="index of the first case")
    parser.add_argument("--kinds", default="units,sessions,exports,exports,payers")
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/cognibill-fuzz"))
    parser.add_argument("--time-limit", type=float, default=None, help="stop after SECONDS")
    parser.add_argument("--replay", help="SEED:INDEX: run one case and show it")
    options = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    kinds = tuple(k.strip() for k in options.kinds.split(",") if k.strip())
    if options.replay:
        seed, _, index = options.replay.rpartition(":")
        sources = {kind: fixtures(kind) for kind in ("sessions", "exports", "payers")}
        case = draw_case(seed, int(index), kinds, sources)
        with tempfile.TemporaryDirectory() as folder:
            result = run_case(case, Path(folder))
        print("args:", case.args, "files:", {k: len(v) for k, v in case.files.items()})
        print("exit", result.code, f"{result.seconds:.2f} s; problems:", check_run(case, result))
        print(result.err[-3000:])
        return 0
    began = time.monotonic()

    def progress(done: int, counts: Counter[str]) -> None:
        bad = sum(v for k, v in counts.items() if k.startswith("PROBLEM"))
        sys.stderr.write(f"{done:,} cases, {bad:,} problems, {time.monotonic() - began:,.0f} s\n")

    counts, first = campaign(
        options.seed,
        options.cases,
        kinds,
        options.out_dir,
        start=options.start,
        progress=progress,
        time_limit=options.time_limit,
    )
    _report(counts, first, options.out_dir, time.monotonic() - began)
    return 1 if first else 0


if __name__ == "__main__":
    raise SystemExit(main())

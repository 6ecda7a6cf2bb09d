#!/usr/bin/env python3
"""Build cognibill's fee data (cognibill/data/fees/) from tidy CMS PFS RVU and GPCI tables.

Usage (from the repository root)::

    python scripts/build_fee_data.py                      # the shared CMS extract, see below
    python scripts/build_fee_data.py --rvu new_rvu.csv --gpci new_gpci.csv
    python scripts/build_fee_data.py --check              # fail if the package data is stale

Inputs are the tidy tables described in ``../shared/domain/data/README.md`` (one row per code or
locality and date range, columns ``year, effective_from, effective_to, source_file, hcpcs, ...``).
To load newer CMS releases, append their rows in that format (or pass further ``--rvu`` /
``--gpci`` files: later files replace earlier rows for the same code or locality and release) and
add a conversion factor with ``--cf FROM:TO:VALUE[:QP_VALUE]`` and a KX threshold with
``--kx YEAR:AMOUNT`` when a new year starts.

Conversion factors and KX thresholds are not in the CMS tables: they come from RULES.md §8 and §6
and are kept below as constants. The script checks every RVU row's printed conversion factor against
them. Output is deterministic (no timestamps), so ``--check`` can run in CI.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import sys
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "domain" / "data"
OUT = REPO / "cognibill" / "data" / "fees"

# RULES.md §8: conversion factors by date of service. The 2026 file is the non-QP one; qualifying
# APM participants ("QP") get 33.5675.
CONVERSION_FACTORS: list[tuple[str, str, str, str, str]] = [
    ("2020-01-01", "2020-12-31", "36.0896", "", "CY2020 PFS"),
    ("2021-01-01", "2021-12-31", "34.8931", "", "CY2021 PFS"),
    ("2022-01-01", "2022-12-31", "34.6062", "", "CY2022 PFS"),
    ("2023-01-01", "2023-12-31", "33.8872", "", "CY2023 PFS"),
    ("2024-01-01", "2024-03-08", "32.7442", "", "CY2024 PFS, January release"),
    ("2024-03-09", "2024-12-31", "33.2875", "", "CY2024 PFS, revised from 9 March 2024"),
    ("2025-01-01", "2025-12-31", "32.3465", "", "CY2025 PFS"),
    ("2026-01-01", "2026-12-31", "33.4009", "33.5675", "CY2026 PFS"),
]

# RULES.md §6: KX threshold per calendar year (PT+SLP together, OT apart) and the targeted medical
# review threshold.
KX_THRESHOLDS: dict[int, str] = {
    2021: "2110",
    2022: "2150",
    2023: "2230",
    2024: "2330",
    2025: "2410",
    2026: "2480",
}
REVIEW_THRESHOLD = "3000"

# CMS quarterly release calendar: A Jan 1, B Apr 1, C Jul 1, D Oct 1. AR (a revised January
# release) takes its start from the data (RVU24AR: 2024-03-09).
_RELEASE_START = {"A": (1, 1), "B": (4, 1), "C": (7, 1), "D": (10, 1)}

RVU_COLUMNS = [
    "year",
    "effective_from",
    "effective_to",
    "source_file",
    "hcpcs",
    "modifier",
    "status",
    "work_rvu",
    "pe_rvu_nonfacility",
    "pe_rvu_facility",
    "mp_rvu",
    "mult_proc_indicator",
    "global_days",
    "conversion_factor",
    "facility_na_indicator",
    "nonfacility_na_indicator",
]
GPCI_COLUMNS = [
    "year",
    "effective_from",
    "effective_to",
    "source_file",
    "mac",
    "locality",
    "locality_name",
    "state",
    "work_gpci",
    "pe_gpci",
    "mp_gpci",
]


class BuildError(Exception):
    """An input row that cannot be used."""


@dataclass(frozen=True)
class Options:
    rvu: list[Path]
    gpci: list[Path]
    out: Path
    codes: Path
    cf: list[tuple[str, str, str, str, str]]
    kx: dict[int, str]
    check: bool


def _read_table(path: Path, columns: list[str]) -> list[dict[str, str]]:
    try:
        text = path.read_text("utf-8-sig")
    except OSError as exc:
        raise BuildError(f"{path}: cannot read ({exc.strerror})") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise BuildError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = []
    for number, row in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in row.items() if k is not None}
        row["_where"] = f"{path}:{number}"
        for field in ("effective_from", "effective_to"):
            try:
                date.fromisoformat(row[field])
            except ValueError as exc:
                raise BuildError(
                    f"{row['_where']}: {field}: not an ISO date: {row[field]!r}"
                ) from exc
        if row["effective_from"] > row["effective_to"]:
            raise BuildError(f"{row['_where']}: effective_from is after effective_to")
        if int(row["year"]) != date.fromisoformat(row["effective_from"]).year:
            raise BuildError(f"{row['_where']}: year does not match effective_from")
        rows.append(row)
    return rows


def _dec(row: dict[str, str], field: str, places: int) -> str:
    """A value re-formatted at CMS's printed precision; refuse any that would change."""
    raw = row[field]
    try:
        value = Decimal(raw)
    except ArithmeticError as exc:
        raise BuildError(f"{row['_where']}: {field}: not a number: {raw!r}") from exc
    text = f"{value:.{places}f}"
    if Decimal(text) != value:
        raise BuildError(f"{row['_where']}: {field}: {raw} has more than {places} decimals")
    return text


def _merge(rows: list[dict[str, str]], key: tuple[str, ...]) -> list[dict[str, str]]:
    """Later files replace earlier rows with the same key and date range."""
    merged: dict[tuple[str, ...], dict[str, str]] = {}
    for row in rows:
        merged[(*(row[k] for k in key), row["effective_from"])] = row
    return list(merged.values())


def _check_overlaps(rows: list[dict[str, str]], key: tuple[str, ...]) -> None:
    by_key: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for row in rows:
        by_key.setdefault(tuple(row[k] for k in key), []).append(row)
    for group in by_key.values():
        group.sort(key=lambda r: r["effective_from"])
        for a, b in pairwise(group):
            if b["effective_from"] <= a["effective_to"]:
                raise BuildError(f"{b['_where']}: date range overlaps {a['_where']}")


def _cf_on(day: str, table: list[tuple[str, str, str, str, str]]) -> str | None:
    for start, end, value, _qp, _src in table:
        if start <= day <= end:
            return value
    return None


def build_rvu(rows: list[dict[str, str]], cf: list[tuple[str, str, str, str, str]]) -> str:
    rows = _merge(rows, ("hcpcs", "modifier"))
    _check_overlaps(rows, ("hcpcs", "modifier"))
    out = io.StringIO()
    out.write(
        "# cognibill fee data: CMS Medicare physician fee schedule RVUs by code and date of\n"
        "#   service.\n"
        "# Source: CMS PFS relative value files (PPRRVU), the releases named in `releases`;\n"
        "#   public-domain CMS numbers, no CPT descriptor text. Built by\n"
        "#   scripts/build_fee_data.py from ../shared/domain/data/rvu.csv (provenance in that\n"
        "#   folder's README.md).\n"
        "# Effective dates: effective_from..effective_to, both inclusive, by date of service.\n"
        "#   Dates with no row (release gaps, see manifest.toml) fall back to the nearest release\n"
        "#   of the same year, and the output says so.\n"
        "# Columns: code; year; effective_from; effective_to; releases (CMS release ids,\n"
        "#   ;-joined); status (A active, C carrier-priced); work, pe_nonfacility,\n"
        "#   pe_facility, mp (RVUs);\n"
        "#   mp_indicator (CMS MULT PROC: 5 = therapy multiple-procedure reduction, 50% of the PE\n"
        "#   of the 2nd and later units); global_days; facility_na / nonfacility_na (1 = CMS does\n"
        "#   not use that PE: the code is priced at the other PE in every setting).\n"
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "code",
            "year",
            "effective_from",
            "effective_to",
            "releases",
            "status",
            "work",
            "pe_nonfacility",
            "pe_facility",
            "mp",
            "mp_indicator",
            "global_days",
            "facility_na",
            "nonfacility_na",
        ]
    )
    rows.sort(key=lambda r: (r["hcpcs"], r["modifier"], r["effective_from"]))
    for row in rows:
        if row["modifier"]:
            continue  # global rows only: therapy codes have no professional/technical split
        expected = _cf_on(row["effective_from"], cf)
        if expected is not None and row["conversion_factor"]:
            printed = _dec(row, "conversion_factor", 4)
            if printed != expected:
                raise BuildError(
                    f"{row['_where']}: conversion factor {printed} differs from {expected} "
                    f"for {row['effective_from']} (RULES.md §8)"
                )
        writer.writerow(
            [
                row["hcpcs"],
                row["year"],
                row["effective_from"],
                row["effective_to"],
                row["source_file"],
                row["status"],
                _dec(row, "work_rvu", 2),
                _dec(row, "pe_rvu_nonfacility", 2),
                _dec(row, "pe_rvu_facility", 2),
                _dec(row, "mp_rvu", 2),
                row["mult_proc_indicator"] or "0",
                row["global_days"],
                "1" if row["facility_na_indicator"].upper() == "NA" else "0",
                "1" if row["nonfacility_na_indicator"].upper() == "NA" else "0",
            ]
        )
    return out.getvalue()


def build_gpci(rows: list[dict[str, str]]) -> str:
    for row in rows:
        row["mac"] = row["mac"].zfill(5)
        row["locality"] = row["locality"].zfill(2)
    rows = _merge(rows, ("mac", "locality"))
    _check_overlaps(rows, ("mac", "locality"))
    out = io.StringIO()
    out.write(
        "# cognibill fee data: CMS Medicare geographic practice cost indices (GPCIs) by locality.\n"
        "# Source: CMS PFS GPCI files of the releases named in `releases` (work GPCI with the 1.0\n"
        "#   floor, the value CMS paid on); built by scripts/build_fee_data.py from\n"
        "#   ../shared/domain/data/gpci.csv (provenance, incl. the second-hand 2026 copy, in its\n"
        "#   README).\n"
        "# Effective dates: effective_from..effective_to, both inclusive, by date of service;\n"
        "#   gaps fall back to the nearest release of the same year, said so in the output.\n"
        "# Columns: locality_id (CMS MAC-locality, e.g. 01112-05); mac; locality; name; state;\n"
        "#   year; effective_from; effective_to; releases; work, pe, mp (GPCIs, 3 decimals).\n"
        "# National (no locality) is GPCI 1.000/1.000/1.000 and has no row.\n"
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "locality_id",
            "mac",
            "locality",
            "name",
            "state",
            "year",
            "effective_from",
            "effective_to",
            "releases",
            "work",
            "pe",
            "mp",
        ]
    )
    rows.sort(key=lambda r: (r["year"], r["mac"], r["locality"], r["effective_from"]))
    for row in rows:
        name = " ".join(row["locality_name"].replace("*", "").split())
        writer.writerow(
            [
                f"{row['mac']}-{row['locality']}",
                row["mac"],
                row["locality"],
                name,
                row["state"].upper(),
                row["year"],
                row["effective_from"],
                row["effective_to"],
                row["source_file"],
                _dec(row, "work_gpci", 3),
                _dec(row, "pe_gpci", 3),
                _dec(row, "mp_gpci", 3),
            ]
        )
    return out.getvalue()


def build_conversion_factors(cf: list[tuple[str, str, str, str, str]]) -> str:
    out = io.StringIO()
    out.write(
        "# cognibill fee data: Medicare PFS conversion factors by date of service (RULES.md §8).\n"
        "# Source: CMS PFS final rules and RVU files (the CF printed on each PPRRVU row matches).\n"
        "# Effective dates: effective_from..effective_to, both inclusive. 2024 changed on 9 March\n"
        "#   (32.7442 -> 33.2875). 2026 has two rates: 33.4009 (most therapists) and 33.5675 for\n"
        "#   qualifying APM participants (qp_conversion_factor).\n"
        "# Columns: effective_from; effective_to; conversion_factor; qp_conversion_factor (blank:\n"
        "#   same as conversion_factor); source.\n"
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["effective_from", "effective_to", "conversion_factor", "qp_conversion_factor", "source"]
    )
    for row in sorted(cf):
        writer.writerow(row)
    return out.getvalue()


def build_thresholds(kx: dict[int, str]) -> str:
    lines = [
        "# cognibill fee data: Medicare therapy thresholds (RULES.md §6).",
        "# Source: CMS annual PFS final rules. Per beneficiary per calendar year, counted on",
        "#   allowed amounts; PT and SLP share one threshold, OT has its own. Above the KX",
        "#   threshold lines need the KX modifier; above the review threshold claims may be",
        "#   picked for targeted medical review (information, not an error).",
        "# Effective dates: each [kx] key is a calendar year (1 January to 31 December).",
        "",
        f"review_threshold = {REVIEW_THRESHOLD}",
        "",
        "[kx]",
    ]
    lines += [f"{year} = {amount}" for year, amount in sorted(kx.items())]
    return "\n".join(lines) + "\n"


def _release_starts(
    rvu_rows: list[dict[str, str]], gpci_rows: list[dict[str, str]]
) -> dict[str, str]:
    starts: dict[str, str] = {}
    for row in rvu_rows + gpci_rows:
        releases = row["source_file"].split(";")
        for i, release in enumerate(releases):
            suffix = release[5:]
            year = int(row["year"])
            if i == 0:
                start = row["effective_from"]
            elif suffix in _RELEASE_START:
                month, day = _RELEASE_START[suffix]
                start = date(year, month, day).isoformat()
            else:
                continue
            starts[release] = min(starts.get(release, start), start)
    return dict(sorted(starts.items(), key=lambda kv: (kv[1], kv[0])))


def _gaps(rvu_rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    covered = sorted({(r["effective_from"], r["effective_to"]) for r in rvu_rows})
    years = sorted({int(r["year"]) for r in rvu_rows})
    gaps = []
    for year in years:
        cursor = date(year, 1, 1)
        for start, end in covered:
            s, e = date.fromisoformat(start), date.fromisoformat(end)
            if s.year != year:
                continue
            if s > cursor:
                gaps.append((cursor.isoformat(), (s - timedelta(days=1)).isoformat()))
            cursor = max(cursor, e + timedelta(days=1))
        if cursor <= date(year, 12, 31):
            gaps.append((cursor.isoformat(), date(year, 12, 31).isoformat()))
    return gaps


def build_manifest(
    files: dict[str, str],
    rvu_rows: list[dict[str, str]],
    gpci_rows: list[dict[str, str]],
    codes_toml: Path,
) -> str:
    starts = _release_starts(rvu_rows, gpci_rows)
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode())
    first, last = next(iter(starts)), list(starts)[-1]
    version = f"pfs-{first[3:].lower()}-{last[3:].lower()}+{digest.hexdigest()[:8]}"
    have = {r["hcpcs"] for r in rvu_rows}
    catalogue = tomllib.loads(codes_toml.read_text("utf-8")).get("code", {})
    missing = sorted(c for c in catalogue if c not in have)
    lines = [
        "# cognibill fee data manifest: the data version and the CMS releases it holds.",
        "# Source: built by scripts/build_fee_data.py; `version` changes whenever any data file",
        "#   does (first release - last release + a hash of the files).",
        "# Effective dates: [releases] maps each CMS release id to the first date of service it",
        "#   governs; [[gaps]] lists the dates of service with no release on file (the estimate",
        "#   falls back to the nearest release of the same year and says so).",
        "",
        f'version = "{version}"',
        f'covers = "{first}..{last}"',
        "files = [" + ", ".join(f'"{n}"' for n in sorted(files)) + "]",
        "# Catalogue codes with no CMS RVUs in these years (deleted before 2020, RULES.md §5).",
        "codes_without_rvus = [" + ", ".join(f'"{c}"' for c in missing) + "]",
        "",
        "[releases]",
    ]
    lines += [f"{release} = {start}" for release, start in starts.items()]
    for start, end in _gaps(rvu_rows):
        lines += ["", "[[gaps]]", f"from = {start}", f"to = {end}"]
    return "\n".join(lines) + "\n"


def build(options: Options) -> dict[str, str]:
    rvu_rows: list[dict[str, str]] = []
    for path in options.rvu:
        rvu_rows += _read_table(path, RVU_COLUMNS)
    gpci_rows: list[dict[str, str]] = []
    for path in options.gpci:
        gpci_rows += _read_table(path, GPCI_COLUMNS)
    files = {
        "rvu.csv": build_rvu(rvu_rows, options.cf),
        "gpci.csv": build_gpci(gpci_rows),
        "conversion_factors.csv": build_conversion_factors(options.cf),
        "thresholds.toml": build_thresholds(options.kx),
    }
    files["manifest.toml"] = build_manifest(files, rvu_rows, gpci_rows, options.codes)
    return files


def _parse_cf(text: str) -> tuple[str, str, str, str, str]:
    parts = text.split(":")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError("expected FROM:TO:VALUE[:QP_VALUE]")
    start, end, value = parts[:3]
    qp = parts[3] if len(parts) == 4 else ""
    try:
        date.fromisoformat(start), date.fromisoformat(end), Decimal(value)
        if qp:
            Decimal(qp)
    except (ValueError, ArithmeticError) as exc:
        raise argparse.ArgumentTypeError(f"bad conversion factor {text!r}") from exc
    return (start, end, f"{Decimal(value):.4f}", f"{Decimal(qp):.4f}" if qp else "", "--cf")


def _parse_kx(text: str) -> tuple[int, str]:
    year, _, amount = text.partition(":")
    try:
        return int(year), str(Decimal(amount))
    except (ValueError, ArithmeticError) as exc:
        raise argparse.ArgumentTypeError(
            f"bad KX threshold {text!r}: expected YEAR:AMOUNT"
        ) from exc


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rvu", type=Path, action="append", help="tidy RVU table (repeatable)")
    parser.add_argument("--gpci", type=Path, action="append", help="tidy GPCI table (repeatable)")
    parser.add_argument(
        "--out", type=Path, default=OUT, help="output folder (default: package data)"
    )
    parser.add_argument("--codes", type=Path, default=REPO / "cognibill" / "data" / "codes.toml")
    parser.add_argument(
        "--cf", type=_parse_cf, action="append", default=[], metavar="FROM:TO:CF[:QP]"
    )
    parser.add_argument("--kx", type=_parse_kx, action="append", default=[], metavar="YEAR:AMOUNT")
    parser.add_argument("--check", action="store_true", help="compare with --out, write nothing")
    args = parser.parse_args(argv)
    cf = {row[0]: row for row in CONVERSION_FACTORS}
    for row in args.cf:
        cf[row[0]] = row
    return Options(
        rvu=args.rvu or [SHARED / "rvu.csv"],
        gpci=args.gpci or [SHARED / "gpci.csv"],
        out=args.out,
        codes=args.codes,
        cf=sorted(cf.values()),
        kx={**{y: a for y, a in KX_THRESHOLDS.items()}, **dict(args.kx)},
        check=args.check,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse_args(argv)
        files = build(options)
    except BuildError as exc:
        print(f"build_fee_data: error: {exc}", file=sys.stderr)
        return 1
    stale = [
        name
        for name, text in files.items()
        if not (options.out / name).exists() or (options.out / name).read_text("utf-8") != text
    ]
    if options.check:
        for name in stale:
            print(f"build_fee_data: {options.out / name} is out of date", file=sys.stderr)
        return 1 if stale else 0
    options.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (options.out / name).write_text(text, "utf-8")
    print(f"build_fee_data: wrote {len(files)} files to {options.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

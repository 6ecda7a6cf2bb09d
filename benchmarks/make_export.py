"""Seeded generator of fictional EHR session exports: the sample and the benchmark input.

One row per service performed, vendor-style headers, US dates, sorted by date then patient (so
the rows of one patient and date are together, as EHR exports list them). Patients, providers
and NPIs are made up.

    python benchmarks/make_export.py --sample   # rewrites tests/data/csv/generated_export.csv
    python benchmarks/make_export.py OUT.csv --rows 1000000  # about 450,000 visits

Minutes: therapists mostly type round numbers; 70% of timed services take a multiple of 5
(5-60 minutes), 30% any whole number from 3 to 60. Untimed codes take 25-60 minutes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from collections.abc import Iterator
from pathlib import Path

HEADER = (
    "Client",
    "DOS",
    "Provider NPI",
    "Credential",
    "CPT",
    "Duration",
    "Payer",
    "Modifiers",
    "Billed Units",
)

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "csv" / "generated_export.csv"

PAYERS = ("Medicare", "Medicare", "Aetna", "Blue Cross", "UnitedHealthcare")

# discipline -> (credentials as vendors print them, codes with weights, discipline modifier)
_DISCIPLINES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, int], ...], str]] = {
    "slp": (
        ("CCC-SLP", "MS, CCC-SLP", "MA, CCC-SLP"),
        (("97129", 10), ("97130", 4), ("92507", 4), ("92526", 2), ("97535", 1)),
        "GN",
    ),
    "pt": (
        ("PT", "DPT", "PT, DPT"),
        (("97110", 8), ("97112", 5), ("97116", 3), ("97140", 4), ("97530", 5), ("97164", 1)),
        "GP",
    ),
    "ot": (
        ("OTR/L", "OTR", "MS, OTR/L"),
        (("97535", 6), ("97530", 6), ("97110", 3), ("97129", 3), ("97168", 1)),
        "GO",
    ),
    "pta": (
        ("PTA",),
        (("97110", 8), ("97112", 4), ("97116", 3), ("97530", 4)),
        "GP",
    ),
    "ota": (
        ("COTA", "COTA/L"),
        (("97535", 6), ("97530", 6), ("97110", 2)),
        "GO",
    ),
}
_UNTIMED = {"92507", "92526", "97164", "97168"}
_ASSISTANT = {"pta": "CQ", "ota": "CO"}
_ROUND_MINUTES = tuple(range(5, 61, 5))
_CODES_PER_VISIT = ((1, 30), (2, 35), (3, 20), (4, 15))


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    codes, weights = zip(*choices, strict=True)
    return rng.choices(codes, weights)[0]


def _minutes(rng: random.Random, code: str) -> int:
    if code in _UNTIMED:
        return rng.randrange(25, 61)
    if rng.random() < 0.7:
        return rng.choice(_ROUND_MINUTES)
    return rng.randrange(3, 61)


def _npi(rng: random.Random) -> str:
    # Fictional: 10 digits starting with 19, not checked against the NPI registry.
    return "19" + "".join(str(rng.randrange(10)) for _ in range(8))


def _units(minutes: int, code: str) -> int:
    """What an EHR proposes: one unit per untimed code, the per-code midpoint otherwise."""
    return 1 if code in _UNTIMED else (minutes + 7) // 15


class _Clinic:
    def __init__(self, rng: random.Random, patients: int) -> None:
        self.rng = rng
        self.providers = {
            d: [(_npi(rng), rng.choice(creds)) for _ in range(max(2, patients // 150))]
            for d, (creds, _, _) in _DISCIPLINES.items()
        }
        self.patients: list[tuple[str, str, tuple[str, ...]]] = []
        width = len(str(patients)) + 1
        for n in range(patients):
            first = rng.choice(("slp", "slp", "pt", "ot", "pta", "ota"))
            extra = rng.choice(("", "", "pt", "ot", "slp"))
            disciplines = (first,) if extra in ("", first) else (first, extra)
            self.patients.append((f"C{n + 10 ** (width - 1)}", rng.choice(PAYERS), disciplines))

    def visit_rows(
        self, day: dt.date, patient: tuple[str, str, tuple[str, ...]]
    ) -> list[list[str]]:
        rng = self.rng
        pid, payer, disciplines = patient
        rows: list[list[str]] = []
        for discipline in disciplines:
            if len(disciplines) > 1 and rng.random() < 0.4:
                continue
            npi, credential = rng.choice(self.providers[discipline])
            _, codes, modifier = _DISCIPLINES[discipline]
            sessions = 2 if rng.random() < 0.04 else 1  # same-day repeat visit
            for _ in range(sessions):
                count = int(_weighted(rng, tuple((str(k), w) for k, w in _CODES_PER_VISIT)))
                picked: list[str] = []
                while len(picked) < count:
                    code = _weighted(rng, codes)
                    if code not in picked or rng.random() < 0.1:
                        picked.append(code)
                for code in picked:
                    minutes = _minutes(rng, code)
                    mods = [modifier]
                    if discipline in _ASSISTANT:
                        mods.append(_ASSISTANT[discipline])
                    if code == "97140" and rng.random() < 0.2:
                        mods.append("59")
                    rows.append(
                        [
                            pid,
                            f"{day.month:02d}/{day.day:02d}/{day.year}",
                            npi,
                            credential,
                            code,
                            str(minutes),
                            payer,
                            " ".join(mods),
                            str(_units(minutes, code)),
                        ]
                    )
        return rows


def generate(
    rows: int, *, seed: int = 20260301, start: dt.date = dt.date(2025, 1, 2)
) -> Iterator[list[str]]:
    """About ``rows`` data rows (the last day is completed), sorted by date then patient."""
    rng = random.Random(seed)
    patients = max(30, rows // 60)
    clinic = _Clinic(rng, patients)
    per_day = max(10, patients // 4)
    made = 0
    day = start
    while made < rows:
        if day.weekday() < 5:
            seen = sorted(rng.sample(clinic.patients, min(per_day, len(clinic.patients))))
            for patient in seen:
                for row in clinic.visit_rows(day, patient):
                    made += 1
                    yield row
        day += dt.timedelta(days=1)


# Deliberately bad rows for the sample (reason, row builder): each must come back as a rejection.
_BAD_ROWS: tuple[tuple[str, list[str]], ...] = (
    (
        "bad date",
        ["C103", "02/30/2026", "1912345678", "CCC-SLP", "97129", "30", "Medicare", "GN", "2"],
    ),
    (
        "negative minutes",
        ["C107", "03/10/2026", "1912345678", "CCC-SLP", "97130", "-15", "Medicare", "GN", "1"],
    ),
    (
        "non-numeric minutes",
        ["C111", "03/12/2026", "1987654321", "DPT", "97110", "thirty", "Aetna", "GP", "2"],
    ),
    (
        "unknown code 92129",
        ["C114", "03/17/2026", "1912345678", "MS, CCC-SLP", "92129", "38", "Medicare", "GN", "3"],
    ),
    (
        "wrong column count",
        ["C120", "03/19/2026", "1987654321", "PT", "97112", "23", "Blue Cross"],
    ),
    (
        "two-digit year",
        ["C122", "3/24/26", "1912345678", "CCC-SLP", "97129", "25", "Medicare", "GN", "2"],
    ),
)


# A readable row the claim rules flag: 97532 was deleted in 2018 (RULES.md §5). Its patient has
# no other row, so it is a visit of its own wherever it lands.
_FLAGGED_ROWS: tuple[list[str], ...] = (
    ["C130", "03/05/2026", "1912345678", "CCC-SLP", "97532", "30", "Medicare", "GN", "2"],
)


def write_sample(path: Path = SAMPLE) -> tuple[int, int]:
    """The README sample: a few weeks of a small clinic plus the bad rows above (rows, bad)."""
    rng = random.Random(7)
    good = list(generate(300, seed=20260301, start=dt.date(2026, 3, 2)))
    # Sprinkle the bad and flagged rows through the file, not at the end.
    extra = [row for _, row in _BAD_ROWS] + list(_FLAGGED_ROWS)
    rng.shuffle(extra)
    slots = sorted(rng.sample(range(10, len(good)), len(extra)))
    out: list[list[str]] = []
    pending = iter(extra)
    for i, row in enumerate(good):
        if slots and i == slots[0]:
            slots.pop(0)
            out.append(next(pending))
        out.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")  # as Excel writes it
        writer.writerow(HEADER)
        writer.writerows(out)
    return len(out), len(_BAD_ROWS)


def write_export(path: Path, rows: int, *, seed: int = 20260301) -> int:
    """The benchmark input: ``rows`` (or a few more) rows; returns the number written."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for row in generate(rows, seed=seed):
            writer.writerow(row)
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="where to write the export")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260301)
    parser.add_argument("--sample", action="store_true", help=f"rewrite {SAMPLE.name}")
    args = parser.parse_args(argv)
    if args.sample:
        rows, bad = write_sample(args.out or SAMPLE)
        print(f"{args.out or SAMPLE}: {rows} rows, {bad} deliberately bad", file=sys.stderr)
        return 0
    if args.out is None:
        parser.error("give an output path or --sample")
    count = write_export(args.out, args.rows, seed=args.seed)
    print(f"{args.out}: {count} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

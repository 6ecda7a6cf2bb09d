"""Payer profiles: how a payer counts units, prices them and what its claims must carry.

Built-in profiles (``cognibill/data/payers.toml``: ``medicare`` and ``commercial``) are merged with
one user file: the path given, else ``$COGNIBILL_PAYERS``, else ``payers.toml`` in the user config
directory. A user profile with a built-in's id starts from the built-in and overrides the fields it
gives. A malformed profile raises ``InputError`` naming the file, the line and the field.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from types import MappingProxyType

from cognibill.engine import UnitRule
from cognibill.errors import EntryError, InputError

PAYERS_ENV = "COGNIBILL_PAYERS"
"""Environment variable naming a user payer file."""

BUILTIN_SOURCE = "built-in"
PRICING = ("mpfs", "per-unit", "per-code", "percent-of-mpfs")
ASSISTANT_ORDERS = ("after-mppr", "before-mppr")
# Patterns are compiled on first use (re caches them), not at import: start-up matters.
_ID = r"^[a-z0-9][a-z0-9_-]*$"
_CODE = r"^[0-9A-Z]{5}$"

MAX_RATE = Decimal(100_000)
"""The highest rate per unit a profile may give ($100,000): far above any payer's, and low
enough that a day of units of a year of visits stays within integer cents."""

MAX_DAILY_CAP = 96
"""The highest daily cap of units: a day of 15-minute units (1440 minutes)."""

MAX_PAYERS_BYTES = 1024 * 1024
"""The largest payer file read (1 MiB: a profile takes about 1 KiB)."""


@dataclass(frozen=True, slots=True)
class PayerProfile:
    """One payer's rules. Rates are fractions (0.85, 0.02, 0.20) except ``percent`` (110 = 110%)."""

    id: str
    name: str
    unit_rule: UnitRule
    pricing: str
    """``mpfs`` | ``per-unit`` | ``per-code`` | ``percent-of-mpfs``."""
    is_medicare: bool = False
    note: str = ""
    locality: str | None = None
    """CMS MAC-locality id or a unique part of its name; None = national."""
    facility: bool | None = None
    """Force facility / non-facility pricing; None = by place of service."""
    participating: bool = True
    percent: Decimal | None = None
    """For ``percent-of-mpfs``: the percentage of the MPFS amount (110 = 110%)."""
    unit_low: Decimal | None = None
    unit_high: Decimal | None = None
    per_code: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    daily_caps: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    multiple_procedure_reduction: bool = False
    assistant_rate: Decimal = Decimal(1)
    assistant_rate_from: dt.date | None = None
    assistant_order: str = "after-mppr"
    """Whether CQ/CO applies after (default) or before the procedure reduction (open, §8)."""
    sequestration: Decimal = Decimal(0)
    coinsurance: Decimal = Decimal(0)
    requires_plan_of_care: bool = False
    requires_discipline_modifiers: bool = False
    accepts_slp_cognitive: bool = True
    covered_diagnoses: tuple[str, ...] = ()
    """ICD-10-CM prefixes covered; empty = any."""
    tracks_kx: bool = False
    source: str = BUILTIN_SOURCE
    """The file the profile came from (``built-in`` for the package's own)."""

    def assistant_rate_on(self, day: dt.date) -> Decimal:
        """The share paid for a CQ/CO line on a date (1 before ``assistant_rate_from``)."""
        if self.assistant_rate_from is not None and day < self.assistant_rate_from:
            return Decimal(1)
        return self.assistant_rate

    def covers_diagnosis(self, code: str) -> bool:
        """Whether an ICD-10-CM code is covered (always, when no diagnoses are listed)."""
        if not self.covered_diagnoses:
            return True
        wanted = code.strip().upper().replace(".", "")
        return any(wanted.startswith(p.replace(".", "")) for p in self.covered_diagnoses)


# -- field specification ----------------------------------------------------------------------

_Problem = tuple[str, str]  # (field, reason)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("expected a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return number


def _rate(value: object) -> Decimal:
    number = _decimal(value)
    if not 0 <= number <= 1:
        raise ValueError(f"expected a fraction from 0 to 1 (0.20 for 20%), got {number}")
    return number


def _money(value: object) -> Decimal:
    number = _decimal(value)
    if number < 0:
        raise ValueError(f"cannot be negative ({number})")
    if number > MAX_RATE:
        raise ValueError(f"{_short(number)} per unit is not plausible (at most {MAX_RATE:,})")
    return number


def _short(number: Decimal) -> str:
    """A number for a message, never thousands of digits long."""
    text = str(number)
    return text if len(text) <= 20 else f"{number:.3E}"


def _percent(value: object) -> Decimal:
    number = _decimal(value)
    if number <= 5:
        raise ValueError(f"a percentage of the MPFS: write 110 for 110%, not {number}")
    if number > 1000:
        raise ValueError(f"{number}% of the MPFS is not plausible")
    return number


def _choice(options: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}; got {value!r}")
        return str(value)

    return check


def _unit_rule(value: object) -> UnitRule:
    try:
        return UnitRule(str(value))
    except ValueError:
        raise ValueError(
            f"expected one of {', '.join(r.value for r in UnitRule)}; got {value!r}"
        ) from None


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError("expected a date (2022-01-01)")
    return value


def _diagnoses(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError('expected a list of ICD-10-CM prefixes, e.g. ["S06", "I69.31"]')
    return tuple(v.strip().upper() for v in value)


_FIELDS: dict[str, Callable[[object], object]] = {
    "name": _text,
    "note": lambda v: v.strip() if isinstance(v, str) else _text(v),
    "unit_rule": _unit_rule,
    "is_medicare": _flag,
    "pricing": _choice(PRICING),
    "locality": _text,
    "facility": _flag,
    "participating": _flag,
    "percent": _percent,
    "unit_low": _money,
    "unit_high": _money,
    "multiple_procedure_reduction": _flag,
    "assistant_rate": _rate,
    "assistant_rate_from": _date,
    "assistant_order": _choice(ASSISTANT_ORDERS),
    "sequestration": _rate,
    "coinsurance": _rate,
    "requires_plan_of_care": _flag,
    "requires_discipline_modifiers": _flag,
    "accepts_slp_cognitive": _flag,
    "covered_diagnoses": _diagnoses,
    "tracks_kx": _flag,
}
_TABLES = ("per_code", "daily_caps")
_KNOWN = (*_FIELDS, *_TABLES, "base")
_REQUIRED = ("name", "unit_rule", "pricing")


def _code_table(
    raw: object, convert: Callable[[object], object], where: str, problems: list[_Problem]
) -> dict[str, object]:
    if not isinstance(raw, dict):
        problems.append((where, "expected a table of code = value"))
        return {}
    out: dict[str, object] = {}
    for code, value in raw.items():
        key = str(code).strip().upper()
        if not re.match(_CODE, key):
            problems.append((f"{where}.{code}", "expected a 5-character code such as 97130"))
            continue
        try:
            out[key] = convert(value)
        except ValueError as exc:
            problems.append((f"{where}.{code}", str(exc)))
    return out


def _cap(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a whole number of units (0 or more)")
    if value > MAX_DAILY_CAP:
        raise ValueError(
            f"more units than a day holds (at most {MAX_DAILY_CAP}); leave the code out for no cap"
        )
    return value


def _build(
    payer_id: str, raw: Mapping[str, object], source: str
) -> tuple[PayerProfile | None, list[_Problem]]:
    """A profile from its merged fields, or the problems found (field paths are ``payer.ID.x``)."""
    where = f"payer.{payer_id}"
    problems: list[_Problem] = []
    values: dict[str, object] = {}
    if not re.match(_ID, payer_id):
        problems.append((where, "ids are lower-case letters, digits, '-' and '_'"))
    for key, value in raw.items():
        if key == "base":
            continue
        if key in _FIELDS:
            try:
                values[key] = _FIELDS[key](value)
            except ValueError as exc:
                problems.append((f"{where}.{key}", str(exc)))
        elif key == "per_code":
            table = _code_table(value, _money, f"{where}.per_code", problems)
            values[key] = MappingProxyType(table)
        elif key == "daily_caps":
            table = _code_table(value, _cap, f"{where}.daily_caps", problems)
            values[key] = MappingProxyType(table)
        else:
            near = difflib.get_close_matches(key, _KNOWN, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            problems.append((f"{where}.{key}", f"unknown field{hint}"))
    for key in _REQUIRED:
        if key not in raw:
            problems.append((f"{where}.{key}", "required field is missing"))
    pricing = values.get("pricing")
    if pricing == "per-unit":
        for key in ("unit_low", "unit_high"):
            if key not in raw:
                problems.append((f"{where}.{key}", "required when pricing is per-unit"))
        low, high = values.get("unit_low"), values.get("unit_high")
        if isinstance(low, Decimal) and isinstance(high, Decimal) and low > high:
            problems.append((f"{where}.unit_high", f"is below unit_low ({high} < {low})"))
    elif pricing == "per-code" and not raw.get("per_code"):
        problems.append((f"{where}.per_code", "required (code = rate) when pricing is per-code"))
    elif pricing == "percent-of-mpfs" and "percent" not in raw:
        problems.append((f"{where}.percent", "required when pricing is percent-of-mpfs"))
    if problems:
        return None, problems
    values.setdefault("tracks_kx", values.get("is_medicare", False))
    return PayerProfile(id=payer_id, source=source, **values), []  # type: ignore[arg-type]


# -- locating lines in TOML text -------------------------------------------------------------

_HEADER = r"^\s*\[(?!\[)\s*([^\]]+?)\s*\]\s*(?:#.*)?$"
_KEY = r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*="""


def _split_key(text: str) -> tuple[str, ...]:
    parts = re.findall(r""""[^"]*"|'[^']*'|[^.\s]+""", text)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def find_line(text: str, path: str) -> int | None:
    """The 1-based line of a dotted field path (``payer.acme.unit_low``) in TOML text.

    Falls back to the line of the nearest enclosing table; None when neither is found. A plain
    scan, so that an error can point at the line the user must edit.
    """
    wanted = _split_key(path)
    table: tuple[str, ...] = ()
    best: tuple[int, int] | None = None  # (matched depth, line)
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(_HEADER, line)
        if header:
            table = _split_key(header.group(1))
            here = table
        else:
            key = re.match(_KEY, line)
            if not key:
                continue
            here = table + _split_key(key.group(1))
        depth = 0
        for a, b in zip(here, wanted, strict=False):
            if a != b:
                break
            depth += 1
        if depth == len(here) and (best is None or depth > best[0]):
            best = (depth, number)
            if depth == len(wanted):
                return number
    return best[1] if best is not None and best[0] >= 2 else None


# -- loading ---------------------------------------------------------------------------------


def _parse_toml(text: str, source: str) -> dict[str, object]:
    try:
        data = tomllib.loads(text) if source == BUILTIN_SOURCE else _load_bounded(text, source)
    except RecursionError:  # a backstop: load_toml bounds the nesting
        raise InputError(source, "nested too deeply to be a payer file") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise InputError(
            source, f"not valid TOML: {reason}", line=int(match.group(1)) if match else None
        ) from None
    return data


def _load_bounded(text: str, source: str) -> dict[str, object]:
    """A user file through the session reader's bounded TOML loader (nesting, long numbers),
    imported only then: ``cognibill units`` with the built-ins alone loads no reader."""
    from cognibill.readers.session_file import TomlLimitError, load_toml

    try:
        return load_toml(text)
    except TomlLimitError as exc:
        raise InputError(source, exc.reason, line=exc.line) from None


def _profiles_table(
    data: dict[str, object], text: str, source: str
) -> dict[str, dict[str, object]]:
    problems: list[tuple[int | None, str | None, str]] = []
    for key in data:
        if key != "payer":
            problems.append(
                (
                    find_line(text, key) or _top_line(text, key),
                    key,
                    "unknown top-level key (profiles go in [payer.ID] tables)",
                )
            )
    table = data.get("payer", {})
    if not isinstance(table, dict):
        problems.append(
            (
                find_line(text, "payer") or _top_line(text, "payer"),
                "payer",
                "expected [payer.ID] tables",
            )
        )
        table = {}
    out: dict[str, dict[str, object]] = {}
    for payer_id, fields in table.items():
        if not isinstance(fields, dict):
            problems.append(
                (_top_line(text, f"payer.{payer_id}"), f"payer.{payer_id}", "expected a table")
            )
            continue
        out[str(payer_id)] = fields
    if problems:
        _raise(source, problems)
    return out


def _top_line(text: str, key: str) -> int | None:
    first = _split_key(key)[0]
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(_KEY, line) or re.match(_HEADER, line)
        if match and _split_key(match.group(1))[:1] == (first,):
            return number
    return None


def _raise(source: str, problems: list[tuple[int | None, str | None, str]]) -> None:
    from cognibill.entries import escape_controls  # keys and values are the file's own text

    problems = [
        (line, None if key is None else escape_controls(key), escape_controls(reason))
        for line, key, reason in problems
    ]
    line, field_, reason = problems[0]
    raise InputError(
        source,
        reason,
        line=line,
        column=field_,
        problems=tuple(problems),
        hint="See `cognibill payers init` for a commented profile.",
    )


@cache
def _builtin_raw() -> dict[str, dict[str, object]]:
    path = Path(__file__).parent / "data" / "payers.toml"
    if path.is_file():  # a plain install: skip importlib.resources' start-up cost
        text = path.read_text("utf-8")
    else:
        from importlib import resources

        text = resources.files("cognibill").joinpath("data/payers.toml").read_text("utf-8")
    return _profiles_table(_parse_toml(text, BUILTIN_SOURCE), text, BUILTIN_SOURCE)


def builtin_ids() -> tuple[str, ...]:
    """The ids of the built-in profiles."""
    return tuple(_builtin_raw())


def user_config_file() -> Path:
    """``payers.toml`` in the user config directory.

    On Linux this is the XDG rule that platformdirs applies (``$XDG_CONFIG_HOME`` or
    ``~/.config``), computed here because importing platformdirs costs ~4 ms on every
    ``cognibill units`` run; other platforms ask platformdirs (a test checks they agree).
    """
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return Path(base) / "cognibill" / "payers.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("cognibill")) / "payers.toml"


def user_payers_file(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The user payer file in force: ``path``, else ``$COGNIBILL_PAYERS``, else the config dir's
    ``payers.toml`` when it exists; None when there is none. A path or variable naming a file that
    does not exist raises ``InputError``."""
    env = os.environ if environ is None else environ
    given = path if path is not None else env.get(PAYERS_ENV) or None
    if given is not None:
        chosen = Path(given)
        origin = "" if path is not None else f" (from ${PAYERS_ENV})"
        if chosen.is_dir():
            raise InputError(str(chosen), f"is a directory, not a payer file{origin}")
        if not chosen.exists():
            raise InputError(str(chosen), f"payer file not found{origin}")
        return chosen
    default = user_config_file()
    return default if default.is_file() else None


def parse_payers(text: str, source: str) -> dict[str, PayerProfile]:
    """The built-in profiles merged with those in ``text`` (a user payer file named ``source``)."""
    builtin = _builtin_raw()
    user = _profiles_table(_parse_toml(text, source), text, source)
    merged: dict[str, dict[str, object]] = {k: dict(v) for k, v in builtin.items()}
    origin = dict.fromkeys(builtin, BUILTIN_SOURCE)
    for payer_id, fields in user.items():
        merged[payer_id] = {**merged.get(payer_id, {}), **fields}
        origin[payer_id] = source
    problems: list[tuple[int | None, str | None, str]] = []
    resolved: dict[str, dict[str, object]] = {}

    def resolve(payer_id: str, chain: tuple[str, ...]) -> dict[str, object] | None:
        if payer_id in resolved:
            return resolved[payer_id]
        fields = merged[payer_id]
        base = fields.get("base")
        if base is None:
            resolved[payer_id] = fields
            return fields
        path = f"payer.{payer_id}.base"
        if not isinstance(base, str) or base not in merged:
            known = ", ".join(sorted(merged))
            problems.append(
                (find_line(text, path), path, f"no profile {base!r} to start from ({known})")
            )
            return None
        if base in chain:
            problems.append(
                (find_line(text, path), path, f"circular base: {' -> '.join((*chain, base))}")
            )
            return None
        parent = resolve(base, (*chain, base))
        if parent is None:
            return None
        resolved[payer_id] = {**parent, **fields}
        return resolved[payer_id]

    profiles: dict[str, PayerProfile] = {}
    for payer_id in merged:
        complete = resolve(payer_id, (payer_id,))
        if complete is None:
            continue
        profile, found = _build(payer_id, complete, origin[payer_id])
        for path, reason in found:
            line = find_line(text, path) if origin[payer_id] == source else None
            problems.append((line, path, reason))
        if profile is not None:
            profiles[payer_id] = profile
    if problems:
        _raise(source, problems)
    return profiles


@cache
def _builtin_profiles() -> dict[str, PayerProfile]:
    profiles: dict[str, PayerProfile] = {}
    for payer_id, fields in _builtin_raw().items():
        profile, problems = _build(payer_id, fields, BUILTIN_SOURCE)
        if profile is None:  # pragma: no cover - the package data is tested
            raise InputError(BUILTIN_SOURCE, "; ".join(f"{f}: {r}" for f, r in problems))
        profiles[payer_id] = profile
    return profiles


def load_payers(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> dict[str, PayerProfile]:
    """Every profile, built-ins first, merged with the user file in force (see module docstring)."""
    user = user_payers_file(path, environ=environ)
    if user is None:
        return dict(_builtin_profiles())
    try:
        with user.open("rb") as handle:
            data = handle.read(MAX_PAYERS_BYTES + 1)
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise InputError(str(user), f"cannot read payer file: {reason}") from None
    if len(data) > MAX_PAYERS_BYTES:
        raise InputError(
            str(user), f"larger than {MAX_PAYERS_BYTES // 1024} KiB: too large for a payer file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            str(user), f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8", line=line
        ) from None
    return parse_payers(text, str(user))


def get_payer(
    payer_id: str = "medicare",
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> PayerProfile:
    """One profile by id (``EntryError`` naming the known ids when there is none)."""
    profiles = load_payers(path, environ=environ)
    wanted = payer_id.strip().lower()
    if wanted in profiles:
        return profiles[wanted]
    near = difflib.get_close_matches(wanted, list(profiles), n=1)
    hint = f"Did you mean {near[0]!r}? " if near else ""
    raise EntryError(
        f"unknown payer {payer_id!r}; known: {', '.join(profiles)}",
        hint=f"{hint}Add your own with `cognibill payers init`.",
    )


# -- starter profile -------------------------------------------------------------------------

_COMMENTS = {
    "name": "Shown in outputs.",
    "note": "One line shown with every estimate.",
    "base": "Start from this profile; every field below overrides it.",
    "unit_rule": '"cms" total time (RULES.md §2), "ama" per code (§3), "ama-capped" per code, '
    "never above the CMS total.",
    "is_medicare": "Medicare rules: KX, CQ/CO, sequestration.",
    "pricing": '"mpfs", "per-unit" (unit_low..unit_high), "per-code" (per_code table), '
    '"percent-of-mpfs" (percent).',
    "participating": "false: non-participating, 95% of the fee, limiting charge 115% of that.",
    "unit_low": "Lowest rate per unit you expect.",
    "unit_high": "Highest rate per unit you expect.",
    "multiple_procedure_reduction": "50% of the PE of the 2nd and later units of indicator-5 codes "
    "(never 97129/97130). MPFS pricing only.",
    "assistant_rate": "Share paid for CQ/CO lines (Medicare: 0.85 from 2022).",
    "assistant_order": '"after-mppr" or "before-mppr" (open question, RULES.md §8).',
    "sequestration": "Cut of the payer's share (Medicare: 0.02).",
    "coinsurance": "Patient's share of the allowed amount, deductible met.",
    "requires_plan_of_care": "Flag visits without a plan of care (RULES.md §7).",
    "requires_discipline_modifiers": "Flag lines without GP/GO/GN (RULES.md §6).",
    "accepts_slp_cognitive": "false: flag 97129/97130 billed by SLPs.",
    "covered_diagnoses": 'ICD-10-CM prefixes covered, [] = any, e.g. ["S06", "I69.31"].',
    "tracks_kx": "Sum allowed amounts against the KX and review thresholds.",
}


def starter_profile(payer_id: str = "my-payer", *, base: str | None = "commercial") -> str:
    """A commented payer file to start from (for ``cognibill payers init``), written with tomli-w.

    ``base`` names a built-in profile whose values are shown (None: a per-unit profile).
    """
    import tomli_w

    if not re.match(_ID, payer_id):
        raise EntryError(
            f"payer id {payer_id!r}: use lower-case letters, digits, '-' and '_'",
            hint="For example: cognibill payers init acme-health",
        )
    start = _builtin_profiles().get(base or "commercial")
    if start is None:
        raise EntryError(f"no built-in profile {base!r}; built-ins: {', '.join(builtin_ids())}")
    fields: dict[str, object] = {"name": f"{payer_id} (edit me)", "note": ""}
    if base:
        fields["base"] = base
    fields |= {
        "unit_rule": start.unit_rule.value,
        "is_medicare": start.is_medicare,
        "pricing": start.pricing,
        "participating": start.participating,
    }
    if start.unit_low is not None and start.unit_high is not None:
        fields |= {"unit_low": start.unit_low, "unit_high": start.unit_high}
    fields |= {
        "multiple_procedure_reduction": start.multiple_procedure_reduction,
        "assistant_rate": start.assistant_rate,
        "assistant_order": start.assistant_order,
        "sequestration": start.sequestration,
        "coinsurance": start.coinsurance,
        "requires_plan_of_care": start.requires_plan_of_care,
        "requires_discipline_modifiers": start.requires_discipline_modifiers,
        "accepts_slp_cognitive": start.accepts_slp_cognitive,
        "covered_diagnoses": list(start.covered_diagnoses),
        "tracks_kx": start.tracks_kx,
    }
    body = tomli_w.dumps({"payer": {payer_id: fields}})
    out = [
        f"# cognibill payer profile {payer_id!r}. Use it with --payers FILE, ${PAYERS_ENV},",
        "# or save it as payers.toml in the cognibill config folder. Ids of built-ins",
        "# (medicare, commercial) override them field by field. Rates are fractions (0.20 = 20%).",
        "",
    ]
    for line in body.splitlines():
        key = re.match(_KEY, line)
        name = _split_key(key.group(1))[0] if key else None
        if name in _COMMENTS:
            out.append(f"# {_COMMENTS[name]}")
        out.append(line)
    out += [
        '# Price with the Medicare fee schedule instead (pricing = "mpfs"):',
        '# locality = "10112-00"   # MAC-locality id or a unique part of its name; omit = national',
        "# facility = false        # omit to decide by place of service",
        '# Or pricing = "percent-of-mpfs" with: percent = 110   # 110% of the MPFS',
        "",
        '# Contracted rates per unit (pricing = "per-code"):',
        f"# [payer.{payer_id}.per_code]",
        '# "97129" = 40.00',
        '# "97130" = 38.00',
        "",
        "# Most units paid per code per day (the CMS MUE for 97130 is open, RULES.md §5):",
        f"# [payer.{payer_id}.daily_caps]",
        '# "97130" = 4',
    ]
    return "\n".join(out) + "\n"

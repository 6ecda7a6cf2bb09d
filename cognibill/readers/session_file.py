"""Session files: TOML visits validated into the frozen models, every problem with its line.

A session file holds one or many ``[[visit]]`` tables, each with ``[[visit.service]]`` tables
(the format is documented in the template, ``cognibill.template``). ``tomllib`` reads the TOML and
pydantic validates each table against the models (``TypeAdapter`` honours the models'
``__pydantic_config__``, unknown keys forbidden). Every problem of a file is collected and raised
at once as one :class:`~cognibill.errors.InputError` whose ``problems`` are
``(line, field, reason)``. ``tomllib`` gives no positions, so :class:`_Positions` scans the text
for the line of every table, key and array item.

Bounds, so that a hostile or mistaken file is refused in bounded time and memory with a message
rather than an internal error: at most :data:`MAX_SESSION_BYTES` bytes (a session file is read
whole, and its parsed form takes about 30 times its size), and arrays and inline tables nested
at most :data:`MAX_NESTING` deep (checked by :func:`toml_nesting_problem` before ``tomllib``, which
recurses once per level). Every service states its minutes, and more than 0 (RULES.md §1, §11).
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import datetime as dt
import difflib
import os
import re
import sys
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from cognibill.engine.units import MAX_MINUTES, UNIT_MINUTES
from cognibill.errors import InputError
from cognibill.models import (
    PLACE_OF_SERVICE_HELP,
    Discipline,
    PlanOfCare,
    Provider,
    Service,
    Visit,
    is_place_of_service,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter

STDIN = "-"
"""The path that means standard input."""

STDIN_NAME = "<stdin>"

_Path = tuple[str | int, ...]
_Problem = tuple[int | None, str | None, str]
_T = TypeVar("_T")

_HINT = "`cognibill new` writes a commented template session file"

MAX_SESSION_BYTES = 8 * 1024 * 1024
"""The largest session file read (8 MiB, about 18,000 visits): a session file is read whole and
takes about 30 times its size in memory while it is checked. Larger runs come as CSV exports,
which are read in batches."""

MAX_NESTING = 32
"""Deepest nesting of arrays and inline tables in a TOML file (a session file needs 5:
``visit = [{ service = [{ modifiers = ["GN"] }] }]``)."""

_TOO_LARGE_HINT = (
    "split the visits over several session files, or bill a CSV export of them "
    "(`cognibill claim` reads exports of any size in batches)"
)

_INTERNAL = frozenset({"source", "line"})
"""Fields the reader fills in; a file may not set them."""


def _keys(
    model: type, *, drop: frozenset[str] = frozenset(), add: tuple[str, ...] = ()
) -> tuple[str, ...]:
    names = [f.name for f in dataclasses.fields(model) if f.name not in drop | _INTERNAL]
    return (*names, *add)


_VISIT_KEYS = _keys(Visit, drop=frozenset({"services"}), add=("service",))
_SERVICE_KEYS = _keys(Service)
_PROVIDER_KEYS = _keys(Provider)
_PLAN_KEYS = _keys(PlanOfCare)
_INT_KEYS = ("minutes", "assistant_minutes", "units_billed")
_DISCIPLINES = frozenset(d.value for d in Discipline)

_ALIASES = {
    "services": "service",
    "units": "units_billed",
    "mins": "minutes",
    "cpt": "code",
    "pos": "place_of_service",
    "dos": "date",
    "dx": "diagnoses",
    "diagnosis": "diagnoses",
    "modifier": "modifiers",
    "poc": "plan_of_care",
}
"""Keys people type for ours, for "did you mean"."""


# -- public API --------------------------------------------------------------------------------


def read_session_file(
    path: str | os.PathLike[str], *, name: str | None = None, stdin: BinaryIO | None = None
) -> list[Visit]:
    """The visits of one session file; ``-`` reads standard input (or ``stdin`` when given).

    ``name`` is how messages and ``Visit.source`` name the file (default: the path as given,
    ``<stdin>`` for ``-``). Raises :class:`InputError` with every problem found.
    """
    if os.fspath(path) == STDIN:
        stream = stdin if stdin is not None else sys.stdin.buffer
        shown = name or STDIN_NAME
        try:
            data = stream.read(MAX_SESSION_BYTES + 1)
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            raise _error(
                shown, [(None, None, f"cannot read the input: {reason}")], hint=None
            ) from None
        return read_session_text(data, shown)
    shown = name or os.fspath(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_SESSION_BYTES + 1)
    except FileNotFoundError:
        raise _error(shown, [(None, None, "no such file")], hint=None) from None
    except IsADirectoryError:
        raise _error(
            shown, [(None, None, "is a directory, not a session file")], hint=None
        ) from None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise _error(shown, [(None, None, f"cannot read the file: {reason}")], hint=None) from None
    return read_session_text(data, shown)


def read_session_text(data: str | bytes, name: str = STDIN_NAME) -> list[Visit]:
    """The visits of a session file's content (bytes must be UTF-8; a BOM is allowed)."""
    if len(data) > MAX_SESSION_BYTES:
        raise _error(name, [(None, None, _too_large())], hint=_TOO_LARGE_HINT)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _error(name, [_not_utf8(data, exc)]) from None
    else:
        text = data.removeprefix("\ufeff")
    try:
        document = load_toml(text)
        problems: list[_Problem] = []
        visits = _read_document(document, _Positions(text), name, problems)
    except TomlLimitError as exc:
        raise _error(name, [(exc.line, None, exc.reason)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise _error(name, [_syntax_problem(text, str(exc))]) from None
    except RecursionError:  # a backstop: load_toml bounds the nesting
        raise _error(name, [(None, None, _TOO_DEEP)]) from None
    if problems:
        raise _error(name, problems)
    return visits


def _too_large() -> str:
    return (
        f"larger than {MAX_SESSION_BYTES // (1024 * 1024)} MiB: too large for a session file "
        "(it is read whole)"
    )


# -- bounded TOML ------------------------------------------------------------------------------


class TomlLimitError(ValueError):
    """A TOML text beyond what is read: nested too deep, or a number too long."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


_LONG_NUMBER = re.compile(r"[0-9_]{4000,}")


def load_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads`` within bounds: :class:`TomlLimitError` (with the line) for arrays and
    inline tables nested more than :data:`MAX_NESTING` deep or an integer too long for Python
    to read (more than 4,300 digits); ``tomllib.TOMLDecodeError`` for a syntax error."""
    deep = toml_nesting_problem(text)
    if deep is not None:
        raise TomlLimitError(*deep)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        long = _LONG_NUMBER.search(text)
        line = None if long is None else text.count("\n", 0, long.start()) + 1
        raise TomlLimitError(line, "a number with more than 4,300 digits") from None


_TOO_DEEP = f"arrays and inline tables nested more than {MAX_NESTING} deep"
_SPECIAL = re.compile(r"""[\[\]{}#"']""")
_BASIC = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_LITERAL = re.compile(r"'[^'\n]*'")
_MULTI_BASIC = re.compile(r'"""(?:[^"\\]|\\.|""?(?!"))*"{3,5}', re.DOTALL)


def toml_nesting_problem(text: str, most: int = MAX_NESTING) -> tuple[int, str] | None:
    """``(line, reason)`` when arrays and inline tables of a TOML text nest more than ``most``
    deep, else None.

    One pass in linear time that skips comments and strings, so that brackets inside them do not
    count; ``tomllib`` (which recurses once per level, and would raise ``RecursionError`` after
    a few hundred) is called only on text that passes. A string that never closes ends the scan:
    ``tomllib`` reports it.
    """
    depth = 0
    pos = 0
    search = _SPECIAL.search
    while (found := search(text, pos)) is not None:
        at = found.start()
        c = text[at]
        if c in "[{":
            depth += 1
            if depth > most:
                return text.count("\n", 0, at) + 1, f"{_TOO_DEEP} ([ ] or {{ }} inside each other)"
            pos = at + 1
        elif c in "]}":
            depth = max(depth - 1, 0)
            pos = at + 1
        elif c == "#":
            end = text.find("\n", at)
            if end < 0:
                return None
            pos = end
        else:
            end = _string_end(text, at, c)
            if end < 0:
                return None
            pos = end
    return None


def _string_end(text: str, at: int, quote: str) -> int:
    """Where the string starting at ``at`` ends; the next line when it does not close on its
    line; -1 when a multi-line string never closes."""
    if text.startswith(quote * 3, at):
        if quote == "'":
            end = text.find("'''", at + 3)
            return -1 if end < 0 else end + 3
        multi = _MULTI_BASIC.match(text, at)
        return -1 if multi is None else multi.end()
    one = (_BASIC if quote == '"' else _LITERAL).match(text, at)
    if one is not None:
        return one.end()
    end = text.find("\n", at)
    return len(text) if end < 0 else end


# -- the document ------------------------------------------------------------------------------


def _read_document(
    document: dict[str, Any], where: _Positions, name: str, problems: list[_Problem]
) -> list[Visit]:
    for key in document:
        if key != "visit":
            if key in _VISIT_KEYS:
                reason = "belongs inside a [[visit]] table: put it after the [[visit]] line"
            else:
                reason = (
                    f"unknown key{_did_you_mean(key, ('visit',))}; the file holds [[visit]] tables"
                )
            problems.append((where.line((key,)), key, reason))
    raw = document.get("visit")
    if raw is None:
        problems.append((None, None, "no visits: the file has no [[visit]] table"))
        return []
    if not isinstance(raw, list):
        problems.append(
            (
                where.line(("visit",)),
                "visit",
                "write [[visit]] (double brackets), one table per visit",
            )
        )
        return []
    visits = []
    for i, item in enumerate(raw):
        base: _Path = ("visit", i)
        if not isinstance(item, dict):
            problems.append(
                (where.line(base), "visit", f"expected a [[visit]] table, got {_kind(item)}")
            )
            continue
        visit = _read_visit(item, base, where, name, problems)
        if visit is not None:
            visits.append(visit)
    if not raw:
        problems.append((where.line(("visit",)), "visit", "no visits: the array is empty"))
    return visits


def _read_visit(
    raw: dict[str, Any], base: _Path, where: _Positions, name: str, problems: list[_Problem]
) -> Visit | None:
    raw = _known(raw, _VISIT_KEYS, base, where, problems)
    for key, allowed in (("provider", _PROVIDER_KEYS), ("plan_of_care", _PLAN_KEYS)):
        if isinstance(raw.get(key), dict):
            raw[key] = _known(raw[key], allowed, (*base, key), where, problems)
    provider = raw.get("provider")
    if isinstance(provider, dict) and isinstance(provider.get("discipline"), str):
        discipline = provider["discipline"].strip().lower()
        if discipline in _DISCIPLINES:  # "SLP" is fine; messages show a bad value as written
            provider["discipline"] = discipline

    services: list[Service] = []
    raw_services = raw.pop("service", None)
    if raw_services is None or raw_services == []:
        problems.append(
            (where.line(base), "service", "a visit needs at least one [[visit.service]] table")
        )
    elif not isinstance(raw_services, list):
        problems.append(
            (
                where.line((*base, "service")),
                "service",
                "write [[visit.service]] (double brackets), one table per service",
            )
        )
    else:
        for j, raw_service in enumerate(raw_services):
            service = _read_service(raw_service, (*base, "service", j), where, problems)
            if service is not None:
                services.append(service)

    place = raw.get("place_of_service")
    if isinstance(place, str) and place.strip() and not is_place_of_service(place.strip()):
        problems.append(
            (
                where.line((*base, "place_of_service")),
                "place_of_service",
                f"{place!r} is not a 2-digit CMS code ({PLACE_OF_SERVICE_HELP})",
            )
        )
    raw.update(services=tuple(services), source=name, line=where.line(base))
    visit = _validate(_adapter(Visit), raw, base, where, problems)
    if visit is not None and not visit.patient:
        problems.append((where.line((*base, "patient")), "patient", "must not be empty"))
    return visit


def _read_service(
    raw: object, base: _Path, where: _Positions, problems: list[_Problem]
) -> Service | None:
    if not isinstance(raw, dict):
        problems.append((where.line(base), "service", f"expected a table, got {_kind(raw)}"))
        return None
    # "minute = 38" is reported as an unknown key (did you mean 'minutes'?), not twice.
    misspelt = any(_guess(k, _SERVICE_KEYS) == "minutes" for k in raw if k not in _SERVICE_KEYS)
    raw = _known(raw, _SERVICE_KEYS, base, where, problems)
    missing = "minutes" not in raw and not misspelt
    bad = _check_service_values(raw)
    if missing:
        bad.append(("minutes", f"required, but missing: {_MINUTES_DECIDE}"))
    problems.extend((where.line((*base, k)), _field((*base, k)), why) for k, why in bad)
    raw["line"] = where.line(base)
    service = _validate(_adapter(Service), raw, base, where, problems)
    return None if bad else service


_INTEGER = re.compile(r"[+-]?\d+")
_MOST_DIGITS = 18
"""Digits of the longest whole number read from text (minutes, units): any more is no count."""
_MOST_UNITS = MAX_MINUTES // UNIT_MINUTES
"""No service bills more units than a day of minutes holds."""

_MINUTES_DECIDE = (
    "the minutes of direct treatment with this code decide its units (RULES.md §1, §11)"
)
_NO_MINUTES = (
    "0 minutes: enter the minutes of direct treatment with this code, or delete the service "
    "(a service table is a code performed; 0 to 7 minutes earn no unit, RULES.md §1)"
)


def _check_service_values(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Normalise a service's values in place; the problems pydantic does not see, by key.

    Checked on the raw values so that they are reported even when another field is invalid.
    """
    bad: list[tuple[str, str]] = []
    if isinstance(raw.get("code"), str):
        raw["code"] = raw["code"].strip().upper()
        if not raw["code"]:
            bad.append(("code", "must not be empty"))
    modifiers = raw.get("modifiers")
    if isinstance(modifiers, list):
        raw["modifiers"] = [m.strip().upper() if isinstance(m, str) else m for m in modifiers]
    for key in _INT_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            if len(value.strip().lstrip("+-")) > _MOST_DIGITS:
                bad.append((key, f"{_show(value)} is not a plausible number"))
                continue
            raw[key] = value = int(value)
        if isinstance(value, bool):  # pydantic's lax mode would take true for 1 minute
            bad.append((key, f"expected a whole number, got {_show(value)}"))
        elif isinstance(value, int) and value < 0:
            bad.append((key, "cannot be negative"))
        elif key == "minutes" and isinstance(value, int) and value > MAX_MINUTES:
            bad.append((key, f"more than a day ({MAX_MINUTES} minutes)"))
        elif key == "minutes" and isinstance(value, int) and value == 0:
            bad.append((key, _NO_MINUTES))
        elif key == "assistant_minutes" and isinstance(value, int) and value > MAX_MINUTES:
            bad.append((key, f"more than a day ({MAX_MINUTES} minutes)"))
        elif key == "units_billed" and isinstance(value, int) and value > _MOST_UNITS:
            bad.append((key, f"more than a day of units ({_MOST_UNITS})"))
    minutes, assistant = raw.get("minutes", 0), raw.get("assistant_minutes", 0)
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (minutes, assistant))
    reported = {key for key, _ in bad}
    if ints and 0 <= minutes < assistant and not reported & {"minutes", "assistant_minutes"}:
        bad.append(("assistant_minutes", f"more than the service's {minutes} minutes"))
    for key, _ in bad:
        if key in _INT_KEYS:
            raw.pop(key, None)  # reported here; pydantic need not report it again
    return bad


def _known(
    raw: dict[str, Any],
    allowed: tuple[str, ...],
    base: _Path,
    where: _Positions,
    problems: list[_Problem],
) -> dict[str, Any]:
    """A copy of ``raw`` without its unknown keys, each reported with a "did you mean"."""
    out = {}
    for key, value in raw.items():
        if key in allowed:
            out[key] = value
        else:
            path = (*base, key)
            problems.append(
                (where.line(path), _field(path), f"unknown key{_did_you_mean(key, allowed)}")
            )
    return out


def _did_you_mean(key: str, allowed: tuple[str, ...]) -> str:
    guess = _guess(key, allowed)
    return f" (did you mean {guess!r}?)" if guess else ""


def _guess(key: str, allowed: tuple[str, ...]) -> str | None:
    if key in _INTERNAL:
        return None
    guess = _ALIASES.get(key.lower())
    if guess not in allowed:
        close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
        guess = close[0] if close else None
    return guess


# -- validation --------------------------------------------------------------------------------


@cache
def _adapter(model: type[_T]) -> TypeAdapter[_T]:
    from pydantic import TypeAdapter  # heavy: only when a session file is read

    return TypeAdapter(model)


def _validate(
    adapter: TypeAdapter[_T],
    raw: dict[str, Any],
    base: _Path,
    where: _Positions,
    problems: list[_Problem],
) -> _T | None:
    from pydantic import ValidationError

    try:
        return adapter.validate_python(raw)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            path = (*base, *err["loc"])
            problems.append((where.line(path), _field(path), _reason(err)))
        return None


def _field(path: _Path) -> str:
    """``visit[i].service[j].modifiers[k]`` as the user reads it: ``service.modifiers``."""
    return ".".join(p for p in path[2:] if isinstance(p, str)) or "visit"


def _item(path: _Path) -> str:
    """``item 2: `` when the problem is in an array item (1-based, as people count)."""
    return f"item {path[-1] + 1}: " if path and isinstance(path[-1], int) else ""


def _reason(err: Any) -> str:
    kind: str = err["type"]
    value = err.get("input")
    item = _item(tuple(err["loc"]))
    if kind == "missing":
        return "required, but missing"
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return "unknown key"
    if kind.startswith("int_"):
        return f"{item}expected a whole number, got {_show(value)}"
    if kind.startswith("bool_"):
        return f"{item}expected true or false, got {_show(value)}"
    if kind == "string_type":
        return f'{item}expected text in "quotes", got {_kind(value)}'
    if kind == "date_from_datetime_inexact":
        return f"{item}expected a date without a time of day, like 2026-03-02"
    if kind.startswith("date_"):
        detail = str((err.get("ctx") or {}).get("error", ""))
        if isinstance(value, str) and "outside expected range" in detail:
            return f"{item}not a real date: {_show(value)}"
        return f"{item}expected a date like 2026-03-02, got {_show(value)}"
    if kind == "enum":
        expected = str((err.get("ctx") or {}).get("expected", "")).replace("'", "")
        return f"{item}expected one of {expected}; got {_show(value)}"
    if kind in ("tuple_type", "list_type", "iterable_type"):
        return f'expected an array such as ["…"], got {_kind(value)}'
    if kind.startswith(("dataclass_", "model_", "dict_")):
        return f"expected a table, got {_kind(value)}"
    return f"{item}{str(err['msg']).lower()}"


def _kind(value: object) -> str:
    """What a TOML value is, without echoing it (it may be patient data)."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "true/false"),
        ((int, float), "a number"),
        (str, "text"),
        (dt.datetime, "a date and time"),
        (dt.date, "a date"),
        (dt.time, "a time"),
        (list, "an array"),
        (dict, "a table"),
    ]
    return next((name for t, name in kinds if isinstance(value, t)), type(value).__name__)


def _show(value: object, limit: int = 20) -> str:
    """The user's own bad value, short: enough to find it, never a whole record."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)[:limit]
    if isinstance(value, str):
        return '"' + (value if len(value) <= limit else value[: limit - 1] + "…") + '"'
    return _kind(value)


# -- text-level problems -----------------------------------------------------------------------


def _not_utf8(data: bytes, exc: UnicodeDecodeError) -> _Problem:
    line = data.count(b"\n", 0, exc.start) + 1
    column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
    byte = data[exc.start]
    return (
        line,
        None,
        f"not UTF-8 text (byte 0x{byte:02x} at column {column}); save the file as UTF-8",
    )


_AT = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
_KEY_LINE = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=\s*")
_BARE_WORD = re.compile(r"[A-Za-z]")
_DATE_LIKE = re.compile(r"\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")


def _syntax_problem(text: str, message: str) -> _Problem:
    """A tomllib error as ``(line, key, reason)``, with a hint for the usual slips."""
    at = _AT.search(message)
    what = message[: at.start()] if at else message
    what = what[:1].lower() + what[1:]
    lines = text.splitlines()
    if at and at.group(1):
        line, column = int(at.group(1)), int(at.group(2))
    else:
        line, column = max(len(lines), 1), None
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    key = _KEY_LINE.match(source)
    field = key.group(1) if key and (column is None or column > key.end(1)) else None
    value = source[key.end() :] if key else ""
    hint = ""
    if "date" in what:
        hint = " (not a real date?)"
    elif _DATE_LIKE.match(value):
        hint = " (dates are written 2026-03-02, without quotes)"
    elif what.startswith("invalid value") and _BARE_WORD.match(value):
        hint = ' (text goes in "quotes")'
    elif what == "illegal character '\\n'":
        hint = " (a closing quote is missing?)"
    where = f" at column {column}" if column else ""
    return (line, field, f"TOML syntax error{where}: {what}{hint}")


def _error(name: str, problems: list[_Problem], hint: str | None = _HINT) -> InputError:
    from cognibill.entries import escape_controls  # keys and values are the file's own text

    name = escape_controls(name)
    problems = [
        (line, None if field is None else escape_controls(field), escape_controls(reason))
        for line, field, reason in problems
    ]
    ordered = tuple(sorted(problems, key=lambda p: (p[0] is None, p[0] or 0)))
    if len(ordered) == 1:
        line, field, reason = ordered[0]
        return InputError(name, reason, line=line, column=field, hint=hint, problems=ordered)
    return InputError(
        name, f"{len(ordered)} problems in the session file", hint=hint, problems=ordered
    )


# -- where things are --------------------------------------------------------------------------


class _Positions:
    """The line of every table, key and array item of a TOML text that tomllib has accepted.

    Paths are as in the parsed document: ``("visit", 1, "service", 0, "minutes")``. Arrays of
    tables are counted per parent, so each visit's services start at 0. A path that is not found
    (a missing key) falls back to its nearest recorded parent: the table that lacks it.
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")
    _SCALAR = re.compile(r"[^,\]}\n#]*")

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self._lines: dict[_Path, int] = {}
        self._counts: dict[_Path, int] = {}
        # tomllib accepted the text, so the scan cannot fail; if it ever does, the lines found so
        # far still serve: positions make messages better and must never hide the problems.
        with contextlib.suppress(IndexError, ValueError):
            self._document()

    def line(self, path: _Path) -> int | None:
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None

    def _record(self, path: _Path, pos: int) -> None:
        line = bisect.bisect_left(self._newlines, pos) + 1
        for end in range(1, len(path) + 1):
            self._lines.setdefault(path[:end], line)

    def _skip(self) -> None:
        """Whitespace, newlines and comments."""
        text, n = self._text, len(self._text)
        while self._pos < n:
            c = text[self._pos]
            if c in " \t\r\n":
                self._pos += 1
            elif c == "#":
                end = text.find("\n", self._pos)
                self._pos = n if end < 0 else end
            else:
                return

    def _document(self) -> None:
        text = self._text
        table: _Path = ()
        while True:
            self._skip()
            if self._pos >= len(text):
                return
            start = self._pos
            if text[start] == "[":
                many = text.startswith("[[", start)
                self._pos += 2 if many else 1
                table = self._header(self._key(), many)
                self._record(table, start)
                self._pos = text.index("]", self._pos) + (2 if many else 1)
            else:
                self._pair(table)

    def _header(self, keys: list[str], many: bool) -> _Path:
        path: _Path = ()
        for i, key in enumerate(keys):
            path = (*path, key)
            if many and i == len(keys) - 1:
                index = self._counts.get(path, 0)
                self._counts[path] = index + 1
                path = (*path, index)
            elif path in self._counts:
                path = (*path, self._counts[path] - 1)
        return path

    def _pair(self, table: _Path) -> None:
        start = self._pos
        path = (*table, *self._key())
        self._pos = self._text.index("=", self._pos) + 1
        self._record(path, start)
        self._value(path)

    def _key(self) -> list[str]:
        text = self._text
        parts = []
        while True:
            while text[self._pos] in " \t":
                self._pos += 1
            c = text[self._pos]
            if c == '"':
                start = self._pos
                self._basic_string()
                parts.append(str(tomllib.loads("k = " + text[start : self._pos])["k"]))
            elif c == "'":
                end = text.index("'", self._pos + 1)
                parts.append(text[self._pos + 1 : end])
                self._pos = end + 1
            else:
                match = self._BARE.match(text, self._pos)
                if match is None:
                    raise ValueError("no key")
                parts.append(match.group())
                self._pos = match.end()
            while self._pos < len(text) and text[self._pos] in " \t":
                self._pos += 1
            if text[self._pos] != ".":
                return parts
            self._pos += 1

    def _value(self, path: _Path) -> None:
        text = self._text
        while text[self._pos] in " \t":
            self._pos += 1
        c = text[self._pos]
        if text.startswith(('"""', "'''"), self._pos):
            self._multiline_string(text[self._pos] * 3)
        elif c == '"':
            self._basic_string()
        elif c == "'":
            self._pos = text.index("'", self._pos + 1) + 1
        elif c == "[":
            self._items(path, "]", self._array_item)
        elif c == "{":
            self._items(path, "}", self._inline_pair)
        else:
            match = self._SCALAR.match(text, self._pos)
            assert match is not None  # the pattern matches the empty string
            self._pos = match.end()

    def _items(self, path: _Path, close: str, one: Callable[[_Path, int], None]) -> None:
        self._pos += 1
        index = 0
        while True:
            self._skip()
            if self._text[self._pos] == close:
                self._pos += 1
                return
            one(path, index)
            index += 1
            self._skip()
            if self._text[self._pos] == ",":
                self._pos += 1

    def _array_item(self, path: _Path, index: int) -> None:
        self._record((*path, index), self._pos)
        self._value((*path, index))

    def _inline_pair(self, path: _Path, index: int) -> None:
        self._pair(path)

    def _basic_string(self) -> None:
        text = self._text
        self._pos += 1
        while text[self._pos] != '"':
            self._pos += 2 if text[self._pos] == "\\" else 1
        self._pos += 1

    def _multiline_string(self, quotes: str) -> None:
        text = self._text
        self._pos += 3
        while not text.startswith(quotes, self._pos):
            self._pos += 2 if quotes == '"""' and text[self._pos] == "\\" else 1
        self._pos += 3
        # Up to two more quotes right before the closing ones belong to the string.
        for _ in range(2):
            if self._pos < len(text) and text[self._pos] == quotes[0]:
                self._pos += 1

"""Which ledger a command uses: ``--no-ledger``, ``--ledger``, ``$COGNIBILL_LEDGER``, config."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cognibill.errors import InputError

LEDGER_ENV = "COGNIBILL_LEDGER"
"""The environment variable naming the ledger file."""

CONFIG_KEY = "ledger"
"""The user config file's setting naming the ledger file: ``ledger = "~/billing/2026.ledger"``."""


def user_config_path() -> Path:
    """cognibill's user config file: ``config.toml`` in the user config directory (on Linux
    ``$XDG_CONFIG_HOME/cognibill/config.toml``, else ``~/.config/cognibill/config.toml``),
    next to the user payer file ``payers.toml``."""
    from cognibill.payers import user_config_file

    return user_config_file().parent / "config.toml"


def load_user_config(path: Path | None = None) -> dict[str, Any] | None:
    """The user config file's settings (``path``, else :func:`user_config_path`); None when
    there is no such file. A file that is not TOML is an ``InputError``."""
    chosen = user_config_path() if path is None else path
    try:
        text = chosen.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(chosen), f"cannot read the config file: {_why(exc)}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(chosen), f"not a TOML file: {exc}") from None


def resolve_ledger_path(
    option: Path | None,
    no_ledger: bool,
    env: Mapping[str, str],
    config: Mapping[str, Any] | None,
) -> Path | None:
    """The ledger in force, first found of: ``--no-ledger`` (None), ``--ledger PATH``,
    ``$COGNIBILL_LEDGER``, the ``ledger`` setting of the user config file; None when none
    says (the ledger is opt-in: it stores patient data). ``~`` is expanded; an empty variable
    or setting counts as unset; a relative setting is relative to the config file's folder.
    A ``ledger`` setting that is not a string is an ``InputError``.
    """
    if no_ledger:
        return None
    if option is not None:
        return option.expanduser()
    named = env.get(LEDGER_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    if config is None:
        return None
    setting = config.get(CONFIG_KEY)
    if setting is None:
        return None
    if not isinstance(setting, str):
        raise InputError(str(user_config_path()), f"{CONFIG_KEY}: expected a file name in quotes")
    if not setting.strip():
        return None
    chosen = Path(setting.strip()).expanduser()
    return chosen if chosen.is_absolute() else user_config_path().parent / chosen


def _why(exc: OSError | UnicodeDecodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return (exc.strerror or str(exc)).lower()

"""The claims ledger: a biller's year across runs, in one SQLite file (issue 12).

Opt-in, as it stores patient data. The file is created mode 0600 (its ``-wal`` and ``-shm``
too), uses write-ahead logging and STRICT tables, and carries its schema version in
``PRAGMA user_version`` (migrations: ``cognibill.ledger.schema.MIGRATIONS``, all pending ones
applied in one transaction; a newer ledger is refused). Nothing here prints or logs, and no
error message quotes a patient's data. Money is integer cents.

API (the pure core: no typer, no rich)::

    resolve_ledger_path(option: Path | None, no_ledger: bool, env: Mapping[str, str],
                        config: Mapping[str, Any] | None) -> Path | None
        # --no-ledger > --ledger PATH > $COGNIBILL_LEDGER > `ledger = "…"` in the user
        # config file (load_user_config(); user_config_path(): config.toml next to payers.toml)
    open_ledger(path, *, create=True, timeout=10.0) -> Ledger      # a context manager
    Ledger.record_run(run: RunRecord, lines: pl.DataFrame,
                      replace_visits: pl.DataFrame | None = None, *, keep_empty=False)
        -> RecordResult(run_id, added, duplicates, replaced, left_out)
    Ledger.prior_lines(patients: Sequence[str], years: Sequence[int]) -> pl.DataFrame  # PRIOR
    Ledger.billed_before(keys: pl.DataFrame) -> pl.DataFrame                          # BILLED
    Ledger.year_to_date(patient, year, *, tracked=None, limits=None) -> YearToDate
    Ledger.void(run_id: int) -> int          # lines removed
    Ledger.seed(rows: Sequence[SeedRow]) -> SeedResult(added, updated, unchanged)
    Ledger.runs() -> pl.DataFrame             # RUNS
    Ledger.export() -> LedgerExport(runs, lines, seeds)
    parse_seed_csv(text: str, name: str) -> list[SeedRow]
    digest_input(path) -> RunInput            # sha256 and size of an input file

``record_run`` is one ``BEGIN IMMEDIATE`` transaction (run, inputs, replaced visits' deletion,
lines): an exception or a signal before COMMIT, or a killed process, leaves the file as it was.
Lines equal in every billed column to lines already in the ledger are skipped, so recording the
same run twice changes nothing (the caller may also leave out the lines ``billed_before``
found); a run that adds and replaces nothing is not kept. A second writer waits ``timeout``
seconds, then gets an ``OutputError`` (exit 5); a damaged or foreign file is an ``InputError``
(exit 3).
"""

from cognibill.ledger.paths import (
    CONFIG_KEY,
    LEDGER_ENV,
    load_user_config,
    resolve_ledger_path,
    user_config_path,
)
from cognibill.ledger.seeds import SeedRow, parse_seed_csv
from cognibill.ledger.store import (
    BILLED,
    GROUPS,
    LEDGER_LINE,
    PRIOR,
    RUNS,
    SEEDS,
    GroupToDate,
    Ledger,
    LedgerExport,
    RecordResult,
    RunInput,
    RunRecord,
    SeedResult,
    YearToDate,
    digest_input,
    open_ledger,
)

__all__ = [
    "BILLED",
    "CONFIG_KEY",
    "GROUPS",
    "LEDGER_ENV",
    "LEDGER_LINE",
    "PRIOR",
    "RUNS",
    "SEEDS",
    "GroupToDate",
    "Ledger",
    "LedgerExport",
    "RecordResult",
    "RunInput",
    "RunRecord",
    "SeedResult",
    "SeedRow",
    "YearToDate",
    "digest_input",
    "load_user_config",
    "open_ledger",
    "parse_seed_csv",
    "resolve_ledger_path",
    "user_config_path",
]

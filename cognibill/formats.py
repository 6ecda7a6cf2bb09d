"""The one output-format enum shared by every command that prints results."""

from enum import StrEnum


class OutputFormat(StrEnum):
    """How results are printed: a Rich table for people, or a machine twin."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    NDJSON = "ndjson"

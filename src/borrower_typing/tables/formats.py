"""File formats by extension; ``DataError`` (from ``errors``) is what every reader and writer raises."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError

__all__ = ["FORMATS", "SPREADSHEET_FORMATS", "TEXT_FORMATS", "DataError", "os_error_line", "table_format"]

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
TEXT_FORMATS = ("csv", "jsonl")
SPREADSHEET_FORMATS = ("csv", "xlsx")


def table_format(path: str | Path) -> str:
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}")
    return fmt


def os_error_line(path: str | Path, exc: OSError, doing: str) -> str:
    """One line for an anticipated OS failure (no space, no permission, missing folder), naming the path."""
    reason = exc.strerror or type(exc).__name__
    return f"{path}: cannot {doing}: {reason}"

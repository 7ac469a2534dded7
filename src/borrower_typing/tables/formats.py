"""File formats by extension, and the error every reader and writer raises for a file it cannot use."""

from __future__ import annotations

from pathlib import Path

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


class DataError(ValueError):
    """A file that cannot be used as given; the message names the file and the line, column or field."""


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

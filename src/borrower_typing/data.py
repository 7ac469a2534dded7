"""Reading and writing tables; the code lives in the ``tables`` package (readers, writers, atomic output).

Kept as the stable import path for the rest of the package.
"""

from __future__ import annotations

from pathlib import Path

from .tables import (
    FORMATS,
    SPREADSHEET_FORMATS,
    TEXT_FORMATS,
    DataError,
    TableWriter,
    choose_sep,
    detect_encoding,
    encode_rows,
    guard_formula,
    iter_table,
    note_texts,
    read_table,
    sheet_hint,
    table_format,
    write_table,
    xlsx_sheets,
)
from .tables.readers import NO_SEP
from .tables.writers import ILLEGAL_XLSX_RE

__all__ = [
    "FORMATS",
    "ILLEGAL_XLSX_RE",
    "SPREADSHEET_FORMATS",
    "TEXT_FORMATS",
    "DataError",
    "TableWriter",
    "choose_sep",
    "detect_encoding",
    "encode_rows",
    "guard_formula",
    "iter_table",
    "note_texts",
    "read_table",
    "sheet_hint",
    "table_format",
    "write_table",
    "xlsx_sheets",
]


def _csv_sep(path: Path, encoding: str, sep: str | None = None) -> str:
    """The delimiter for engines that take a separator but cannot read one column safely (Spark)."""
    sep = choose_sep(path, encoding, sep)
    return "," if sep == NO_SEP else sep


def _excel_cell(value: object) -> object:
    """A cell openpyxl accepts (for workbooks written cell by cell, as the labelling tasks): control characters
    as spaces, at most Excel's 32,767 characters."""
    if isinstance(value, str):
        value = ILLEGAL_XLSX_RE.sub(" ", value)[:32_767]
    return value

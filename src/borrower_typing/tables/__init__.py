"""Reading and writing tables: CSV/TSV (UTF-8, GB18030, UTF-16 with BOM), Excel, Parquet and JSON Lines.

``readers`` stream chunks and refuse what they cannot read faithfully (naming line, row and column);
``writers`` write through ``atomic`` (a unique temporary file published without replacing a file that
appeared meanwhile) and neutralise spreadsheet formulas. Nothing here knows about models.
"""

from .formats import FORMATS, SPREADSHEET_FORMATS, TEXT_FORMATS, DataError, table_format
from .readers import choose_sep, detect_encoding, iter_table, note_texts, read_table, sheet_hint, xlsx_sheets
from .writers import TableWriter, encode_rows, guard_formula, write_table

__all__ = [
    "FORMATS",
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

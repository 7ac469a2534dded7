"""Writing one output table through ``atomic.AtomicFile``, values as they came in.

- CSV and .xlsx are opened by spreadsheets: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading ``'`` (the OWASP rule against formula injection), so it is shown, never
  run. A plain number written as text (``-12.5``) cannot run and is left alone. ``formula_guard=False``
  turns this off for outputs only programs read. Parquet and JSON Lines are never changed.
- Integers stay integers (nullable Parquet columns keep their Arrow type); Excel keeps only 15 significant
  digits, so an .xlsx gets longer integers as text, every digit kept. A Parquet column whose cells mix
  types (possible from JSON Lines or Excel) is written as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import AtomicFile
from .formats import SPREADSHEET_FORMATS, TEXT_FORMATS, DataError, os_error_line, table_format

ILLEGAL_XLSX_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
EXCEL_MAX_ROWS = 1_048_575
EXCEL_DIGITS = 15


def guard_formula(value: object) -> object:
    """``'`` before a text cell a spreadsheet would take for a formula; every other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER_RE.fullmatch(value):
        return "'" + value
    return value


def _guarded(df: pd.DataFrame) -> pd.DataFrame:
    cols = {c: df[c].map(guard_formula) for c in df.columns if _texts(df[c])}
    return df.assign(**cols) if cols else df


def _texts(column: pd.Series) -> bool:
    return column.dtype == object or isinstance(column.dtype, pd.StringDtype)


def encode_rows(df: pd.DataFrame, fmt: str, encoding: str = "utf-8-sig", formula_guard: bool = True) -> bytes:
    """Rows of a CSV or JSON Lines output as bytes, without header or byte-order mark: what a worker process
    hands back, so that the process writing the file only appends bytes."""
    if fmt == "csv":
        frame = _guarded(df) if formula_guard else df
        return frame.to_csv(index=False, header=False, lineterminator="\r\n").encode(_no_bom(encoding))
    if fmt == "jsonl":
        # json.dumps, not DataFrame.to_json: that rounds floats to 10 digits and overflows beyond int64
        lines = [json.dumps(r, ensure_ascii=False, default=_json_value) for r in _records(df)]
        return "".join(line + "\n" for line in lines).encode("utf-8")
    raise ValueError(f"rows of {fmt} cannot be pre-encoded")


def _records(df: pd.DataFrame) -> list[dict]:
    cols = list(df.columns)
    return [dict(zip(cols, map(_plain, row), strict=True)) for row in df.itertuples(index=False, name=None)]


def _plain(value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_value(value: object) -> object:
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _no_bom(encoding: str) -> str:
    return "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding


class TableWriter:
    """Appends chunks to one output file of the format its extension names; see ``atomic`` for how the file
    comes to exist. Use as a context manager: an exception discards everything written."""

    def __init__(
        self, path: str | Path, encoding: str = "utf-8-sig", overwrite: bool = False, formula_guard: bool = True
    ):
        self.path = Path(path)
        self.fmt = table_format(self.path)
        self.encoding = encoding
        self.formula_guard = formula_guard and self.fmt in SPREADSHEET_FORMATS
        self.rows = 0
        self._out = AtomicFile(self.path, overwrite=overwrite)
        self._started = False
        self._writer = None

    @property
    def tmp(self) -> Path:
        return self._out.tmp

    def write(self, df: pd.DataFrame) -> None:
        if self.fmt in TEXT_FORMATS:
            payload = encode_rows(df, self.fmt, self.encoding, self.formula_guard)
            self.write_encoded(payload, list(df.columns), len(df))
        elif self.fmt == "parquet":
            self._io(self._write_parquet, df)
        else:
            self._io(self._write_xlsx, df)

    def write_encoded(self, payload: bytes, columns: list[str], rows: int) -> None:
        """Append rows already encoded by ``encode_rows`` (CSV and JSON Lines only)."""
        self._io(self._append, payload, columns, rows)

    def _io(self, fn, *args) -> None:
        try:
            fn(*args)
        except OSError as exc:  # disk full, quota, I/O error: one line naming the file
            raise DataError(os_error_line(self.path, exc, "write")) from exc

    def _append(self, payload: bytes, columns: list[str], rows: int) -> None:
        handle = self._out.handle
        if not self._started:
            self._started = True
            if self.fmt == "csv":
                names = [guard_formula(str(c)) if self.formula_guard else str(c) for c in columns]
                header = pd.DataFrame(columns=names).to_csv(index=False, lineterminator="\r\n")
                handle.write(header.encode(self.encoding))  # with the BOM, if the encoding has one
        handle.write(payload)
        self.rows += rows

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            table = _arrow_table(df)
            # a column that is empty in the first chunk must still take text in later ones
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self._schema = pa.schema(fields)
            self._writer = pq.ParquetWriter(self._out.handle, self._schema)
            self._started = True
        self._writer.write_table(_arrow_table(df, self._schema))
        self.rows += len(df)

    def _write_xlsx(self, df: pd.DataFrame) -> None:
        if self.rows + len(df) > EXCEL_MAX_ROWS:
            raise DataError(f"{self.path}: more than Excel's {EXCEL_MAX_ROWS:,} data rows; write .csv or .parquet")
        if self._writer is None:
            import openpyxl

            self._writer = openpyxl.Workbook(write_only=True)
            self._sheet = self._writer.create_sheet()
            self._sheet.append([self._excel(str(c)) for c in df.columns])
            self._started = True
        for row in df.itertuples(index=False, name=None):
            self._sheet.append([self._excel(v) for v in row])
        self.rows += len(df)

    def _excel(self, value: object) -> object:
        value = _plain(value)
        if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) > EXCEL_DIGITS:
            value = str(value)
        elif isinstance(value, decimal.Decimal | bytes | list | dict):
            value = _json_value(value) if not isinstance(value, list | dict) else json.dumps(value, ensure_ascii=False)
        elif isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.isoformat()  # Excel has no time zones; the text keeps the offset
        if isinstance(value, str):
            # Excel cells hold at most 32,767 characters; control characters make openpyxl refuse the row.
            value = ILLEGAL_XLSX_RE.sub(" ", value)[:32_767]
            if self.formula_guard:
                value = guard_formula(value)
        return value

    def close(self) -> Path:
        if not self._started:
            self._out.discard()
            raise DataError(f"{self.path}: nothing to write (no header and no rows)")
        sink = _Detachable(self._out.handle)
        try:
            if self.fmt == "xlsx":
                self._writer.save(sink)
            elif self.fmt == "parquet":
                self._writer.close()
        except OSError as exc:
            sink.detach()
            self._out.discard()
            raise DataError(os_error_line(self.path, exc, "write")) from exc
        except BaseException:
            sink.detach()
            self._out.discard()
            raise
        return self._out.publish()

    def abort(self) -> None:
        if self.fmt == "parquet" and self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        elif self.fmt == "xlsx" and self._writer is not None:
            _drop_sheet(self._sheet)
        self._out.discard()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _drop_sheet(sheet) -> None:
    """End a write-only sheet that will never be saved and remove its temporary file now, not at exit (these
    are openpyxl internals, hence every step guarded)."""
    try:
        if sheet._rows is not None:
            sheet._rows.close()
        sheet._writer.close()
        sheet._writer.cleanup()
    except Exception:
        pass


class _Detachable:
    """The file handed to openpyxl's zip writer. A failed save leaves that writer unclosed; when it is
    collected it would write to the removed file and print a second traceback. Detached, it only counts."""

    def __init__(self, handle):
        self._handle = handle
        self._pos = 0

    def detach(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError, ValueError):
                self._pos = self._handle.tell()
            self._handle = None

    def write(self, data) -> int:
        if self._handle is not None:
            return self._handle.write(data)
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        if self._handle is not None:
            return self._handle.seek(offset, whence)
        self._pos = offset if whence == 0 else self._pos + offset
        return self._pos

    def tell(self) -> int:
        return self._handle.tell() if self._handle is not None else self._pos

    def seekable(self) -> bool:
        return True

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()


def _arrow_table(df: pd.DataFrame, schema=None):
    """``df`` as Arrow; an object column whose cells mix types (or exceed int64) becomes text, digits kept."""
    import pyarrow as pa

    columns = {}
    for name in df.columns:
        values = df[name]
        target = schema.field(name).type if schema is not None else None
        try:
            columns[name] = pa.array(values, type=target, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            if target is not None and not pa.types.is_string(target):
                raise DataError(
                    f"column {name!r}: the first rows held {target}, later rows something else; write .csv or .jsonl"
                ) from None
            texts = [None if _plain(v) is None else _text(v) for v in values.tolist()]
            columns[name] = pa.array(texts, type=pa.string())
    table = pa.table(columns)
    return table if schema is None else table.cast(schema)


def _text(value: object) -> str:
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=_json_value)
    return value if isinstance(value, str) else str(value)


def write_table(
    df: pd.DataFrame, path: str | Path, overwrite: bool = True, encoding: str = "utf-8-sig", formula_guard: bool = True
) -> Path:
    with TableWriter(path, encoding=encoding, overwrite=overwrite, formula_guard=formula_guard) as writer:
        writer.write(df)
    return Path(path)

"""Reading and writing tables: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK), Excel, Parquet and JSON Lines.

Readers stream in chunks so that a million-row export never sits in memory at once; every chunk keeps the
file's row numbers, so errors and outputs can point at the exact line. Nothing here knows about models.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from .errors import DataError

__all__ = ["DataError"]  # re-exported: callers import it from here

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
}
FORMATS[".pq"] = "parquet"
FORMATS[".ndjson"] = "jsonl"
ILLEGAL_XLSX_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def table_format(path: str | Path) -> str:
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}")
    return fmt


def detect_encoding(path: str | Path, sample_bytes: int = 1 << 20) -> str:
    """``utf-8-sig`` when the sample is valid UTF-8 (with or without BOM), else ``gb18030`` when that
    decodes it, else an error naming the byte offset. GB18030 is a superset of GBK and GB2312."""
    path = Path(path)
    with path.open("rb") as fh:
        sample = fh.read(sample_bytes)
        truncated = bool(fh.read(1))
    try:
        sample.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is not a reason to give up on UTF-8.
        if truncated and exc.start >= len(sample) - 3:
            return "utf-8-sig"
        utf8_error = exc
    try:
        sample.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise DataError(
            f"{path}: neither UTF-8 nor GB18030/GBK (first bad byte at offset {utf8_error.start}); pass --encoding"
        ) from None


def _csv_sep(path: Path, encoding: str) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        head = fh.read(64 * 1024)
    try:
        return csv.Sniffer().sniff(head, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def iter_table(
    path: str | Path,
    chunk_size: int = 20_000,
    encoding: str | None = None,
    columns: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Chunks of the table as string-typed DataFrames; the index is the 1-based data row number."""
    path = Path(path)
    fmt = table_format(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    start = 1
    for chunk in _raw_chunks(path, fmt, chunk_size, encoding):
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        start += len(chunk)
        if columns is not None:
            missing = [c for c in columns if c not in chunk.columns]
            if missing:
                raise DataError(f"{path}: no column {', '.join(map(repr, missing))}; columns are {list(chunk.columns)}")
        yield chunk


def _raw_chunks(path: Path, fmt: str, chunk_size: int, encoding: str | None) -> Iterator[pd.DataFrame]:
    if fmt == "csv":
        enc = encoding or detect_encoding(path)
        sep = _csv_sep(path, enc)
        try:
            reader = pd.read_csv(
                path,
                sep=sep,
                encoding=enc,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                chunksize=chunk_size,
                encoding_errors="strict",
                engine="c",
            )
            for chunk in reader:
                yield _as_strings(chunk)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: cannot decode as {enc} ({exc.reason} at byte {exc.start}); pass --encoding"
            ) from exc
        except pd.errors.ParserError as exc:
            raise DataError(f"{path}: malformed CSV: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise DataError(f"{path}: the file is empty (no header row)") from exc
    elif fmt == "xlsx":
        yield from _xlsx_chunks(path, chunk_size)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as exc:
            raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
        for batch in pf.iter_batches(batch_size=chunk_size):
            yield _as_strings(batch.to_pandas())
    elif fmt == "jsonl":
        try:
            for chunk in pd.read_json(
                path, lines=True, chunksize=chunk_size, dtype=False, encoding=encoding or "utf-8"
            ):
                yield _as_strings(chunk)
        except ValueError as exc:
            raise DataError(f"{path}: malformed JSON Lines: {exc}") from exc


def _cell(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell a string or None, whatever the format: a number in a note column stays a note, and a
    missing cell is None everywhere (not NaN in one reader and None in another)."""
    return pd.DataFrame({col: [_cell(v) for v in df[col].tolist()] for col in df.columns}, index=df.index, dtype=object)


def _xlsx_chunks(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        rows = wb.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise DataError(f"{path}: the first sheet is empty (no header row)")
        names = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        buf: list[tuple] = []
        for row in rows:
            buf.append(tuple(row[: len(names)]) + (None,) * (len(names) - len(row)))
            if len(buf) >= chunk_size:
                yield _as_strings(pd.DataFrame(buf, columns=names))
                buf = []
        if buf:
            yield _as_strings(pd.DataFrame(buf, columns=names))
    finally:
        wb.close()


def read_table(path: str | Path, encoding: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """The whole table (for labelled training data, which is small)."""
    chunks = list(iter_table(path, chunk_size=200_000, encoding=encoding, columns=columns))
    if not chunks:
        header = next(iter_table(path, 1, encoding), None)
        return header if header is not None else pd.DataFrame(columns=columns or [])
    return pd.concat(chunks)


TEXT_FORMATS = ("csv", "jsonl")


def encode_rows(df: pd.DataFrame, fmt: str, encoding: str = "utf-8-sig") -> bytes:
    """Rows of a CSV or JSON Lines output as bytes, without header or byte-order mark: what a worker process
    hands back, so that the process writing the file only appends bytes."""
    if fmt == "csv":
        return df.to_csv(index=False, header=False, lineterminator="\r\n").encode(_no_bom(encoding))
    if fmt == "jsonl":
        return df.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8") if len(df) else b""
    raise ValueError(f"rows of {fmt} cannot be pre-encoded")


def _no_bom(encoding: str) -> str:
    return "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding


class TableWriter:
    """Appends chunks to one output file of the format its extension names.

    Writes to a temporary sibling and renames on ``close``, so a failed job never leaves a partial output.
    """

    def __init__(self, path: str | Path, encoding: str = "utf-8-sig", overwrite: bool = False):
        self.path = Path(path)
        self.fmt = table_format(self.path)
        if self.path.exists() and not overwrite:
            raise DataError(f"{self.path}: already exists; pass --overwrite to replace it")
        self.encoding = encoding
        self.tmp = self.path.with_name(f".{self.path.name}.partial")
        self.rows = 0
        self._handle = None

    def write(self, df: pd.DataFrame) -> None:
        if self.fmt in TEXT_FORMATS:
            self.write_encoded(encode_rows(df, self.fmt, self.encoding), list(df.columns), len(df))
        elif self.fmt == "parquet":
            self._write_parquet(df)
        else:
            self._write_xlsx(df)

    def write_encoded(self, payload: bytes, columns: list[str], rows: int) -> None:
        """Append rows already encoded by ``encode_rows`` (CSV and JSON Lines only)."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.tmp.open("wb")
            if self.fmt == "csv":
                header = pd.DataFrame(columns=columns).to_csv(index=False, lineterminator="\r\n")
                self._handle.write(header.encode(self.encoding))  # with the BOM, if the encoding has one
        self._handle.write(payload)
        self.rows += rows

    def _write_parquet(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pandas(df, preserve_index=False)
            # a column that is empty in the first chunk must still take text in later ones
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self._schema = pa.schema(fields)
            self._handle = pq.ParquetWriter(self.tmp, self._schema)
        self._handle.write_table(pa.Table.from_pandas(df, schema=self._schema, preserve_index=False))
        self.rows += len(df)

    def _write_xlsx(self, df: pd.DataFrame) -> None:
        if self.rows + len(df) > 1_048_575:
            raise DataError(f"{self.path}: more than Excel's 1,048,575 data rows; write .csv or .parquet")
        if self._handle is None:
            import openpyxl

            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = openpyxl.Workbook(write_only=True)
            self._sheet = self._handle.create_sheet()
            self._sheet.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False, name=None):
            self._sheet.append([_excel_cell(v) for v in row])
        self.rows += len(df)

    def close(self) -> Path:
        if self._handle is None:
            raise DataError(f"{self.path}: nothing to write (no header and no rows)")
        if self.fmt == "xlsx":
            self._handle.save(self.tmp)
        else:
            self._handle.close()
        self.tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        if self._handle is not None and self.fmt != "xlsx":
            self._handle.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _excel_cell(value: object) -> object:
    # Excel cells hold at most 32,767 characters; control characters make openpyxl refuse the row.
    if isinstance(value, str):
        value = ILLEGAL_XLSX_RE.sub(" ", value)[:32_767]
    return value


def write_table(df: pd.DataFrame, path: str | Path, overwrite: bool = True, encoding: str = "utf-8-sig") -> Path:
    with TableWriter(path, encoding=encoding, overwrite=overwrite) as writer:
        writer.write(df)
    return Path(path)

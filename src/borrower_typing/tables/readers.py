"""Streaming readers: chunks keep the file's data row numbers (1-based index), so errors and outputs can point
at the exact row. A reader never guesses silently where a wrong guess would cut or change a value: the CSV
delimiter comes from the header line only, an ambiguous one is an error naming the candidates; duplicate
column names, undecodable bytes and non-text binary cells are refused with the line, row or column named.

``typed=False`` (training, validation): every cell a string or None. ``typed=True`` (scoring): CSV cells
stay strings (``007`` and 20-digit IDs survive), Parquet columns keep their Arrow types (nullable integers
stay integers), Excel and JSON Lines cells keep the value their reader gives (int, float, str, date).
"""

from __future__ import annotations

import codecs
import csv
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from .formats import DataError, table_format

SEP_CANDIDATES = {",": "','", "\t": "tab", ";": "';'", "|": "'|'"}
# A single-column CSV is read with a separator no note contains, so a ',' or '|' in a note never cuts it.
NO_SEP = "\x1f"
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(path: str | Path, sample_bytes: int = 1 << 20) -> str:
    """``utf-16``/``utf-32`` when the file starts with their byte-order mark (Excel's "Unicode text"),
    ``utf-8-sig`` when the sample is valid UTF-8, else ``gb18030`` (a superset of GBK and GB2312) when that
    decodes it, else an error naming the line and byte offset."""
    path = Path(path)
    with path.open("rb") as fh:
        sample = fh.read(sample_bytes)
        truncated = bool(fh.read(1))
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
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
        line = sample.count(b"\n", 0, utf8_error.start) + 1
        raise DataError(
            f"{path}: line {line}: neither UTF-8 nor GB18030/GBK (first bad byte at offset {utf8_error.start});"
            " pass --encoding"
        ) from None


def locate_decode_error(path: Path, encoding: str, block: int = 1 << 20) -> str:
    """Where the file first fails to decode: ``line L (byte offset B)``, counted from the file's start.

    pandas reports offsets inside its own buffer, so the position is found again by streaming the file."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset, lines = 0, 0
    with path.open("rb") as fh:
        while data := fh.read(block):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(data)
            except UnicodeDecodeError as exc:
                bad = offset - pending + exc.start
                lines += data[: max(0, exc.start - pending)].count(b"\n")
                return f"line {lines + 1} (byte offset {bad}): {exc.reason}"
            offset += len(data)
            lines += data.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return f"line {lines + 1} (byte offset {offset - len(exc.object) + exc.start}): {exc.reason}"
    return "unknown position"


def choose_sep(path: str | Path, encoding: str, sep: str | None = None) -> str:
    """The delimiter, from the header line only: data lines are notes and may hold any of the candidates.

    Exactly one candidate splitting the header -> that one; none -> one column; several -> an error naming
    them (``--sep`` chooses). ``sep`` given: used as is (``\\t`` or ``tab`` for a tab)."""
    path = Path(path)
    if sep is not None:
        sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
        if len(sep) != 1:
            raise DataError(f"{path}: --sep must be one character, got {sep!r}")
        return sep
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        header = fh.readline().rstrip("\r\n")
    splitting = [c for c in SEP_CANDIDATES if len(next(csv.reader([header], delimiter=c), [])) > 1]
    if path.suffix.lower() == ".tsv" and "\t" in splitting:
        return "\t"
    if not splitting:
        return NO_SEP
    if len(splitting) > 1:
        names = " and ".join(SEP_CANDIDATES[c] for c in splitting)
        raise DataError(f"{path}: the header line can be split by {names}; pass --sep to choose")
    return splitting[0]


def xlsx_sheets(path: str | Path) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def sheet_hint(path: str | Path, sheet: str | int | None = None) -> str:
    """For an .xlsx with several sheets: which one was read and which exist (else '')."""
    if table_format(path) != "xlsx":
        return ""
    try:
        names = xlsx_sheets(path)
    except Exception:  # the reader itself reports an unreadable workbook
        return ""
    if len(names) < 2:
        return ""
    read = names[_sheet_index(Path(path), names, sheet)]
    return f" (read sheet {read!r}; the sheets are {', '.join(map(repr, names))}; pass --sheet)"


def _sheet_index(path: Path, names: list[str], sheet: str | int | None) -> int:
    """``sheet`` as a name, else as a 1-based number; None is the first sheet."""
    if sheet is None:
        return 0
    if str(sheet) in names:
        return names.index(str(sheet))
    if str(sheet).isdigit() and 1 <= int(sheet) <= len(names):
        return int(sheet) - 1
    raise DataError(f"{path}: no sheet {sheet!r}; the sheets are {', '.join(map(repr, names))}")


def iter_table(
    path: str | Path,
    chunk_size: int = 20_000,
    encoding: str | None = None,
    columns: list[str] | None = None,
    *,
    typed: bool = False,
    sep: str | None = None,
    sheet: str | int | None = None,
    select: bool = False,
) -> Iterator[pd.DataFrame]:
    """Chunks of the table; the index is the 1-based data row number. See the module docstring.

    ``columns``: these must be there (an error names the missing ones); with ``select``, only these are kept
    (Parquet reads nothing else; CSV parses whole rows, see ``_csv_chunks``)."""
    path = Path(path)
    fmt = table_format(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    start = 1
    only = list(columns) if select and columns is not None else None
    try:
        for chunk in _raw_chunks(path, fmt, chunk_size, encoding, sep, sheet, only):
            _refuse_duplicates(path, list(chunk.columns))
            if columns is not None:
                _check_present(path, columns, list(chunk.columns), lambda: sheet_hint(path, sheet))
            if only is not None and list(chunk.columns) != only:
                chunk = chunk[only]  # before _normalise: a column not kept is not converted either
            chunk = _normalise(path, chunk, typed, start)
            chunk.index = pd.RangeIndex(start, start + len(chunk))
            start += len(chunk)
            yield chunk
    except PermissionError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from exc


def _refuse_duplicates(path: Path, names: list[str]) -> None:
    seen: set[str] = set()
    dupes = [n for n in names if n in seen or seen.add(n)]
    if dupes:
        raise DataError(f"{path}: duplicate column names {sorted(set(map(str, dupes)))}; rename them")


def _raw_chunks(
    path: Path,
    fmt: str,
    chunk_size: int,
    encoding: str | None,
    sep: str | None,
    sheet: str | int | None,
    only: list[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The file's chunks as its reader gives them; ``only``: the columns wanted (Parquet reads nothing else, CSV
    converts nothing else; ``iter_table`` keeps just these)."""
    if fmt == "csv":
        yield from _csv_chunks(path, chunk_size, encoding, sep, only)
    elif fmt == "xlsx":
        yield from _xlsx_chunks(path, chunk_size, sheet)
    elif fmt == "parquet":
        yield from _parquet_chunks(path, chunk_size, only)
    else:
        yield from _jsonl_chunks(path, chunk_size, encoding)


def _csv_chunks(
    path: Path, chunk_size: int, encoding: str | None, sep: str | None, only: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Whole rows, always: with ``usecols`` pandas drops a row's surplus fields without a word (a note with an
    unquoted comma would be read shifted), so columns are never left unparsed. Those not in ``only`` are
    parsed as plain objects, the cheapest (a third of a scored export's read time), and then dropped."""
    enc = encoding or detect_encoding(path)
    chosen = choose_sep(path, enc, sep)
    with path.open("r", encoding=enc, errors="replace", newline="") as fh:
        records = csv.reader(fh, delimiter=chosen)
        header = [h.lstrip("\ufeff") for h in next(records, [])]
        first = next(records, None)
    # pandas renames duplicate headers ('a', 'a.1'): check the header as written
    _refuse_duplicates(path, header)
    # pandas takes a first row longer than the header as "first column is the index" and shifts every value
    if first is not None and len(first) > len(header):
        raise DataError(f"{path}: the first data row has {len(first)} fields, the header {len(header)}; check --sep")
    try:
        reader = pd.read_csv(
            path,
            sep=chosen,
            encoding=enc,
            dtype=str if only is None else {h: str if h in only else object for h in header},
            keep_default_na=False,
            na_values=[""],
            chunksize=chunk_size,
            encoding_errors="strict",
            engine="c",
            index_col=False,
        )
        yield from reader
    except UnicodeDecodeError as exc:
        where = locate_decode_error(path, enc)
        raise DataError(f"{path}: {where}: cannot decode as {enc}; pass --encoding") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed CSV: {exc}".strip()) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty (no header row)") from exc


def _xlsx_chunks(path: Path, chunk_size: int, sheet: str | int | None) -> Iterator[pd.DataFrame]:
    from zipfile import BadZipFile

    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    try:
        ws = wb.worksheets[_sheet_index(path, list(wb.sheetnames), sheet)]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise DataError(f"{path}: sheet {ws.title!r} is empty (no header row)" + sheet_hint(path, sheet))
        names = [str(h) if h is not None else f"column_{i + 1}" for i, h in enumerate(header)]
        _refuse_duplicates(path, names)
        buf: list[tuple] = []
        for row in rows:
            buf.append(tuple(row[: len(names)]) + (None,) * (len(names) - len(row)))
            if len(buf) >= chunk_size:
                yield pd.DataFrame(buf, columns=names, dtype=object)
                buf = []
        if buf:
            yield pd.DataFrame(buf, columns=names, dtype=object)
    finally:
        wb.close()


def _check_present(path: Path, columns: list[str], present: list[str], hint: Callable[[], str] = lambda: "") -> None:
    """An error naming the missing columns; ``hint`` is called only then (a workbook's sheet list costs a
    reading of the whole workbook, never to be paid per chunk)."""
    missing = [c for c in columns if c not in present]
    if missing:
        raise DataError(f"{path}: no column {', '.join(map(repr, missing))}; columns are {present}{hint()}")


def _parquet_chunks(path: Path, chunk_size: int, only: list[str] | None = None) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    _refuse_duplicates(path, pf.schema_arrow.names)
    if only is not None:
        _check_present(path, only, pf.schema_arrow.names)
    first = 1
    for batch in pf.iter_batches(batch_size=chunk_size, columns=only):
        out = {}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
                out[name] = _decode_binary(path, name, column.to_pylist(), first)
            elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                out[name] = pd.Series(column.to_pylist(), dtype=object)
            else:  # Arrow-backed: int64 with nulls stays int64, 2**63-1 keeps every digit
                out[name] = pd.Series(column.to_pandas(types_mapper=pd.ArrowDtype))
        first += batch.num_rows
        yield pd.DataFrame(out)


def _decode_binary(path: Path, name: str, values: list, first: int) -> pd.Series:
    """A binary column is text written without the UTF-8 annotation; anything else is refused, not shown as
    ``b'…'``."""
    out = []
    for k, v in enumerate(values):
        try:
            out.append(None if v is None else v.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: column {name!r}, row {first + k}: binary data that is not UTF-8 text (byte {exc.start})"
            ) from None
    return pd.Series(out, dtype=object)


def _jsonl_chunks(path: Path, chunk_size: int, encoding: str | None) -> Iterator[pd.DataFrame]:
    """JSON Lines read line by line (pandas reports character positions, not lines): a BOM is tolerated,
    blank lines are skipped, every other line must be one JSON object with distinct keys."""
    enc = encoding or "utf-8"
    keys: dict[str, None] | None = None
    rows: list[dict] = []
    offset = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            start = offset
            offset += len(raw)
            if lineno == 1 and raw.startswith(codecs.BOM_UTF8):
                raw, start = raw[3:], start + 3
            try:
                line = raw.decode(enc)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: line {lineno} (byte offset {start + exc.start}): cannot decode as {enc}: {exc.reason}"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line, object_pairs_hook=_distinct_keys)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
            except _DuplicateKey as exc:
                raise DataError(f"{path}: line {lineno}: duplicate key {exc.args[0]!r}") from None
            if not isinstance(obj, dict):
                raise DataError(f"{path}: line {lineno}: expected a JSON object, got {type(obj).__name__}")
            rows.append(obj)
            if keys is not None and not obj.keys() <= keys.keys():
                new = [k for k in obj if k not in keys]
                raise DataError(f"{path}: line {lineno}: key {new[0]!r} does not occur in the lines before it")
            if len(rows) >= chunk_size:
                keys = keys or dict.fromkeys(k for r in rows for k in r)
                yield _records_frame(rows, keys)
                rows = []
    if rows or keys is None:
        keys = keys or dict.fromkeys(k for r in rows for k in r)
        yield _records_frame(rows, keys)


class _DuplicateKey(ValueError):
    pass


def _distinct_keys(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def _records_frame(rows: list[dict], keys: dict[str, None]) -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series([r.get(k) for r in rows], dtype=object) for k in keys})


def _cell(value: object) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, str) else str(value)


def _normalise(path: Path, df: pd.DataFrame, typed: bool, first: int) -> pd.DataFrame:
    """Missing cells are None in object columns (not NaN in one reader and None in another); untyped, every
    cell is a string."""
    if not typed:
        return pd.DataFrame({c: _strings(df[c]) for c in df.columns}, dtype=object)
    out = {}
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, pd.StringDtype):
            col = pd.Series(_strings(col), dtype=object)
        elif col.dtype == object:
            col = pd.Series([None if _cell(v) is None else v for v in col.tolist()], dtype=object)
        out[c] = col.reset_index(drop=True)
    return pd.DataFrame(out)


def _strings(col: pd.Series) -> list[str | None]:
    """A column's cells as ``str`` or None. A string column (every CSV column) converts in one call, several
    times faster than cell by cell, which other columns (Excel, JSON Lines) still need."""
    if isinstance(col.dtype, pd.StringDtype):
        return col.to_numpy(dtype=object, na_value=None).tolist()
    return [_cell(v) for v in col.tolist()]


def note_texts(values: pd.Series) -> list[str | None]:
    """The notes as text for the model, whatever type the cells have (a number in a note column is a note)."""
    return [_cell(v) for v in values.tolist()]


def read_table(
    path: str | Path,
    encoding: str | None = None,
    columns: list[str] | None = None,
    *,
    typed: bool = False,
    sep: str | None = None,
    sheet: str | int | None = None,
) -> pd.DataFrame:
    """The whole table (for labelled training data, which is small, and for reading outputs back)."""
    opts = dict(typed=typed, sep=sep, sheet=sheet)
    chunks = list(iter_table(path, chunk_size=200_000, encoding=encoding, columns=columns, **opts))
    if not chunks:
        return pd.DataFrame(columns=columns or [])
    return pd.concat(chunks) if len(chunks) > 1 else chunks[0]

"""Readers refuse what they cannot read faithfully, naming the line, row or column."""

from __future__ import annotations

import codecs

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from borrower_typing.data import DataError, choose_sep, detect_encoding, read_table


def test_single_column_notes_with_separators_are_not_cut(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("催记内容\n客户|说明天还\n对方,称不认识;挂断\n", encoding="utf-8")
    assert read_table(path)["催记内容"].tolist() == ["客户|说明天还", "对方,称不认识;挂断"]


def test_delimiter_comes_from_the_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id|text\n1|客户说,明天;还\n", encoding="utf-8")
    assert read_table(path).to_dict("records") == [{"id": "1", "text": "客户说,明天;还"}]


def test_ambiguous_header_names_the_candidates(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,备注|说明\n1,a|b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.csv: the header line can be split by ',' and '\|'; pass --sep"):
        read_table(path)
    assert read_table(path, sep=",").columns.tolist() == ["id", "备注|说明"]
    assert choose_sep(path, "utf-8", "tab") == "\t"


def test_a_note_with_an_extra_separator_is_an_error_not_a_cut(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,text\n1,客户说,明天还\n", encoding="utf-8")
    with pytest.raises(DataError, match="first data row has 3 fields, the header 2"):
        read_table(path)
    path.write_text("id,text\n1,ok\n2,客户说,明天还\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"malformed CSV.*line 3"):
        read_table(path)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(tmp_path, codec):
    path = tmp_path / "x.txt"
    data = "id\ttext\n1\t客户称明天还\n"
    bom = {"utf-16-be": codecs.BOM_UTF16_BE}.get(codec, b"")
    path.write_bytes(bom + data.encode(codec))
    assert detect_encoding(path) in ("utf-16", "utf-32")
    assert read_table(path).to_dict("records") == [{"id": "1", "text": "客户称明天还"}]


def test_decode_error_names_line_and_file_offset(tmp_path):
    """Past the 1 MiB sample, so pandas hits it mid-stream: the offset is the file's, not pandas' buffer's."""
    path = tmp_path / "x.csv"
    head = "text\n" + "客户称明天还款\n" * 60_000
    raw = head.encode("utf-8") + "坏".encode("gb18030") + b"\xff\xfe\n"
    path.write_bytes(raw)
    bad = raw.index("坏".encode("gb18030"))  # the first byte that is not UTF-8
    with pytest.raises(DataError) as err:
        read_table(path)
    message = str(err.value)
    assert f"line {60_002}" in message and f"byte offset {bad}" in message, message


def test_jsonl_bom_line_numbers_and_duplicate_keys(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + b'{"text": "a", "id": 1}\n\n{"text": "b"}\n')
    assert read_table(path, typed=True).to_dict("records") == [{"text": "a", "id": 1}, {"text": "b", "id": None}]
    path.write_bytes(b'{"text": "a"}\n{"text": "b"}\n{"text": oops}\n')
    with pytest.raises(DataError, match=r"line 3, column 10: not valid JSON"):
        read_table(path)
    path.write_bytes(b'{"text": "a"}\n{"text": "b", "text": "c"}\n')
    with pytest.raises(DataError, match=r"line 2: duplicate key 'text'"):
        read_table(path)
    path.write_bytes(b'{"text": "a"}\n["text"]\n')
    with pytest.raises(DataError, match=r"line 2: expected a JSON object"):
        read_table(path)
    path.write_bytes(b'{"text": "a"}\n{"text": "\xff"}\n')
    with pytest.raises(DataError, match=r"line 2 \(byte offset 24\)"):
        read_table(path)


def test_jsonl_keeps_big_integers_exact(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"id": 123456789012345678901234567890, "text": "a"}\n', encoding="utf-8")
    assert read_table(path, typed=True)["id"].tolist() == [123456789012345678901234567890]


def test_binary_parquet_text_is_decoded_or_refused(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"text": pa.array(["客户".encode(), None], type=pa.binary())}), path)
    assert read_table(path)["text"].tolist() == ["客户", None]
    pq.write_table(pa.table({"text": pa.array([b"ok", b"\xff\xfe"], type=pa.binary())}), path)
    with pytest.raises(DataError, match=r"column 'text', row 2: binary data that is not UTF-8"):
        read_table(path)


def test_nullable_integers_are_not_floats(tmp_path):
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": pa.array([2026110001, None, 2**63 - 1], type=pa.int64())}), path)
    assert read_table(path)["id"].tolist() == ["2026110001", None, str(2**63 - 1)]
    assert read_table(path, typed=True)["id"].tolist()[::2] == [2026110001, 2**63 - 1]


def test_duplicate_columns_are_refused_in_every_format(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("text,id,text\na,1,b\n", encoding="utf-8")
    xlsx = tmp_path / "x.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["text", "text"])
    wb.active.append(["a", "b"])
    wb.save(xlsx)
    pqf = tmp_path / "x.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["text", "text"]), pqf)
    for path in (csv, xlsx, pqf):
        with pytest.raises(DataError, match=r"duplicate column names \['text'\]"):
            read_table(path)


def test_unreadable_input_is_a_data_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("text\na\n", encoding="utf-8")
    path.chmod(0o000)
    try:
        try:
            path.read_bytes()
        except PermissionError:
            with pytest.raises(DataError, match=r"x\.csv: cannot read"):
                read_table(path)
        else:
            pytest.skip("running as root: permission bits do not stop reads")
    finally:
        path.chmod(0o644)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "jsonl"])
def test_selected_columns_are_the_only_ones_read_with_values_unchanged(tmp_path, fmt):
    import pandas as pd

    from borrower_typing.data import iter_table

    frame = pd.DataFrame(
        {
            "id": ["007", "2", None],
            "策略": ["长文本" * 50, "", "x"],
            "text": ["客户说,明天还", None, "关机"],
            "n": ["1", "", "3"],
        }
    )
    path = tmp_path / f"x.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    whole = pd.concat(iter_table(path, chunk_size=2, typed=True))
    from borrower_typing.tables import readers

    asked: list = []
    real_batches = pq.ParquetFile.iter_batches
    with pytest.MonkeyPatch.context() as mp:
        # Parquet reads only the columns asked for; a workbook's sheet list is never read while nothing is missing
        mp.setattr(
            pq.ParquetFile,
            "iter_batches",
            lambda self, **kw: asked.append(kw.get("columns")) or real_batches(self, **kw),
        )
        mp.setattr(readers, "xlsx_sheets", lambda *a: pytest.fail("sheet list read on the success path"))
        picked = pd.concat(iter_table(path, chunk_size=2, typed=True, columns=["text", "id"], select=True))
    assert asked == ([["text", "id"]] if fmt == "parquet" else [])
    assert picked.columns.tolist() == ["text", "id"]  # in the order asked for, not the file's
    assert picked.index.tolist() == [1, 2, 3]  # data row numbers, as without selecting
    assert picked.equals(whole[["text", "id"]])
    with pytest.raises(DataError, match=rf"x\.{fmt}: no column 'nope'"):
        next(iter_table(path, columns=["text", "nope"], select=True))


def test_a_csv_with_selected_columns_still_refuses_a_malformed_row(tmp_path):
    from borrower_typing.data import iter_table

    path = tmp_path / "x.csv"
    path.write_text("id,text,strategy\n1,还,a\n2,还,b,extra\n", encoding="utf-8")
    with pytest.raises(DataError, match="malformed CSV"):
        list(iter_table(path, columns=["text"], select=True))

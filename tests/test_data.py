import pandas as pd
import pytest

from borrower_typing.data import DataError, TableWriter, detect_encoding, iter_table, read_table, write_table

FRAME = pd.DataFrame({"案件编号": ["A1", "A2", "A3"], "催记内容": ["客户称明天还", "", "关机"]})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    path = tmp_path / "x.csv"
    FRAME.to_csv(path, index=False, encoding=encoding)
    expected = "gb18030" if encoding in ("gb18030", "gbk") else "utf-8-sig"
    assert detect_encoding(path) == expected
    back = read_table(path)
    assert list(back.columns) == ["案件编号", "催记内容"]
    assert back["催记内容"].tolist() == ["客户称明天还", None, "关机"]


def test_rows_are_numbered_from_one_across_chunks(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"text": [f"第{i}条" for i in range(10)]}).to_csv(path, index=False)
    chunks = list(iter_table(path, chunk_size=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert chunks[1].index[0] == 5 and chunks[-1].index[-1] == 10


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet", ".jsonl", ".csv"])
def test_round_trip_every_format(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    write_table(FRAME, path)
    back = read_table(path)
    assert back["案件编号"].tolist() == ["A1", "A2", "A3"]
    assert back["催记内容"].iloc[0] == "客户称明天还"


def test_numbers_in_text_column_stay_text(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"text": [1.5, None]}).to_parquet(path)
    assert read_table(path)["text"].tolist() == ["1.5", None]


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "x.csv"
    FRAME.to_csv(path, index=False)
    with pytest.raises(DataError, match="'备注'"):
        list(iter_table(path, columns=["备注"]))


def test_corrupt_xlsx(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(DataError, match=r"x\.xlsx.*not a readable \.xlsx"):
        read_table(path)


def test_undecodable_csv_names_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("text\n客户称".encode() + b"\xff\xfe\xfa\n")
    with pytest.raises(DataError, match=r"x\.csv"):
        read_table(path)


def test_malformed_csv_names_line(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('a,b\n1,2\n3,"4\n5,6,7,8\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.csv: malformed CSV"):
        read_table(path)


def test_unknown_extension(tmp_path):
    with pytest.raises(DataError, match="unknown file type"):
        read_table(tmp_path / "x.docx")


def test_writer_refuses_to_overwrite_and_leaves_no_partial(tmp_path):
    out = tmp_path / "out.csv"
    write_table(FRAME, out)
    with pytest.raises(DataError, match="already exists"):
        TableWriter(out)
    failing = tmp_path / "fail.csv"
    with pytest.raises(RuntimeError), TableWriter(failing) as writer:
        writer.write(FRAME)
        raise RuntimeError("boom")
    assert not failing.exists()
    assert not list(tmp_path.glob(".*partial"))


def test_xlsx_writer_strips_illegal_characters(tmp_path):
    out = tmp_path / "o.xlsx"
    write_table(pd.DataFrame({"text": ["a\x01b"]}), out)
    assert read_table(out)["text"].tolist() == ["a b"]

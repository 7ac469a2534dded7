"""Hostile and careless inputs scored end to end: formulas, long and nullable IDs, several sheets, UTF-16."""

from __future__ import annotations

import csv
import json

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from borrower_typing.batch import score_file
from borrower_typing.data import DataError

FORMULAS = ["=1+2", "+SUM(A1:A9)", "-2+3", "@cmd", "\t=1+2", "\r=1+2", '=HYPERLINK("http://x","点我")']
PLAIN = ["客户称明天还款", "-12.5", "对方 = 家属"]


def _score(model_dir, src, out, **kw):
    return score_file(model_dir, src, out, text_fallbacks=["text"], **kw)


def test_formulas_are_shown_not_run_in_xlsx(model_dir, tmp_path):
    notes = FORMULAS + PLAIN
    src = tmp_path / "in.csv"
    pd.DataFrame({"备注": list(reversed(notes)), "text": notes}).to_csv(src, index=False, quoting=csv.QUOTE_ALL)
    _score(model_dir, src, tmp_path / "out.xlsx")
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    rows = list(ws.iter_rows(min_row=2))
    assert not [c.coordinate for row in rows for c in row if c.data_type == "f"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    texts = [r[header.index("text")].value for r in rows]
    # XML reads a bare CR as LF (openpyxl writes it unescaped); the guard itself is what is checked here
    expected = [t.replace("\r", "\n") for t in ["'" + n for n in FORMULAS] + PLAIN]
    assert texts == expected
    assert [r[header.index("备注")].value for r in rows] == list(reversed(expected))


def test_formulas_in_csv_and_the_switch_off(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": FORMULAS + PLAIN}).to_csv(src, index=False, quoting=csv.QUOTE_ALL)
    _score(model_dir, src, tmp_path / "guarded.csv")
    _score(model_dir, src, tmp_path / "raw.csv", formula_guard=False)
    _score(model_dir, src, tmp_path / "raw.parquet")
    read = dict(dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert pd.read_csv(tmp_path / "guarded.csv", **read)["text"].tolist() == ["'" + n for n in FORMULAS] + PLAIN
    assert pd.read_csv(tmp_path / "raw.csv", **read)["text"].tolist() == FORMULAS + PLAIN
    assert pd.read_parquet(tmp_path / "raw.parquet")["text"].tolist() == FORMULAS + PLAIN


IDS = [2026110001, None, 2**53 + 1, 2**63 - 1, -7]


@pytest.fixture
def typed_parquet(tmp_path):
    src = tmp_path / "in.parquet"
    table = pa.table(
        {
            "id": pa.array(IDS, type=pa.int64()),
            "code": pa.array(["007", None, "12345678901234567890123", "0", "-0"]),
            "text": ["客户称明天还款", "关机", "家属称已病故", "对方说打错了", "客户哭诉被骗"],
        }
    )
    pq.write_table(table, src)
    return src


def test_integer_ids_round_trip_through_every_format(model_dir, tmp_path, typed_parquet):
    for suffix in (".parquet", ".jsonl", ".csv", ".xlsx"):
        _score(model_dir, typed_parquet, tmp_path / f"out{suffix}")
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.schema.field("id").type == pa.int64() and back.column("id").to_pylist() == IDS
    assert back.column("code").to_pylist() == ["007", None, "12345678901234567890123", "0", "-0"]
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in lines] == IDS and lines[0]["code"] == "007"
    text = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert text["id"].tolist() == ["" if i is None else str(i) for i in IDS]
    assert text["code"].tolist() == ["007", "", "12345678901234567890123", "0", "-0"]
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx").active
    cells = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    # Excel keeps 15 significant digits: longer integers are written as text, every digit kept
    assert cells == [2026110001, None, str(2**53 + 1), str(2**63 - 1), -7]


def test_csv_ids_stay_text(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,text\n007,客户称明天还款\n12345678901234567890,关机\n,家属称已病故\n", encoding="utf-8")
    _score(model_dir, src, tmp_path / "out.parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert pa.types.is_string(back.schema.field("id").type)
    assert back.column("id").to_pylist() == ["007", "12345678901234567890", None]


def _workbook(path, sheets: dict[str, list[list]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)


def test_multi_sheet_input(model_dir, tmp_path):
    src = tmp_path / "in.xlsx"
    data = [["案件编号", "text"], ["A1", "客户称明天还款"], ["A2", "关机"]]
    _workbook(src, {"说明": [["导出说明"], ["本表由系统导出"]], "数据": data})
    with pytest.raises(DataError) as err:
        _score(model_dir, src, tmp_path / "out.csv")
    assert "'说明'" in str(err.value) and "'数据'" in str(err.value) and "--sheet" in str(err.value)
    for sheet in ("数据", "2"):
        out = tmp_path / f"out{sheet}.csv"
        assert _score(model_dir, src, out, sheet=sheet).rows == 2
    with pytest.raises(DataError, match="no sheet '3'"):
        _score(model_dir, src, tmp_path / "x.csv", sheet="3")
    empty_first = tmp_path / "empty_first.xlsx"
    _workbook(empty_first, {"Sheet1": [], "数据": data})
    with pytest.raises(DataError, match=r"empty.*'数据'"):
        _score(model_dir, empty_first, tmp_path / "y.csv")
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == ["out2.csv", "out数据.csv"]


def test_utf16_export_with_bom(model_dir, tmp_path):
    """Excel's "Unicode text": UTF-16 LE with a byte-order mark, tab-separated."""
    src = tmp_path / "export.txt"
    text = "案件编号\ttext\r\nA1\t客户称明天还款, 但是没钱\r\nA2\t关机|无法接通\r\n"
    src.write_bytes(text.encode("utf-16"))
    _score(model_dir, src, tmp_path / "out.parquet")
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert back["案件编号"].tolist() == ["A1", "A2"]
    assert back["text"].tolist() == ["客户称明天还款, 但是没钱", "关机|无法接通"]

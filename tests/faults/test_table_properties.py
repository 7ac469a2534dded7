"""Generated tables through ``score_file``: rows in = rows out, and every non-note column keeps its values,
whatever the column types, the awkward values in them and the input/output formats."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from borrower_typing.batch import score_file

NOTES = ["客户称明天还款", "关机", "家属称借款人已经病故", "", "=1+2", "-", "客户说：'没钱'，\"挂断\"", "\r\n", "1.5"]
AWKWARD = st.sampled_from(
    ["007", "NA", "null", "None", "nan", " 空格 ", "a,b", 'q"u"', "多\n行", "\r", "=SUM(A1)", "-0", "1e5", "\ufeffx"]
)
TEXT = st.one_of(
    AWKWARD, AWKWARD, st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
)
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@st.composite
def tables(draw):
    rows = draw(st.integers(min_value=1, max_value=12))
    kinds = draw(st.lists(st.sampled_from(["int", "text"]), min_size=1, max_size=3))
    columns = {}
    for k, kind in enumerate(kinds):
        values = st.none() | (INTS if kind == "int" else TEXT)
        columns[f"c{k}_{kind}"] = draw(st.lists(values, min_size=rows, max_size=rows))
    columns["text"] = draw(st.lists(st.sampled_from(NOTES), min_size=rows, max_size=rows))
    return columns


def _write_input(columns: dict[str, list], fmt: str, folder: Path) -> Path:
    path = folder / f"in.{fmt}"
    if fmt == "parquet":
        types = {c: pa.int64() if c.endswith("_int") else pa.string() for c in columns}
        pq.write_table(pa.table({c: pa.array(v, type=types[c]) for c, v in columns.items()}), path)
    elif fmt == "jsonl":
        rows = [dict(zip(columns, r, strict=True)) for r in zip(*columns.values(), strict=True)]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    else:
        pd.DataFrame(columns, dtype=object).to_csv(path, index=False, lineterminator="\r\n", encoding="utf-8")
    return path


def _read_output(path: Path) -> dict[str, list]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pydict()
    if path.suffix == ".jsonl":
        # JSON Lines ends records at "\n" only; str.splitlines would also split at U+0085 or U+2028 inside a value
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
        return {c: [r[c] for r in rows] for c in rows[0]}
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    return {c: [None if pd.isna(v) else v for v in df[c]] for c in df.columns}


def _expected(value: object, source: str, target: str) -> object:
    if source == "csv" or target == "csv":  # CSV holds text, and cannot tell an empty cell from a missing one
        return None if value is None or value == "" else str(value)
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    columns=tables(),
    source=st.sampled_from(["csv", "parquet", "jsonl"]),
    target=st.sampled_from(["csv", "parquet", "jsonl"]),
)
def test_rows_and_values_survive_scoring(model_dir, columns, source, target):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = _write_input(columns, source, folder)
        out = folder / f"out.{target}"
        summary = score_file(model_dir, src, out, text_fallbacks=["text"], chunk_size=5, formula_guard=False)
        back = _read_output(out)
        rows = len(columns["text"])
        assert summary.rows == rows and len(back["type"]) == rows
        for name, values in columns.items():
            if name == "text":
                continue
            assert back[name] == [_expected(v, source, target) for v in values], name

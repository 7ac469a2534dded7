"""The bundled sample export, scored through the CLI as operations would: GB18030 CSV and its .xlsx twin."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.data import detect_encoding, read_table
from tests.conftest import SAMPLE_CSV, SAMPLE_XLSX

runner = CliRunner()


def score(model_dir, src, out):
    args = [
        "score",
        str(src),
        "-o",
        str(out),
        "--model",
        str(model_dir),
        "--case-column",
        "案件编号",
        "--time-column",
        "催收时间",
        "--quiet",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return read_table(out)


def test_sample_is_a_gb18030_export():
    assert detect_encoding(SAMPLE_CSV) == "gb18030"
    df = read_table(SAMPLE_CSV)
    assert {"案件编号", "客户姓名", "催收时间", "催收员", "催收方式", "催记内容"} <= set(df.columns)
    assert 250 <= len(df) <= 400 and df["案件编号"].nunique() >= 50


@pytest.mark.parametrize(("src", "suffix"), [(SAMPLE_CSV, ".csv"), (SAMPLE_XLSX, ".xlsx")])
def test_rows_in_rows_out_with_junk_flagged(model_dir, tmp_path, src, suffix):
    source = read_table(src)
    out = score(model_dir, src, tmp_path / f"scored{suffix}")
    assert len(out) == len(source)
    assert out["案件编号"].tolist() == source["案件编号"].tolist()
    assert out["催记内容"].fillna("").tolist() == source["催记内容"].fillna("").tolist()
    junk = source["催记内容"].fillna("").str.strip().map(lambda t: sum("\u4e00" <= c <= "\u9fff" for c in t) == 0)
    assert junk.sum() >= 5
    flagged = out.loc[junk.to_numpy(), "needs_review"].astype(str)
    assert (flagged == "True").all()
    cases = read_table(tmp_path / f"scored.cases{suffix}")
    assert len(cases) == source["案件编号"].nunique()


def test_csv_and_xlsx_give_the_same_answers(model_dir, tmp_path):
    a = score(model_dir, SAMPLE_CSV, tmp_path / "a.csv")
    b = score(model_dir, SAMPLE_XLSX, tmp_path / "b.csv")
    assert a["type"].tolist() == b["type"].tolist()
    pd.testing.assert_series_equal(a["confidence"].astype(float), b["confidence"].astype(float))


def test_known_cases_come_out_right(model_dir, tmp_path):
    score(model_dir, SAMPLE_CSV, tmp_path / "s.csv")
    cases = read_table(tmp_path / "s.cases.csv").set_index("案件编号")
    # cases whose single notes are mild but together show repeated broken promises
    for case in ("AJ2026110003", "AJ2026110014", "AJ2026110035", "AJ2026110057"):
        assert cases.loc[case, "type"] == "serial_promiser", case
    # a case of nothing but unanswered calls and junk has no basis for a type
    assert cases.loc["AJ2026110066", "review_reason"] == "no_basis"

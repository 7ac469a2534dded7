import json

import numpy as np
import pandas as pd
import pytest

from borrower_typing.batch import cases_output_path, pick_text_column, score_file
from borrower_typing.data import DataError, read_table
from borrower_typing.labels import CLASSES

JUNK = [
    "",
    "   ",
    None,
    "13800000000",
    "###!!!",
    "asdfgh qwerty",
    "😀😀😀",
    "客户\t称\n明天还款",
    "好" * 5000,
]


def write_export(path, notes, encoding="gb18030"):
    df = pd.DataFrame({"案件编号": [f"A{i // 3}" for i in range(len(notes))], "催记内容": notes})
    df.to_csv(path, index=False, encoding=encoding)
    return df


def test_rows_in_equal_rows_out_with_junk(model_dir, tmp_path):
    notes = ["客户哭诉老公卷走了钱", *JUNK, "家属称借款人已经病故"]
    src = write_export(tmp_path / "in.csv", notes)
    summary = score_file(
        model_dir, tmp_path / "in.csv", tmp_path / "out.csv", text_fallbacks=["催记内容"], chunk_size=4
    )
    out = read_table(tmp_path / "out.csv")
    assert summary.rows == len(out) == len(src)
    assert out["案件编号"].tolist() == src["案件编号"].tolist()
    junk = out.iloc[1:-1]
    assert junk["needs_review"].map(str).eq("True").all()
    assert out["type"].iloc[0] == "victim" and out["type"].iloc[-1] == "deceased"


def test_parallel_scoring_keeps_order_and_answers(model_dir, corpus, tmp_path):
    notes = corpus["text"].iloc[::23].tolist()[:120]
    write_export(tmp_path / "in.csv", notes, encoding="utf-8")
    outs = {}
    for jobs in (1, 2):
        score_file(
            model_dir,
            tmp_path / "in.csv",
            tmp_path / f"out{jobs}.parquet",
            text_fallbacks=["催记内容"],
            chunk_size=25,
            jobs=jobs,
        )
        outs[jobs] = read_table(tmp_path / f"out{jobs}.parquet")
    assert outs[2]["催记内容"].tolist() == notes
    assert outs[2]["type"].tolist() == outs[1]["type"].tolist()
    assert outs[2]["confidence"].tolist() == outs[1]["confidence"].tolist()


def test_id_columns_and_no_strategy(model_dir, tmp_path):
    write_export(tmp_path / "in.csv", ["你去告啊", "客户称下周还"])
    score_file(
        model_dir,
        tmp_path / "in.csv",
        tmp_path / "out.jsonl",
        text_fallbacks=["催记内容"],
        id_columns=["案件编号"],
        strategy=False,
    )
    out = pd.read_json(tmp_path / "out.jsonl", lines=True)
    assert "催记内容" not in out.columns and "strategy" not in out.columns
    assert out.columns[0] == "案件编号" and len(out) == 2


def test_errors_before_any_output(model_dir, tmp_path):
    write_export(tmp_path / "in.csv", ["a"])
    with pytest.raises(DataError, match="'备注'"):
        score_file(model_dir, tmp_path / "in.csv", tmp_path / "o.csv", text_column="备注")
    with pytest.raises(DataError, match="'客户号'"):
        score_file(
            model_dir,
            tmp_path / "in.csv",
            tmp_path / "o.csv",
            text_fallbacks=["催记内容"],
            case_column="客户号",
        )
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "o.csv").write_text("keep me", encoding="utf-8")
    with pytest.raises(DataError, match="already exists"):
        score_file(model_dir, tmp_path / "in.csv", tmp_path / "o.csv", text_fallbacks=["催记内容"])
    assert (tmp_path / "o.csv").read_text(encoding="utf-8") == "keep me"


def test_text_column_fallbacks(tmp_path):
    assert pick_text_column(["id", "text"], None, ["催记内容", "text"], tmp_path) == "text"
    with pytest.raises(DataError, match="--text-column"):
        pick_text_column(["id"], None, ["催记内容"], tmp_path)


def test_case_of_mild_broken_promises_is_serial_promiser(model_dir, tmp_path):
    """No single note says "third time": the pattern only shows across the contacts."""
    notes = [
        "本人接听，说这周五发工资就还，约好周五",
        "周五未到账。客户很客气，说工资晚发两天，周一肯定还",
        "周一仍未入账，客户连声道歉，说表哥的钱还没打过来，周三一定",
        "查无入账。客户：真不好意思又让您白等了，下周一我一收到就转",
    ]
    df = pd.DataFrame(
        {"案件编号": ["K1"] * 4, "催收时间": [f"2026-11-0{i} 10:00" for i in range(1, 5)], "催记内容": notes}
    )
    df.to_csv(tmp_path / "in.csv", index=False, encoding="gb18030")
    summary = score_file(
        model_dir,
        tmp_path / "in.csv",
        tmp_path / "out.xlsx",
        text_fallbacks=["催记内容"],
        case_column="案件编号",
        time_column="催收时间",
    )
    cases = read_table(summary.cases_output)
    assert summary.cases_output == cases_output_path(tmp_path / "out.xlsx")
    assert cases["type"].tolist() == ["serial_promiser"]
    assert cases["notes"].tolist() == ["4"]


CONTRACT_NOTES = [
    "你去告啊我不怕",
    "",
    "关机",
    "客户哭诉被骗了，孩子还在住院",
    "好",
    "家属称借款人已经病故",
    "13800000000",
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".jsonl"])
def test_review_rows_carry_type_none_in_every_output_format(model_dir, labels, tmp_path, suffix):
    from tests.conftest import check_review_contract

    write_export(tmp_path / "in.csv", CONTRACT_NOTES)
    out_path = tmp_path / f"out{suffix}"
    summary = score_file(model_dir, tmp_path / "in.csv", out_path, text_fallbacks=["催记内容"], case_column="案件编号")
    out = read_table(out_path) if suffix in (".csv", ".xlsx") else None
    if suffix == ".parquet":
        out = pd.read_parquet(out_path)
        assert all(isinstance(a, np.ndarray | list) for a in out["alternatives"])  # a list column, not text
    elif suffix == ".jsonl":
        out = pd.read_json(out_path, lines=True, dtype=False)
        raw = [json.loads(line) for line in out_path.read_text(encoding="utf-8").splitlines()]
        assert all(isinstance(r["alternatives"], list) and isinstance(r["review_reason"], str) for r in raw)
    check_review_contract(out, labels)
    assert out["type"].iloc[1] == "none" and out["review_reason"].iloc[1] == "empty"
    # the summary counts types of the rows a person need not check, and the review rows apart
    review = out["needs_review"].map(lambda v: str(v) == "True")
    assert sum(summary.type_counts.values()) == (~review).sum() == summary.rows - sum(summary.review_counts.values())
    assert "none" not in summary.type_counts
    cases = read_table(cases_output_path(out_path)) if suffix in (".csv", ".xlsx") else None
    if cases is not None:
        flagged = cases[cases["needs_review"].map(lambda v: str(v) == "True")]
        assert (flagged["type"] == "none").all() and flagged["best_guess"].isin(CLASSES).all()
        assert (flagged["strategy"] == labels.strategy_text("none")).all()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_mask_output_writes_the_masked_note(model_dir, tmp_path, suffix):
    notes = ["客户电话138 1234 5678，称下周还款", None, "邮箱 li@example.com 已发催收函", "客户哭诉老公卷走了钱"]
    write_export(tmp_path / "in.csv", notes)
    raw, masked = tmp_path / f"raw{suffix}", tmp_path / f"masked{suffix}"
    score_file(model_dir, tmp_path / "in.csv", raw, text_fallbacks=["催记内容"])
    score_file(model_dir, tmp_path / "in.csv", masked, text_fallbacks=["催记内容"], mask_output=True, jobs=2)
    raw_out, masked_out = read_table(raw), read_table(masked)
    assert len(masked_out) == len(raw_out) == len(notes)
    assert "138 1234 5678" in raw_out["催记内容"].iloc[0], "the default keeps the raw note"
    assert masked_out["催记内容"].iloc[0] == "客户电话PHONE,称下周还款"
    assert pd.isna(masked_out["催记内容"].iloc[1]) or masked_out["催记内容"].iloc[1] == ""
    assert "example.com" not in masked_out["催记内容"].iloc[2]
    assert masked_out["案件编号"].tolist() == raw_out["案件编号"].tolist()
    for column in ("type", "confidence", "evidence"):
        assert masked_out[column].tolist() == raw_out[column].tolist(), "the prediction does not change"

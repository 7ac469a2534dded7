"""Reading a labelled export for training: what stops it, what is left out and reported."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.config import load_train_config
from borrower_typing.data import DataError
from borrower_typing.labelled import read_labelled

runner = CliRunner()


def write(tmp_path, rows, columns=("催记内容", "类型", "催收员")):
    path = tmp_path / "export.csv"
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False, encoding="gbk")
    return path


def config(path, **extra):
    base = {"data.path": str(path), "data.text_column": "催记内容", "data.label_column": "类型"}
    return load_train_config(None, base | {"data.group_column": "催收员"} | extra)


ROWS = [
    ("你去告啊我不怕", "自信型", "张敏"),
    ("", "推托型", "张敏"),
    ("客户称下周三一定还", "推托型", "李强"),
    ("   ", "其他", "李强"),
    ("本人未接，已发短信", "其他", "王芳"),
]


def test_missing_group_column_is_an_error_naming_it(tmp_path, labels):
    path = write(tmp_path, [(t, label) for t, label, _ in ROWS], columns=("催记内容", "类型"))
    with pytest.raises(DataError, match=r"no group column '催收员'.*--group-column ''"):
        read_labelled(config(path), labels)
    args = ["train", "--data", str(path), "--text-column", "催记内容", "--label-column", "类型"]
    result = runner.invoke(app, [*args, "--group-column", "催收员", "--no-tracking"])
    assert result.exit_code == 2 and "'催收员'" in result.output


def test_empty_notes_are_left_out_with_their_rows(tmp_path, labels):
    got = read_labelled(config(write(tmp_path, ROWS)), labels)
    assert got.empty_rows == [2, 4]
    assert got.frame["row"].tolist() == [1, 3, 5] and "" not in set(got.frame["text"])
    assert any("left out 2 empty notes: rows 2, 4" in line for line in got.lines())
    written = pd.read_csv(got.write(tmp_path / "reports"))
    assert written.to_dict("records") == [{"row": 2, "reason": "empty note"}, {"row": 4, "reason": "empty note"}]


def test_train_refuses_conflicts_unless_told(tmp_path, labels):
    rows = [*ROWS, ("你去告啊，我不怕！", "推托型", "王芳")]
    path = write(tmp_path, rows)
    with pytest.raises(DataError, match=r"label conflicts.*rows 1, 6"):
        read_labelled(config(path), labels)
    got = read_labelled(config(path, **{"data.on_conflict": "drop"}), labels)
    assert got.conflict_rows_removed == [1, 6] and 1 not in set(got.frame["row"])
    args = ["train", "--data", str(path), "--text-column", "催记内容", "--label-column", "类型", "--no-tracking"]
    result = runner.invoke(app, [*args, "--group-column", "催收员"])
    assert result.exit_code == 2 and "--on-conflict" in result.output

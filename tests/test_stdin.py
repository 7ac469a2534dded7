"""``predict -``: one JSON line per input line, in order, blank lines included, streamed in chunks."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.errors import DataError
from borrower_typing.stdin import predict_lines, read_lines
from tests.conftest import ROOT

runner = CliRunner()


def test_lines_split_on_newline_only_and_keep_blank_ones():
    raw = "\ufeff你去告啊\r\n\n  \n客户\u2028称明天还\x85\n最后一行没有换行".encode()
    assert list(read_lines(io.BytesIO(raw))) == ["你去告啊", "", "  ", "客户\u2028称明天还\x85", "最后一行没有换行"]
    assert list(read_lines(io.StringIO("a\n\nb\n"))) == ["a", "", "b"]
    assert list(read_lines(io.BytesIO(b""))) == []


def test_a_line_that_is_not_utf8_is_named_not_changed():
    with pytest.raises(DataError, match="standard input line 2: not UTF-8"):
        list(read_lines(io.BytesIO("好\n".encode() + "坏".encode("gbk") + b"\n")))


def test_blank_lines_are_review_rows_in_place(trained_model):
    out = io.StringIO()
    lines = ["你去告啊我不怕", "", "   ", "关机", "客户哭着说钱被骗了"]
    assert predict_lines(trained_model, io.StringIO("\n".join(lines) + "\n"), out) == 5
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == 5
    assert [r["type"] for r in rows] == ["confident", "none", "none", "none", "victim"]
    assert rows[1]["review_reason"] == rows[2]["review_reason"] == "empty"
    assert rows[3]["needs_review"] and rows[3]["best_guess"] != "none"


class CountingStream(io.StringIO):
    """A stream that counts the lines read out of it, so the test sees when output is written."""

    def __init__(self, text: str):
        super().__init__(text)
        self.read_so_far = 0

    def __next__(self) -> str:
        line = super().__next__()
        self.read_so_far += 1
        return line


class Recorder(io.StringIO):
    def __init__(self, stream: CountingStream):
        super().__init__()
        self.stream, self.read_at_write = stream, []

    def write(self, s: str) -> int:
        self.read_at_write.append(self.stream.read_so_far)
        return super().write(s)


def test_the_stream_is_scored_in_chunks_not_read_whole(trained_model):
    notes = [f"客户称{i % 9}号一定还" if i % 5 else "" for i in range(50)]
    stream = CountingStream("\n".join(notes) + "\n")
    out = Recorder(stream)
    assert predict_lines(trained_model, stream, out, chunk_lines=8) == 50
    assert out.read_at_write[0] <= 9  # the first answers went out after one chunk, not after the whole input
    chunked = [json.loads(line) for line in out.getvalue().splitlines()]
    assert chunked == [p.to_dict() for p in trained_model.predict(notes)]  # same answers as one batch, in order


def test_predict_dash_ten_thousand_lines_through_a_real_pipe(model_dir, corpus):
    """10,000 lines (corpus notes, every seventh blank) through standard input of a real process: exactly
    10,000 JSON lines back, each the answer to its own line."""
    texts = corpus["text"].tolist()
    lines = ["" if i % 7 == 0 else texts[i % len(texts)].replace("\n", " ") for i in range(10_000)]
    out = subprocess.run(
        [sys.executable, "-m", "borrower_typing", "predict", "-", "--model", str(model_dir), "--evidence", "0"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        check=True,
    )
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 10_000
    assert all(rows[i]["type"] == "none" and rows[i]["review_reason"] == "empty" for i in range(0, 10_000, 7))
    from borrower_typing.predict import load_model

    expected = load_model(model_dir).predict(lines, evidence=0)
    assert [r["best_guess"] for r in rows] == [p.best_guess for p in expected]
    assert [r["type"] for r in rows] == [p.type for p in expected]
    assert {type(r["alternatives"]) for r in rows} == {list}


def test_cli_not_utf8_is_exit_2_naming_the_line(model_dir):
    result = runner.invoke(app, ["predict", "-", "--model", str(model_dir)], input="好\n".encode() + b"\xff\xfe\n")
    assert result.exit_code == 2
    assert "standard input line 2" in result.output

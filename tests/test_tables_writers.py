"""Writers: the formula guard, values kept, and the atomic publish (race, planted links, stale files)."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

from borrower_typing.data import DataError, TableWriter, guard_formula, read_table, write_table
from borrower_typing.tables import atomic

FRAME = pd.DataFrame({"id": ["A1", "A2"], "text": ["客户称明天还", "关机"]})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1+2", "'+1+2"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),
        ("+86", "+86"),
        ("1e5", "1e5"),
        ("客户 = 家属", "客户 = 家属"),
        ("", ""),
        (None, None),
        (-3, -3),
    ],
)
def test_guard_formula(value, expected):
    assert guard_formula(value) == expected


@pytest.mark.parametrize("noreplace", [True, False])
def test_losing_writer_fails_and_leaves_the_winner_whole(tmp_path, monkeypatch, noreplace):
    if not noreplace:  # the link-then-unlink path, as on systems without renameat2
        monkeypatch.setattr(atomic, "_renameat2", lambda: None)
    out = tmp_path / "out.csv"
    first, second = TableWriter(out), TableWriter(out)
    first.write(FRAME)
    second.write(FRAME.assign(id=["B1", "B2"]))
    assert first.tmp != second.tmp
    first.close()
    with pytest.raises(DataError, match="another run wrote this file"):
        second.close()
    assert read_table(out)["id"].tolist() == ["A1", "A2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_overwrite_replaces(tmp_path):
    out = tmp_path / "out.parquet"
    write_table(FRAME, out)
    write_table(FRAME.assign(id=["B1", "B2"]), out, overwrite=True)
    assert read_table(out)["id"].tolist() == ["B1", "B2"]


def test_link_planted_at_the_temporary_name_is_skipped(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    tokens = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(tokens))
    out = tmp_path / "out.csv"
    planted = out.with_name(f"{atomic.temp_prefix(out)}{os.getpid()}-aaaa{atomic.SUFFIX}")
    planted.symlink_to(victim)
    write_table(FRAME, out, overwrite=False)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert planted.is_symlink() and read_table(out)["id"].tolist() == ["A1", "A2"]


def test_stale_temporary_files_of_dead_processes_are_swept(tmp_path):
    out = tmp_path / "out.csv"
    dead = out.with_name(f"{atomic.temp_prefix(out)}999999999-abcd{atomic.SUFFIX}")
    live = out.with_name(f"{atomic.temp_prefix(out)}{os.getpid()}-abcd{atomic.SUFFIX}")
    other = tmp_path / ".other.csv.x-1-abcd.partial"
    for p in (dead, live, other):
        p.write_bytes(b"x")
    write_table(FRAME, out)
    assert not dead.exists() and live.exists() and other.exists()


def test_a_dead_spark_runs_working_folder_is_swept_and_a_planted_link_is_not_followed(tmp_path):
    """The Spark engine's task writes into ``<temporary file>.d``; a SIGKILL'd run leaves both behind."""
    out = tmp_path / "out.csv"
    dead = out.with_name(f"{atomic.temp_prefix(out)}999999999-abcd{atomic.SUFFIX}.d")
    (dead / "_temporary").mkdir(parents=True)
    (dead / "part-00000.csv").write_bytes(b"rows")
    live = out.with_name(f"{atomic.temp_prefix(out)}{os.getpid()}-abcd{atomic.SUFFIX}.d")
    live.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("precious", encoding="utf-8")
    link = out.with_name(f"{atomic.temp_prefix(out)}999999998-abcd{atomic.SUFFIX}.d")
    link.symlink_to(victim, target_is_directory=True)
    write_table(FRAME, out)
    assert not dead.exists() and live.is_dir() and not link.is_symlink()  # the link itself goes, not its target
    assert (victim / "keep").read_text(encoding="utf-8") == "precious"


def test_failure_mid_write_removes_the_temporary_file(tmp_path):
    for suffix in (".csv", ".xlsx", ".parquet", ".jsonl"):
        out = tmp_path / f"o{suffix}"
        with pytest.raises(RuntimeError), TableWriter(out) as writer:
            writer.write(FRAME)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_jsonl_keeps_every_digit_and_float(tmp_path):
    out = tmp_path / "o.jsonl"
    df = pd.DataFrame({"id": pd.Series([2**70, None, 7], dtype=object), "x": [0.1234567890123456, 1.0, None]})
    write_table(df, out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [2**70, None, 7]
    assert [r["x"] for r in rows] == [0.1234567890123456, 1.0, None]


def test_parquet_column_of_mixed_types_becomes_text(tmp_path):
    out = tmp_path / "o.parquet"
    write_table(pd.DataFrame({"v": pd.Series([1, "a", None, 2**70], dtype=object)}), out)
    assert pq.read_table(out).column("v").to_pylist() == ["1", "a", None, str(2**70)]

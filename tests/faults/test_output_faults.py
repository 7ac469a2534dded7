"""Faults while writing the output: racing runs, planted links, signals, a full disk, a read-only folder.

Each test checks what is left behind: the output's content, temporary files, worker processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pandas as pd
import psutil
import pytest

from borrower_typing.data import read_table

from .conftest import alive, export, partials, run_score, start_score, wait_for

pytestmark = pytest.mark.slow


def test_concurrent_writers_one_output(model_dir, tmp_path):
    """Two runs, one output: one wins whole, the other exits 2 and leaves nothing."""
    a, b = export(tmp_path / "a.csv", 3000, "A"), export(tmp_path / "b.csv", 3000, "B")
    out = tmp_path / "out.csv"
    procs = [start_score(model_dir, tmp_path / f"{x}.csv", out, "--chunk-size", "200") for x in "ab"]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert loser.count("\n") == 1 and str(out) in loser and "--overwrite" in loser
    ids = read_table(out)["案件编号"].tolist()
    winner = a if results[0][0] == 0 else b
    assert ids == winner["案件编号"].tolist()  # every row of one run, none of the other
    assert partials(tmp_path) == []


def test_symlink_at_output_is_never_followed(model_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    export(tmp_path / "in.csv", 20)
    out = tmp_path / "out.csv"
    out.symlink_to(victim)
    refused = run_score(model_dir, tmp_path / "in.csv", out)
    assert refused.returncode == 2 and "already exists" in refused.stderr
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere" / "x.csv")
    assert run_score(model_dir, tmp_path / "in.csv", dangling).returncode == 2
    assert not (tmp_path / "nowhere").exists()
    replaced = run_score(model_dir, tmp_path / "in.csv", out, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert not out.is_symlink() and len(read_table(out)) == 20
    assert victim.read_text(encoding="utf-8") == "precious"


def test_symlink_at_old_partial_name_is_ignored(model_dir, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    export(tmp_path / "in.csv", 20)
    (tmp_path / ".out.csv.partial").symlink_to(victim)
    assert run_score(model_dir, tmp_path / "in.csv", tmp_path / "out.csv").returncode == 0
    assert victim.read_text(encoding="utf-8") == "precious"
    assert len(read_table(tmp_path / "out.csv")) == 20


def _running_with_workers(proc: subprocess.Popen, folder: Path) -> list[int]:
    """Wait until the run has a temporary output and two workers; their pids."""

    def ready():
        if proc.poll() is not None:
            pytest.fail(f"score ended early: {proc.stderr.read()}")
        kids = psutil.Process(proc.pid).children(recursive=True)
        return [k.pid for k in kids] if partials(folder) and len(kids) >= 2 else None

    return wait_for(ready, "a running score with workers")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_terminated_mid_run_leaves_nothing(model_dir, tmp_path, sig):
    export(tmp_path / "in.csv", 60_000)
    out = tmp_path / "out.csv"
    proc = start_score(model_dir, tmp_path / "in.csv", out, "--jobs", "2", "--chunk-size", "300")
    kids = _running_with_workers(proc, tmp_path)
    proc.send_signal(sig)
    code = proc.wait(timeout=300)
    err = proc.stderr.read()
    assert code == (143 if sig == signal.SIGTERM else 130), err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() and partials(tmp_path) == []
    wait_for(lambda: not any(alive(k) for k in kids), "the workers to exit")


def test_killed_parent_takes_its_workers_along(model_dir, tmp_path):
    export(tmp_path / "in.csv", 60_000)
    out = tmp_path / "out.csv"
    proc = start_score(model_dir, tmp_path / "in.csv", out, "--jobs", "2", "--chunk-size", "300")
    kids = _running_with_workers(proc, tmp_path)
    proc.kill()
    proc.wait(timeout=60)
    wait_for(lambda: not any(alive(k) for k in kids), "orphaned workers to exit")
    assert not out.exists()
    # SIGKILL allows no clean-up in the process; the next run to that output removes what it left
    left = partials(tmp_path)
    assert len(left) <= 1
    export(tmp_path / "small.csv", 10)
    again = run_score(model_dir, tmp_path / "small.csv", out)
    assert again.returncode == 0, again.stderr
    assert partials(tmp_path) == [] and len(read_table(out)) == 10


@contextlib.contextmanager
def tmpfs(folder: Path, options: str):
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    folder.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet", ".jsonl"])
def test_full_disk_is_one_line_and_leaves_nothing(model_dir, tmp_path, suffix):
    export(tmp_path / "in.csv", 4000, pad=400)  # 800 KB that no compression shrinks
    with tmpfs(tmp_path / "small", "size=512k") as small:
        out = small / f"out{suffix}"
        res = run_score(model_dir, tmp_path / "in.csv", out, "--chunk-size", "500")
        assert res.returncode == 2, res.stderr
        assert res.stderr.count("\n") == 1 and str(out) in res.stderr and "No space left" in res.stderr
        assert list(small.iterdir()) == []


def test_read_only_folder_is_one_line(model_dir, tmp_path):
    export(tmp_path / "in.csv", 10)
    if os.geteuid() == 0:  # root writes through permission bits: use a read-only mount instead
        ctx = tmpfs(tmp_path / "ro", "ro,size=64k")
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        ctx = contextlib.nullcontext(tmp_path / "ro")
    with ctx as folder:
        res = run_score(model_dir, tmp_path / "in.csv", folder / "out.csv")
        assert res.returncode == 2
        assert res.stderr.count("\n") == 1 and str(folder / "out.csv") in res.stderr
        assert list(folder.iterdir()) == []


def test_missing_input_is_one_line(model_dir, tmp_path):
    res = run_score(model_dir, tmp_path / "absent.csv", tmp_path / "out.csv")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "absent.csv" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_exception_while_saving_xlsx_removes_temp(model_dir, tmp_path, monkeypatch):
    import openpyxl

    from borrower_typing.batch import score_file

    export(tmp_path / "in.csv", 10)

    def broken_save(self, filename):
        filename.write(b"PK half a workbook")
        for sheet in self.worksheets:
            sheet.close()
        raise RuntimeError("zip writer failed")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(RuntimeError):
        score_file(model_dir, tmp_path / "in.csv", tmp_path / "out.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
    assert pd.read_csv(tmp_path / "in.csv").shape == (10, 2)

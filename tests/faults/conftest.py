"""Helpers for the fault suite: the CLI as a separate process (so it can be killed), exports to score."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTES = ["客户称明天还款", "对方说不认识借款人，挂断", "家属称借款人已经病故", "客户哭诉被骗，没钱还", "关机"]


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    return env


def start_score(model_dir: Path, src: Path, out: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "borrower_typing", "score", str(src), "-o", str(out), "-m", str(model_dir), "-q"]
    return subprocess.Popen([*args, *extra], env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_score(model_dir: Path, src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = start_score(model_dir, src, out, *extra)
    stdout, stderr = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def export(path: Path, rows: int, prefix: str = "A", pad: int = 0) -> pd.DataFrame:
    """``rows`` notes with case IDs; ``pad`` random hex characters per row in a column of their own (output
    that no compression shrinks)."""
    df = pd.DataFrame(
        {"案件编号": [f"{prefix}{i:07d}" for i in range(rows)], "text": [NOTES[i % len(NOTES)] for i in range(rows)]}
    )
    if pad:
        df["pad"] = [os.urandom(pad // 2).hex() for _ in range(rows)]
    df.to_csv(path, index=False, encoding="utf-8")
    return df


def wait_for(condition, what: str, limit: float = 300.0, step: float = 0.1):
    """Poll until ``condition()`` is truthy; the limit only bounds a hang, it asserts nothing about speed."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"gave up waiting for {what}")


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def partials(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".partial"))

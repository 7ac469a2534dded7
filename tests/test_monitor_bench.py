"""The monitoring benchmark in its reduced mode, so that it never rots. No timing is asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_monitoring_bench_smoke_writes_its_report(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.monitor_bench", "--smoke", "--rows", "2000", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "monitoring.json").read_text(encoding="utf-8"))
    assert results["rows"] == 2000 and results["monitor"]["full"]["rows"] == 2000
    assert results["monitor"]["tenth"]["rows"] == 200
    assert all(results["monitor"][k]["peak_rss_bytes"] > 0 for k in ("tenth", "full", "by"))
    assert results["verdict"] in ("ok", "watch", "drift")
    # the mean vocabulary share of `monitor`'s sample is close to that of every note (`score --monitor`)
    sampled, every = (results["vocab_mean"][k] for k in ("sampled", "every_note"))
    assert sampled["sum"] / sum(sampled["counts"]) == pytest.approx(every["sum"] / sum(every["counts"]), abs=0.02)
    report = (tmp_path / "monitoring.md").read_text(encoding="utf-8")
    assert "monitoring time / scoring time" in report and "score --monitor" in report

"""The benchmark harness in its reduced mode, so that `make bench` never rots. No timing is asserted."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_smoke_writes_a_complete_report(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "--smoke", "--out", str(tmp_path), "--skip", "spark"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    assert set(results["accuracy"]["models"]) == {"project", "baseline", "fasttext"}
    for entry in results["accuracy"]["models"].values():
        assert 0 <= entry["style"]["macro_f1_mean"] <= 1 and len(entry["style"]["per_fold"]) == 3
        assert entry["size_bytes"] > 0
    tp = results["throughput"]
    assert tp["rows"] == results["rows"]
    assert all(
        tp[k]["notes_per_s"] > 0 for k in ("score_jobs1", "score_jobs2", "in_memory_api", "in_memory_api_no_memo")
    )
    assert results["profile"]["functions"], "the profile must name where the time goes"
    assert {"normalize", "tokenize (word)", "vectorize char", "classify"} <= set(results["stages_us_per_note"])
    assert results["memory"]["peak_rss_bytes"] and results["latency"]["cold_predict_s"] > 0
    assert "p50" in results["latency"]["serve_ms"]
    rob = results["robustness"]["models"]
    assert set(rob) == {"project", "baseline", "fasttext"}
    assert all(
        set(m["macro_f1"]) == {"clean", "traditional", "shorthand", "system_lines", "asr", "no_punct"}
        for m in rob.values()
    )
    report = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    for heading in (
        "## Targets",
        "## 1. Accuracy",
        "## 2. Tokeniser",
        "## 3. Scoring",
        "## 4. Memory",
        "## 5. Latency",
        "## 6. Training",
        "## Register robustness",
        "## Reading the figures",
    ):
        assert heading in report
    assert "targets" in report.split("## Reading the figures")[1]


@pytest.mark.slow
def test_bench_robustness_section_alone_keeps_the_rest(tmp_path):
    saved = {"other": {"kept": True}}
    (tmp_path / "benchmarks.json").write_text(json.dumps(saved), encoding="utf-8")
    cmd = [sys.executable, "-m", "benchmarks.bench", "--smoke", "--only", "robustness", "--out", str(tmp_path)]
    for extra in (["--save-as-before"], []):
        proc = subprocess.run(cmd + extra, cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "benchmarks.json").read_text(encoding="utf-8"))
    assert results["other"] == {"kept": True}
    assert results["robustness"]["models"]["project"]["macro_f1"]["clean"] > 0
    assert results["robustness_before"]["folds"] == 2

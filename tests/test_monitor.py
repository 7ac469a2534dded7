"""Monitoring a scored batch against the model's reference profile: the statistics, the verdict on batches
that drifted in known ways, slices, the command's exit codes and bad input."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from borrower_typing.batch import score_file
from borrower_typing.cli import app
from borrower_typing.monitor import ks_distance, psi, run_monitor

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "monitor.yaml"
SAMPLE = ROOT / "data" / "samples" / "call_export.csv"
runner = CliRunner()
# A script none of the corpus registers covers (English notes are read since the register normalisation).
ENGLISH = [
    "고객이 월급이 늦어서 다음 주 금요일에 갚겠다고 함.",
    "차용인이 대화를 거부하고 전화를 끊음.",
    "내일 갚겠다고 약속함, 이번 달 세 번째.",
    "아내가 지난달에 돌아가셨다고 함.",
    "규제 기관에 민원을 넣겠다고 위협함.",
]
NEW_WORDS = ["量子纠缠", "区块链钱包", "元宇宙", "碳中和", "直播带货", "数字藏品", "光刻机", "算力租赁"]


def _signals(summary: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in summary["signals"]}


def _monitor(model_dir: Path, frame: pd.DataFrame, tmp_path: Path, by: list[str] | None = None) -> dict:
    """Score ``frame`` with the real batch path, then monitor the scored file."""
    raw, scored = tmp_path / "batch.csv", tmp_path / "batch.scored.csv"
    frame.to_csv(raw, index=False)
    score_file(model_dir, raw, scored, text_column="text", overwrite=True)
    result = run_monitor(scored, str(model_dir), CONFIG, by, tmp_path / "report.html", track=False)
    assert result.report.is_file() and result.summary_file.is_file()
    print(result.summary["verdict"], {s["name"]: round(s["value"], 3) for s in result.summary["signals"]})
    return result.summary


# --- statistics ------------------------------------------------------------------------------------------
def test_psi_is_zero_for_equal_mixes_and_grows_with_the_shift():
    assert psi([10, 20, 70], [1, 2, 7]) == pytest.approx(0.0)
    small, large = psi([50, 50], [55, 45]), psi([50, 50], [90, 10])
    assert 0 < small < 0.1 < 0.25 < large
    assert np.isfinite(psi([50, 50, 0], [40, 40, 20]))  # an empty reference bin does not make it infinite
    assert ks_distance([1, 1, 2], [1, 1, 2]) == 0 and ks_distance([1, 0], [0, 1]) == 1


# --- the checks ----------------------------------------------------------------------------------
def test_sample_export_scored_with_the_default_model_is_not_drift(profiled_model_dir, tmp_path):
    scored = tmp_path / "sample.scored.csv"
    score_file(profiled_model_dir, SAMPLE, scored, text_fallbacks=["催记内容"])
    summary = run_monitor(scored, str(profiled_model_dir), CONFIG, None, tmp_path / "r.html", track=False).summary
    assert summary["rows"] == 300
    print(summary["verdict"], {s["name"]: round(s["value"], 3) for s in summary["signals"]})
    assert summary["verdict"] != "drift", summary["signals"]


def test_held_out_notes_are_stable(half_model, tmp_path):
    model_dir, held_out = half_model
    summary = _monitor(model_dir, held_out[["text"]], tmp_path)
    assert summary["verdict"] == "ok", summary["signals"]


def test_one_type_removed_shows_in_the_type_mix(half_model, tmp_path):
    model_dir, held_out = half_model
    summary = _monitor(model_dir, held_out[held_out["label"] != "victim"][["text"]], tmp_path)
    signals = _signals(summary)
    assert summary["verdict"] == "drift" and signals["type_psi"] == "drift"
    assert signals["length_psi"] != "drift" and signals["vocab_share_drop"] == "ok"


def test_one_style_only_shows_in_the_note_length(half_model, tmp_path):
    model_dir, held_out = half_model
    summary = _monitor(model_dir, held_out[held_out["style"] == "crm"][["text"]], tmp_path)
    signals = _signals(summary)
    assert summary["verdict"] == "drift" and signals["length_psi"] == "drift"
    assert signals["type_psi"] == "ok"


def test_many_unknown_words_show_in_the_vocabulary_share(half_model, tmp_path):
    model_dir, held_out = half_model
    rng = random.Random(0)
    texts = ["".join(c + (rng.choice(NEW_WORDS) if rng.random() < 0.15 else "") for c in t) for t in held_out["text"]]
    summary = _monitor(model_dir, pd.DataFrame({"text": texts}), tmp_path)
    signals = _signals(summary)
    assert summary["verdict"] == "drift"
    assert signals["vocab_share_drop"] == "drift" and signals["vocab_share_psi"] == "drift"
    assert signals["type_psi"] == "ok"
    assert {t["token"] for t in summary["new_tokens"][:10]} & set(NEW_WORDS)


def test_unreadable_notes_show_in_the_review_share(half_model, tmp_path):
    model_dir, held_out = half_model
    rng = random.Random(0)
    summary = _monitor(model_dir, pd.DataFrame({"text": [rng.choice(ENGLISH) for _ in range(len(held_out))]}), tmp_path)
    assert summary["verdict"] == "drift" and _signals(summary)["review_share_increase"] == "drift"
    assert summary["batch"]["review_reasons"]["not_chinese"] == len(held_out)


def test_the_drifting_slice_is_listed_first(half_model, tmp_path):
    model_dir, held_out = half_model
    frame = held_out[["text"]].copy()
    frame["催收员"] = [f"C00{i % 3} 王**" for i in range(len(frame))]
    frame["月份"] = ["2026-10" if i % 2 else "2026-11" for i in range(len(frame))]
    english = frame["催收员"].eq("C002 王**") & frame["月份"].eq("2026-11")
    rng = random.Random(1)
    frame.loc[english, "text"] = [rng.choice(ENGLISH) for _ in range(int(english.sum()))]
    summary = _monitor(model_dir, frame, tmp_path, by=["催收员", "月份"])
    first = summary["slices"][0]
    assert first["slice"] == {"催收员": "C002 王**", "月份": "2026-11"} and first["status"] == "drift"
    assert summary["slices_drifting"] == 1 and summary["verdict"] == "drift"
    assert len(summary["slices"]) == 6


# --- the command -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def drifted_scored(half_model, tmp_path_factory) -> Path:
    model_dir, _ = half_model
    tmp = tmp_path_factory.mktemp("drifted")
    pd.DataFrame({"text": ENGLISH * 60}).to_csv(tmp / "in.csv", index=False)
    score_file(model_dir, tmp / "in.csv", tmp / "out.csv", text_column="text")
    return tmp / "out.csv"


def test_fail_on_drift_exits_1_only_when_asked(half_model, drifted_scored, tmp_path):
    model_dir, _ = half_model
    args = ["monitor", str(drifted_scored), "--model", str(model_dir), "-o", str(tmp_path / "r.html"), "--no-tracking"]
    result = runner.invoke(app, [*args, "-c", str(CONFIG)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, [*args, "-c", str(CONFIG), "--fail-on-drift"])
    assert result.exit_code == 1 and "DRIFT" in result.output
    summary = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert summary["verdict"] == "drift"


def test_bad_input_is_one_line_and_exit_2(half_model, drifted_scored, tmp_path):
    model_dir, _ = half_model
    base = ["--model", str(model_dir), "--no-tracking", "-o", str(tmp_path / "r.html")]
    plain = tmp_path / "plain.csv"
    plain.write_text("text\n客户说下周还\n", encoding="utf-8")
    result = runner.invoke(app, ["monitor", str(plain), *base])
    assert result.exit_code == 2 and "plain.csv" in result.output and "'type'" in result.output
    broken = tmp_path / "broken.csv"
    frame = pd.read_csv(drifted_scored, dtype=str)
    frame.loc[3, "confidence"] = "high"
    frame.to_csv(broken, index=False)
    result = runner.invoke(app, ["monitor", str(broken), *base])
    assert result.exit_code == 2 and "row 4" in result.output and "confidence" in result.output
    bad_config = tmp_path / "monitor.yaml"
    bad_config.write_text("monitor:\n  psi_warn: 0.5\n  psi_alert: 0.25\n", encoding="utf-8")
    result = runner.invoke(app, ["monitor", str(drifted_scored), *base, "-c", str(bad_config)])
    assert result.exit_code == 2 and "psi_warn" in result.output
    assert runner.invoke(app, ["monitor", str(drifted_scored), *base, "--by", "nope"]).exit_code == 2


def test_score_monitor_matches_monitoring_the_output(half_model, tmp_path):
    """One pass (profiles made while scoring, several chunks and workers) gives the same summary as reading the
    output back."""
    model_dir, held_out = half_model
    frame = held_out[["text"]].assign(催收员=[f"C{i % 4}" for i in range(len(held_out))])
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    args = ["score", str(tmp_path / "in.csv"), "-o", str(out), "--model", str(model_dir), "--text-column", "text"]
    args += ["--monitor", "--by", "催收员", "--monitor-config", str(CONFIG), "--no-tracking", "--chunk-size", "300"]
    result = runner.invoke(app, [*args, "--jobs", "2", "-q", "--monitor-report", str(tmp_path / "one.html")])
    assert result.exit_code == 0, result.output
    one = json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))
    two = run_monitor(out, str(model_dir), CONFIG, ["催收员"], tmp_path / "two.html", track=False).summary
    for key in ("verdict", "rows", "signals", "slices", "new_tokens", "batch"):
        assert _rounded(one[key]) == _rounded(two[key]), key  # sums of shares add up in another order


def _rounded(node):
    if isinstance(node, float):
        return round(node, 9)
    if isinstance(node, dict):
        return {k: _rounded(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_rounded(v) for v in node]
    return node


def test_a_column_with_a_value_per_row_is_refused_as_a_slice(half_model, tmp_path):
    model_dir, held_out = half_model
    frame = held_out[["text"]].head(300).assign(案件编号=[f"AJ{i:06d}" for i in range(300)])
    frame.to_csv(tmp_path / "in.csv", index=False)
    score_file(model_dir, tmp_path / "in.csv", tmp_path / "out.csv", text_column="text")
    config = tmp_path / "monitor.yaml"
    config.write_text("monitor:\n  max_slices: 100\n", encoding="utf-8")
    args = ["monitor", str(tmp_path / "out.csv"), "--model", str(model_dir), "--by", "案件编号", "-c", str(config)]
    result = runner.invoke(app, [*args, "--no-tracking", "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "more than 100 distinct values of 案件编号" in result.output
    assert not (tmp_path / "r.html").exists()

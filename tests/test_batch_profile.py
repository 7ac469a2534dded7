"""Profiling a scored batch: chunks, slices, and the sample on which the costly per-note figures are measured.

Type, confidence, review reason and length are counted on every row; the vocabulary share and the tokens need
the note normalised again, so `monitor` measures them on a sample (every note of the first ``sample_rows`` of
the batch and of each slice, then every ``sample_every``-th, weighted), while `score --monitor` takes every
note's vocabulary share from scoring itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from borrower_typing.batch import score_file
from borrower_typing.batch_profile import profile_file, sample_weights
from borrower_typing.config import MonitorConfig, load_monitor_config
from borrower_typing.model import TypingModel
from borrower_typing.monitor import run_monitor


def _config(tmp_path: Path, rows: int, every: int) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(f"monitor:\n  sample_rows: {rows}\n  sample_every: {every}\n  chunk_size: 250\n", encoding="utf-8")
    return path


def test_sample_weights_measure_the_first_rows_whole_then_every_kth_for_k():
    cfg = MonitorConfig(sample_rows=3, sample_every=4)
    weights = sample_weights(np.arange(1, 16), cfg)
    assert weights.tolist() == [1, 1, 1, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4]
    # the weights add up to about as many notes as there are: the sample stands for the whole
    for n in (1, 3, 100, 10_007):
        assert abs(int(sample_weights(np.arange(1, n + 1), cfg).sum()) - n) < cfg.sample_every


def test_earlier_config_names_still_read():
    cfg = MonitorConfig.model_validate({"token_rows": 7, "token_every": 9})
    assert (cfg.sample_rows, cfg.sample_every) == (7, 9)


@pytest.fixture(scope="module")
def scored_held_out(half_model, tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    model_dir, held_out = half_model
    tmp = tmp_path_factory.mktemp("sampled")
    frame = held_out[["text"]].assign(催收员=[f"C{i % 3}" if i % 10 else "C9" for i in range(len(held_out))])
    frame.to_csv(tmp / "in.csv", index=False)
    score_file(model_dir, tmp / "in.csv", tmp / "scored.csv", text_column="text")
    return model_dir, tmp / "scored.csv", frame


def test_only_the_sample_is_normalised_again(scored_held_out, tmp_path, monkeypatch):
    model_dir, scored, frame = scored_held_out
    cfg = load_monitor_config(_config(tmp_path, 50, 10))
    model = TypingModel.load(model_dir)
    seen: list[int] = []
    original = TypingModel.normalize_notes

    def counted(self, texts):
        seen.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(TypingModel, "normalize_notes", counted)
    batch = profile_file(model, scored, cfg)
    n = len(frame)
    assert batch.overall.rows == n
    assert sum(seen) == int((sample_weights(np.arange(1, n + 1), cfg) > 0).sum()) < n / 5
    assert batch.overall.token_notes == sum(seen)  # tokens are counted on the same sample, unweighted


def test_a_slice_under_the_sample_size_is_measured_whole(scored_held_out, tmp_path):
    model_dir, scored, frame = scored_held_out
    cfg = load_monitor_config(_config(tmp_path, 250, 20))
    batch = profile_file(TypingModel.load(model_dir), scored, cfg, by=["催收员"])
    small = batch.slices[("C9",)]
    assert small.rows == (frame["催收员"] == "C9").sum() < cfg.sample_rows
    assert small.vocab.sum() == small.content_rows  # every content note measured once (all have 2+ characters)
    big = batch.slices[("C1",)]
    # a bigger one: its first notes and every 20th after them, weighted to stand for all its notes
    assert big.rows > cfg.sample_rows and big.vocab.sum() == pytest.approx(big.content_rows, rel=0.1)


def test_monitor_sample_agrees_with_every_note_of_score_monitor(half_model, scored_held_out, tmp_path):
    """`monitor` measures the vocabulary share on a sample, `score --monitor` on every note (from scoring): the
    figures that every row gives agree exactly, the sampled ones closely."""
    model_dir, _, frame = scored_held_out
    config = _config(tmp_path, 100, 5)
    frame.to_csv(tmp_path / "in.csv", index=False)
    from typer.testing import CliRunner

    from borrower_typing.cli import app

    args = ["score", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv"), "--model", str(model_dir)]
    args += ["--text-column", "text", "--monitor", "--monitor-config", str(config), "--no-tracking", "-q"]
    result = CliRunner().invoke(app, [*args, "--monitor-report", str(tmp_path / "one.html")])
    assert result.exit_code == 0, result.output
    every = json.loads((tmp_path / "one.json").read_text(encoding="utf-8"))
    out, report = tmp_path / "out.csv", tmp_path / "two.html"
    sampled = run_monitor(out, str(model_dir), config, None, report, track=False).summary
    for key in ("types", "review_reasons", "confidence", "length", "content_rows"):
        assert sampled["batch"][key] == every["batch"][key], key
    a, b = sampled["batch"]["vocab_share"], every["batch"]["vocab_share"]
    assert sum(b["counts"]) == every["batch"]["content_rows"]  # every note measured
    assert sum(a["counts"]) == pytest.approx(sum(b["counts"]), abs=5)  # weighted, the sample stands for them all
    assert a["sum"] / sum(a["counts"]) == pytest.approx(b["sum"] / sum(b["counts"]), abs=0.01)
    signals = {s["name"]: s for s in sampled["signals"]}
    assert signals["vocab_share_psi"]["status"] == "ok" and sampled["verdict"] == every["verdict"] == "ok"


def test_score_monitor_measures_every_note_also_for_a_model_without_the_vocabulary_rule(scored_held_out, tmp_path):
    """Scoring measures the share only where the review rule uses it; without the rule, `score --monitor`
    measures every note itself, in every slice and chunk (no sample restarting per chunk)."""
    import shutil

    from borrower_typing.bundle import find_bundle

    model_dir, _, frame = scored_held_out
    copy = Path(shutil.copytree(model_dir, tmp_path / "model"))
    meta_path = find_bundle(copy) / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta_path.write_text(json.dumps(meta | {"min_vocab_share": 0.0}), encoding="utf-8")
    assert TypingModel.load(copy).min_vocab_share == 0
    frame.to_csv(tmp_path / "in.csv", index=False)
    cfg = MonitorConfig(sample_rows=10, sample_every=50)
    summary = score_file(
        copy, tmp_path / "in.csv", tmp_path / "out.csv", text_column="text", chunk_size=200, monitor=cfg,
        monitor_by=["催收员"],
    )  # fmt: skip
    profiles = summary.profiles
    assert (
        profiles.overall.vocab.sum()
        == profiles.overall.content_rows
        == sum(p.content_rows for p in profiles.slices.values())
    )
    assert all(p.vocab.sum() == p.content_rows for p in profiles.slices.values())

"""The simulated labelling loop's benchmark harness, in its smoke variant (one style, two rounds)."""

from __future__ import annotations

import json

import pytest

from benchmarks.active_learning import PROJECT, main, split_pool_test, summarise


def test_pool_and_test_halves_are_disjoint_and_stratified(corpus):
    notes = corpus[corpus["style"] == "crm"]
    pool, test = split_pool_test(notes)
    assert not set(pool["id"]) & set(test["id"]) and len(pool) + len(test) == len(notes)
    assert (pool["label"].value_counts() - test["label"].value_counts()).abs().max() <= 1


@pytest.mark.slow
def test_smoke_run_writes_curves_report_and_plot(tmp_path):
    results = main(["--smoke", "--out", str(tmp_path)])
    (row,) = results["styles"]
    curve = row["curves"][PROJECT]
    assert [n for n, _ in curve] == [0, 25, 50]
    assert all(0 <= f1 <= 1 for _, f1 in curve)
    assert summarise(row, 0.01)["labels_project"] in (None, 0, 25, 50)
    saved = json.loads((tmp_path / "active_learning.json").read_text(encoding="utf-8"))
    assert saved["styles"][0]["curves"][PROJECT] == [list(p) for p in curve]
    assert (tmp_path / "active_learning.png").stat().st_size > 1000
    assert "held-out style" in (tmp_path / "active_learning.md").read_text(encoding="utf-8")

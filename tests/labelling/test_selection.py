"""Which notes get chosen: review rows first, uncertainty with diversity, audit doubts, duplicates once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from borrower_typing.labelling.selection import SelectionConfig, margins, scored_pool, select


def _pool(n_same: int = 20, n_other: int = 8) -> tuple[pd.DataFrame, np.ndarray]:
    """n_same near-identical, very uncertain notes; n_other different, a bit less uncertain ones."""
    rows, feats = [], []
    for i in range(n_same):
        rows.append({"text": f"same {i}", "key": f"same {i}", "margin": 0.01 + i * 1e-4, "review_reason": ""})
        feats.append([1.0, 0.0] + [0.0] * n_other)
    for j in range(n_other):
        rows.append({"text": f"other {j}", "key": f"other {j}", "margin": 0.2 + j * 1e-3, "review_reason": ""})
        vec = [0.0, 0.0] + [0.0] * n_other
        vec[2 + j] = 1.0
        feats.append(vec)
    pool = pd.DataFrame(rows).assign(predicted="evasive", top_class="evasive", confidence=0.5)
    return pool, np.asarray(feats)


def test_margin_is_gap_between_top_two():
    proba = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
    assert margins(proba) == pytest.approx([0.2, 0.01])


def test_diversity_spreads_the_budget_where_margin_alone_does_not():
    pool, feats = _pool()
    by_margin = select(pool, 5, feats, SelectionConfig(strategy="margin"))
    diverse = select(pool, 5, feats, SelectionConfig(strategy="uncertainty-diversity"))
    assert by_margin["text"].str.startswith("same").all()
    assert diverse["text"].str.startswith("same").sum() == 1
    assert len(set(diverse.index)) == 5
    asked = []
    lazy = select(pool, 5, lambda rows: asked.append(len(rows)) or feats[rows], SelectionConfig())
    assert list(lazy.index) == list(diverse.index) and asked == [25]  # features of the 5 × 5 candidates only


def test_low_confidence_rows_come_first():
    pool, feats = _pool()
    pool.loc[[21, 25], "review_reason"] = "low_confidence"
    chosen = select(pool, 4, feats)
    assert list(chosen["why"][:2]) == ["low_confidence", "low_confidence"]
    assert set(chosen.index[:2]) == {21, 25}


def test_unlabellable_notes_and_duplicates_are_never_chosen_twice():
    pool, feats = _pool(n_same=3, n_other=3)
    pool.loc[0, "review_reason"] = "empty"
    pool.loc[1, "review_reason"] = "not_chinese"
    pool.loc[4, "key"] = pool.loc[3, "key"]  # the same note twice
    for strategy in ("uncertainty-diversity", "margin", "random"):
        chosen = select(pool, 10, feats, SelectionConfig(strategy=strategy))
        assert not ({0, 1} & set(chosen.index))
        assert chosen["key"].is_unique and len(chosen) == 3


def test_audit_slice_takes_the_most_doubted_labels():
    pool, feats = _pool()
    pool["given"] = "evasive"
    pool["p_given"] = 0.9
    pool.loc[[7, 12, 13], ["given", "p_given"]] = [("victim", 0.05), ("victim", 0.01), ("victim", 0.2)]
    chosen = select(pool, 10, feats, SelectionConfig(audit_share=0.2))
    audit = chosen[chosen["why"] == "label_audit"]
    assert list(audit.index) == [12, 7]
    assert len(chosen) == 10 and chosen.index.is_unique


def test_random_is_reproducible_by_seed():
    pool, feats = _pool()
    a = select(pool, 6, feats, SelectionConfig(strategy="random", seed=1))
    b = select(pool, 6, feats, SelectionConfig(strategy="random", seed=1))
    c = select(pool, 6, feats, SelectionConfig(strategy="random", seed=2))
    assert list(a.index) == list(b.index) and list(a.index) != list(c.index)


def test_unknown_strategy_is_refused():
    pool, feats = _pool()
    with pytest.raises(ValueError, match="unknown strategy"):
        select(pool, 3, feats, SelectionConfig(strategy="entropy"))  # type: ignore[arg-type]


def test_scored_pool_with_a_real_model(trained_model):
    texts = ["客户称你们去起诉吧我不怕", "客户称你们去起诉吧我不怕", "关机", ""]
    pool = scored_pool(trained_model, texts, given=["confident", "confident", None, None])
    assert pool["key"].iloc[0] == pool["key"].iloc[1]
    assert set(pool.loc[[2, 3], "review_reason"]) <= {"too_short", "empty"}
    assert (pool["margin"].between(0, 1)).all() and pool["p_given"].iloc[0] > 0.5
    chosen = select(pool, 4, trained_model.transform(texts))
    assert list(chosen.index) == [0]

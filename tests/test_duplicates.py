"""Duplicate keys, label conflicts and duplicate-grouped cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from borrower_typing.config import TrainConfig
from borrower_typing.data import DataError
from borrower_typing.duplicates import duplicate_key, duplicate_keys, resolve_conflicts, summarise
from borrower_typing.train import evaluate_config


def test_key_ignores_spacing_punctuation_digits_and_personal_numbers():
    base = duplicate_key("客户称下周三还款，已还500元。")
    assert duplicate_key("客户称下周三还款,  已还 800 元！") == base
    assert duplicate_key("客户称下周三还款，已还500元。 电话13912345678") == duplicate_key(
        "客户称下周三还款，已还500元。 电话13800001111"
    )
    assert duplicate_key("客户称下周四还款，已还500元。") != base  # another word is another note
    assert duplicate_key("   ") == duplicate_key(None) == ""


def table(rows):
    df = pd.DataFrame(rows, columns=["text", "label"])
    df["row"] = range(2, len(df) + 2)
    df["key"] = duplicate_keys(df["text"])
    return df


def test_conflicts_are_told_apart_from_duplicates():
    df = table(
        [
            ("你去告啊我不怕", "confident"),
            ("你去告啊，我不怕！", "confident"),  # a harmless duplicate
            ("下周一定还", "serial_promiser"),
            ("下周 一定还。", "evasive"),  # a conflict
            ("人已经去世了", "deceased"),
        ]
    )
    found = summarise(df["key"], df["label"], df["row"])
    assert found.duplicate_rows == 1 and found.distinct == 3
    assert len(found.conflicts) == 1 and found.conflicts[0].rows == [4, 5]
    assert found.conflicts[0].labels == {"serial_promiser": 1, "evasive": 1}


def test_conflict_policies():
    df = table([("下周一定还", "serial_promiser"), ("下周一定还。", "serial_promiser"), ("下周一定还", "evasive")])
    conflicts = summarise(df["key"], df["label"], df["row"]).conflicts
    with pytest.raises(DataError, match=r"1 label conflicts.*rows 2, 3, 4.*--on-conflict"):
        resolve_conflicts(df, conflicts, "error", "x.csv")
    kept, removed = resolve_conflicts(df, conflicts, "majority", "x.csv")
    assert kept["label"].tolist() == ["serial_promiser", "serial_promiser"] and removed == [4]
    kept, removed = resolve_conflicts(df, conflicts, "drop", "x.csv")
    assert kept.empty and removed == [2, 3, 4]
    tie = table([("下周一定还", "serial_promiser"), ("下周一定还", "evasive")])
    kept, removed = resolve_conflicts(tie, summarise(tie["key"], tie["label"]).conflicts, "majority", "x.csv")
    assert kept.empty and removed == [2, 3]  # no majority: neither label is trusted


@pytest.mark.slow
def test_repeats_do_not_inflate_cross_validation(corpus):
    """An export where every note comes three times (once retyped) scores no higher in CV than the same
    notes once each, beyond fold noise; without the grouping the repeats would inflate it."""
    distinct = corpus.groupby("label").sample(n=12, random_state=3)[["text", "label"]].reset_index(drop=True)
    retyped = distinct.assign(text=distinct["text"].str.replace("，", ", ") + "。")
    repeated = pd.concat([distinct, distinct, retyped], ignore_index=True)
    cfg = TrainConfig.model_validate({"calibration": {"cv": 3}, "data": {"group_column": None}})

    def cv(frame, grouped=True):
        data = frame.assign(key=duplicate_keys(frame["text"])) if grouped else frame
        return float(np.mean(evaluate_config(cfg, data, with_groups=False).cv_f1))

    deduplicated, grouped, ungrouped = cv(distinct), cv(repeated), cv(repeated, grouped=False)
    print(f"CV macro-F1: deduplicated {deduplicated:.3f}, repeats grouped {grouped:.3f}, ungrouped {ungrouped:.3f}")
    assert grouped <= deduplicated + 0.05
    assert ungrouped > grouped + 0.05  # the leak the grouping closes is real on this data

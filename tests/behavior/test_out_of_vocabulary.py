"""A note most of whose content the vocabulary does not know goes to review as ``out_of_vocabulary``, not to a
confident type; notes the model typed before keep their type."""

import random

import pandas as pd
import pytest

from borrower_typing.data import read_table
from borrower_typing.model import TypingModel

ROOT_SAMPLE = "data/samples/call_export.csv"


def _random_cjk(n: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


def test_a_million_random_chinese_characters_go_to_review(trained_model):
    pred = trained_model.predict([_random_cjk(1_000_000)], evidence=0)[0]
    assert pred.needs_review and pred.review_reason == "out_of_vocabulary"
    assert pred.strategy == trained_model.labels.strategy_text("none")  # no playbook for a guess


@pytest.mark.parametrize(
    "note",
    [
        _random_cjk(40, seed=1),
        "量子纠缠区块链元宇宙碳中和光刻机算力租赁低空经济",
        "Khách hàng nói lương bị trễ 客户称 sẽ trả vào thứ Sáu tuần sau, đừng gọi cho bố mẹ anh ấy nữa",
    ],
)
def test_notes_the_vocabulary_does_not_know_go_to_review(trained_model, note):
    pred = trained_model.predict([note])[0]
    assert pred.review_reason == "out_of_vocabulary", (pred.type, pred.confidence)


def test_the_rule_sends_no_previously_typed_note_to_review(trained_model, corpus, model_dir):
    """Counted on the corpus and the sample export: notes typed with the rule off stay typed with it on."""
    off = TypingModel.load(model_dir)
    off.min_vocab_share = 0.0
    sample = read_table(ROOT_SAMPLE)["催记内容"].tolist()
    for notes in (corpus["text"].tolist(), sample):
        before = off.predict(notes, evidence=0, strategy=False)
        after = trained_model.predict(notes, evidence=0, strategy=False)
        moved = [n for n, a, b in zip(notes, before, after, strict=True) if not a.needs_review and b.needs_review]
        assert moved == []


def test_threshold_comes_from_the_review_config_and_is_saved(trained_model, tmp_path):
    from borrower_typing.config import TrainConfig

    assert TrainConfig().review.min_vocab_share == trained_model.min_vocab_share == 0.5
    trained_model.min_vocab_share = 0.2
    try:
        loaded = TypingModel.load(trained_model.save(tmp_path / "m"))
    finally:
        trained_model.min_vocab_share = 0.5
    assert loaded.min_vocab_share == 0.2
    frame = loaded.predict_frame(pd.DataFrame({"text": ["量子纠缠区块链元宇宙碳中和"]}))
    assert frame["review_reason"].tolist() == ["out_of_vocabulary"]

import json

import numpy as np
import pandas as pd
import pytest

from borrower_typing.config import TrainConfig
from borrower_typing.labels import TYPES
from borrower_typing.model import TRUSTED_TYPES, TypingModel, find_bundle
from borrower_typing.pipeline import build_pipeline


def test_one_prediction_per_note_in_order(trained_model):
    notes = [
        "客户哭着说老公把钱拿走了，店也关了",
        "你去起诉啊，我一点都不怕",
        "",
        None,
        "客户称下周三一定还，已经第三次改期",
    ]
    preds = trained_model.predict(notes)
    assert len(preds) == len(notes)
    assert preds[0].type == "victim" and preds[1].type == "confident"
    assert preds[2].review_reason == "empty" and preds[3].review_reason == "empty"


def test_prediction_fields(trained_model):
    pred = trained_model.predict(["家属称借款人上个月车祸去世了，正在办后事"])[0]
    assert pred.type == "deceased" and pred.type_zh == "死亡"
    assert 0.0 <= pred.confidence <= 1.0
    assert len(pred.alternatives) == 2
    assert all(set(a) == {"type", "confidence"} for a in pred.alternatives)
    assert all(a["type"] in TYPES and a["confidence"] <= pred.confidence for a in pred.alternatives)
    assert not pred.needs_review and pred.review_reason == ""
    assert (pred.best_guess, pred.best_guess_confidence) == (pred.type, pred.confidence)
    assert pred.evidence and all(isinstance(e, str) and e for e in pred.evidence)
    assert "1161" in pred.strategy
    assert set(pred.to_dict()) == {
        "type",
        "type_zh",
        "confidence",
        "best_guess",
        "best_guess_confidence",
        "alternatives",
        "needs_review",
        "review_reason",
        "evidence",
        "strategy",
    }
    json.dumps(pred.to_dict(), ensure_ascii=False)


def test_the_guess_is_always_a_type_and_a_review_row_never_carries_it(trained_model):
    for pred in trained_model.predict(["关机", "已结清，无其他", "地址已更新", "", "客户称下周五一定还"]):
        assert pred.best_guess in TYPES and pred.confidence == pred.best_guess_confidence
        if pred.needs_review:
            assert (pred.type, pred.type_zh) == ("none", "待人工复核")
            assert pred.strategy == trained_model.labels.strategy_text("none")
        else:
            assert pred.type == pred.best_guess and pred.review_reason == ""


@pytest.mark.parametrize(
    ("note", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello, call me back", "no_basis"),
        ("12345", "not_chinese"),
        ("😀😀 ?!", "not_chinese"),
        ("[系统] 外呼 未接通\n[系统] 外呼 未接通", "no_basis"),
        ("好的", "too_short"),
        ("本人未接，已发短信提醒", "no_basis"),
    ],
)
def test_review_reasons(trained_model, note, reason):
    pred = trained_model.predict([note])[0]
    assert pred.needs_review and pred.review_reason == reason
    assert pred.type == "none" and pred.best_guess in TYPES
    # no basis for a type: the review guidance, not the guessed type's playbook
    assert pred.strategy == trained_model.labels.strategy_text("none")


def test_low_confidence_goes_to_review(trained_model):
    model = TypingModel(trained_model.pipeline, trained_model.labels, threshold=1.01)
    pred = model.predict(["你去起诉啊，我一点都不怕"])[0]
    assert pred.review_reason == "low_confidence"
    # the guess is kept apart from the type a person acts on, and the strategy is the review guidance
    assert pred.type == "none" and pred.best_guess == "confident" and pred.best_guess_confidence < 1.01
    assert pred.strategy == model.labels.strategy_text("none")


def test_evidence_comes_from_the_note(trained_model):
    note = "客户说你们去起诉吧，律师函我见多了，我不怕"
    pred = trained_model.predict([note])[0]
    assert pred.evidence
    assert all(piece.replace("[金额]", "").replace("[日期]", "") in note for piece in pred.evidence)


def test_evidence_pieces_do_not_begin_or_end_with_punctuation(trained_model, corpus):
    marks = set(" ,.!?;:，。！？；：、")
    for pred in trained_model.predict(corpus["text"].head(300).tolist()):
        for piece in pred.evidence:
            assert piece and piece[0] not in marks and piece[-1] not in marks, piece


def test_predict_frame_keeps_rows_and_columns(trained_model):
    df = pd.DataFrame({"id": [7, 8, 9], "text": ["你去告啊", None, "客户哭诉生意失败"], "type": ["x", "y", "z"]})
    df.index = [10, 20, 30]
    out = trained_model.predict_frame(df)
    assert list(out.index) == [10, 20, 30]
    assert out["id"].tolist() == [7, 8, 9]
    assert out["type_input"].tolist() == ["x", "y", "z"]
    assert {
        "type",
        "type_zh",
        "confidence",
        "needs_review",
        "review_reason",
        "best_guess",
        "best_guess_confidence",
        "alternatives",
        "evidence",
        "strategy",
    } <= set(out.columns)
    assert out.loc[20, "type"] == "none" and out.loc[20, "best_guess"] in TYPES
    assert all(isinstance(a, list) and len(a) == 2 for a in out["alternatives"])


def test_predict_frame_missing_column(trained_model):
    with pytest.raises(KeyError, match="note"):
        trained_model.predict_frame(pd.DataFrame({"text": ["x"]}), text_column="note")


def test_save_load_identical(trained_model, tmp_path):
    trained_model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "labels.yaml",
        "meta.json",
        "pipeline.skops",
        "scorer.npz",
    ]
    again = TypingModel.load(tmp_path / "m")
    notes = ["客户称明天还", "你们再打电话我就投诉到12378，不处理好一分不还"]
    assert np.allclose(again.predict_proba(notes), trained_model.predict_proba(notes))
    assert again.threshold == trained_model.threshold


def test_loading_refuses_untrusted_types(trained_model, tmp_path):
    """skops loads only listed types: a bundle holding anything else is refused, not executed."""
    import skops.io as sio

    directory = tmp_path / "evil"
    trained_model.save(directory)
    sio.dump({"payload": Payload()}, directory / "pipeline.skops")
    with pytest.raises(Exception, match=r"[Uu]ntrusted"):
        _ = TypingModel.load(directory).pipeline  # read on demand: prediction itself uses scorer.npz
    (directory / "scorer.npz").unlink()
    with pytest.raises(Exception, match=r"[Uu]ntrusted"):
        TypingModel.load(directory)
    assert not any("Payload" in t for t in TRUSTED_TYPES)


class Payload:
    """Stands for any object a tampered bundle might smuggle in."""

    def __init__(self):
        self.command = "echo owned"


def test_find_bundle_inside_mlflow_layout(model_dir, tmp_path):
    nested = tmp_path / "mlflow_model" / "data"
    nested.mkdir(parents=True)
    import shutil

    shutil.copytree(model_dir, nested / "bundle")
    assert find_bundle(tmp_path / "mlflow_model") == nested / "bundle"
    with pytest.raises(FileNotFoundError, match="no model"):
        find_bundle(tmp_path)


def test_pipeline_accepts_list_or_frame():
    cfg = TrainConfig()
    notes = ["客户称下周还", "你去告啊我不怕", "哭着说钱被骗了", "家属说人已经走了"] * 3
    labels = ["none", "confident", "victim", "deceased"] * 3
    pipe = build_pipeline(cfg.model_copy(update={"calibration": cfg.calibration.model_copy(update={"method": "none"})}))
    pipe.fit(pd.DataFrame({"text": notes}), labels)
    assert len(pipe.predict(notes[:2])) == 2
    assert len(pipe.predict(pd.DataFrame({"text": notes[:3]}))) == 3

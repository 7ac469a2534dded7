import numpy as np

from borrower_typing.labels import NONE
from borrower_typing.text import normalize


def test_scores_are_arrays_in_class_order(trained_model):
    predictor = trained_model.predictor
    notes = [normalize(n) for n in ["客户称下周五一定还", "", "12345", "你去告啊，我不怕"]]
    s = predictor.score(notes)
    assert s.proba.shape == (4, len(predictor.classes)) and np.allclose(s.proba.sum(axis=1), 1.0, atol=1e-6)
    assert s.type_p.shape == (4, len(predictor.type_names)) and NONE not in predictor.type_names
    assert s.order.shape == (4, 3)
    assert [predictor.classes[i] for i in s.top_class] == [predictor.type_names[o] for o in s.order[:, 0]]
    assert s.reasons[1] == "empty" and s.reasons[2] == "not_chinese"


def test_predictor_matches_the_model(trained_model):
    notes = ["客户称下周五一定还", "家属说人已经走了"]
    s = trained_model.predictor.score([normalize(n) for n in notes])
    preds = trained_model.predict(notes)
    for i, p in enumerate(preds):
        assert p.best_guess == trained_model.predictor.type_names[s.order[i, 0]]
        assert p.review_reason == (s.reasons[i] or "")

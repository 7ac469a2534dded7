import numpy as np

from borrower_typing.config import TrainConfig
from borrower_typing.pipeline import build_classifier, build_pipeline, linear_coefficients

NOTES = ["客户称下周还", "你去告啊我不怕", "哭着说钱被骗了", "家属说人已经走了"] * 4
LABELS = ["none", "confident", "victim", "deceased"] * 4


def test_each_classifier_kind_builds_and_fits():
    cfg = TrainConfig()
    for kind in ("logreg", "linear_svc", "sgd"):
        clf = build_classifier(cfg.classifier.model_copy(update={"kind": kind}))
        assert hasattr(clf, "fit")


def test_pipeline_has_features_then_classifier_and_linear_weights():
    cfg = TrainConfig()
    cfg = cfg.model_copy(update={"calibration": cfg.calibration.model_copy(update={"cv": 2})})
    pipe = build_pipeline(cfg).fit(NOTES, LABELS)
    assert "features" in pipe.named_steps
    coef = linear_coefficients(pipe[-1])
    assert coef is not None and coef.shape == (4, len(pipe[-2].get_feature_names_out()))
    assert np.allclose(pipe.predict_proba(NOTES[:4]).sum(axis=1), 1.0)

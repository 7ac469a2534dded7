import numpy as np
import pandas as pd
import pytest

from borrower_typing.evaluate import (
    choose_threshold,
    coverage_curve,
    evaluate_pipeline,
    expected_calibration_error,
    label_audit,
    macro_f1,
    write_report,
)

CLASSES = ["victim", "confident", "none"]


def test_ece_zero_when_confidence_matches_accuracy():
    proba = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    assert expected_calibration_error(proba, np.array(["victim", "confident"]), CLASSES) == 0.0


def test_ece_penalises_overconfidence():
    proba = np.array([[0.99, 0.01, 0]] * 10)
    y = np.array(["victim"] * 5 + ["confident"] * 5)
    assert expected_calibration_error(proba, y, CLASSES) == pytest.approx(0.49)


def test_macro_f1_over_present_labels():
    assert macro_f1(["a", "a", "b"], ["a", "a", "b"]) == 1.0
    assert macro_f1(["a", "b"], ["b", "a"]) == 0.0


def test_threshold_reaches_target_precision():
    proba = np.array([[0.9, 0.05, 0.05], [0.4, 0.35, 0.25], [0.85, 0.1, 0.05], [0.45, 0.4, 0.15]])
    y = np.array(["victim", "confident", "victim", "confident"])
    t = choose_threshold(proba, y, CLASSES, target_precision=1.0, max_threshold=0.9)
    assert 0.45 < t <= 0.85
    curve = coverage_curve(proba, y, CLASSES)
    assert curve["coverage"].is_monotonic_decreasing


def test_threshold_capped_when_target_unreachable():
    proba = np.array([[0.9, 0.1, 0.0]])
    assert choose_threshold(proba, np.array(["confident"]), CLASSES, 0.99, 0.6) == 0.6


def test_label_audit_masks_text_and_orders_by_doubt():
    proba = np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05]])
    audit = label_audit(["张三电话13812345678说不还", "哭诉"], np.array(["victim", "victim"]), proba, CLASSES, n=2)
    assert audit["row"].tolist() == [1, 2]
    assert "13812345678" not in audit["text"].iloc[0]


def test_evaluate_pipeline_and_report(small_corpus, tmp_path):
    from borrower_typing.config import TrainConfig
    from borrower_typing.pipeline import build_pipeline

    df = pd.read_csv(small_corpus)
    result = evaluate_pipeline(build_pipeline(TrainConfig()), df[["text"]], df["label"], groups=df["style"], folds=3)
    assert result.oof_proba.shape == (len(df), 10)
    assert np.allclose(result.oof_proba.sum(axis=1), 1.0)
    assert set(result.group_f1) == {"crm", "call", "visit", "register"}
    metrics = result.metrics()
    assert 0.3 < metrics["cv_macro_f1_mean"] <= 1.0
    files = write_report(result, df["text"].tolist(), tmp_path, {c: c for c in result.classes}, audit_rows=5)
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 1000
    assert len(pd.read_csv(files["label_audit.csv"])) == 5

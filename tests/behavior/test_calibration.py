"""The confidence is a calibrated probability: among notes typed with confidence about 0.8, about 8 in 10 are
right. Measured out of fold on the corpus (the same folds for every method compared)."""

from __future__ import annotations

import pytest

from borrower_typing.config import TrainConfig
from borrower_typing.evaluate import expected_calibration_error
from borrower_typing.labels import load_labels
from borrower_typing.train import evaluate_config, load_labelled
from tests.conftest import CORPUS


def _out_of_fold(method: str):
    cfg = TrainConfig.model_validate({"data": {"path": str(CORPUS)}, "calibration": {"method": method}})
    result = evaluate_config(cfg, load_labelled(cfg, load_labels()), with_groups=False)
    return expected_calibration_error(result.oof_proba, result.y, result.classes), result.metrics()


@pytest.mark.slow
def test_default_confidence_is_calibrated_and_better_than_per_class_sigmoids():
    assert TrainConfig().calibration.method == "temperature"
    ece, metrics = _out_of_fold("temperature")
    sigmoid_ece, sigmoid_metrics = _out_of_fold("sigmoid")
    print(f"ECE temperature {ece:.4f}, sigmoid {sigmoid_ece:.4f}")
    assert ece < 0.03
    assert ece < sigmoid_ece / 2
    # one temperature keeps the decision values' ranking: typing is no worse for it
    assert metrics["cv_macro_f1_mean"] >= sigmoid_metrics["cv_macro_f1_mean"] - 0.005

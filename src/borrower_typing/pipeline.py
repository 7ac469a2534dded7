"""The scikit-learn pipeline that training fits: normalise → word + char TF-IDF → (calibrated) linear classifier.

Built from config by ``build_pipeline``; once fitted, ``model.TypingModel`` wraps it (and ``scorer`` turns it
into arrays for prediction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from .config import ClassifierConfig, TrainConfig
from .features import TextNormalizer, build_features, build_tokenizer
from .registers import user_entries


def build_classifier(cfg: ClassifierConfig, seed: int = 42) -> Any:
    if cfg.kind == "logreg":
        return LogisticRegression(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter)
    if cfg.kind == "linear_svc":
        return LinearSVC(C=cfg.C, class_weight=cfg.class_weight, max_iter=cfg.max_iter, random_state=seed)
    return SGDClassifier(
        loss="modified_huber",
        alpha=1.0 / (cfg.C * 1000),
        class_weight=cfg.class_weight,
        max_iter=cfg.max_iter,
        random_state=seed,
    )


def build_pipeline(config: TrainConfig, text_column: str = "text") -> Pipeline:
    """The untrained pipeline: normalise → word + char TF-IDF → (calibrated) linear classifier."""
    clf = build_classifier(config.classifier, config.evaluation.seed)
    if config.calibration.method != "none":
        # ensemble=False: one base model fitted on all data, so its coefficients explain every prediction.
        clf = CalibratedClassifierCV(clf, method=config.calibration.method, cv=config.calibration.cv, ensemble=False)
    return Pipeline(
        [
            ("normalize", TextNormalizer(column=text_column, shorthand=user_entries(config.text.shorthand_tables))),
            ("features", build_features(config.features, build_tokenizer(config.tokenizer))),
            ("clf", clf),
        ]
    )


def linear_coefficients(clf: Any) -> np.ndarray | None:
    """(n_classes, n_features) weights of the linear model under the calibration, or None."""
    base = clf
    if isinstance(clf, CalibratedClassifierCV):
        coefs = [c.estimator.coef_ for c in clf.calibrated_classifiers_]
        return np.mean(coefs, axis=0)
    return getattr(base, "coef_", None)

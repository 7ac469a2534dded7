"""The classifier and what it answers: a scikit-learn pipeline wrapped with labels, review rules and evidence.

``build_pipeline`` makes the untrained pipeline from config; ``TypingModel`` is a fitted pipeline plus what a
prediction needs around it (label table, review threshold) and is what gets saved, loaded and served.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from .config import ClassifierConfig, TrainConfig
from .features import TextNormalizer, build_features, build_tokenizer, display_feature, texts_of
from .labels import NONE, TYPES, LabelSet, load_labels
from .text import PLACEHOLDERS, as_text, cjk_count, clean

BUNDLE_FILES = ("pipeline.skops", "labels.yaml", "meta.json")
# Types a saved pipeline may hold beyond what skops trusts by default: the project's own, and the private
# helpers of scikit-learn's calibration. Loading refuses anything else.
TRUSTED_TYPES = [
    "borrower_typing.features.TextNormalizer",
    "borrower_typing.features.CompactTfidfVectorizer",
    "borrower_typing.tokenize.Tokenizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
]
PLACEHOLDER_DISPLAY = {
    "PHONE": "[电话]",
    "IDNO": "[证件号]",
    "CARDNO": "[卡号]",
    "NAME": "[姓名]",
    "AMT": "[金额]",
    "DATE": "[日期]",
    "TIME": "[时间]",
}
assert set(PLACEHOLDER_DISPLAY) == set(PLACEHOLDERS)

# Review reasons under which a note says nothing about the borrower (low_confidence is not one of them).
NO_BASIS_REASONS = frozenset({"empty", "not_chinese", "too_short", "no_basis"})

OUTPUT_COLUMNS = [
    "type",
    "type_zh",
    "confidence",
    "needs_review",
    "review_reason",
    "alternatives",
    "evidence",
    "strategy",
]


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
            ("normalize", TextNormalizer(column=text_column)),
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


@dataclass
class Prediction:
    """One note's answer."""

    type: str
    type_zh: str
    confidence: float
    alternatives: list[dict[str, float | str]]
    needs_review: bool
    review_reason: str | None
    evidence: list[str]
    strategy: str
    probabilities: dict[str, float] = field(default_factory=dict, repr=False)

    def to_dict(self, with_probabilities: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not with_probabilities:
            out.pop("probabilities")
        return out


class TypingModel:
    """A fitted pipeline with its labels, review rule and metadata."""

    def __init__(
        self,
        pipeline: Pipeline,
        labels: LabelSet | None = None,
        threshold: float = 0.0,
        min_cjk_chars: int = 2,
        meta: dict[str, Any] | None = None,
    ):
        self.pipeline = pipeline
        self.labels = labels or load_labels()
        self.threshold = float(threshold)
        self.min_cjk_chars = int(min_cjk_chars)
        self.meta = dict(meta or {})
        self.classes_ = [str(c) for c in pipeline.classes_]
        unknown = set(self.classes_) - set(TYPES) - {NONE}
        if unknown:
            raise ValueError(f"model classes not in the label table: {sorted(unknown)}")
        self._type_idx = np.array([self.classes_.index(t) for t in TYPES if t in self.classes_])
        self._type_names = [self.classes_[i] for i in self._type_idx]
        self._coef = linear_coefficients(pipeline[-1])
        self._feature_names: np.ndarray | None = None

    # --- core numbers -------------------------------------------------------------------------------
    def transform(self, texts: Sequence[object]) -> sparse.csr_matrix:
        return self.pipeline[:-1].transform(list(texts))

    def predict_proba(self, texts: Iterable[object]) -> np.ndarray:
        """Class probabilities, columns in ``self.classes_`` order."""
        return self.pipeline[-1].predict_proba(self.transform(texts_of(texts)))

    # --- answers ------------------------------------------------------------------------------------
    def predict(self, texts: Iterable[object] | str, evidence: int = 5, strategy: bool = True) -> list[Prediction]:
        """One ``Prediction`` per note, in order; never fails on an empty or odd note."""
        notes = texts_of(texts)
        if not notes:
            return []
        X = self.transform(notes)
        proba = self.pipeline[-1].predict_proba(X)
        out = []
        for i, raw in enumerate(notes):
            out.append(self._answer(as_text(raw), proba[i], X[i] if evidence else None, evidence, strategy))
        return out

    def predict_frame(
        self,
        df: pd.DataFrame,
        text_column: str = "text",
        evidence: int = 5,
        strategy: bool = True,
        keep_columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """``df``'s kept columns (all by default) plus the prediction columns, one row per input row."""
        if text_column not in df.columns:
            raise KeyError(f"no column {text_column!r}; columns are {list(df.columns)}")
        preds = self.predict(df[text_column].tolist(), evidence=evidence, strategy=strategy)
        result = predictions_frame(preds, strategy=strategy)
        result.index = df.index
        kept = df if keep_columns is None else df[list(keep_columns)]
        clash = [c for c in result.columns if c in kept.columns]
        kept = kept.rename(columns={c: f"{c}_input" for c in clash})
        return pd.concat([kept, result], axis=1)

    def _answer(
        self, raw: str, proba: np.ndarray, x: sparse.csr_matrix | None, n_evidence: int, with_strategy: bool
    ) -> Prediction:
        probs = {c: float(p) for c, p in zip(self.classes_, proba, strict=True)}
        type_p = proba[self._type_idx]
        order = np.argsort(-type_p)
        top = self._type_names[order[0]]
        confidence = float(type_p[order[0]])
        alternatives = [
            {"type": self._type_names[j], "probability": round(float(type_p[j]), 4)} for j in order[1:3]
        ]
        reason = self._review_reason(raw, probs, confidence)
        ev = self.evidence_for(x, top, n_evidence) if x is not None and n_evidence else []
        return Prediction(
            type=top,
            type_zh=self.labels.name_zh(top),
            confidence=round(confidence, 4),
            alternatives=alternatives,
            needs_review=reason is not None,
            review_reason=reason,
            evidence=ev,
            strategy=self._strategy(top, reason) if with_strategy else "",
            probabilities=probs,
        )

    def _strategy(self, slug: str, reason: str | None) -> str:
        # With no basis for typing, the guessed type's playbook would mislead: give the review guidance.
        if reason in NO_BASIS_REASONS:
            return self.labels.strategy_text(NONE)
        return self.labels.strategy_text(slug)

    def _review_reason(self, raw: str, probs: dict[str, float], confidence: float) -> str | None:
        text = clean(raw)
        if not text:
            return "empty"
        n_cjk = cjk_count(text)
        if n_cjk == 0:
            return "not_chinese"
        if n_cjk < self.min_cjk_chars:
            return "too_short"
        if NONE in probs and probs[NONE] >= max(v for k, v in probs.items() if k != NONE):
            return "no_basis"
        if confidence < self.threshold:
            return "low_confidence"
        return None

    # --- evidence -----------------------------------------------------------------------------------
    @property
    def feature_names(self) -> np.ndarray:
        if self._feature_names is None:
            self._feature_names = self.pipeline[-2].get_feature_names_out()
        return self._feature_names

    def evidence_for(self, x: sparse.csr_matrix, slug: str, k: int = 5) -> list[str]:
        """The ``k`` pieces of text that pushed hardest toward ``slug``: coefficient × feature value."""
        if self._coef is None or x is None:
            return []
        x = x.tocsr()
        if x.nnz == 0:
            return []
        row = self._coef[self.classes_.index(slug)] if self._coef.shape[0] > 1 else self._coef[0]
        contrib = x.data * row[x.indices]
        order = np.argsort(-contrib)
        shown: list[str] = []
        for j in order:
            if contrib[j] <= 0 or len(shown) >= k:
                break
            name = self.feature_names[x.indices[j]]
            piece = display_feature(name)
            if name.startswith("char__") and len(piece.strip()) < 2:
                continue  # a lone character explains nothing to a reader; words and longer n-grams do
            for key, label in PLACEHOLDER_DISPLAY.items():
                piece = piece.replace(key, label)
            piece = piece.strip()
            # A char n-gram inside a word already shown adds nothing for the reader.
            if not piece or any(piece in s or s in piece for s in shown):
                continue
            shown.append(piece)
        return shown

    # --- persistence --------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the bundle (``pipeline.skops``, ``labels.yaml``, ``meta.json``): pickle-free."""
        import skops.io as sio

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "pipeline.skops"
        sio.dump(self.pipeline, path)
        untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
        if untrusted:
            raise TypeError(f"pipeline holds types not on the trusted list: {sorted(untrusted)}")
        (directory / "labels.yaml").write_text(
            _labels_yaml(self.labels), encoding="utf-8"
        )
        meta = {**self.meta, "threshold": self.threshold, "min_cjk_chars": self.min_cjk_chars}
        meta["classes"] = self.classes_
        (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path, labels: LabelSet | None = None) -> TypingModel:
        """Load a bundle written by ``save``; only the project's listed types are trusted."""
        import skops.io as sio

        directory = find_bundle(directory)
        pipeline = sio.load(directory / "pipeline.skops", trusted=TRUSTED_TYPES)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        labels = labels or load_labels(directory / "labels.yaml")
        return cls(pipeline, labels, meta.pop("threshold", 0.0), meta.pop("min_cjk_chars", 2), meta)


def find_bundle(path: str | Path) -> Path:
    """The bundle folder in ``path``: the folder itself, or inside an MLflow model folder."""
    path = Path(path)
    candidates = [path, *sorted(p.parent for p in path.glob("*/meta.json")), *sorted(p.parent for p in path.glob("*/*/meta.json"))]
    for candidate in candidates:
        if all((candidate / f).is_file() for f in BUNDLE_FILES):
            return candidate
    raise FileNotFoundError(f"no model at {path}: expected {', '.join(BUNDLE_FILES)} there or one or two folders down")


def _labels_yaml(labels: LabelSet) -> str:
    import yaml

    return yaml.safe_dump(labels.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def predictions_frame(preds: Sequence[Prediction], strategy: bool = True) -> pd.DataFrame:
    """Predictions as flat columns (alternatives and evidence as short strings) for tables and files."""
    frame = pd.DataFrame(
        {
            "type": [p.type for p in preds],
            "type_zh": [p.type_zh for p in preds],
            "confidence": [p.confidence for p in preds],
            "needs_review": [p.needs_review for p in preds],
            "review_reason": [p.review_reason or "" for p in preds],
            "alternatives": [format_alternatives(p.alternatives) for p in preds],
            "evidence": [" | ".join(p.evidence) for p in preds],
        }
    )
    if strategy:
        frame["strategy"] = [p.strategy for p in preds]
    return frame


def format_alternatives(alternatives: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{a['type']}:{a['probability']:.3f}" for a in alternatives)

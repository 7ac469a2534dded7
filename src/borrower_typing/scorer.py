"""The fitted pipeline as plain arrays: everything prediction needs, loaded without scikit-learn, skops or pickle.

Training produces a scikit-learn pipeline (kept in the bundle as ``pipeline.skops``, the reference for
retraining and inspection). Prediction only needs a few arrays from it: each vectorizer's vocabulary and idf,
the linear weights, and the calibration (a temperature, or a curve per class). ``LinearScorer`` holds those,
writes them as one ``scorer.npz`` (read with ``allow_pickle=False``: no code can ride along) and computes the pipeline's
probabilities (within 1e-6 on every corpus note, a test checks; the features are float32 in both). Importing
scikit-learn alone takes longer than loading these arrays and typing a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from .ngrams import char_counts, char_index, tfidf, word_counts, word_index
from .tokenize import Tokenizer

SCORER_FILE = "scorer.npz"
FORMAT_VERSION = 1


class NotCompilable(ValueError):
    """The pipeline holds a step the array scorer does not reproduce; predict with the pipeline itself."""


@dataclass
class Block:
    """One vectorizer of the feature union: ``word`` n-grams over tokens or ``char`` n-grams."""

    name: str
    analyzer: str
    ngram_range: tuple[int, int]
    terms: np.ndarray
    idf: np.ndarray
    sublinear_tf: bool
    l2: bool
    tokenizer: Tokenizer | None = None
    _lookup: Any = field(default=None, repr=False)

    def counts(self, notes: list[str]) -> sparse.csr_matrix:
        if self.analyzer == "char":
            if self._lookup is None:
                self._lookup = char_index(self.terms.tolist())
            return char_counts(notes, self._lookup, self.ngram_range, len(self.terms))
        if self._lookup is None:
            self._lookup = word_index(self.terms.tolist(), self.ngram_range)
        token_ids, index = self._lookup
        return word_counts(notes, self.tokenizer, token_ids, index, self.ngram_range, len(self.terms))

    def transform(self, notes: list[str]) -> sparse.csr_matrix:
        return tfidf(self.counts(notes), self.idf, self.sublinear_tf, self.l2)


class LinearScorer:
    """Vectorizers, linear weights and calibration of a fitted pipeline, as arrays."""

    def __init__(
        self,
        blocks: list[Block],
        classes: list[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        calibration: str,
        curves: dict[str, np.ndarray],
    ):
        self.blocks = blocks
        self.classes = list(classes)
        self.coef = coef
        self.intercept = intercept
        self.calibration = calibration  # "temperature", "sigmoid", "isotonic" or "softmax"
        self.curves = curves
        self._feature_names: np.ndarray | None = None

    # --- prediction ---------------------------------------------------------------------------------------
    def transform(self, notes: list[str]) -> sparse.csr_matrix:
        """Features of already normalised notes, columns as the pipeline's ``get_feature_names_out``."""
        parts = [block.transform(notes) for block in self.blocks]
        return sparse.hstack(parts, format="csr") if len(parts) > 1 else parts[0]

    def decision_function(self, X: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef.T) + self.intercept

    def predict_proba(self, X: sparse.csr_matrix) -> np.ndarray:
        """Class probabilities, columns in ``classes`` order (the steps of scikit-learn's calibration)."""
        scores = self.decision_function(X)
        if self.calibration == "temperature":  # softmax of beta times the decision values, as scikit-learn's
            scores = self.curves["beta"][0] * scores
        if self.calibration in ("softmax", "temperature"):
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            return scores / scores.sum(axis=1, keepdims=True)
        if self.calibration == "sigmoid":
            proba = 1.0 / (1.0 + np.exp(self.curves["a"] * scores + self.curves["b"]))
        else:
            proba = np.column_stack(
                [np.interp(scores[:, k], self.curves[f"x{k}"], self.curves[f"y{k}"]) for k in range(len(self.classes))]
            )
        total = proba.sum(axis=1, keepdims=True)
        proba = np.divide(proba, total, out=np.full_like(proba, 1 / len(self.classes)), where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba

    @property
    def feature_names(self) -> np.ndarray:
        if self._feature_names is None:
            self._feature_names = np.concatenate(
                [np.char.add(f"{b.name}__", b.terms.astype(str)).astype(object) for b in self.blocks]
            )
        return self._feature_names

    # --- from a pipeline ----------------------------------------------------------------------------------
    @classmethod
    def from_pipeline(cls, pipeline: Any) -> LinearScorer:
        """The arrays of a fitted ``build_pipeline`` pipeline; ``NotCompilable`` for anything it cannot
        reproduce exactly (the caller then predicts with the pipeline)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression

        from .features import CompactTfidfVectorizer

        features, clf = pipeline[-2], pipeline[-1]
        blocks = []
        for name, vec in features.transformer_list:
            if not isinstance(vec, CompactTfidfVectorizer) or vec.norm not in ("l2", None) or not vec.use_idf:
                raise NotCompilable(f"feature block {name!r} is not a plain TF-IDF vectorizer")
            if vec.analyzer == "char" and not vec._plain_char_analyzer():
                raise NotCompilable(f"feature block {name!r}: character analyzer with extra options")
            if vec.analyzer == "word" and not (vec._plain_word_analyzer() and isinstance(vec.tokenizer, Tokenizer)):
                raise NotCompilable(f"feature block {name!r}: word analyzer without the project tokenizer")
            if vec.analyzer not in ("word", "char"):
                raise NotCompilable(f"feature block {name!r}: analyzer {vec.analyzer!r}")
            terms = np.asarray(vec._terms(), dtype=str)
            if vec.analyzer == "word" and word_index(terms.tolist(), vec.ngram_range) is None:
                raise NotCompilable(f"feature block {name!r}: terms that are not space-joined tokens")
            blocks.append(
                Block(
                    name,
                    vec.analyzer,
                    tuple(vec.ngram_range),
                    terms,
                    np.asarray(vec.idf_),
                    bool(vec.sublinear_tf),
                    vec.norm == "l2",
                    vec.tokenizer if vec.analyzer == "word" else None,
                )
            )
        classes = [str(c) for c in clf.classes_]
        if isinstance(clf, CalibratedClassifierCV):
            if len(clf.calibrated_classifiers_) != 1 or len(classes) < 3:
                raise NotCompilable("calibration with ensemble=True or fewer than three classes")
            fitted = clf.calibrated_classifiers_[0]
            base, method = fitted.estimator, fitted.method
            base_classes = list(map(str, getattr(base, "classes_", [])))
            if method == "temperature" and base_classes == list(map(str, range(len(classes)))):
                base_classes = classes  # temperature scaling fits the estimator on the encoded labels, in order
            if not hasattr(base, "coef_") or base_classes != classes:
                raise NotCompilable("calibrated estimator is not linear over the same classes")
            if method == "sigmoid":
                curves = {
                    "a": np.array([c.a_ for c in fitted.calibrators], dtype=np.float64),
                    "b": np.array([c.b_ for c in fitted.calibrators], dtype=np.float64),
                }
            elif method == "isotonic":
                curves = {}
                for k, c in enumerate(fitted.calibrators):
                    if c.out_of_bounds != "clip" or c.increasing_ is not True:
                        raise NotCompilable("isotonic calibration that is not increasing with clipping")
                    curves[f"x{k}"], curves[f"y{k}"] = c.X_thresholds_, c.y_thresholds_
            elif method == "temperature":
                # scikit-learn reads decision values that look like probabilities (all in [0, 1], rows summing
                # to 1) as such and takes their log first; a linear model's values over 3+ classes never do.
                curves = {"beta": np.array([fitted.calibrators[0].beta_], dtype=np.float64)}
            else:
                raise NotCompilable(f"calibration method {method!r}")
            coef, intercept = base.coef_, base.intercept_
        elif isinstance(clf, LogisticRegression) and len(classes) > 2 and clf.solver != "liblinear":
            coef, intercept, method, curves = clf.coef_, clf.intercept_, "softmax", {}
        else:
            raise NotCompilable(f"classifier {type(clf).__name__} without calibration")
        return cls(blocks, classes, np.asarray(coef, dtype=np.float64), np.asarray(intercept), method, curves)

    # --- file -----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        spec = {
            "format": FORMAT_VERSION,
            "classes": self.classes,
            "calibration": self.calibration,
            "curves": sorted(self.curves),
            "blocks": [
                {
                    "name": b.name,
                    "analyzer": b.analyzer,
                    "ngram_range": list(b.ngram_range),
                    "sublinear_tf": b.sublinear_tf,
                    "l2": b.l2,
                    "backend": b.tokenizer.backend if b.tokenizer else None,
                }
                for b in self.blocks
            ],
        }
        arrays = {"spec": np.asarray(json.dumps(spec, ensure_ascii=False)), "coef": self.coef}
        arrays["intercept"] = self.intercept
        for key, curve in self.curves.items():
            arrays[f"curve_{key}"] = curve
        for b in self.blocks:
            arrays[f"{b.name}_terms"] = b.terms
            arrays[f"{b.name}_idf"] = b.idf
            if b.tokenizer is not None:
                arrays[f"{b.name}_user_words"] = np.asarray(b.tokenizer.user_words, dtype=str)
        path = Path(path)
        with path.open("wb") as fh:  # a file handle: np.savez would append .npz to any other name
            np.savez(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> LinearScorer:
        with np.load(path, allow_pickle=False) as z:
            spec = json.loads(str(z["spec"]))
            if spec.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path}: scorer format {spec.get('format')!r}, this version reads {FORMAT_VERSION}")
            blocks = []
            for b in spec["blocks"]:
                tokenizer = None
                if b["backend"]:
                    tokenizer = Tokenizer(b["backend"], z[f"{b['name']}_user_words"].tolist())
                blocks.append(
                    Block(
                        b["name"],
                        b["analyzer"],
                        tuple(b["ngram_range"]),
                        z[f"{b['name']}_terms"],
                        z[f"{b['name']}_idf"],
                        b["sublinear_tf"],
                        b["l2"],
                        tokenizer,
                    )
                )
            curves = {key: z[f"curve_{key}"] for key in spec["curves"]}
            return cls(blocks, spec["classes"], z["coef"], z["intercept"], spec["calibration"], curves)

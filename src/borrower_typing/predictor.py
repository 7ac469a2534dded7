"""Texts in, arrays out: class probabilities, the ranked types, review reasons. No dicts, no evidence.

The numbers come from the array scorer when the pipeline compiles to one (the default pipelines do), else
from the scikit-learn pipeline itself; this is the only place that chooses between the two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from .labels import NONE, TYPES
from .review import note_review_reason
from .scorer import LinearScorer, NotCompilable
from .vocab import known_pairs, vocab_share


@dataclass
class Scores:
    """What the predictor computes for distinct, normalised notes (row i is note i)."""

    X: sparse.csr_matrix  # features
    proba: np.ndarray  # all classes, in ``Predictor.classes`` order
    type_p: np.ndarray  # the nine types only, in ``Predictor.type_names`` order
    order: np.ndarray  # per row, indices into type_names of the top three types
    top_class: np.ndarray  # per row, index into classes of the top type
    reasons: list[str | None]  # review reason per row
    shares: list[float | None]  # vocabulary share per row (None: not measured, or under two characters)


class Predictor:
    """A fitted scorer (or pipeline) with the review settings."""

    def __init__(
        self,
        scorer: LinearScorer | None,
        pipeline: Callable[[], Any],
        threshold: float = 0.0,
        min_cjk_chars: int = 3,
        min_vocab_share: float = 0.0,
    ):
        """``pipeline``: returns the fitted scikit-learn pipeline (called only when there is no scorer)."""
        self.scorer = scorer
        self._pipeline = pipeline
        self.threshold = float(threshold)
        self.min_cjk_chars = int(min_cjk_chars)
        self.min_vocab_share = float(min_vocab_share)
        self._known_pairs: frozenset[str] | None = None
        self.classes = [str(c) for c in (scorer.classes if scorer else pipeline().classes_)]
        unknown = set(self.classes) - set(TYPES) - {NONE}
        if unknown:
            raise ValueError(f"model classes not in the label table: {sorted(unknown)}")
        self.type_idx = np.array([self.classes.index(t) for t in TYPES if t in self.classes])
        self.type_names = [self.classes[i] for i in self.type_idx]
        self._none = self.classes.index(NONE) if NONE in self.classes else None

    @staticmethod
    def from_pipeline(pipeline: Any, threshold: float = 0.0, min_cjk_chars: int = 3) -> Predictor:
        try:
            scorer = LinearScorer.from_pipeline(pipeline)
        except NotCompilable:
            scorer = None
        return Predictor(scorer, lambda: pipeline, threshold, min_cjk_chars)

    def features(self, notes: list[str]) -> sparse.csr_matrix:
        """The feature matrix of already normalised notes."""
        if self.scorer is not None:
            return self.scorer.transform(notes)
        return self._pipeline().named_steps["features"].transform(notes)

    def proba(self, X: sparse.csr_matrix) -> np.ndarray:
        if self.scorer is not None:
            return self.scorer.predict_proba(X)
        return self._pipeline()[-1].predict_proba(X)

    def score(self, notes: list[str]) -> Scores:
        """Scores of distinct, already normalised notes."""
        X = self.features(notes)
        proba = self.proba(X)
        type_p = proba[:, self.type_idx]
        order = np.argsort(-type_p, axis=1)[:, :3]
        top_p = type_p[np.arange(len(notes)), order[:, 0]]
        if self._none is None:
            no_basis = np.zeros(len(proba), dtype=bool)
        else:
            no_basis = proba[:, self._none] >= type_p.max(axis=1)
        # Measured only where the review rule uses it; monitoring reuses the figures (score --monitor).
        shares = [self.vocab_share(n) for n in notes] if self.min_vocab_share > 0 else [None] * len(notes)
        reasons = [
            note_review_reason(
                note, bool(nb), float(p), self.threshold, self.min_cjk_chars, share, self.min_vocab_share
            )
            for note, nb, p, share in zip(notes, no_basis.tolist(), top_p.tolist(), shares, strict=True)
        ]
        return Scores(X, proba, type_p, order, self.type_idx[order[:, 0]], reasons, shares)

    @property
    def known_pairs(self) -> frozenset[str]:
        """The character pairs of the vocabulary (empty when the model has no character n-grams of length 2)."""
        if self._known_pairs is None:
            terms: list[str] = []
            if self.scorer is not None:
                for block in self.scorer.blocks:
                    if block.analyzer == "char" and block.ngram_range[0] <= 2 <= block.ngram_range[1]:
                        terms.extend(block.terms.tolist())
            else:
                for _, vec in self._pipeline().named_steps["features"].transformer_list:
                    if vec.analyzer == "char" and vec.ngram_range[0] <= 2 <= vec.ngram_range[1]:
                        terms.extend(vec.vocabulary_)
            self._known_pairs = known_pairs(terms)
        return self._known_pairs

    def vocab_share(self, note: str) -> float | None:
        """Share of a normalised note's character pairs the vocabulary knows (None: nothing to measure)."""
        known = self.known_pairs
        return vocab_share(note, known) if known else None

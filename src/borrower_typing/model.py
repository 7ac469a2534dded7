"""The model a user holds: a predictor and an explainer over one label table, answering with ``Prediction``s.

``TypingModel`` ties the jobs together and nothing more: the numbers come from ``predictor.Predictor``
(texts -> arrays), evidence from ``explainer.Explainer``, the review rule from ``review``, the files from
``bundle``. ``Prediction`` (a dataclass) and ``predict_frame`` (a DataFrame) are the two edges.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from .bundle import TRUSTED_TYPES, find_bundle, read_bundle, write_bundle
from .explainer import Explainer, as_written
from .labels import LabelSet, load_labels
from .predictor import Predictor, Scores
from .registers import table_with
from .review import NO_BASIS_REASONS, shown_type, strategy_key
from .schema import join_output, predictions_frame
from .scorer import LinearScorer, NotCompilable
from .text import normalize, texts_of

if TYPE_CHECKING:  # pandas and scikit-learn stay out of the one-note path
    import pandas as pd
    from sklearn.pipeline import Pipeline

# Models saved before the out-of-vocabulary rule get the default of ReviewConfig.min_vocab_share.
DEFAULT_MIN_VOCAB_SHARE = 0.5
# Re-exported for callers that import them from here.
__all__ = ["NO_BASIS_REASONS", "TRUSTED_TYPES", "Prediction", "TypingModel", "find_bundle", "predictions_frame"]


@dataclass(frozen=True)
class Prediction:
    """One note's answer (immutable: identical notes share one).

    The review contract (``review``): when ``needs_review``, ``type`` is ``none`` (待人工复核) and ``strategy``
    the none guidance; ``best_guess``/``best_guess_confidence`` always hold the model's top type and its
    probability, and ``confidence`` equals ``best_guess_confidence``. ``review_reason`` is "" when none.
    ``alternatives``: the next two types as ``{"type": slug, "confidence": p}``.
    """

    # In the order of schema.NOTE_COLUMNS, so JSON keys read like the table columns (a test holds them equal).
    type: str
    type_zh: str
    confidence: float
    needs_review: bool
    review_reason: str
    best_guess: str
    best_guess_confidence: float
    alternatives: list[dict[str, float | str]]
    evidence: list[str]
    strategy: str
    probabilities: dict[str, float] = field(default_factory=dict, repr=False)
    # The share of the note's character pairs the vocabulary knows, where the review rule measured it (vocab.py):
    # not an output column; monitoring profiles it (score --monitor).
    vocab_share: float | None = field(default=None, repr=False)

    def to_dict(self, with_probabilities: bool = False) -> dict[str, Any]:
        out = asdict(self)
        out.pop("vocab_share")
        if not with_probabilities:
            out.pop("probabilities")
        return out


class TypingModel:
    """A fitted model with its labels, review rule and metadata.

    A model loaded from a bundle reads the pipeline only when asked for it (``model.pipeline``): prediction
    needs neither scikit-learn nor skops when the bundle holds the array scorer.
    """

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        labels: LabelSet | None = None,
        threshold: float = 0.0,
        min_cjk_chars: int = 3,
        meta: dict[str, Any] | None = None,
        scorer: LinearScorer | None = None,
        source: Any = None,
        min_vocab_share: float = DEFAULT_MIN_VOCAB_SHARE,
    ):
        """``source``: where the pipeline is read from when ``pipeline`` is None (a bundle folder, or a
        callable returning the pipeline)."""
        if pipeline is None and scorer is None:
            raise ValueError("a TypingModel needs a fitted pipeline or a scorer")
        if scorer is None:
            try:
                scorer = LinearScorer.from_pipeline(pipeline)
            except NotCompilable:
                scorer = None
        self._pipeline = pipeline
        self._source = Path(source) if isinstance(source, (str, Path)) else source
        self.labels = labels or load_labels()
        self.meta = dict(meta or {})
        # Users' shorthand entries (text.shorthand_tables) travel in meta.json, so every engine reads notes alike.
        first_step = pipeline.steps[0][1] if hasattr(pipeline, "steps") else None
        if "shorthand" not in self.meta and getattr(first_step, "shorthand", ()):
            self.meta["shorthand"] = [list(e) for e in first_step.shorthand]
        shorthand = tuple(tuple(e) for e in self.meta.get("shorthand") or ())
        self._table = table_with(shorthand) if shorthand else None
        self.predictor = Predictor(scorer, lambda: self.pipeline, threshold, min_cjk_chars, min_vocab_share)
        self.profile: dict[str, Any] | None = None  # reference profile (profile.py), written by save
        self.classes_ = self.predictor.classes
        if scorer is not None:
            coef = scorer.coef
        else:
            from .pipeline import linear_coefficients  # scikit-learn: only for a pipeline that did not compile

            coef = linear_coefficients(self.pipeline[-1])
        self.explainer = Explainer(
            coef, lambda: scorer.feature_names if scorer else self.pipeline[-2].get_feature_names_out()
        )
        self._names = {slug: self.labels.name_zh(slug) for slug in self.classes_}
        self._strategies: dict[str, str] = {}

    @property
    def scorer(self) -> LinearScorer | None:
        return self.predictor.scorer

    @property
    def threshold(self) -> float:
        return self.predictor.threshold

    @property
    def min_cjk_chars(self) -> int:
        return self.predictor.min_cjk_chars

    @property
    def min_vocab_share(self) -> float:
        return self.predictor.min_vocab_share

    @min_vocab_share.setter
    def min_vocab_share(self, value: float) -> None:
        self.predictor.min_vocab_share = float(value)

    @property
    def known_pairs(self) -> frozenset[str]:
        return self.predictor.known_pairs

    def vocab_share(self, note: str) -> float | None:
        """Share of a normalised note's character pairs the vocabulary knows (see vocab.py)."""
        return self.predictor.vocab_share(note)

    @property
    def pipeline(self) -> Pipeline:
        """The fitted scikit-learn pipeline (read from the bundle on first use)."""
        if self._pipeline is None:
            if self._source is None:
                raise AttributeError("this model was built from a scorer alone: it has no pipeline to read")
            self._pipeline = self._source() if callable(self._source) else read_bundle(self._source).pipeline()
        return self._pipeline

    @property
    def feature_names(self) -> np.ndarray:
        return self.explainer.feature_names

    # --- numbers ------------------------------------------------------------------------------------
    def features(self, notes: list[str]) -> sparse.csr_matrix:
        """The feature matrix of already normalised notes."""
        return self.predictor.features(notes)

    def transform(self, texts: Iterable[object]) -> sparse.csr_matrix:
        return self.features([normalize(t, self._table) for t in texts_of(texts)])

    def normalize_notes(self, texts: Sequence[object]) -> list[str]:
        """The notes as this model reads them: normalised with its own shorthand table (monitoring, profiles)."""
        return [normalize(t, self._table) for t in texts]

    def predict_proba(self, texts: Iterable[object]) -> np.ndarray:
        """Class probabilities, columns in ``self.classes_`` order."""
        return self.predictor.proba(self.transform(texts))

    # --- answers ------------------------------------------------------------------------------------
    def predict(self, texts: Iterable[object] | str, evidence: int = 5, strategy: bool = True) -> list[Prediction]:
        """One ``Prediction`` per note, in order; never fails on an empty or odd note.

        An answer depends only on the normalised note, so notes that normalise alike (the same remark with
        another date, amount or masked name; 关机 and 无人接听 a thousand times) are scored once.
        """
        raw = texts_of(texts)
        notes = [normalize(n, self._table) for n in raw]
        first: dict[str, int] = {}
        position = [first.setdefault(n, len(first)) for n in notes]
        if len(first) == len(notes):
            preds = self._predict_unique(notes, evidence, strategy)
        else:
            unique = self._predict_unique(list(first), evidence, strategy)
            preds = [unique[p] for p in position]
        if not evidence:
            return preds
        # Evidence in the collector's own words (a mapped PTP shown as PTP, Traditional as written).
        shown = [as_written(p.evidence, r, self._table) for p, r in zip(preds, raw, strict=True)]
        return [p if s is p.evidence else replace(p, evidence=s) for p, s in zip(preds, shown, strict=True)]

    def _predict_unique(self, notes: list[str], evidence: int, strategy: bool) -> list[Prediction]:
        """Predictions for distinct, already normalised notes."""
        if not notes:
            return []
        s: Scores = self.predictor.score(notes)
        explained = self.explainer.evidence(s.X, s.top_class, evidence) if evidence else None
        names = self.predictor.type_names
        out = []
        for i in range(len(notes)):
            top = names[s.order[i, 0]]
            reason = s.reasons[i]
            shown = shown_type(top, reason)
            p_top = round(float(s.type_p[i, s.order[i, 0]]), 4)
            out.append(
                Prediction(
                    type=shown,
                    type_zh=self._names.get(shown) or self.labels.name_zh(shown),
                    confidence=p_top,
                    best_guess=top,
                    best_guess_confidence=p_top,
                    alternatives=[
                        {"type": names[j], "confidence": round(float(s.type_p[i, j]), 4)} for j in s.order[i, 1:3]
                    ],
                    needs_review=reason is not None,
                    review_reason=reason or "",
                    evidence=explained[i] if explained is not None else [],
                    strategy=self.strategy(top, reason) if strategy else "",
                    probabilities=dict(zip(self.classes_, s.proba[i].tolist(), strict=True)),
                    vocab_share=s.shares[i],
                )
            )
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
        kept = df if keep_columns is None else df[list(keep_columns)]
        return join_output(kept, predictions_frame(preds, strategy=strategy))

    def strategy(self, slug: str, reason: str | None) -> str:
        """The strategy text for a note typed ``slug`` with review ``reason``."""
        key = strategy_key(slug, reason)
        if key not in self._strategies:
            self._strategies[key] = self.labels.strategy_text(key)
        return self._strategies[key]

    def evidence_for(self, x: sparse.csr_matrix, slug: str, k: int = 5) -> list[str]:
        """The ``k`` pieces of one note's text that pushed hardest toward ``slug``."""
        x = sparse.csr_matrix(x)
        return self.explainer.evidence(x, np.asarray([self.classes_.index(slug)]), k)[0]

    # --- files --------------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the bundle (see ``bundle.write_bundle``)."""
        meta = {**self.meta, "threshold": self.threshold, "min_cjk_chars": self.min_cjk_chars}
        meta["classes"] = self.classes_
        meta["min_vocab_share"] = self.min_vocab_share
        directory = write_bundle(directory, self.pipeline, self.scorer, self.labels, meta)
        if self.profile is not None:
            from .profile import save_profile

            save_profile(self.profile, directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path, labels: LabelSet | None = None, in_memory: bool = False) -> TypingModel:
        """Load a bundle written by ``save``: from its arrays when it has them, else from the skops pipeline
        (only the project's listed types are trusted). ``in_memory``: keep nothing pointing at the folder."""
        b = read_bundle(directory, labels, in_memory=in_memory)
        meta = dict(b.meta)
        threshold, min_cjk = meta.pop("threshold", 0.0), meta.pop("min_cjk_chars", 3)
        vocab = meta.pop("min_vocab_share", DEFAULT_MIN_VOCAB_SHARE)
        pipeline = None if b.scorer is not None else b.pipeline()
        return cls(
            pipeline, b.labels, threshold, min_cjk, meta, scorer=b.scorer, source=b.pipeline, min_vocab_share=vocab
        )

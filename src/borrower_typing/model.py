"""The classifier and what it answers: a scikit-learn pipeline wrapped with labels, review rules and evidence.

``build_pipeline`` makes the untrained pipeline from config; ``TypingModel`` is a fitted pipeline plus what a
prediction needs around it (label table, review threshold) and is what gets saved, loaded and served.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from .labels import NONE, TYPES, LabelSet, load_labels
from .ngrams import display_feature
from .registers import SYSTEM_DISPLAY, has_system_tokens, original_words, readable_count, table_with
from .scorer import SCORER_FILE, LinearScorer, NotCompilable
from .text import PLACEHOLDERS, normalize, texts_of

if TYPE_CHECKING:  # pandas and scikit-learn stay out of the one-note path
    import pandas as pd
    from sklearn.pipeline import Pipeline

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
PLACEHOLDER_DISPLAY.update(SYSTEM_DISPLAY)  # system-line tokens shown as what they stand for

# Punctuation stripped from the edges of a piece of evidence.
_EDGE_MARKS = " ,.!?;:，。！？；：、"
# Review reasons under which a note says nothing about the borrower (low_confidence is not one of them).
NO_BASIS_REASONS = frozenset({"empty", "not_chinese", "too_short", "no_basis"})


@dataclass(frozen=True)
class Prediction:
    """One note's answer (immutable: identical notes share one)."""

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
    """A fitted model with its labels, review rule and metadata.

    The numbers come from the array scorer when the pipeline compiles to one (the default pipelines do), else
    from the scikit-learn pipeline itself. A model loaded from a bundle reads the pipeline only when asked for
    it (``model.pipeline``): prediction needs neither scikit-learn nor skops.
    """

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        labels: LabelSet | None = None,
        threshold: float = 0.0,
        min_cjk_chars: int = 3,
        meta: dict[str, Any] | None = None,
        scorer: LinearScorer | None = None,
        source: str | Path | None = None,
    ):
        if pipeline is None and scorer is None:
            raise ValueError("a TypingModel needs a fitted pipeline or a scorer")
        if scorer is None:
            try:
                scorer = LinearScorer.from_pipeline(pipeline)
            except NotCompilable:
                scorer = None
        self._pipeline = pipeline
        self._source = Path(source) if source is not None else None
        self.scorer = scorer
        self.labels = labels or load_labels()
        self.threshold = float(threshold)
        self.min_cjk_chars = int(min_cjk_chars)
        self.meta = dict(meta or {})
        # Users' shorthand entries (text.shorthand_tables) travel in meta.json, so every engine reads notes alike.
        first_step = pipeline.steps[0][1] if hasattr(pipeline, "steps") else None
        if "shorthand" not in self.meta and getattr(first_step, "shorthand", ()):
            self.meta["shorthand"] = [list(e) for e in first_step.shorthand]
        shorthand = tuple(tuple(e) for e in self.meta.get("shorthand") or ())
        self._table = table_with(shorthand) if shorthand else None
        self.classes_ = [str(c) for c in (scorer.classes if scorer else pipeline.classes_)]
        unknown = set(self.classes_) - set(TYPES) - {NONE}
        if unknown:
            raise ValueError(f"model classes not in the label table: {sorted(unknown)}")
        self._type_idx = np.array([self.classes_.index(t) for t in TYPES if t in self.classes_])
        self._type_names = [self.classes_[i] for i in self._type_idx]
        if scorer is not None:
            self._coef = scorer.coef
        else:
            from .pipeline import linear_coefficients

            self._coef = linear_coefficients(pipeline[-1])
        self._feature_names: np.ndarray | None = None
        self._names = {slug: self.labels.name_zh(slug) for slug in self.classes_}
        self._strategies: dict[str, str] = {}
        self._display_cache: dict[int, str] = {}

    @property
    def pipeline(self) -> Pipeline:
        """The fitted scikit-learn pipeline (read from the bundle on first use)."""
        if self._pipeline is None:
            if self._source is None:
                raise AttributeError("this model was built from a scorer alone: it has no pipeline to read")
            self._pipeline = _load_pipeline(self._source / "pipeline.skops")
        return self._pipeline

    # --- core numbers -------------------------------------------------------------------------------
    def features(self, notes: list[str]) -> sparse.csr_matrix:
        """The feature matrix of already normalised notes."""
        if self.scorer is not None:
            return self.scorer.transform(notes)
        return self.pipeline.named_steps["features"].transform(notes)

    def _proba(self, X: sparse.csr_matrix) -> np.ndarray:
        if self.scorer is not None:
            return self.scorer.predict_proba(X)
        return self.pipeline[-1].predict_proba(X)

    def transform(self, texts: Iterable[object]) -> sparse.csr_matrix:
        return self.features([normalize(t, self._table) for t in texts_of(texts)])

    def predict_proba(self, texts: Iterable[object]) -> np.ndarray:
        """Class probabilities, columns in ``self.classes_`` order."""
        return self._proba(self.transform(texts))

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
        # Evidence in the collector's own words (a mapped PTP shown as PTP, Traditional as written).
        return [as_written(p, r, self._table) for p, r in zip(preds, raw, strict=True)] if evidence else preds

    def _predict_unique(self, notes: list[str], evidence: int, strategy: bool) -> list[Prediction]:
        """Predictions for distinct, already normalised notes."""
        if not notes:
            return []
        X = self.features(notes)
        proba = self._proba(X)
        type_p = proba[:, self._type_idx]
        order = np.argsort(-type_p, axis=1)[:, :3]
        rows = np.arange(len(notes))
        top_p = type_p[rows, order[:, 0]]
        no_basis = self._no_basis(proba, type_p)
        top_cls = self._type_idx[order[:, 0]]
        shown = self._evidence(X, self._contributions(X, top_cls), evidence) if evidence else None
        out = []
        for i, raw in enumerate(notes):
            top = self._type_names[order[i, 0]]
            reason = self._review_reason(raw, bool(no_basis[i]), float(top_p[i]))
            out.append(
                Prediction(
                    type=top,
                    type_zh=self._names[top],
                    confidence=round(float(top_p[i]), 4),
                    alternatives=[
                        {"type": self._type_names[j], "probability": round(float(type_p[i, j]), 4)}
                        for j in order[i, 1:3]
                    ],
                    needs_review=reason is not None,
                    review_reason=reason,
                    evidence=shown[i] if shown is not None else [],
                    strategy=self._strategy(top, reason) if strategy else "",
                    probabilities=dict(zip(self.classes_, proba[i].tolist(), strict=True)),
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
        import pandas as pd

        preds = self.predict(df[text_column].tolist(), evidence=evidence, strategy=strategy)
        result = predictions_frame(preds, strategy=strategy)
        result.index = df.index
        kept = df if keep_columns is None else df[list(keep_columns)]
        clash = [c for c in result.columns if c in kept.columns]
        kept = kept.rename(columns={c: f"{c}_input" for c in clash})
        return pd.concat([kept, result], axis=1)

    def _no_basis(self, proba: np.ndarray, type_p: np.ndarray) -> np.ndarray:
        if NONE not in self.classes_:
            return np.zeros(len(proba), dtype=bool)
        return proba[:, self.classes_.index(NONE)] >= type_p.max(axis=1)

    def _strategy(self, slug: str, reason: str | None) -> str:
        # With no basis for typing, the guessed type's playbook would mislead: give the review guidance.
        key = NONE if reason in NO_BASIS_REASONS else slug
        if key not in self._strategies:
            self._strategies[key] = self.labels.strategy_text(key)
        return self._strategies[key]

    def _review_reason(self, text: str, no_basis: bool, confidence: float) -> str | None:
        if not text:
            return "empty"
        # Readable content in either script (Chinese characters, English words): "not_chinese" now means none.
        n_cjk = readable_count(text, at_most=max(1, self.min_cjk_chars))
        if n_cjk == 0:  # only system lines (ten failed dials): nothing about the borrower, yet not unreadable
            return "no_basis" if has_system_tokens(text) else "not_chinese"
        if n_cjk < self.min_cjk_chars:
            return "too_short"
        if no_basis:
            return "no_basis"
        if confidence < self.threshold:
            return "low_confidence"
        return None

    # --- evidence -----------------------------------------------------------------------------------
    @property
    def feature_names(self) -> np.ndarray:
        if self._feature_names is None:
            self._feature_names = (
                self.scorer.feature_names if self.scorer else self.pipeline[-2].get_feature_names_out()
            )
        return self._feature_names

    def _contributions(self, X: sparse.csr_matrix, classes: np.ndarray) -> np.ndarray | None:
        """coefficient × feature value for every stored entry of X, toward each row's own class."""
        if self._coef is None:
            return None
        X = X.tocsr()
        if self._coef.shape[0] == 1:
            return X.data * self._coef[0, X.indices]
        per_entry = np.repeat(classes, np.diff(X.indptr))
        return X.data * self._coef[per_entry, X.indices]

    def _evidence(self, X: sparse.csr_matrix, contrib: np.ndarray | None, k: int) -> list[list[str]]:
        """Up to ``k`` readable pieces per row, strongest first, from the entries that pushed toward the row's
        class. Each row's candidates leave numpy as a plain list, so the walk below touches no numpy scalars."""
        n_rows = X.shape[0]
        if contrib is None:
            return [[] for _ in range(n_rows)]
        indptr = X.indptr.tolist()
        out = []
        for i in range(n_rows):
            start, end = indptr[i], indptr[i + 1]
            values = contrib[start:end]
            best = np.argsort(-values)[: 4 * k]  # room for the pieces dropped below
            shown: list[str] = []
            for feature in X.indices[start + best[values[best] > 0]].tolist():
                piece = self._display(feature)
                # A char n-gram inside a word already shown adds nothing for the reader.
                if piece and not any(piece in s or s in piece for s in shown):
                    shown.append(piece)
                    if len(shown) == k:
                        break
            out.append(shown)
        return out

    def _display(self, feature: int) -> str:
        """A feature as the words a reader recognises ("" for lone characters, which explain nothing)."""
        piece = self._display_cache.get(feature)
        if piece is None:
            name = self.feature_names[feature]
            # A comma or full stop at the edge of a character n-gram (诉, / 接,) is not a word a reader can use.
            piece = display_feature(name).strip(_EDGE_MARKS)
            if name.startswith("char__") and len(piece) < 2:
                piece = ""
            for key, label in PLACEHOLDER_DISPLAY.items():
                piece = piece.replace(key, label)
            piece = self._display_cache[feature] = piece.strip()
        return piece

    def evidence_for(self, x: sparse.csr_matrix, slug: str, k: int = 5) -> list[str]:
        """The ``k`` pieces of one note's text that pushed hardest toward ``slug``."""
        x = sparse.csr_matrix(x)
        return self._evidence(x, self._contributions(x, np.asarray([self.classes_.index(slug)])), k)[0]

    # --- persistence --------------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write the bundle: ``pipeline.skops``, ``scorer.npz`` (when the pipeline compiles), ``labels.yaml``,
        ``meta.json``. Pickle-free."""
        import skops.io as sio

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "pipeline.skops"
        sio.dump(self.pipeline, path)
        untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
        if untrusted:
            raise TypeError(f"pipeline holds types not on the trusted list: {sorted(untrusted)}")
        if self.scorer is not None:
            self.scorer.save(directory / SCORER_FILE)
        (directory / "labels.yaml").write_text(_labels_yaml(self.labels), encoding="utf-8")
        meta = {**self.meta, "threshold": self.threshold, "min_cjk_chars": self.min_cjk_chars}
        meta["classes"] = self.classes_
        (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return directory

    @classmethod
    def load(cls, directory: str | Path, labels: LabelSet | None = None) -> TypingModel:
        """Load a bundle written by ``save``: from its arrays when it has them, else from the skops pipeline
        (only the project's listed types are trusted)."""
        directory = find_bundle(directory)
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        labels = labels or load_labels(directory / "labels.yaml")
        threshold, min_cjk = meta.pop("threshold", 0.0), meta.pop("min_cjk_chars", 3)
        if (directory / SCORER_FILE).is_file():
            scorer = LinearScorer.load(directory / SCORER_FILE)
            return cls(None, labels, threshold, min_cjk, meta, scorer=scorer, source=directory)
        return cls(_load_pipeline(directory / "pipeline.skops"), labels, threshold, min_cjk, meta, source=directory)


def _load_pipeline(path: Path) -> Pipeline:
    import skops.io as sio

    return sio.load(path, trusted=TRUSTED_TYPES)


def find_bundle(path: str | Path) -> Path:
    """The bundle folder in ``path``: the folder itself, or inside an MLflow model folder."""
    path = Path(path)
    candidates = [
        path,
        *sorted(p.parent for p in path.glob("*/meta.json")),
        *sorted(p.parent for p in path.glob("*/*/meta.json")),
    ]
    for candidate in candidates:
        if all((candidate / f).is_file() for f in BUNDLE_FILES):
            return candidate
    raise FileNotFoundError(f"no model at {path}: expected {', '.join(BUNDLE_FILES)} there or one or two folders down")


def _labels_yaml(labels: LabelSet) -> str:
    import yaml

    return yaml.safe_dump(labels.model_dump(mode="json"), allow_unicode=True, sort_keys=False)


def as_written(pred: Prediction, original: object, table: Any = None) -> Prediction:
    """``pred`` with its evidence pieces as they appear in the original note (unchanged when they all do)."""
    if not pred.evidence or not isinstance(original, str) or all(p in original for p in pred.evidence):
        return pred
    shown = original_words(pred.evidence, original, table)
    return pred if shown == pred.evidence else replace(pred, evidence=shown)


def predictions_frame(preds: Sequence[Prediction], strategy: bool = True) -> pd.DataFrame:
    """Predictions as flat columns (alternatives and evidence as short strings) for tables and files."""
    import pandas as pd

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

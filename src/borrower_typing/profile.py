"""What a batch of notes looks like to the model, as counts only: the reference profile saved with every model
and the batch profile monitoring compares with it.

A profile holds histograms and counters, never a note: predicted types, confidence, review reasons, note
length, the share of a note's character pairs the vocabulary knows (``vocab.py``), and the most frequent
tokens of the masked notes (digits shown as ``#``). Profiles add up chunk by chunk (``add`` / ``merge``), so a
million-row export is profiled in flat memory. The reference is computed out of fold at training time: the
predicted types and confidence are the cross-validated ones, and the vocabulary share is measured against a
vocabulary built without the note, as a new batch meets it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .labels import NONE, TYPES
from .review import note_review_reason
from .text import as_text
from .vocab import OOV_REASON, note_pairs, vocab_share

if TYPE_CHECKING:
    import pandas as pd

PROFILE_FILE = "reference_profile.json"
PROFILE_VERSION = 1
CONFIDENCE_EDGES = [i / 10 for i in range(11)]
SHARE_EDGES = [i / 10 for i in range(11)]
LENGTH_EDGES = [0, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000]  # last bin: 1000 and longer
TOP_TOKENS = 300
# A token stored in a profile or shown in a report must come from at least this many notes: a borrower's name or
# street, which no masking rule catches, is in a handful of notes; a template's or a new product's words in many.
MIN_TOKEN_NOTES = 5
# Bounds the batch token counter: pruned to the most frequent when it grows past this (memory stays flat).
MAX_TRACKED_TOKENS = 50_000
# Review reasons that say the note holds no statement of the borrower (no answer, switched off, a blank): how
# many of those an export has depends on the contact outcomes of the period, not on whether the model still
# fits, and a labelled corpus under-represents them. Distributions are profiled on the other notes ("content
# notes"); these reasons are counted and shown.
NO_CONTENT_REASONS = frozenset({"empty", "too_short", "no_basis"})
# Review reasons that say the model cannot read the note: these rising is drift.
FIT_REASONS = frozenset({"not_chinese", OOV_REASON, "low_confidence"})
_DIGITS = re.compile(r"[0-9]")
_CONTENT = re.compile(r"[\w\u4e00-\u9fff]")


def _bin(values: Sequence[float], edges: Sequence[float], weights: Sequence[int] | None = None) -> np.ndarray:
    """Counts per bin (each value counted ``weights`` times); the last bin is closed and takes everything above
    the last edge."""
    idx = np.clip(np.searchsorted(edges, np.asarray(values, dtype=float), side="right") - 1, 0, len(edges) - 1)
    if edges is not LENGTH_EDGES:  # bounded edges (0..1): n bins, 1.0 falls in the last
        idx = np.minimum(idx, len(edges) - 2)
    n = len(edges) - 1 if edges is not LENGTH_EDGES else len(edges)
    if weights is None:
        return np.bincount(idx, minlength=n)
    return np.bincount(idx, weights=np.asarray(weights, dtype=float), minlength=n).round().astype(np.int64)


@lru_cache(maxsize=1 << 16)  # tokens repeat across notes; bounded, so memory stays flat on any batch
def mask_token(token: str) -> str | None:
    """A token as it may be stored: digits as ``#``; None for punctuation and spaces."""
    token = token.strip()
    if not token or not _CONTENT.search(token):
        return None
    return _DIGITS.sub("#", token)


@dataclass
class Profile:
    """Counts describing a set of scored notes (see the module docstring)."""

    rows: int = 0
    content_rows: int = 0
    types: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(len(CONFIDENCE_EDGES) - 1, dtype=np.int64))
    length: np.ndarray = field(default_factory=lambda: np.zeros(len(LENGTH_EDGES), dtype=np.int64))
    vocab: np.ndarray = field(default_factory=lambda: np.zeros(len(SHARE_EDGES) - 1, dtype=np.int64))
    vocab_sum: float = 0.0
    token_notes: int = 0
    token_total: int = 0
    token_known: int = 0
    tokens: Counter = field(default_factory=Counter)

    def add(
        self,
        types: Sequence[str],
        confidences: Sequence[float],
        reasons: Sequence[str],
        lengths: Sequence[int],
        shares: Sequence[float | None],
        weights: Sequence[int] | None = None,
    ) -> None:
        """Add a chunk of scored notes (one entry per note in each sequence; '' for no review reason).
        Types, confidence, length and vocabulary share are counted for content notes only. ``shares``: None
        where not measured; ``weights``: how many notes each measured share stands for (a sample's)."""
        self.rows += len(types)
        self.reasons.update(r for r in reasons if r)
        keep = [i for i, r in enumerate(reasons) if r not in NO_CONTENT_REASONS]
        weights = [1] * len(shares) if weights is None else weights
        if len(keep) < len(reasons):
            types, confidences, lengths, shares, weights = (
                [seq[i] for i in keep] for seq in (types, confidences, lengths, shares, weights)
            )
        self.content_rows += len(keep)
        self.types.update(types)
        self.confidence += _bin(confidences, CONFIDENCE_EDGES)
        self.length += _bin(lengths, LENGTH_EDGES)
        measured = [(s, w) for s, w in zip(shares, weights, strict=True) if s is not None and w]
        if measured:
            values, counts = zip(*measured, strict=True)
            self.vocab += _bin(values, SHARE_EDGES, counts)
            self.vocab_sum += float(np.dot(values, counts))

    def add_tokens(self, token_lists: Sequence[Sequence[str]], known: frozenset[str] | set[str]) -> None:
        """Add the tokens of some notes (counted once per note) and how many the vocabulary knows. Counts are
        of notes, never weighted up from a sample: a token must really occur in ``MIN_TOKEN_NOTES`` notes."""
        for tokens in token_lists:
            masked = {m for t in tokens if (m := mask_token(t))}
            self.token_notes += 1
            self.token_total += len(masked)
            self.token_known += sum(1 for t in masked if t in known)
            self.tokens.update(masked)
        self._prune()

    def merge(self, other: Profile) -> Profile:
        self.rows += other.rows
        self.content_rows += other.content_rows
        self.types.update(other.types)
        self.reasons.update(other.reasons)
        self.confidence += other.confidence
        self.length += other.length
        self.vocab += other.vocab
        self.vocab_sum += other.vocab_sum
        self.token_notes += other.token_notes
        self.token_total += other.token_total
        self.token_known += other.token_known
        self.tokens.update(other.tokens)
        self._prune()
        return self

    def _prune(self) -> None:
        if len(self.tokens) > MAX_TRACKED_TOKENS:
            self.tokens = Counter(dict(self.tokens.most_common(MAX_TRACKED_TOKENS // 2)))

    # --- summaries ----------------------------------------------------------------------------------
    @property
    def review_share(self) -> float:
        return sum(self.reasons.values()) / self.rows if self.rows else 0.0

    def share_of(self, reasons: frozenset[str]) -> float:
        return sum(n for r, n in self.reasons.items() if r in reasons) / self.rows if self.rows else 0.0

    @property
    def vocab_mean(self) -> float | None:
        n = int(self.vocab.sum())
        return self.vocab_sum / n if n else None

    @property
    def token_known_share(self) -> float | None:
        return self.token_known / self.token_total if self.token_total else None

    def to_dict(self, top_tokens: int = TOP_TOKENS) -> dict[str, Any]:
        return {
            "version": PROFILE_VERSION,
            "rows": self.rows,
            "content_rows": self.content_rows,
            "types": dict(self.types.most_common()),
            "review_reasons": dict(self.reasons.most_common()),
            "review_share": round(self.review_share, 6),
            "fit_review_share": round(self.share_of(FIT_REASONS), 6),
            "no_content_share": round(self.share_of(NO_CONTENT_REASONS), 6),
            "confidence": {"edges": CONFIDENCE_EDGES, "counts": self.confidence.tolist()},
            "length": {"edges": LENGTH_EDGES, "counts": self.length.tolist()},
            "vocab_share": {"edges": SHARE_EDGES, "counts": self.vocab.tolist(), "sum": self.vocab_sum},
            "tokens": {
                "notes": self.token_notes,
                "total": self.token_total,
                "known": self.token_known,
                "top": {t: n for t, n in self.tokens.most_common(top_tokens) if n >= MIN_TOKEN_NOTES},
            },
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        if d.get("version") != PROFILE_VERSION:
            raise ValueError(f"reference profile version {d.get('version')!r}; this version reads {PROFILE_VERSION}")
        if d["confidence"]["edges"] != CONFIDENCE_EDGES or d["length"]["edges"] != LENGTH_EDGES:
            raise ValueError("reference profile with other histogram edges than this version uses")
        tokens = d["tokens"]
        return cls(
            rows=int(d["rows"]),
            content_rows=int(d["content_rows"]),
            types=Counter(d["types"]),
            reasons=Counter(d["review_reasons"]),
            confidence=np.asarray(d["confidence"]["counts"], dtype=np.int64),
            length=np.asarray(d["length"]["counts"], dtype=np.int64),
            vocab=np.asarray(d["vocab_share"]["counts"], dtype=np.int64),
            vocab_sum=float(d["vocab_share"]["sum"]),
            token_notes=int(tokens["notes"]),
            token_total=int(tokens["total"]),
            token_known=int(tokens["known"]),
            tokens=Counter(tokens["top"]),
        )


# --- the model's side -------------------------------------------------------------------------------------
def model_tokenizer(model: Any):
    """The word tokenizer of the model's features (None for a character-only model)."""
    if model.scorer is not None:
        return next((b.tokenizer for b in model.scorer.blocks if b.tokenizer is not None), None)
    for _, vec in model.pipeline.named_steps["features"].transformer_list:
        if vec.analyzer == "word":
            return vec.tokenizer
    return None


def known_tokens(model: Any) -> frozenset[str]:
    """Single tokens of the word vocabulary, masked as profiles store them."""
    if model.scorer is not None:
        terms = [t for b in model.scorer.blocks if b.analyzer == "word" for t in b.terms.tolist()]
    else:
        terms = [
            t
            for _, v in model.pipeline.named_steps["features"].transformer_list
            if v.analyzer == "word"
            for t in v.vocabulary_
        ]
    return frozenset(m for t in terms if " " not in t and (m := mask_token(t)))


def scored_types(frame: pd.DataFrame) -> tuple[list[str], list[float]]:
    """Predicted type and confidence per row of a scored table. Where review rows carry ``none`` with a
    ``best_guess``, the guess is what the model would have typed, so that is what is profiled."""
    types = frame["type"].astype(str)
    conf = frame["confidence"].astype(float)
    if "best_guess" in frame.columns:
        guessed = (types == NONE) & frame["best_guess"].notna() & (frame["best_guess"].astype(str) != "")
        types = types.where(~guessed, frame["best_guess"].astype(str))
        if "best_guess_confidence" in frame.columns:
            conf = conf.where(~guessed, frame["best_guess_confidence"].astype(float))
    return types.tolist(), conf.fillna(0.0).tolist()


# --- the reference, at training time ----------------------------------------------------------------------
def reference_profile(
    model: Any,
    texts: Sequence[object],
    oof_proba: np.ndarray,
    classes: Sequence[str],
    folds: int = 5,
    seed: int = 42,
) -> dict[str, Any]:
    """The reference profile of a model from its training notes and their out-of-fold probabilities."""
    notes = model.normalize_notes(texts)
    classes = list(classes)
    type_cols = [classes.index(t) for t in TYPES if t in classes]
    type_p = oof_proba[:, type_cols]
    top = type_p.argmax(axis=1)
    conf = type_p[np.arange(len(notes)), top]
    no_basis = (
        oof_proba[:, classes.index(NONE)] >= type_p.max(axis=1) if NONE in classes else np.zeros(len(notes), bool)
    )
    config = model.meta.get("config", {}).get("features", {})
    fold_of = np.random.default_rng(seed).permutation(len(notes)) % folds
    shares = _oof_shares([note_pairs(n) for n in notes], fold_of, int(config.get("char", {}).get("min_df", 1)))
    reasons = []
    for i, note in enumerate(notes):
        reason = note_review_reason(note, bool(no_basis[i]), float(conf[i]), model.threshold, model.min_cjk_chars) or ""
        # Out of fold, the vocabulary may not know a training note (the fitted model always does).
        share = shares[i]
        if reason in ("", "no_basis", "low_confidence") and share is not None and share < model.min_vocab_share:
            reason = OOV_REASON
        reasons.append(reason)
    profile = Profile()
    type_names = [classes[c] for c in type_cols]
    profile.add([type_names[j] for j in top], conf.tolist(), reasons, [len(as_text(t)) for t in texts], shares)
    tokenizer = model_tokenizer(model)
    if tokenizer is not None:
        token_sets = [{m for t in tokenizer(n) if (m := mask_token(t))} for n in notes]
        word_min_df = int(config.get("word", {}).get("min_df", 1))
        for k in range(folds):
            known = _frequent([s for s, f in zip(token_sets, fold_of, strict=True) if f != k], word_min_df)
            profile.add_tokens([sorted(s) for s, f in zip(token_sets, fold_of, strict=True) if f == k], known)
    return profile.to_dict()


def _frequent(sets: Sequence[set[str]], min_df: int) -> set[str]:
    df: Counter = Counter()
    for s in sets:
        df.update(s)
    return {k for k, v in df.items() if v >= min_df}


def _oof_shares(pair_sets: list[set[str]], fold_of: np.ndarray, min_df: int) -> list[float | None]:
    """Each note's pair share against the pairs of the other folds (those that reach ``min_df`` there)."""
    shares: list[float | None] = [None] * len(pair_sets)
    for k in np.unique(fold_of):
        known = frozenset(_frequent([s for s, f in zip(pair_sets, fold_of, strict=True) if f != k], min_df))
        for i in np.flatnonzero(fold_of == k):
            s = pair_sets[i]
            shares[i] = len(s & known) / len(s) if s else None
    return shares


def batch_shares(model: Any, notes: Sequence[str]) -> list[float | None]:
    """The vocabulary share of already normalised notes against the model's own vocabulary."""
    known = model.known_pairs
    if not known:
        return [None] * len(notes)
    share = {n: vocab_share(n, known) for n in set(notes)}  # exports repeat 无人接听, 关机 and templates
    return [share[n] for n in notes]


# --- files ------------------------------------------------------------------------------------------------
def save_profile(profile: dict[str, Any], directory: str | Path) -> Path:
    path = Path(directory) / PROFILE_FILE
    path.write_text(json.dumps(profile, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def load_profile(directory: str | Path) -> Profile:
    """The reference profile saved in a model folder."""
    from .bundle import find_bundle

    path = find_bundle(directory) / PROFILE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: this model has no reference profile (trained before monitoring existed): retrain it"
        )
    return Profile.from_dict(json.loads(path.read_text(encoding="utf-8")))

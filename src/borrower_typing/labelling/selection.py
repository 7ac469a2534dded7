"""Which notes to label next.

The default strategy, ``uncertainty-diversity``: notes the model sent to review for ``low_confidence`` come
first, then the rest by margin (top-1 minus top-2 probability, smallest first); the most uncertain
``pool_factor × budget`` candidates are clustered into ``budget`` groups on the model's own TF-IDF features
and each group gives its most uncertain note, so the budget is not spent on fifty near-identical notes
(weighted k-means, as in "diverse mini-batch active learning"). When the input is labelled, a slice of the
budget goes to the notes whose given label the model doubts most (lowest probability of the given label).
Exact duplicates (after normalisation) are one candidate; notes that cannot carry a type (empty, not Chinese,
too short) are never chosen.

Written here rather than taken from small-text or modAL: both want their own classifier and dataset wrappers
around a model that already gives calibrated probabilities and its features, modAL pulls an old skorch, and
the whole strategy is a k-means call and a sort. The audit slice is cleanlab's "self-confidence" score
(probability of the given label), one line of numpy, so cleanlab is not needed for it either.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from ..review import NO_TEXT_REASONS
from ..text import normalize

if TYPE_CHECKING:
    from ..model import TypingModel

Strategy = Literal["uncertainty-diversity", "margin", "random"]
STRATEGIES: tuple[str, ...] = ("uncertainty-diversity", "margin", "random")
# Reasons under which a note cannot be typed by anyone: labelling them teaches nothing.
UNLABELLABLE = NO_TEXT_REASONS


@dataclass(frozen=True)
class SelectionConfig:
    strategy: Strategy = "uncertainty-diversity"
    audit_share: float = 0.2  # of the budget, for label-audit doubts when the input is labelled
    pool_factor: int = 5  # candidates per chosen note handed to the clustering
    seed: int = 0


def margins(proba: np.ndarray) -> np.ndarray:
    """Top-1 minus top-2 class probability per row (0 = a coin toss between two classes)."""
    if proba.shape[1] < 2:
        return np.ones(len(proba))
    part = np.sort(proba, axis=1)
    return part[:, -1] - part[:, -2]


def scored_pool(model: TypingModel, texts: list[str], given: list[str | None] | None = None) -> pd.DataFrame:
    """One row per input note with what selection needs: prediction, review reason, margin, duplicate key,
    and (when ``given`` labels are passed as slugs) the probability of the given label."""
    preds = model.predict(texts, evidence=0, strategy=False)
    proba = np.asarray([[p.probabilities[c] for c in model.classes_] for p in preds]).reshape(-1, len(model.classes_))
    frame = pd.DataFrame(
        {
            "text": texts,
            "key": [normalize(t) for t in texts],
            "predicted": [p.type for p in preds],
            "top_class": np.asarray(model.classes_)[proba.argmax(axis=1)] if len(preds) else [],
            "confidence": [p.confidence for p in preds],
            "top_p": proba.max(axis=1) if len(preds) else [],
            "review_reason": [p.review_reason or "" for p in preds],
            "margin": margins(proba) if len(preds) else [],
        }
    )
    if given is not None:
        index = {c: i for i, c in enumerate(model.classes_)}
        frame["given"] = given
        frame["p_given"] = [proba[i, index[g]] if g in index else np.nan for i, g in enumerate(given)]
    return frame


def select(
    pool: pd.DataFrame,
    budget: int,
    features=None,
    config: SelectionConfig | None = None,
) -> pd.DataFrame:
    """``budget`` rows of ``pool`` (a ``scored_pool`` frame) to label, in the order to label them, with a
    ``why`` column (``low_confidence``, ``uncertain``, ``label_audit``, ``random``).

    ``features`` (needed by uncertainty-diversity; ``pool`` must have a 0…n−1 index): the rows' feature
    matrix, or a function giving the matrix of the rows at the positions it is passed, so that a large
    export computes features only for the few candidates that reach the clustering.
    """
    config = config or SelectionConfig()
    if config.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {config.strategy!r}; use one of {', '.join(STRATEGIES)}")
    usable = ~pool["review_reason"].isin(UNLABELLABLE)
    first = ~pool["key"].duplicated()
    candidates = pool.index[(usable & first).to_numpy()]
    budget = max(0, min(int(budget), len(candidates)))
    rng = np.random.default_rng(config.seed)
    if budget == 0:
        return pool.iloc[:0].assign(why=pd.Series(dtype=str))
    if config.strategy == "random":
        chosen = rng.choice(np.asarray(candidates), size=budget, replace=False)
        return pool.loc[chosen].assign(why="random")

    picked: list[int] = []
    why: list[str] = []
    if "p_given" in pool and config.audit_share > 0:
        doubted = pool.loc[candidates]
        doubted = doubted[doubted["p_given"].notna() & (doubted["top_class"] != doubted["given"])]
        n_audit = min(len(doubted), round(budget * config.audit_share))
        for i in doubted.sort_values("p_given", kind="stable").index[:n_audit]:
            picked.append(i)
            why.append("label_audit")
    taken = set(picked)
    rest = pool.loc[[i for i in candidates if i not in taken]]
    # low_confidence rows first, then by margin: the order annotators see and the candidates' ranking
    rank = rest.assign(_low=(rest["review_reason"] != "low_confidence")).sort_values(["_low", "margin"], kind="stable")
    need = budget - len(picked)
    if config.strategy == "margin" or features is None or need <= 1:
        chosen = list(rank.index[:need])
    else:
        chosen = _diverse(rank, features, need, config)
    for i in chosen:
        picked.append(i)
        why.append("low_confidence" if pool.at[i, "review_reason"] == "low_confidence" else "uncertain")
    return pool.loc[picked].assign(why=why)


def _diverse(rank: pd.DataFrame, features, need: int, config: SelectionConfig) -> list[int]:
    """Weighted k-means over the most uncertain candidates; each cluster gives its most uncertain note.
    Returned in ``rank`` order (low_confidence first, then smallest margin)."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import normalize as l2

    top = rank.index[: max(need, config.pool_factor * need)]
    if len(top) <= need:
        return list(top)
    positions = np.asarray([rank.index.get_loc(i) for i in top])
    rows = np.asarray(top)
    X = l2(features(rows) if callable(features) else features[rows])
    weight = 1.0 - rank.loc[top, "margin"].to_numpy() + 1e-3
    with warnings.catch_warnings():
        # fewer distinct notes than clusters: k-means says so, and the fill-up below covers it
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters=need, n_init=1, random_state=config.seed).fit(X, sample_weight=weight)
    best: dict[int, int] = {}
    for pos, cluster in zip(positions, km.labels_, strict=True):
        best.setdefault(int(cluster), int(pos))  # positions are ascending: the first seen is the most uncertain
    # a cluster left empty by k-means cannot happen (each centre has its own points), but fill up if it did
    chosen = sorted(best.values())
    if len(chosen) < need:
        extra = [p for p in positions if p not in set(chosen)][: need - len(chosen)]
        chosen = sorted(chosen + extra)
    return [rank.index[p] for p in chosen]

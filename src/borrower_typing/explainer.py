"""Evidence: the pieces of a note's text that pushed hardest toward its predicted type, as a reader sees them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import sparse

from .ngrams import display_feature
from .registers import SYSTEM_DISPLAY, original_words
from .text import PLACEHOLDERS

PLACEHOLDER_DISPLAY = {
    "PHONE": "[电话]",
    "IDNO": "[证件号]",
    "CARDNO": "[卡号]",
    "EMAIL": "[邮箱]",
    "NAME": "[姓名]",
    "AMT": "[金额]",
    "DATE": "[日期]",
    "TIME": "[时间]",
}
assert set(PLACEHOLDER_DISPLAY) == set(PLACEHOLDERS)
PLACEHOLDER_DISPLAY.update(SYSTEM_DISPLAY)  # system-line tokens shown as what they stand for

# Punctuation stripped from the edges of a piece of evidence.
_EDGE_MARKS = " ,.!?;:，。！？；：、"


class Explainer:
    """Linear weights × feature values, shown as words (nothing to show for a non-linear classifier)."""

    def __init__(self, coef: np.ndarray | None, feature_names: Callable[[], np.ndarray]):
        """``feature_names``: returns the feature names (read on the first piece of evidence shown)."""
        self._coef = coef
        self._names_of = feature_names
        self._feature_names: np.ndarray | None = None
        self._display_cache: dict[int, str] = {}

    @property
    def feature_names(self) -> np.ndarray:
        if self._feature_names is None:
            self._feature_names = self._names_of()
        return self._feature_names

    def contributions(self, X: sparse.csr_matrix, classes: np.ndarray) -> np.ndarray | None:
        """coefficient × feature value for every stored entry of X, toward each row's own class."""
        if self._coef is None:
            return None
        X = X.tocsr()
        if self._coef.shape[0] == 1:
            return X.data * self._coef[0, X.indices]
        per_entry = np.repeat(classes, np.diff(X.indptr))
        return X.data * self._coef[per_entry, X.indices]

    def evidence(self, X: sparse.csr_matrix, classes: np.ndarray, k: int) -> list[list[str]]:
        """Up to ``k`` readable pieces per row toward the row's class (``classes[i]``), strongest first."""
        return self._evidence(X, self.contributions(X, classes), k)

    def _evidence(self, X: sparse.csr_matrix, contrib: np.ndarray | None, k: int) -> list[list[str]]:
        """Each row's candidates leave numpy as a plain list, so the walk below touches no numpy scalars."""
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
                piece = self.display(feature)
                # A char n-gram inside a word already shown adds nothing for the reader.
                if piece and not any(piece in s or s in piece for s in shown):
                    shown.append(piece)
                    if len(shown) == k:
                        break
            out.append(shown)
        return out

    def display(self, feature: int) -> str:
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


def as_written(pieces: list[str], original: object, table: Any = None) -> list[str]:
    """Evidence pieces as they appear in the original note (a mapped PTP as PTP, Traditional as written);
    the same list when every piece is already there."""
    if not pieces or not isinstance(original, str) or all(p in original for p in pieces):
        return pieces
    return original_words(pieces, original, table)

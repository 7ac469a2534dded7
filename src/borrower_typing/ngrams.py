"""Counting word and character n-grams of a fixed vocabulary in numpy, and TF-IDF weighting of the counts.

Shared by the scikit-learn vectorizer used in training (``features``) and the array scorer used in prediction
(``scorer``), so that both count exactly alike; nothing here imports scikit-learn or pandas, which keeps the
one-note path quick to start.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

_WHITE_SPACES = re.compile(r"\s\s+")
# Below this many lookups a sorted array with binary search is as quick as a hash index and needs no pandas.
_HASH_FROM = 50_000


class KeyIndex:
    """Integer keys → positions: ``get_indexer`` answers -1 for a key not held (like ``pandas.Index``)."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys
        self._order = np.argsort(keys, kind="stable")
        self._sorted = keys[self._order]
        self._hash = None

    def get_indexer(self, query: np.ndarray) -> np.ndarray:
        if len(query) >= _HASH_FROM:
            if self._hash is None:
                import pandas as pd

                self._hash = pd.Index(self.keys)
            return self._hash.get_indexer(query)
        if not len(self._sorted):
            return np.full(len(query), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._sorted, query), len(self._sorted) - 1)
        return np.where(self._sorted[pos] == query, self._order[pos], -1)


def pack(term: str) -> int:
    """A character n-gram (n <= 3) as one integer: code points are below 2**21, so 21 bits each."""
    key = 0
    for ch in term:
        key = (key << 21) | ord(ch)
    return key


def _fold(ids: list[int], base: int) -> int:
    """Token ids of an n-gram as one integer (ids shifted by one, so that 0 never stands for a token)."""
    key = 0
    for i in ids:
        key = key * base + i + 1
    return key


def char_index(terms: Sequence[str]) -> KeyIndex:
    """The lookup of a character n-gram vocabulary (``terms[i]`` is column ``i``)."""
    return KeyIndex(np.fromiter((pack(t) for t in terms), dtype=np.uint64, count=len(terms)))


def word_index(terms: Sequence[str], ngram_range: tuple[int, int]) -> tuple[dict[str, int], KeyIndex] | None:
    """Tokens as small integers and the vocabulary's n-grams as integer keys over them (``terms[i]`` is column
    ``i``); None when a term cannot be read back as space-joined tokens."""
    low, high = ngram_range
    token_ids: dict[str, int] = {}
    split = []
    for term in terms:
        parts = term.split(" ")
        if not low <= len(parts) <= high or "" in parts:
            return None
        split.append([token_ids.setdefault(p, len(token_ids)) for p in parts])
    base = len(token_ids) + 1
    keys = np.fromiter((_fold(ids, base) for ids in split), dtype=np.int64, count=len(split))
    return token_ids, KeyIndex(keys)


def counts_matrix(
    rows: list[np.ndarray], cols: list[np.ndarray], n_docs: int, n_terms: int, dtype
) -> sparse.csr_matrix:
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    X = sparse.coo_matrix((np.ones(len(row), dtype=dtype), (row, col)), shape=(n_docs, n_terms)).tocsr()
    X.sort_indices()  # tocsr added repeated n-grams up: the counts
    return X


def char_counts(
    docs: Sequence[str], index: KeyIndex, ngram_range: tuple[int, int], n_terms: int, dtype=np.float32
) -> sparse.csr_matrix:
    """Character n-gram counts for all notes at once: every window of the concatenated code points that stays
    inside one note is packed into an integer and looked up. Same matrix as scikit-learn's char analyzer."""
    texts = [_WHITE_SPACES.sub(" ", d) for d in docs]  # what scikit-learn's char analyzer does first
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
    rows, cols = [], []
    low, high = ngram_range
    for n in range(low, high + 1):
        m = len(points) - n + 1
        if m <= 0:
            continue
        key = points[:m].copy()
        for j in range(1, n):
            key = (key << np.uint64(21)) | points[j : j + m]
        inside = owner[:m] == owner[n - 1 : n - 1 + m]
        key, who = key[inside], owner[:m][inside]
        pos = index.get_indexer(key)
        hit = pos >= 0
        rows.append(who[hit])
        cols.append(pos[hit])
    return counts_matrix(rows, cols, len(texts), n_terms, dtype)


def word_counts(
    docs: Sequence[str],
    tokenize: Callable[[str], list[str]],
    token_ids: dict[str, int],
    index: KeyIndex,
    ngram_range: tuple[int, int],
    n_terms: int,
    dtype=np.float32,
) -> sparse.csr_matrix:
    """Word n-gram counts: token ids looked up in Python, the n-grams themselves counted in numpy.

    A tokenizer that segments clause by clause (``clauses``/``cut_clause``, as ``tokenize.Tokenizer`` does)
    has each distinct clause of the batch turned into ids once."""
    lookup = token_ids.get
    flat: list[int] = []
    lens = np.zeros(len(docs), dtype=np.int64)
    split, cut = getattr(tokenize, "clauses", None), getattr(tokenize, "cut_clause", None)
    if split is not None and cut is not None:
        seen: dict[str, list[int]] = {}
        for d, doc in enumerate(docs):
            start = len(flat)
            for clause in split(doc):
                found = seen.get(clause)
                if found is None:
                    found = seen[clause] = [lookup(t, -1) for t in cut(clause)]
                flat.extend(found)
            lens[d] = len(flat) - start
    else:
        for d, doc in enumerate(docs):
            tokens = tokenize(doc)
            flat.extend([lookup(t, -1) for t in tokens])
            lens[d] = len(tokens)
    ids = np.asarray(flat, dtype=np.int64)
    owner = np.repeat(np.arange(len(docs), dtype=np.int64), lens)
    base = len(token_ids) + 1
    rows, cols = [], []
    low, high = ngram_range
    for n in range(low, high + 1):
        m = len(ids) - n + 1
        if m <= 0:
            continue
        known = ids[:m] >= 0
        key = ids[:m] + 1
        for j in range(1, n):
            known &= ids[j : j + m] >= 0
            key = key * base + ids[j : j + m] + 1
        keep = known & (owner[:m] == owner[n - 1 : n - 1 + m])
        pos = index.get_indexer(key[keep])
        hit = pos >= 0
        rows.append(owner[:m][keep][hit])
        cols.append(pos[hit])
    return counts_matrix(rows, cols, len(docs), n_terms, dtype)


def tfidf(X: sparse.csr_matrix, idf: np.ndarray, sublinear_tf: bool, l2: bool) -> sparse.csr_matrix:
    """Counts to TF-IDF in place: the steps of scikit-learn's ``TfidfTransformer``."""
    if sublinear_tf:
        np.log(X.data, X.data)
        X.data += 1.0
    X.data *= idf[X.indices]
    if l2 and X.nnz:
        filled = np.diff(X.indptr)
        rows = filled > 0
        norms = np.sqrt(np.add.reduceat(X.data * X.data, X.indptr[:-1][rows]))
        X.data /= np.repeat(norms, filled[rows])
    return X


# Spaces between tokens go, except between two Latin words (承诺 还款 -> 承诺还款, will pay -> will pay).
_JOIN_RE = re.compile(r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])")


def display_feature(name: str) -> str:
    """A feature name as the words a collector would recognise: ``word__还 不了`` -> ``还不了``."""
    _, _, piece = name.partition("__")
    if name.startswith("word__") and piece.isascii():  # English words keep their spaces: pay next week
        return piece
    return _JOIN_RE.sub("", piece)

"""From notes to a sparse feature matrix: normalisation, word n-grams on jieba tokens, character n-grams.

Word n-grams carry the phrases (还不了, 去起诉, 下周四一定); character n-grams survive what word segmentation
and speech-to-text get wrong (换款 for 还款, 鱼期 for 逾期, dialect words outside the dictionary).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from .config import FeaturesConfig, TokenizerConfig, VectorizerConfig
from .text import normalize
from .tokenize import Tokenizer, make_tokenizer


def texts_of(X: object, column: str = "text") -> list[object]:
    """The notes in ``X``: a DataFrame's ``column`` (or its only column), a Series, an array or a list."""
    if isinstance(X, pd.DataFrame):
        if column in X.columns:
            return X[column].tolist()
        if X.shape[1] == 1:
            return X.iloc[:, 0].tolist()
        raise KeyError(f"no column {column!r} among {list(X.columns)}")
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray):
        return X.ravel().tolist() if X.ndim <= 2 and (X.ndim == 1 or X.shape[1] == 1) else X[:, 0].tolist()
    if isinstance(X, str):
        return [X]
    return list(X)


class TextNormalizer(TransformerMixin, BaseEstimator):
    """First pipeline step: takes a DataFrame with a text column (or a list of notes) and returns the
    normalised notes, one per input row (missing or non-string cells become "")."""

    def __init__(self, column: str = "text"):
        self.column = column

    def fit(self, X: object, y: object = None) -> TextNormalizer:
        self.n_features_in_ = 1
        self.feature_names_in_ = np.asarray([self.column], dtype=object)
        return self

    def transform(self, X: object) -> list[str]:
        return [normalize(t) for t in texts_of(X, self.column)]

    def get_feature_names_out(self, input_features: Iterable[str] | None = None) -> np.ndarray:
        return np.asarray([self.column], dtype=object)


_WHITE_SPACES = re.compile(r"\s\s+")


def _fold(ids: list[int], base: int) -> int:
    """Token ids of an n-gram as one integer (ids shifted by one, so that 0 never stands for a token)."""
    key = 0
    for i in ids:
        key = key * base + i + 1
    return key


def _counts_matrix(
    rows: list[np.ndarray], cols: list[np.ndarray], n_docs: int, n_terms: int, dtype
) -> sparse.csr_matrix:
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    X = sparse.coo_matrix((np.ones(len(row), dtype=dtype), (row, col)), shape=(n_docs, n_terms)).tocsr()
    X.sort_indices()  # tocsr added repeated n-grams up: the counts
    return X


def _pack(term: str) -> int:
    """A character n-gram (n <= 3) as one integer: code points are below 2**21, so 21 bits each."""
    key = 0
    for ch in term:
        key = (key << 21) | ord(ch)
    return key


class CompactTfidfVectorizer(TfidfVectorizer):
    """``TfidfVectorizer`` whose saved state keeps the vocabulary as one array of terms.

    skops writes a dict entry by entry as JSON, which makes a 100k-term vocabulary tens of megabytes and
    seconds to load; an array of terms is one ``.npy`` member and the dict is rebuilt on load.
    """

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # a copy: on Python 3.11+ object.__getstate__ returns __dict__ itself
        vocab = state.get("vocabulary_")
        if isinstance(vocab, dict):
            terms = np.empty(len(vocab), dtype=object)
            for term, idx in vocab.items():
                terms[idx] = term
            state["vocabulary_"] = terms.astype(str) if len(terms) else np.asarray([], dtype="<U1")
        state.pop("stop_words_", None)  # only a record of pruned terms; sklearn documents it as removable
        state.pop("_char_keys", None)  # lookup tables rebuilt on first use
        state.pop("_word_keys", None)
        return state

    def _count_vocab(self, raw_documents, fixed_vocab):
        """At transform time (fixed vocabulary) count faster than scikit-learn's per-note Python counter;
        the matrix is the same (tests compare them on the whole corpus)."""
        if not fixed_vocab:
            return super()._count_vocab(raw_documents, fixed_vocab)
        docs = list(raw_documents)
        if self._plain_char_analyzer():
            return self.vocabulary_, self._char_counts(docs)
        if self._plain_word_analyzer() and self._word_index() is not None:
            return self.vocabulary_, self._word_counts(docs)
        lookup = self.vocabulary_.get
        analyze = self.build_analyzer()
        indices: list[int] = []
        indptr = [0]
        for doc in docs:
            indices.extend([i for i in map(lookup, analyze(doc)) if i is not None])
            indptr.append(len(indices))
        X = sparse.csr_matrix(
            (
                np.ones(len(indices), dtype=self.dtype),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(len(indptr) - 1, len(self.vocabulary_)),
        )
        X.sum_duplicates()  # sorts each row's indices and adds repeated n-grams: the counts
        return self.vocabulary_, X

    def _plain_char_analyzer(self) -> bool:
        return (
            self.analyzer == "char"
            and self.preprocessor is None
            and not self.lowercase
            and self.strip_accents is None
            and self.input == "content"
            and self.ngram_range[1] <= 3
        )

    def _plain_word_analyzer(self) -> bool:
        return (
            self.analyzer == "word"
            and callable(self.tokenizer)
            and self.preprocessor is None
            and not self.lowercase
            and self.strip_accents is None
            and self.stop_words is None
            and self.input == "content"
            and self.ngram_range[1] <= 3
        )

    def _word_index(self) -> tuple[dict[str, int], pd.Index, np.ndarray] | None:
        """Tokens as small integers, and the vocabulary's n-grams as integer keys over them (None when a
        vocabulary term cannot be read back as space-joined tokens, and the general path must be used)."""
        if getattr(self, "_word_keys", None) is None:
            low, high = self.ngram_range
            token_ids: dict[str, int] = {}
            split = []
            for term, col in self.vocabulary_.items():
                parts = term.split(" ")
                if not low <= len(parts) <= high or "" in parts:
                    self._word_keys = False
                    return None
                split.append(([token_ids.setdefault(p, len(token_ids)) for p in parts], col))
            base = len(token_ids) + 1
            keys = np.fromiter((_fold(ids, base) for ids, _ in split), dtype=np.int64, count=len(split))
            cols = np.fromiter((col for _, col in split), dtype=np.int64, count=len(split))
            self._word_keys = (token_ids, pd.Index(keys), cols)
        return self._word_keys or None

    def _word_counts(self, docs: list[str]) -> sparse.csr_matrix:
        """Word n-gram counts: one dict lookup per token in Python, the n-grams themselves in numpy."""
        token_ids, index, columns = self._word_index()
        lookup, tokenize = token_ids.get, self.tokenizer
        ids_per_doc = [[lookup(t, -1) for t in tokenize(doc)] for doc in docs]
        lens = np.fromiter(map(len, ids_per_doc), dtype=np.int64, count=len(docs))
        ids = np.fromiter(itertools.chain.from_iterable(ids_per_doc), dtype=np.int64, count=int(lens.sum()))
        owner = np.repeat(np.arange(len(docs), dtype=np.int64), lens)
        base = len(token_ids) + 1
        rows, cols = [], []
        low, high = self.ngram_range
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
            cols.append(columns[pos[hit]])
        return _counts_matrix(rows, cols, len(docs), len(self.vocabulary_), self.dtype)

    def _char_index(self) -> tuple[pd.Index, np.ndarray]:
        """Vocabulary n-grams as a hash index of integer keys (code points packed 21 bits each), and the
        column of each key."""
        if getattr(self, "_char_keys", None) is None:
            terms = list(self.vocabulary_)
            keys = np.fromiter((_pack(t) for t in terms), dtype=np.uint64, count=len(terms))
            cols = np.fromiter((self.vocabulary_[t] for t in terms), dtype=np.int64, count=len(terms))
            self._char_keys = (pd.Index(keys), cols)
        return self._char_keys

    def _char_counts(self, docs: list[str]) -> sparse.csr_matrix:
        """Character n-gram counts for all notes at once in numpy: every window of the concatenated code
        points that stays inside one note is packed into an integer and looked up in a hash index."""
        index, columns = self._char_index()
        texts = [_WHITE_SPACES.sub(" ", d) for d in docs]  # what scikit-learn's char analyzer does first
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
        rows, cols = [], []
        low, high = self.ngram_range
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
            cols.append(columns[pos[hit]])
        return _counts_matrix(rows, cols, len(texts), len(self.vocabulary_), self.dtype)

    def __setstate__(self, state: dict) -> None:
        vocab = state.get("vocabulary_")
        if isinstance(vocab, np.ndarray):
            state["vocabulary_"] = {str(t): i for i, t in enumerate(vocab.tolist())}
        super().__setstate__(state)


def _vectorizer(cfg: VectorizerConfig, **kwargs: object) -> TfidfVectorizer:
    return CompactTfidfVectorizer(
        ngram_range=tuple(cfg.ngram_range),
        min_df=cfg.min_df,
        max_df=cfg.max_df,
        max_features=cfg.max_features,
        sublinear_tf=cfg.sublinear_tf,
        lowercase=False,
        dtype=np.float32,
        **kwargs,
    )


def build_features(cfg: FeaturesConfig, tokenizer: Tokenizer) -> FeatureUnion:
    """Word and/or character TF-IDF over normalised notes, as configured."""
    parts = []
    if cfg.word.enabled:
        parts.append(("word", _vectorizer(cfg.word, tokenizer=tokenizer, token_pattern=None)))
    if cfg.char.enabled:
        parts.append(("char", _vectorizer(cfg.char, analyzer="char")))
    return FeatureUnion(parts)


def build_tokenizer(cfg: TokenizerConfig) -> Tokenizer:
    return make_tokenizer(cfg.backend, cfg.user_dicts)


def display_feature(name: str) -> str:
    """A feature name as the words a collector would recognise: ``word__还 不了`` -> ``还不了``."""
    _, _, piece = name.partition("__")
    return piece.replace(" ", "")

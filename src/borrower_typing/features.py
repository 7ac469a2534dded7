"""From notes to a sparse feature matrix: normalisation, word n-grams on jieba tokens, character n-grams.

Word n-grams carry the phrases (还不了, 去起诉, 下周四一定); character n-grams survive what word segmentation
and speech-to-text get wrong (换款 for 还款, 鱼期 for 逾期, dialect words outside the dictionary).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from .config import FeaturesConfig, TokenizerConfig, VectorizerConfig
from .ngrams import KeyIndex, char_counts, char_index, word_counts, word_index
from .pii import looks_like_number
from .registers import table_with
from .text import normalize, texts_of
from .tokenize import Tokenizer, make_tokenizer


class TextNormalizer(TransformerMixin, BaseEstimator):
    """First pipeline step: takes a DataFrame with a text column (or a list of notes) and returns the
    normalised notes, one per input row (missing or non-string cells become "")."""

    def __init__(self, column: str = "text", shorthand: tuple[tuple[str, str], ...] = ()):
        self.column = column
        self.shorthand = shorthand  # users' shorthand entries (text.shorthand_tables), stored with the model

    def fit(self, X: object, y: object = None) -> TextNormalizer:
        self.n_features_in_ = 1
        self.feature_names_in_ = np.asarray([self.column], dtype=object)
        return self

    def transform(self, X: object) -> list[str]:
        table = table_with(tuple(map(tuple, self.shorthand))) if self.shorthand else None
        return [normalize(t, table) for t in texts_of(X, self.column)]

    def get_feature_names_out(self, input_features: Iterable[str] | None = None) -> np.ndarray:
        return np.asarray([self.column], dtype=object)


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

    # Kept on purpose although ``_count_vocab`` is private: it is the one hook where scikit-learn lets a
    # subclass replace the counting for a fixed vocabulary while fit, idf, normalisation and feature names
    # stay scikit-learn's. A public-API wrapper (transform, then recount) would count every note twice, i.e.
    # be slower, and it is what cross-validation and ``evaluate`` pay per note. tests/test_features.py
    # compares the matrices with scikit-learn's own on the corpus, so an upstream change shows at once.
    def _count_vocab(self, raw_documents, fixed_vocab):
        """At transform time (fixed vocabulary) count faster than scikit-learn's per-note Python counter;
        the matrix is the same (tests compare them on the whole corpus)."""
        if not fixed_vocab:
            return _without_numbers(*super()._count_vocab(raw_documents, fixed_vocab))
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

    def _terms(self) -> list[str]:
        """The vocabulary in column order."""
        terms = [""] * len(self.vocabulary_)
        for term, col in self.vocabulary_.items():
            terms[col] = term
        return terms

    def _word_index(self) -> tuple[dict[str, int], KeyIndex] | None:
        if getattr(self, "_word_keys", None) is None:
            self._word_keys = word_index(self._terms(), self.ngram_range) or False
        return self._word_keys or None

    def _word_counts(self, docs: list[str]) -> sparse.csr_matrix:
        token_ids, index = self._word_index()
        n_terms = len(self.vocabulary_)
        return word_counts(docs, self.tokenizer, token_ids, index, self.ngram_range, n_terms, self.dtype)

    def _char_counts(self, docs: list[str]) -> sparse.csr_matrix:
        if getattr(self, "_char_keys", None) is None:
            self._char_keys = char_index(self._terms())
        return char_counts(docs, self._char_keys, self.ngram_range, len(self.vocabulary_), self.dtype)

    def __setstate__(self, state: dict) -> None:
        vocab = state.get("vocabulary_")
        if isinstance(vocab, np.ndarray):
            state["vocabulary_"] = {str(t): i for i, t in enumerate(vocab.tolist())}
        super().__setstate__(state)


def _without_numbers(vocabulary: dict[str, int], X: sparse.csr_matrix) -> tuple[dict[str, int], sparse.csr_matrix]:
    """The fit-time guard: a term holding a long digit run (an ID, card or phone number masking missed, or a
    case number) never enters the vocabulary, so no saved model file can hold one."""
    dropped = {col for term, col in vocabulary.items() if looks_like_number(term)}
    if not dropped:
        return vocabulary, X
    kept = sorted((col, term) for term, col in vocabulary.items() if col not in dropped)
    X = X[:, [col for col, _ in kept]]
    return {term: i for i, (_, term) in enumerate(kept)}, X


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

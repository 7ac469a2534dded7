"""Word segmentation with a collection-domain dictionary, behind one picklable callable.

``Tokenizer`` holds only its settings (backend name, user words); the segmentation engine is built once per
process and cached at module level, so a fitted vectorizer that references a ``Tokenizer`` serialises small
and loads fast, and every worker process pays the dictionary cost once.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .text import PLACEHOLDERS, Memo

BACKENDS = ("rjieba", "jieba")
DEFAULT_BACKEND = "rjieba"

# Tokens that carry no signal for a bag-of-words model: whitespace, punctuation and symbols.
_SKIP_RE = re.compile(r"^[\s\W_]+$", re.UNICODE)
# The two engines break ties differently in runs of one repeated character (喂喂喂: 喂|喂喂 or 喂喂|喂) and
# treat hyphens inside codes differently (03-14); folding both first keeps their tokens identical.
_RUN_RE = re.compile(r"(.)\1{2,}")
# and the symbols jieba's word pattern joins (.+#&_%: 5.2.1, answer.Will) likewise; a space in their place
# gives both the same pieces, and the symbols alone are dropped as tokens anyway.
_HYPHEN_RE = re.compile(r"[-‐‑–—.+#&_%]+")


# Both engines segment each run of word characters on its own (jieba's "han" blocks); whitespace and these
# punctuation marks always end a run and are dropped as tokens. So a note can be cut into clauses here, and
# each clause segmented once per process: clauses repeat across notes far more than whole notes do.
_CLAUSE_RE = re.compile(r"[\s,!?;:，。！？；：、()（）\[\]【】“”\"'‘’…~]+")


def prepare(text: str) -> str:
    """The text both engines segment: runs of 3+ identical characters cut to 2, hyphens and joining symbols
    to spaces."""
    return _HYPHEN_RE.sub(" ", _RUN_RE.sub(r"\1\1", text))


def read_dictionary(path: str | Path) -> list[str]:
    """Words from a jieba-style user dictionary (``word [freq] [tag]`` per line, ``#`` comments)."""
    words = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line.split()[0])
    return words


def domain_words() -> list[str]:
    """The collection-domain dictionary shipped with the package, plus the text placeholders."""
    ref = resources.files("borrower_typing") / "resources" / "domain_dict.txt"
    with resources.as_file(ref) as path:
        return [*read_dictionary(path), *PLACEHOLDERS]


@lru_cache(maxsize=8)
def segmenter(backend: str, user_words: tuple[str, ...]) -> Callable[[str], list[str]]:
    """The bare engine (built once per process and settings) with the user words added: no clause split, no
    memo, no token filter. ``Tokenizer`` is what the model uses; this is the engine's own speed."""
    if backend == "rjieba":
        import rjieba

        engine = rjieba.Jieba()
        for word in user_words:
            engine.add_word(word, None, None)
        return lambda text: engine.cut(text, hmm=True)
    if backend == "jieba":
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        engine = jieba.Tokenizer()
        for word in user_words:
            engine.add_word(word)
        return lambda text: engine.lcut(text, HMM=True)
    raise ValueError(f"unknown tokenizer backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _clause_cutter(cut: Callable[[str], list[str]]) -> Callable[[str], tuple[str, ...]]:
    # isalnum() first: most tokens are words, and a token with a word character is never skipped.
    return lambda clause: tuple(tok for tok in cut(prepare(clause)) if tok.isalnum() or not _SKIP_RE.match(tok))


@lru_cache(maxsize=8)
def _clause_memo(backend: str, user_words: tuple[str, ...]) -> Memo:
    """One memo per engine and settings, shared by every tokenizer that has them: the copies that cloning
    makes in cross-validation and grid search give the same tokens, so they need not each hold a memo."""
    return Memo(_clause_cutter(segmenter(backend, user_words)))


# Per-instance shortcut to the shared clause memo (building the lookup key from the word list on every clause
# costs as much as segmenting it); held outside the object so that its saved state stays two plain attributes,
# and through a weak reference, so that a tokenizer no longer used leaves this table.
_CUTS: dict[int, tuple[weakref.ref[Tokenizer], Memo]] = {}


def _forget(key: int) -> Callable[[object], None]:
    return lambda _ref: _CUTS.pop(key, None)


class Tokenizer:
    """Callable ``text -> list[str]`` over jieba or rjieba with the domain dictionary.

    Picklable and serialisable with skops: its state is two plain attributes.
    """

    def __init__(self, backend: str = DEFAULT_BACKEND, user_words: Sequence[str] = ()):
        if backend not in BACKENDS:
            raise ValueError(f"unknown tokenizer backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.user_words = list(user_words)

    def __call__(self, text: str) -> list[str]:
        cut = self.cut_clause
        tokens: list[str] = []
        for clause in _CLAUSE_RE.split(text):
            tokens.extend(cut(clause))
        return tokens

    @staticmethod
    def clauses(text: str) -> list[str]:
        """The pieces of ``text`` that are segmented independently (``cut_clause`` of each, in order, gives
        the tokens of the whole)."""
        return _CLAUSE_RE.split(text)

    def cut_clause(self, clause: str) -> tuple[str, ...]:
        """The tokens of one clause, segmented once per process."""
        state = _CUTS.get(id(self))
        if state is None or state[0]() is not self:
            memo = _clause_memo(self.backend, tuple(self.user_words))
            state = _CUTS[id(self)] = (weakref.ref(self, _forget(id(self))), memo)
        return state[1][clause]

    def __repr__(self) -> str:
        return f"Tokenizer(backend={self.backend!r}, user_words=<{len(self.user_words)} words>)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and other.backend == self.backend and other.user_words == self.user_words

    def __hash__(self) -> int:
        return hash((self.backend, tuple(self.user_words)))


def make_tokenizer(backend: str = DEFAULT_BACKEND, extra_dicts: Iterable[str | Path] = ()) -> Tokenizer:
    """A tokenizer with the shipped domain dictionary plus any user dictionaries."""
    words = domain_words()
    for path in extra_dicts:
        words.extend(read_dictionary(path))
    return Tokenizer(backend, list(dict.fromkeys(words)))

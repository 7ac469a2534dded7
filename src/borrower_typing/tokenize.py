"""Word segmentation with a collection-domain dictionary, behind one picklable callable.

``Tokenizer`` holds only its settings (backend name, user words); the segmentation engine is built once per
process and cached at module level, so a fitted vectorizer that references a ``Tokenizer`` serialises small
and loads fast, and every worker process pays the dictionary cost once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .text import PLACEHOLDERS

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
def _engine(backend: str, user_words: tuple[str, ...]):
    """Build (once per process and settings) a segmenter with the user words added."""
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


# Per-instance shortcut to the cached engine (building the lookup key from the word list on every note costs
# as much as segmenting it); held outside the object so that its saved state stays two plain attributes.
_CUTS: dict[int, tuple[Tokenizer, object]] = {}


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
        cut = _CUTS.get(id(self))
        if cut is None or cut[0] is not self:
            cut = _CUTS[id(self)] = (self, _engine(self.backend, tuple(self.user_words)))
        return [tok for tok in cut[1](prepare(text)) if not _SKIP_RE.match(tok)]

    def warm_up(self) -> Tokenizer:
        """Load the dictionary now rather than on the first note (for timing and worker start-up)."""
        self("预热")
        return self

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

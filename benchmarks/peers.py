"""The alternatives a data scientist would pick instead of this project, behind one small interface.

Each peer has ``fit(texts, labels)``, ``predict(texts) -> labels``, ``size_bytes()``; the project's own model is
wrapped the same way so every one of them meets the same splits in the same run.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

import numpy as np


class ProjectModel:
    """The default configuration of ``configs/train.yaml``."""

    name = "borrower_typing (default)"

    def __init__(self, config):
        self.config = config

    def fit(self, texts: list[str], labels: list[str]) -> ProjectModel:
        import pandas as pd

        from borrower_typing.pipeline import build_pipeline

        self.pipeline = build_pipeline(self.config).fit(pd.DataFrame({"text": texts}), labels)
        return self

    def predict(self, texts: list[str]) -> np.ndarray:
        import pandas as pd

        return self.pipeline.predict(pd.DataFrame({"text": texts}))

    def size_bytes(self) -> int:
        from borrower_typing.labels import load_labels
        from borrower_typing.model import TypingModel

        with tempfile.TemporaryDirectory() as tmp:
            TypingModel(self.pipeline, load_labels()).save(tmp)
            return sum(f.stat().st_size for f in Path(tmp).iterdir())


def jieba_words(text: str) -> str:
    import jieba

    return " ".join(jieba.lcut(text))


class NotebookBaseline:
    """What one writes in ten lines: ``jieba.lcut`` → ``TfidfVectorizer()`` → ``LogisticRegression()``,
    every setting left at its default."""

    name = "notebook baseline (jieba + TfidfVectorizer + LogisticRegression)"

    def fit(self, texts: list[str], labels: list[str]) -> NotebookBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression())
        self.pipeline.fit([jieba_words(t) for t in texts], labels)
        return self

    def predict(self, texts: list[str]) -> np.ndarray:
        return self.pipeline.predict([jieba_words(t) for t in texts])

    def size_bytes(self) -> int:
        return len(pickle.dumps(self.pipeline))


class FastTextPeer:
    """fastText supervised on jieba-tokenised text with word bigrams."""

    def __init__(self, epoch: int = 25, lr: float = 0.5, word_ngrams: int = 2, dim: int = 100, seed: int = 0):
        self.epoch, self.lr, self.word_ngrams, self.dim, self.seed = epoch, lr, word_ngrams, dim, seed
        self.name = f"fastText (wordNgrams={word_ngrams}, epoch={epoch}, lr={lr})"

    @staticmethod
    def _line(text: str) -> str:
        return jieba_words(text).replace("\n", " ").replace("\r", " ")

    def fit(self, texts: list[str], labels: list[str]) -> FastTextPeer:
        import fasttext

        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
            for text, label in zip(texts, labels, strict=True):
                fh.write(f"__label__{label} {self._line(text)}\n")
            path = fh.name
        try:
            # one thread: the same core budget as the others, and a repeatable result with the seed
            self.model = fasttext.train_supervised(
                input=path,
                epoch=self.epoch,
                lr=self.lr,
                wordNgrams=self.word_ngrams,
                dim=self.dim,
                thread=1,
                seed=self.seed,
                verbose=0,
            )
        finally:
            os.unlink(path)
        return self

    def predict(self, texts: list[str]) -> np.ndarray:
        # a list, not a single string: fastText's single-string path trips over numpy 2
        labels, _ = self.model.predict([self._line(t) for t in texts], k=1)
        return np.asarray([lab[0].removeprefix("__label__") for lab in labels])

    def size_bytes(self) -> int:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ft.bin"
            self.model.save_model(str(path))
            return path.stat().st_size

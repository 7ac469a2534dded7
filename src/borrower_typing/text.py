"""Normalisation and masking of raw note text: the first step for every note, before tokens or logs.

Two entry points:
- ``mask_pii`` replaces phone, ID-card and bank-card numbers (however written) and e-mails with placeholders; it is
  what may be shown, logged or written to MLflow.
- ``normalize`` is what the model sees: NFKC, whitespace folded, the registers mapped onto one (Traditional to
  Simplified, system lines to tokens, English shorthand to Chinese: see ``registers``), personal data masked,
  and amounts, dates and times turned into typed placeholders so that ``3,200元`` and ``五千块`` look alike.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from .pii import CARD, EMAIL, IDNO, PHONE, mask_numbers
from .registers import ShorthandTable, from_simplified, load_table, to_simplified

# Placeholders are ASCII words so both tokenisers keep them whole, and upper case so no note collides with them.
NAME, AMOUNT, DATE, TIME = "NAME", "AMT", "DATE", "TIME"
PLACEHOLDERS = (PHONE, IDNO, CARD, EMAIL, NAME, AMOUNT, DATE, TIME)

_CN_NUM = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟"
_AMOUNT_RE = re.compile(
    rf"(?:[0-9][0-9,，]*(?:\.[0-9]+)?|[{_CN_NUM}]+)\s*(?:多|余)?\s*(?:万|千|k|K|w|W)?\s*(?:元|块钱|块|rmb|RMB)"
    rf"|(?:¥|￥)\s*[0-9][0-9,]*(?:\.[0-9]+)?"
    rf"|[0-9]+(?:\.[0-9]+)?\s*(?:万|w|W)(?![0-9])"
)
_DATE_RE = re.compile(
    r"(?:20[0-9]{2}|[0-9]{2})\s*[-/.年]\s*[0-9]{1,2}\s*[-/.月]\s*[0-9]{1,2}\s*[日号]?"
    r"|[0-9]{1,2}\s*月\s*[0-9]{1,2}\s*[日号]"
    r"|(?<![0-9/])[0-9]{1,2}/[0-9]{1,2}(?![0-9/])"
)
_TIME_RE = re.compile(r"(?<![0-9])(?:[01]?[0-9]|2[0-3])\s*[:：]\s*[0-5][0-9](?:\s*[:：]\s*[0-5][0-9])?(?![0-9])")
# A masked name as CRMs write it (张**, 欧阳*): which surname was masked says nothing about behaviour.
_NAME_RE = re.compile(r"[\u4e00-\u9fff][*＊]{1,3}(?![0-9])")
_WS_RE = re.compile(r"\s+")
_DIGIT_RE = re.compile(r"[0-9]")
_CJK_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
# Spaces around punctuation carry nothing, yet would make "还, 下周" and "还,下周" different n-grams. (Matching
# only the spaces, not every punctuation mark with a group to put back, makes this pass three times faster.)
_PUNCT = "[,.!?;:，。！？；：、]"
_PUNCT_WS_RE = re.compile(rf"\s+(?={_PUNCT})|(?<={_PUNCT})\s+")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and math.isnan(value)


def as_text(value: object) -> str:
    """Any cell value as a string: None/NaN become "", numbers their plain form."""
    if _is_missing(value):
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def clean(text: str) -> str:
    """NFKC (full-width to half-width), control and format characters dropped, whitespace folded."""
    text = unicodedata.normalize("NFKC", text)
    if not text.replace("\n", "").replace("\t", "").isprintable():  # most notes have nothing to drop
        text = "".join(ch if (ch in "\n\t" or unicodedata.category(ch)[0] != "C") else " " for ch in text)
    return _WS_RE.sub(" ", text).strip()


def mask_pii(text: object) -> str:
    """Replace ID, phone and card numbers (however written, full or partly masked) and e-mail addresses with
    placeholders (see ``pii``).

    Safe to log: this is the only form of a note that leaves the process (MLflow, reports, label audit).
    """
    return mask_numbers(clean(as_text(text)))


# Sentence marks that no pattern above can span (amounts keep their commas, dates their dots and dashes, times
# their colons), so a note can be normalised sentence by sentence, and each sentence once per process: the same
# sentences (无人接听, 客户称下周还款) recur across notes far more often than whole notes do.
_SENTENCE_RE = re.compile(r"([。！？；、!?;])")
_SENTENCE_MARK = {m: unicodedata.normalize("NFKC", m) for m in "。！？；、!?;"}


class Memo(dict):
    """Values computed once per key and kept until ``size`` keys are held, then all dropped: a per-process
    cache whose memory stays bounded however long the batch (hits cost one dict lookup).

    ``size=None`` takes the process-wide default, which ``Memo.set_default_size`` changes for every memo that
    follows it, those already made included (0 turns remembering off: what the benchmarks use to measure notes
    that never repeat)."""

    default_size: ClassVar[int] = 50_000
    _live: ClassVar[list[weakref.ref[Memo]]] = []

    def __init__(self, compute: Callable[[str], Any], size: int | None = None):
        super().__init__()
        self.compute = compute
        self._size = size
        if len(Memo._live) >= 64:
            Memo._live = [ref for ref in Memo._live if ref() is not None]
        Memo._live.append(weakref.ref(self))

    @property
    def size(self) -> int:
        return Memo.default_size if self._size is None else self._size

    @classmethod
    def set_default_size(cls, size: int) -> int:
        """Set the default size (returns the previous one) and empty the memos that follow it."""
        if size < 0:
            raise ValueError(f"memo size must be >= 0, not {size}")
        previous, cls.default_size = cls.default_size, int(size)
        cls.empty_all()
        return previous

    @classmethod
    def empty_all(cls) -> None:
        """Empty every memo on the default size (a fresh process's state, without starting one)."""
        for ref in cls._live:
            memo = ref()
            if memo is not None and memo._size is None:
                memo.clear()

    def __missing__(self, key: str) -> Any:
        value = self.compute(key)
        if len(self) >= self.size:
            self.clear()
        if self.size:
            self[key] = value
        return value


def normalize(text: object, table: ShorthandTable | None = None) -> str:
    """What the model reads: masked text with amounts, dates and times as typed placeholders.

    The same as ``normalize_sentence`` on the whole note (a test holds them equal on every corpus note).
    ``table``: a shorthand table other than the shipped one (``registers.table_with``).
    """
    memo = _SENTENCES if table is None or table is load_table() else _memo_for(table)
    parts = _SENTENCE_RE.split(as_text(text))
    parts[::2] = [memo[p] for p in parts[::2]]
    parts[1::2] = [_SENTENCE_MARK[p] for p in parts[1::2]]
    return "".join(parts)


def normalize_sentence(text: object, table: ShorthandTable | None = None) -> str:
    """``normalize`` without the sentence split: registers mapped, masking, then the typed placeholders."""
    # Cleaned once (the register mapping only adds single spaces); Simplified first, so 尾號 masks like 尾号;
    # masked before the shorthand table can touch an e-mail address (cust@…).
    text = from_simplified(mask_numbers(to_simplified(clean(as_text(text)))), table)
    if "*" in text:
        text = _NAME_RE.sub(f" {NAME} ", text)
    if _DIGIT_RE.search(text):
        text = _DATE_RE.sub(f" {DATE} ", text)
        text = _TIME_RE.sub(f" {TIME} ", text)
    text = _AMOUNT_RE.sub(f" {AMOUNT} ", text)
    return _PUNCT_WS_RE.sub("", _WS_RE.sub(" ", text)).strip()


_SENTENCES = Memo(normalize_sentence)
# One memo per user table (tables are cached in registers, so the same table object comes back each time).
_TABLE_MEMOS: weakref.WeakKeyDictionary[ShorthandTable, Memo] = weakref.WeakKeyDictionary()


def _memo_for(table: ShorthandTable) -> Memo:
    memo = _TABLE_MEMOS.get(table)
    if memo is None:
        memo = _TABLE_MEMOS[table] = Memo(lambda sentence: normalize_sentence(sentence, table))
    return memo


def texts_of(X: object, column: str = "text") -> list[object]:
    """The notes in ``X``: a DataFrame's ``column`` (or its only column), a Series, an array or a list."""
    if isinstance(X, str):
        return [X]
    columns = getattr(X, "columns", None)
    if columns is not None:  # a DataFrame
        if column in columns:
            return X[column].tolist()
        if X.shape[1] == 1:
            return X.iloc[:, 0].tolist()
        raise KeyError(f"no column {column!r} among {list(columns)}")
    ndim = getattr(X, "ndim", None)
    if ndim == 2:  # a one-column array
        return X[:, 0].tolist()
    if ndim == 1:  # a Series or a vector
        return X.tolist()
    return list(X)


def cjk_count(text: str, at_most: int | None = None) -> int:
    """Number of CJK ideographs (counting stops at ``at_most``): the basis of the "not Chinese" and "too short"
    checks."""
    if at_most is None:
        return len(_CJK_RE.findall(text))
    return sum(1 for _ in itertools.islice(_CJK_RE.finditer(text), at_most))

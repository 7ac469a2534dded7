"""The review rule, once: when a note, or a case, goes to a person instead of being typed automatically.

The output contract every engine follows: a row sent to review (any reason) carries type ``none`` (its
Chinese name from the labels file, 待人工复核) and the ``none`` guidance as its strategy; the model's guess and
its probability stay in ``best_guess`` / ``best_guess_confidence`` (filled on every row, equal to ``type`` /
``confidence`` when the row is not sent to review). ``confidence`` is always the guess's probability.
"""

from __future__ import annotations

from .labels import NONE
from .registers import has_system_tokens, readable_count
from .vocab import OOV_REASON

# Reasons under which a note says nothing about the borrower (low_confidence is not one of them): such a note
# gets the ``none`` guidance instead of its guessed type's playbook.
NO_BASIS_REASONS = frozenset({"empty", "not_chinese", "too_short", OOV_REASON, "no_basis"})
# Reasons under which a note carries no text to weigh at all: it counts for nothing in its case.
NO_TEXT_REASONS = frozenset({"empty", "not_chinese", "too_short"})


def note_review_reason(
    text: str,
    no_basis: bool,
    confidence: float,
    threshold: float,
    min_cjk_chars: int,
    vocab_share: float | None = None,
    min_vocab_share: float = 0.0,
) -> str | None:
    """Why a normalised note needs review, or None: no text, too little readable text (Chinese characters or
    English words), mostly unknown to the vocabulary (``vocab_share``, see vocab.py), no basis, low confidence."""
    if not text:
        return "empty"
    n_cjk = readable_count(text, at_most=max(1, min_cjk_chars))
    if n_cjk == 0:  # "not_chinese" now means no readable words in either script; system lines only: no basis
        return "no_basis" if has_system_tokens(text) else "not_chinese"
    if n_cjk < min_cjk_chars:
        return "too_short"
    if vocab_share is not None and vocab_share < min_vocab_share:  # gibberish, another language: a guess
        return OOV_REASON
    if no_basis:
        return "no_basis"
    if confidence < threshold:
        return "low_confidence"
    return None


def case_review_reason(notes_with_basis: int, confidence: float, threshold: float) -> str:
    """Why a case needs review, or "": none of its notes has a basis of its own, or its confidence is low."""
    if notes_with_basis == 0:
        return "no_basis"
    if confidence < threshold:
        return "low_confidence"
    return ""


def shown_type(guess: str, reason: str | None) -> str:
    """The type a row carries: the model's guess, or ``none`` when the row goes to review (for any reason:
    a type on a row a person must still check would be acted on)."""
    return NONE if reason else guess


def strategy_key(slug: str, reason: str | None) -> str:
    """Whose playbook a row gets: a review row gets the ``none`` guidance, never its guessed type's."""
    return shown_type(slug, reason)

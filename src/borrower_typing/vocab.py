"""How much of a note the model's vocabulary knows: the share of its distinct character pairs seen in training.

A new template, another language or gibberish shows here first: the classifier still returns a type for a
note made of characters it never saw (its intercepts and a few stray n-grams decide), so the predictor sends
such a note to review (``out_of_vocabulary``) and monitoring watches the share across a batch. Character pairs
rather than tokens: they need no tokenizer (cheap enough for every note of a million-row export) and survive
segmentation and speech-to-text slips the way the character n-gram features do.
"""

from __future__ import annotations

from collections.abc import Iterable

OOV_REASON = "out_of_vocabulary"


def known_pairs(terms: Iterable[str]) -> frozenset[str]:
    """The two-character terms of a character n-gram vocabulary."""
    return frozenset(t for t in terms if len(t) == 2)


def note_pairs(note: str) -> set[str]:
    """Distinct adjacent character pairs of an already normalised note (pairs with a space are not content)."""
    pairs = {note[i : i + 2] for i in range(len(note) - 1)}
    return {p for p in pairs if " " not in p} if " " in note else pairs


def vocab_share(note: str, known: frozenset[str]) -> float | None:
    """Share of the note's distinct character pairs in ``known``; None for a note under two characters."""
    pairs = note_pairs(note)
    if not pairs:
        return None
    return len(pairs & known) / len(pairs)

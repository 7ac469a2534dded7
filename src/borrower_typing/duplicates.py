"""Repeated notes in a labelled export: duplicate keys, label conflicts, and what training does with them.

Rule (one definition for CV grouping, conflicts, reports and ``data validate``): two notes are the same note
when their *duplicate key* is equal. The key is the note after ``clean`` (NFKC, whitespace folded), personal
numbers masked, then every digit, punctuation mark, symbol and space removed, lower-cased. So "已还500元。"
and "已还 800 元！" share a key (a near duplicate), "你去起诉" and "你去告" do not. A cheap exact rule rather
than MinHash: it needs no dependency, is deterministic, and catches what exports repeat in practice (copied
notes with another amount, date or phone number).

- Notes sharing a key go to the same cross-validation fold (``evaluate_pipeline(..., cv_groups=keys)``).
- Notes sharing a key with different labels are a *conflict*: ``train`` refuses them unless told to ``drop``
  the conflicting notes or keep the ``majority`` label (a tie is dropped).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from .text import clean, mask_pii

ConflictPolicy = Literal["error", "drop", "majority"]


def duplicate_key(text: object) -> str:
    """The key two notes share when they are the same note for evaluation purposes (see the module doc)."""
    masked = mask_pii(clean("" if text is None else str(text)))
    # Unicode categories: L* letters and M* marks stay; N* digits, P* punctuation, S* symbols, Z*/C* go.
    return "".join(ch for ch in masked if unicodedata.category(ch)[0] in "LM").lower()


def duplicate_keys(texts: pd.Series | list[str]) -> pd.Series:
    index = texts.index if isinstance(texts, pd.Series) else None
    return pd.Series([duplicate_key(t) for t in texts], index=index, dtype=object)


@dataclass
class Conflict:
    key: str
    rows: list[int]
    labels: dict[str, int]  # label -> how many notes carry it


@dataclass
class DuplicateSummary:
    """How repetitive a table is: ``duplicate_rows`` notes repeat an earlier one (same key, same label)."""

    rows: int
    distinct: int
    duplicate_rows: int
    conflicts: list[Conflict] = field(default_factory=list)

    def as_metrics(self) -> dict[str, float]:
        return {
            "duplicate_notes": float(self.duplicate_rows),
            "distinct_notes": float(self.distinct),
            "conflicting_notes": float(sum(len(c.rows) for c in self.conflicts)),
        }

    def line(self) -> str:
        conflicting = sum(len(c.rows) for c in self.conflicts)
        return (
            f"{self.rows} notes, {self.distinct} distinct: {self.duplicate_rows} repeat an earlier note "
            f"(exact or near duplicate; kept in the same CV fold); {len(self.conflicts)} conflicts "
            f"({conflicting} notes: same note, different labels)"
        )


def summarise(keys: pd.Series, labels: pd.Series, rows: pd.Series | None = None) -> DuplicateSummary:
    """Duplicate counts and conflicts; ``rows`` are the file's row numbers (default: 1-based positions)."""
    rows = rows if rows is not None else pd.Series(range(1, len(keys) + 1), index=keys.index)
    frame = pd.DataFrame({"key": keys.to_numpy(), "label": labels.to_numpy(), "row": rows.to_numpy()})
    frame = frame[frame["key"] != ""]
    conflicts = []
    for key, part in frame.groupby("key", sort=False):
        if part["label"].nunique() > 1:
            counts = {str(k): int(v) for k, v in part["label"].value_counts().items()}
            conflicts.append(Conflict(str(key), [int(r) for r in part["row"]], counts))
    conflicting = {k.key for k in conflicts}
    clean_part = frame[~frame["key"].isin(conflicting)]
    return DuplicateSummary(
        rows=len(frame),
        distinct=int(frame["key"].nunique()),
        duplicate_rows=int(clean_part.duplicated("key").sum()),
        conflicts=conflicts,
    )


def conflict_message(conflicts: list[Conflict], source: str, limit: int = 5) -> str:
    parts = [
        f"rows {', '.join(map(str, c.rows[:6]))}{' …' if len(c.rows) > 6 else ''} "
        f"({', '.join(f'{k}×{v}' for k, v in c.labels.items())})"
        for c in conflicts[:limit]
    ]
    more = f" and {len(conflicts) - limit} more" if len(conflicts) > limit else ""
    return (
        f"{source}: {len(conflicts)} label conflicts (the same note with different labels): "
        f"{'; '.join(parts)}{more}; fix the labels or pass --on-conflict drop|majority"
    )


def resolve_conflicts(
    data: pd.DataFrame, conflicts: list[Conflict], policy: ConflictPolicy, source: str
) -> tuple[pd.DataFrame, list[int]]:
    """``data`` (with ``key``, ``label``, ``row`` columns) without what the policy removes; and the rows removed.

    ``error`` raises ``DataError`` naming the rows; ``drop`` removes every note of a conflict; ``majority``
    keeps the notes carrying the most frequent label of their conflict and drops a tie entirely.
    """
    from .data import DataError

    if not conflicts:
        return data, []
    if policy == "error":
        raise DataError(conflict_message(conflicts, source))
    drop = pd.Series(False, index=data.index)
    for c in conflicts:
        in_conflict = data["key"] == c.key
        ranked = sorted(c.labels.items(), key=lambda kv: -kv[1])
        if policy == "majority" and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            drop |= in_conflict & (data["label"] != ranked[0][0])
        else:
            drop |= in_conflict
    removed = [int(r) for r in data.loc[drop, "row"]]
    return data.loc[~drop], removed

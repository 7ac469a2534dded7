"""Profiling a scored batch: chunks, ``--by`` slices, and the sample the costly per-note figures come from.

A scored file is read in chunks (only the columns monitoring needs) and reduced to a ``Profile`` (profile.py)
overall and per slice. Type, confidence, review reason and note length are counted on every row. The
vocabulary share and the tokens need the note normalised again, which costs about what scoring it does, so
``monitor`` measures them on a sample: every note of the first ``sample_rows`` of the batch and of each slice,
then every ``sample_every``-th note, counted that many times (``sample_weights``); a weighted sample's
histogram estimates the whole's, and a small slice is measured whole. ``score --monitor`` needs no sample for
the vocabulary share: scoring has measured it for every note.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import MonitorConfig
from .profile import Profile, batch_shares, known_tokens, model_tokenizer, scored_types
from .text import as_text, mask_pii

if TYPE_CHECKING:
    import pandas as pd

    from .model import TypingModel

SCORED_COLUMNS = ("type", "confidence", "review_reason")


@dataclass
class BatchProfiles:
    """A batch's overall profile and one per slice (``by`` columns), added up chunk by chunk."""

    by: list[str]
    overall: Profile = field(default_factory=Profile)
    slices: dict[tuple[str, ...], Profile] = field(default_factory=dict)

    def merge(self, other: BatchProfiles) -> BatchProfiles:
        self.overall.merge(other.overall)
        for key, prof in other.slices.items():
            self.slices.setdefault(key, Profile()).merge(prof)
        return self


def profile_chunk(
    model: TypingModel,
    scored: pd.DataFrame,
    texts: list[object],
    by: list[str],
    rows: np.ndarray,
    cfg: MonitorConfig,
    shares: list[float | None] | None = None,
    seen: BatchProfiles | None = None,
) -> BatchProfiles:
    """Profile one chunk of scored rows (``type``, ``confidence``, ``review_reason``) and their notes.

    ``rows``: the chunk's 1-based data row numbers. ``shares``: every note's vocabulary share when scoring
    measured it (``score --monitor``); otherwise it is measured on a sample (``sample_weights``) within each
    slice, or the whole batch without ``by``, whose place so far ``seen`` (the chunks before) tells. Tokens are
    counted on the batch's sample. Only the sampled notes are normalised again: that is most of the cost."""
    types, confidence = scored_types(scored)
    reasons = scored["review_reason"].fillna("").astype(str).tolist()
    lengths = [len(as_text(t)) for t in texts]
    groups = _slice_groups(scored, by) if by else {}
    weights = _share_weights(rows, groups, cfg, seen) if shares is None else np.ones(len(texts), dtype=np.int64)
    tokenizer = model_tokenizer(model)
    token_rows = np.flatnonzero(sample_weights(rows, cfg)) if tokenizer is not None else np.empty(0, dtype=np.int64)
    wanted = token_rows if shares is not None else np.union1d(np.flatnonzero(weights), token_rows)
    notes = dict(zip(wanted.tolist(), model.normalize_notes([texts[i] for i in wanted]), strict=True))
    if shares is None:
        measured = np.flatnonzero(weights).tolist()
        found = dict(zip(measured, batch_shares(model, [notes[i] for i in measured]), strict=True))
        shares = [found.get(i) for i in range(len(texts))]
    weight_list = weights.tolist()
    out = BatchProfiles(list(by))
    out.overall.add(types, confidence, reasons, lengths, shares, weight_list)
    if len(token_rows):
        out.overall.add_tokens([tokenizer(notes[i]) for i in token_rows.tolist()], known_token_set(model))
    for key, idx in groups.items():
        prof = out.slices.setdefault(key, Profile())
        prof.add(*([seq[i] for i in idx] for seq in (types, confidence, reasons, lengths, shares, weight_list)))
    return out


def _share_weights(
    rows: np.ndarray, groups: dict[tuple[str, ...], list[int]], cfg: MonitorConfig, seen: BatchProfiles | None
) -> np.ndarray:
    """The sample weights of a chunk's notes: by row number in the batch, or by place in their slice."""
    if not groups:
        return sample_weights(rows, cfg)
    weights = np.zeros(len(rows), dtype=np.int64)
    for key, idx in groups.items():
        before = seen.slices[key].rows if seen is not None and key in seen.slices else 0
        weights[idx] = sample_weights(before + 1 + np.arange(len(idx)), cfg)
    return weights


def sample_weights(positions: np.ndarray, cfg: MonitorConfig) -> np.ndarray:
    """How many notes each note stands for in the sampled figures, by its 1-based position in the batch or its
    slice: 1 for the first ``sample_rows``, ``sample_every`` for every ``sample_every``-th after them, 0 for
    the rest (not measured). Weighted, a sample's histogram estimates the whole's; a small slice is measured
    whole, so its figures are not noise."""
    positions = np.asarray(positions, dtype=np.int64)
    n, k = cfg.sample_rows, cfg.sample_every
    tail = (positions > n) & ((positions - n) % k == 0)
    return np.where(positions <= n, 1, np.where(tail, k, 0)).astype(np.int64)


def _slice_groups(scored: pd.DataFrame, by: list[str]) -> dict[tuple[str, ...], list[int]]:
    """Row positions of the chunk per slice key."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, key in enumerate(zip(*(_slice_values(scored[c]) for c in by), strict=True)):
        groups.setdefault(key, []).append(i)
    return groups


_DATE_PREFIX = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})(?:[-/.月]\d{1,2}|月)")


def _slice_values(column: pd.Series) -> list[str]:
    """Slice keys of a ``--by`` column: a date or timestamp counts by its month (2026-09-08 09:42 -> 2026-09);
    anything else as written, masked. Each distinct value is read once."""
    values = column.fillna("").astype(str)
    keys = {}
    for value in values.unique().tolist():
        m = _DATE_PREFIX.match(value)
        keys[value] = f"{m.group(1)}-{int(m.group(2)):02d}" if m else mask_pii(value)
    return values.map(keys).tolist()


# The word vocabulary's tokens per loaded model, built on first use (weak keys: a model is never kept alive).
_KNOWN_TOKENS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def known_token_set(model: TypingModel) -> frozenset[str]:
    if model not in _KNOWN_TOKENS:
        _KNOWN_TOKENS[model] = known_tokens(model)
    return _KNOWN_TOKENS[model]


def profile_file(
    model: TypingModel,
    path: str | Path,
    cfg: MonitorConfig,
    by: list[str] | None = None,
    text_column: str | None = None,
    text_fallbacks: list[str] | None = None,
    encoding: str | None = None,
) -> BatchProfiles:
    """Read a scored export in chunks and profile it (memory: one chunk plus the counts)."""
    from .data import DataError, iter_table
    from .schema import pick_text_column

    path = Path(path)
    head = next(iter_table(path, chunk_size=1, encoding=encoding), None)
    if head is None:
        raise DataError(f"{path}: no rows to monitor")
    columns = list(head.columns)
    text = pick_text_column(columns, text_column, text_fallbacks or ["text"], path)
    optional = [c for c in ("best_guess", "best_guess_confidence") if c in columns]
    needed = list(dict.fromkeys([text, *SCORED_COLUMNS, *(by or []), *optional]))
    missing = [c for c in needed if c not in columns]
    if missing:
        names = ", ".join(map(repr, missing))
        raise DataError(f"{path}: no column {names} (a file written by `score`?); columns are {columns}")
    total = BatchProfiles(list(by or []))
    for chunk in iter_table(path, chunk_size=cfg.chunk_size, encoding=encoding, columns=needed, select=True):
        _check_confidence(chunk, path)
        rows = np.asarray(chunk.index, dtype=np.int64)
        total.merge(profile_chunk(model, chunk, chunk[text].tolist(), list(by or []), rows, cfg, seen=total))
        check_slices(total, cfg, path)
    return total


def check_slices(profiles: BatchProfiles, cfg: MonitorConfig, path: Path) -> None:
    """Slices are kept in memory: a column with a value per row (a case id) is not something to slice by."""
    from .data import DataError

    if len(profiles.slices) > cfg.max_slices:
        raise DataError(
            f"{path}: more than {cfg.max_slices} distinct values of {', '.join(profiles.by)}; "
            "slice by a coarser column (collector, team, month) or raise max_slices in the monitoring config"
        )


def _check_confidence(chunk: pd.DataFrame, path: Path) -> None:
    import pandas as pd

    from .data import DataError

    values = pd.to_numeric(chunk["confidence"], errors="coerce")
    bad = values.isna() & chunk["confidence"].notna() & (chunk["confidence"].astype(str) != "")
    if bad.any():
        row = chunk.index[bad][0]
        raise DataError(f"{path}: row {row}: confidence {chunk['confidence'][row]!r} is not a number")

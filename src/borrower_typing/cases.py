"""The per-case rule: all of a case's notes combined into one type (both engines call ``CaseAggregator``).

Some types (repeated broken promises, evasion) only show across contacts. The rule, also in the README:

    For note i of a case (in file order, or by ``time_column``), with type probabilities p_i (the nine
    types renormalised without ``none``) and p_i(none) the chance that it says nothing about the borrower,
        w_i = (1 - p_i(none)) * decay ** (number of later notes in the case)
    (w_i = 0 for notes sent to review as empty, not Chinese or too short), and
        score(c) = sum_i w_i * log p_i(c);   case distribution = softmax(score).
    The case type is the argmax, its confidence the softmax value. A case none of whose notes has a basis
    of its own (1 - p_i(none) >= 0.5) goes to review as "no_basis": many unanswered calls do not add up to
    a type. So does a case whose confidence is below the model's review threshold.

Note times are parsed as dates and times (``2026-11-02 9:00`` sorts before ``2026-11-02 10:00``); a time
that is missing or cannot be parsed counts as earlier than every parsed one, in file order, and the ones that
cannot be parsed are named in one warning. A note with an empty case ID is a case of its own: an empty cell
is not an ID that two notes could share.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from .labels import NONE, LabelSet
from .review import NO_TEXT_REASONS, case_review_reason
from .schema import format_alternatives

# How many unparseable times the warning quotes.
_QUOTED = 5


class CaseModel(Protocol):
    """What the rule needs of a model: its label table and review threshold (picklable for Spark)."""

    labels: LabelSet
    threshold: float


def is_empty_case(case: object) -> bool:
    if case is None:
        return True
    if isinstance(case, float) and np.isnan(case):
        return True
    return str(case).strip() == ""


def parse_times(values: Sequence[object]) -> tuple[np.ndarray, list[str]]:
    """Times as int64 nanoseconds (missing or unparseable: the smallest value) and the unparseable ones."""
    raw = pd.Series(list(values), dtype=object)
    blank = raw.isna() | raw.map(lambda v: isinstance(v, str) and not v.strip())
    try:
        parsed = pd.to_datetime(raw.where(~blank), errors="coerce", format="mixed")
    except (TypeError, ValueError):  # a mix pandas will not put in one column (time zones): one by one
        parsed = pd.Series([_one_time(v) for v in raw.where(~blank)], dtype="datetime64[ns]")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = parsed.isna() & ~blank
    ns = parsed.astype("datetime64[ns]").to_numpy().astype("int64")
    ns[parsed.isna().to_numpy()] = np.iinfo(np.int64).min
    return ns, [str(v) for v in raw[bad]]


def _one_time(value: object) -> pd.Timestamp:
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError):
        return pd.NaT
    return t.tz_convert("UTC").tz_localize(None) if t.tzinfo is not None else t


class CaseAggregator:
    """Accumulates per-note probabilities by case and combines them by the rule in the module docstring.

    ``add`` takes chunks in file order; ``result`` returns one row per case, in order of first appearance.
    """

    def __init__(self, classes: Sequence[str], decay: float = 0.8):
        self.classes = list(classes)
        self.none_idx = self.classes.index(NONE) if NONE in self.classes else None
        self.type_idx = [i for i, c in enumerate(self.classes) if c != NONE]
        self.decay = decay
        self._notes: dict[object, list[tuple[int, np.ndarray, float]]] = defaultdict(list)
        self._times: list[object] = []
        self._has_times = False
        self._seq = 0

    def add(
        self,
        case_ids: Sequence[object],
        proba: np.ndarray,
        reasons: Sequence[str],
        times: Sequence[object] | None = None,
    ) -> None:
        """One chunk of notes: their case IDs, class probabilities (``classes`` order), review reasons
        ("" for none) and times (or None: file order)."""
        p_none = proba[:, self.none_idx] if self.none_idx is not None else np.zeros(len(proba))
        types = proba[:, self.type_idx].astype(np.float64)
        types = types / np.clip(types.sum(axis=1, keepdims=True), 1e-12, None)
        logp = np.log(np.clip(types, 1e-9, 1.0)).astype(np.float32)
        for k, case in enumerate(case_ids):
            basis = 0.0 if reasons[k] in NO_TEXT_REASONS else float(1.0 - p_none[k])
            # An empty ID is no ID: the note is a case of its own (keyed by its position, shown as "").
            key: object = ("", self._seq) if is_empty_case(case) else str(case)
            self._notes[key].append((self._seq, logp[k], basis))
            self._times.append(None if times is None else times[k])
            self._seq += 1
        self._has_times = self._has_times or times is not None

    def result(self, model: CaseModel) -> pd.DataFrame:
        """One row per case: case, notes, notes_with_basis, type, type_zh, confidence, needs_review,
        review_reason, alternatives, strategy."""
        when = self._parsed_times() if self._has_times else None
        rows = []
        type_names = [self.classes[i] for i in self.type_idx]
        for case, notes in self._notes.items():
            if when is not None:
                notes.sort(key=lambda n: (when[n[0]], n[0]))
            n = len(notes)
            weights = np.array([basis * self.decay ** (n - 1 - i) for i, (_, _, basis) in enumerate(notes)])
            logps = np.stack([lp for _, lp, _ in notes]).astype(np.float64)
            score = weights @ logps
            dist = np.exp(score - score.max())
            dist /= dist.sum()
            order = np.argsort(-dist)
            top = type_names[order[0]]
            conf = float(dist[order[0]])
            with_basis = int(sum(1 for *_, b in notes if b >= 0.5))
            reason = case_review_reason(with_basis, conf, model.threshold)
            rows.append(
                {
                    "case": "" if isinstance(case, tuple) else case,
                    "notes": n,
                    "notes_with_basis": with_basis,
                    "type": top,
                    "type_zh": model.labels.name_zh(top),
                    "confidence": round(conf, 4),
                    "needs_review": bool(reason),
                    "review_reason": reason,
                    "alternatives": format_alternatives(
                        [{"type": type_names[j], "probability": float(dist[j])} for j in order[1:3]]
                    ),
                    "strategy": model.labels.strategy_text(top),
                }
            )
        return pd.DataFrame(rows)

    def first_notes(self) -> list[int]:
        """Per case, in ``result`` order, the position (in the order added) of its first note."""
        return [min(n[0] for n in notes) for notes in self._notes.values()]

    def _parsed_times(self) -> list[int]:
        ns, bad = parse_times(self._times)
        if bad:
            quoted = ", ".join(repr(b) for b in bad[:_QUOTED])
            quoted += f" and {len(bad) - _QUOTED} more" if len(bad) > _QUOTED else ""
            warnings.warn(
                f"{len(bad)} note time(s) could not be read as a date and time ({quoted}); those notes count as "
                "earlier than every dated note of their case, in file order",
                UserWarning,
                stacklevel=3,
            )
        return ns.tolist()

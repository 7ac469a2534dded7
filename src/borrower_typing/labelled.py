"""A labelled export made fit to train on, with an account of everything left out and why.

Stops (``DataError``, exit code 2 from the CLI) on what cannot be trained on: a missing text, label or group
column, unknown labels, fewer than two labels, and label conflicts unless a policy resolves them. Leaves out,
and reports by row number, empty notes and the notes a conflict policy removes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .config import TrainConfig
from .data import DataError
from .duplicates import DuplicateSummary, duplicate_keys, resolve_conflicts, summarise
from .labels import LabelSet
from .sources import read_sources
from .text import clean


@dataclass
class LabelledData:
    """``frame`` has ``text``, ``label`` (slugs), ``row`` (the file's 1-based data row), ``key`` (duplicate key)
    and ``group`` when a group column is configured."""

    frame: pd.DataFrame
    source: str
    empty_rows: list[int] = field(default_factory=list)
    conflict_rows_removed: list[int] = field(default_factory=list)
    duplicates: DuplicateSummary | None = None

    def lines(self) -> list[str]:
        out = []
        if self.empty_rows:
            out.append(f"left out {len(self.empty_rows)} empty notes: rows {_rows(self.empty_rows)}")
        if self.duplicates is not None:
            out.append(self.duplicates.line())
        if self.conflict_rows_removed:
            removed = self.conflict_rows_removed
            out.append(f"left out {len(removed)} conflicting notes: rows {_rows(removed)}")
        return out

    def metrics(self) -> dict[str, float]:
        out = {"empty_notes_left_out": float(len(self.empty_rows))}
        out["conflicting_notes_left_out"] = float(len(self.conflict_rows_removed))
        return out | (self.duplicates.as_metrics() if self.duplicates else {})

    def write(self, directory: str | Path) -> Path:
        """``data_quality.csv``: one line per row left out, with the reason (no note text)."""
        rows = [{"row": r, "reason": "empty note"} for r in self.empty_rows]
        rows += [{"row": r, "reason": "label conflict"} for r in self.conflict_rows_removed]
        path = Path(directory) / "data_quality.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows, columns=["row", "reason"]).to_csv(path, index=False)
        return path


def _rows(rows: list[int], limit: int = 20) -> str:
    return ", ".join(map(str, rows[:limit])) + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def read_labelled(config: TrainConfig, labels: LabelSet) -> LabelledData:
    """The training table with labels as slugs; stops before training on anything it cannot use. With several
    files (``data.sources``) row numbers are positions in the stacked table."""
    d = config.data
    source = Path(d.path)
    df = read_sources(d, labels)  # every file checked for its columns and labels, with a provenance column
    if d.group_column and d.group_column not in df.columns:
        raise DataError(
            f"{source}: no group column {d.group_column!r} (--group-column / data.group_column); columns are "
            f"{list(df.columns)}; pass --group-column '' for cross-validation only"
        )
    if not (isinstance(df.index, pd.RangeIndex) and df.index.start == 1):  # stacked files: 1-based positions
        df.index = pd.RangeIndex(1, len(df) + 1)
    slugs = df[d.label_column].map(labels.try_slug)
    text = df[d.text_column].fillna("").astype(str)
    out = pd.DataFrame({"text": text, "label": slugs, "row": df.index.to_numpy(dtype=int)}, index=df.index)
    if d.group_column:
        out["group"] = df[d.group_column].fillna("").astype(str)
    if d.sources:  # one file: the table (and its logged digest) stays as it was
        out["provenance"] = df[d.provenance_column].astype(str)
    empty = out["text"].map(lambda t: not clean(t))
    out = out.loc[~empty]
    out["key"] = duplicate_keys(out["text"])
    summary = summarise(out["key"], out["label"], out["row"])
    out, removed = resolve_conflicts(out, summary.conflicts, d.on_conflict, str(source))
    present = set(out["label"])
    if len(present) < 2:
        raise DataError(f"{source}: at least two labels are needed to train, found {sorted(present)}")
    return LabelledData(
        out.reset_index(drop=True),
        str(source),
        empty_rows=[int(r) for r in df.index[empty.to_numpy()]],
        conflict_rows_removed=removed,
        duplicates=summary,
    )


def read_reference(config: TrainConfig, labels: LabelSet) -> LabelledData:
    """The reference set (``evaluation.reference_data``) read by the same rules, with its own columns if set;
    no group column, and conflicting notes dropped (neither label can be scored as right)."""
    from .config import with_overrides

    e = config.evaluation
    ref = with_overrides(
        config,
        {
            "data.path": str(e.reference_data),
            "data.text_column": e.reference_text_column or config.data.text_column,
            "data.label_column": e.reference_label_column or config.data.label_column,
            "data.group_column": None,
            "data.on_conflict": "drop",
            "data.sources": [],
        },
    )
    return read_labelled(ref, labels)

"""Training on several labelled files: the bundled corpus plus the lender's own labelled notes, say.

Every row keeps the file it came from in a provenance column, so evaluation can report each source apart
(the lender's notes are the figure that matters to the lender) and leave-one-group-out can hold a source
out (``--group-column provenance``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import DataConfig
from .data import DataError, read_table
from .labels import LabelSet


def source_name(path: str | Path) -> str:
    return Path(path).stem


def read_sources(d: DataConfig, labels: LabelSet) -> pd.DataFrame:
    """``d.path`` and ``d.sources`` read and checked one by one (errors name the file and row), then stacked
    with the provenance column (a file's own non-empty provenance values are kept)."""
    paths = [Path(d.path), *map(Path, d.sources)]
    names = [source_name(p) for p in paths]
    if len(set(names)) < len(names):
        raise DataError(f"two data files share a name ({', '.join(names)}): provenance would not tell them apart")
    frames = []
    for path, name in zip(paths, names, strict=True):
        df = read_table(path, encoding=d.encoding)
        missing = [c for c in (d.text_column, d.label_column) if c not in df.columns]
        if missing:
            raise DataError(f"{path}: no column {', '.join(map(repr, missing))}; columns are {list(df.columns)}")
        bad = df[d.label_column].map(lambda v: not (isinstance(v, str) and labels.try_slug(v)))
        if bad.any():
            rows = ", ".join(f"row {i} ({df.at[i, d.label_column]!r})" for i in df.index[bad][:10])
            more = f" and {int(bad.sum()) - 10} more" if bad.sum() > 10 else ""
            raise DataError(f"{path}: unknown label in column {d.label_column!r}: {rows}{more}")
        if d.provenance_column in df.columns:
            df[d.provenance_column] = df[d.provenance_column].where(df[d.provenance_column].notna(), name)
        else:
            df[d.provenance_column] = name
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def per_source_metrics(y: np.ndarray, pred: np.ndarray, provenance: pd.Series, prefix: str) -> dict[str, float]:
    """Macro-F1 of held-out predictions on each source's own rows (only when there are several sources)."""
    from .evaluate import macro_f1

    values = provenance.to_numpy()
    if len(set(values)) < 2:
        return {}
    return {f"{prefix}_{s}": macro_f1(y[values == s], pred[values == s]) for s in sorted(set(values))}


def source_metrics(evaluation, data: pd.DataFrame) -> dict[str, float]:
    """Per-source macro-F1 of the out-of-fold predictions and, when the groups were held out, of those."""
    if "provenance" not in data:
        return {}
    y = np.asarray(evaluation.y)
    out = per_source_metrics(y, evaluation.oof_pred, data["provenance"], "cv_macro_f1_source")
    if evaluation.group_proba is not None:
        pred = np.asarray(evaluation.classes)[evaluation.group_proba.argmax(axis=1)]
        out |= per_source_metrics(y, pred, data["provenance"], "logo_macro_f1_source")
    return out


def source_line(metrics: dict[str, float]) -> str:
    """The per-source figures as one line ("" with a single source)."""
    parts = []
    for prefix, what in (("cv_macro_f1_source_", "CV"), ("logo_macro_f1_source_", "held out")):
        parts += [f"{k[len(prefix) :]} {what} {v:.3f}" for k, v in metrics.items() if k.startswith(prefix)]
    return ("macro-F1 by source: " + ", ".join(parts)) if parts else ""

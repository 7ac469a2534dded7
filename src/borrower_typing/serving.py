"""The MLflow pyfunc face of a model: a DataFrame with a ``text`` column in, one row per note out.

Logged with ``loader_module="borrower_typing.serving"``: MLflow calls ``_load_pyfunc`` with the model's data
folder, which holds the pickle-free bundle. Mapping the column to a list of notes matters: a bare text
pipeline served through pyfunc sees a one-column DataFrame as a single sample. The columns are
``schema.NOTE_COLUMNS`` (+ ``strategy``), as in every engine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .model import TypingModel
from .schema import predictions_frame, probability_names


class TypingPyfunc:
    """What ``mlflow.pyfunc.load_model`` returns the inside of."""

    def __init__(self, model: TypingModel):
        self.model = model

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """One row per note. ``params``: ``include_strategy`` (default True); ``include_probabilities``
        (default False) adds one float column ``p_<class>`` per class, in ``model.classes_`` order."""
        params = params or {}
        if isinstance(model_input, pd.DataFrame):
            column = "text" if "text" in model_input.columns else model_input.columns[0]
            notes = model_input[column].tolist()
        elif isinstance(model_input, dict) and "text" in model_input:
            notes = list(model_input["text"])
        else:
            notes = list(model_input if not isinstance(model_input, str) else [model_input])
        include_strategy = bool(params.get("include_strategy", True))
        preds = self.model.predict(notes, strategy=include_strategy)
        frame = predictions_frame(preds, strategy=include_strategy)
        frame["confidence"] = frame["confidence"].astype(float)
        if params.get("include_probabilities", False):
            # p_<class> in model.classes_ order: what the per-case rule combines (spark_scoring.case_table_spark).
            proba = pd.DataFrame(
                [[p.probabilities[c] for c in self.model.classes_] for p in preds],
                columns=probability_names(self.model.classes_),
                dtype=float,
            )
            frame = pd.concat([frame, proba], axis=1)
        return frame.reset_index(drop=True)


def _load_pyfunc(data_path: str) -> TypingPyfunc:
    return TypingPyfunc(TypingModel.load(Path(data_path)))

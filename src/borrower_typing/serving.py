"""The MLflow pyfunc face of a model: a DataFrame with a ``text`` column in, one row per note out.

Logged with ``loader_module="borrower_typing.serving"``: MLflow calls ``_load_pyfunc`` with the model's data
folder, which holds the pickle-free bundle. Mapping the column to a list of notes matters: a bare text
pipeline served through pyfunc sees a one-column DataFrame as a single sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .model import TypingModel


class TypingPyfunc:
    """What ``mlflow.pyfunc.load_model`` returns the inside of."""

    def __init__(self, model: TypingModel):
        self.model = model

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        params = params or {}
        if isinstance(model_input, pd.DataFrame):
            column = "text" if "text" in model_input.columns else model_input.columns[0]
            notes = model_input[column].tolist()
        elif isinstance(model_input, dict) and "text" in model_input:
            notes = list(model_input["text"])
        else:
            notes = list(model_input if not isinstance(model_input, str) else [model_input])
        include_strategy = bool(params.get("include_strategy", True))
        frame = self.model.predict_frame(pd.DataFrame({"text": notes}), strategy=include_strategy)
        frame = frame.drop(columns=["text"])
        frame["confidence"] = frame["confidence"].astype(float)
        return frame.reset_index(drop=True)


def _load_pyfunc(data_path: str) -> TypingPyfunc:
    return TypingPyfunc(TypingModel.load(Path(data_path)))

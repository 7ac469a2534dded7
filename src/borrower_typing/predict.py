"""The Python API's entry: load a model from a path or URI, type notes.

A local folder loads without importing MLflow (that import alone costs more than a prediction); only
``models:/``, ``runs:/`` and ``mlflow-artifacts:/`` URIs go through the tracking store (``bundle``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .bundle import DEFAULT_MODEL_DIR, MODEL_ENV, default_model_location, fetched_bundle, is_model_uri, local_bundle
from .model import Prediction, TypingModel

__all__ = ["DEFAULT_MODEL_DIR", "MODEL_ENV", "default_model_location", "load_model", "predict", "resolve_model_path"]


def resolve_model_path(location: str | Path | None = None) -> Path:
    """The bundle folder of a local path (registry URIs: ``load_model`` or ``bundle.fetched_bundle``)."""
    return local_bundle(location)


def load_model(location: str | Path | None = None, tracking_uri: str | None = None) -> TypingModel:
    """Load a model from a local folder, ``models:/borrower-typing@champion`` or a run URI. A registry
    model's download is removed once loaded: the model keeps what it needs in memory."""
    with fetched_bundle(location, tracking_uri) as folder:
        return TypingModel.load(folder, in_memory=is_model_uri(str(location or default_model_location())))


def predict(
    texts: Iterable[object] | str, model: TypingModel | str | Path | None = None, evidence: int = 5
) -> list[Prediction]:
    """Type notes with ``model`` (a loaded model, a folder or URI; default: the exported champion)."""
    typing_model = model if isinstance(model, TypingModel) else load_model(model)
    return typing_model.predict(texts, evidence=evidence)

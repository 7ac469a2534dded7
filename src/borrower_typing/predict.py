"""Finding and loading a model by path or MLflow URI; the entry point of the Python API.

A local folder loads without importing MLflow (that import alone costs more than a prediction); only
``models:/`` and ``runs:/`` URIs go through the tracking store.
"""

from __future__ import annotations

import os
from pathlib import Path

from .model import TypingModel, find_bundle

DEFAULT_MODEL_DIR = Path("models/borrower-typing")
MODEL_ENV = "BORROWER_TYPING_MODEL"


def default_model_location() -> str:
    """``$BORROWER_TYPING_MODEL``, else the champion exported under ``models/``."""
    return os.environ.get(MODEL_ENV) or str(DEFAULT_MODEL_DIR)


def resolve_model_path(location: str | Path | None = None, tracking_uri: str | None = None) -> Path:
    """A local bundle folder for a path, ``models:/name@alias``, ``models:/name/version`` or ``runs:/id/path``."""
    location = str(location or default_model_location())
    if location.startswith(("models:/", "runs:/", "mlflow-artifacts:/")):
        from .tracking import download_model, resolve_tracking_uri

        return find_bundle(download_model(resolve_tracking_uri(tracking_uri), location))
    path = Path(location)
    if not path.exists():
        raise FileNotFoundError(
            f"no model at {path}: train one with `make train` (or `borrower-typing train`), "
            "or pass --model with a folder or a models:/ URI"
        )
    return find_bundle(path)


def load_model(location: str | Path | None = None, tracking_uri: str | None = None) -> TypingModel:
    """Load a model from a local folder, ``models:/borrower-typing@champion`` or a run URI."""
    return load_bundle(resolve_model_path(location, tracking_uri))


def load_bundle(directory: str | Path) -> TypingModel:
    """``TypingModel.load``, with the anticipated failures (a file the loader refuses, such as a pickle or an
    untrusted type, or a damaged one) as one ``ModelLoadError`` line naming the folder."""
    import json
    import zipfile

    from .manifest import ModelLoadError

    try:
        return TypingModel.load(directory)
    except FileNotFoundError:
        raise
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        # skops' UntrustedTypesFoundException is a TypeError; np.load refusing a pickle a ValueError.
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ModelLoadError(f"{directory}: refusing to load this model ({reason})") from None

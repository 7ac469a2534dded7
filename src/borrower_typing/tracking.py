"""MLflow: the tracking store, logged runs, the model registry with its ``@champion`` alias, and export.

Nothing is set at import time: every function takes the tracking URI it should use.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
CHAMPION = "champion"


def resolve_tracking_uri(configured: str | None = None) -> str:
    """``configured``, else ``$MLFLOW_TRACKING_URI``, else a SQLite file in the working directory."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def _mlflow(uri: str):
    import mlflow

    mlflow.set_tracking_uri(uri)
    return mlflow


def git_commit(cwd: str | Path | None = None) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value if not isinstance(value, (list, tuple)) else str(list(value))
    return out


def log_dataset(mlflow: Any, df: pd.DataFrame, name: str, source: str, context: str = "training") -> str:
    """Log a dataset's digest, schema and profile (not its rows) with ``mlflow.log_input``."""
    import warnings

    with warnings.catch_warnings():  # a local path matches two equivalent source types; either is right
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(df, source=source, name=name, targets="label" if "label" in df else None)
    mlflow.log_input(dataset, context=context)
    return dataset.digest


INPUT_EXAMPLE = ["客户称这个月工资没发，下周五前一定还清，请不要再打给家里人。", "关机"]


def pyfunc_spec(model: Any, bundle_dir: Path) -> dict[str, Any]:
    """What MLflow needs to save ``model`` (already saved as a bundle in ``bundle_dir``) as a pyfunc: the
    project's loader module over the pickle-free bundle, a signature with the two params, an input example
    (a DataFrame: a list of strings breaks signature inference), and explicit requirements."""
    from importlib.metadata import version

    from mlflow.models import infer_signature

    import borrower_typing

    from .serving import TypingPyfunc

    example = pd.DataFrame({"text": INPUT_EXAMPLE})
    output = TypingPyfunc(model).predict(example)
    packages = ("scikit-learn", "numpy", "scipy", "pandas", "jieba", "rjieba", "skops", "pyyaml", "pydantic", "joblib")
    return {
        "loader_module": "borrower_typing.serving",
        "data_path": str(bundle_dir),
        "code_paths": [str(Path(borrower_typing.__file__).parent)],
        "signature": infer_signature(
            example, output, params={"include_strategy": True, "include_probabilities": False}
        ),
        "input_example": example,
        "pip_requirements": [f"{pkg}=={version(pkg)}" for pkg in packages],
    }


def log_model(mlflow: Any, model: Any, bundle_dir: Path, registered_name: str | None, tags: dict[str, str]):
    """Log the model as a pyfunc in the active run, with its SHA-256 manifest, and register it; returns
    ModelInfo."""
    info = mlflow.pyfunc.log_model(
        name="model", registered_model_name=registered_name, tags=tags, **pyfunc_spec(model, bundle_dir)
    )
    log_manifest(mlflow, info.model_uri, info.model_id)
    return info


def log_manifest(mlflow: Any, model_uri: str, model_id: str) -> None:
    """Add ``MANIFEST.sha256.json`` to a logged model: computed over the files as MLflow stored them (MLflow
    writes ``MLmodel`` while logging, so it cannot be computed before)."""
    from mlflow import MlflowClient

    from .manifest import write_manifest

    with tempfile.TemporaryDirectory(prefix="borrower-typing-manifest-") as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        MlflowClient(mlflow.get_tracking_uri()).log_model_artifact(model_id, str(write_manifest(local)))


def save_model(model: Any, path: str | Path) -> Path:
    """The same MLflow model folder as a logged one, written straight to ``path`` (no tracking store)."""
    import mlflow

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = model.save(Path(tmp) / "bundle")
        mlflow.pyfunc.save_model(path=str(path), **pyfunc_spec(model, bundle))
    from .manifest import write_manifest

    write_manifest(path)
    return path


def current_champion(uri: str, name: str):
    """The model version behind ``@champion``, or None."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(uri)
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


def set_champion(uri: str, name: str, version: str | int) -> None:
    from mlflow import MlflowClient

    MlflowClient(uri).set_registered_model_alias(name, CHAMPION, str(version))


def tag_version(uri: str, name: str, version: str | int, tags: dict[str, str]) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, str(value))


def download_model(uri: str, model_uri: str, dst: str | Path | None = None) -> Path:
    """A local copy of ``models:/…`` or ``runs:/…``."""
    from mlflow.exceptions import MlflowException

    from .manifest import ModelLoadError

    mlflow = _mlflow(uri)
    made = dst is None
    dst = Path(dst) if dst else Path(tempfile.mkdtemp(prefix="borrower-typing-model-"))
    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(dst)))
    except MlflowException as exc:
        if made:
            shutil.rmtree(dst, ignore_errors=True)
        reason = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0][:200]
        raise ModelLoadError(f"{model_uri}: not found in the model registry at {uri} ({reason})") from None


def export_model(uri: str, model_uri: str, export_dir: str | Path) -> Path:
    """Replace ``export_dir`` with a local copy of ``model_uri`` (prediction then needs no tracking store),
    checked against its manifest (a model registered before manifests existed gets one written here)."""
    from .manifest import MANIFEST, verify_manifest, write_manifest

    export_dir = Path(export_dir)
    tmp = Path(tempfile.mkdtemp(prefix="export-", dir=export_dir.parent if export_dir.parent.exists() else None))
    local = download_model(uri, model_uri, tmp)
    try:
        verify_manifest(local) if (local / MANIFEST).is_file() else write_manifest(local)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if export_dir.exists():
        shutil.rmtree(export_dir)
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(local), str(export_dir))
    shutil.rmtree(tmp, ignore_errors=True)
    return export_dir


def run_metric(uri: str, run_id: str, key: str) -> float | None:
    from mlflow import MlflowClient

    return MlflowClient(uri).get_run(run_id).data.metrics.get(key)

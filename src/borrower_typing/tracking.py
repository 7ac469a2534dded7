"""MLflow: the tracking store, logged runs, the model registry with its ``@champion`` alias, and export.

Nothing is set at import time: every function takes the tracking URI it should use, and the fluent API's
global URI is set only inside ``using_tracking_uri`` (and restored after).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from .bundle import download
from .config import DEFAULT_TRACKING_URI, resolve_tracking_uri
from .manifest import MANIFEST, verify_manifest, write_manifest
from .schema import mlflow_signature
from .serving import TypingPyfunc

__all__ = ["DEFAULT_TRACKING_URI", "resolve_tracking_uri"]  # re-exported
CHAMPION = "champion"
ENV = "MLFLOW_TRACKING_URI"
PACKAGE_DIR = Path(__file__).parent


@contextlib.contextmanager
def using_tracking_uri(uri: str) -> Iterator[Any]:
    """``mlflow`` with its global tracking URI set to ``uri`` for the ``with`` block, then put back (the
    fluent API — runs, experiments, ``spark_udf`` — reads only that global)."""
    import mlflow  # seconds to import: only commands that track pay for it
    from mlflow.tracking._tracking_service import utils as uri_state

    # set_tracking_uri also writes $MLFLOW_TRACKING_URI; restoring through get_tracking_uri() would pin the
    # global (and the variable) to whatever it resolved to. So put back both exactly as they were: the
    # module's own global (None when never set) and the variable.
    before, before_env = uri_state._tracking_uri, os.environ.get(ENV)
    mlflow.set_tracking_uri(uri)
    try:
        yield mlflow
    finally:
        mlflow.set_tracking_uri(before)
        if before_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before_env


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

    example = pd.DataFrame({"text": INPUT_EXAMPLE})
    output = TypingPyfunc(model).predict(example)
    declared = mlflow_signature()
    packages = ("scikit-learn", "numpy", "scipy", "pandas", "jieba", "rjieba", "skops", "pyyaml", "pydantic", "joblib")
    return {
        "loader_module": "borrower_typing.serving",
        "data_path": str(bundle_dir),
        "code_paths": [str(PACKAGE_DIR)],
        "signature": infer_signature(example, output, params={p.name: p.default for p in declared.params.params}),
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

    uri = mlflow.get_tracking_uri()
    with tempfile.TemporaryDirectory(prefix="borrower-typing-manifest-") as tmp:
        local = download(model_uri, uri, tmp)
        MlflowClient(uri).log_model_artifact(model_id, str(write_manifest(local)))


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


def export_model(uri: str, model_uri: str, export_dir: str | Path) -> Path:
    """Replace ``export_dir`` with a local copy of ``model_uri`` (prediction then needs no tracking store),
    checked against its manifest (a model registered before manifests existed gets one written here)."""
    export_dir = Path(export_dir)
    tmp = Path(tempfile.mkdtemp(prefix="export-", dir=export_dir.parent if export_dir.parent.exists() else None))
    try:
        local = download(model_uri, uri, tmp)
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

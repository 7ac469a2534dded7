"""The model as Spark sees it: a pyfunc model folder for ``mlflow.pyfunc.spark_udf`` (checked against its
manifest) and the little the driver needs besides (classes, labels, review threshold). Bundles are found,
downloaded and verified through ``bundle``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundle import default_model_location, download, find_bundle, is_model_uri, local_bundle, verified_folder
from .config import resolve_tracking_uri
from .labels import LabelSet, load_labels
from .schema import mlflow_signature

PROBABILITIES_PARAM = "include_probabilities"
_WRAPPER_PREFIX = "borrower-typing-pyfunc-"


@dataclass(frozen=True)
class SparkModel:
    """What the driver needs besides the UDF: the URI handed to ``spark_udf`` and the model's classes,
    labels and review threshold (small, picklable: the case aggregation ships it to the executors)."""

    uri: str
    classes: tuple[str, ...]
    labels: LabelSet
    threshold: float
    params: frozenset[str]

    @property
    def supports_probabilities(self) -> bool:
        return PROBABILITIES_PARAM in self.params


def load_spark_model(
    model: str | Path | None = None, tracking_uri: str | None = None, need_probabilities: bool = False
) -> SparkModel:
    """Resolve ``model`` to a pyfunc model folder for ``spark_udf`` plus the metadata the driver needs.

    Every MLflow model folder is checked against its SHA-256 manifest first (``manifest.ManifestError``
    otherwise; ``bundle.verified_folder``): ``models:/…``, ``runs:/…`` are downloaded once, checked, and that
    copy goes to ``spark_udf`` (never the URI, which it would fetch again itself); an exported MLflow model
    folder (``models/borrower-typing``) is checked and used as it is. A bare bundle folder (what
    ``TypingModel.save`` writes), or a model logged before the ``include_probabilities`` param existed when
    probabilities are needed, is wrapped as a pyfunc model of the same bundle in a temporary folder
    (``wrap_bundle``): same weights, same numbers. ``cleanup`` removes a download or wrapper.
    """
    location = str(model or default_model_location())
    if is_model_uri(location):
        return _downloaded_model(location, resolve_tracking_uri(tracking_uri), need_probabilities)
    bundle = local_bundle(location).resolve()
    root = Path(location).resolve()
    folder = next((d for d in (bundle, *bundle.parents) if (d / "MLmodel").is_file() and d.is_relative_to(root)), None)
    if folder is None:
        return _wrapped(bundle, reason=None)
    # MLflow will run what this folder's MLmodel names and import its code/: only a folder matching its manifest.
    return _from_folder(verified_folder(folder), bundle, need_probabilities)


def _from_folder(folder: Path, bundle: Path, need_probabilities: bool, download: Path | None = None) -> SparkModel:
    from mlflow.models import Model  # an MLflow model folder only: MLflow costs seconds to import

    params = _param_names(Model.load(str(folder)).signature)
    if need_probabilities and PROBABILITIES_PARAM not in params:
        return _wrapped(bundle, reason=f"{folder} predates it", download=download)
    return _spark_model(str(folder), bundle, params)


def _downloaded_model(location: str, tracking_uri: str, need_probabilities: bool) -> SparkModel:
    """A registry model downloaded once into ``<temporary folder>/model`` (what ``cleanup`` removes) and
    checked against its manifest."""
    copy = Path(tempfile.mkdtemp(prefix=_WRAPPER_PREFIX)) / "model"
    try:
        copy.mkdir()
        folder = verified_folder(download(location, tracking_uri, copy))
        return _from_folder(folder, find_bundle(folder), need_probabilities, download=copy.parent)
    except BaseException:
        shutil.rmtree(copy.parent, ignore_errors=True)
        raise


def _param_names(signature: Any) -> frozenset[str]:
    if signature is None or signature.params is None:
        return frozenset()
    return frozenset(p.name for p in signature.params.params)


def _spark_model(uri: str, bundle: Path, params: frozenset[str]) -> SparkModel:
    meta = json.loads((bundle / "meta.json").read_text(encoding="utf-8"))
    labels = load_labels(bundle / "labels.yaml")
    return SparkModel(uri, tuple(meta["classes"]), labels, float(meta.get("threshold", 0.0)), params)


def _wrapped(bundle: Path, reason: str | None, download: Path | None = None) -> SparkModel:
    if reason:
        warnings.warn(
            f"the model's signature has no {PROBABILITIES_PARAM!r} param ({reason}); scoring through a pyfunc "
            "wrapper of the same bundle. Re-train to register a model that has it.",
            stacklevel=3,
        )
    folder = wrap_bundle(bundle, Path(tempfile.mkdtemp(prefix=_WRAPPER_PREFIX)) / "model")
    if download is not None:  # the wrapper holds a copy of the bundle: drop the download
        shutil.rmtree(download, ignore_errors=True)
    return _spark_model(str(folder), find_bundle(folder), frozenset({"include_strategy", PROBABILITIES_PARAM}))


def wrap_bundle(bundle: str | Path, path: str | Path) -> Path:
    """Save ``bundle`` as an MLflow pyfunc model folder at ``path`` (loader ``borrower_typing.serving``, no
    code copy: workers import the installed package) whose signature declares both params."""
    import mlflow  # wrapping a bundle only

    signature = mlflow_signature()
    with warnings.catch_warnings():  # no input example on purpose: it would load the model once more
        warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
        mlflow.pyfunc.save_model(
            path=str(path),
            loader_module="borrower_typing.serving",
            data_path=str(bundle),
            signature=signature,
            pip_requirements=["borrower-typing"],
        )
    return Path(path)


def cleanup(model: SparkModel) -> None:
    """Remove a temporary pyfunc wrapper or registry download (``spark_udf`` has taken its own copy by now)."""
    folder = Path(model.uri)
    if folder.name == "model" and folder.parent.name.startswith(_WRAPPER_PREFIX):
        shutil.rmtree(folder.parent, ignore_errors=True)

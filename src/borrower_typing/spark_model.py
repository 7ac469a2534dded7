"""The model as Spark sees it: a pyfunc model URI for ``mlflow.pyfunc.spark_udf`` and the little the driver
needs besides (classes, labels, review threshold). Bundles are found through ``bundle``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundle import default_model_location, fetched_bundle, find_bundle, is_model_uri, local_bundle
from .config import resolve_tracking_uri
from .labels import LabelSet, load_labels
from .schema import mlflow_signature
from .tracking import using_tracking_uri

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
    """Resolve ``model`` to a pyfunc model URI for ``spark_udf`` plus the metadata the driver needs.

    ``models:/…``, ``runs:/…`` go to ``spark_udf`` as they are (only ``MLmodel``, ``meta.json`` and
    ``labels.yaml`` are fetched here). A local folder goes through ``bundle.local_bundle``; an exported
    MLflow model folder (``models/borrower-typing``) is used as it is. A bare bundle folder (what
    ``TypingModel.save`` writes), or a model logged before the ``include_probabilities`` param existed when
    probabilities are needed, is wrapped as a pyfunc model of the same bundle in a temporary folder
    (``wrap_bundle``): same weights, same numbers. ``cleanup`` removes that folder.
    """
    location = str(model or default_model_location())
    if is_model_uri(location):
        import mlflow  # a registry URI only: MLflow costs seconds to import

        uri = resolve_tracking_uri(tracking_uri)
        with using_tracking_uri(uri):  # get_model_info has no tracking_uri argument
            info = mlflow.models.get_model_info(location)
        params = _param_names(info.signature)
        if need_probabilities and PROBABILITIES_PARAM not in params:
            with fetched_bundle(location, uri) as downloaded:  # removed once the wrapper holds its copy
                return _wrapped(downloaded, reason=f"{location} predates it")
        data = info.flavors["python_function"]["data"]
        with tempfile.TemporaryDirectory(prefix="borrower-typing-meta-") as tmp:
            got = [
                Path(
                    mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{location}/{data}/{name}", dst_path=tmp, tracking_uri=uri
                    )
                )
                for name in ("meta.json", "labels.yaml")
            ]
            return _spark_model(location, got[0].parent, params)  # both land in <tmp>/<data>/
    bundle = local_bundle(location).resolve()
    root = Path(location).resolve()
    folder = next((d for d in (bundle, *bundle.parents) if (d / "MLmodel").is_file() and d.is_relative_to(root)), None)
    if folder is None:
        return _wrapped(bundle, reason=None)
    from mlflow.models import Model  # an MLflow model folder only

    params = _param_names(Model.load(str(folder)).signature)
    if need_probabilities and PROBABILITIES_PARAM not in params:
        return _wrapped(bundle, reason=f"{folder} predates it")
    return _spark_model(str(folder), bundle, params)


def _param_names(signature: Any) -> frozenset[str]:
    if signature is None or signature.params is None:
        return frozenset()
    return frozenset(p.name for p in signature.params.params)


def _spark_model(uri: str, bundle: Path, params: frozenset[str]) -> SparkModel:
    meta = json.loads((bundle / "meta.json").read_text(encoding="utf-8"))
    labels = load_labels(bundle / "labels.yaml")
    return SparkModel(uri, tuple(meta["classes"]), labels, float(meta.get("threshold", 0.0)), params)


def _wrapped(bundle: Path, reason: str | None) -> SparkModel:
    if reason:
        warnings.warn(
            f"the model's signature has no {PROBABILITIES_PARAM!r} param ({reason}); scoring through a pyfunc "
            "wrapper of the same bundle. Re-train to register a model that has it.",
            stacklevel=3,
        )
    folder = wrap_bundle(bundle, Path(tempfile.mkdtemp(prefix=_WRAPPER_PREFIX)) / "model")
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
    """Remove a temporary pyfunc wrapper (``spark_udf`` has taken its own copy by now)."""
    folder = Path(model.uri)
    if folder.name == "model" and folder.parent.name.startswith(_WRAPPER_PREFIX):
        shutil.rmtree(folder.parent, ignore_errors=True)

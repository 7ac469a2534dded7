"""Model folders: finding, reading, writing and verifying a bundle, wherever it lives.

A bundle is ``pipeline.skops`` (the fitted scikit-learn pipeline), ``scorer.npz`` (the same model as plain
arrays, when it compiles), ``labels.yaml`` and ``meta.json``. It is found in a local folder, one or two
folders down in an exported MLflow model folder, or behind a ``models:/``, ``runs:/`` or
``mlflow-artifacts:/`` URI. This is the one module that knows those places.

A registry model is downloaded into a temporary folder that is removed before ``fetched_bundle`` returns
control: whatever a model keeps from its bundle after that is in memory.

An MLflow model folder is code (MLflow runs the loader its ``MLmodel`` names and imports its ``code/``):
``verified_model`` / ``verified_folder`` hand one over only once it matches its SHA-256 manifest
(``manifest``). Anticipated failures (unknown URI or alias, a file the loader refuses) are one
``ModelLoadError`` line naming the path or URI.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import resolve_tracking_uri
from .errors import ModelLoadError
from .labels import LabelSet, load_labels
from .manifest import verify_manifest
from .scorer import SCORER_FILE, LinearScorer

BUNDLE_FILES = ("pipeline.skops", "labels.yaml", "meta.json")
PIPELINE_FILE = "pipeline.skops"
MODEL_URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")
DEFAULT_MODEL_DIR = Path("models/borrower-typing")
MODEL_ENV = "BORROWER_TYPING_MODEL"
# Types a saved pipeline may hold beyond what skops trusts by default: the project's own, and the private
# helpers of scikit-learn's calibration. Loading refuses anything else.
TRUSTED_TYPES = [
    "borrower_typing.features.TextNormalizer",
    "borrower_typing.features.CompactTfidfVectorizer",
    "borrower_typing.tokenize.Tokenizer",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.isotonic.IsotonicRegression",
]


@dataclass
class Bundle:
    """What a bundle folder holds, read: the pipeline only on demand (``pipeline()``)."""

    meta: dict[str, Any]
    labels: LabelSet
    scorer: LinearScorer | None
    pipeline: Callable[[], Any]
    source: Path | None


def is_model_uri(location: str | Path) -> bool:
    return str(location).startswith(MODEL_URI_SCHEMES)


def default_model_location() -> str:
    """``$BORROWER_TYPING_MODEL``, else the champion exported under ``models/``."""
    return os.environ.get(MODEL_ENV) or str(DEFAULT_MODEL_DIR)


def find_bundle(path: str | Path) -> Path:
    """The bundle folder in ``path``: the folder itself, or inside an MLflow model folder."""
    path = Path(path)
    candidates = [
        path,
        *sorted(p.parent for p in path.glob("*/meta.json")),
        *sorted(p.parent for p in path.glob("*/*/meta.json")),
    ]
    for candidate in candidates:
        if all((candidate / f).is_file() for f in BUNDLE_FILES):
            return candidate
    raise FileNotFoundError(f"no model at {path}: expected {', '.join(BUNDLE_FILES)} there or one or two folders down")


def local_bundle(location: str | Path | None = None) -> Path:
    """The bundle folder of a local path (default: ``default_model_location()``)."""
    location = str(location or default_model_location())
    if is_model_uri(location):
        raise ValueError(f"{location} is a registry URI: use fetched_bundle")
    path = Path(location)
    if not path.exists():
        raise FileNotFoundError(
            f"no model at {path}: train one with `make train` (or `borrower-typing train`), "
            "or pass --model with a folder or a models:/ URI"
        )
    return find_bundle(path)


def download(model_uri: str, tracking_uri: str, dst: str | Path) -> Path:
    """A copy of a registry or run model in ``dst`` (MLflow is imported only here: it costs more than a
    prediction, and a local folder never needs it)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(
            mlflow.artifacts.download_artifacts(
                # models:/ URIs are looked up in the registry, which MLflow takes from its global state
                # unless told: name the same store.
                artifact_uri=model_uri,
                dst_path=str(dst),
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        )
    except MlflowException as exc:
        reason = (str(exc.message if hasattr(exc, "message") else exc).splitlines() or [""])[0][:200]
        raise ModelLoadError(f"{model_uri}: not found in the model registry at {tracking_uri} ({reason})") from None


def model_identity(bundle_dir: str | Path) -> dict[str, str]:
    """What the MLflow model folder around a bundle says of itself: ``run_id`` and ``model_id`` (its
    ``MLmodel``) and, for a registered model (an export, or a registry download), ``model_name`` and
    ``model_version`` (its ``registered_model_meta``). Empty for a bare bundle folder."""
    import yaml

    bundle_dir = Path(bundle_dir)
    for folder in (bundle_dir, *bundle_dir.parents[:3]):
        mlmodel = folder / "MLmodel"
        if not mlmodel.is_file():
            continue
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
        out = {key: str(spec[key]) for key in ("run_id", "model_id") if spec.get(key)}
        meta = folder / "registered_model_meta"
        if meta.is_file():
            reg = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
            out |= {key: str(reg[key]) for key in ("model_name", "model_version") if reg.get(key)}
        return out
    return {}


@contextlib.contextmanager
def fetched_bundle(location: str | Path | None = None, tracking_uri: str | None = None) -> Iterator[Path]:
    """The bundle folder of a path or URI, for the ``with`` block: a URI's download is removed after it."""
    location = str(location or default_model_location())
    if not is_model_uri(location):
        yield local_bundle(location)
        return
    with tempfile.TemporaryDirectory(prefix="borrower-typing-model-") as tmp:
        yield find_bundle(download(location, resolve_tracking_uri(tracking_uri), tmp))


def verified_folder(path: str | Path) -> Path:
    """The MLflow model folder at (or one level under) ``path``, checked against its manifest: what may be
    handed to MLflow (``ManifestError`` otherwise)."""
    folder = verify_manifest(path)
    if not (folder / "MLmodel").is_file():
        raise ModelLoadError(f"{folder}: not an MLflow model folder (no MLmodel)")
    return folder


@contextlib.contextmanager
def verified_model(location: str | Path | None = None, tracking_uri: str | None = None) -> Iterator[Path]:
    """``verified_folder`` of a path or URI for the ``with`` block: a URI is downloaded once (MLflow is then
    handed that checked copy, never the URI to fetch again) into a temporary folder removed after it."""
    location = str(location or default_model_location())
    if not is_model_uri(location):
        yield verified_folder(location)
        return
    with tempfile.TemporaryDirectory(prefix="borrower-typing-model-") as tmp:
        yield verified_folder(download(location, resolve_tracking_uri(tracking_uri), tmp))


@contextlib.contextmanager
def _refusing(directory: Path) -> Iterator[None]:
    """A bundle file the loader refuses (a pickle, an untrusted type, a damaged file) as one line."""
    try:
        yield
    except FileNotFoundError:
        raise
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as exc:
        # skops' UntrustedTypesFoundException is a TypeError; np.load refusing a pickle a ValueError.
        reason = (str(exc).splitlines() or [""])[0][:200] or type(exc).__name__
        raise ModelLoadError(f"{directory}: refusing to load this model ({reason})") from None


def load_pipeline(source: Path | bytes) -> Any:
    """The skops pipeline from a file or its bytes, trusting only ``TRUSTED_TYPES``."""
    import skops.io as sio

    if isinstance(source, bytes):
        return sio.loads(source, trusted=TRUSTED_TYPES)
    return sio.load(source, trusted=TRUSTED_TYPES)


def read_bundle(directory: str | Path, labels: LabelSet | None = None, in_memory: bool = False) -> Bundle:
    """Read a bundle folder. ``in_memory``: keep the pipeline's bytes instead of the folder's path (for a
    folder about to be removed); otherwise the pipeline is read from the folder on first use."""
    directory = find_bundle(directory)
    with _refusing(directory):
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        labels = labels or load_labels(directory / "labels.yaml")
        scorer = LinearScorer.load(directory / SCORER_FILE) if (directory / SCORER_FILE).is_file() else None
        path = directory / PIPELINE_FILE
        source: Path | bytes = path.read_bytes() if in_memory else path
    cache: list[Any] = []

    def pipeline() -> Any:
        if not cache:
            with _refusing(directory):
                cache.append(load_pipeline(source))
        return cache[0]

    if scorer is None:
        pipeline()  # nothing to predict with otherwise: read it now, and fail now if it is unusable
    return Bundle(meta, labels, scorer, pipeline, None if in_memory else directory)


def write_bundle(
    directory: str | Path, pipeline: Any, scorer: LinearScorer | None, labels: LabelSet, meta: dict[str, Any]
) -> Path:
    """Write ``pipeline.skops``, ``scorer.npz`` (with a scorer), ``labels.yaml``, ``meta.json``. Pickle-free."""
    import skops.io as sio
    import yaml

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / PIPELINE_FILE
    sio.dump(pipeline, path)
    untrusted = set(sio.get_untrusted_types(file=path)) - set(TRUSTED_TYPES)
    if untrusted:
        raise TypeError(f"pipeline holds types not on the trusted list: {sorted(untrusted)}")
    if scorer is not None:
        scorer.save(directory / SCORER_FILE)
    text = yaml.safe_dump(labels.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    (directory / "labels.yaml").write_text(text, encoding="utf-8")
    (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return directory


def verify_bundle(directory: str | Path) -> list[str]:
    """Problems with a bundle folder (an empty list when it is usable): missing files, unreadable meta."""
    problems = []
    directory = Path(directory)
    for name in BUNDLE_FILES:
        if not (directory / name).is_file():
            problems.append(f"{directory / name}: missing")
    if not problems:
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or "classes" not in meta:
                problems.append(f"{directory / 'meta.json'}: no 'classes'")
        except (OSError, ValueError) as exc:
            problems.append(f"{directory / 'meta.json'}: {exc}")
    return problems

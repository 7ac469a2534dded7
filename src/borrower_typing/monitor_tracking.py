"""A monitoring run in MLflow, linked to the model version it watched: every figure a metric (so many batches
make one chart per signal), the HTML report and the JSON summary as artifacts."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from .bundle import model_identity
from .config import MonitorConfig


def model_link(model_dir: Path, location: str | None, uri: str) -> dict[str, str]:
    """Tags naming the watched model: registered name and version, run and logged-model id when known.

    A ``models:/name@alias`` location is resolved in the registry; a local export (an MLflow model folder with
    the bundle in ``data/bundle``) names itself in its ``MLmodel`` and ``registered_model_meta`` files.
    """
    tags: dict[str, str] = {"model_location": str(location or model_dir)}
    for key, value in model_identity(model_dir).items():  # run_id -> model_run_id; model_name stays
        tags[key if key in ("model_name", "model_version") else f"model_{key}"] = value
    if location and location.startswith("models:/"):
        tags |= _registry_version(uri, location[len("models:/") :])
    return tags


def _registry_version(uri: str, ref: str) -> dict[str, str]:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(uri)
    try:
        if "@" in ref:
            name, alias = ref.split("@", 1)
            mv = client.get_model_version_by_alias(name, alias)
        else:
            name, version = ref.split("/", 1)
            mv = client.get_model_version(name, version)
    except (MlflowException, ValueError):
        return {}
    out = {"model_name": mv.name, "model_version": str(mv.version), "model_run_id": mv.run_id or ""}
    if getattr(mv, "model_id", None):
        out["model_model_id"] = mv.model_id
    return out


def log_monitoring_run(
    summary: dict[str, Any],
    metrics: dict[str, float],
    report: Path,
    summary_file: Path,
    model_dir: Path,
    location: str | None,
    cfg: MonitorConfig,
    tracking_uri: str | None = None,
) -> str:
    """Log one monitoring run; returns its id."""
    from mlflow.exceptions import MlflowException

    from .config import resolve_tracking_uri
    from .tracking import using_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    tags = model_link(Path(model_dir), location, uri)
    name = f"monitor {Path(summary.get('scored_file', 'batch')).name}"
    with using_tracking_uri(uri) as mlflow:
        mlflow.set_experiment(cfg.experiment)
        with mlflow.start_run(run_name=name) as run:
            mlflow.set_tags(tags | {"verdict": summary["verdict"], "scored_file": summary.get("scored_file", "")})
            mlflow.log_params({"by": ",".join(summary["by"]) or "-", **cfg.model_dump()})
            # Linked to the logged model too (MLflow 3 shows them on the model's page) when the folder names it.
            model_id = tags.get("model_model_id")
            try:
                mlflow.log_metrics(metrics, model_id=model_id)
            except MlflowException:  # a model id from another tracking store: keep the run's metrics
                if model_id is None:
                    raise
                mlflow.log_metrics(metrics)
            mlflow.log_artifact(str(report), artifact_path="monitoring")
            mlflow.log_artifact(str(summary_file), artifact_path="monitoring")
    return run.info.run_id


def monitoring_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """The summary's figures as flat MLflow metrics (slices as ``slice.<values>.<signal>``)."""
    out = {"rows": float(summary["rows"]), "drift": float(summary["verdict"] == "drift")}
    out["slices_drifting"] = float(summary["slices_drifting"])
    for s in summary["signals"]:
        out[s["name"]] = float(s["value"])
    batch = summary["batch"]
    out["review_share"] = float(batch["review_share"])
    for reason, n in batch["review_reasons"].items():
        out[f"review_share.{reason}"] = n / max(batch["rows"], 1)
    for t, n in batch["types"].items():
        out[f"type_share.{t}"] = n / max(batch["rows"], 1)
    for s in summary["slices"]:
        name = _metric_safe("_".join(s["slice"].values()))
        out[f"slice.{name}.review_share"] = float(s["review_share"])
        for sig in s["signals"]:
            out[f"slice.{name}.{sig['name']}"] = float(sig["value"])
    return {k: v for k, v in out.items() if math.isfinite(v)}


def _metric_safe(text: str) -> str:
    return re.sub(r"[^\w.\- /]", "_", text)[:200] or "_"

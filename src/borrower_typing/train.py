"""Train, evaluate, track and register: the one function behind ``borrower-typing train`` and its tests."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import tracking
from .config import TrainConfig, resolve_tracking_uri, with_overrides
from .evaluate import EvaluationResult, choose_threshold, evaluate_pipeline, write_report
from .labelled import LabelledData, read_labelled, read_reference
from .labels import LabelSet, load_labels
from .model import TypingModel
from .pipeline import build_pipeline
from .profile import reference_profile
from .sources import source_line, source_metrics
from .text import mask_pii
from .tracking import using_tracking_uri

Progress = Callable[[str], None]


@dataclass
class TrainResult:
    model: TypingModel
    evaluation: EvaluationResult
    metrics: dict[str, float]
    threshold: float
    run_id: str | None = None
    model_version: str | None = None
    promoted: bool = False
    promotion_reason: str = ""
    export_dir: Path | None = None
    report_files: dict[str, Path] = field(default_factory=dict)
    search_results: pd.DataFrame | None = None


def load_labelled(config: TrainConfig, labels: LabelSet) -> pd.DataFrame:
    """The training table with labels as slugs (see ``labelled.read_labelled`` for what it refuses)."""
    return read_labelled(config, labels).frame


def evaluate_config(
    config: TrainConfig, data: pd.DataFrame, with_groups: bool = True, progress: Progress | None = None
) -> EvaluationResult:
    groups = data["group"] if (with_groups and "group" in data) else None
    return evaluate_pipeline(
        build_pipeline(config),
        data[["text"]],
        data["label"].to_numpy(),
        groups=groups,
        folds=config.evaluation.cv_folds,
        seed=config.evaluation.seed,
        n_jobs=config.evaluation.n_jobs,
        progress=progress,
        cv_groups=data.get("key"),
    )


def search_candidates(config: TrainConfig) -> list[dict[str, Any]]:
    keys = list(config.search.grid)
    combos = list(itertools.product(*(config.search.grid[k] for k in keys)))
    return [dict(zip(keys, combo, strict=True)) for combo in combos][: config.search.max_candidates]


def fit_model(
    config: TrainConfig, data: pd.DataFrame, labels: LabelSet, threshold: float, meta: dict[str, Any]
) -> TypingModel:
    pipeline = build_pipeline(config).fit(data[["text"]], data["label"].to_numpy())
    review = config.review
    return TypingModel(pipeline, labels, threshold, review.min_cjk_chars, meta, min_vocab_share=review.min_vocab_share)


def train(
    config: TrainConfig,
    search: bool = False,
    promote: bool = False,
    reports_dir: str | Path = "reports/train",
    track: bool = True,
    progress: Progress | None = None,
    tracking_uri: str | None = None,
    allow_label_change: bool = False,
) -> TrainResult:
    """Fit and evaluate the configured model (or the best of the search grid), log everything to MLflow,
    register the model, move ``@champion`` when it earns it, and export the champion for local use.
    ``tracking_uri``: default ``config.tracking.tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else SQLite."""
    say = progress or (lambda _msg: None)
    labels = load_labels(config.labels_path)
    labelled = read_labelled(config, labels)
    say(f"{len(labelled.frame)} labelled notes, {labelled.frame['label'].nunique()} labels, from {config.data.path}")
    for line in labelled.lines():
        say(line)
    reference = read_reference(config, labels) if config.evaluation.reference_data else None
    promotion_args = (promote, reference, allow_label_change)
    if not track:
        return _train(config, labels, labelled, search, promotion_args, reports_dir, None, say)
    with using_tracking_uri(resolve_tracking_uri(tracking_uri or config.tracking.tracking_uri)) as mlflow:
        mlflow.set_experiment(config.tracking.experiment)
        return _train(config, labels, labelled, search, promotion_args, reports_dir, mlflow, say)


def _train(
    config: TrainConfig,
    labels: LabelSet,
    labelled: LabelledData,
    search: bool,
    promotion_args: tuple[bool, LabelledData | None, bool],
    reports_dir: str | Path,
    mlflow: Any,
    say: Progress,
) -> TrainResult:
    data = labelled.frame

    search_table = None
    with _maybe_run(mlflow, run_name(config, search)) as run:
        if search:
            config, search_table = _search(config, data, mlflow, say)
        t0 = time.perf_counter()
        evaluation = evaluate_config(config, data, progress=say)
        eval_seconds = time.perf_counter() - t0
        threshold = review_threshold(config, evaluation)
        t0 = time.perf_counter()
        meta = {
            "trained_at": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
            "data_path": str(config.data.path),
            "rows": len(data),
            "config": config.model_dump(mode="json"),
        }
        model = fit_model(config, data, labels, threshold, meta)
        model.profile = reference_profile(model, data["text"].tolist(), evaluation.oof_proba, evaluation.classes)
        fit_seconds = time.perf_counter() - t0
        metrics = evaluation.metrics() | {
            "review_threshold": threshold,
            "fit_seconds": fit_seconds,
            "evaluation_seconds": eval_seconds,
            "train_rows": float(len(data)),
        }
        metrics |= source_metrics(evaluation, data) | labelled.metrics()
        names = {t.slug: t.name_zh for t in (*labels.types, labels.none)}
        files = write_report(evaluation, data["text"].tolist(), reports_dir, names, config.evaluation.audit_rows)
        files["data_quality.csv"] = labelled.write(reports_dir)
        if search_table is not None:
            search_table.to_csv(Path(reports_dir) / "search_results.csv", index=False)
            files["search_results.csv"] = Path(reports_dir) / "search_results.csv"
        say(summary_line(metrics))
        if by_source := source_line(metrics):
            say(by_source)
        result = TrainResult(model, evaluation, metrics, threshold, report_files=files, search_results=search_table)
        if mlflow is not None:
            _track(mlflow, run, config, labelled, result, promotion_args, say)
    return result


def review_threshold(config: TrainConfig, evaluation: EvaluationResult) -> float:
    """The confidence below which a note goes to review, chosen on held-out predictions as configured."""
    if config.review.threshold != "auto":
        return float(config.review.threshold)
    proba = evaluation.group_proba if evaluation.group_proba is not None else evaluation.oof_proba
    chosen = choose_threshold(
        proba, evaluation.y, evaluation.classes, config.review.target_precision, config.review.max_threshold
    )
    return max(chosen, config.review.min_threshold)


def _search(config: TrainConfig, data: pd.DataFrame, mlflow: Any, say: Progress) -> tuple[TrainConfig, pd.DataFrame]:
    rows = []
    best: tuple[float, TrainConfig] | None = None
    candidates = search_candidates(config)
    for i, overrides in enumerate(candidates, 1):
        candidate = with_overrides(config, overrides)
        t0 = time.perf_counter()
        with _maybe_run(mlflow, f"candidate-{i}", nested=True):
            ev = evaluate_config(candidate, data, with_groups=False)
            score = float(np.mean(ev.cv_f1))
            if mlflow is not None:
                mlflow.log_params({k: str(v) for k, v in overrides.items()})
                mlflow.log_metrics({"cv_macro_f1_mean": score, "cv_macro_f1_std": float(np.std(ev.cv_f1))})
        rows.append(
            {
                **{k: str(v) for k, v in overrides.items()},
                "cv_macro_f1": score,
                "seconds": time.perf_counter() - t0,
            }
        )
        say(f"candidate {i}/{len(candidates)} {overrides}: CV macro-F1 {score:.4f}")
        if best is None or score > best[0]:
            best = (score, candidate)
    assert best is not None
    return best[1], pd.DataFrame(rows).sort_values("cv_macro_f1", ascending=False)


class _maybe_run:
    """``mlflow.start_run`` when tracking, a no-op context otherwise."""

    def __init__(self, mlflow: Any, name: str, nested: bool = False):
        self.mlflow, self.name, self.nested, self.run = mlflow, name, nested, None

    def __enter__(self):
        if self.mlflow is not None:
            self.run = self.mlflow.start_run(run_name=self.name, nested=self.nested)
        return self.run

    def __exit__(self, *exc: object) -> None:
        if self.mlflow is not None:
            self.mlflow.end_run("FAILED" if exc[0] else "FINISHED")


def summary_line(metrics: dict[str, float]) -> str:
    parts = [f"CV macro-F1 {metrics['cv_macro_f1_mean']:.3f} ± {metrics['cv_macro_f1_std']:.3f}"]
    if "logo_macro_f1_mean" in metrics:
        parts.append(
            f"leave-one-group-out macro-F1 {metrics['logo_macro_f1_mean']:.3f} (min {metrics['logo_macro_f1_min']:.3f})"
        )
    parts.append(f"ECE {metrics['ece']:.3f}")
    parts.append(f"review threshold {metrics['review_threshold']:.3f}")
    return "; ".join(parts)


def run_name(config: TrainConfig, search: bool = False) -> str:
    """``train-<data stem>-<UTC date>`` (``search-…`` for a grid search)."""
    stem = Path(config.data.path).stem
    return f"{'search' if search else 'train'}-{stem}-{pd.Timestamp.now(tz='UTC'):%Y%m%d}"


def comparison_metric(metrics: dict[str, float]) -> str:
    return "logo_macro_f1_mean" if "logo_macro_f1_mean" in metrics else "cv_macro_f1_mean"


def _track(
    mlflow: Any,
    run: Any,
    config: TrainConfig,
    labelled: LabelledData,
    result: TrainResult,
    promotion_args: tuple[bool, LabelledData | None, bool],
    say: Progress,
) -> None:
    import tempfile

    from . import promotion, registry

    promote, reference, allow_label_change = promotion_args
    data = labelled.frame.drop(columns=["key"])

    uri = mlflow.get_tracking_uri()
    params = tracking.flatten(config.model_dump(mode="json"))
    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
    mlflow.log_metrics(result.metrics)
    # Only masked text leaves the process: the logged dataset profile is built from masked notes.
    masked = data.assign(text=data["text"].map(mask_pii))
    digest = tracking.log_dataset(mlflow, masked, name=Path(config.data.path).name, source=str(config.data.path))
    for f in result.report_files.values():
        mlflow.log_artifact(str(f), artifact_path="evaluation")
    if result.model.profile is not None:
        mlflow.log_dict(result.model.profile, "reference_profile.json")
    commit = tracking.git_commit()
    tags = {
        "data_digest": digest,
        "data_path": str(config.data.path),
        "code_commit": commit,
        "comparison_metric": comparison_metric(result.metrics),
        "evaluation_scheme": promotion.evaluation_scheme(config),
        "label_set": promotion.label_set_tag(result.model.classes_),
        "train_notes": str(len(data)),
    }
    mlflow.set_tags(tags)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = result.model.save(Path(tmp) / "bundle")
        info = tracking.log_model(mlflow, result.model, bundle, config.tracking.registered_model, tags)
    name = config.tracking.registered_model
    version = str(info.registered_model_version)
    tracking.tag_version(uri, name, version, tags | {"run_id": run.info.run_id, "config": str(config.data.path)})
    result.run_id, result.model_version = run.info.run_id, version
    decision = promotion.decide(
        uri,
        name,
        result.model,
        result.metrics,
        tags["comparison_metric"],
        tags["evaluation_scheme"],
        digest,
        labelled.frame,
        reference,
        force=promote,
        allow_label_change=allow_label_change,
    )
    if decision.promote:
        registry.make_champion(uri, name, version, decision.reason)
    result.promoted, result.promotion_reason = decision.promote, decision.reason
    mlflow.set_tags(decision.tags())
    tracking.tag_version(uri, name, version, {"promotion": decision.reason})
    report = promotion.write_report(decision, Path(result.report_files["data_quality.csv"]).parent, version)
    for f in report.values():
        mlflow.log_artifact(str(f), artifact_path="promotion")
    result.report_files |= report
    say(f"registered {name} version {version}; rule {decision.rule}: {decision.reason}")
    champion = tracking.current_champion(uri, name)
    if champion is not None:
        result.export_dir = tracking.export_model(
            uri, f"models:/{name}@{tracking.CHAMPION}", config.tracking.export_dir
        )
        say(f"champion (version {champion.version}) exported to {result.export_dir}")

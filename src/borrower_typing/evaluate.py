"""How good a model is on notes it has not seen: cross-validation, leave-one-group-out, per-class scores,
calibration, the review threshold, and the label audit.

The honest number is leave-one-group-out (by default: train on two writing styles, test on the third),
because the model is used on notes written by people whose habits it never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import classification_report, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .data import DataError, read_table
from .labels import CLASSES, NONE
from .predict import load_model
from .text import mask_pii


@dataclass
class EvaluationResult:
    classes: list[str]
    y: np.ndarray
    oof_proba: np.ndarray
    cv_f1: list[float]
    group_f1: dict[str, float] = field(default_factory=dict)
    group_proba: np.ndarray | None = None

    @property
    def oof_pred(self) -> np.ndarray:
        return np.asarray(self.classes)[self.oof_proba.argmax(axis=1)]

    def metrics(self) -> dict[str, float]:
        out = {
            "cv_macro_f1_mean": float(np.mean(self.cv_f1)),
            "cv_macro_f1_std": float(np.std(self.cv_f1)),
            "oof_accuracy": float(np.mean(self.oof_pred == self.y)),
            "ece": expected_calibration_error(self.oof_proba, self.y, self.classes),
        }
        if self.group_f1:
            values = list(self.group_f1.values())
            out["logo_macro_f1_mean"] = float(np.mean(values))
            out["logo_macro_f1_min"] = float(np.min(values))
            for g, v in self.group_f1.items():
                out[f"logo_macro_f1_{g}"] = float(v)
        for cls, row in self.per_class().iterrows():
            out[f"f1_{cls}"] = float(row["f1-score"])
        return out

    def per_class(self) -> pd.DataFrame:
        rep = classification_report(self.y, self.oof_pred, labels=self.classes, output_dict=True, zero_division=0)
        return pd.DataFrame({c: rep[c] for c in self.classes}).T


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str] | None = None) -> float:
    """Macro-F1 over the classes present in ``y_true`` (a held-out style may lack none of them)."""
    labels = sorted(set(y_true)) if classes is None else [c for c in classes if c in set(y_true)]
    return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))


def _fit_predict(
    pipeline: Any, X: pd.DataFrame, y: np.ndarray, train: np.ndarray, test: np.ndarray, classes: list[str]
):
    model = clone(pipeline).fit(X.iloc[train], y[train])
    proba = model.predict_proba(X.iloc[test])
    out = np.zeros((len(test), len(classes)))
    for k, c in enumerate(model.classes_):
        out[:, classes.index(str(c))] = proba[:, k]
    return test, out


def evaluate_pipeline(
    pipeline: Any,
    X: pd.DataFrame,
    y: Sequence[str],
    groups: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 42,
    n_jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    cv_groups: Sequence[str] | None = None,
) -> EvaluationResult:
    """Stratified k-fold out-of-fold probabilities and, with ``groups``, leave-one-group-out macro-F1.

    With ``cv_groups`` (duplicate keys, see ``duplicates``) notes sharing a value stay in one CV fold, and a
    held-out group's notes are also left out of its training side wherever they repeat.
    """
    y = np.asarray(y, dtype=object)
    classes = [c for c in CLASSES if c in set(y)] + sorted(set(y) - set(CLASSES))
    if cv_groups is not None:
        sgkf = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        jobs = [(tr, te) for tr, te in sgkf.split(np.zeros(len(y)), y, np.asarray(cv_groups, dtype=object))]
    else:
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        jobs = [(tr, te) for tr, te in skf.split(np.zeros(len(y)), y)]
    group_names: list[str] = []
    if groups is not None:
        g = np.asarray(groups, dtype=object)
        group_names = sorted(set(g))
        keys = np.asarray(cv_groups if cv_groups is not None else np.arange(len(y)), dtype=object)
        if len(group_names) >= 2:
            jobs += [
                (np.flatnonzero((g != name) & ~np.isin(keys, keys[g == name])), np.flatnonzero(g == name))
                for name in group_names
            ]
        else:
            group_names = []
    if progress:
        progress(f"fitting {len(jobs)} evaluation models ({folds} folds, {len(group_names)} held-out groups)")
    results = Parallel(n_jobs=n_jobs)(delayed(_fit_predict)(pipeline, X, y, tr, te, classes) for tr, te in jobs)
    oof = np.zeros((len(y), len(classes)))
    cv_f1 = []
    for test, proba in results[:folds]:
        oof[test] = proba
        cv_f1.append(macro_f1(y[test], np.asarray(classes)[proba.argmax(1)], classes))
    result = EvaluationResult(classes, y, oof, cv_f1)
    if group_names:
        result.group_proba = np.zeros_like(oof)
        for name, (test, proba) in zip(group_names, results[folds:], strict=True):
            result.group_proba[test] = proba
            result.group_f1[str(name)] = macro_f1(y[test], np.asarray(classes)[proba.argmax(1)], classes)
    return result


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, classes: Sequence[str], bins: int = 10) -> float:
    """ECE of the top-class probability: mean |accuracy − confidence| over equal-width bins, weighted."""
    conf = proba.max(axis=1)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def reliability_table(proba: np.ndarray, y: np.ndarray, classes: Sequence[str], bins: int = 10) -> pd.DataFrame:
    conf = proba.max(axis=1)
    correct = np.asarray(classes)[proba.argmax(axis=1)] == np.asarray(y)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = idx == b
        rows.append(
            {
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "count": int(mask.sum()),
                "confidence": float(conf[mask].mean()) if mask.any() else np.nan,
                "accuracy": float(correct[mask].mean()) if mask.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def type_confidence(proba: np.ndarray, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Top type among the nine (``none`` left out) and its probability, per row."""
    classes = list(classes)
    type_idx = [i for i, c in enumerate(classes) if c != NONE]
    sub = proba[:, type_idx]
    best = sub.argmax(axis=1)
    return np.asarray([classes[type_idx[b]] for b in best]), sub[np.arange(len(sub)), best]


def coverage_curve(proba: np.ndarray, y: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    """For each threshold: coverage (share of all notes that get a type instead of review) and precision
    (share of those whose type is right; a ``none`` note given a type counts as wrong).

    Notes whose best class is ``none`` always go to review, whatever the threshold.
    """
    classes = list(classes)
    y = np.asarray(y)
    top, conf = type_confidence(proba, classes)
    typed = np.asarray(classes)[proba.argmax(axis=1)] != NONE
    rows = []
    for t in np.round(np.arange(0.0, 0.96, 0.025), 3):
        kept = typed & (conf >= t)
        rows.append(
            {
                "threshold": float(t),
                "coverage": float(kept.sum() / max(1, len(y))),
                "precision": float((top[kept] == y[kept]).mean()) if kept.any() else np.nan,
                "kept": int(kept.sum()),
            }
        )
    return pd.DataFrame(rows)


def choose_threshold(
    proba: np.ndarray, y: np.ndarray, classes: Sequence[str], target_precision: float, max_threshold: float
) -> float:
    """The lowest confidence threshold whose kept notes reach ``target_precision`` (capped)."""
    curve = coverage_curve(proba, y, classes)
    ok = curve[(curve["precision"] >= target_precision) & (curve["kept"] > 0)]
    if ok.empty:
        return float(max_threshold)
    return float(min(ok["threshold"].min(), max_threshold))


def label_audit(
    texts: Sequence[str], y: np.ndarray, proba: np.ndarray, classes: Sequence[str], n: int = 50
) -> pd.DataFrame:
    """The notes whose given label the out-of-fold model doubts most: candidates for relabelling.

    Texts are masked; only the row, the labels and probabilities are added.
    """
    classes = list(classes)
    y = np.asarray(y)
    given = np.array([proba[i, classes.index(c)] for i, c in enumerate(y)])
    pred = np.asarray(classes)[proba.argmax(axis=1)]
    order = np.argsort(given)[:n]
    return pd.DataFrame(
        {
            "row": order + 1,
            "given": y[order],
            "p_given": np.round(given[order], 4),
            "predicted": pred[order],
            "p_predicted": np.round(proba[order].max(axis=1), 4),
            "text": [mask_pii(texts[i])[:200] for i in order],
        }
    )


def confusion_frame(y: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(confusion_matrix(y, pred, labels=list(classes)), index=list(classes), columns=list(classes))


# --- plots ------------------------------------------------------------------------------------------
def cjk_font() -> str | None:
    """A font that can draw Chinese, if the system has one; plots fall back to slugs without it."""
    from matplotlib import font_manager

    wanted = (
        "Noto Sans CJK",
        "Noto Serif CJK",
        "WenQuanYi",
        "Source Han",
        "SimHei",
        "Droid Sans Fallback",
        "AR PL",
    )
    for f in font_manager.fontManager.ttflist:
        if any(w.lower() in f.name.lower() for w in wanted):
            return f.name
    return None


def plot_confusion(cm: pd.DataFrame, path: str | Path, names: dict[str, str] | None = None) -> Path:
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no backend switched, no global figure kept

    font = cjk_font()
    ticks = [f"{names[c]}\n{c}" if (font and names and c in names) else c for c in cm.index]
    with matplotlib.rc_context({"font.sans-serif": [font, "DejaVu Sans"]} if font else {}):
        return _draw_confusion(cm, ticks, path, Figure(figsize=(9, 8)))


def _draw_confusion(cm: pd.DataFrame, ticks: list[str], path: str | Path, fig: Any) -> Path:
    ax = fig.subplots()
    norm = cm.div(cm.sum(axis=1).replace(0, 1), axis=0)
    ax.imshow(norm.values, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(cm)):
        for j in range(len(cm)):
            v = cm.values[i, j]
            if v:
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    color="white" if norm.values[i, j] > 0.5 else "black",
                    fontsize=8,
                )
    ax.set_xticks(range(len(cm)), ticks, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(cm)), ticks, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("given label")
    ax.set_title("Confusion matrix (out-of-fold)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def plot_reliability(table: pd.DataFrame, path: str | Path, ece: float) -> Path:
    from matplotlib.figure import Figure  # no pyplot: no backend switched, no global figure kept

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    t = table.dropna()
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot(t["confidence"], t["accuracy"], "o-", label="model")
    ax.set_xlabel("confidence of top class")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE = {ece:.3f})")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def write_report(
    result: EvaluationResult,
    texts: Sequence[str],
    out_dir: str | Path,
    names: dict[str, str],
    audit_rows: int = 50,
) -> dict[str, Path]:
    """Confusion matrix, reliability plot, classification report, coverage curve and label audit files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cm = confusion_frame(result.y, result.oof_pred, result.classes)
    files = {
        "confusion_matrix.png": plot_confusion(cm, out / "confusion_matrix.png", names),
        "reliability.png": plot_reliability(
            reliability_table(result.oof_proba, result.y, result.classes),
            out / "reliability.png",
            expected_calibration_error(result.oof_proba, result.y, result.classes),
        ),
    }
    cm.to_csv(out / "confusion_matrix.csv")
    files["confusion_matrix.csv"] = out / "confusion_matrix.csv"
    result.per_class().round(4).to_csv(out / "classification_report.csv")
    files["classification_report.csv"] = out / "classification_report.csv"
    coverage_curve(result.oof_proba, result.y, result.classes).to_csv(out / "coverage_curve.csv", index=False)
    files["coverage_curve.csv"] = out / "coverage_curve.csv"
    label_audit(texts, result.y, result.oof_proba, result.classes, audit_rows).to_csv(
        out / "label_audit.csv", index=False, encoding="utf-8-sig"
    )
    files["label_audit.csv"] = out / "label_audit.csv"
    return files


def evaluate_model_on_file(
    model: str | Path | None,
    data: str | Path,
    text_column: str,
    label_column: str,
    out_dir: str | Path,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """Score a trained model on a labelled file and write the same report files as training."""
    typing_model = load_model(model, tracking_uri)
    df = read_table(data)
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        raise DataError(f"{data}: no column {', '.join(map(repr, missing))}; columns are {list(df.columns)}")
    labels = typing_model.labels
    slugs = [labels.try_slug(v) if isinstance(v, str) else None for v in df[label_column]]
    bad = [i for i, s in zip(df.index, slugs, strict=True) if s is None]
    if bad:
        raise DataError(f"{data}: unknown label in column {label_column!r} at rows {bad[:10]}")
    proba = typing_model.predict_proba(df[text_column].fillna("").astype(str).tolist())
    classes = typing_model.classes_
    y = np.asarray(slugs, dtype=object)
    result = EvaluationResult(classes, y, proba, cv_f1=[])
    names = {c: labels.name_zh(c) for c in classes}
    write_report(result, df[text_column].fillna("").astype(str).tolist(), out_dir, names)
    pred = result.oof_pred
    return {
        "rows": len(df),
        "macro_f1": macro_f1(y, pred, classes),
        "accuracy": float(np.mean(pred == y)),
        "ece": expected_calibration_error(proba, y, classes),
        "per_class": result.per_class(),
    }


def evaluate_registers_on_file(
    model: str | Path | None,
    data: str | Path,
    text_column: str,
    label_column: str,
    seed: int = 0,
    tracking_uri: str | None = None,
) -> dict[str, float]:
    """Macro-F1 of a trained model on a labelled file, clean and under each register perturbation
    (``robustness.PERTURBATIONS``: Traditional characters, English shorthand, system lines, speech-to-text,
    no punctuation)."""
    from .robustness import robustness_scores

    typing_model = load_model(model, tracking_uri)
    df = read_table(data)
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        raise DataError(f"{data}: no column {', '.join(map(repr, missing))}; columns are {list(df.columns)}")
    slugs = [typing_model.labels.try_slug(v) if isinstance(v, str) else None for v in df[label_column]]
    bad = [i for i, s in zip(df.index, slugs, strict=True) if s is None]
    if bad:
        raise DataError(f"{data}: unknown label in column {label_column!r} at rows {bad[:10]}")
    classes = np.asarray(typing_model.classes_)

    def predict(texts: list[str]) -> list[str]:
        return classes[typing_model.predict_proba(texts).argmax(axis=1)].tolist()

    return robustness_scores(predict, df[text_column].fillna("").astype(str).tolist(), slugs, seed=seed)

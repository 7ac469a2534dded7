"""Whether a newly trained candidate replaces the ``@champion``, by one stated rule, with a report to read.

Rules, first match wins (the run's ``promotion_rule`` tag names the one used):

1. ``first`` — there is no champion: the candidate becomes it.
2. ``label-set`` — the candidate's label set differs from the champion's: never promoted unless
   ``--allow-label-change`` names that change (then it is promoted, and the reason says from what to what).
3. ``reference-set`` — a reference set was given (``--eval-data`` / ``evaluation.reference_data``): both models
   score it (notes that are also in the candidate's training data are left out) and the higher macro-F1 wins.
4. ``identical-folds`` — same data digest and the same evaluation scheme as the champion's run: the champion's
   logged held-out metric against the candidate's, both from the same folds of the same notes.
5. ``no-comparison`` — otherwise (different data, no reference set): not promoted automatically. The champion
   is never scored on the notes it was trained on against the candidate's out-of-fold score.

``--promote`` overrides the decision (rule ``forced``) but the report still shows the comparison.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from .evaluate import macro_f1
from .text import mask_pii

DISAGREEMENT_ROWS = 200


@dataclass
class Decision:
    promote: bool
    rule: str
    reason: str
    champion_version: str | None = None
    metric: str = ""
    champion_score: float | None = None
    candidate_score: float | None = None
    per_class: pd.DataFrame = field(default_factory=pd.DataFrame)
    disagreements: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluated_on: str = ""
    detail: str = ""

    def tags(self) -> dict[str, str]:
        return {"promotion": self.reason, "promotion_rule": self.rule, "promoted": str(self.promote).lower()}


def label_set_tag(classes: list[str]) -> str:
    return ",".join(sorted(classes))


def evaluation_scheme(config: Any) -> str:
    """What the held-out metrics depend on besides the data: two runs compare only when this is equal."""
    e = config.evaluation
    return (
        f"{e.cv_folds}-fold stratified, duplicate-grouped, seed {e.seed}; "
        f"held-out groups: {config.data.group_column or 'none'}"
    )


def decide(
    uri: str,
    name: str,
    candidate: Any,
    metrics: dict[str, float],
    metric: str,
    scheme: str,
    digest: str,
    training: pd.DataFrame,
    reference: Any | None = None,
    force: bool = False,
    allow_label_change: bool = False,
) -> Decision:
    """Apply the rules in the module doc. ``candidate`` is the fitted ``TypingModel``; ``reference`` a
    ``labelled.LabelledData`` or None; ``training`` the candidate's training frame (``labelled``)."""
    from . import tracking

    champion = tracking.current_champion(uri, name)
    if champion is None:
        decision = Decision(True, "first", "promoted to @champion (there was none)", metric=metric)
        decision.per_class = pd.DataFrame({"candidate": _run_f1(metrics, candidate.classes_)})
        return decision
    from .predict import load_model

    old = load_model(f"models:/{name}/{champion.version}", uri)  # its download is removed once loaded
    keys = set(training["key"])
    decision = _compare(uri, champion, old, candidate, metrics, metric, scheme, digest, keys, reference)
    decision.champion_version = str(champion.version)
    if decision.disagreements.empty and not decision.evaluated_on:
        decision.disagreements = _disagreements(old, candidate, training)
        decision.evaluated_on = "the candidate's training notes (seen in training: for reading, not scoring)"
    if decision.rule == "label-set" and allow_label_change:
        decision.promote = True
        decision.reason = f"promoted to @champion: the label set changes ({decision.detail}); --allow-label-change"
    if force:
        decision.promote, decision.rule = True, "forced"
        decision.reason = f"promoted to @champion (--promote); the comparison said: {decision.reason}"
    return decision


def _compare(
    uri: str,
    champion: Any,
    old: Any,
    new: Any,
    metrics: dict[str, float],
    metric: str,
    scheme: str,
    digest: str,
    training_keys: set[str],
    reference: Any | None,
) -> Decision:
    version = champion.version
    old_labels, new_labels = label_set_tag(old.classes_), label_set_tag(new.classes_)
    if old_labels != new_labels:
        gone = sorted(set(old.classes_) - set(new.classes_))
        added = sorted(set(new.classes_) - set(old.classes_))
        detail = (
            f"champion {len(old.classes_)} labels, candidate {len(new.classes_)}; "
            f"missing {', '.join(gone) or 'none'}; new {', '.join(added) or 'none'}"
        )
        reason = (
            f"kept champion version {version}: not promoted because the label set differs ({detail}); "
            "pass --allow-label-change to replace the label set"
        )
        champ_f1 = _run_f1(_metrics(uri, champion.run_id), old.classes_)
        d = Decision(False, "label-set", reason, metric=metric, detail=detail)
        d.per_class = pd.DataFrame({"champion (its own run)": champ_f1, "candidate": _run_f1(metrics, new.classes_)})
        if reference is not None:
            d.disagreements, d.evaluated_on = _disagreements(old, new, reference.frame), reference.source
        return d
    if reference is not None:
        ref = reference.frame[~reference.frame["key"].isin(training_keys)]
        overlap = len(reference.frame) - len(ref)
        if ref.empty:
            return Decision(
                False,
                "no-comparison",
                f"kept champion version {version}: every reference note is "
                "also in the training data; give a held-out reference set",
            )
        y = ref["label"].to_numpy(dtype=object)
        old_pred, new_pred = _pred(old, ref["text"]), _pred(new, ref["text"])
        o, n = macro_f1(y, old_pred), macro_f1(y, new_pred)
        basis = (
            f"macro-F1 on the reference set {reference.source} ({len(ref)} notes"
            + (f"; {overlap} also in the training data left out" if overlap else "")
            + "), both models scored on it"
        )
        d = _by_score(version, "reference-set", "reference_macro_f1", o, n, basis)
        present = sorted(set(y))
        d.per_class = pd.DataFrame(
            {
                "champion": f1_score(y, old_pred, labels=present, average=None, zero_division=0),
                "candidate": f1_score(y, new_pred, labels=present, average=None, zero_division=0),
                "support": [int((y == c).sum()) for c in present],
            },
            index=present,
        )
        d.disagreements, d.evaluated_on = _disagreements(old, new, ref), reference.source
        return d
    tags = champion.tags or {}
    same_data = tags.get("data_digest") == digest
    same_scheme = tags.get("evaluation_scheme") == scheme and tags.get("comparison_metric") == metric
    champ_metrics = _metrics(uri, champion.run_id)
    if same_data and same_scheme and metric in champ_metrics:
        basis = f"{metric} on identical folds of the same data (digest {digest}; {scheme})"
        d = _by_score(version, "identical-folds", metric, champ_metrics[metric], metrics[metric], basis)
        d.per_class = pd.DataFrame(
            {"champion": _run_f1(champ_metrics, old.classes_), "candidate": _run_f1(metrics, new.classes_)}
        )
        return d
    why = (
        f"trained on other data (champion digest {tags.get('data_digest', '?')}, candidate {digest})"
        if not same_data
        else f"the champion's run was evaluated differently ({tags.get('evaluation_scheme', 'unknown scheme')})"
    )
    reason = (
        f"kept champion version {version}: not promoted automatically because it was {why} and no reference "
        "set was given; pass --eval-data to compare both on the same notes, or promote by hand with "
        "`borrower-typing models promote VERSION`"
    )
    d = Decision(False, "no-comparison", reason, metric=metric)
    d.per_class = pd.DataFrame(
        {"champion (its own run)": _run_f1(champ_metrics, old.classes_), "candidate": _run_f1(metrics, new.classes_)}
    )
    return d


def _by_score(version: Any, rule: str, metric: str, old: float, new: float, basis: str) -> Decision:
    if new > old:
        reason = f"promoted to @champion: {new:.4f} > {old:.4f} ({basis})"
    else:
        reason = f"kept champion version {version}: candidate {new:.4f} <= champion {old:.4f} ({basis})"
    return Decision(new > old, rule, reason, metric=metric, champion_score=old, candidate_score=new)


def _pred(model: Any, texts: pd.Series) -> np.ndarray:
    proba = model.predict_proba(texts.tolist())
    return np.asarray(model.classes_, dtype=object)[proba.argmax(axis=1)]


def _disagreements(old: Any, new: Any, frame: pd.DataFrame) -> pd.DataFrame:
    old_pred, new_pred = _pred(old, frame["text"]), _pred(new, frame["text"])
    differ = old_pred != new_pred
    out = pd.DataFrame(
        {
            "row": frame["row"].to_numpy()[differ],
            "label": frame["label"].to_numpy()[differ],
            "champion": old_pred[differ],
            "candidate": new_pred[differ],
            "text": [mask_pii(t)[:200] for t in frame["text"].to_numpy()[differ]],
        }
    )
    return out.head(DISAGREEMENT_ROWS)


def _metrics(uri: str, run_id: str | None) -> dict[str, float]:
    if not run_id:
        return {}
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return dict(MlflowClient(uri).get_run(run_id).data.metrics)
    except MlflowException:
        return {}


def _run_f1(metrics: dict[str, float], classes: list[str]) -> pd.Series:
    return pd.Series({c: metrics.get(f"f1_{c}", np.nan) for c in classes}, dtype=float)


def write_report(decision: Decision, out_dir: str | Path, candidate_version: str | None = None) -> dict[str, Path]:
    """``promotion.md`` (decision, rule, reason, per-class table), ``promotion_per_class.csv``,
    ``promotion_disagreements.csv`` (masked notes) and ``promotion.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "promotion_per_class.csv": out / "promotion_per_class.csv",
        "promotion_disagreements.csv": out / "promotion_disagreements.csv",
        "promotion.json": out / "promotion.json",
        "promotion.md": out / "promotion.md",
    }
    per_class = decision.per_class.round(4)
    per_class.rename_axis("label").to_csv(files["promotion_per_class.csv"])
    decision.disagreements.to_csv(files["promotion_disagreements.csv"], index=False, encoding="utf-8-sig")
    summary = {
        "decision": "promote" if decision.promote else "keep champion",
        "rule": decision.rule,
        "reason": decision.reason,
        "champion_version": decision.champion_version,
        "candidate_version": candidate_version,
        "metric": decision.metric,
        "champion_score": decision.champion_score,
        "candidate_score": decision.candidate_score,
        "disagreements": len(decision.disagreements),
        "disagreements_on": decision.evaluated_on or None,
    }
    files["promotion.json"].write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = [
        "# Promotion report",
        "",
        f"- decision: **{summary['decision']}** (rule `{decision.rule}`)",
        f"- reason: {decision.reason}",
        f"- champion version: {decision.champion_version or 'none'}; candidate version: {candidate_version or '?'}",
        "",
        "## Per class (F1)",
        "",
        per_class.to_markdown() if not per_class.empty and _has_tabulate() else per_class.to_string(),
        "",
        f"## Notes the two models disagree on ({len(decision.disagreements)} listed, masked)",
        "",
        f"On {decision.evaluated_on or 'no shared notes'}; see promotion_disagreements.csv.",
    ]
    files["promotion.md"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True

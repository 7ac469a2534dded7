"""Benchmark section: register robustness of the project and its two peers.

Held-out notes are the clean-register notes (styles call, crm, visit) of five stratified folds; notes written
in the mixed registers (style ``register``) always stay in training. Each model is fitted once per fold and
scored on the held-out notes clean and under each perturbation of ``borrower_typing.robustness``; macro-F1 is
taken over the pooled out-of-fold predictions.

    python -m benchmarks.bench --only robustness     # this section alone, merged into reports/benchmarks.*
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CLEAN_STYLES = ("call", "crm", "visit")


def register_robustness(corpus: Path, smoke: bool, log=print) -> dict:
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from benchmarks.peers import FastTextPeer, NotebookBaseline, ProjectModel
    from borrower_typing.config import load_train_config
    from borrower_typing.robustness import PERTURBATIONS, perturb

    root = Path(__file__).resolve().parents[1]
    df = pd.read_csv(corpus)
    if smoke:
        df = df.groupby(["label", "style"]).sample(n=8, random_state=0).reset_index(drop=True)
    pool = df[df["style"].isin(CLEAN_STYLES)].reset_index(drop=True)
    extra = df[~df["style"].isin(CLEAN_STYLES)]
    texts, y = pool["text"].tolist(), pool["label"].to_numpy()
    labels = sorted(set(y))
    variants = {"clean": texts, **{name: perturb(texts, name) for name in PERTURBATIONS}}
    config = load_train_config(root / "configs" / "train.yaml")
    peers = {
        "project": lambda: ProjectModel(config),
        "baseline": NotebookBaseline,
        "fasttext": lambda: FastTextPeer(epoch=25, lr=0.5),
    }
    folds = list(StratifiedKFold(2 if smoke else 5, shuffle=True, random_state=42).split(texts, y))
    out: dict = {
        "held_out_notes": len(texts),
        "register_notes_in_training": len(extra),
        "folds": len(folds),
        "models": {},
    }
    for key, make in peers.items():
        preds = {name: np.empty(len(y), dtype=object) for name in variants}
        name_of_model = key
        for tr, te in folds:
            model = make().fit([texts[i] for i in tr] + extra["text"].tolist(), [*y[tr], *extra["label"]])
            name_of_model = model.name
            for name, variant in variants.items():
                preds[name][te] = model.predict([variant[i] for i in te])
        scores = {
            name: float(f1_score(y, p, labels=labels, average="macro", zero_division=0)) for name, p in preds.items()
        }
        out["models"][key] = {"name": name_of_model, "macro_f1": scores}
        log(f"robustness {key}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
    return out


def render(section: dict, before: dict | None = None) -> list[str]:
    """Markdown lines of the section (and of a saved before-run, if given)."""
    from borrower_typing.robustness import format_table

    lines = [
        "",
        "## Register robustness (macro-F1 on held-out notes, clean and perturbed)",
        "",
        f"{section['held_out_notes']:,} held-out clean-register notes over {section['folds']} stratified folds; "
        f"{section['register_notes_in_training']} mixed-register notes always in training. Perturbations: "
        "`traditional` (OpenCC s2hk/s2tw), `shorthand` (English collection wording), `system_lines` (1–4 dialer/SMS "
        "lines), `asr` (homophones, half the punctuation dropped), `no_punct` (all punctuation stripped); tables "
        "in `src/borrower_typing/resources/perturbations.yaml`. Target: no perturbation costs more than 0.02."
        + (
            f" This section was run on its own ({section['date']}, `--only robustness`)." if section.get("date") else ""
        ),
        "",
        format_table({m["name"]: m["macro_f1"] for m in section["models"].values()}),
    ]
    if before:
        lines += [
            "",
            f"Before (the code and corpus these changes started from, {before['register_notes_in_training']} "
            f"mixed-register notes in training; run {before.get('date', '?')}):",
            "",
            format_table({m["name"]: m["macro_f1"] for m in before["models"].values()}),
        ]
    return lines

"""Helpers for the notebooks under ``notebooks/``: what they need that the package does not already do.

Distinctive words per type (log-odds with an informative Dirichlet prior), a scan for personal data that
survived masking, near-duplicate pairs as a table, tables of MLflow runs and registered versions, scores per
slice, the most confident errors, and matplotlib output that works on any backend and never draws boxes for
Chinese type names. Kept in the package (not in the notebooks) so that they are tested and linted.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score

from .evaluate import cjk_font, macro_f1
from .text import mask_pii, normalize
from .validate import near_duplicates

# --- words --------------------------------------------------------------------------------------------


def tokenize_notes(texts: Sequence[object], tokenizer: Callable[[str], list[str]] | None = None) -> list[list[str]]:
    """Tokens of each note exactly as the model's word features see them: ``tokenizer(normalize(text))``."""
    if tokenizer is None:
        from .tokenize import make_tokenizer

        tokenizer = make_tokenizer()
    return [tokenizer(normalize(t)) for t in texts]


def log_odds_dirichlet(
    tokens: Sequence[Sequence[str]],
    labels: Sequence[str],
    prior_strength: float | None = None,
    binary: bool = False,
    classes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each class against all other notes: log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi
    and Quinn 2008, "Fightin' Words"), and its z-score.

    Raw frequency ranks function words first and plain log-odds ranks rare words first; the prior (the whole
    corpus's word frequencies, ``prior_strength`` pseudo-counts in all, default: as many as the corpus has
    tokens) shrinks rare words toward zero, and the z-score divides by the estimate's uncertainty.
    ``binary`` counts a word once per note, so one long note repeating a word cannot dominate its class.

    Returns one row per (label, token): ``count`` in the class, ``count_rest``, ``delta`` (log-odds ratio),
    ``z``; sorted by class, then ``z`` descending.
    """
    labels = [str(x) for x in labels]
    if len(tokens) != len(labels):
        raise ValueError(f"{len(tokens)} token lists but {len(labels)} labels")
    order = list(classes) if classes is not None else sorted(set(labels))
    per_class: dict[str, Counter[str]] = {c: Counter() for c in order}
    for toks, lab in zip(tokens, labels, strict=True):
        if lab in per_class:
            per_class[lab].update(set(toks) if binary else toks)
    total: Counter[str] = Counter()
    for counts in per_class.values():
        total.update(counts)
    vocab = sorted(total)
    if not vocab:
        return pd.DataFrame(columns=["label", "token", "count", "count_rest", "delta", "z"])
    y_all = np.array([total[w] for w in vocab], dtype=float)
    n_all = y_all.sum()
    a0 = float(prior_strength) if prior_strength is not None else n_all
    alpha = a0 * y_all / n_all
    frames = []
    for c in order:
        y_i = np.array([per_class[c][w] for w in vocab], dtype=float)
        y_j = y_all - y_i
        n_i, n_j = y_i.sum(), y_j.sum()
        if n_i == 0 or n_j == 0:
            continue
        delta = np.log((y_i + alpha) / (n_i + a0 - y_i - alpha)) - np.log((y_j + alpha) / (n_j + a0 - y_j - alpha))
        z = delta / np.sqrt(1.0 / (y_i + alpha) + 1.0 / (y_j + alpha))
        frames.append(
            pd.DataFrame(
                {
                    "label": c,
                    "token": vocab,
                    "count": y_i.astype(int),
                    "count_rest": y_j.astype(int),
                    "delta": delta,
                    "z": z,
                }
            ).sort_values(["z", "token"], ascending=[False, True])
        )
    return pd.concat(frames, ignore_index=True)


def top_terms(scores: pd.DataFrame, k: int = 10, min_count: int = 1) -> pd.DataFrame:
    """The ``k`` highest-z tokens per class side by side (``token (z)``), from ``log_odds_dirichlet``."""
    cols = {}
    for label, group in scores[scores["count"] >= min_count].groupby("label", sort=False):
        best = group.nlargest(k, "z")
        cols[label] = [f"{t} ({z:.1f})" for t, z in zip(best["token"], best["z"], strict=True)] + [""] * (k - len(best))
    out = pd.DataFrame(cols, index=pd.RangeIndex(1, k + 1, name="rank"))
    return out


# --- personal data ------------------------------------------------------------------------------------

_MASKS = "*＊×#xX"
# A run of digits and mask characters starting with a digit, optionally in groups split by one space or dash.
# Bounded by non-digits only (letters may touch it), so it is stricter than ``mask_pii``, whose gaps it should find.
# Partly masked numbers (138****2207) still show digits, so they count too.
_NUMBER_RUN = re.compile(rf"(?<![0-9])(?:\+?86[- ]?)?[0-9](?:[0-9{_MASKS}]|[- ](?=[0-9{_MASKS}]{{3}}))*(?![0-9])")
_BIRTH = re.compile(r"^[0-9]{6}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])")


def _classify_number(run: str) -> tuple[str | None, str]:
    """(kind or None, the number without separators or country code)."""
    s = re.sub(r"[- +]", "", run)
    if s.startswith("86") and len(s) == 13:
        s = s[2:]
    n = len(s)
    if sum(ch.isdigit() for ch in s) < 7:
        return None, s
    if n == 11 and re.match(r"1[3-9]", s):
        return "mobile", s
    if n == 15 or (n == 18 and (s[-1] in "Xx" or _BIRTH.match(s) or any(ch in _MASKS for ch in s[:-1]))):
        return "id", s
    if 16 <= n <= 19 and s[-1] not in "Xx":
        return "card", s
    return None, s


def pii_leftovers(texts: Sequence[object]) -> pd.DataFrame:
    """Mobile (11 digits), ID-card (15/18) and bank-card (16–19) numbers in ``texts``, whole or partly masked.

    Run over ``mask_pii`` output it must find nothing: that is the check that no personal data reaches logs,
    MLflow or reports. Numbers are shown cut down (``139…78``) so the table itself leaks nothing.
    Columns: ``row`` (0-based position), ``kind``, ``partly_masked``, ``shown``.
    """
    rows = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            text = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
        for m in _NUMBER_RUN.finditer(text):
            kind, s = _classify_number(m.group())
            if kind:
                rows.append(
                    {
                        "row": i,
                        "kind": kind,
                        "partly_masked": any(ch in _MASKS for ch in s[:-1]),
                        "shown": f"{s[:3]}…{s[-2:]}",
                    }
                )
    return pd.DataFrame(rows, columns=["row", "kind", "partly_masked", "shown"])


def pii_survival(texts: Sequence[object]) -> pd.DataFrame:
    """Numbers found per kind in the raw notes and after ``mask_pii``: the second column must be all zeros."""
    kinds = ["mobile", "id", "card"]
    before = pii_leftovers(texts)["kind"].value_counts()
    after = pii_leftovers([mask_pii(t) for t in texts])["kind"].value_counts()
    return pd.DataFrame(
        {"raw_notes": [int(before.get(k, 0)) for k in kinds], "after_mask_pii": [int(after.get(k, 0)) for k in kinds]},
        index=pd.Index(kinds, name="kind"),
    )


# --- near duplicates ----------------------------------------------------------------------------------


def near_duplicate_pairs(df: pd.DataFrame, threshold: float = 0.8, text_column: str = "text") -> pd.DataFrame:
    """``validate.near_duplicates`` as a table with both notes' other columns side by side (texts masked).

    A pair across labels is a labelling question; a pair across the CV split inflates the CV score.
    """
    texts = df[text_column].fillna("").astype(str).tolist()
    pairs = near_duplicates(texts, threshold)
    others = [c for c in df.columns if c != text_column]
    rows = []
    for i, j, jac in sorted(pairs, key=lambda p: -p[2]):
        row: dict[str, Any] = {"i": i, "j": j, "jaccard": round(jac, 3)}
        for c in others:
            row[f"{c}_i"], row[f"{c}_j"] = df[c].iloc[i], df[c].iloc[j]
        row["text_i"], row["text_j"] = mask_pii(texts[i])[:120], mask_pii(texts[j])[:120]
        rows.append(row)
    columns = ["i", "j", "jaccard", *[f"{c}_{s}" for c in others for s in "ij"], "text_i", "text_j"]
    return pd.DataFrame(rows, columns=columns)


# --- MLflow runs --------------------------------------------------------------------------------------

RUN_PARAMS = (
    "classifier.kind",
    "classifier.C",
    "features.word.enabled",
    "features.word.ngram_range",
    "features.char.enabled",
    "features.char.ngram_range",
    "calibration.method",
    "data.path",
)
RUN_METRICS = (
    "cv_macro_f1_mean",
    "cv_macro_f1_std",
    "logo_macro_f1_mean",
    "logo_macro_f1_min",
    "ece",
    "review_threshold",
    "fit_seconds",
    "evaluation_seconds",
    "train_rows",
)
RUN_COLUMNS = (
    "run_id",
    "run_name",
    "start_time",
    "status",
    "parent_run_id",
    *RUN_PARAMS,
    *RUN_METRICS,
    "model_version",
    "champion",
)


def store_exists(uri: str) -> bool:
    """False for a ``sqlite:///`` store whose file does not exist: reading it through MLflow would create it,
    and a notebook that only looks must not leave an empty store behind. Other stores are assumed to exist."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).is_file()
    return True


def model_versions(uri: str, name: str) -> pd.DataFrame:
    """Registered versions of ``name`` (``version``, ``run_id``, ``aliases``); empty when none are registered.

    Aliases come from the registered model itself: version searches do not fill them in every store.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(uri)
    try:
        aliases: dict[str, str] = dict(client.get_registered_model(name).aliases or {})
    except MlflowException:
        return pd.DataFrame(columns=["version", "run_id", "aliases"])
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    rows = [
        {"version": str(v.version), "run_id": v.run_id, "aliases": ",".join(sorted(by_version.get(str(v.version), [])))}
        for v in client.search_model_versions(f"name = '{name}'")
    ]
    frame = pd.DataFrame(rows, columns=["version", "run_id", "aliases"])
    return frame.sort_values("version", key=lambda s: s.astype(int)).reset_index(drop=True)


def runs_table(runs: pd.DataFrame, versions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per run from ``mlflow.search_runs`` output with the columns worth comparing (``RUN_COLUMNS``),
    the run's registered version and whether it is ``@champion``; best comparison metric first.

    Always has the same columns, empty or not, so a notebook can render it before any run exists.
    """
    if runs is None or runs.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})

    def col(name: str) -> pd.Series:
        return runs[name] if name in runs.columns else pd.Series([None] * len(runs), index=runs.index)

    out = pd.DataFrame(
        {
            "run_id": col("run_id"),
            "run_name": col("tags.mlflow.runName"),
            "start_time": col("start_time"),
            "status": col("status"),
            "parent_run_id": col("tags.mlflow.parentRunId"),
        }
    )
    for p in RUN_PARAMS:
        out[p] = col(f"params.{p}")
    out["classifier.C"] = pd.to_numeric(out["classifier.C"], errors="coerce")
    for m in RUN_METRICS:
        out[m] = pd.to_numeric(col(f"metrics.{m}"), errors="coerce")
    by_run: dict[str, str] = {}
    champion: set[str] = set()
    if versions is not None and not versions.empty:
        for _, v in versions.iterrows():
            by_run[v["run_id"]] = v["version"]
            if "champion" in str(v["aliases"]).split(","):
                champion.add(v["version"])
    out["model_version"] = out["run_id"].map(by_run)
    out["champion"] = out["model_version"].isin(champion)
    metric = comparison_column(out)
    out = out.sort_values([metric, "start_time"], ascending=[False, False], na_position="last")
    return out.reset_index(drop=True)[list(RUN_COLUMNS)]


def comparison_column(table: pd.DataFrame) -> str:
    """Leave-one-group-out macro-F1 when any run has it (the honest score), else CV macro-F1 — as in training."""
    if "logo_macro_f1_mean" in table and table["logo_macro_f1_mean"].notna().any():
        return "logo_macro_f1_mean"
    return "cv_macro_f1_mean"


def best_registered_run(table: pd.DataFrame) -> pd.Series | None:
    """The registered run with the best comparison metric (first row of ``runs_table`` that has a version)."""
    metric = comparison_column(table)
    candidates = table[table["model_version"].notna() & table[metric].notna()]
    if candidates.empty:
        return None
    return candidates.sort_values([metric, "start_time"], ascending=[False, False]).iloc[0]


# --- slices and errors --------------------------------------------------------------------------------


def slice_f1(y: Sequence[str], proba: np.ndarray, classes: Sequence[str], groups: Sequence[str]) -> pd.DataFrame:
    """F1 per class (rows) within each group (columns), plus a ``macro`` row over the classes each group has."""
    y = np.asarray(y, dtype=object)
    g = np.asarray(groups, dtype=object)
    pred = np.asarray(classes, dtype=object)[np.asarray(proba).argmax(axis=1)]
    table = {}
    for name in sorted(set(g)):
        m = g == name
        present = [c for c in classes if c in set(y[m])]
        scores = f1_score(y[m], pred[m], labels=present, average=None, zero_division=0)
        col = dict(zip(present, scores.tolist(), strict=True))
        col["macro"] = macro_f1(y[m], pred[m], classes)
        table[str(name)] = col
    return pd.DataFrame(table).reindex([*classes, "macro"])


def class_f1(y: Sequence[str], probas: Mapping[str, np.ndarray], classes: Sequence[str]) -> pd.DataFrame:
    """Per-class F1 (rows) for several sets of held-out probabilities (columns), e.g. CV vs leave-one-style-out."""
    y = np.asarray(y, dtype=object)
    out = {}
    for name, proba in probas.items():
        pred = np.asarray(classes, dtype=object)[np.asarray(proba).argmax(axis=1)]
        out[name] = f1_score(y, pred, labels=list(classes), average=None, zero_division=0)
    return pd.DataFrame(out, index=list(classes))


def worst_errors(
    texts: Sequence[str], y: Sequence[str], proba: np.ndarray, classes: Sequence[str], n: int = 15
) -> pd.DataFrame:
    """The misclassified notes the model was most sure about (texts masked): where it is confidently wrong.

    Unlike ``evaluate.label_audit`` (lowest probability of the given label, right or wrong), only errors count
    and they are ranked by the confidence of the wrong answer. ``row`` is the 0-based position.
    """
    y = np.asarray(y, dtype=object)
    classes = list(classes)
    pred = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    p_pred = proba.max(axis=1)
    p_given = np.array([proba[i, classes.index(c)] if c in classes else 0.0 for i, c in enumerate(y)])
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-p_pred[wrong], kind="stable")][:n]
    return pd.DataFrame(
        {
            "row": order,
            "given": y[order],
            "predicted": pred[order],
            "p_predicted": np.round(p_pred[order], 3),
            "p_given": np.round(p_given[order], 3),
            "text": [mask_pii(texts[i])[:160] for i in order],
        }
    )


# --- plots --------------------------------------------------------------------------------------------


def type_display_names(names: Mapping[str, str], warn: bool = True) -> dict[str, str]:
    """Axis labels for the types: ``"自信型\\nconfident"`` when a CJK font exists (set as matplotlib's font),
    else the slugs, with a printed warning. Never a label the font cannot draw (boxes).

    Setting the font is this notebook helper's job: it changes the session's rcParams on purpose (a notebook
    wants every later plot to draw Chinese). Library code does not call it; scope it with
    ``matplotlib.rc_context()`` where the change must not outlive a block."""
    font = cjk_font()
    if font is None:
        if warn:
            print(
                "warning: no CJK font found (e.g. Noto Sans CJK, WenQuanYi); plots label types by slug. "
                "Install one (apt-get install fonts-noto-cjk) for Chinese names."
            )
        return {slug: slug for slug in names}
    import matplotlib

    matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False
    return {slug: f"{zh}\n{slug}" for slug, zh in names.items()}


def figure_png(fig: Any, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes (works with ``matplotlib.figure.Figure`` on any backend, Agg included)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def show(fig: Any, dpi: int = 100) -> None:
    """Display a figure as an inline PNG in a notebook, without relying on the pyplot backend."""
    from IPython.display import Image, display

    display(Image(data=figure_png(fig, dpi)))

"""Batch monitoring: does a scored export still look like what the model learnt from?

A scored file is reduced to profiles overall and per slice (``--by``; batch_profile.py), then compared with the
reference profile saved in the model folder. Distributions are compared with the population stability index,
PSI = sum((b - r) * ln(b / r)) over bins, the credit-risk yardstick with the usual bands (stable below 0.1,
drift from 0.25), plus a chi-square test for the type mix and a Kolmogorov–Smirnov distance on the binned
confidence and length. PSI is a few lines of numpy on the saved histograms; scipy gives the tests
(docs/monitoring.md says why no monitoring framework).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .batch_profile import BatchProfiles, known_token_set, profile_file
from .config import MonitorConfig
from .labels import TYPES
from .profile import FIT_REASONS, MIN_TOKEN_NOTES, Profile, load_profile

if TYPE_CHECKING:
    from .model import TypingModel

_EPS = 1e-4  # floor of a bin's share in PSI: an empty bin would make it infinite


def psi(reference: Iterable[float], batch: Iterable[float]) -> float:
    """Population stability index of two histograms (counts or shares over the same bins)."""
    r, b = np.asarray(list(reference), dtype=float), np.asarray(list(batch), dtype=float)
    if r.sum() == 0 or b.sum() == 0:
        return 0.0
    r, b = np.clip(r / r.sum(), _EPS, None), np.clip(b / b.sum(), _EPS, None)
    return float(np.sum((b - r) * np.log(b / r)))


def ks_distance(reference: Iterable[float], batch: Iterable[float]) -> float:
    """Largest gap between the two cumulative distributions of binned counts (the KS statistic, on bins)."""
    r, b = np.asarray(list(reference), dtype=float), np.asarray(list(batch), dtype=float)
    if r.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(np.max(np.abs(np.cumsum(r) / r.sum() - np.cumsum(b) / b.sum())))


def chi_square_p(reference: dict[str, int], batch: dict[str, int]) -> float | None:
    """p-value of the batch's type counts under the reference mix (None when too few notes to test)."""
    from scipy.stats import chisquare

    keys = [t for t in TYPES if reference.get(t, 0) > 0]
    observed = np.array([batch.get(t, 0) for t in keys], dtype=float)
    n = observed.sum()
    if n < 5 * len(keys) or len(keys) < 2:
        return None
    expected = np.array([reference[t] for t in keys], dtype=float)
    return float(chisquare(observed, expected / expected.sum() * n).pvalue)


@dataclass
class Signal:
    name: str
    value: float
    threshold: float
    status: str  # "ok", "watch" or "drift"
    detail: str = ""


def _level(value: float, warn: float, alert: float) -> str:
    return "drift" if value >= alert else "watch" if value >= warn else "ok"


def compare(ref: Profile, batch: Profile, cfg: MonitorConfig, overall: Profile | None = None) -> list[Signal]:
    """The batch's signals against the reference, each with its status (a slice also against ``overall``)."""
    types = [t for t in TYPES if t in ref.types or t in batch.types]
    out = []
    output_bands, input_bands = (cfg.psi_warn, cfg.psi_alert), (cfg.input_psi_warn, cfg.input_psi_alert)
    for name, r, b, (warn, alert) in (
        ("type_psi", [ref.types.get(t, 0) for t in types], [batch.types.get(t, 0) for t in types], output_bands),
        ("confidence_psi", ref.confidence, batch.confidence, output_bands),
        ("length_psi", ref.length, batch.length, input_bands),
        ("vocab_share_psi", ref.vocab, batch.vocab, input_bands),
    ):
        value = psi(r, b)
        detail = f"KS distance {ks_distance(r, b):.3f}" if name in ("confidence_psi", "length_psi") else ""
        if name == "type_psi":
            p = chi_square_p(dict(ref.types), dict(batch.types))
            detail = f"chi-square p={p:.2g}" if p is not None else "too few notes for chi-square"
        out.append(Signal(name, value, alert, _level(value, warn, alert), detail))
    rise = batch.share_of(FIT_REASONS) - ref.share_of(FIT_REASONS)
    t = cfg.review_share_increase
    reasons = ", ".join(f"{k} {batch.reasons[k] / batch.rows:.1%}" for k in sorted(FIT_REASONS)) if batch.rows else ""
    detail = f"batch {batch.share_of(FIT_REASONS):.1%}: {reasons}"
    out.append(Signal("review_share_increase", rise, t, _level(rise, t / 2, t), detail))
    if overall is not None:  # a slice: its whole review share against the rest of the batch's
        jump = batch.review_share - overall.review_share
        detail = f"slice {batch.review_share:.1%}, batch {overall.review_share:.1%}"
        out.append(Signal("review_share_vs_batch", jump, t, _level(jump, t / 2, t), detail))
    if ref.vocab_mean is not None and batch.vocab_mean is not None:
        drop = ref.vocab_mean - batch.vocab_mean
        t = cfg.vocab_share_drop
        out.append(Signal("vocab_share_drop", drop, t, _level(drop, t / 2, t), f"batch mean {batch.vocab_mean:.3f}"))
    return out


def verdict(signals: list[Signal]) -> str:
    return (
        "drift"
        if any(s.status == "drift" for s in signals)
        else "watch"
        if any(s.status == "watch" for s in signals)
        else "ok"
    )


# --- the report's numbers -------------------------------------------------------------------------------
def new_tokens(ref: Profile, batch: Profile, known: frozenset[str], top: int) -> list[dict[str, Any]]:
    """Tokens the vocabulary does not know, most over-represented in the batch first (masked)."""
    if not batch.token_notes:
        return []
    rows = []
    ref_n = max(ref.token_notes, 1)
    for token, n in batch.tokens.most_common():
        if n < MIN_TOKEN_NOTES:  # counts are of notes, most common first: the rest are rarer still
            break
        if token in known:
            continue
        share = n / batch.token_notes
        ref_share = ref.tokens.get(token, 0) / ref_n
        rows.append({"token": token, "batch_share": share, "reference_share": ref_share, "lift": share - ref_share})
    rows.sort(key=lambda r: -r["lift"])
    return rows[:top]


def summarize(model: TypingModel, ref: Profile, batch: BatchProfiles, cfg: MonitorConfig) -> dict[str, Any]:
    """Everything the report, the JSON summary and MLflow show."""
    overall = compare(ref, batch.overall, cfg)
    slices = []
    for key, prof in batch.slices.items():
        signals = compare(ref, prof, cfg, batch.overall)
        flagged = prof.rows >= cfg.min_rows
        status = verdict(signals) if flagged else "too few rows"
        slices.append(
            {
                "slice": dict(zip(batch.by, key, strict=True)),
                "rows": prof.rows,
                "status": status,
                "review_share": prof.review_share,
                "signals": [s.__dict__ for s in signals],
                "_worst": max((s.value / s.threshold for s in signals), default=0.0) if flagged else -1.0,
            }
        )
    rank = {"drift": 0, "watch": 1, "ok": 2, "too few rows": 3}
    slices.sort(key=lambda s: (rank[s["status"]], -s["_worst"], -s["rows"]))
    for s in slices:
        s.pop("_worst")
    drifting = [s for s in slices if s["status"] == "drift"]
    status = verdict(overall)
    if status != "drift" and drifting:
        status = "drift"
    return {
        "verdict": status,
        "rows": batch.overall.rows,
        "by": batch.by,
        "model": {k: model.meta.get(k) for k in ("trained_at", "data_path", "rows")},
        "signals": [s.__dict__ for s in overall],
        "slices_drifting": len(drifting),
        "slices": slices,
        "new_tokens": new_tokens(ref, batch.overall, known_token_set(model), cfg.top_tokens),
        "reference": ref.to_dict(top_tokens=0),
        "batch": batch.overall.to_dict(top_tokens=0),
        "token_known_share": {"reference": ref.token_known_share, "batch": batch.overall.token_known_share},
    }


# --- the command ------------------------------------------------------------------------------------------
@dataclass
class MonitorResult:
    summary: dict[str, Any]
    report: Path | None = None
    summary_file: Path | None = None
    run_id: str | None = None

    @property
    def drift(self) -> bool:
        return self.summary["verdict"] == "drift"


def run_monitor(
    scored_path: str | Path,
    model: str | None = None,
    config_path: str | Path | None = None,
    by: list[str] | None = None,
    report_path: str | Path | None = None,
    text_column: str | None = None,
    encoding: str | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
) -> MonitorResult:
    """``borrower-typing monitor``: profile the scored file, compare, write the report, log to MLflow.
    ``config_path`` None: the built-in thresholds."""
    from .bundle import fetched_bundle
    from .config import load_monitor_config, load_score_config
    from .model import TypingModel

    cfg = load_monitor_config(config_path)
    score_cfg = load_score_config(Path("configs/score.yaml") if Path("configs/score.yaml").exists() else None)
    fallbacks = [score_cfg.text_column, *score_cfg.text_column_fallbacks]
    with fetched_bundle(model, tracking_uri) as model_dir:
        typing_model = TypingModel.load(model_dir)
        ref = load_profile(model_dir)
        batch = profile_file(typing_model, scored_path, cfg, by, text_column, fallbacks, encoding)
        return finish(
            typing_model, model_dir, ref, batch, cfg, Path(scored_path), report_path, track, tracking_uri, model
        )


def finish(
    model: TypingModel,
    model_dir: Path,
    ref: Profile,
    batch: BatchProfiles,
    cfg: MonitorConfig,
    scored_path: Path,
    report_path: str | Path | None,
    track: bool,
    tracking_uri: str | None,
    model_location: str | None,
) -> MonitorResult:
    """Summary, report files and the MLflow run, from profiles already made (also by ``score --monitor``)."""
    from .monitor_report import write_outputs

    summary = summarize(model, ref, batch, cfg)
    summary["scored_file"] = str(scored_path)
    report = Path(report_path) if report_path else scored_path.with_name(f"{scored_path.stem}.monitor.html")
    html, js = write_outputs(summary, report, model.labels)
    result = MonitorResult(summary, html, js)
    if track:
        from .monitor_tracking import log_monitoring_run, monitoring_metrics

        result.run_id = log_monitoring_run(
            summary, monitoring_metrics(summary), html, js, model_dir, model_location, cfg, tracking_uri
        )
    return result


def monitor_scored(
    summary: Any,
    model: str | None,
    cfg: MonitorConfig,
    report_path: str | Path | None = None,
    track: bool = True,
    tracking_uri: str | None = None,
    location: str | None = None,
) -> MonitorResult:
    """``score --monitor``: the same report from the profiles made while scoring (``summary.profiles``).
    ``location``: where ``model`` came from, when it is that model's downloaded folder (the run's tags name
    the registered version)."""
    from .bundle import fetched_bundle
    from .model import TypingModel

    profiles = summary.profiles or BatchProfiles([])
    with fetched_bundle(model, tracking_uri) as model_dir:
        typing_model = TypingModel.load(model_dir)
        ref = load_profile(model_dir)
        output = Path(summary.output)
        return finish(
            typing_model, model_dir, ref, profiles, cfg, output, report_path, track, tracking_uri, location or model
        )

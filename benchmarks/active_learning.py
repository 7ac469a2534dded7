"""The labelling loop, simulated on the bundled corpus: how many labels the project's selection saves.

For each style in turn, that style plays "the lender's notes": split in half (stratified by label) into a pool
and a test half. The starting model is trained on the other two styles. In rounds of 25, notes are taken from
the pool (their corpus labels play the annotators) by the project's strategy and by random choice (three
seeds); the model is refitted on the other styles plus the labels so far and scored on the test half. The
target figure is the test macro-F1 of a model given the whole pool.

    python -m benchmarks.active_learning            # make bench: three styles, 198 fits (43 min, busy 2 cores)
    python -m benchmarks.active_learning --smoke    # one style, two rounds: checks the harness

Writes reports/active_learning.md, .json and .png (the curves).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from borrower_typing.config import TrainConfig
from borrower_typing.evaluate import macro_f1
from borrower_typing.labelling.selection import SelectionConfig, scored_pool, select
from borrower_typing.labels import load_labels
from borrower_typing.train import fit_model

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus" / "call_notes.csv"
PROJECT = "uncertainty-diversity"
TOLS = (0.01, 0.005)  # "reached": test macro-F1 within this of the full-pool model's figure


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def split_pool_test(notes: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Half of each label to the pool, half to the test set."""
    rng = np.random.default_rng(seed)
    pool_idx = []
    for _, group in notes.groupby("label"):
        idx = rng.permutation(group.index.to_numpy())
        pool_idx.extend(idx[: len(idx) // 2])
    pool = notes.loc[sorted(pool_idx)]
    return pool.reset_index(drop=True), notes.drop(index=pool_idx).reset_index(drop=True)


class Fitter:
    """Fits the default pipeline and scores the test half (macro-F1 over the ten labels)."""

    def __init__(self, base: pd.DataFrame, test: pd.DataFrame):
        self.cfg = TrainConfig()
        self.labels = load_labels()
        self.base, self.test = base, test
        self.fits = 0

    def fit(self, extra: pd.DataFrame):
        data = pd.concat([self.base, extra[["text", "label"]]], ignore_index=True)
        self.fits += 1
        return fit_model(self.cfg, data, self.labels, threshold=0.3, meta={})

    def score(self, model) -> float:
        proba = model.predict_proba(self.test["text"].tolist())
        pred = np.asarray(model.classes_)[proba.argmax(axis=1)]
        return macro_f1(self.test["label"].to_numpy(), pred)


def run_curve(fitter: Fitter, pool: pd.DataFrame, strategy: str, seed: int, rounds: int, step: int, start) -> list:
    """Test macro-F1 after 0, step, 2·step … labels chosen by ``strategy``."""
    model, labelled = start[0], pool.iloc[:0]
    curve = [(0, start[1])]
    for r in range(1, rounds + 1):
        remaining = pool.drop(index=labelled.index)
        if remaining.empty:
            break
        scored = scored_pool(model, remaining["text"].tolist())
        features = model.transform(remaining["text"].tolist())
        chosen = select(scored, step, features, SelectionConfig(strategy=strategy, seed=seed + r))
        labelled = pd.concat([labelled, remaining.iloc[chosen.index.to_numpy()]])
        model = fitter.fit(labelled)
        curve.append((len(labelled), fitter.score(model)))
    return curve


def labels_to_reach(curve: list, target: float) -> int | None:
    return next((n for n, f1 in curve if f1 >= target), None)


def run_style(corpus: pd.DataFrame, style: str, rounds: int, step: int, seeds: list[int]) -> dict:
    pool, test = split_pool_test(corpus[corpus["style"] == style])
    fitter = Fitter(corpus[corpus["style"] != style][["text", "label"]], test)
    t0 = time.perf_counter()
    start_model = fitter.fit(pool.iloc[:0])
    start = (start_model, fitter.score(start_model))
    full = fitter.score(fitter.fit(pool))
    log(f"{style}: pool {len(pool)}, test {len(test)}, start F1 {start[1]:.4f}, full-pool F1 {full:.4f}")
    curves = {PROJECT: run_curve(fitter, pool, PROJECT, 0, rounds, step, start)}
    log(f"{style}: {PROJECT} {[round(f, 3) for _, f in curves[PROJECT]]}")
    for seed in seeds:
        curves[f"random-{seed}"] = run_curve(fitter, pool, "random", seed, rounds, step, start)
        log(f"{style}: random seed {seed} {[round(f, 3) for _, f in curves[f'random-{seed}']]}")
    return {
        "style": style,
        "pool": len(pool),
        "test": len(test),
        "start_f1": start[1],
        "full_pool_f1": full,
        "curves": curves,
        "fits": fitter.fits,
        "seconds": time.perf_counter() - t0,
    }


def summarise(row: dict, tol: float) -> dict:
    """Labels each strategy needs to come within ``tol`` of the full-pool figure (None: not within the run)."""
    curves = row["curves"]
    random_keys = [k for k in curves if k.startswith("random")]
    steps = len(min((curves[k] for k in random_keys), key=len))
    random_mean = [
        (curves[random_keys[0]][i][0], float(np.mean([curves[k][i][1] for k in random_keys]))) for i in range(steps)
    ]
    target = row["full_pool_f1"] - tol
    return {
        "target_f1": target,
        "random_mean": random_mean,
        "labels_project": labels_to_reach(curves[PROJECT], target),
        "labels_random_per_seed": [labels_to_reach(curves[k], target) for k in random_keys],
        "labels_random_mean_curve": labels_to_reach(random_mean, target),
        "max_labels": curves[PROJECT][-1][0],
    }


def verdict(row: dict) -> str:
    p, r, top = row["labels_project"], row["labels_random_mean_curve"], row["max_labels"]
    if p == 0:
        return "not measurable: the starting model is already within tolerance"
    if p is None:
        return f"no: the project's strategy did not get there within {top} labels"
    if r is None:
        return f"yes (random: not within {top})" if 2 * p <= top else f"unknown (random: not within {top})"
    return f"yes ({p / r:.2f} of random's)" if 2 * p <= r else f"no ({p / r:.2f} of random's)"


def render(results: dict) -> str:
    def fmt(v):
        return "—" if v is None else str(v)

    lines = [
        "# Labelling loop, simulated",
        "",
        f"Measured {results['when']} on the bundled corpus ({results['machine']}); rounds of {results['step']}, "
        f"up to {results['rounds']} rounds; random with seeds {results['seeds']}; the project's strategy is "
        f"`{PROJECT}` (seed 0). Test figure: macro-F1 over the ten labels on the held-out test half. Regenerate "
        "with `python -m benchmarks.active_learning` (part of `make bench`).",
        "",
    ]
    for tol in results["tols"]:
        lines += [
            f"Labels needed to come within {tol} of the full-pool model's figure:",
            "",
            "| held-out style | pool / test | start F1 | full-pool F1 | project | random (mean curve) "
            "| random per seed | project ≤ half of random? |",
            "|---|---|---:|---:|---:|---:|---|---|",
        ]
        for row in results["styles"]:
            sm = summarise(row, tol)
            both = row | sm
            lines.append(
                f"| {row['style']} | {row['pool']} / {row['test']} | {row['start_f1']:.3f} | {row['full_pool_f1']:.3f} "
                f"| {fmt(sm['labels_project'])} | {fmt(sm['labels_random_mean_curve'])} "
                f"| {', '.join(fmt(v) for v in sm['labels_random_per_seed'])} | {verdict(both)} |"
            )
        lines += [""]
    lines += [
        "— = not reached within the rounds run.",
        "",
        "Mean test macro-F1 over rounds 1 … last (the area under the curve, per label spent):",
        "",
        "| held-out style | project | random (mean of seeds) |",
        "|---|---:|---:|",
    ]
    for row in results["styles"]:
        proj = np.mean([f for _, f in row["curves"][PROJECT][1:]])
        rnd = np.mean([f for _, f in summarise(row, 0.0)["random_mean"][1:]])
        lines.append(f"| {row['style']} | {proj:.4f} | {rnd:.4f} |")
    lines += ["", "Curves (labels: test macro-F1):", ""]
    for row in results["styles"]:
        sm = summarise(row, results["tols"][0])
        proj = ", ".join(f"{n}: {f:.3f}" for n, f in row["curves"][PROJECT])
        rnd = ", ".join(f"{n}: {f:.3f}" for n, f in sm["random_mean"])
        lines += [f"- {row['style']}, project: {proj}", f"- {row['style']}, random (mean): {rnd}"]
    lines += ["", "![curves](active_learning.png)", ""]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    styles = results["styles"]
    fig, axes = plt.subplots(1, len(styles), figsize=(5 * len(styles), 4), squeeze=False)
    for ax, row in zip(axes[0], styles, strict=True):
        for key, curve in row["curves"].items():
            n, f1 = zip(*curve, strict=True)
            if key == PROJECT:
                ax.plot(n, f1, "o-", color="tab:blue", label="project strategy")
            else:
                ax.plot(n, f1, "-", color="tab:gray", alpha=0.4, lw=1)
        n, f1 = zip(*summarise(row, 0.0)["random_mean"], strict=True)
        ax.plot(n, f1, "s--", color="tab:orange", label="random (mean of seeds)")
        ax.axhline(row["full_pool_f1"], color="tab:green", ls=":", label="whole pool labelled")
        ax.set_title(f"held-out style: {row['style']}")
        ax.set_xlabel("labels from the pool")
        ax.set_ylabel("test macro-F1")
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one style, two rounds, one random seed")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--step", type=int, default=25)
    parser.add_argument("--from-json", type=Path, help="only re-render the report from a saved results file")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    if args.from_json:
        results = json.loads(args.from_json.read_text(encoding="utf-8"))
        results.setdefault("tols", TOLS)
        return write(results, args.out)
    corpus = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    styles = sorted(corpus["style"].unique())
    seeds = [0, 1, 2]
    rounds = args.rounds
    if args.smoke:
        styles, seeds, rounds = styles[:1], [0], 2
    import os
    import platform

    results = {
        "when": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "step": args.step,
        "rounds": rounds,
        "seeds": seeds,
        "tols": TOLS,
        "styles": [run_style(corpus, s, rounds, args.step, seeds) for s in styles],
    }
    return write(results, args.out)


def write(results: dict, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    (out / "active_learning.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    plot(results, out / "active_learning.png")
    (out / "active_learning.md").write_text(render(results), encoding="utf-8")
    log(f"wrote {out / 'active_learning.md'}")
    return results


if __name__ == "__main__":
    main()

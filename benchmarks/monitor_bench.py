"""Benchmark of monitoring: a large scored export streamed in chunks, against the scoring it follows.

    python -m benchmarks.monitor_bench            # 1,000,000 rows (make bench-monitor), several minutes
    python -m benchmarks.monitor_bench --smoke    # a few thousand rows (part of make bench-smoke)

Measures, in one run on one machine: `score` (one worker), `monitor` on the scored file at a tenth and at the full
size (peak RSS of both: flat memory means the two are close), `monitor --by 催收员` (50 collectors' slices), and
`score --monitor` (the one-pass overhead). The model is trained on half of the corpus and the export resampled
from the other half, as new notes meet a model: scored on its own training notes a model is surer than its
out-of-fold reference, and monitoring rightly calls that drift. Writes monitoring.md and monitoring.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.bench import CLI, CORPUS, ROOT, log, machine, make_export, run_measured

CONFIG = ROOT / "configs" / "monitor.yaml"


COLLECTORS = 50


def monitor_cmd(scored: Path, model: Path, report: Path, *extra: str) -> list[str]:
    return [CLI, "monitor", str(scored), "--model", str(model), "-c", str(CONFIG), "-o", str(report), "--no-tracking",
            *extra]  # fmt: skip


def run(rows: int, work: Path) -> dict:
    from borrower_typing.config import load_train_config
    from borrower_typing.train import train

    log("training the default configuration on half of the corpus (with its reference profile)")
    corpus = pd.read_csv(CORPUS)
    seen = corpus.sample(frac=0.5, random_state=1)
    seen.to_csv(work / "half.csv", index=False)
    overrides = {"data.path": str(work / "half.csv"), "data.group_column": None, "evaluation.n_jobs": 2}
    config = load_train_config(ROOT / "configs" / "train.yaml", overrides)
    model_dir = train(config, reports_dir=work / "train", track=False).model.save(work / "model")
    log(f"building a {rows:,}-row export from the other half")
    unseen = corpus.drop(seen.index)["text"].tolist()
    export = make_export(work / "export.csv", rows, notes=unseen, collectors=COLLECTORS)
    scored = work / "scored.csv"
    base = [CLI, "score", str(export), "--model", str(model_dir), "--jobs", "1", "--quiet", "--overwrite"]
    log("score")
    score_s, score_rss = run_measured([*base, "-o", str(scored)])
    tenth = work / "tenth.scored.csv"
    pd.read_csv(scored, nrows=rows // 10, dtype=str).to_csv(tenth, index=False, encoding="utf-8-sig")
    out: dict = {"rows": rows, "score": {"seconds": score_s, "peak_rss_bytes": score_rss}, "monitor": {}}
    runs = (("tenth", tenth, rows // 10, ()), ("full", scored, rows, ()), ("by", scored, rows, ("--by", "催收员")))
    for name, path, n, extra in runs:
        log(f"monitor {n:,} rows {' '.join(extra)}")
        seconds, rss = run_measured(monitor_cmd(path, model_dir, work / f"{name}.html", *extra))
        out["monitor"][name] = {"rows": n, "seconds": seconds, "peak_rss_bytes": rss, "rows_per_s": n / seconds}
    log("score --monitor")
    seconds, rss = run_measured([*base, "-o", str(work / "both.csv"), "--monitor", "--monitor-config", str(CONFIG),
                                 "--monitor-report", str(work / "both.html"), "--no-tracking"])  # fmt: skip
    out["score_and_monitor"] = {"seconds": seconds, "peak_rss_bytes": rss}
    summary = json.loads((work / "full.json").read_text(encoding="utf-8"))
    out["verdict"] = summary["verdict"]
    out["signals"] = {s["name"]: round(s["value"], 4) for s in summary["signals"]}
    one_pass = json.loads((work / "both.json").read_text(encoding="utf-8"))
    out["vocab_mean"] = {"sampled": summary["batch"]["vocab_share"], "every_note": one_pass["batch"]["vocab_share"]}
    full, small = out["monitor"]["full"], out["monitor"]["tenth"]
    out["monitor_time_over_score"] = full["seconds"] / score_s
    out["monitor_by_time_over_score"] = out["monitor"]["by"]["seconds"] / score_s
    out["monitor_rss_full_over_tenth"] = full["peak_rss_bytes"] / small["peak_rss_bytes"]
    out["one_pass_overhead"] = seconds / score_s - 1
    return out


def render(results: dict) -> str:
    mib = 1024 * 1024
    r = results
    m = r["monitor"]
    lines = [
        "# Monitoring benchmark",
        "",
        f"Run {r['started']} ({r['mode']} mode, {r['rows']:,}-row export) on {r['machine']['cores']} cores; "
        "produced by `python -m benchmarks.monitor_bench`. Read the ratios: absolute times drift on shared machines.",
        "",
        "| step | rows | seconds | rows/s | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| score (--jobs 1) | {r['rows']:,} | {r['score']['seconds']:.1f} | "
        f"{r['rows'] / r['score']['seconds']:,.0f} | {r['score']['peak_rss_bytes'] / mib:,.0f} MiB |",
    ]
    for name, step in (("tenth", "monitor"), ("full", "monitor"), ("by", f"monitor --by 催收员 ({COLLECTORS})")):
        e = m[name]
        lines.append(
            f"| {step} | {e['rows']:,} | {e['seconds']:.1f} | {e['rows_per_s']:,.0f} | "
            f"{e['peak_rss_bytes'] / mib:,.0f} MiB |"
        )
    both = r["score_and_monitor"]
    lines.append(
        f"| score --monitor | {r['rows']:,} | {both['seconds']:.1f} | {r['rows'] / both['seconds']:,.0f} | "
        f"{both['peak_rss_bytes'] / mib:,.0f} MiB |"
    )
    lines += [
        "",
        f"- monitoring time / scoring time: {r['monitor_time_over_score']:.2f}; "
        f"with `--by 催收员`: {r['monitor_by_time_over_score']:.2f}",
        f"- monitoring peak RSS, full / tenth: {r['monitor_rss_full_over_tenth']:.2f}× (flat memory: close to 1)",
        f"- one pass (`score --monitor`) over `score`: {r['one_pass_overhead']:+.0%}",
        f"- verdict on the export (notes the model never saw, resampled): {r['verdict']}; signals "
        + ", ".join(f"{k} {v:g}" for k, v in r["signals"].items()),
        f"- mean vocabulary share, `monitor` (a sample) against `score --monitor` (every note): "
        f"{_mean(r['vocab_mean']['sampled']):.4f} / {_mean(r['vocab_mean']['every_note']):.4f}",
        "",
    ]
    return "\n".join(lines)


def _mean(histogram: dict) -> float:
    n = sum(histogram["counts"])
    return histogram["sum"] / n if n else float("nan")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few thousand rows: checks the harness, not speed")
    parser.add_argument("--rows", type=int, default=None, help="rows of the export (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where monitoring.md/json go")
    args = parser.parse_args(argv)
    rows = args.rows or (3_000 if args.smoke else 1_000_000)
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    started = time.perf_counter()
    try:
        results = {"mode": "smoke" if args.smoke else "full", "machine": machine()}
        results["started"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results |= run(rows, work)
        results["seconds"] = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "monitoring.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    (args.out / "monitoring.md").write_text(render(results), encoding="utf-8")
    log(f"wrote {args.out / 'monitoring.md'}")
    return results


if __name__ == "__main__":
    main()

"""Turns the benchmark results into reports/benchmarks.md, with each target checked against what was measured."""

from __future__ import annotations


def _f(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}"


def _n(x: float) -> str:
    return f"{x:,.0f}"


def targets(r: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) rows; met is None when the section was skipped."""
    rows: list[tuple[str, str, bool | None]] = []
    acc = r.get("accuracy", {}).get("models")
    if acc:
        p, b, ft = (acc[k]["style"] for k in ("project", "baseline", "fasttext"))
        gap_ft = p["macro_f1_mean"] - ft["macro_f1_mean"]
        gap_b = p["macro_f1_mean"] - b["macro_f1_mean"]
        rows.append(("leave-one-style-out macro-F1 ≥ fastText + 0.02", f"{gap_ft:+.3f}", gap_ft >= 0.02))
        rows.append(("leave-one-style-out macro-F1 ≥ baseline + 0.05", f"{gap_b:+.3f}", gap_b >= 0.05))
        worst = min(pp - max(bb, ff) for pp, bb, ff in zip(p["per_fold"], b["per_fold"], ft["per_fold"], strict=True))
        never_below = all(
            pp >= bb and pp >= ff for pp, bb, ff in zip(p["per_fold"], b["per_fold"], ft["per_fold"], strict=True)
        )
        rows.append(("never below either peer in any held-out style", f"worst margin {worst:+.3f}", never_below))
    rob = r.get("robustness", {}).get("models", {}).get("project")
    if rob:
        worst = min(v - rob["macro_f1"]["clean"] for k, v in rob["macro_f1"].items() if k != "clean")
        rows.append(("no register perturbation costs more than 0.02 macro-F1", f"worst {worst:+.3f}", worst >= -0.02))
    tp = r.get("throughput")
    if tp:
        ratios = tp["ratios"]
        rows.append(
            (
                "score (CSV→CSV with strategy) ≥ 70% of in-memory predict",
                f"{ratios['score_jobs1_over_in_memory']:.0%}",
                ratios["score_jobs1_over_in_memory"] >= 0.7,
            )
        )
        rows.append(
            ("--jobs 2 ≥ 1.7× --jobs 1", f"{ratios['jobs2_over_jobs1']:.2f}×", ratios["jobs2_over_jobs1"] >= 1.7)
        )
        rows.append(
            (
                "score ≥ 5× notebook baseline's predict",
                f"{ratios['score_jobs2_over_baseline_predict']:.2f}× (jobs 2), {ratios['score_jobs1_over_baseline_predict']:.2f}× (jobs 1)",
                ratios["score_jobs2_over_baseline_predict"] >= 5,
            )
        )
    mem = r.get("memory")
    if mem:
        rows.append(
            (
                "peak RSS at the largest size ≤ 1.25× at the smallest",
                f"{mem['ratio_largest_over_smallest']:.2f}×",
                mem["ratio_largest_over_smallest"] <= 1.25,
            )
        )
    lat = r.get("latency")
    if lat:
        rows.append(
            (
                "predict cold start ≤ 1.5× (import sklearn + tokenizer start)",
                f"{lat['cold_ratio']:.2f}×",
                lat["cold_ratio"] <= 1.5,
            )
        )
    return rows


def render_markdown(r: dict) -> str:
    m = r["machine"]
    out = [
        "# Benchmarks",
        "",
        f"Run {m['date']} ({r['mode']} mode, {r['rows']:,}-row export) on {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}, {m['platform']}. Produced by `make bench` (`python -m benchmarks.bench`); every comparison "
        "below was measured in this same run, so read the ratios rather than the absolute times.",
        "",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for name, measured, met in targets(r):
        out.append(f"| {name} | {measured} | {'yes' if met else 'no' if met is not None else '—'} |")
    acc = r.get("accuracy")
    if acc:
        out += [
            "",
            "## 1. Accuracy against peers (same splits, same run)",
            "",
            "| model | CV macro-F1 | leave-one-style-out macro-F1 | held out: call / crm / visit | train s | size on disk |",
            "|---|---:|---:|---|---:|---:|",
        ]
        for entry in acc["models"].values():
            folds = " / ".join(_f(x) for x in entry["style"]["per_fold"])
            out.append(
                f"| {entry['name']} | {_f(entry['cv']['macro_f1_mean'])} | {_f(entry['style']['macro_f1_mean'])} | {folds} | "
                f"{entry['train_seconds']:.1f} | {entry['size_bytes'] / 2**20:.1f} MiB |"
            )
        classes = list(next(iter(acc["models"].values()))["style"]["per_class_f1"])
        out += [
            "",
            "Per-class F1, leave-one-style-out (pooled over the three held-out styles):",
            "",
            "| class | " + " | ".join(k for k in acc["models"]) + " |",
            "|---|" + "---:|" * len(acc["models"]),
        ]
        for c in classes:
            out.append(
                f"| {c} | " + " | ".join(_f(e["style"]["per_class_f1"][c]) for e in acc["models"].values()) + " |"
            )
        out += ["", f"fastText's epochs and learning rate were tuned on the CV folds: {acc['fasttext_tuning']}."]
    tok = r.get("tokenizer")
    if tok:
        out += [
            "",
            "## 2. Tokeniser ceiling (the bare engines, one core, domain dictionary loaded, no memo)",
            "",
            "| backend | chars/s | notes/s |",
            "|---|---:|---:|",
        ]
        for name, v in tok.items():
            out.append(f"| {name} | {_n(v['chars_per_s'])} | {_n(v['notes_per_s'])} |")
        out.append(f"\nrjieba / jieba: {tok['rjieba']['chars_per_s'] / tok['jieba']['chars_per_s']:.1f}×.")
    tp = r.get("throughput")
    if tp:
        out += [
            "",
            f"## 3. Scoring throughput ({tp['rows']:,} rows, CSV in → CSV out with strategy text)",
            "",
            "| path | notes/s | seconds |",
            "|---|---:|---:|",
        ]
        for key, label in (
            ("score_jobs1", "`borrower-typing score --jobs 1`"),
            ("score_jobs2", "`borrower-typing score --jobs 2`"),
            ("in_memory_api", "Python API `model.predict`, in memory, chunks of 20,000"),
        ):
            out.append(f"| {label} | {_n(tp[key]['notes_per_s'])} | {tp[key]['seconds']:.1f} |")
        out.append(
            f"| notebook baseline `predict` ({tp['baseline_predict']['rows']:,} of the same notes) | {_n(tp['baseline_predict']['notes_per_s'])} | |"
        )
        nm = tp.get("in_memory_api_no_memo")
        if nm:
            out.append(
                f"| Python API, memos off, every note made distinct ({nm['rows']:,} notes) | {_n(nm['notes_per_s'])} | {nm['seconds']:.1f} |"
            )
        out.append(f"| tokeniser alone (bare rjieba) | {_n(tp['tokenizer_only']['notes_per_s'])} | |")
        out.append("")
        out.append("Ratios: " + ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in tp["ratios"].items()) + ".")
    st = r.get("stages_us_per_note")
    if st:
        out += [
            "",
            "### Where the time goes (µs per note, 20,000 notes of the export, one core, memos emptied per stage)",
            "",
            "| stage | µs/note | share |",
            "|---|---:|---:|",
        ]
        total = sum(v for k, v in st.items() if k != "predict total") or 1.0
        for k, v in st.items():
            share = "" if k == "predict total" else f"{v / total:.0%}"
            out.append(f"| {k} | {v:.0f} | {share} |")
        out += [
            "",
            "Stages are timed one by one on the same notes; `predict total` is one `model.predict` call, which scores "
            "notes that normalise alike once, so it can be less than the sum. `vectorize word` excludes its "
            "tokenising, shown on its own row.",
        ]
    prof = r.get("profile")
    if prof and "functions" in prof:
        out += [
            "",
            f"Profile of one `model.predict` over {prof['notes']:,} notes (pyinstrument, {prof['seconds']:.1f} s "
            "sampled), functions by their own time:",
            "",
            "| function | own s | share |",
            "|---|---:|---:|",
        ]
        for f in prof["functions"]:
            out.append(f"| `{f['function']}` | {f['self_seconds']:.2f} | {f['share']:.0%} |")
    elif prof:
        out += ["", f"Profile not taken: {prof.get('skipped', 'unknown reason')}."]
    if tp and "distinct_share" in tp:
        out.append(
            f"\nIn this export {tp['distinct_share']:.0%} of the notes are distinct after normalisation (resampled "
            "notes with other names, amounts and dates normalise alike); real exports repeat 关机 and 无人接听 "
            "far more. The row with the memos off shows the rate when nothing repeats at all."
        )
    mem = r.get("memory")
    if mem:
        out += ["", "## 4. Memory: peak RSS of `score --jobs 1`", "", "| rows | peak RSS |", "|---:|---:|"]
        for n, b in sorted(mem["peak_rss_bytes"].items(), key=lambda kv: int(kv[0])):
            out.append(f"| {int(n):,} | {b / 2**20:,.0f} MiB |")
    lat = r.get("latency")
    if lat:
        out += [
            "",
            "## 5. Latency",
            "",
            "| measure | value |",
            "|---|---:|",
            f'| `borrower-typing predict "…" --json` cold start (median of 5) | {lat["cold_predict_s"]:.2f} s |',
            f'| `python -c "import sklearn"` + tokenizer start | {lat["import_sklearn_plus_tokenizer_s"]:.2f} s |',
            f'| `python -c "import sklearn"` | {lat["import_sklearn_s"]:.2f} s |',
            f"| `python -c pass` | {lat['python_startup_s']:.2f} s |",
            f"| warm, one note through the Python API: p50 / p99 | {lat['api_warm_ms']['p50']:.1f} / {lat['api_warm_ms']['p99']:.1f} ms |",
        ]
        serve = lat.get("serve_ms", {})
        if "p50" in serve:
            out.append(
                f"| `mlflow models serve`, one note per request over loopback: p50 / p99 | {serve['p50']:.1f} / {serve['p99']:.1f} ms |"
            )
    tr = r.get("training")
    if tr:
        out += [
            "",
            "## 6. Training time (CLI, with MLflow tracking)",
            "",
            f"Default config: {tr['default_seconds']:.0f} s; `--search` (grid of `configs/train.yaml`): {tr['search_seconds']:.0f} s.",
        ]
    sp = r.get("spark")
    if sp:
        out += ["", "## Spark", ""]
        if "skipped" in sp:
            out.append(f"Not measured: {sp['skipped']}")
        else:
            out.append(
                f"`--engine spark` in {sp['master']} ({sp['partitions']} partitions): {_n(sp['notes_per_second'])} notes/s on {sp['rows']:,} rows ({sp['seconds']:.0f} s, of which {sp['session_seconds']:.0f} s starting the session)."
            )
            if tp:
                out.append(
                    f"Local engine with `--jobs 2` on the same file: {_n(tp['score_jobs2']['notes_per_s'])} notes/s."
                )
    if "total_seconds" in r:
        out += ["", f"Whole benchmark: {r['total_seconds'] / 60:.1f} minutes."]
    if r.get("robustness"):
        from benchmarks.robustness import render as render_robustness

        out += render_robustness(r["robustness"], r.get("robustness_before"))
    out += ["", "## Reading the figures", "", *reading(r)]
    return "\n".join(out) + "\n"


def reading(r: dict) -> list[str]:
    """The paragraphs under the tables, written from the figures of this run: which targets hold, which do
    not and by how much, and where the time goes."""
    rows = targets(r)
    missed = [(name, measured) for name, measured, met in rows if met is False]
    held = [name for name, _, met in rows if met]
    out = []
    if not rows:
        return ["No target was measured in this run."]
    if missed:
        out.append(
            f"{len(missed)} of {len(rows)} targets are not met in this run: "
            + "; ".join(f"{name} (measured {measured})" for name, measured in missed)
            + "."
        )
    else:
        out.append(f"All {len(rows)} targets measured in this run are met.")
    if held:
        out.append("Met: " + "; ".join(held) + ".")
    st = r.get("stages_us_per_note")
    if st:
        parts = {k: v for k, v in st.items() if k != "predict total"}
        top = sorted(parts, key=parts.get, reverse=True)[:3]
        total = sum(parts.values()) or 1.0
        out.append(
            "Where a note's time goes: "
            + ", ".join(f"{k} {parts[k]:.0f} µs ({parts[k] / total:.0%})" for k in top)
            + f"; one `predict` call costs {st.get('predict total', 0):.0f} µs a note. "
            "What the profile led to: n-grams counted in numpy over integer keys instead of scikit-learn's per-note "
            "Python counter (tested equal to scikit-learn's matrices); prediction from plain arrays (`scorer.npz`) "
            "instead of the scikit-learn pipeline, which also keeps scikit-learn, skops and pandas out of the "
            "one-note path; normalisation and segmentation sentence by sentence with a bounded per-process memo, "
            "since sentences recur across notes far more than whole notes; evidence for all notes at once; "
            "workers that hand back encoded CSV rows."
        )
    tp = r.get("throughput")
    if tp and "in_memory_api_no_memo" in tp:
        ratio = tp["ratios"]["no_memo_in_memory_over_baseline_predict"]
        out.append(
            f"With nothing repeating (memos off, every note distinct) one process predicts "
            f"{_n(tp['in_memory_api_no_memo']['notes_per_s'])} notes/s, {ratio:.1f}× the notebook baseline's "
            f"{_n(tp['baseline_predict']['notes_per_s'])} on one core: the lower bound for an export unlike this one."
        )
    lat = r.get("latency")
    if lat:
        out.append(
            f"Cold start: `predict` on one note takes {lat['cold_predict_s']:.2f} s against "
            f"{lat['import_sklearn_plus_tokenizer_s']:.2f} s for importing scikit-learn and starting the tokenizer "
            "(the one-note path imports neither scikit-learn, skops, pandas nor MLflow)."
        )
    return ["\n\n".join(out)]

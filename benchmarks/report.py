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
            "## 2. Tokeniser ceiling (one core, domain dictionary loaded)",
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
        out.append(f"| tokeniser alone (rjieba) | {_n(tp['tokenizer_only']['notes_per_s'])} | |")
        out.append("")
        out.append("Ratios: " + ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in tp["ratios"].items()) + ".")
    st = r.get("stages_us_per_note")
    if st:
        out += [
            "",
            "### Where the time goes (µs per note, 20,000 notes of the export, one core)",
            "",
            "| stage | µs/note | share |",
            "|---|---:|---:|",
        ]
        total = sum(v for k, v in st.items() if k != "predict_total") or 1.0
        for k, v in st.items():
            share = "" if k == "predict_total" else f"{v / total:.0%}"
            out.append(f"| {k.replace('_', ' ')} | {v:.0f} | {share} |")
        top = max((k for k in st if k != "predict_total"), key=st.get)
        out += [
            "",
            f"The largest stage is {top.replace('_', ' ')}. Stages are timed one by one on all 20,000 notes; "
            "`predict total` is one `model.predict` call, which scores notes that normalise alike only once, so it can "
            "be less than the sum of the stages. How the profile was used: scikit-learn's per-note Python counter "
            "for n-grams was replaced by counting in numpy (character n-grams packed into integers, word n-grams "
            "over token ids; the matrices are tested equal to scikit-learn's), evidence is computed for all notes "
            "at once, and worker processes return already-encoded CSV rows so the writing process only appends bytes.",
        ]
    if tp and "distinct_share" in tp:
        out.append(
            f"\nIn this export {tp['distinct_share']:.0%} of the notes are distinct after normalisation (resampled "
            "notes with other names, amounts and dates normalise alike); real exports repeat 关机 and 无人接听 "
            "far more."
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
    notes = r.get("analysis")
    if notes:
        out += ["", "## Reading the figures", "", notes]
    return "\n".join(out) + "\n"

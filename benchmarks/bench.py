"""Benchmarks: accuracy against the peers a user would pick, and the speed, memory and latency of scoring.

    python -m benchmarks.bench            # full run (make bench): 1,000,000-row export, about 20 minutes
    python -m benchmarks.bench --smoke    # a few thousand rows (make bench-smoke; run by the tests)

Every comparison is measured in the same run; the report states ratios, since absolute times drift on shared
machines. Writes reports/benchmarks.md and reports/benchmarks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus" / "call_notes.csv"
BIN = Path(sys.executable).parent
CLI = str(BIN / "borrower-typing")
NOTE = "客户称上周说好周五还款，结果又没到账，今天又道歉说下周三发工资一定还清，这已经是第三次改期了。"


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


# --- data ---------------------------------------------------------------------------------------------
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
_NAME_RE = re.compile(r"[\u4e00-\u9fff](?=\*\*)")
_AMOUNT_RE = re.compile(r"[0-9][0-9,]*(?:\.[0-9]+)?(?=元|块)")
_DATE_RE = re.compile(r"\b(1[0-2]|[1-9])月([12][0-9]|3[01]|[1-9])[日号]")


def perturb(text: str, rng: random.Random) -> str:
    """A resampled note made different the way real exports differ: other names, amounts and dates, and
    now and then a dropped or swapped character (typing and speech-to-text slips)."""
    text = _NAME_RE.sub(lambda m: rng.choice(_SURNAMES), text)
    text = _AMOUNT_RE.sub(lambda m: f"{rng.randint(100, 99999):,}", text)
    text = _DATE_RE.sub(lambda m: f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日", text)
    chars = list(text)
    if len(chars) > 6 and rng.random() < 0.6:
        i = rng.randrange(len(chars) - 1)
        if rng.random() < 0.5:
            del chars[i]
        else:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def make_export(path: Path, rows: int, seed: int = 0, notes: list[str] | None = None, collectors: int = 0) -> Path:
    """A collection-system export of ``rows`` notes resampled from ``notes`` (the corpus), written in chunks;
    with ``collectors``, a 催收员 column of that many collectors (a column to slice by)."""
    notes = notes if notes is not None else pd.read_csv(CORPUS)["text"].tolist()
    rng = random.Random(seed)
    written = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        while written < rows:
            n = min(100_000, rows - written)
            frame = pd.DataFrame(
                {
                    "案件编号": [f"AJ{(written + i) // 4:08d}" for i in range(n)],
                    "催收时间": [f"2026-11-{1 + (i % 28):02d} {8 + i % 13:02d}:{i % 60:02d}" for i in range(n)],
                    "催记内容": [perturb(rng.choice(notes), rng) for _ in range(n)],
                }
            )
            if collectors:
                frame.insert(2, "催收员", [f"C{rng.randrange(collectors):03d}" for _ in range(n)])
            frame.to_csv(fh, index=False, header=written == 0)
            written += n
    return path


# --- 1. accuracy against peers ------------------------------------------------------------------------
def accuracy(smoke: bool) -> dict:
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    from benchmarks.peers import FastTextPeer, NotebookBaseline, ProjectModel
    from borrower_typing.config import load_train_config

    df = pd.read_csv(CORPUS)
    if smoke:
        df = df.groupby(["label", "style"]).sample(n=12, random_state=0).reset_index(drop=True)
    texts, y, styles = df["text"].tolist(), df["label"].to_numpy(), df["style"].to_numpy()
    classes = sorted(set(y))
    splits = {"cv": list(StratifiedKFold(5, shuffle=True, random_state=42).split(texts, y))}
    splits["style"] = [(np.flatnonzero(styles != s), np.flatnonzero(styles == s)) for s in ("call", "crm", "visit")]

    config = load_train_config(ROOT / "configs" / "train.yaml")
    ft_grid = [(25, 0.5)] if smoke else [(15, 0.5), (25, 0.5), (25, 1.0), (50, 0.5)]
    # fastText's epochs and learning rate are tuned on the same CV folds it is then scored on: if anything,
    # that flatters fastText.
    ft_scores = {}
    for epoch, lr in ft_grid:
        scores = []
        for tr, te in splits["cv"]:
            peer = FastTextPeer(epoch=epoch, lr=lr).fit([texts[i] for i in tr], list(y[tr]))
            scores.append(f1_score(y[te], peer.predict([texts[i] for i in te]), average="macro"))
        ft_scores[(epoch, lr)] = float(np.mean(scores))
    best_epoch, best_lr = max(ft_scores, key=ft_scores.get)
    log(f"fastText tuning (CV macro-F1): { {f'epoch={e},lr={r}': round(v, 4) for (e, r), v in ft_scores.items()} }")

    peers = {
        "project": lambda: ProjectModel(config),
        "baseline": NotebookBaseline,
        "fasttext": lambda: FastTextPeer(epoch=best_epoch, lr=best_lr),
    }
    out: dict = {"fasttext_tuning": {f"epoch={e},lr={r}": v for (e, r), v in ft_scores.items()}, "models": {}}
    for key, make in peers.items():
        entry: dict = {}
        for split_name, folds in splits.items():
            pred = np.empty(len(y), dtype=object)
            per_fold = []
            for tr, te in folds:
                model = make().fit([texts[i] for i in tr], list(y[tr]))
                pred[te] = model.predict([texts[i] for i in te])
                per_fold.append(float(f1_score(y[te], pred[te], average="macro")))
            # Pooled over the rows some fold held out (the register notes are never held out by style).
            held = np.flatnonzero(pred != None)  # noqa: E711 (elementwise on an object array)
            entry[split_name] = {
                "macro_f1_mean": float(np.mean(per_fold)),
                "per_fold": per_fold,
                "per_class_f1": dict(
                    zip(
                        classes,
                        f1_score(y[held], pred[held], labels=classes, average=None).round(4).tolist(),
                        strict=True,
                    )
                ),
            }
        t0 = time.perf_counter()
        full = make().fit(texts, list(y))
        entry["train_seconds"] = time.perf_counter() - t0
        entry["size_bytes"] = full.size_bytes()
        entry["name"] = full.name
        out["models"][key] = entry
        log(f"{key}: CV {entry['cv']['macro_f1_mean']:.4f}, leave-one-style-out {entry['style']['macro_f1_mean']:.4f}")
    return out


# --- 2. tokenizer ceiling -----------------------------------------------------------------------------
def tokenizer_ceiling(notes: list[str]) -> dict:
    """The bare engines on normalised notes: no clause memo, so every note is segmented (the ceiling of the
    engine itself, not of the project's cached path)."""
    from borrower_typing.text import normalize
    from borrower_typing.tokenize import make_tokenizer, prepare, segmenter

    normalized = [prepare(normalize(n)) for n in notes]
    chars = sum(map(len, normalized))
    out = {}
    for backend in ("rjieba", "jieba"):
        tok = make_tokenizer(backend)
        cut = segmenter(backend, tuple(tok.user_words))
        cut("预热")
        t0 = time.perf_counter()
        for text in normalized:
            cut(text)
        seconds = time.perf_counter() - t0
        out[backend] = {"chars_per_s": chars / seconds, "notes_per_s": len(notes) / seconds}
    return out


# --- 3, 4. scoring throughput and memory ----------------------------------------------------------------
def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of the process tree (the command and its worker processes)."""
    import psutil

    t0 = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in procs if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    return seconds, peak


def score_cmd(src: Path, out: Path, model: Path, jobs: int) -> list[str]:
    return [
        CLI,
        "score",
        str(src),
        "-o",
        str(out),
        "--model",
        str(model),
        "--jobs",
        str(jobs),
        "--quiet",
        "--overwrite",
    ]


def throughput(export: Path, model_dir: Path, work: Path, baseline_rows: int) -> dict:
    from benchmarks.peers import NotebookBaseline
    from borrower_typing.predict import load_model

    notes = pd.read_csv(export, usecols=["催记内容"], dtype=str, keep_default_na=False)["催记内容"].tolist()
    rows = len(notes)  # not lines: notes may hold line breaks
    from borrower_typing.text import normalize

    sample = notes[:100_000]
    out: dict = {"rows": rows, "distinct_share": len({normalize(n) for n in sample}) / len(sample)}
    for jobs in (1, 2):
        seconds, peak = run_measured(score_cmd(export, work / f"scored{jobs}.csv", model_dir, jobs))
        out[f"score_jobs{jobs}"] = {"seconds": seconds, "notes_per_s": rows / seconds, "peak_rss_bytes": peak}
        log(f"score --jobs {jobs}: {rows / seconds:,.0f} notes/s")
    model = load_model(model_dir)
    model.predict(notes[:100])
    t0 = time.perf_counter()
    for start in range(0, len(notes), 20_000):
        model.predict(notes[start : start + 20_000])
    seconds = time.perf_counter() - t0
    out["in_memory_api"] = {"seconds": seconds, "notes_per_s": len(notes) / seconds}
    log(f"in-memory API: {len(notes) / seconds:,.0f} notes/s")
    out["in_memory_api_no_memo"] = no_memo_rate(model, notes[:baseline_rows])
    log(f"in-memory API, memos off: {out['in_memory_api_no_memo']['notes_per_s']:,.0f} notes/s")
    corpus = pd.read_csv(CORPUS)
    baseline = NotebookBaseline().fit(corpus["text"].tolist(), corpus["label"].tolist())
    sample = notes[:baseline_rows]
    t0 = time.perf_counter()
    baseline.predict(sample)
    out["baseline_predict"] = {"rows": len(sample), "notes_per_s": len(sample) / (time.perf_counter() - t0)}
    out["tokenizer_only"] = tokenizer_ceiling(notes[: min(len(notes), 200_000)])["rjieba"]
    out["ratios"] = {
        "score_jobs1_over_in_memory": out["score_jobs1"]["notes_per_s"] / out["in_memory_api"]["notes_per_s"],
        "jobs2_over_jobs1": out["score_jobs2"]["notes_per_s"] / out["score_jobs1"]["notes_per_s"],
        "score_jobs2_over_baseline_predict": out["score_jobs2"]["notes_per_s"] / out["baseline_predict"]["notes_per_s"],
        "score_jobs1_over_baseline_predict": out["score_jobs1"]["notes_per_s"] / out["baseline_predict"]["notes_per_s"],
        "no_memo_in_memory_over_baseline_predict": out["in_memory_api_no_memo"]["notes_per_s"]
        / out["baseline_predict"]["notes_per_s"],
    }
    return out


def no_memo_rate(model, notes: list[str]) -> dict:
    """The in-memory rate with the sentence and clause memos off and every note made distinct (a serial number
    appended, which normalises to a placeholder-free digit run), so that nothing is computed only once: the
    rate on an export in which no note and no sentence ever repeats."""
    from borrower_typing.text import Memo

    distinct = [f"{note}#{i}" for i, note in enumerate(notes)]
    previous = Memo.set_default_size(0)
    try:
        t0 = time.perf_counter()
        for start in range(0, len(distinct), 20_000):
            model.predict(distinct[start : start + 20_000])
        seconds = time.perf_counter() - t0
    finally:
        Memo.set_default_size(previous)
    return {"rows": len(distinct), "seconds": seconds, "notes_per_s": len(distinct) / seconds}


def memory(sizes: list[int], model_dir: Path, work: Path, big: tuple[int, int] | None) -> dict:
    out = {}
    for n in sizes:
        src = make_export(work / f"mem{n}.csv", n, seed=n)
        _, peak = run_measured(score_cmd(src, work / f"mem{n}.out.csv", model_dir, 1))
        out[str(n)] = peak
        src.unlink()
        (work / f"mem{n}.out.csv").unlink()
        log(f"peak RSS at {n:,} rows: {peak / 2**20:,.0f} MiB")
    if big:
        out[str(big[0])] = big[1]
    smallest, largest = str(min(int(k) for k in out)), str(max(int(k) for k in out))
    return {"peak_rss_bytes": out, "ratio_largest_over_smallest": out[largest] / out[smallest]}


# --- 5. latency ------------------------------------------------------------------------------------------
def wall(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latency(model_dir: Path, requests: int) -> dict:
    from borrower_typing.predict import load_model

    py = sys.executable
    out = {
        "cold_predict_s": wall([CLI, "predict", NOTE, "--json", "--model", str(model_dir)], 5),
        "import_sklearn_plus_tokenizer_s": wall(
            [
                py,
                "-c",
                "import sklearn; from borrower_typing.tokenize import make_tokenizer; make_tokenizer()('预热')",
            ],
            5,
        ),
        "import_sklearn_s": wall([py, "-c", "import sklearn"], 5),
        "python_startup_s": wall([py, "-c", "pass"], 5),
    }
    out["cold_ratio"] = out["cold_predict_s"] / out["import_sklearn_plus_tokenizer_s"]
    model = load_model(model_dir)
    notes = pd.read_csv(CORPUS)["text"].sample(requests, random_state=1, replace=True).tolist()
    model.predict(notes[:5])
    per = []
    for note in notes:
        t0 = time.perf_counter()
        model.predict([note])
        per.append(time.perf_counter() - t0)
    out["api_warm_ms"] = {"p50": 1000 * float(np.percentile(per, 50)), "p99": 1000 * float(np.percentile(per, 99))}
    out["serve_ms"] = serve_latency(model_dir, notes[: min(200, requests)])
    return out


def serve_latency(model_dir: Path, notes: list[str]) -> dict:
    port = free_port()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            str(model_dir),
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    return {"error": "server did not start"}
                time.sleep(0.5)
        times = []
        for note in notes:
            body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[note]]}}, ensure_ascii=False).encode()
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": "application/json"}
            )
            t0 = time.perf_counter()
            urllib.request.urlopen(req, timeout=30).read()
            times.append(time.perf_counter() - t0)
        return {
            "p50": 1000 * float(np.percentile(times, 50)),
            "p99": 1000 * float(np.percentile(times, 99)),
            "requests": len(times),
        }
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


# --- 6. training time ------------------------------------------------------------------------------------
def training_time(work: Path, smoke: bool) -> dict:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'bench-mlflow.db'}"}
    data = ROOT / "data" / "corpus" / "call_notes.csv"
    if smoke:
        small = pd.read_csv(data).groupby(["label", "style"]).sample(n=9, random_state=0)
        data = work / "small.csv"
        small.to_csv(data, index=False)
    out = {}
    for name, extra in (("default", []), ("search", ["--search"])):
        cmd = [
            CLI,
            "train",
            "--config",
            str(ROOT / "configs" / "train.yaml"),
            "--data",
            str(data),
            "--reports",
            str(work / f"reports-{name}"),
            *extra,
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
        out[f"{name}_seconds"] = time.perf_counter() - t0
        log(f"train {name}: {out[f'{name}_seconds']:.0f} s")
    return out


# --- where the time goes -------------------------------------------------------------------------------
def stages(model_dir: Path, notes: list[str]) -> dict:
    """Microseconds per note of each stage of ``predict`` on the same notes, along the path prediction takes
    (the array scorer). The memos are emptied before each stage, so a stage pays for every sentence or clause
    the first time it meets it in these notes, as a fresh worker does."""
    from borrower_typing.predict import load_model
    from borrower_typing.text import Memo, normalize

    model = load_model(model_dir)
    model.predict(notes[:50])
    scorer = model.scorer
    if scorer is None:
        return {}

    t = {}
    Memo.empty_all()
    t0 = time.perf_counter()
    norm = [normalize(n) for n in notes]
    t["normalize"] = time.perf_counter() - t0
    for block in scorer.blocks:
        if block.tokenizer is not None:
            Memo.empty_all()
            t0 = time.perf_counter()
            for note in norm:
                block.tokenizer(note)
            t[f"tokenize ({block.name})"] = time.perf_counter() - t0
        Memo.empty_all()
        t0 = time.perf_counter()
        block.transform(norm)
        t[f"vectorize {block.name}"] = time.perf_counter() - t0
        if block.tokenizer is not None:
            t[f"vectorize {block.name}"] -= t[f"tokenize ({block.name})"]
    X = scorer.transform(norm)
    t0 = time.perf_counter()
    scorer.predict_proba(X)
    t["classify"] = time.perf_counter() - t0
    Memo.empty_all()
    t0 = time.perf_counter()
    model.predict(notes)
    t["predict total"] = time.perf_counter() - t0
    t["answers and evidence"] = max(0.0, t["predict total"] - sum(v for k, v in t.items() if k != "predict total"))
    return {k: v / len(notes) * 1e6 for k, v in t.items()}


def profile(model_dir: Path, notes: list[str], top: int = 12) -> dict:
    """Where ``predict`` spends its time by function (pyinstrument, sampling every 0.5 ms, memos emptied
    first): the profile the optimisations were chosen from."""
    try:
        from pyinstrument import Profiler
    except ImportError as exc:
        return {"skipped": f"pyinstrument not installed: {exc}"}
    from borrower_typing.predict import load_model
    from borrower_typing.text import Memo

    model = load_model(model_dir)
    model.predict(notes[:50])
    Memo.empty_all()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    model.predict(notes)
    profiler.stop()
    root = profiler.last_session.root_frame()
    own: dict[str, float] = {}
    stack = [root]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.is_synthetic:
            continue
        where = Path(frame.file_path or "?")
        package = where.parent.name if where.parent.name != "site-packages" else ""
        key = f"{frame.function} ({package + '/' if package else ''}{where.name})"
        own[key] = own.get(key, 0.0) + frame.total_self_time
    total = root.time or 1.0
    ranked = sorted(own.items(), key=lambda kv: -kv[1])[:top]
    return {
        "seconds": total,
        "notes": len(notes),
        "functions": [{"function": k, "self_seconds": v, "share": v / total} for k, v in ranked],
    }


# --- report ----------------------------------------------------------------------------------------------
def machine() -> dict:
    import psutil

    packages = (
        "scikit-learn",
        "numpy",
        "scipy",
        "pandas",
        "jieba",
        "rjieba",
        "mlflow",
        "skops",
        "fasttext-wheel",
        "pyspark",
    )
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = version(pkg)
        except Exception:
            versions[pkg] = "not installed"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def render(results: dict) -> str:
    from benchmarks.report import render_markdown

    return render_markdown(results)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a few thousand rows: checks the harness, not speed")
    parser.add_argument("--rows", type=int, default=None, help="rows of the large export (default 1,000,000)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports", help="where benchmarks.md/json go")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip (accuracy,throughput,memory,latency,training,spark,robustness)",
    )
    parser.add_argument(
        "--only",
        choices=["robustness"],
        default=None,
        help="run one section alone and merge it into the existing report (robustness: register perturbations)",
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="labelled corpus for the robustness section")
    parser.add_argument(
        "--save-as-before",
        action="store_true",
        help="with --only robustness: keep this run as the 'before' figures shown next to later runs",
    )
    args = parser.parse_args(argv)
    if args.only == "robustness":
        return only_robustness(args)
    skip = set(filter(None, args.skip.split(",")))
    rows = args.rows or (3_000 if args.smoke else 1_000_000)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict = {"mode": "smoke" if args.smoke else "full", "machine": machine(), "rows": rows}
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        from borrower_typing.config import load_train_config
        from borrower_typing.labels import load_labels
        from borrower_typing.train import fit_model, load_labelled

        from .engines import save_model

        config = load_train_config(ROOT / "configs" / "train.yaml")
        model = fit_model(config, load_labelled(config, load_labels()), load_labels(), 0.3, {"bench": True})
        model_dir = save_model(model, work / "model")  # an MLflow model folder, as exported: servable too
        if "accuracy" not in skip:
            log("accuracy against peers")
            results["accuracy"] = accuracy(args.smoke)
        log(f"building a {rows:,}-row export")
        export = make_export(work / "export.csv", rows)
        sample = pd.read_csv(export, nrows=20_000)["催记内容"].astype(str).tolist()
        results["tokenizer"] = tokenizer_ceiling(sample)
        results["stages_us_per_note"] = stages(model_dir, sample)
        results["profile"] = profile(model_dir, sample)
        big = None
        if "throughput" not in skip:
            log("scoring throughput")
            results["throughput"] = throughput(export, model_dir, work, baseline_rows=min(rows, 100_000))
            big = (rows, results["throughput"]["score_jobs1"]["peak_rss_bytes"])
        if "memory" not in skip:
            log("memory")
            sizes = [300, 3_000] if args.smoke else [20_000, 200_000]
            results["memory"] = memory(sizes, model_dir, work, big)
        if "latency" not in skip:
            log("latency")
            results["latency"] = latency(model_dir, requests=50 if args.smoke else 1_000)
        if "training" not in skip:
            log("training time")
            results["training"] = training_time(work, args.smoke)
        if "spark" not in skip:
            results["spark"] = spark_row(export, model_dir)
        if "robustness" not in skip:
            from benchmarks.robustness import register_robustness

            log("register robustness")
            results["robustness"] = register_robustness(args.corpus, args.smoke, log)
            before = args.out / "benchmarks.json"
            if before.exists():
                results["robustness_before"] = json.loads(before.read_text(encoding="utf-8")).get("robustness_before")
        results["total_seconds"] = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    (args.out / "benchmarks.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    (args.out / "benchmarks.md").write_text(render(results), encoding="utf-8")
    log(f"wrote {args.out / 'benchmarks.md'} in {results['total_seconds'] / 60:.1f} min")
    return results


def only_robustness(args: argparse.Namespace) -> dict:
    """The robustness section alone, merged into the saved report (the other sections keep their figures)."""
    from benchmarks.robustness import register_robustness

    path = args.out / "benchmarks.json"
    results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    section = register_robustness(args.corpus, args.smoke, log)
    section["date"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    results["robustness_before" if args.save_as_before else "robustness"] = section
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if "machine" in results:
        (args.out / "benchmarks.md").write_text(render(results), encoding="utf-8")
    log(f"wrote the robustness section into {path}")
    return results


def spark_row(export: Path, model_dir: Path) -> dict:
    try:
        from .engines import benchmark_spark
    except ImportError as exc:
        return {"skipped": f"spark engine not available: {exc}"}
    log("spark local[2]")
    try:
        return benchmark_spark(export, model_dir, master="local[2]")
    except Exception as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"[:500]}


if __name__ == "__main__":
    main()

"""Scoring whole exports: streamed in chunks, optionally across worker processes, rows in = rows out.

Per-case aggregation (``case_column``) combines all of a case's notes into one type, because some types
(repeated broken promises, evasion) only show across contacts. The rule, also in the README:

    For note i of a case (in file order, or by ``time_column``), with type probabilities p_i (the nine
    types renormalised without ``none``) and p_i(none) the chance that it says nothing about the borrower,
        w_i = (1 - p_i(none)) * decay ** (number of later notes in the case)
    (w_i = 0 for notes sent to review as empty, not Chinese or too short), and
        score(c) = sum_i w_i * log p_i(c);   case distribution = softmax(score).
    The case type is the argmax, its confidence the softmax value. A case none of whose notes has a basis
    of its own (1 - p_i(none) >= 0.5) goes to review as "no_basis": many unanswered calls do not add up to
    a type. So does a case whose confidence is below the model's review threshold.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .data import TEXT_FORMATS, DataError, TableWriter, encode_rows, iter_table, note_texts, sheet_hint
from .labels import NONE
from .model import TypingModel, format_alternatives, predictions_frame

FLAG_NO_WEIGHT = {"empty", "not_chinese", "too_short"}


@dataclass
class ScoreSummary:
    input: Path
    output: Path
    rows: int = 0
    seconds: float = 0.0
    type_counts: Counter = field(default_factory=Counter)
    review_counts: Counter = field(default_factory=Counter)
    cases_output: Path | None = None
    cases: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def review_share(self) -> float:
        return sum(self.review_counts.values()) / self.rows if self.rows else 0.0


def pick_text_column(columns: list[str], wanted: str | None, fallbacks: list[str], path: Path) -> str:
    if wanted:
        if wanted not in columns:
            raise DataError(f"{path}: no text column {wanted!r}; columns are {columns}")
        return wanted
    for name in fallbacks:
        if name in columns:
            return name
    raise DataError(f"{path}: none of the text columns {fallbacks} found; columns are {columns}; pass --text-column")


@lru_cache(maxsize=2)
def _worker_model(path: str) -> TypingModel:
    """One model per process: workers load it (and its tokenizer dictionary) on their first chunk only."""
    model = TypingModel.load(path)
    model.predict(["预热"], evidence=0, strategy=False)
    return model


@dataclass
class ScoredChunk:
    """What scoring one chunk hands back to the process that writes the output.

    For CSV and JSON Lines the rows come back already encoded (``payload``), so the writing process only
    appends bytes and the formatting work stays in the workers.
    """

    rows: int
    columns: list[str]
    types: list[str]
    reasons: list[str]
    payload: bytes | None = None
    frame: pd.DataFrame | None = None
    proba: np.ndarray | None = None
    cases: list[object] | None = None
    times: list[object] | None = None


@dataclass
class ChunkJob:
    """How to score a chunk: everything a worker process needs besides the rows."""

    model_path: str
    text_column: str
    keep: list[str] | None
    strategy: bool
    out_format: str
    out_encoding: str
    case_column: str | None = None
    time_column: str | None = None
    formula_guard: bool = True


def score_chunk(job: ChunkJob, chunk: pd.DataFrame) -> ScoredChunk:
    """Score one chunk: the output rows (same count, same order), and what the summary and the per-case
    table need."""
    model = _worker_model(job.model_path)
    preds = model.predict(note_texts(chunk[job.text_column]), strategy=job.strategy)
    result = predictions_frame(preds, strategy=job.strategy)
    result.index = chunk.index
    kept = chunk if job.keep is None else chunk[job.keep]
    clash = [c for c in result.columns if c in kept.columns]
    out = pd.concat([kept.rename(columns={c: f"{c}_input" for c in clash}), result], axis=1)
    if len(out) != len(chunk):  # the promise this module makes; never trade it for speed
        raise RuntimeError(f"rows {chunk.index[0]}–{chunk.index[-1]}: {len(chunk)} in, {len(out)} out")
    scored = ScoredChunk(
        rows=len(out),
        columns=list(out.columns),
        types=[p.type for p in preds],
        reasons=[p.review_reason or "" for p in preds],
    )
    if job.out_format in TEXT_FORMATS:
        scored.payload = encode_rows(out, job.out_format, job.out_encoding, job.formula_guard)
    else:
        scored.frame = out
    if job.case_column:
        scored.proba = np.asarray([[p.probabilities[c] for c in model.classes_] for p in preds], dtype=np.float32)
        scored.cases = note_texts(chunk[job.case_column])
        scored.times = note_texts(chunk[job.time_column]) if job.time_column else None
    return scored


def score_file(
    model_path: str | Path,
    input_path: str | Path,
    output_path: str | Path,
    text_column: str | None = None,
    text_fallbacks: list[str] | None = None,
    id_columns: list[str] | None = None,
    jobs: int = 1,
    chunk_size: int = 20_000,
    encoding: str | None = None,
    output_encoding: str = "utf-8-sig",
    strategy: bool = True,
    case_column: str | None = None,
    time_column: str | None = None,
    recency_decay: float = 0.8,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    formula_guard: bool = True,
) -> ScoreSummary:
    """Score ``input_path`` into ``output_path`` (format from the extension); see the module docstring."""
    from .model import find_bundle

    input_path, output_path = Path(input_path), Path(output_path)
    model_dir = str(find_bundle(model_path))
    model = _worker_model(model_dir)
    read = dict(encoding=encoding, typed=True, sep=sep, sheet=sheet)
    head = next(iter_table(input_path, chunk_size=1, **read), None)
    if head is None:
        raise DataError(f"{input_path}: no rows to score" + sheet_hint(input_path, sheet))
    columns = list(head.columns)
    try:
        text_column = pick_text_column(columns, text_column, text_fallbacks or ["text"], input_path)
    except DataError as exc:
        raise DataError(f"{exc}{sheet_hint(input_path, sheet)}") from None
    needed = [
        text_column,
        *(id_columns or []),
        *([case_column] if case_column else []),
        *([time_column] if time_column else []),
    ]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(f"{input_path}: no column {', '.join(map(repr, missing))}; columns are {columns}")
    keep = None if id_columns is None else list(dict.fromkeys(id_columns))
    cases_path = cases_output_path(output_path) if case_column else None
    for target in (output_path, cases_path):
        if target is not None and target.exists() and not overwrite:
            raise DataError(f"{target}: already exists; pass --overwrite to replace it")

    summary = ScoreSummary(input_path, output_path)
    agg = CaseAggregator(model.classes_, recency_decay) if case_column else None
    chunks = iter_table(input_path, chunk_size=chunk_size, columns=needed, **read)
    start = time.perf_counter()
    with TableWriter(output_path, output_encoding, overwrite, formula_guard) as writer:
        job = ChunkJob(model_dir, text_column, keep, strategy, writer.fmt, output_encoding, case_column, time_column)
        job.formula_guard = formula_guard
        for scored in _scored(job, chunks, jobs):
            if scored.payload is not None:
                writer.write_encoded(scored.payload, scored.columns, scored.rows)
            else:
                writer.write(scored.frame)
            summary.rows += scored.rows
            summary.type_counts.update(scored.types)
            summary.review_counts.update(r for r in scored.reasons if r)
            if agg is not None:
                agg.add(scored.cases, scored.proba, scored.reasons, scored.times)
            if progress:
                progress(scored.rows)
    if agg is not None:
        table = agg.result(model)
        with TableWriter(cases_path, output_encoding, overwrite, formula_guard) as cw:
            cw.write(
                table.rename(columns={"case": case_column})
                if strategy
                else table.drop(columns=["strategy"]).rename(columns={"case": case_column})
            )
        summary.cases_output, summary.cases = cases_path, len(table)
    summary.seconds = time.perf_counter() - start
    return summary


def _scored(job: ChunkJob, chunks: Iterator[pd.DataFrame], jobs: int) -> Iterator[ScoredChunk]:
    """Scored chunks in input order; with ``jobs`` > 1 worker processes score them while this process reads
    ahead and writes."""
    if jobs <= 1:
        for chunk in chunks:
            yield score_chunk(job, chunk)
        return
    from joblib import Parallel, delayed

    from .workers import init_worker

    # workers end with this process even when it is killed outright (see workers.py)
    parallel = Parallel(
        n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs", initializer=init_worker, initargs=(os.getpid(),)
    )
    yield from parallel(delayed(score_chunk)(job, chunk) for chunk in chunks)


def cases_output_path(output_path: Path) -> Path:
    return output_path.with_name(f"{output_path.stem}.cases{output_path.suffix}")


class CaseAggregator:
    """Accumulates per-note probabilities by case and combines them by the rule in the module docstring."""

    def __init__(self, classes: list[str], decay: float = 0.8):
        self.classes = list(classes)
        self.none_idx = self.classes.index(NONE) if NONE in self.classes else None
        self.type_idx = [i for i, c in enumerate(self.classes) if c != NONE]
        self.decay = decay
        self._notes: dict[str, list[tuple[object, int, np.ndarray, float]]] = defaultdict(list)
        self._seq = 0

    def add(
        self, case_ids: list[object], proba: np.ndarray, reasons: list[str], times: list[object] | None = None
    ) -> None:
        p_none = proba[:, self.none_idx] if self.none_idx is not None else np.zeros(len(proba))
        types = proba[:, self.type_idx].astype(np.float64)
        types = types / np.clip(types.sum(axis=1, keepdims=True), 1e-12, None)
        logp = np.log(np.clip(types, 1e-9, 1.0)).astype(np.float32)
        for k, case in enumerate(case_ids):
            basis = 0.0 if reasons[k] in FLAG_NO_WEIGHT else float(1.0 - p_none[k])
            key = "" if case is None else str(case)
            order = "" if times is None or times[k] is None else str(times[k])
            self._notes[key].append((order, self._seq, logp[k], basis))
            self._seq += 1

    def result(self, model: TypingModel) -> pd.DataFrame:
        rows = []
        type_names = [self.classes[i] for i in self.type_idx]
        for case, notes in self._notes.items():
            notes.sort(key=lambda n: (n[0], n[1]))
            n = len(notes)
            weights = np.array([basis * self.decay ** (n - 1 - i) for i, (_, _, _, basis) in enumerate(notes)])
            logps = np.stack([lp for _, _, lp, _ in notes]).astype(np.float64)
            score = weights @ logps
            dist = np.exp(score - score.max())
            dist /= dist.sum()
            order = np.argsort(-dist)
            top = type_names[order[0]]
            conf = float(dist[order[0]])
            with_basis = int(sum(1 for *_, b in notes if b >= 0.5))
            if with_basis == 0:
                reason = "no_basis"
            elif conf < model.threshold:
                reason = "low_confidence"
            else:
                reason = ""
            rows.append(
                {
                    "case": case,
                    "notes": n,
                    "notes_with_basis": with_basis,
                    "type": top,
                    "type_zh": model.labels.name_zh(top),
                    "confidence": round(conf, 4),
                    "needs_review": bool(reason),
                    "review_reason": reason,
                    "alternatives": format_alternatives(
                        [{"type": type_names[j], "probability": float(dist[j])} for j in order[1:3]]
                    ),
                    "strategy": model.labels.strategy_text(top),
                }
            )
        return pd.DataFrame(rows)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def run_score(
    input_path: str | Path,
    output_path: str | Path,
    model: str | None = None,
    config_path: str | Path | None = None,
    text_column: str | None = None,
    id_columns: list[str] | None = None,
    case_column: str | None = None,
    time_column: str | None = None,
    jobs: int | None = None,
    chunk_size: int | None = None,
    encoding: str | None = None,
    output_encoding: str = "utf-8-sig",
    strategy: bool = True,
    overwrite: bool = False,
    quiet: bool = False,
    sep: str | None = None,
    sheet: str | int | None = None,
    formula_guard: bool = True,
) -> ScoreSummary:
    """``score_file`` with defaults from the scoring config, a model resolved from a path or URI, and a
    progress bar on a terminal."""
    from .config import load_score_config
    from .predict import resolve_model_path

    cfg = load_score_config(config_path if config_path and Path(config_path).exists() else None)
    model_dir = resolve_model_path(model)
    fallbacks = [cfg.text_column, *cfg.text_column_fallbacks]
    kwargs = dict(
        text_column=text_column,
        text_fallbacks=fallbacks,
        id_columns=id_columns,
        jobs=jobs or cfg.jobs,
        chunk_size=chunk_size or cfg.chunk_size,
        encoding=encoding,
        output_encoding=output_encoding,
        strategy=strategy,
        case_column=case_column,
        time_column=time_column,
        recency_decay=cfg.recency_decay,
        overwrite=overwrite,
        sep=sep,
        sheet=sheet,
        formula_guard=formula_guard,
    )
    if quiet or not stderr_is_terminal():
        return score_file(model_dir, input_path, output_path, **kwargs)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("scoring"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:,} rows"),
        TextColumn("{task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("score", total=None, rate=0.0)
        start = time.perf_counter()

        def advance(n: int) -> None:
            bar.advance(task, n)
            done = bar.tasks[0].completed
            bar.update(task, rate=done / max(1e-9, time.perf_counter() - start))

        return score_file(model_dir, input_path, output_path, progress=advance, **kwargs)

"""Scoring whole exports locally: streamed in chunks, optionally across worker processes, rows in = rows out.

The output columns, text-column choice, required columns, clash rule and overwrite refusal come from
``schema``; the per-case rule from ``cases``. This module reads, scores, writes and counts.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .bundle import fetched_bundle, find_bundle, is_model_uri
from .cases import CaseAggregator
from .config import ScoreConfig
from .data import TEXT_FORMATS, DataError, TableWriter, encode_rows, iter_table, note_texts, sheet_hint
from .model import TypingModel
from .schema import (
    cases_output_path,
    check_columns,
    check_overwrite,
    flatten_for,
    join_output,
    kept_columns,
    pick_text_column,
    predictions_frame,
    required_columns,
)
from .text import mask_pii

__all__ = ["CaseAggregator", "ScoreSummary", "cases_output_path", "pick_text_column", "run_score", "score_file"]


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
    profiles: Any = None  # batch_profile.BatchProfiles when scoring with monitoring

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def review_share(self) -> float:
        return sum(self.review_counts.values()) / self.rows if self.rows else 0.0


def release_models() -> None:
    """Forget the models this process loaded for scoring (their folder may be a download about to go)."""
    _worker_model.cache_clear()


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
    types: list[str]  # of the rows not sent to review
    reasons: list[str]
    payload: bytes | None = None
    frame: pd.DataFrame | None = None
    proba: np.ndarray | None = None
    cases: list[object] | None = None
    times: list[object] | None = None
    profiles: Any = None


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
    mask_output: bool = False
    monitor: Any = None  # a MonitorConfig: profile each chunk for monitoring (score --monitor)
    monitor_by: list[str] = field(default_factory=list)


def score_chunk(job: ChunkJob, chunk: pd.DataFrame) -> ScoredChunk:
    """Score one chunk: the output rows (same count, same order), and what the summary and the per-case
    table need."""
    model = _worker_model(job.model_path)
    preds = model.predict(note_texts(chunk[job.text_column]), strategy=job.strategy)
    kept = chunk if job.keep is None else chunk[job.keep]
    if job.mask_output and job.text_column in kept.columns:
        kept = mask_text_column(kept, job.text_column)
    result = predictions_frame(preds, strategy=job.strategy)
    out = join_output(kept, result)
    out = flatten_for(out, job.out_format)  # alternatives: a list, or a JSON string in CSV/xlsx cells
    if len(out) != len(chunk):  # the promise this module makes; never trade it for speed
        raise RuntimeError(f"rows {chunk.index[0]}–{chunk.index[-1]}: {len(chunk)} in, {len(out)} out")
    scored = ScoredChunk(
        rows=len(out),
        columns=list(out.columns),
        types=[p.type for p in preds if not p.needs_review],  # the summary's type counts leave review rows out
        reasons=[p.review_reason or "" for p in preds],
    )
    if job.out_format in TEXT_FORMATS:
        scored.payload = encode_rows(out, job.out_format, job.out_encoding, job.formula_guard)
    else:
        scored.frame = out
    if job.case_column:
        scored.proba = np.asarray([[p.probabilities[c] for c in model.classes_] for p in preds], dtype=np.float32)
        scored.cases = note_texts(chunk[job.case_column])  # typed cells: a missing integer ID is None
        scored.times = chunk[job.time_column].tolist() if job.time_column else None
    if job.monitor is not None:
        scored.profiles = _chunk_profiles(model, job, chunk, result, preds)
    return scored


def mask_text_column(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``frame`` with ``column``'s notes masked (``--mask-output``); missing cells stay missing."""
    notes = pd.Series(note_texts(frame[column]), index=frame.index, dtype=object)  # typed cells: text first
    return frame.assign(**{column: notes.where(notes.isna(), notes.map(mask_pii, na_action="ignore"))})


def check_slices(profiles: Any, monitor: Any, path: Path) -> None:
    from .batch_profile import check_slices as check

    check(profiles, monitor, path)


def _chunk_profiles(
    model: TypingModel, job: ChunkJob, chunk: pd.DataFrame, result: pd.DataFrame, preds: list[Any]
) -> Any:
    """The monitoring profile of a scored chunk, made where the chunk was scored (no reading back), with every
    note's vocabulary share: the one scoring measured, or, for a model without the out-of-vocabulary rule,
    measured here (a worker cannot know a slice's place in the batch, which a sample needs)."""
    from .batch_profile import profile_chunk
    from .profile import batch_shares

    frame = result.assign(**{c: chunk[c] for c in job.monitor_by})
    rows = np.asarray(chunk.index, dtype=np.int64)
    texts = note_texts(chunk[job.text_column])
    if model.min_vocab_share > 0:
        shares = [p.vocab_share for p in preds]
    else:
        shares = batch_shares(model, model.normalize_notes(texts))
    return profile_chunk(model, frame, texts, job.monitor_by, rows, job.monitor, shares)


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
    mask_output: bool = False,
    monitor: Any = None,
    monitor_by: list[str] | None = None,
) -> ScoreSummary:
    """Score ``input_path`` (a local model folder) into ``output_path`` (format from the extension); with
    ``case_column`` also ``OUTPUT.cases.<ext>`` by the rule in ``cases``."""
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
        needed = list(
            dict.fromkeys([*required_columns(text_column, id_columns, case_column, time_column), *(monitor_by or [])])
        )
        check_columns(columns, needed, input_path)
    except DataError as exc:  # on a workbook of several sheets, say which one was read
        raise DataError(f"{exc}{sheet_hint(input_path, sheet)}") from None
    keep = kept_columns(id_columns)
    cases_path = cases_output_path(output_path) if case_column else None
    check_overwrite((output_path, cases_path), overwrite, exists=os.path.lexists)  # a dangling link counts

    summary = ScoreSummary(input_path, output_path)
    agg = CaseAggregator(model.classes_, recency_decay) if case_column else None
    chunks = iter_table(input_path, chunk_size=chunk_size, columns=needed, **read)
    start = time.perf_counter()
    with TableWriter(output_path, output_encoding, overwrite, formula_guard) as writer:
        job = ChunkJob(
            model_dir, text_column, keep, strategy, writer.fmt, output_encoding, case_column, time_column,
            writer.formula_guard, mask_output,
        )  # fmt: skip
        job.monitor, job.monitor_by = monitor, list(monitor_by or [])
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
            if scored.profiles is not None:
                summary.profiles = (
                    scored.profiles if summary.profiles is None else summary.profiles.merge(scored.profiles)
                )
                check_slices(summary.profiles, monitor, input_path)
            if progress:
                progress(scored.rows)
    if agg is not None:
        table = agg.result(model).rename(columns={"case": case_column})
        with TableWriter(cases_path, output_encoding, overwrite, formula_guard) as cw:
            cw.write(flatten_for(table if strategy else table.drop(columns=["strategy"]), cw.fmt))
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
    from joblib import Parallel, delayed  # worker processes: only when asked for

    from .workers import init_worker

    # workers end with this process even when it is killed outright (see workers.py)
    parallel = Parallel(
        n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs", initializer=init_worker, initargs=(os.getpid(),)
    )
    yield from parallel(delayed(score_chunk)(job, chunk) for chunk in chunks)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def run_score(
    input_path: str | Path,
    output_path: str | Path,
    model: str | None = None,
    config: ScoreConfig | None = None,
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
    monitor: Any = None,
    monitor_by: list[str] | None = None,
    tracking_uri: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    formula_guard: bool = True,
    mask_output: bool = False,
) -> ScoreSummary:
    """``score_file`` with defaults from the scoring config, a model from a path or URI (a registry model's
    download is removed afterwards), and a progress bar on a terminal."""
    cfg = config or ScoreConfig()
    kwargs = dict(
        text_column=text_column,
        text_fallbacks=[cfg.text_column, *cfg.text_column_fallbacks],
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
        mask_output=mask_output,
        monitor=monitor,
        monitor_by=monitor_by,
    )
    with fetched_bundle(model, tracking_uri) as model_dir:
        try:
            if quiet or not stderr_is_terminal():
                return score_file(model_dir, input_path, output_path, **kwargs)
            return _with_progress_bar(model_dir, input_path, output_path, kwargs)
        finally:
            if is_model_uri(str(model or "")):
                release_models()  # its folder is a download about to be removed


def _with_progress_bar(model_dir: Path, input_path: str | Path, output_path: str | Path, kwargs: dict) -> ScoreSummary:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn  # a terminal only

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

"""Scoring exports on Spark: the registered model runs inside MLflow's Spark UDF, Spark does the rest.

Why this shape: ``mlflow.pyfunc.spark_udf`` runs the same pyfunc that ``mlflow models serve`` answers with
(``serving.TypingPyfunc``), so there is no scoring code of ours on Spark that could drift from the local
engine. Around the UDF only two things happen, both with Spark itself:

- the strategy text (about 1 kB, one of ten) is joined from a broadcast labels table instead of being
  produced and shipped by the UDF for every row, on the row's ``type``: a review row already carries type
  ``none`` (``review.shown_type``), so it gets the ``none`` guidance, as locally;
- per-case aggregation is a group-by whose function is ``batch.CaseAggregator`` itself (``applyInPandas``
  over buckets of whole cases), fed the per-note class probabilities (pyfunc param ``include_probabilities``),
  so the rule is the local engine's by construction.

pyspark is imported inside functions: the package works without the ``spark`` extra.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .batch import ScoreSummary
from .cases import CaseAggregator
from .config import ScoreConfig, resolve_tracking_uri
from .errors import DataError
from .labels import NONE, TYPES
from .schema import (
    STRATEGY,
    check_columns,
    check_overwrite,
    kept_columns,
    note_names,
    output_name,
    pick_text_column,
    probability_names,
    required_columns,
    spark_case_schema,
    spark_schema,
)
from .spark_io import (
    _is_table_name,
    cases_location,
    check_output,
    get_spark,
    output_exists,
    quiet_pandas_warning,
    read_input,
    require_pyspark,
    write_output,
)
from .spark_model import PROBABILITIES_PARAM, SparkModel, cleanup, load_spark_model
from .text import mask_pii
from .tracking import using_tracking_uri

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

# Re-exported: the engine's public face (tests and users call them as ``spark.<name>``).
__all__ = ["_is_table_name", "cases_location", "get_spark", "load_spark_model", "read_input", "write_output"]
_cleanup = cleanup
NOTE_COLUMNS = tuple(note_names(strategy=False))
# Internal columns: input order, case key, note time, group of cases.
SEQ, CASE, TIME, BUCKET = "_bt_seq", "_bt_case", "_bt_time", "_bt_bucket"


@dataclass
class SparkScoreSummary(ScoreSummary):
    """``ScoreSummary`` plus where it ran (``console.render_summary`` prints either)."""

    master: str = ""
    partitions: int = 0


# --- scoring --------------------------------------------------------------------------------------------
def note_schema(classes: tuple[str, ...] | list[str] = (), probabilities: bool = False) -> Any:
    """The UDF's struct (``schema.spark_schema``): the note columns, plus ``p_<class>`` doubles."""
    return spark_schema(classes, probabilities)


def score_spark_frame(
    sdf: DataFrame,
    model_uri: str | Path | SparkModel | None,
    text_column: str = "催记内容",
    keep_columns: list[str] | None = None,
    strategy: bool = True,
    probabilities: bool = False,
    tracking_uri: str | None = None,
) -> DataFrame:
    """``sdf``'s kept columns (all by default; clashing names get ``_input``) plus ``schema.NOTE_COLUMNS``
    (and ``strategy``; ``p_<class>`` with ``probabilities``), one row per input row, lazily: nothing runs
    until the caller's action.

    ``model_uri``: ``models:/…``, ``runs:/…``, a model folder, or a ``SparkModel`` from ``load_spark_model``.
    """
    require_pyspark()
    given = isinstance(model_uri, SparkModel)
    model = model_uri if given else load_spark_model(model_uri, tracking_uri, probabilities)
    try:
        out = _predict(sdf, model, text_column, keep_columns, probabilities, strategy, tracking_uri)
    finally:
        if not given:
            cleanup(model)  # spark_udf has taken its own copy of the model
    return with_strategy(out, model) if strategy else out


def _predict(
    sdf: DataFrame,
    model: SparkModel,
    text_column: str,
    keep_columns: list[str] | None,
    probabilities: bool,
    reserve_strategy: bool,
    tracking_uri: str | None = None,
) -> DataFrame:
    """The kept columns plus the UDF's. ``strategy`` is only reserved: an input column of that name is
    renamed, for ``with_strategy`` to add the real one later."""
    import mlflow
    from pyspark.sql import functions as F

    if text_column not in sdf.columns:
        raise DataError(f"no text column {text_column!r}; columns are {sdf.columns}")
    wanted = {"include_strategy": False, PROBABILITIES_PARAM: probabilities}
    params = {k: v for k, v in wanted.items() if k in model.params and (v or k == "include_strategy")}
    schema = note_schema(model.classes, probabilities)
    with using_tracking_uri(resolve_tracking_uri(tracking_uri)):  # spark_udf reads MLflow's global URI
        udf = mlflow.pyfunc.spark_udf(
            sdf.sparkSession, model.uri, result_type=schema, env_manager="local", params=params or None
        )
    kept = list(sdf.columns if keep_columns is None else keep_columns)
    produced = note_names(strategy=reserve_strategy) + (probability_names(model.classes) if probabilities else [])
    renamed = [F.col(f"`{c}`").alias(output_name(c, produced)) for c in kept]
    out = sdf.select(*renamed, udf(F.col(f"`{text_column}`").cast("string")).alias("_bt_pred"))
    return out.select(*[F.col(f"`{c}`") for c in out.columns if c != "_bt_pred"], "_bt_pred.*")


def with_strategy(scored: DataFrame, model: SparkModel) -> DataFrame:
    """``scored`` plus ``strategy`` after ``evidence``, joined from a broadcast ten-row labels table on
    ``type`` (which is ``none`` on every review row: ``review.strategy_key``'s rule). Cheap, so a cache of
    scores can leave the long text out until the write."""
    from pyspark.sql import functions as F

    columns = scored.columns
    labels = scored.sparkSession.createDataFrame(
        [(slug, model.labels.strategy_text(slug)) for slug in (*TYPES, NONE)], f"_bt_key string, {STRATEGY.name} string"
    )
    joined = scored.withColumn("_bt_key", F.col("type")).join(F.broadcast(labels), "_bt_key", "left")
    position = columns.index("evidence") + 1
    order = [*columns[:position], "strategy", *columns[position:]]
    return joined.select(*[F.col(f"`{c}`") for c in order])


def case_table_spark(
    scored: DataFrame,
    model: SparkModel,
    case_column: str,
    time_column: str | None = None,
    order_column: str | None = None,
    decay: float = 0.8,
    strategy: bool = True,
    partitions: int | None = None,
    buckets: int | None = None,
) -> DataFrame:
    """One row per case by ``cases.CaseAggregator``'s rule, as a Spark group-by.

    ``scored`` needs ``review_reason`` and the ``p_<class>`` columns (``score_spark_frame(...,
    probabilities=True)``). Notes are ordered by ``time_column`` (parsed as in ``cases``), then by
    ``order_column`` (input order; without one, the frame's order when this is called). Cases come out in
    order of first appearance, with the local engine's columns. ``partitions``: tasks for the group-by
    (default: the session's default parallelism); ``buckets``: groups of whole cases handed to
    ``CaseAggregator`` at once (default: four per task; each must fit in a worker's memory as pandas).
    """
    rows = _case_rows(scored, model, case_column, time_column, order_column, decay, strategy, partitions, buckets)
    return rows.orderBy(SEQ).drop(SEQ)


def _case_rows(
    scored: DataFrame,
    model: SparkModel,
    case_column: str,
    time_column: str | None = None,
    order_column: str | None = None,
    decay: float = 0.8,
    strategy: bool = True,
    partitions: int | None = None,
    buckets: int | None = None,
) -> DataFrame:
    """The case rows unordered, with the first note's order in ``SEQ`` (so a caller can persist them
    before sorting: a sort samples its input, which would run the aggregation twice)."""
    require_pyspark()
    from pyspark.sql import functions as F

    proba = probability_names(model.classes)
    missing = [c for c in ["review_reason", *proba] if c not in scored.columns]
    if missing:
        raise DataError(f"scored frame lacks {missing}: score with probabilities=True")
    n = partitions or scored.sparkSession.sparkContext.defaultParallelism
    frame = scored.select(
        F.coalesce(F.col(f"`{case_column}`").cast("string"), F.lit("")).alias(CASE),
        (F.col(f"`{time_column}`").cast("string") if time_column else F.lit(None).cast("string")).alias(TIME),
        (F.col(f"`{order_column}`") if order_column else F.monotonically_increasing_id()).alias(SEQ),
        "review_reason",
        *proba,
    )
    # Groups are buckets of whole cases (a case's notes all hash to one bucket): one pandas call per case
    # cost about 5 ms a case, one per bucket costs what the local engine pays. n tasks, hash-partitioned on
    # the bucket (the group-by reuses it), rather than spark.sql.shuffle.partitions mostly empty ones.
    frame = frame.withColumn(BUCKET, F.pmod(F.xxhash64(CASE), F.lit(buckets or 4 * n)))
    from pyspark.sql.types import LongType

    schema = spark_case_schema(CASE, [(SEQ, LongType())])
    has_time = time_column is not None

    def combine(pdf: pd.DataFrame) -> pd.DataFrame:
        return _combine_cases(pdf, model, decay, has_time)

    grouped = frame.repartition(n, BUCKET).groupBy(BUCKET)
    table = grouped.applyInPandas(combine, schema).withColumnRenamed(CASE, case_column)
    return table if strategy else table.drop("strategy")


def _combine_cases(pdf: pd.DataFrame, model: SparkModel, decay: float, has_time: bool) -> pd.DataFrame:
    """Whole cases through ``CaseAggregator`` exactly as ``batch.score_file`` feeds it: input order, float32
    probabilities, review reasons, times or None; plus each case's first position in the input."""
    import numpy as np
    import pandas as pd

    pdf = pdf.sort_values(SEQ, kind="stable")
    agg = CaseAggregator(list(model.classes), decay)
    proba = pdf[probability_names(model.classes)].to_numpy(dtype=np.float32)
    # pandas >= 3 hands Spark's null strings over as NaN, not None: map them back.
    reasons = ["" if pd.isna(r) else str(r) for r in pdf["review_reason"]]
    times = [None if pd.isna(t) else str(t) for t in pdf[TIME]] if has_time else None
    agg.add(pdf[CASE].tolist(), proba, reasons, times)
    table = agg.result(model)  # a cases.CaseModel: .labels and .threshold
    seq = pdf[SEQ].to_numpy(dtype="int64")
    return table.rename(columns={"case": CASE}).assign(**{SEQ: seq[agg.first_notes()]})


# --- the whole job --------------------------------------------------------------------------------------
def run_score_spark(
    input_path: str | Path,
    output_path: str | Path,
    model: str | None = None,
    text_column: str | None = None,
    id_columns: list[str] | None = None,
    case_column: str | None = None,
    time_column: str | None = None,
    spark_master: str | None = "local[2]",
    partitions: int | None = None,
    encoding: str | None = None,
    strategy: bool = True,
    overwrite: bool = False,
    config: ScoreConfig | None = None,
    tracking_uri: str | None = None,
    mask_output: bool = False,
    sep: str | None = None,
    formula_guard: bool = True,
) -> SparkScoreSummary:
    """``borrower-typing score --engine spark``: read, score, write (and the per-case table), on Spark.

    Same columns and values as ``batch.run_score``; rows come out in input order. ``spark_master`` is used
    only when no session is running and no master is configured (see ``spark_io.get_spark``).
    ``partitions``: how many tasks score in parallel (default: the session's default parallelism, or the
    input's partition count if larger). Scored notes are persisted (memory, then disk) so the model runs once
    per note even though the outputs and the summary take several Spark jobs. ``sep``: the CSV delimiter
    (default: from a local file's header line, see ``spark_io.read_input``). ``formula_guard``: as the local
    engine's, for CSV outputs.
    """
    with quiet_pandas_warning():
        return _run(
            input_path, output_path, model, text_column, id_columns, case_column, time_column, spark_master,
            partitions, encoding, strategy, overwrite, config or ScoreConfig(), tracking_uri, mask_output, sep,
            formula_guard,
        )  # fmt: skip


def _run(
    input_path: str | Path,
    output_path: str | Path,
    model: str | None,
    text_column: str | None,
    id_columns: list[str] | None,
    case_column: str | None,
    time_column: str | None,
    spark_master: str | None,
    partitions: int | None,
    encoding: str | None,
    strategy: bool,
    overwrite: bool,
    cfg: ScoreConfig,
    tracking_uri: str | None,
    mask_output: bool = False,
    sep: str | None = None,
    formula_guard: bool = True,
) -> SparkScoreSummary:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    started = time.perf_counter()
    source, target = str(input_path), str(output_path)
    check_output(target)
    spark = get_spark(spark_master)
    cases_target = cases_location(target) if case_column else None
    check_overwrite((target, cases_target), overwrite, exists=lambda loc: output_exists(spark, loc))
    sdf = read_input(spark, source, encoding, sep)
    columns = sdf.columns
    text_column = pick_text_column(columns, text_column, [cfg.text_column, *cfg.text_column_fallbacks], source)
    check_columns(columns, required_columns(None, id_columns, case_column, time_column), source)
    kept = columns if id_columns is None else kept_columns(id_columns)
    spark_model = load_spark_model(model, tracking_uri, need_probabilities=bool(case_column))

    sdf = sdf.withColumn(SEQ, F.monotonically_increasing_id())  # input order, before any shuffle
    extra = [SEQ]
    if case_column:
        sdf = sdf.withColumn(CASE, F.col(f"`{case_column}`"))
        extra.append(CASE)
        if time_column:
            sdf = sdf.withColumn(TIME, F.col(f"`{time_column}`"))
            extra.append(TIME)
    n = partitions or max(spark.sparkContext.defaultParallelism, sdf.rdd.getNumPartitions())
    sdf = sdf.repartition(n) if partitions or n > sdf.rdd.getNumPartitions() else sdf
    # Cached without the strategy text (about 1 kB a row): it is joined at the write.
    scored = _predict(sdf, spark_model, text_column, [*kept, *extra], bool(case_column), strategy, tracking_uri)
    scored = scored.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = scored.groupBy("type", "review_reason").count().collect()
        rows = sum(r["count"] for r in counts)
        if rows == 0:
            raise DataError(f"{source}: no rows to score")
        output_columns = [c for c in scored.columns if c not in extra and not c.startswith("p_")]
        notes = scored.select(*[F.col(f"`{c}`") for c in [*output_columns, SEQ]])
        notes = with_strategy(notes, spark_model) if strategy else notes
        if mask_output and text_column in output_columns:  # --mask-output: the masked note, not the raw one
            notes = notes.withColumn(text_column, F.udf(mask_pii, "string")(F.col(f"`{text_column}`")))
        write_output(spark, notes, target, overwrite, order_column=SEQ, partitions=n, formula_guard=formula_guard)
        # input/output stay strings: Path would fold hdfs:// and s3a:// into one slash.
        summary = SparkScoreSummary(source, target, master=spark.sparkContext.master, partitions=n)  # type: ignore[arg-type]
        summary.rows = rows
        for r in counts:
            if r["review_reason"]:
                summary.review_counts[r["review_reason"]] += r["count"]
            else:  # the type counts leave review rows out, as locally
                summary.type_counts[r["type"]] += r["count"]
        if case_column and cases_target:
            time_key = TIME if time_column else None
            buckets = max(4 * n, -(-rows // 200_000))  # at most about 200,000 notes in one pandas group
            table = _case_rows(scored, spark_model, CASE, time_key, SEQ, cfg.recency_decay, strategy, n, buckets)
            table = table.withColumnRenamed(CASE, case_column).persist(StorageLevel.MEMORY_AND_DISK)
            try:
                write_output(
                    spark, table, cases_target, overwrite, order_column=SEQ, partitions=n, formula_guard=formula_guard
                )
                summary.cases_output, summary.cases = cases_target, table.count()  # type: ignore[assignment]
            finally:
                table.unpersist()
    finally:
        scored.unpersist()
        cleanup(spark_model)
    summary.seconds = time.perf_counter() - started
    return summary

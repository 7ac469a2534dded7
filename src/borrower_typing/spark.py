"""Scoring exports on Spark: the registered model runs inside MLflow's Spark UDF, Spark does the rest.

Why this shape: ``mlflow.pyfunc.spark_udf`` runs the same pyfunc that ``mlflow models serve`` answers with
(``serving.TypingPyfunc``), so there is no scoring code of ours on Spark that could drift from the local
engine. Around the UDF only two things happen, both with Spark itself:

- the strategy text (about 1 kB, one of ten) is joined from a broadcast labels table instead of being
  produced and shipped by the UDF for every row, with the local rule: a note with no basis for typing
  (``model.NO_BASIS_REASONS``) gets the ``none`` guidance, not its guessed type's playbook;
- per-case aggregation is a group-by whose function is ``batch.CaseAggregator`` itself (``applyInPandas``
  over buckets of whole cases), fed the per-note class probabilities (pyfunc param ``include_probabilities``),
  so the rule is the local engine's by construction.

pyspark is imported inside functions: the package works without the ``spark`` extra.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .batch import CaseAggregator, ScoreSummary, pick_text_column
from .data import DataError
from .labels import NONE, TYPES, LabelSet, load_labels
from .model import NO_BASIS_REASONS

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

NOTE_COLUMNS = ("type", "type_zh", "confidence", "needs_review", "review_reason", "alternatives", "evidence")
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
SPARK_CHARSETS = {"utf8", "utf16", "utf16be", "utf16le", "utf32", "iso88591", "usascii"}
MODEL_URI_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:/")
PROBABILITIES_PARAM = "include_probabilities"
# Internal columns: input order, case key, note time, group of cases.
SEQ, CASE, TIME, BUCKET = "_bt_seq", "_bt_case", "_bt_time", "_bt_bucket"


@dataclass(frozen=True)
class SparkModel:
    """What the driver needs besides the UDF: the URI handed to ``spark_udf`` and the model's classes,
    labels and review threshold (small, picklable: the case aggregation ships it to the executors)."""

    uri: str
    classes: tuple[str, ...]
    labels: LabelSet
    threshold: float
    params: frozenset[str]

    @property
    def supports_probabilities(self) -> bool:
        return PROBABILITIES_PARAM in self.params


@dataclass
class SparkScoreSummary(ScoreSummary):
    """``ScoreSummary`` plus where it ran (``console.render_summary`` prints either)."""

    master: str = ""
    partitions: int = 0


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ImportError("the spark engine needs pyspark: pip install 'borrower-typing[spark]'") from exc
    # PySpark 4.x warns on every pandas UDF that pandas >= 3 is "not fully supported"; docs/spark.md says
    # what was checked. Silenced here so a run's output is its summary.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def get_spark(master: str | None = None, app_name: str = "borrower-typing") -> SparkSession:
    """The running session if there is one (a user's job, ``spark-submit``), else a new one.

    ``master`` applies only to a new session and only when no master is configured already
    (``spark-submit --master`` wins). For ``local[N]`` the Python workers use this interpreter, so they see
    the same installed packages as the driver.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    if master and not _master_configured():
        builder = builder.master(master)
        if master.startswith("local"):
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return builder.getOrCreate()


def _master_configured() -> bool:
    """True in a driver started by ``spark-submit`` (or the ``pyspark`` shell): it always has a master, and
    the Python process attaches to that JVM through ``PYSPARK_GATEWAY_PORT``."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


# --- the model ------------------------------------------------------------------------------------------
def load_spark_model(
    model: str | Path | None = None, tracking_uri: str | None = None, need_probabilities: bool = False
) -> SparkModel:
    """Resolve ``model`` to a pyfunc model URI for ``spark_udf`` plus the metadata the driver needs.

    Every MLflow model folder is checked against its SHA-256 manifest first (``manifest.ManifestError``
    otherwise): ``models:/…``, ``runs:/…`` are downloaded once, checked, and that copy goes to ``spark_udf``;
    an exported MLflow model folder (``models/borrower-typing``) is checked and used as it is. A bare bundle
    folder (what ``TypingModel.save`` writes), or a model logged before the ``include_probabilities`` param
    existed when probabilities are needed, is wrapped as a pyfunc model of the same bundle in a temporary folder
    (``wrap_bundle``): same weights, same numbers.
    """
    from .manifest import verify_manifest
    from .predict import default_model_location, resolve_model_path

    location = str(model or default_model_location())
    if location.startswith(MODEL_URI_SCHEMES):
        return _downloaded_model(location, tracking_uri, need_probabilities)
    bundle = resolve_model_path(location).resolve()
    root = Path(location).resolve()
    folder = next((d for d in (bundle, *bundle.parents) if (d / "MLmodel").is_file() and d.is_relative_to(root)), None)
    if folder is None:
        return _wrapped(bundle, reason=None)
    # MLflow will run what this folder's MLmodel names and import its code/: only a folder matching its manifest.
    verify_manifest(folder)
    return _from_folder(folder, bundle, need_probabilities)


def _from_folder(folder: Path, bundle: Path, need_probabilities: bool, download: Path | None = None) -> SparkModel:
    from mlflow.models import Model

    params = _param_names(Model.load(str(folder)).signature)
    if need_probabilities and PROBABILITIES_PARAM not in params:
        return _wrapped(bundle, reason=f"{folder} predates it", download=download)
    return _spark_model(str(folder), bundle, params)


def _downloaded_model(location: str, tracking_uri: str | None, need_probabilities: bool) -> SparkModel:
    """A registry model downloaded once and checked against its manifest; ``spark_udf`` gets that verified copy
    (removed by ``_cleanup``), never the URI it would fetch again itself."""
    from .manifest import verify_manifest
    from .model import find_bundle
    from .tracking import download_model, resolve_tracking_uri

    download = Path(tempfile.mkdtemp(prefix="borrower-typing-pyfunc-")) / "model"
    try:
        download.mkdir()
        folder = verify_manifest(download_model(resolve_tracking_uri(tracking_uri), location, download))
        return _from_folder(folder, find_bundle(folder), need_probabilities, download=download.parent)
    except BaseException:
        shutil.rmtree(download.parent, ignore_errors=True)
        raise


def _param_names(signature: Any) -> frozenset[str]:
    if signature is None or signature.params is None:
        return frozenset()
    return frozenset(p.name for p in signature.params.params)


def _spark_model(uri: str, bundle: Path, params: frozenset[str]) -> SparkModel:
    import json

    meta = json.loads((bundle / "meta.json").read_text(encoding="utf-8"))
    labels = load_labels(bundle / "labels.yaml")
    return SparkModel(uri, tuple(meta["classes"]), labels, float(meta.get("threshold", 0.0)), params)


def _wrapped(bundle: Path, reason: str | None, download: Path | None = None) -> SparkModel:
    from .model import find_bundle

    if reason:
        warnings.warn(
            f"the model's signature has no {PROBABILITIES_PARAM!r} param ({reason}); scoring through a pyfunc "
            "wrapper of the same bundle. Re-train to register a model that has it.",
            stacklevel=3,
        )
    folder = wrap_bundle(bundle, Path(tempfile.mkdtemp(prefix="borrower-typing-pyfunc-")) / "model")
    if download is not None:  # the wrapper holds a copy: drop the download
        shutil.rmtree(download, ignore_errors=True)
    return _spark_model(str(folder), find_bundle(folder), frozenset({"include_strategy", PROBABILITIES_PARAM}))


def wrap_bundle(bundle: str | Path, path: str | Path) -> Path:
    """Save ``bundle`` as an MLflow pyfunc model folder at ``path`` (loader ``borrower_typing.serving``, no
    code copy: workers import the installed package) whose signature declares both params."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    kinds = {"confidence": "double", "needs_review": "boolean"}
    signature = ModelSignature(
        inputs=Schema([ColSpec("string", "text")]),
        outputs=Schema([ColSpec(kinds.get(c, "string"), c) for c in (*NOTE_COLUMNS, "strategy")]),
        params=ParamSchema(
            [ParamSpec("include_strategy", "boolean", True), ParamSpec(PROBABILITIES_PARAM, "boolean", False)]
        ),
    )
    with warnings.catch_warnings():  # no input example on purpose: it would load the model once more
        warnings.filterwarnings("ignore", message=".*input example was not provided", category=UserWarning)
        mlflow.pyfunc.save_model(
            path=str(path),
            loader_module="borrower_typing.serving",
            data_path=str(bundle),
            signature=signature,
            pip_requirements=["borrower-typing"],
        )
    return Path(path)


# --- scoring --------------------------------------------------------------------------------------------
def note_schema(classes: tuple[str, ...] | list[str] = (), probabilities: bool = False) -> Any:
    """The UDF's struct: the prediction columns (strategy is joined later), plus ``p_<class>`` doubles."""
    from pyspark.sql.types import BooleanType, DoubleType, StringType, StructField, StructType

    kinds = {"confidence": DoubleType(), "needs_review": BooleanType()}
    fields = [StructField(c, kinds.get(c, StringType())) for c in NOTE_COLUMNS]
    if probabilities:
        fields += [StructField(f"p_{c}", DoubleType()) for c in classes]
    return StructType(fields)


def score_spark_frame(
    sdf: DataFrame,
    model_uri: str | Path | SparkModel | None,
    text_column: str = "催记内容",
    keep_columns: list[str] | None = None,
    strategy: bool = True,
    probabilities: bool = False,
) -> DataFrame:
    """``sdf``'s kept columns (all by default; clashing names get ``_input``) plus ``type, type_zh,
    confidence, needs_review, review_reason, alternatives, evidence`` (and ``strategy``; ``p_<class>`` with
    ``probabilities``), one row per input row, lazily: nothing runs until the caller's action.

    ``model_uri``: ``models:/…``, ``runs:/…``, a model folder, or a ``SparkModel`` from ``load_spark_model``.
    """
    _require_pyspark()
    given = isinstance(model_uri, SparkModel)
    model = model_uri if given else load_spark_model(model_uri, None, probabilities)
    try:
        out = _predict(sdf, model, text_column, keep_columns, probabilities, reserve_strategy=strategy)
    finally:
        if not given:
            _cleanup(model)  # spark_udf has taken its own copy of the model
    return with_strategy(out, model) if strategy else out


def _predict(
    sdf: DataFrame,
    model: SparkModel,
    text_column: str,
    keep_columns: list[str] | None,
    probabilities: bool,
    reserve_strategy: bool,
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
    udf = mlflow.pyfunc.spark_udf(
        sdf.sparkSession, model.uri, result_type=schema, env_manager="local", params=params or None
    )
    kept = list(sdf.columns if keep_columns is None else keep_columns)
    produced = {*NOTE_COLUMNS, *(["strategy"] if reserve_strategy else [])}
    if probabilities:
        produced |= {f"p_{c}" for c in model.classes}
    renamed = [F.col(f"`{c}`").alias(f"{c}_input" if c in produced else c) for c in kept]
    out = sdf.select(*renamed, udf(F.col(f"`{text_column}`").cast("string")).alias("_bt_pred"))
    return out.select(*[F.col(f"`{c}`") for c in out.columns if c != "_bt_pred"], "_bt_pred.*")


def with_strategy(scored: DataFrame, model: SparkModel) -> DataFrame:
    """``scored`` plus ``strategy`` after ``evidence``, joined from a broadcast ten-row labels table by the
    local rule (``TypingModel._strategy``): no basis for typing -> the ``none`` review guidance, not the
    guessed type's playbook. Cheap, so a cache of scores can leave the long text out until the write."""
    from pyspark.sql import functions as F

    columns = scored.columns
    labels = scored.sparkSession.createDataFrame(
        [(slug, model.labels.strategy_text(slug)) for slug in (*TYPES, NONE)], "_bt_key string, strategy string"
    )
    key = F.when(F.col("review_reason").isin(sorted(NO_BASIS_REASONS)), F.lit(NONE)).otherwise(F.col("type"))
    joined = scored.withColumn("_bt_key", key).join(F.broadcast(labels), "_bt_key", "left")
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
    """One row per case by ``batch.CaseAggregator``'s rule, as a Spark group-by.

    ``scored`` needs ``review_reason`` and the ``p_<class>`` columns (``score_spark_frame(...,
    probabilities=True)``). Notes are ordered by ``time_column`` (as text, like the local engine), then by
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
    _require_pyspark()
    from pyspark.sql import functions as F

    proba = [f"p_{c}" for c in model.classes]
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
    schema = (
        f"{CASE} string, notes long, notes_with_basis long, type string, type_zh string, confidence double, "
        f"needs_review boolean, review_reason string, alternatives string, strategy string, {SEQ} long"
    )
    has_time = time_column is not None

    def combine(pdf: pd.DataFrame) -> pd.DataFrame:
        return _combine_cases(pdf, model, decay, has_time)

    grouped = frame.repartition(n, BUCKET).groupBy(BUCKET)
    table = grouped.applyInPandas(combine, schema).withColumnRenamed(CASE, case_column)
    return table if strategy else table.drop("strategy")


def _combine_cases(pdf: pd.DataFrame, model: SparkModel, decay: float, has_time: bool) -> pd.DataFrame:
    """Whole cases through ``CaseAggregator`` exactly as ``batch.score_file`` feeds it: input order, float32
    probabilities, review reasons, times as text or None; plus each case's first position in the input."""
    import numpy as np
    import pandas as pd

    pdf = pdf.sort_values(SEQ, kind="stable")
    agg = CaseAggregator(list(model.classes), decay)
    proba = pdf[[f"p_{c}" for c in model.classes]].to_numpy(dtype=np.float32)
    # pandas >= 3 hands Spark's null strings over as NaN, not None: map them back.
    reasons = ["" if pd.isna(r) else str(r) for r in pdf["review_reason"]]
    times = [None if pd.isna(t) else str(t) for t in pdf[TIME]] if has_time else None
    agg.add(pdf[CASE].tolist(), proba, reasons, times)
    table = agg.result(model)  # duck-typed: uses .labels and .threshold only
    first = pdf.groupby(CASE, sort=False)[SEQ].min()
    return table.rename(columns={"case": CASE}).assign(**{SEQ: table["case"].map(first).astype("int64")})


# --- files and tables -----------------------------------------------------------------------------------
def _suffix(location: str) -> str:
    return PurePosixPath(location.rstrip("/")).suffix.lower()


def _is_table_name(location: str) -> bool:
    """``db.table`` or ``table``: no path separator, no scheme, no file format suffix, not an existing path."""
    suffix = _suffix(location)
    known = CSV_SUFFIXES | PARQUET_SUFFIXES | JSON_SUFFIXES | {".xlsx"}
    return not any(ch in location for ch in "/\\:") and suffix not in known and not Path(location).exists()


def _java_charset(encoding: str) -> str:
    name = encoding.lower().replace("_", "-")
    return "UTF-8" if name in {"utf-8-sig", "utf8-sig", "utf8"} else encoding


def read_input(spark: SparkSession, location: str, encoding: str | None = None) -> DataFrame:
    """A file, a folder of files or a table, read by Spark. CSV: header row, quoted fields may span lines,
    ``""`` escapes a quote, empty cells are null (as in the local engine); the encoding is ``encoding``, else
    detected for a local file (UTF-8 or GB18030), else UTF-8."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    from .data import _csv_sep, detect_encoding

    if _is_table_name(location):
        return spark.table(location)
    suffix = _suffix(location)
    local = Path(location)
    if not suffix and local.is_dir():  # a folder Spark wrote: take the format of its part files
        parts = [p.suffix.lower() for p in local.iterdir() if p.is_file() and not p.name.startswith(("_", "."))]
        suffix = next((s for s in parts if s in CSV_SUFFIXES | PARQUET_SUFFIXES | JSON_SUFFIXES), "")
    try:
        if suffix in PARQUET_SUFFIXES:
            return spark.read.parquet(location)
        if suffix in JSON_SUFFIXES:
            return spark.read.json(location, encoding=_java_charset(encoding or "UTF-8"))
        if suffix not in CSV_SUFFIXES:
            raise DataError(f"{location}: the spark engine reads .csv/.tsv/.txt, .parquet, .jsonl or a table name")
        enc = encoding or (detect_encoding(local) if local.is_file() else "utf-8")
        if _java_charset(enc).lower().replace("-", "") not in SPARK_CHARSETS:
            # Spark 4 accepts only the UTF/ISO-8859-1/ASCII family unless told to use the JDK's charsets.
            spark.conf.set("spark.sql.legacy.javaCharsets", "true")
        sep = "\t" if suffix == ".tsv" else (_csv_sep(local, enc) if local.is_file() else ",")
        sdf = spark.read.csv(
            location,
            header=True,
            sep=sep,
            encoding=_java_charset(enc),
            multiLine=True,
            quote='"',
            escape='"',
            inferSchema=False,
        )
    except AnalysisException as exc:
        raise DataError(f"{location}: {str(exc).splitlines()[0]}") from exc
    # pandas reads "" and an empty cell both as missing; Spark keeps a quoted "" as an empty string.
    # A BOM Spark left on the first header is dropped.
    return sdf.select(*[F.when(F.col(f"`{c}`") != "", F.col(f"`{c}`")).alias(c.lstrip("\ufeff")) for c in sdf.columns])


def cases_location(location: str) -> str:
    """``scored.parquet`` -> ``scored.cases.parquet`` (as the local engine); a table ``t`` -> ``t_cases``."""
    if _is_table_name(location):
        return f"{location}_cases"
    slash = "/" if location.endswith("/") else ""
    base = location.rstrip("/")
    stem, suffix = os.path.splitext(base)
    return f"{stem}.cases{suffix}{slash}"


def _hadoop_path(spark: SparkSession, location: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(location)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _check_output(location: str) -> None:
    """Refuse an output format before scoring, not after."""
    if not _is_table_name(location) and _suffix(location) not in PARQUET_SUFFIXES | {".csv"}:
        raise DataError(f"{location}: the spark engine writes .parquet, .csv, a .csv/ folder or a table name")


def output_exists(spark: SparkSession, location: str) -> bool:
    if _is_table_name(location):
        return spark.catalog.tableExists(location)
    fs, path = _hadoop_path(spark, location)
    return bool(fs.exists(path))


def write_output(
    spark: SparkSession,
    sdf: DataFrame,
    location: str,
    overwrite: bool = False,
    order_column: str | None = None,
    partitions: int | None = None,
) -> None:
    """Write with Spark's writers; the format comes from ``location``:

    - ``*.parquet`` (or ``.pq``): a Parquet folder as Spark writes it (one part file per partition);
    - ``*.csv``: ONE CSV file at exactly that path (one task writes it into a hidden folder next to it,
      then the part file is copied to the path after a BOM), UTF-8 with BOM like the local engine;
    - ``*.csv/`` (trailing slash): a CSV folder as Spark writes it, for outputs too big for one file;
    - a name without suffix or path: a table (``saveAsTable``).

    With ``order_column``, rows are written in its order (part files in order; the column is dropped).
    CSV is written as pandas writes it: header row, ``True``/``False``, ``confidence`` in plain decimals
    (not ``8.0E-4``), spaces kept, quotes doubled, nothing for missing.
    """
    mode = "overwrite" if overwrite else "errorifexists"
    suffix = _suffix(location)
    single = suffix == ".csv" and not location.endswith("/")
    if single:  # one task writes the one file; repartition(1), not coalesce(1), keeps the upstream parallel
        sdf = sdf.repartition(1)
        sdf = sdf.sortWithinPartitions(order_column).drop(order_column) if order_column else sdf
    elif order_column:
        n = partitions or spark.sparkContext.defaultParallelism
        sdf = sdf.repartitionByRange(n, order_column).sortWithinPartitions(order_column).drop(order_column)
    if _is_table_name(location):
        sdf.write.mode(mode).saveAsTable(location)
        return
    if suffix in PARQUET_SUFFIXES:
        sdf.write.mode(mode).parquet(location)
        return
    if suffix != ".csv":
        raise DataError(f"{location}: the spark engine writes .parquet, .csv, a .csv/ folder or a table name")
    sdf = sdf.select(*[_as_pandas_writes(sdf[f"`{f.name}`"], f) for f in sdf.schema.fields])
    options = {
        "header": True,
        "quote": '"',
        "escape": '"',
        "emptyValue": "",
        "encoding": "UTF-8",
        "ignoreLeadingWhiteSpace": False,
        "ignoreTrailingWhiteSpace": False,
    }
    if not single:
        sdf.write.mode(mode).options(**options).csv(location)
        return
    _write_single_csv(spark, sdf, location, options, overwrite)


def _as_pandas_writes(column: Any, field: Any) -> Any:
    """Booleans as ``True``/``False``; ``confidence`` (4 decimals) as Python prints it: ``0.0008``, ``1.0``."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, DoubleType

    if isinstance(field.dataType, BooleanType):
        return F.when(column, "True").when(~column, "False").alias(field.name)
    if isinstance(field.dataType, DoubleType) and field.name == "confidence":
        text = F.regexp_replace(column.cast("decimal(38,10)").cast("string"), "0+$", "")
        return F.regexp_replace(text, r"\.$", ".0").alias(field.name)
    return column


def _write_single_csv(spark: SparkSession, sdf: DataFrame, location: str, options: dict, overwrite: bool) -> None:
    fs, target = _hadoop_path(spark, location)
    if fs.exists(target) and not overwrite:
        raise DataError(f"{location}: already exists; pass --overwrite to replace it")
    tmp_location = f"{target.getParent().toString()}/.{target.getName()}.partial"
    _, tmp = _hadoop_path(spark, tmp_location)
    sdf.write.mode("overwrite").options(**options).csv(tmp_location)
    parts = [s.getPath() for s in fs.listStatus(tmp) if s.getPath().getName().startswith("part-")]
    if len(parts) != 1:
        raise RuntimeError(f"{tmp_location}: expected one part file, found {len(parts)}")
    jvm = spark.sparkContext._jvm
    out = fs.create(target, True)
    out.write(bytearray(b"\xef\xbb\xbf"))  # BOM: Excel opens UTF-8 CSV correctly only with it
    jvm.org.apache.hadoop.io.IOUtils.copyBytes(fs.open(parts[0]), out, spark.sparkContext._jsc.hadoopConfiguration())
    fs.delete(tmp, True)


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
    config_path: str | Path | None = None,
    mask_output: bool = False,
) -> SparkScoreSummary:
    """``borrower-typing score --engine spark``: read, score, write (and the per-case table), on Spark.

    Same columns and values as ``batch.run_score``; rows come out in input order. ``spark_master`` is used
    only when no session is running and no master is configured (see ``get_spark``). ``partitions``: how
    many tasks score in parallel (default: the session's default parallelism, or the input's partition
    count if larger). Scored notes are persisted (memory, then disk) so the model runs once per note even
    though the outputs and the summary take several Spark jobs.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from .config import load_score_config

    started = time.perf_counter()
    cfg = load_score_config(config_path if config_path and Path(config_path).exists() else None)
    source, target = str(input_path), str(output_path)
    _check_output(target)
    spark = get_spark(spark_master)
    cases_target = cases_location(target) if case_column else None
    for location in (target, cases_target):
        if location and not overwrite and output_exists(spark, location):
            raise DataError(f"{location}: already exists; pass --overwrite to replace it")
    sdf = read_input(spark, source, encoding)
    columns = sdf.columns
    text_column = pick_text_column(columns, text_column, [cfg.text_column, *cfg.text_column_fallbacks], source)
    needed = [*(id_columns or []), *([case_column] if case_column else []), *([time_column] if time_column else [])]
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(f"{source}: no column {', '.join(map(repr, missing))}; columns are {columns}")
    kept = columns if id_columns is None else list(dict.fromkeys(id_columns))
    spark_model = load_spark_model(model, need_probabilities=bool(case_column))

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
    scored = _predict(sdf, spark_model, text_column, [*kept, *extra], bool(case_column), reserve_strategy=strategy)
    scored = scored.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = scored.groupBy("type", "review_reason").count().collect()
        rows = sum(r["count"] for r in counts)
        if rows == 0:
            raise DataError(f"{source}: no rows to score")
        output_columns = [c for c in scored.columns if c not in extra and not c.startswith("p_")]
        notes = scored.select(*[F.col(f"`{c}`") for c in [*output_columns, SEQ]])
        notes = with_strategy(notes, spark_model) if strategy else notes
        if mask_output and text_column in output_columns:
            from .text import mask_pii

            notes = notes.withColumn(text_column, F.udf(mask_pii, "string")(F.col(f"`{text_column}`")))
        write_output(spark, notes, target, overwrite, order_column=SEQ, partitions=n)
        # input/output stay strings: Path would fold hdfs:// and s3a:// into one slash.
        summary = SparkScoreSummary(source, target, master=spark.sparkContext.master, partitions=n)  # type: ignore[arg-type]
        summary.rows = rows
        for r in counts:
            summary.type_counts[r["type"]] += r["count"]
            if r["review_reason"]:
                summary.review_counts[r["review_reason"]] += r["count"]
        if case_column and cases_target:
            time_key = TIME if time_column else None
            buckets = max(4 * n, -(-rows // 200_000))  # at most about 200,000 notes in one pandas group
            table = _case_rows(scored, spark_model, CASE, time_key, SEQ, cfg.recency_decay, strategy, n, buckets)
            table = table.withColumnRenamed(CASE, case_column).persist(StorageLevel.MEMORY_AND_DISK)
            try:
                write_output(spark, table, cases_target, overwrite, order_column=SEQ, partitions=n)
                summary.cases_output, summary.cases = cases_target, table.count()  # type: ignore[assignment]
            finally:
                table.unpersist()
    finally:
        scored.unpersist()
        _cleanup(spark_model)
    summary.seconds = time.perf_counter() - started
    return summary


def _cleanup(model: SparkModel) -> None:
    """Remove a temporary pyfunc wrapper (``spark_udf`` has taken its own copy by now)."""
    folder = Path(model.uri)
    if folder.name == "model" and folder.parent.name.startswith("borrower-typing-pyfunc-"):
        shutil.rmtree(folder.parent, ignore_errors=True)


def benchmark_spark(
    input_csv: str | Path, model_dir: str | Path, master: str = "local[2]", partitions: int | None = None
) -> dict[str, Any]:
    """End to end on Spark (read CSV -> score -> write Parquet to a temporary folder): ``rows``, ``seconds``,
    ``notes_per_second``. ``session_seconds`` (JVM start-up) is apart, not in ``seconds``; a session started
    here is stopped at the end."""
    _require_pyspark()
    from pyspark.sql import SparkSession

    started_here = SparkSession.getActiveSession() is None
    t0 = time.perf_counter()
    spark = get_spark(master)
    session_seconds = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory(prefix="borrower-typing-bench-") as tmp:
            summary = run_score_spark(
                input_csv, f"{tmp}/scored.parquet", model=str(model_dir), spark_master=master, partitions=partitions
            )
        used_master = spark.sparkContext.master
    finally:
        if started_here:
            spark.stop()
    return {
        "engine": "spark",
        "master": used_master,
        "partitions": summary.partitions,
        "rows": summary.rows,
        "seconds": summary.seconds,
        "notes_per_second": summary.rows / summary.seconds if summary.seconds else 0.0,
        "session_seconds": session_seconds,
    }

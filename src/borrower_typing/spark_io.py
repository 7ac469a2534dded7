"""Spark's side of the house that is not scoring: the session, and reading and writing files and tables.

pyspark is imported inside functions: the package works without the ``spark`` extra.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from .errors import DataError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
JSON_SUFFIXES = {".jsonl", ".ndjson", ".json"}
BOM = b"\xef\xbb\xbf"  # Excel opens UTF-8 CSV correctly only with it
SPARK_CHARSETS = {"utf8", "utf16", "utf16be", "utf16le", "utf32", "iso88591", "usascii"}


def require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ImportError("the spark engine needs pyspark: pip install 'borrower-typing[spark]'") from exc


@contextlib.contextmanager
def quiet_pandas_warning() -> Iterator[None]:
    """PySpark 4.x warns on every pandas UDF that pandas >= 3 is "not fully supported"; docs/spark.md says
    what was checked. Silenced for the ``with`` block (and restored after) so a run's output is its summary."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


def get_spark(master: str | None = None, app_name: str = "borrower-typing") -> SparkSession:
    """The running session if there is one (a user's job, ``spark-submit``), else a new one.

    ``master`` applies only to a new session and only when no master is configured already
    (``spark-submit --master`` wins). For ``local[N]`` the Python workers use this interpreter (unless
    ``PYSPARK_PYTHON`` says otherwise), so they see the same installed packages as the driver.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    python = None
    if master and not _master_configured():
        builder = builder.master(master)
        if master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
            python = sys.executable
    with _environ("PYSPARK_PYTHON", python):
        return builder.getOrCreate()


@contextlib.contextmanager
def _environ(name: str, value: str | None) -> Iterator[None]:
    """``os.environ[name] = value`` for the ``with`` block only (None: unchanged). The SparkContext reads
    ``PYSPARK_PYTHON`` once, when it is created (the ``spark.pyspark.python`` setting does not reach the
    workers' interpreter in local mode), so the variable need not outlive the session's creation."""
    if value is None:
        yield
        return
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def _master_configured() -> bool:
    """True in a driver started by ``spark-submit`` (or the ``pyspark`` shell): it always has a master, and
    the Python process attaches to that JVM through ``PYSPARK_GATEWAY_PORT``."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


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


def read_input(spark: SparkSession, location: str, encoding: str | None = None, sep: str | None = None) -> DataFrame:
    """A file, a folder of files or a table, read by Spark. CSV: header row, quoted fields may span lines,
    ``""`` escapes a quote, empty cells are null (as in the local engine); the encoding is ``encoding``, else
    detected for a local file (UTF-8 or GB18030), else UTF-8; the delimiter is ``sep``, else chosen from a
    local file's header line as the local engine does, else ``,``."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    from .data import _csv_sep, detect_encoding  # pandas: only once a Spark job reads a file

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
        default = "\t" if suffix == ".tsv" else ","
        sep = _csv_sep(local, enc, sep) if local.is_file() or sep is not None else default
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


def check_output(location: str) -> None:
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
    formula_guard: bool = True,
) -> None:
    """Write with Spark's writers; the format comes from ``location``:

    - ``*.parquet`` (or ``.pq``): a Parquet folder as Spark writes it (one part file per partition);
    - ``*.csv``: ONE CSV file at exactly that path (one task writes it into a hidden folder next to it,
      then the part file is copied to the path after a BOM), UTF-8 with BOM like the local engine; on a
      local file system through ``tables.atomic`` as the local engine's outputs;
    - ``*.csv/`` (trailing slash): a CSV folder as Spark writes it, for outputs too big for one file;
    - a name without suffix or path: a table (``saveAsTable``).

    With ``order_column``, rows are written in its order (part files in order; the column is dropped).
    CSV is written as pandas writes it: header row, ``True``/``False``, ``confidence`` in plain decimals
    (not ``8.0E-4``), spaces kept, quotes doubled, nothing for missing; with ``formula_guard``, a text cell
    or column name a spreadsheet would run gets the local engine's leading ``'`` (``tables.writers``).
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
    if formula_guard:
        sdf = sdf.select(*[_guarded(sdf[f"`{f.name}`"], f) for f in sdf.schema.fields])
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
    """Booleans as ``True``/``False``; the 4-decimal probabilities as Python prints them: ``0.0008``, ``1.0``;
    ``alternatives`` as the local engine's compact JSON string (``schema.alternatives_json``)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, BooleanType, DoubleType

    if isinstance(field.dataType, BooleanType):
        return F.when(column, "True").when(~column, "False").alias(field.name)
    if isinstance(field.dataType, DoubleType) and field.name in _PLAIN_DECIMALS:
        return _plain_decimal(column).alias(field.name)
    if isinstance(field.dataType, ArrayType) and field.name == "alternatives":
        item = lambda a: F.format_string('{"type":"%s","confidence":%s}', a["type"], _plain_decimal(a["confidence"]))  # noqa: E731
        return F.concat(F.lit("["), F.array_join(F.transform(column, item), ","), F.lit("]")).alias(field.name)
    return column


_PLAIN_DECIMALS = ("confidence", "best_guess_confidence")


def _guarded(column: Any, field: Any) -> Any:
    """``tables.writers.guard_formula`` as a Spark expression, derived from the same rule: ``'`` before a text
    cell starting with one of ``FORMULA_START`` unless it is a plain number; the name guarded as well. Java's
    ``(?U)`` makes ``\\d`` any Unicode digit as Python's is, and ``\\z`` ends at the very end as
    ``fullmatch`` does (Java's ``$`` also matches before a final line break)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    from .tables.writers import FORMULA_START, PLAIN_NUMBER_RE, guard_formula

    name = str(guard_formula(field.name))
    if not isinstance(field.dataType, StringType):
        return column.alias(name)
    starts = "^[" + "".join("\\" + c if c in "-]\\^" else c for c in FORMULA_START) + "]"
    plain = "(?U)^(?:" + PLAIN_NUMBER_RE.pattern + ")\\z"
    risky = column.rlike(starts) & ~column.rlike(plain)
    return F.when(risky, F.concat(F.lit("'"), column)).otherwise(column).alias(name)


def _plain_decimal(column: Any) -> Any:
    from pyspark.sql import functions as F

    text = F.regexp_replace(column.cast("decimal(38,10)").cast("string"), "0+$", "")
    return F.regexp_replace(text, r"\.$", ".0")


def _write_single_csv(spark: SparkSession, sdf: DataFrame, location: str, options: dict, overwrite: bool) -> None:
    fs, target = _hadoop_path(spark, location)
    if fs.getUri().getScheme() == "file":
        _write_single_local_csv(sdf, Path(fs.makeQualified(target).toUri().getPath()), options, overwrite)
        return
    # another file system (HDFS, object stores): no exclusive create or no-replace rename to rely on
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
    out.write(bytearray(BOM))
    jvm.org.apache.hadoop.io.IOUtils.copyBytes(fs.open(parts[0]), out, spark.sparkContext._jsc.hadoopConfiguration())
    fs.delete(tmp, True)


def _write_single_local_csv(sdf: DataFrame, path: Path, options: dict, overwrite: bool) -> None:
    """A local file as the local engine writes one (``tables.atomic``): Spark's task writes into a hidden
    folder named after a unique temporary file, whose bytes then become the output, published without
    replacing a file another run wrote meanwhile (unless ``overwrite``). Every failure removes both."""
    from .tables.atomic import AtomicFile
    from .tables.formats import os_error_line

    out = AtomicFile(path, overwrite=overwrite)
    parts_dir = out.tmp.with_name(f"{out.tmp.name}.d")
    try:
        sdf.write.mode("errorifexists").options(**options).csv(parts_dir.as_uri())
        parts = sorted(parts_dir.glob("part-*"))
        if len(parts) != 1:
            raise RuntimeError(f"{parts_dir}: expected one part file, found {len(parts)}")
        out.handle.write(BOM)
        with parts[0].open("rb") as part:
            shutil.copyfileobj(part, out.handle, 1 << 20)
    except OSError as exc:  # no space, no permission: one line naming the output
        out.discard()
        raise DataError(os_error_line(path, exc, "write")) from exc
    except BaseException:
        out.discard()
        raise
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    out.publish()

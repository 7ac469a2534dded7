"""Benchmark-only helpers around the package: an MLflow model folder written without a tracking store, and
the Spark engine end to end."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from borrower_typing.manifest import write_manifest
from borrower_typing.tracking import pyfunc_spec


def save_model(model: Any, path: str | Path) -> Path:
    """The same MLflow model folder as a logged one, manifest included, written straight to ``path`` (no
    tracking store)."""
    import mlflow

    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = model.save(Path(tmp) / "bundle")
        mlflow.pyfunc.save_model(path=str(path), **pyfunc_spec(model, bundle))
    write_manifest(path)  # what registration and export give a folder: `serve` and Spark check it
    return path


def benchmark_spark(
    input_csv: str | Path, model_dir: str | Path, master: str = "local[2]", partitions: int | None = None
) -> dict[str, Any]:
    """End to end on Spark (read CSV -> score -> write Parquet to a temporary folder): ``rows``, ``seconds``,
    ``notes_per_second``. ``session_seconds`` (JVM start-up) is apart, not in ``seconds``; a session started
    here is stopped at the end."""
    from pyspark.sql import SparkSession

    from borrower_typing.spark import run_score_spark
    from borrower_typing.spark_io import get_spark

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

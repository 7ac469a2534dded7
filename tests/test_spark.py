"""The spark engine (``mlflow.pyfunc.spark_udf`` on ``local[2]``) answers exactly as the local engine: the
bundled GB18030 sample export scored both ways, note for note and case for case, cell for cell.

One Spark session for the module; the spark run happens once (through the CLI) and every check reads it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from borrower_typing import spark as bspark
from borrower_typing.batch import score_file
from borrower_typing.cli import app
from borrower_typing.data import DataError, read_table
from borrower_typing.manifest import ManifestError, write_manifest
from tests.conftest import SAMPLE_CSV

pytest.importorskip("pyspark", reason="the spark engine needs pyspark: pip install -e '.[spark]'")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("the spark engine needs Java 17+: no java on PATH and no JAVA_HOME", allow_module_level=True)

CASE, TIME, TEXT = "案件编号", "催收时间", "催记内容"


@pytest.fixture(scope="module")
def spark():
    session = bspark.get_spark("local[2]", app_name="borrower-typing-tests")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def outputs(spark, model_dir, tmp_path_factory):
    """The sample scored by the local engine and by the spark engine (CLI), both as CSV with cases."""
    tmp = tmp_path_factory.mktemp("spark")
    score_file(model_dir, SAMPLE_CSV, tmp / "local.csv", text_fallbacks=[TEXT], case_column=CASE, time_column=TIME)
    args = ["score", str(SAMPLE_CSV), "-o", str(tmp / "spark.csv"), "--model", str(model_dir)]
    args += ["--engine", "spark", "--spark-master", "local[2]", "--case-column", CASE, "--time-column", TIME, "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return tmp


@pytest.mark.slow
def test_every_note_gets_the_local_engines_type_and_confidence(outputs):
    local, spark = read_table(outputs / "local.csv"), read_table(outputs / "spark.csv")
    assert len(spark) == len(local) == len(read_table(SAMPLE_CSV)) == 300
    assert list(spark.columns) == list(local.columns)
    assert spark[CASE].tolist() == local[CASE].tolist()  # rows in = rows out, in input order
    assert spark["type"].tolist() == local["type"].tolist()
    diff = (spark["confidence"].astype(float) - local["confidence"].astype(float)).abs()
    assert diff.max() <= 1e-9
    for column in (
        "needs_review",
        "review_reason",
        "best_guess",
        "best_guess_confidence",
        "evidence",
        "alternatives",
        "strategy",
    ):
        assert spark[column].fillna("").tolist() == local[column].fillna("").tolist(), column


@pytest.mark.slow
def test_spark_rows_and_cases_follow_the_review_contract(outputs, labels):
    from tests.conftest import check_review_contract

    check_review_contract(read_table(outputs / "spark.csv"), labels)
    cases = read_table(outputs / "spark.cases.csv")
    flagged = cases[cases["needs_review"] == "True"]
    assert len(flagged) and (flagged["type"] == "none").all() and (flagged["type_zh"] == "待人工复核").all()
    assert (flagged["strategy"] == labels.strategy_text("none")).all() and (flagged["best_guess"] != "none").all()


@pytest.mark.slow
def test_every_case_gets_the_local_engines_type_and_confidence(outputs):
    local, spark = read_table(outputs / "local.cases.csv"), read_table(outputs / "spark.cases.csv")
    assert len(spark) == len(local) == 70
    assert spark[CASE].tolist() == local[CASE].tolist()  # first-appearance order
    assert spark["type"].tolist() == local["type"].tolist()
    assert spark["notes"].tolist() == local["notes"].tolist()
    diff = (spark["confidence"].astype(float) - local["confidence"].astype(float)).abs()
    assert diff.max() <= 1e-9
    assert spark["review_reason"].fillna("").tolist() == local["review_reason"].fillna("").tolist()


@pytest.mark.slow
def test_single_csv_file_reads_back_as_the_local_engines_file(outputs):
    """Every cell of both files, as written (Spark's CSV writer ends lines with LF where pandas may use CRLF:
    the one difference, and no reader sees it)."""
    for name in ("{}.csv", "{}.cases.csv"):
        spark, local = outputs / name.format("spark"), outputs / name.format("local")
        assert spark.read_bytes()[:3] == b"\xef\xbb\xbf"  # UTF-8 with BOM, as the local engine writes
        pd.testing.assert_frame_equal(read_table(spark), read_table(local))
    assert not list(outputs.glob(".*partial*"))  # neither the temporary file nor Spark's working folder is left


@pytest.mark.slow
def test_library_in_a_users_own_job(spark, trained_model, model_dir):
    """``score_spark_frame`` on a user's DataFrame: predict_frame's columns, including the strategy join's
    rule (a note with no basis gets the ``none`` guidance, a typed note its own type's)."""
    notes = ["你去告啊我不怕", "客户哭诉被骗了，孩子还在住院", "关机", "", None, "13800000000", "好"]
    sdf = spark.createDataFrame([(i, n) for i, n in enumerate(notes)], "id long, `内容` string")
    out = bspark.score_spark_frame(sdf, str(model_dir), text_column="内容").orderBy("id").toPandas()
    expected = trained_model.predict_frame(pd.DataFrame({"内容": notes}), text_column="内容")
    assert list(out.columns) == ["id", *expected.columns]
    for column in ("type", "type_zh", "review_reason", "best_guess", "evidence", "strategy"):
        assert out[column].tolist() == expected[column].tolist(), column
    as_dicts = [[a.asDict() if hasattr(a, "asDict") else dict(a) for a in cell] for cell in out["alternatives"]]
    assert as_dicts == expected["alternatives"].tolist()  # an array of structs, not text
    assert out["type"].tolist()[2:5] == ["none"] * 3
    assert out["confidence"].tolist() == expected["confidence"].tolist()
    assert out["needs_review"].tolist() == expected["needs_review"].tolist()


@pytest.mark.slow
def test_parquet_folder_and_existing_output(spark, model_dir, tmp_path):
    out = tmp_path / "scored.parquet"
    summary = bspark.run_score_spark(SAMPLE_CSV, out, model=str(model_dir), id_columns=[CASE], strategy=False)
    frame = pd.read_parquet(out)
    assert summary.rows == len(frame) == 300 and out.is_dir()
    assert list(frame.columns) == [CASE, *bspark.NOTE_COLUMNS]
    assert frame[CASE].tolist() == read_table(SAMPLE_CSV)[CASE].tolist()
    with pytest.raises(DataError, match="already exists"):
        bspark.run_score_spark(SAMPLE_CSV, out, model=str(model_dir))


@pytest.mark.slow
def test_single_local_csv_is_published_without_replacing_a_file_written_meanwhile(spark, tmp_path, monkeypatch):
    from borrower_typing import spark_io

    sdf = spark.createDataFrame([(1, "答应明天还"), (2, "=1+1")], "id long, note string")
    out = tmp_path / "scored.csv"
    spark_io.write_output(spark, sdf, str(out), order_column="id")
    assert out.read_bytes().decode("utf-8") == "\ufeffnote\n答应明天还\n'=1+1\n"  # the formula guard, as locally
    with pytest.raises(DataError, match="already exists"):
        spark_io.write_output(spark, sdf, str(out))

    other = tmp_path / "raced.csv"
    copy = shutil.copyfileobj

    def another_run_publishes_first(src, dst, length=0):
        other.write_bytes(b"the other run's rows\n")
        copy(src, dst, length)

    monkeypatch.setattr(spark_io.shutil, "copyfileobj", another_run_publishes_first)
    with pytest.raises(DataError, match="another run wrote this file"):
        spark_io.write_output(spark, sdf, str(other))
    assert other.read_bytes() == b"the other run's rows\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raced.csv", "scored.csv"]  # no temporary file or folder


# Cells a spreadsheet would run, cells that only look like it, and plain numbers (never guarded).
RISKY = ["=1+1", "+8613800000000转", "-还款 下周", "@SUM(A1)", "\t=cmd", "\r=x", "-12.5", "+3", "-1e5", "-12\n",
         "-１２", "=", "答应明天还", "", None]  # fmt: skip


@pytest.mark.slow
def test_csv_cells_and_names_are_guarded_as_the_local_engine_guards_them(spark, tmp_path):
    from borrower_typing import spark_io
    from borrower_typing.tables.writers import guard_formula

    rows = [(i, v, v) for i, v in enumerate(RISKY)]
    sdf = spark.createDataFrame(rows, "id long, note string, `=name` string").select("note", "`=name`", "id")
    for guard in (True, False):
        out = tmp_path / f"guard-{guard}.csv"
        spark_io.write_output(spark, sdf, str(out), order_column="id", formula_guard=guard)
        back = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        expected = [("" if v is None else guard_formula(v) if guard else v) for v in RISKY]
        assert back.columns.tolist() == (["note", "'=name"] if guard else ["note", "=name"])
        assert back["note"].tolist() == expected, guard
        assert back["note"][0] == ("'=1+1" if guard else "=1+1") and back["note"][6] == "-12.5"


@pytest.mark.slow
def test_spark_csv_of_risky_notes_is_the_local_engines_file(spark, model_dir, tmp_path):
    """End to end through `score`: a note a spreadsheet would run comes out guarded by both engines alike, and
    `--no-formula-guard` (now an option of both) leaves it as written."""
    notes = [v for v in RISKY if v and "\r" not in v]
    pd.DataFrame({CASE: [f"=AJ{i}" for i in range(len(notes))], TEXT: notes}).to_csv(tmp_path / "in.csv", index=False)
    for extra in ([], ["--no-formula-guard"]):
        for engine in ("local", "spark"):
            args = ["score", str(tmp_path / "in.csv"), "-o", str(tmp_path / f"{engine}{len(extra)}.csv")]
            args += ["--model", str(model_dir), "--engine", engine, "-q", *extra]
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0, result.output
        local, spark_out = (read_table(tmp_path / f"{e}{len(extra)}.csv") for e in ("local", "spark"))
        pd.testing.assert_frame_equal(spark_out, local)
        assert (local[CASE].str.startswith("'=") if not extra else local[CASE].str.startswith("=")).all()


def test_output_locations():
    assert bspark.cases_location("out/scored.parquet") == "out/scored.cases.parquet"
    assert bspark.cases_location("hdfs://nn/x/scored.csv") == "hdfs://nn/x/scored.cases.csv"
    assert bspark.cases_location("scored.csv/") == "scored.cases.csv/"
    assert bspark.cases_location("ods.call_notes") == "ods.call_notes_cases"
    assert bspark._is_table_name("ods.call_notes") and bspark._is_table_name("notes")
    assert not bspark._is_table_name("data/x") and not bspark._is_table_name("x.csv")


@pytest.mark.slow
def test_registry_uri_is_scored_from_a_verified_copy(spark, trained_model, model_dir, tracking_uri, outputs, tmp_path):
    import mlflow

    from borrower_typing import tracking

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("borrower-typing")  # not an experiment id cached from another test's store
    with mlflow.start_run():
        info = tracking.log_model(mlflow, trained_model, model_dir, "borrower-typing", {})
    tracking.set_champion(tracking_uri, "borrower-typing", info.registered_model_version)
    uri = "models:/borrower-typing@champion"
    loaded = bspark.load_spark_model(uri)
    copy = Path(loaded.uri)
    assert (copy / "MANIFEST.sha256.json").is_file() and (copy / "MLmodel").is_file()
    bspark._cleanup(loaded)
    assert not copy.exists(), "the verified download is removed after scoring"
    out = tmp_path / "scored.parquet"
    bspark.run_score_spark(SAMPLE_CSV, out, model=uri, id_columns=[CASE], strategy=False)
    scored, local = pd.read_parquet(out), read_table(outputs / "local.csv")
    assert scored["type"].tolist() == local["type"].tolist()
    assert abs(scored["confidence"].to_numpy() - local["confidence"].astype(float).to_numpy()).max() <= 1e-9


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*input example was not provided")
def test_a_model_without_the_probabilities_param_is_wrapped_for_cases(model_dir, tmp_path):
    """A model logged before ``include_probabilities`` existed still aggregates cases: same bundle, new wrapper."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    old = ModelSignature(
        Schema([ColSpec("string", "text")]), params=ParamSchema([ParamSpec("include_strategy", "boolean", True)])
    )
    folder = tmp_path / "old"
    mlflow.pyfunc.save_model(
        str(folder), loader_module="borrower_typing.serving", data_path=str(model_dir), signature=old
    )
    with pytest.raises(ManifestError, match="no MANIFEST"):
        bspark.load_spark_model(folder)
    write_manifest(folder)
    assert bspark.load_spark_model(folder).uri == str(folder.resolve())
    with pytest.warns(UserWarning, match="include_probabilities"):
        wrapped = bspark.load_spark_model(folder, need_probabilities=True)
    assert wrapped.supports_probabilities and wrapped.uri != str(folder.resolve())
    bspark._cleanup(wrapped)

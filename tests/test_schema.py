import json

import pandas as pd
import pytest

from borrower_typing.data import DataError
from borrower_typing.schema import (
    CASE_COLUMNS,
    NOTE_COLUMNS,
    STRATEGY,
    cases_output_path,
    check_columns,
    check_overwrite,
    flatten_for,
    join_output,
    kept_columns,
    mlflow_signature,
    note_names,
    output_name,
    pick_text_column,
    predictions_frame,
    probability_names,
    required_columns,
)


def test_note_columns_are_defined_once_and_typed():
    assert note_names(False) == [
        "type",
        "type_zh",
        "confidence",
        "needs_review",
        "review_reason",
        "best_guess",
        "best_guess_confidence",
        "alternatives",
        "evidence",
    ]
    assert note_names() == [*note_names(False), "strategy"]
    kinds = {c.name: c.kind for c in (*NOTE_COLUMNS, STRATEGY)}
    assert kinds["confidence"] == "double" and kinds["needs_review"] == "boolean" and kinds["type"] == "string"
    assert kinds["best_guess_confidence"] == "double" and kinds["alternatives"] == "alternatives"
    # the case rows carry the same contract columns (no evidence: a case has no one text)
    assert [c.name for c in CASE_COLUMNS][3:] == [n for n in note_names(False) if n != "evidence"]


def test_mlflow_signature_is_derived_from_the_columns():
    sig = mlflow_signature()
    assert sig.outputs.input_names() == note_names()
    alternatives = next(c for c in sig.outputs.inputs if c.name == "alternatives")
    assert alternatives.type.to_dict()["type"] == "array"
    assert {p.name for p in alternatives.type.dtype.properties} == {"type", "confidence"}
    assert [p.name for p in sig.params.params] == ["include_strategy", "include_probabilities"]
    assert sig.inputs.input_names() == ["text"]


def test_spark_schema_is_derived_from_the_columns():
    pytest.importorskip("pyspark")
    from borrower_typing.schema import spark_schema

    schema = spark_schema(["victim", "none"], probabilities=True)
    assert schema.fieldNames() == [*note_names(False), *probability_names(["victim", "none"])]
    assert schema["confidence"].dataType.typeName() == "double"
    assert schema["alternatives"].dataType.simpleString() == "array<struct<type:string,confidence:double>>"


def test_pick_text_column():
    assert pick_text_column(["a", "备注"], None, ["催记内容", "备注"], "f.csv") == "备注"
    assert pick_text_column(["a", "备注"], "a", ["备注"], "f.csv") == "a"
    with pytest.raises(DataError, match=r"f\.csv: no text column 'b'"):
        pick_text_column(["a"], "b", [], "f.csv")
    with pytest.raises(DataError, match=r"pass --text-column"):
        pick_text_column(["a"], None, ["text"], "f.csv")


def test_required_and_kept_columns():
    assert required_columns("t", ["id", "id"], "case", "when") == ["t", "id", "id", "case", "when"]
    assert kept_columns(["id", "x", "id"]) == ["id", "x"] and kept_columns(None) is None
    with pytest.raises(DataError, match="no column 'case'"):
        check_columns(["t"], ["t", "case"], "in.csv")


def test_clash_rule_renames_the_input_column():
    assert output_name("type", note_names()) == "type_input"
    assert output_name("id", note_names()) == "id"
    kept = pd.DataFrame({"id": [1], "type": ["mine"]}, index=[7])
    result = pd.DataFrame({"type": ["victim"]})
    out = join_output(kept, result)
    assert list(out.columns) == ["id", "type_input", "type"] and out.index.tolist() == [7]
    assert out.loc[7, "type_input"] == "mine"


def test_overwrite_refusal(tmp_path):
    target = tmp_path / "out.csv"
    check_overwrite([target, None], overwrite=False)
    target.write_text("x")
    with pytest.raises(DataError, match="already exists; pass --overwrite"):
        check_overwrite([target], overwrite=False)
    check_overwrite([target], overwrite=True)
    assert target.read_text() == "x"  # checking never touches the file


def test_cases_output_path(tmp_path):
    assert cases_output_path(tmp_path / "s.xlsx") == tmp_path / "s.cases.xlsx"


def test_predictions_frame_columns(trained_model):
    preds = trained_model.predict(["客户称下周五一定还", ""])
    frame = predictions_frame(preds)
    assert list(frame.columns) == note_names()
    assert frame.loc[1, "review_reason"] == "empty" and frame.loc[0, "review_reason"] in ("", "low_confidence")
    assert frame.loc[1, "type"] == "none" and frame.loc[1, "best_guess"] != "none"


def test_alternatives_are_a_list_and_a_json_string_only_in_flat_formats(trained_model):
    frame = predictions_frame(trained_model.predict(["客户称下周五一定还"]))
    assert isinstance(frame.loc[0, "alternatives"], list)
    for fmt in ("jsonl", "parquet"):
        assert flatten_for(frame, fmt)["alternatives"].tolist() == frame["alternatives"].tolist()
    for fmt in ("csv", "xlsx"):
        cell = flatten_for(frame, fmt).loc[0, "alternatives"]
        assert json.loads(cell) == frame.loc[0, "alternatives"] and " " not in cell
    assert isinstance(frame.loc[0, "alternatives"], list)  # flattening copies; the frame is left as it was


def test_prediction_fields_follow_the_output_columns():
    from dataclasses import fields

    from borrower_typing.model import Prediction
    from borrower_typing.schema import note_names

    assert [f.name for f in fields(Prediction) if f.name not in ("probabilities", "vocab_share")] == note_names()

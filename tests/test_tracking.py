import mlflow

from borrower_typing import tracking
from borrower_typing.config import resolve_tracking_uri


def test_tracking_uri_resolution(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == "sqlite:///mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///other.db")
    assert resolve_tracking_uri() == "sqlite:///other.db"
    assert resolve_tracking_uri("sqlite:///given.db") == "sqlite:///given.db"


def test_using_tracking_uri_restores_the_global_and_the_variable(tmp_path, monkeypatch):
    import os

    before = mlflow.get_tracking_uri()
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///given.db")
    env_before = os.environ["MLFLOW_TRACKING_URI"]
    with tracking.using_tracking_uri(uri) as ml:
        assert ml.get_tracking_uri() == uri
    assert os.environ["MLFLOW_TRACKING_URI"] == env_before
    monkeypatch.undo()
    assert mlflow.get_tracking_uri() == before


def test_flatten():
    assert tracking.flatten({"a": {"b": 1, "c": [1, 2]}, "d": "x"}) == {"a.b": 1, "a.c": "[1, 2]", "d": "x"}


def test_git_commit_never_fails(tmp_path):
    assert tracking.git_commit(tmp_path) == "unknown"


def test_pyfunc_spec_declares_the_schema_columns(trained_model, model_dir):
    spec = tracking.pyfunc_spec(trained_model, model_dir)
    assert spec["loader_module"] == "borrower_typing.serving"
    names = spec["signature"].outputs.input_names()
    assert names[:8] == ["type", "type_zh", "confidence", "needs_review", "review_reason", "alternatives",
                         "evidence", "strategy"]  # fmt: skip
    assert {p.name for p in spec["signature"].params.params} == {"include_strategy", "include_probabilities"}

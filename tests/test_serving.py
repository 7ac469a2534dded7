import pandas as pd

from borrower_typing.serving import TypingPyfunc, _load_pyfunc


def test_one_row_per_note_from_one_column_frame(model_dir):
    """A bare text pipeline would treat the single column as one sample; the wrapper maps it to notes."""
    pyfunc = _load_pyfunc(str(model_dir))
    frame = pd.DataFrame({"text": ["你去告啊我不怕", "客户哭诉被骗了", "关机"]})
    out = pyfunc.predict(frame)
    assert len(out) == 3
    assert out["type"].tolist()[:2] == ["confident", "victim"]
    assert out["needs_review"].tolist()[2]


def test_params_drop_strategy(trained_model):
    out = TypingPyfunc(trained_model).predict(pd.DataFrame({"note": ["你去告啊"]}), params={"include_strategy": False})
    assert "strategy" not in out.columns and len(out) == 1


def test_list_input(trained_model):
    assert len(TypingPyfunc(trained_model).predict(["a", "客户称明天还"])) == 2


def test_params_add_class_probabilities(trained_model):
    """What per-case aggregation on Spark combines: the local engine's probabilities, one column per class."""
    notes = ["你去告啊我不怕", "关机", ""]
    out = TypingPyfunc(trained_model).predict(pd.DataFrame({"text": notes}), params={"include_probabilities": True})
    columns = [f"p_{c}" for c in trained_model.classes_]
    assert list(out.columns[-len(columns) :]) == columns and len(out) == 3
    expected = [[p.probabilities[c] for c in trained_model.classes_] for p in trained_model.predict(notes)]
    assert out[columns].to_numpy().tolist() == expected
    assert not any(c.startswith("p_") for c in TypingPyfunc(trained_model).predict(notes).columns)


def test_the_served_model_follows_the_review_contract(model_dir, labels, tmp_path):
    """Through MLflow's own loader (what ``mlflow models serve`` and ``spark_udf`` call)."""
    import mlflow

    from borrower_typing.spark_model import wrap_bundle
    from tests.conftest import check_review_contract

    served = mlflow.pyfunc.load_model(str(wrap_bundle(model_dir, tmp_path / "model")))
    notes = ["你去告啊我不怕", "", "关机", "客户哭诉被骗了", "好"]
    out = served.predict(pd.DataFrame({"text": notes}))
    check_review_contract(out, labels)
    assert out["type"].tolist()[1:3] == ["none", "none"] and out["best_guess"].tolist()[0] == "confident"
    assert out["best_guess_confidence"].dtype == float
    assert all(isinstance(a, list) for a in out["alternatives"])

"""The array scorer must answer exactly as the fitted pipeline it was made from, and load without code."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from borrower_typing.config import TrainConfig
from borrower_typing.model import TypingModel
from borrower_typing.pipeline import build_pipeline
from borrower_typing.scorer import SCORER_FILE, LinearScorer, NotCompilable
from borrower_typing.text import normalize
from tests.conftest import SAMPLE_CSV

TRAIN = pd.DataFrame(
    {
        "text": ["客户称下周还", "你去告啊我不怕", "哭着说钱被骗了", "家属说人已经走了", "关机", "一定还这次一定"] * 4,
        "label": ["none", "confident", "victim", "deceased", "none", "serial_promiser"] * 4,
    }
)


def _notes(corpus) -> list[str]:
    from borrower_typing.data import read_table

    sample = read_table(SAMPLE_CSV)["催记内容"].tolist()
    return [normalize(t) for t in [*corpus["text"].tolist(), *sample, "", "a", "😀客户", "𠀀字"]]


def test_scorer_equals_pipeline_on_corpus_and_sample(trained_model, corpus):
    pipeline, scorer = trained_model.pipeline, trained_model.scorer
    assert scorer is not None, "the default pipeline must compile"
    notes = _notes(corpus)
    X_ref = pipeline.named_steps["features"].transform(notes)
    X = scorer.transform(notes)
    assert X.shape == X_ref.shape
    assert abs(X - X_ref).max() < 1e-6
    assert np.array_equal(scorer.feature_names, pipeline[-2].get_feature_names_out())
    expected = pipeline[-1].predict_proba(X_ref)
    got = scorer.predict_proba(X)
    # float32 features, as in the pipeline: row norms summed in another order differ in the last bits
    assert np.abs(got - expected).max() < 1e-6
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()


@pytest.mark.parametrize(
    ("kind", "calibration"),
    [
        ("logreg", "none"),
        ("linear_svc", "isotonic"),
        ("logreg", "sigmoid"),
        ("linear_svc", "sigmoid"),
        ("logreg", "temperature"),
    ],
)
def test_other_compilable_configurations(kind, calibration):
    cfg = TrainConfig.model_validate({"classifier": {"kind": kind}, "calibration": {"method": calibration, "cv": 2}})
    pipeline = build_pipeline(cfg).fit(TRAIN[["text"]], TRAIN["label"])
    scorer = LinearScorer.from_pipeline(pipeline)
    notes = [normalize(t) for t in ["客户称你去告吧", "钱被骗了没办法", "家属称人走了", "这次一定还", "无人接听"]]
    expected = pipeline.predict_proba(pd.DataFrame({"text": notes}))
    assert np.abs(scorer.predict_proba(scorer.transform(notes)) - expected).max() < 1e-6


def test_uncompilable_pipeline_falls_back_to_scikit_learn():
    cfg = TrainConfig.model_validate({"classifier": {"kind": "sgd"}, "calibration": {"method": "none"}})
    pipeline = build_pipeline(cfg).fit(TRAIN[["text"]], TRAIN["label"])
    with pytest.raises(NotCompilable):
        LinearScorer.from_pipeline(pipeline)
    model = TypingModel(pipeline)
    assert model.scorer is None
    assert model.predict("客户说你去告啊我不怕")[0].type in model.classes_


def test_saved_scorer_round_trip_and_bundle_without_it(trained_model, tmp_path):
    bundle = trained_model.save(tmp_path / "m")
    loaded = TypingModel.load(bundle)
    assert loaded.scorer is not None and loaded._pipeline is None, "prediction must not read the pipeline"
    notes = ["客户称明天还", "你们再打电话我就投诉到12378，不处理好一分不还", "关机"]
    assert np.array_equal(loaded.predict_proba(notes), trained_model.predict_proba(notes))
    assert [p.to_dict() for p in loaded.predict(notes)] == [p.to_dict() for p in trained_model.predict(notes)]
    (bundle / SCORER_FILE).unlink()  # an older bundle: compiled from the pipeline on load
    older = TypingModel.load(bundle)
    assert np.allclose(older.predict_proba(notes), trained_model.predict_proba(notes), atol=1e-6)


def test_scorer_file_refuses_objects(trained_model, tmp_path):
    """The arrays file is read with allow_pickle=False: an object array (which could carry code) is refused."""
    path = trained_model.scorer.save(tmp_path / SCORER_FILE)
    with np.load(path) as z:
        arrays = dict(z)
    arrays["coef"] = np.array([object()], dtype=object)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ValueError, match="pickle"):
        LinearScorer.load(path)


def test_one_note_path_imports_neither_sklearn_nor_skops_nor_pandas(model_dir):
    code = (
        "import sys, json; from borrower_typing.predict import load_model; "
        f"p = load_model({str(model_dir)!r}).predict('客户说你去起诉吧我不怕')[0]; "
        "print(json.dumps([p.type, sorted(m for m in ('sklearn', 'skops', 'pandas', 'mlflow') if m in sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    slug, heavy = json.loads(out)
    assert heavy == []
    assert slug == "confident"

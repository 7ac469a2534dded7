"""Shared fixtures: the bundled corpus, a model trained on it once per session, a temporary MLflow store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from borrower_typing.config import TrainConfig
from borrower_typing.labels import load_labels
from borrower_typing.model import TypingModel
from borrower_typing.train import fit_model, load_labelled

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus" / "call_notes.csv"
SAMPLE_CSV = ROOT / "data" / "samples" / "call_export.csv"
SAMPLE_XLSX = ROOT / "data" / "samples" / "call_export.xlsx"


@pytest.fixture(scope="session")
def labels():
    return load_labels()


@pytest.fixture(scope="session")
def corpus() -> pd.DataFrame:
    return pd.read_csv(CORPUS, dtype=str, keep_default_na=False)


@pytest.fixture(scope="session")
def small_corpus(corpus, tmp_path_factory) -> Path:
    """A stratified slice (about 25 notes per label, all three styles) as a CSV file."""
    part = corpus.groupby(["label", "style"]).sample(n=9, random_state=0)
    path = tmp_path_factory.mktemp("data") / "small.csv"
    part.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory) -> TypingModel:
    """The default configuration fitted on the whole corpus (no evaluation, no tracking), saved and
    loaded back, so every test sees the model exactly as users load it."""
    cfg = TrainConfig.model_validate({"data": {"path": str(CORPUS)}})
    labels = load_labels()
    data = load_labelled(cfg, labels)
    model = fit_model(cfg, data, labels, threshold=0.3, meta={"test": True})
    directory = tmp_path_factory.mktemp("model") / "bundle"
    model.save(directory)
    return TypingModel.load(directory)


@pytest.fixture(scope="session")
def model_dir(trained_model, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("saved") / "bundle"
    trained_model.save(directory)
    return directory


@pytest.fixture
def tracking_uri(tmp_path, monkeypatch) -> str:
    """A fresh SQLite tracking store; artifacts under the test's temporary folder."""
    from mlflow.tracking._tracking_service import utils as uri_state

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    # A test that calls mlflow.set_tracking_uri pins MLflow's global to this store, which is gone after the
    # test: put the global back so no later test reads a deleted store.
    monkeypatch.setattr(uri_state, "_tracking_uri", uri_state._tracking_uri)
    return uri


def check_review_contract(rows: pd.DataFrame, labels) -> None:
    """The output contract on scored rows from any engine (booleans and numbers may come back as text from
    CSV): a review row carries type ``none`` (待人工复核) and the none guidance, the model's guess is in
    ``best_guess`` on every row, ``confidence`` equals ``best_guess_confidence``, ``alternatives`` is a list
    of ``{type, confidence}`` (a JSON string in CSV/xlsx)."""
    import json

    from borrower_typing.labels import TYPES

    review = rows["needs_review"].map(lambda v: str(v) == "True")
    assert review.any() and (~review).any(), "the check needs review rows and typed rows"
    flagged, typed = rows[review], rows[~review]
    assert (flagged["type"] == "none").all() and (flagged["type_zh"] == labels.name_zh("none")).all()
    assert (flagged["type_zh"] == "待人工复核").all()
    assert flagged["review_reason"].map(bool).all() and not typed["review_reason"].fillna("").map(bool).any()
    assert rows["best_guess"].isin(TYPES).all()
    assert (typed["type"] == typed["best_guess"]).all() and typed["type"].isin(TYPES).all()
    assert (rows["confidence"].astype(float) == rows["best_guess_confidence"].astype(float)).all()
    if "strategy" in rows.columns:
        assert (flagged["strategy"] == labels.strategy_text("none")).all()
        assert [s for s, t in zip(typed["strategy"], typed["type"], strict=True) if s != labels.strategy_text(t)] == []
    for cell in rows["alternatives"]:
        alternatives = json.loads(cell) if isinstance(cell, str) else [dict(a) for a in cell]
        assert len(alternatives) == 2 and all(set(a) == {"type", "confidence"} for a in alternatives), cell
        assert all(a["type"] in TYPES and 0.0 <= a["confidence"] <= 1.0 for a in alternatives)


def three_label_export(path: Path, seed: int = 0, per_label: int = 40, repeats: int = 30) -> Path:
    """A lender's own export as it arrives: GBK CSV, 催记内容/类型/催收员 columns, three labels written in
    Chinese (推托型/投诉拒还/其他), and ``repeats`` notes copied again with another amount (near duplicates)."""
    corpus = pd.read_csv(CORPUS, dtype=str, keep_default_na=False)
    names = {"evasive": "推托型", "complaint_refusal": "投诉拒还", "none": "其他"}
    part = corpus[corpus["label"].isin(names)]
    part = part[part["text"].map(_gbk_ok)].groupby("label").sample(n=per_label, random_state=seed)
    again = part.sample(n=repeats, random_state=seed + 1)
    # every other repeat is retyped: other punctuation and spacing
    retyped = again["text"].str.replace("，", ", ").str.replace("。", "！") + " "
    again = again.assign(text=[t if i % 2 else r for i, (t, r) in enumerate(zip(again["text"], retyped, strict=True))])
    rows = pd.concat([part, again]).sample(frac=1.0, random_state=seed + 2)
    collectors = ["张敏", "李强", "王芳"]
    table = pd.DataFrame(
        {
            "催记内容": rows["text"].to_numpy(),
            "类型": rows["label"].map(names).to_numpy(),
            "催收员": [collectors[i % 3] for i in range(len(rows))],
        }
    )
    table.to_csv(path, index=False, encoding="gbk")
    return path


def _gbk_ok(text: str) -> bool:
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def save_mlflow_model(model: TypingModel, path: Path) -> Path:
    """An MLflow model folder as a logged and exported one holds it (manifest included), written without a
    tracking store."""
    import tempfile

    import mlflow

    from borrower_typing.manifest import write_manifest
    from borrower_typing.tracking import pyfunc_spec

    with tempfile.TemporaryDirectory() as tmp:
        bundle = model.save(Path(tmp) / "bundle")
        mlflow.pyfunc.save_model(path=str(path), **pyfunc_spec(model, bundle))
    write_manifest(path)
    return path


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Python's temporary folder pointed at an empty folder of this test's own, so what a run leaves there
    is its own (the machine's /tmp is shared with other processes)."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _train_profiled(data: Path, work: Path, folds: int = 5) -> Path:
    """Train through ``train`` itself (its hook makes the reference profile), without tracking; save the model."""
    from borrower_typing.train import train

    cfg = TrainConfig.model_validate(
        {"data": {"path": str(data), "group_column": None}, "evaluation": {"cv_folds": folds, "n_jobs": 2}}
    )
    return train(cfg, reports_dir=work / "reports", track=False).model.save(work / "model")


@pytest.fixture(scope="session")
def profiled_model_dir(tmp_path_factory) -> Path:
    """The default configuration trained on the whole corpus, with its reference profile: the default model."""
    return _train_profiled(CORPUS, tmp_path_factory.mktemp("profiled"))


@pytest.fixture(scope="session")
def half_model(corpus, tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A model trained on half of the corpus, and the other half (never seen by it) to build batches from."""
    work = tmp_path_factory.mktemp("half")
    seen = corpus.sample(frac=0.5, random_state=1)
    seen.to_csv(work / "half.csv", index=False)
    return _train_profiled(work / "half.csv", work, folds=3), corpus.drop(seen.index).reset_index(drop=True)

"""Training end to end on a small slice, with MLflow pointed at a temporary SQLite store."""

from pathlib import Path

import pandas as pd
import pytest

from borrower_typing.config import load_train_config
from borrower_typing.data import DataError
from borrower_typing.labels import load_labels
from borrower_typing.predict import load_model
from borrower_typing.train import load_labelled, search_candidates, train

SECRET_PHONE = "13912345678"


@pytest.fixture
def labelled(small_corpus, tmp_path) -> Path:
    df = pd.read_csv(small_corpus)
    df.loc[0, "text"] = df.loc[0, "text"] + f" 联系电话{SECRET_PHONE}"
    path = tmp_path / "train.csv"
    df.to_csv(path, index=False)
    return path


def config_for(path, tmp, **extra):
    return load_train_config(None, {"data.path": str(path), "tracking.export_dir": str(tmp / "export"), **extra})


@pytest.mark.slow
def test_train_logs_registers_promotes_and_exports(labelled, tracking_uri, tmp_path):
    from mlflow import MlflowClient

    result = train(config_for(labelled, tmp_path), reports_dir=tmp_path / "reports")
    client = MlflowClient(tracking_uri)
    run = client.get_run(result.run_id)
    assert run.data.metrics["cv_macro_f1_mean"] > 0.3
    assert {"logo_macro_f1_crm", "logo_macro_f1_call", "logo_macro_f1_visit", "ece"} <= set(run.data.metrics)
    assert run.data.params["classifier.kind"] == "linear_svc"
    assert run.inputs.dataset_inputs and run.inputs.dataset_inputs[0].dataset.digest
    artifacts = {f.path for f in client.list_artifacts(result.run_id, "evaluation")}
    assert {
        "evaluation/confusion_matrix.png",
        "evaluation/reliability.png",
        "evaluation/label_audit.csv",
    } <= artifacts

    version = client.get_model_version_by_alias("borrower-typing", "champion")
    assert str(version.version) == result.model_version == "1" and result.promoted
    assert {"data_digest", "code_commit", "run_id"} <= set(version.tags)

    exported = load_model(tmp_path / "export")
    assert exported.predict(["你去起诉啊我不怕"])[0].type == result.model.predict(["你去起诉啊我不怕"])[0].type
    via_registry = load_model("models:/borrower-typing@champion", tracking_uri)
    assert via_registry.classes_ == result.model.classes_

    # personal data never leaves the process: not in any logged file, not in the tracking store
    store = Path(tracking_uri.removeprefix("sqlite:///")).read_bytes()
    assert SECRET_PHONE.encode() not in store
    for f in (tmp_path / "reports").iterdir():
        assert SECRET_PHONE not in f.read_bytes().decode("utf-8", errors="ignore")

    # a clearly worse model on the same data does not take the alias …
    worse = train(
        config_for(labelled, tmp_path, **{"features.char.enabled": False, "classifier.C": 0.0005}),
        reports_dir=tmp_path / "r2",
    )
    assert worse.model_version == "2" and not worse.promoted
    assert str(client.get_model_version_by_alias("borrower-typing", "champion").version) == "1"
    # … unless asked to
    forced = train(
        config_for(labelled, tmp_path, **{"features.char.enabled": False}),
        promote=True,
        reports_dir=tmp_path / "r3",
    )
    assert forced.promoted and str(client.get_model_version_by_alias("borrower-typing", "champion").version) == "3"


@pytest.mark.slow
def test_champion_comparison_leaves_no_download_behind(labelled, tracking_uri, tmp_path, private_tmp):
    """New data (another digest) and no reference set: the champion is downloaded (for the disagreements in
    the promotion report), not promoted over, and nothing stays in the temp folder."""
    first = train(config_for(labelled, tmp_path), reports_dir=tmp_path / "r1")
    other = tmp_path / "other.csv"
    pd.read_csv(labelled).iloc[1:].to_csv(other, index=False)
    second = train(config_for(other, tmp_path), reports_dir=tmp_path / "r2")
    assert first.promoted and second.model_version == "2"
    assert not second.promoted and "no reference set" in second.promotion_reason
    assert list(private_tmp.iterdir()) == [], "the champion's download (or any temporary folder) was left behind"


@pytest.mark.slow
def test_search_runs_nested_candidates(labelled, tracking_uri, tmp_path):
    from mlflow import MlflowClient

    cfg = config_for(labelled, tmp_path, **{"search.grid": {"classifier.C": [0.1, 1.0]}})
    result = train(cfg, search=True, reports_dir=tmp_path / "reports")
    assert len(result.search_results) == 2
    client = MlflowClient(tracking_uri)
    children = client.search_runs(
        [run.info.experiment_id for run in [client.get_run(result.run_id)]],
        filter_string=f"tags.mlflow.parentRunId = '{result.run_id}'",
    )
    assert len(children) == 2
    best_c = float(result.search_results.iloc[0]["classifier.C"])
    assert result.model.meta["config"]["classifier"]["C"] == best_c


def test_search_candidates_grid():
    cfg = load_train_config(
        None,
        {
            "search.grid": {"classifier.C": [1, 2], "features.char.min_df": [1, 2, 3]},
            "search.max_candidates": 4,
        },
    )
    assert len(search_candidates(cfg)) == 4


def test_unknown_label_stops_before_training(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["a", "b", "c"], "label": ["victim", "暴躁型", "none"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"row 2 \('暴躁型'\)"):
        load_labelled(config_for(path, tmp_path, **{"data.group_column": None}), load_labels())


def test_missing_column_stops_before_training(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"note": ["a"], "label": ["victim"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="'text'"):
        load_labelled(config_for(path, tmp_path, **{"data.group_column": None}), load_labels())


def test_chinese_labels_and_gb18030(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"催记内容": ["你去告啊", "哭诉被骗"], "类型": ["自信型", "受害者型"]}).to_csv(
        path, index=False, encoding="gb18030"
    )
    cfg = config_for(
        path, tmp_path, **{"data.text_column": "催记内容", "data.label_column": "类型", "data.group_column": None}
    )
    assert load_labelled(cfg, load_labels())["label"].tolist() == ["confident", "victim"]

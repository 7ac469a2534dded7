"""Retraining on a lender's own export never breaks production quietly.

The default model is trained on the bundled corpus; then a small three-label GBK export (推托型/投诉拒还/其他,
a 催收员 column, repeated notes) is trained as a new user would. The ten-label champion must stay, and the run
must say why; a better candidate on the same data and labels must be promoted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from borrower_typing.config import load_train_config
from borrower_typing.predict import load_model
from borrower_typing.train import train
from tests.conftest import CORPUS, ROOT, three_label_export

NOTE = "你们去起诉啊，我不怕"
EXPORT_COLUMNS = {"data.text_column": "催记内容", "data.label_column": "类型", "data.group_column": "催收员"}


def cfg(tmp: Path, data: Path, **extra):
    base = {"data.path": str(data), "tracking.export_dir": str(tmp / "export"), "evaluation.n_jobs": 2}
    return load_train_config(ROOT / "configs" / "train.yaml", base | extra)


@pytest.mark.slow
def test_a_three_label_export_does_not_replace_the_champion(tracking_uri, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    first = train(cfg(tmp_path, CORPUS), reports_dir=tmp_path / "r1")
    assert first.promoted and first.model_version == "1"
    before = load_model(tmp_path / "export").predict([NOTE])[0]

    export = three_label_export(tmp_path / "lender_export.csv")
    second = train(cfg(tmp_path, export, **EXPORT_COLUMNS), reports_dir=tmp_path / "r2")
    assert not second.promoted
    assert str(client.get_model_version_by_alias("borrower-typing", "champion").version) == "1"
    assert "label set differs" in second.promotion_reason and "--allow-label-change" in second.promotion_reason
    run = client.get_run(second.run_id)
    assert run.data.tags["promotion_rule"] == "label-set" and run.data.tags["promoted"] == "false"
    assert run.data.tags["label_set"] == "complaint_refusal,evasive,none" and run.data.tags["train_notes"] == "150"
    assert run.info.run_name.startswith("train-lender_export-")
    assert run.data.metrics["duplicate_notes"] == 30
    logged = {f.path for f in client.list_artifacts(second.run_id, "promotion")}
    assert {"promotion/promotion.md", "promotion/promotion_per_class.csv"} <= logged
    report = json.loads((tmp_path / "r2" / "promotion.json").read_text(encoding="utf-8"))
    assert report["decision"] == "keep champion" and report["rule"] == "label-set"
    # production answers as before: the exported folder is still the ten-label champion
    after = load_model(tmp_path / "export")
    assert len(after.classes_) == 10 and after.predict([NOTE])[0].type == before.type

    # only a flag that names the change lets the three-label model replace the champion
    allowed = train(cfg(tmp_path, export, **EXPORT_COLUMNS), reports_dir=tmp_path / "r3", allow_label_change=True)
    assert allowed.promoted and "label set changes" in allowed.promotion_reason
    assert "--allow-label-change" in allowed.promotion_reason
    assert set(load_model(tmp_path / "export").classes_) == {"evasive", "complaint_refusal", "none"}


@pytest.mark.slow
def test_promotion_on_the_same_data_and_labels_follows_the_stated_rule(tracking_uri, tmp_path):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    export = three_label_export(tmp_path / "lender_export.csv")
    weak = {"features.char.enabled": False, "classifier.C": 0.0005} | EXPORT_COLUMNS
    train(cfg(tmp_path, export, **weak), reports_dir=tmp_path / "r1")

    better = train(cfg(tmp_path, export, **EXPORT_COLUMNS), reports_dir=tmp_path / "r2")
    assert better.promoted and "identical folds of the same data" in better.promotion_reason
    assert str(client.get_model_version_by_alias("borrower-typing", "champion").version) == better.model_version
    assert client.get_run(better.run_id).data.tags["promotion_rule"] == "identical-folds"

    # another export with the same labels and no reference set: no automatic promotion, and it says so
    other = three_label_export(tmp_path / "another_export.csv", seed=7)
    blind = train(cfg(tmp_path, other, **EXPORT_COLUMNS), reports_dir=tmp_path / "r3")
    assert not blind.promoted and "no reference set" in blind.promotion_reason

    # with a reference set both models are scored on it: the weak configuration loses there
    reference = three_label_export(tmp_path / "reference.csv", seed=11, per_label=15, repeats=0)
    on_reference = train(
        cfg(tmp_path, other, **weak, **{"evaluation.reference_data": str(reference)}), reports_dir=tmp_path / "r4"
    )
    assert not on_reference.promoted and "reference set" in on_reference.promotion_reason
    assert client.get_run(on_reference.run_id).data.tags["promotion_rule"] == "reference-set"
    report = json.loads((tmp_path / "r4" / "promotion.json").read_text(encoding="utf-8"))
    assert report["candidate_score"] < report["champion_score"]
    assert str(client.get_model_version_by_alias("borrower-typing", "champion").version) == better.model_version

"""Training logs the reference profile; a monitoring run is linked to the model version it watched, with every
figure a metric and the report and summary as artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.config import load_train_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "call_export.csv"


@pytest.mark.slow
def test_monitoring_run_is_linked_to_the_model_version(small_corpus, tracking_uri, tmp_path, monkeypatch, private_tmp):
    from borrower_typing.train import train

    cfg = load_train_config(
        ROOT / "configs" / "train.yaml",
        {"data.path": str(small_corpus), "tracking.export_dir": str(tmp_path / "export"), "evaluation.n_jobs": 2},
    )
    result = train(cfg, reports_dir=tmp_path / "reports")
    client = MlflowClient(tracking_uri)
    assert "reference_profile.json" in {a.path for a in client.list_artifacts(result.run_id)}

    runner = CliRunner()
    scored = tmp_path / "sample.scored.csv"
    args = ["score", str(SAMPLE), "-o", str(scored), "--model", str(result.export_dir), "-q"]
    args += ["--monitor", "--monitor-config", str(ROOT / "configs" / "monitor.yaml")]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    for model in (str(result.export_dir), "models:/borrower-typing@champion"):
        out = runner.invoke(app, ["monitor", str(scored), "--model", model, "--by", "催收员,催收时间"])
        assert out.exit_code == 0, out.output
    # score --monitor of a registry model: one download serves the profile check, scoring and monitoring
    from borrower_typing import bundle

    downloads = []
    real = bundle.download
    monkeypatch.setattr(bundle, "download", lambda *a, **k: downloads.append(a[0]) or real(*a, **k))
    args = ["score", str(SAMPLE), "-o", str(tmp_path / "again.csv"), "--model", "models:/borrower-typing@champion"]
    out = runner.invoke(app, [*args, "-q", "--monitor", "--monitor-config", str(ROOT / "configs" / "monitor.yaml")])
    assert out.exit_code == 0, out.output
    assert downloads == ["models:/borrower-typing@champion"]
    assert list(private_tmp.iterdir()) == []  # and the download is gone afterwards

    experiment = client.get_experiment_by_name("borrower-typing-monitoring")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 4
    for run in runs:
        assert run.data.tags["model_name"] == "borrower-typing"
        assert run.data.tags["model_version"] == result.model_version
        assert run.data.tags["verdict"] in ("ok", "watch", "drift")
        metrics = run.data.metrics
        assert {"type_psi", "confidence_psi", "length_psi", "review_share", "vocab_share_drop"} <= set(metrics)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "monitoring")}
        assert any(p.endswith(".html") for p in artifacts) and any(p.endswith(".json") for p in artifacts)
    sliced = [r for r in runs if r.data.params.get("by") == "催收员,催收时间"]
    assert len(sliced) == 2 and any(k.startswith("slice.") for k in sliced[0].data.metrics)

"""``models list | promote | rollback``: the alias moves, the exported folder follows, the versions are tagged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.config import load_train_config
from borrower_typing.data import DataError
from borrower_typing.registry import history, list_versions, rollback
from borrower_typing.train import train
from tests.conftest import three_label_export

runner = CliRunner()
COLUMNS = {"data.text_column": "催记内容", "data.label_column": "类型", "data.group_column": "催收员"}


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(f.relative_to(folder).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_promote_and_rollback_move_the_exported_folder(tracking_uri, tmp_path):
    from mlflow import MlflowClient

    export = three_label_export(tmp_path / "export.csv")
    config = tmp_path / "train.yaml"
    config.write_text(f"tracking:\n  export_dir: {tmp_path / 'model'}\n", encoding="utf-8")
    base = {"data.path": str(export), "tracking.export_dir": str(tmp_path / "model"), **COLUMNS}
    train(load_train_config(None, base), reports_dir=tmp_path / "r1")
    first = digest(tmp_path / "model")
    second_cfg = load_train_config(None, base | {"classifier.C": 2.0})
    train(second_cfg, promote=True, reports_dir=tmp_path / "r2")
    second = digest(tmp_path / "model")
    assert first != second and history(tracking_uri, "borrower-typing") == ["1", "2"]

    listed = runner.invoke(app, ["models", "list", "--config", str(config)])
    assert listed.exit_code == 0 and "champion" in listed.output and "3: complaint_refusal" in listed.output

    back = runner.invoke(app, ["models", "rollback", "--config", str(config)])
    assert back.exit_code == 0, back.output
    assert "version 1 (rolled back)" in back.output and digest(tmp_path / "model") == first
    client = MlflowClient(tracking_uri)
    assert str(client.get_model_version_by_alias("borrower-typing", "champion").version) == "1"
    assert "rollback from version 2" in client.get_model_version("borrower-typing", "1").tags["promotion_reason"]
    assert "replaced by version 1" in client.get_model_version("borrower-typing", "2").tags["rolled_back"]
    with pytest.raises(DataError, match="no previous champion"):
        rollback(tracking_uri, "borrower-typing", tmp_path / "model")

    again = runner.invoke(app, ["models", "promote", "2", "--config", str(config)])
    assert again.exit_code == 0 and digest(tmp_path / "model") == second
    table = list_versions(tracking_uri, "borrower-typing")
    assert table.set_index("version").loc[2, "aliases"] == "champion"
    assert table.set_index("version").loc[2, "promotion"].startswith("promoted by hand")
    assert set(table["label_set"]) == {"complaint_refusal,evasive,none"} and set(table["train_notes"]) == {"150"}
    missing = runner.invoke(app, ["models", "promote", "9", "--config", str(config)])
    assert missing.exit_code == 2 and "no version 9" in missing.output

    # pre-annotations cite the registered version the exported folder or the registry download names
    notes = tmp_path / "notes.csv"
    notes.write_text("催记内容\n客户说下周一定还\n你去告吧我不怕\n家属称人已去世\n", encoding="utf-8")
    for model in (str(tmp_path / "model"), "models:/borrower-typing@champion"):
        out = tmp_path / "tasks.json"
        args = ["label", "export", str(notes), "-o", str(out), "--budget", "2", "-m", model, "--overwrite"]
        exported = runner.invoke(app, args)
        assert exported.exit_code == 0, exported.output
        tasks = json.loads(out.read_text(encoding="utf-8"))
        assert {p["model_version"] for t in tasks for p in t["predictions"]} == {"borrower-typing/2"}, model


def test_list_on_a_missing_store_says_so_and_creates_nothing(tmp_path, monkeypatch):
    db = tmp_path / "nothing.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0 and "no registered versions of borrower-typing" in result.output
    assert not db.exists()
    rolled = runner.invoke(app, ["models", "rollback"])
    assert rolled.exit_code == 2 and "no previous champion" in rolled.output

"""Tampered model folders are refused before MLflow loads them (``models verify``, ``serve``, the Spark path),
and anticipated model-loading failures are one line naming the path or URI, exit code 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.manifest import MANIFEST, REGISTRY_META, ManifestError, verify_manifest
from borrower_typing.server import serve_model
from tests.conftest import save_mlflow_model


@pytest.fixture(scope="module")
def mlflow_folder(trained_model, tmp_path_factory) -> Path:
    """An MLflow model folder as registration and export leave it (manifest included)."""
    return save_mlflow_model(trained_model, tmp_path_factory.mktemp("mlflow") / "model")


@pytest.fixture
def folder(mlflow_folder, tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(mlflow_folder, copy)
    return copy


def edit_code(folder: Path) -> None:
    init = folder / "code" / "borrower_typing" / "__init__.py"
    init.write_text(init.read_text(encoding="utf-8") + "\nimport os  # planted\n", encoding="utf-8")


def add_code(folder: Path) -> None:
    (folder / "code" / "borrower_typing" / "sitecustomize.py").write_text("print('planted')\n", encoding="utf-8")


def edit_mlmodel(folder: Path) -> None:
    mlmodel = folder / "MLmodel"
    mlmodel.write_text(mlmodel.read_text(encoding="utf-8").replace("borrower_typing.serving", "evil"), "utf-8")


def remove_file(folder: Path) -> None:
    (folder / "requirements.txt").unlink()


def link_file(folder: Path) -> None:
    target = folder / "code" / "borrower_typing" / "labels.py"
    target.unlink()
    target.symlink_to("/etc/hostname")


def edit_manifest_too(folder: Path) -> None:
    """Editing a file and dropping the manifest: a folder that cannot be checked is refused too."""
    edit_code(folder)
    (folder / MANIFEST).unlink()


def bad_registry_meta(folder: Path) -> None:
    (folder / REGISTRY_META).write_text("model_name: x\nloader: evil\n", encoding="utf-8")


TAMPERING = [edit_code, add_code, edit_mlmodel, remove_file, link_file, edit_manifest_too, bad_registry_meta]


def test_an_untouched_folder_verifies(folder):
    assert verify_manifest(folder) == folder
    (folder / REGISTRY_META).write_text("model_name: borrower-typing\nmodel_version: 3\n", encoding="utf-8")
    assert verify_manifest(folder) == folder, "MLflow's own registry note (name and version only) is allowed"
    result = CliRunner().invoke(app, ["models", "verify", str(folder)])
    assert result.exit_code == 0 and "matches its manifest" in result.output


@pytest.mark.parametrize("tamper", TAMPERING, ids=lambda f: f.__name__)
def test_a_tampered_folder_is_refused_everywhere(folder, tamper, monkeypatch):
    from borrower_typing import spark as bspark

    tamper(folder)
    with pytest.raises(ManifestError) as refused:
        verify_manifest(folder)
    message = str(refused.value)
    assert "\n" not in message and str(folder) in message

    result = CliRunner().invoke(app, ["models", "verify", str(folder)])
    assert result.exit_code == 2 and result.output.strip().count("\n") == 0 and str(folder) in result.output

    started = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a))
    with pytest.raises(ManifestError):
        serve_model(str(folder), port=1)
    result = CliRunner().invoke(app, ["serve", "--model", str(folder), "--port", "1"])
    assert result.exit_code == 2 and "error:" in result.output
    assert started == [], "no server may start on a tampered folder"

    with pytest.raises(ManifestError):
        bspark.load_spark_model(folder)


def test_unknown_registry_alias_is_one_line(tracking_uri, private_tmp):
    runner = CliRunner()
    for args in (
        ["predict", "客户说下周还款", "--model", "models:/borrower-typing@nosuch"],
        ["serve", "--model", "models:/borrower-typing@nosuch"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "models:/borrower-typing@nosuch" in errors[0], result.output
        assert "Traceback" not in result.output
    assert list(private_tmp.iterdir()) == [], "no download left behind"


def test_missing_folder_is_one_line(tmp_path):
    for args in (["predict", "客户说下周还款", "--model"], ["models", "verify"], ["serve", "--model"]):
        result = CliRunner().invoke(app, [*args, str(tmp_path / "nowhere")])
        assert result.exit_code == 2 and str(tmp_path / "nowhere") in result.output, result.output
        assert result.output.strip().count("\n") == 0


def test_a_pickle_in_the_model_is_refused_in_one_line(model_dir, tmp_path):
    folder = tmp_path / "bundle"
    shutil.copytree(model_dir, folder)
    np.savez(folder / "scorer.npz", coef=np.asarray([object()], dtype=object))  # needs pickle to load
    result = CliRunner().invoke(app, ["predict", "客户说下周还款", "--model", str(folder)])
    assert result.exit_code == 2 and str(folder) in result.output and "refusing" in result.output
    assert result.output.strip().count("\n") == 0

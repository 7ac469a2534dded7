"""The notebooks under notebooks/: stored without outputs, and executed top to bottom so they never rot.

Execution uses ``notebooks/render.py`` (the same code as ``make notebooks``): a kernel that is this interpreter,
the repository root as working directory, and ``MLFLOW_TRACKING_URI`` pointed at a temporary SQLite store that
first gets two quick training runs, so the experiments notebook has something to compare and promote.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CHAMPION_URI = "models:/borrower-typing@champion"
NOTEBOOKS = ("01-corpus-exploration", "02-experiments", "03-error-analysis", "04-batch-monitoring")


def _render_module():
    spec = importlib.util.spec_from_file_location("notebooks_render", NOTEBOOK_DIR / "render.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _outputs_text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif "data" in out:
                parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


# --- stored form --------------------------------------------------------------------------------------
def test_every_notebook_is_stored_without_outputs():
    paths = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    assert {p.stem for p in paths} >= set(NOTEBOOKS)
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert "widgets" not in nb.metadata, f"{path.name}: widget state stored"
        assert nb.metadata.get("kernelspec", {}).get("language") == "python", path.name
        for i, cell in enumerate(nb.cells):
            where = f"{path.name} cell {i}"
            assert "widgets" not in cell.metadata, f"{where}: widget state stored"
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{where}: has outputs"
                assert cell.execution_count is None, f"{where}: has an execution count"
                assert "execution" not in cell.metadata, f"{where}: has execution timings"
            else:
                assert not cell.get("attachments"), f"{where}: has attachments"


# --- execution ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def render():
    return _render_module()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """A SQLite tracking store with two training runs on a stratified slice (9 notes per label × style):
    the default configuration, then a logistic-regression one forced to ``@champion``."""
    from borrower_typing.config import load_train_config
    from borrower_typing.train import train

    tmp = tmp_path_factory.mktemp("notebook-store")
    corpus = pd.read_csv(ROOT / "data" / "corpus" / "call_notes.csv", dtype=str, keep_default_na=False)
    data = tmp / "slice.csv"
    corpus.groupby(["label", "style"]).sample(n=9, random_state=0).to_csv(data, index=False)
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    base = {
        "data.path": str(data),
        "tracking.export_dir": str(tmp / "export"),
        "evaluation.n_jobs": 2,
        "evaluation.audit_rows": 10,
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(tmp)  # artifacts land in the temporary folder
        train(load_train_config(ROOT / "configs" / "train.yaml", base), reports_dir=tmp / "r1")
        other = {"classifier.kind": "logreg", "classifier.C": 2.0, "features.char.ngram_range": [2, 4]}
        train(load_train_config(ROOT / "configs" / "train.yaml", base | other), promote=True, reports_dir=tmp / "r2")
    return uri


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


@pytest.mark.slow
def test_kernel_is_this_interpreter_and_is_shut_down_after(render, tmp_path):
    source = "import os, sys\nprint(sys.executable)\nprint(os.getcwd())\nprint(os.getpid())"
    path = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), str(path))
    executable, cwd, pid = _outputs_text(render.execute(path)).split()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(cwd).resolve() == ROOT
    with pytest.raises(ProcessLookupError):  # no kernel (nor its worker pool) outlives its notebook
        os.kill(int(pid), 0)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_top_to_bottom(name, render, store):
    from mlflow import MlflowClient

    client = MlflowClient(store)
    champion_before = client.get_model_version_by_alias("borrower-typing", "champion").version
    t0 = time.perf_counter()
    env = _env(MLFLOW_TRACKING_URI=store, NOTEBOOK_PROMOTE="1", NOTEBOOK_MONITOR_MODEL=CHAMPION_URI)
    nb = render.execute(NOTEBOOK_DIR / f"{name}.ipynb", env=env)
    seconds = time.perf_counter() - t0
    print(f"{name}: {seconds:.1f}s")
    text = _outputs_text(nb)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    assert not any(o.output_type == "error" for c in nb.cells for o in c.get("outputs", []))
    if name == "01-corpus-exploration":
        assert "after mask_pii: no mobile, ID-card or bank-card number left" in text
    if name == "02-experiments":
        assert store in text and "2 runs, 2 with a registered model version" in text
        # the notebook promoted the registered run with the best leave-one-style-out macro-F1
        runs = client.search_runs([client.get_experiment_by_name("borrower-typing").experiment_id])
        best = max(r.data.metrics["logo_macro_f1_mean"] for r in runs)
        champion = client.get_model_version_by_alias("borrower-typing", "champion")
        assert client.get_run(champion.run_id).data.metrics["logo_macro_f1_mean"] == best
        if champion.version != champion_before:
            assert f"@champion -> version {champion.version}" in text
    if name == "03-error-analysis":
        assert "out-of-fold predictions" in text and "chosen threshold" in text
    if name == "04-batch-monitoring":
        assert "verdict: " in text and "on 300 rows" in text and "type_psi" in text


@pytest.mark.slow
@pytest.mark.parametrize("state", ["missing", "empty"])
def test_experiments_notebook_says_so_when_the_store_has_no_runs(state, render, tmp_path):
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    if state == "empty":
        from mlflow import MlflowClient

        MlflowClient(uri).search_experiments()  # creates the tables, no runs
    nb = render.execute(NOTEBOOK_DIR / "02-experiments.ipynb", env=_env(MLFLOW_TRACKING_URI=uri))
    text = _outputs_text(nb)
    assert "NO RUNS" in text and "nothing to promote" in text
    assert not any(o.output_type == "error" for c in nb.cells for o in c.get("outputs", []))
    assert db.exists() == (state == "empty")  # looking at a store that is not there does not create it


def test_training_notebooks_have_a_parameters_cell():
    for name in ("01-corpus-exploration", "02-experiments", "03-error-analysis"):
        nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1 and tagged[0].cell_type == "code", name
        assert "TRACKING_URI" in tagged[0].source, name
        if name != "02-experiments":
            assert all(k in tagged[0].source for k in ("DATA", "TEXT_COLUMN", "LABEL_COLUMN", "GROUP_COLUMN")), name


@pytest.mark.slow
def test_notebooks_run_on_a_lenders_export_and_never_promote_across_data(render, tmp_path):
    """A three-label GBK export through the parameters cells; notebook 02 with promotion switched on leaves a
    champion trained on other data alone, though the export's run has the higher score."""
    from mlflow import MlflowClient

    from borrower_typing.config import load_train_config
    from borrower_typing.train import train
    from tests.conftest import three_label_export

    export = three_label_export(tmp_path / "lender_export.csv")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    corpus = pd.read_csv(ROOT / "data" / "corpus" / "call_notes.csv", dtype=str, keep_default_na=False)
    data = tmp_path / "slice.csv"
    corpus.groupby(["label", "style"]).sample(n=4, random_state=0).to_csv(data, index=False)
    columns = {"data.text_column": "催记内容", "data.label_column": "类型", "data.group_column": "催收员"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.chdir(tmp_path)
        base = {"tracking.export_dir": str(tmp_path / "export"), "evaluation.audit_rows": 5}
        first = train(load_train_config(None, base | {"data.path": str(data)}), reports_dir=tmp_path / "r1")
        other = train(load_train_config(None, base | {"data.path": str(export)} | columns), reports_dir=tmp_path / "r2")
    assert not other.promoted and other.metrics["logo_macro_f1_mean"] > first.metrics["logo_macro_f1_mean"]

    params = {"DATA": str(export), "TEXT_COLUMN": "催记内容", "LABEL_COLUMN": "类型", "GROUP_COLUMN": "催收员"}
    env = _env(MLFLOW_TRACKING_URI=uri, NOTEBOOK_PROMOTE="1")
    for name in NOTEBOOKS[:3]:  # the training notebooks; 04 reads a scored export and is run with one above
        nb = render.execute(NOTEBOOK_DIR / f"{name}.ipynb", env=env, parameters=params | {"TRACKING_URI": uri})
        assert not any(o.output_type == "error" for c in nb.cells for o in c.get("outputs", [])), name
        text = _outputs_text(nb)
        if name == "01-corpus-exploration":
            assert "150 notes, 3 labels" in text
        if name == "02-experiments":
            assert "1 registered runs share the champion's data digest" in text
            assert "already @champion" in text and "@champion -> version 2" not in text
        if name == "03-error-analysis":
            assert "150 notes; out-of-fold predictions" in text
    champion = MlflowClient(uri).get_model_version_by_alias("borrower-typing", "champion")
    assert str(champion.version) == first.model_version

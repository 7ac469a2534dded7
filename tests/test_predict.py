import subprocess
import sys

import pytest

from borrower_typing.model import TypingModel
from borrower_typing.predict import MODEL_ENV, default_model_location, load_model, predict


def test_default_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    assert default_model_location() == "models/borrower-typing"
    monkeypatch.setenv(MODEL_ENV, str(tmp_path))
    assert default_model_location() == str(tmp_path)


def test_load_model_from_a_folder(model_dir):
    model = load_model(model_dir)
    assert isinstance(model, TypingModel) and model.scorer is not None


def test_missing_model_says_how_to_get_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="make train"):
        load_model(tmp_path / "absent")


def test_predict_takes_a_model_or_a_folder(trained_model, model_dir):
    notes = ["客户说钱被骗了，哭着说没钱", ""]
    by_model = predict(notes, trained_model)
    by_folder = predict(notes, model_dir)
    assert [p.type for p in by_model] == [p.type for p in by_folder]
    assert by_model[1].review_reason == "empty"


def test_one_note_path_imports_neither_pandas_nor_sklearn(model_dir):
    code = (
        "import sys; from borrower_typing.predict import load_model; "
        f"m = load_model({str(model_dir)!r}); m.predict(['客户称下周还']); "
        "print(sorted(k for k in ('pandas', 'sklearn', 'mlflow') if k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

import os
import tempfile

import pytest

from borrower_typing.bundle import (
    BUNDLE_FILES,
    fetched_bundle,
    is_model_uri,
    local_bundle,
    read_bundle,
    verify_bundle,
)
from borrower_typing.predict import load_model


def test_uri_schemes_are_known_in_one_place():
    assert is_model_uri("models:/borrower-typing@champion") and is_model_uri("runs:/abc/model")
    assert not is_model_uri("models/borrower-typing")


def test_local_bundle_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model at"):
        local_bundle(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match=r"pipeline\.skops"):
        local_bundle(tmp_path)


def test_read_bundle_in_memory_keeps_nothing_pointing_at_the_folder(model_dir):
    b = read_bundle(model_dir, in_memory=True)
    assert b.source is None and b.scorer is not None
    assert b.pipeline() is b.pipeline()  # read once


def test_verify_bundle(model_dir, tmp_path):
    assert verify_bundle(model_dir) == []
    assert len(verify_bundle(tmp_path)) == len(BUNDLE_FILES)


@pytest.mark.slow
def test_loading_a_registry_model_leaves_nothing_in_the_temp_folder(trained_model, model_dir, tracking_uri, tmp_path):
    """Each load used to leave a copy of the model (tens of MB) under /tmp."""
    import mlflow

    from borrower_typing import tracking

    with tracking.using_tracking_uri(tracking_uri) as ml:
        ml.set_experiment("borrower-typing")
        with ml.start_run():
            info = tracking.log_model(ml, trained_model, model_dir, "borrower-typing", {})
    assert mlflow.get_tracking_uri() != tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") == tracking_uri
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    before, tempfile.tempdir = tempfile.tempdir, str(scratch)
    try:
        model = load_model(f"models:/borrower-typing/{info.registered_model_version}", tracking_uri)
        with fetched_bundle(f"models:/borrower-typing/{info.registered_model_version}", tracking_uri) as folder:
            assert folder.is_relative_to(scratch)
    finally:
        tempfile.tempdir = before
    assert list(scratch.iterdir()) == []
    notes = ["客户称下周五一定还", "你去告啊"]
    assert [p.type for p in model.predict(notes)] == [p.type for p in trained_model.predict(notes)]
    assert model.pipeline is not None  # the pipeline was kept in memory, not as a path into the download

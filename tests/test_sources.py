"""Training on several labelled files: provenance, errors naming the right file, per-source figures."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.config import load_train_config
from borrower_typing.data import DataError
from borrower_typing.sources import read_sources
from borrower_typing.train import load_labelled, train


@pytest.fixture
def two_files(small_corpus, tmp_path):
    df = pd.read_csv(small_corpus, dtype=str, keep_default_na=False)
    lender = df[df["style"] == "call"][["text", "label"]]
    corpus = df[df["style"] != "call"]
    a, b = tmp_path / "corpus.csv", tmp_path / "lender_labelled.csv"
    corpus.to_csv(a, index=False)
    lender.to_csv(b, index=False)
    return a, b, len(corpus), len(lender)


def test_rows_keep_their_file(two_files, labels):
    a, b, n_a, n_b = two_files
    cfg = load_train_config(None, {"data.path": str(a), "data.sources": [str(b)]})
    df = read_sources(cfg.data, labels)
    assert df["provenance"].value_counts().to_dict() == {"corpus": n_a, "lender_labelled": n_b}
    data = load_labelled(cfg, labels)
    assert len(data) == n_a + n_b and (data["provenance"] == "lender_labelled").sum() == n_b


def test_bad_label_is_named_in_its_own_file(two_files, labels, tmp_path):
    a, b, _, _ = two_files
    df = pd.read_csv(b, dtype=str)
    df.loc[3, "label"] = "很难说"
    df.to_csv(b, index=False)
    cfg = load_train_config(None, {"data.path": str(a), "data.sources": [str(b)]})
    with pytest.raises(DataError, match=r"lender_labelled\.csv: unknown label .*row 4 \('很难说'\)"):
        load_labelled(cfg, labels)


def test_same_file_name_twice_is_refused(two_files, labels, tmp_path):
    a, _, _, _ = two_files
    other = tmp_path / "x"
    other.mkdir()
    (other / "corpus.csv").write_bytes(a.read_bytes())
    cfg = load_train_config(None, {"data.path": str(a), "data.sources": [str(other / "corpus.csv")]})
    with pytest.raises(DataError, match="share a name"):
        read_sources(cfg.data, labels)


@pytest.mark.slow
def test_training_holds_out_a_source_and_reports_it_apart(two_files, tmp_path):
    a, b, _, _ = two_files
    cfg = load_train_config(None, {"data.path": str(a), "data.sources": [str(b)], "data.group_column": "provenance"})
    said = []
    result = train(cfg, reports_dir=tmp_path / "reports", track=False, progress=said.append)
    m = result.metrics
    assert {"logo_macro_f1_corpus", "logo_macro_f1_lender_labelled"} <= set(m)
    assert {"cv_macro_f1_source_lender_labelled", "logo_macro_f1_source_lender_labelled"} <= set(m)
    # held out as a group, the lender's rows are scored by a model that never saw them: the same figure
    assert m["logo_macro_f1_source_lender_labelled"] == pytest.approx(m["logo_macro_f1_lender_labelled"])
    assert any(line.startswith("macro-F1 by source: corpus CV") for line in said)


def test_cli_takes_data_more_than_once(two_files, tmp_path):
    a, b, _, _ = two_files
    df = pd.read_csv(b, dtype=str)
    df.loc[0, "label"] = "不知道"
    df.to_csv(b, index=False)
    out = CliRunner().invoke(app, ["train", "--data", str(a), "--data", str(b), "--no-tracking"])
    # the second file was read as a source of its own: its bad row is named in it
    assert out.exit_code == 2 and "lender_labelled.csv: unknown label" in out.output and "row 1" in out.output

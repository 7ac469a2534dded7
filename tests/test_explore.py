"""The notebook helpers: distinctive words, the personal-data scan, run tables, slices, errors and plots."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from borrower_typing import explore
from borrower_typing.text import mask_pii


# --- distinctive words --------------------------------------------------------------------------------
def test_word_only_in_one_class_gets_its_top_log_odds():
    tokens = [["起诉", "法院", "还", "说"]] * 20 + [["工资", "还", "说"]] * 20 + [["关机", "说"]] * 20
    labels = ["confident"] * 20 + ["serial_promiser"] * 20 + ["none"] * 20
    scores = explore.log_odds_dirichlet(tokens, labels)
    confident = scores[scores["label"] == "confident"]
    assert confident.iloc[0]["token"] in {"起诉", "法院"} and confident.iloc[0]["z"] > 3
    assert scores.set_index(["label", "token"]).loc[("serial_promiser", "工资"), "z"] > 3
    # a word every class uses as often says nothing about any of them
    assert abs(scores.set_index(["label", "token"]).loc[("none", "说"), "z"]) < abs(
        scores.set_index(["label", "token"]).loc[("none", "关机"), "z"]
    )
    assert set(scores.columns) == {"label", "token", "count", "count_rest", "delta", "z"}


def test_prior_ranks_a_frequent_distinctive_word_above_a_one_off():
    tokens = [["还不了", "没钱"]] * 30 + [["还不了", "偶然"]] + [["下周", "还"]] * 31
    labels = ["stubborn"] * 31 + ["serial_promiser"] * 31
    top = explore.log_odds_dirichlet(tokens, labels)
    stubborn = top[top["label"] == "stubborn"].reset_index(drop=True)
    rank = {t: i for i, t in enumerate(stubborn["token"])}
    assert rank["还不了"] < rank["偶然"] and rank["没钱"] < rank["偶然"]


def test_binary_counts_a_word_once_per_note():
    scores = explore.log_odds_dirichlet([["又", "又", "又"], ["好"]], ["a", "b"], binary=True)
    assert scores.set_index(["label", "token"]).loc[("a", "又"), "count"] == 1


def test_top_terms_side_by_side():
    tokens = [["起诉", "还"]] * 5 + [["工资", "还"]] * 5
    table = explore.top_terms(explore.log_odds_dirichlet(tokens, ["a"] * 5 + ["b"] * 5), k=2)
    assert list(table.columns) == ["a", "b"] and len(table) == 2
    assert table.loc[1, "a"].startswith("起诉 (")


def test_tokenize_notes_sees_what_the_model_sees():
    (tokens,) = explore.tokenize_notes(["客户说下周还3200元，电话13912345678"])
    assert "AMT" in tokens and "PHONE" in tokens and "13912345678" not in "".join(tokens)


# --- personal data ------------------------------------------------------------------------------------
def test_scan_finds_leftover_numbers_whole_or_partly_masked():
    texts = [
        "客户电话13912345678已停机",
        "身份证440106199001011234",
        "证件4401**********123X",
        "还款卡6222 0212 3456 7890",
        "留的号码是138****2207",
        "欠款4862元，逾期12天，2023-12-15承诺还款，投诉12378",
    ]
    found = explore.pii_leftovers(texts)
    assert list(found["row"]) == [0, 1, 2, 3, 4]
    assert list(found["kind"]) == ["mobile", "id", "id", "card", "mobile"]
    assert list(found["partly_masked"]) == [False, False, True, False, True]
    assert "13912345678" not in found.to_string()  # the table itself must not leak
    assert explore.pii_leftovers([mask_pii(t) for t in texts]).empty


def test_survival_table_counts_raw_and_masked():
    table = explore.pii_survival(["电话13912345678", "卡号6222021234567890", "没有号码"])
    assert table.loc["mobile"].tolist() == [1, 0] and table.loc["card"].tolist() == [1, 0]
    assert table["after_mask_pii"].sum() == 0


# --- near duplicates ----------------------------------------------------------------------------------
def test_near_duplicate_pairs_show_both_labels():
    note = "客户称这个月工资没发，下周五前一定还清，请不要再打给家里人，电话13912345678"
    df = pd.DataFrame(
        {
            "text": [note, note.replace("一定", "肯定"), "完全不同的一条记录，客户拒绝沟通后挂断电话"],
            "label": ["serial_promiser", "victim", "evasive"],
        }
    )
    pairs = explore.near_duplicate_pairs(df, threshold=0.7)
    assert len(pairs) == 1
    row = pairs.iloc[0]
    assert (row["i"], row["j"], row["label_i"], row["label_j"]) == (0, 1, "serial_promiser", "victim")
    assert "PHONE" in row["text_i"] and "13912345678" not in row["text_i"]


# --- MLflow runs --------------------------------------------------------------------------------------
def _log_run(mlflow, name, params, metrics):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
    return run.info.run_id


def test_runs_table_from_a_temporary_sqlite_store(tracking_uri, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment("borrower-typing")
    good = _log_run(
        mlflow,
        "train",
        {"classifier.kind": "linear_svc", "classifier.C": "0.5", "features.char.ngram_range": "[1, 3]"},
        {"cv_macro_f1_mean": 0.9, "logo_macro_f1_mean": 0.85, "fit_seconds": 1.5, "evaluation_seconds": 9.0},
    )
    worse = _log_run(
        mlflow,
        "train",
        {"classifier.kind": "logreg", "classifier.C": "2.0", "features.char.ngram_range": "[2, 4]"},
        {"cv_macro_f1_mean": 0.95, "logo_macro_f1_mean": 0.7, "fit_seconds": 0.5, "evaluation_seconds": 4.0},
    )
    client = MlflowClient(tracking_uri)
    client.create_registered_model("borrower-typing")
    for run_id in (good, worse):
        client.create_model_version("borrower-typing", str(tmp_path / run_id), run_id=run_id)
    client.set_registered_model_alias("borrower-typing", "champion", "2")

    versions = explore.model_versions(tracking_uri, "borrower-typing")
    assert list(versions["version"]) == ["1", "2"] and versions.loc[1, "aliases"] == "champion"
    runs = mlflow.search_runs(experiment_names=["borrower-typing"])
    table = explore.runs_table(runs, versions)
    assert list(table.columns) == list(explore.RUN_COLUMNS)
    # ranked by leave-one-group-out macro-F1, not CV: the honest score decides
    assert list(table["run_id"]) == [good, worse]
    assert list(table["model_version"]) == ["1", "2"] and list(table["champion"]) == [False, True]
    assert table.loc[0, "classifier.C"] == 0.5 and table.loc[1, "classifier.kind"] == "logreg"
    assert table.loc[0, "fit_seconds"] == 1.5
    best = explore.best_registered_run(table)
    assert best is not None and best["run_id"] == good and best["model_version"] == "1"


def test_runs_table_without_runs_keeps_its_columns(tracking_uri):
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(experiment_names=["borrower-typing"])
    table = explore.runs_table(runs, explore.model_versions(tracking_uri, "borrower-typing"))
    assert table.empty and list(table.columns) == list(explore.RUN_COLUMNS)
    assert explore.best_registered_run(table) is None


def test_store_exists_only_checks_sqlite_files(tmp_path):
    assert not explore.store_exists(f"sqlite:///{tmp_path / 'missing.db'}")
    (tmp_path / "there.db").write_bytes(b"")
    assert explore.store_exists(f"sqlite:///{tmp_path / 'there.db'}")
    assert explore.store_exists("http://127.0.0.1:5000")


def test_comparison_falls_back_to_cv_without_groups():
    table = pd.DataFrame({"logo_macro_f1_mean": [np.nan, np.nan], "cv_macro_f1_mean": [0.8, 0.9]})
    assert explore.comparison_column(table) == "cv_macro_f1_mean"


# --- slices and errors --------------------------------------------------------------------------------
CLASSES = ["victim", "evasive", "none"]


def _proba(pred):
    return np.eye(len(CLASSES))[[CLASSES.index(p) for p in pred]]


def test_slice_f1_per_group_and_class():
    y = ["victim", "evasive", "victim", "evasive"]
    proba = _proba(["victim", "evasive", "evasive", "victim"])
    table = explore.slice_f1(y, proba, CLASSES, ["call", "call", "visit", "visit"])
    assert table.loc["macro", "call"] == 1.0 and table.loc["macro", "visit"] == 0.0
    assert np.isnan(table.loc["none", "call"])  # a class a slice lacks is not scored as zero
    assert list(table.index) == [*CLASSES, "macro"]


def test_class_f1_compares_prediction_sets():
    y = ["victim", "evasive", "none"]
    table = explore.class_f1(y, {"cv": _proba(y), "held_out": _proba(["evasive", "evasive", "none"])}, CLASSES)
    assert table["cv"].tolist() == [1.0, 1.0, 1.0]
    assert table.loc["victim", "held_out"] == 0.0 and table.loc["none", "held_out"] == 1.0


def test_worst_errors_are_confident_mistakes_only():
    y = np.array(["victim", "evasive", "victim", "none"])
    proba = np.array(
        [
            [0.9, 0.05, 0.05],  # right
            [0.6, 0.3, 0.1],  # wrong, 0.6
            [0.05, 0.93, 0.02],  # wrong, 0.93
            [0.1, 0.1, 0.8],  # right
        ]
    )
    texts = ["a", "b 13912345678", "c", "d"]
    table = explore.worst_errors(texts, y, proba, CLASSES, n=5)
    assert list(table["row"]) == [2, 1]
    assert list(table["predicted"]) == ["evasive", "victim"] and table.loc[0, "p_given"] == 0.05
    assert "PHONE" in table.loc[1, "text"]


# --- plots --------------------------------------------------------------------------------------------
def test_display_names_fall_back_to_slugs_with_a_warning(monkeypatch, capsys):
    monkeypatch.setattr(explore, "cjk_font", lambda: None)
    assert explore.type_display_names({"victim": "受害者型"}) == {"victim": "victim"}
    assert "no CJK font" in capsys.readouterr().out


def test_display_names_use_chinese_when_a_font_exists(monkeypatch):
    monkeypatch.setattr(explore, "cjk_font", lambda: "Noto Sans CJK SC")
    with matplotlib.rc_context():
        assert explore.type_display_names({"victim": "受害者型"}) == {"victim": "受害者型\nvictim"}
        assert matplotlib.rcParams["font.sans-serif"][0] == "Noto Sans CJK SC"


def test_figure_png_without_pyplot():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    assert explore.figure_png(fig).startswith(b"\x89PNG")


@pytest.mark.parametrize("bad", [None, float("nan"), 13912345678])
def test_scan_accepts_any_cell(bad):
    found = explore.pii_leftovers([bad])
    assert list(found.columns) == ["row", "kind", "partly_masked", "shown"]

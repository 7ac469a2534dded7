"""The CLI is thin: these check parsing, output shape and exit codes, not the model."""

import json
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from borrower_typing.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "evaluate", "predict", "score", "data"):
        assert command in result.output


def test_python_dash_m_works_like_the_script():
    out = subprocess.run(
        [sys.executable, "-m", "borrower_typing", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "score" in out.stdout


def test_predict_json(model_dir):
    result = runner.invoke(app, ["predict", "你们去起诉吧我不怕", "--json", "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["type"] == "confident" and answer["strategy"]
    assert answer["best_guess"] == "confident" and answer["best_guess_confidence"] == answer["confidence"]
    assert answer["review_reason"] == "" and isinstance(answer["alternatives"], list)


def test_predict_readable(model_dir):
    result = runner.invoke(app, ["predict", "家属说借款人上月因病去世了", "--model", str(model_dir)])
    assert result.exit_code == 0
    assert "死亡" in result.output and "deceased" in result.output and "1161" in result.output


def test_predict_readable_ends_with_the_rules_for_every_contact(model_dir):
    """A collector reading one answer also reads the rules no per-type strategy repeats (hours, attempts,
    identity, third parties); the JSON answer keeps its columns."""
    from borrower_typing.labels import load_labels

    rules = load_labels().common_rules
    result = runner.invoke(app, ["predict", "客户说下周五发工资一定还", "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    text = "".join(result.output.split())  # rich wraps long lines
    assert "通用规则" in text and text.index("处置策略") < text.index("通用规则")
    for i, rule in enumerate(rules, 1):
        assert f"{i}.{''.join(rule.split())}" in text
    answer = runner.invoke(app, ["predict", "客户说下周五发工资一定还", "--json", "--model", str(model_dir)])
    assert "通用规则" not in answer.output and "common_rules" not in json.loads(answer.output)


def test_predict_stdin_one_json_line_per_input_line_blank_ones_included(model_dir):
    result = runner.invoke(
        app, ["predict", "-", "--model", str(model_dir)], input="你去告啊\n\n客户哭着说钱被骗了\n关机\n"
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) == 4
    assert [line["type"] for line in lines][:3] == ["confident", "none", "victim"]
    assert lines[1]["review_reason"] == "empty" and lines[3]["needs_review"] and lines[3]["type"] == "none"


def test_predict_readable_review_row_shows_the_guess_as_a_guess(model_dir):
    result = runner.invoke(app, ["predict", "关机", "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "待人工复核 (none)" in result.output and "best guess" in result.output


def test_predict_missing_model_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["predict", "x", "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no model at" in result.output


def test_score_summary_and_refusal_to_overwrite(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"催记内容": ["你去告啊", "", "客户称明天还"]}).to_csv(src, index=False, encoding="gb18030")
    args = ["score", str(src), "-o", str(tmp_path / "out.csv"), "--model", str(model_dir)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "scored 3 rows" in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 2 and "--overwrite" in second.output
    assert runner.invoke(app, [*args, "--overwrite", "--quiet"]).exit_code == 0


def test_score_missing_column_names_it(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"备注": ["x"]}).to_csv(src, index=False)
    result = runner.invoke(
        app,
        [
            "score",
            str(src),
            "-o",
            str(tmp_path / "o.csv"),
            "--model",
            str(model_dir),
            "--text-column",
            "催记内容",
        ],
    )
    assert result.exit_code == 2 and "'催记内容'" in result.output


def test_validate_passes_and_fails(tmp_path):
    good = tmp_path / "good.csv"
    pd.DataFrame(
        {"text": ["你去告啊我不怕", "客户哭诉被骗"], "label": ["自信型", "victim"], "style": ["crm", "call"]}
    ).to_csv(good, index=False)
    ok = runner.invoke(app, ["data", "validate", str(good)])
    assert ok.exit_code == 0 and "OK: 2 rows" in ok.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"text": ["该客户属于顽固型", ""], "label": ["stubborn", "怪型"]}).to_csv(bad, index=False)
    fail = runner.invoke(app, ["data", "validate", str(bad)])
    assert fail.exit_code == 1
    assert (
        "row 1: label_leak" in fail.output
        and "row 2: empty_text" in fail.output
        and "row 2: unknown_label" in fail.output
    )


def test_validate_exits_0_on_warnings_and_1_on_errors(tmp_path):
    path = tmp_path / "x.csv"
    rows = {"text": ["你去告啊我不怕", "你去告啊，我不怕", ""], "label": ["confident", "confident", "none"]}
    pd.DataFrame(rows).to_csv(path, index=False)
    warned = runner.invoke(app, ["data", "validate", str(path)])
    assert warned.exit_code == 0 and "row 3: empty_text (warning)" in warned.output
    assert "0 errors, 2 warnings" in warned.output
    rows["label"][1] = "evasive"
    pd.DataFrame(rows).to_csv(path, index=False)
    failed = runner.invoke(app, ["data", "validate", str(path)])
    assert failed.exit_code == 1 and "row 2: label_conflict (error)" in failed.output


def test_validate_custom_columns(tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame({"note": ["你去告啊"], "kind": ["confident"]}).to_csv(path, index=False)
    result = runner.invoke(app, ["data", "validate", str(path), "--text-column", "note", "--label-column", "kind"])
    assert result.exit_code == 0, result.output


def test_train_bad_config_names_field(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("classifier:\n  kind: tree\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--config", str(cfg), "--no-tracking"])
    assert result.exit_code == 2 and "classifier.kind" in result.output


def test_evaluate_on_labelled_file(model_dir, small_corpus, tmp_path):
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(small_corpus),
            "--model",
            str(model_dir),
            "--reports",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output and (tmp_path / "r" / "confusion_matrix.png").exists()


def test_predict_panel_masks_numbers_and_emails(model_dir):
    note = "客户邮箱 zhang.san@example.com，电话 138-1234-5678，称下周还款"
    result = runner.invoke(app, ["predict", note, "--model", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "zhang.san@example.com" not in result.output and "1234" not in result.output
    assert "EMAIL" in result.output and "PHONE" in result.output


def test_missing_config_file_is_an_error_naming_it(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"催记内容": ["客户称明天还"]}).to_csv(src, index=False)
    missing = tmp_path / "nope.yaml"
    score = ["score", str(src), "-o", str(tmp_path / "o.csv"), "--model", str(model_dir), "-c", str(missing)]
    for args in (score, ["train", "--config", str(missing), "--no-tracking"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2 and "nope.yaml" in result.output, result.output
    assert not (tmp_path / "o.csv").exists()


def test_score_config_is_read_and_passed_down(model_dir, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"memo": ["客户称明天还"], "other": ["x"]}).to_csv(src, index=False)
    cfg = tmp_path / "score.yaml"
    cfg.write_text("score:\n  text_column: memo\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    result = runner.invoke(app, ["score", str(src), "-o", str(out), "--model", str(model_dir), "-c", str(cfg), "-q"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out, encoding="utf-8-sig")["type"].notna().all()
    cfg.write_text("score:\n  jobs: 0\n", encoding="utf-8")
    bad = runner.invoke(app, ["score", str(src), "-o", str(out), "--model", str(model_dir), "-c", str(cfg)])
    assert bad.exit_code == 2 and "jobs" in bad.output and "Traceback" not in bad.output


def test_bad_labels_file_is_one_line_not_a_traceback(tmp_path):
    labels = tmp_path / "labels.yaml"
    labels.write_text("types: [\n", encoding="utf-8")
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"labels_path: {labels}\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--config", str(cfg), "--no-tracking"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "labels.yaml" in lines[0] and "Traceback" not in result.output


def test_score_reading_and_formula_options_reach_the_local_engine(model_dir, tmp_path):
    """--sep chooses between delimiters the header allows, --sheet picks the sheet, --no-formula-guard writes
    formula-like cells as they are; the options the spark engine lacks are refused before anything runs."""
    src = tmp_path / "in.csv"
    src.write_text("id;text,备注\n1;=1+1,x\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    base = ["score", str(src), "-o", str(out), "--model", str(model_dir), "-q", "--text-column", "text,备注"]
    ambiguous = runner.invoke(app, base)
    assert ambiguous.exit_code == 2 and "--sep" in ambiguous.output and not out.exists()
    assert runner.invoke(app, [*base, "--sep", ";"]).exit_code == 0
    assert pd.read_csv(out, sep=",", encoding="utf-8-sig", dtype=str)["text,备注"].tolist() == ["'=1+1,x"]
    raw = runner.invoke(app, [*base, "--sep", ";", "--no-formula-guard", "--overwrite"])
    assert raw.exit_code == 0, raw.output
    assert pd.read_csv(out, encoding="utf-8-sig", dtype=str)["text,备注"].tolist() == ["=1+1,x"]

    book = tmp_path / "in.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"说明": ["导出说明"]}).to_excel(writer, sheet_name="说明", index=False)
        pd.DataFrame({"催记内容": ["客户称明天还", "关机"]}).to_excel(writer, sheet_name="数据", index=False)
    xout = tmp_path / "x.csv"
    args = ["score", str(book), "-o", str(xout), "--model", str(model_dir), "-q"]
    first = runner.invoke(app, args)
    assert first.exit_code == 2 and "'数据'" in first.output and "--sheet" in first.output
    assert runner.invoke(app, [*args, "--sheet", "数据"]).exit_code == 0
    assert len(pd.read_csv(xout, encoding="utf-8-sig")) == 2

    spark = runner.invoke(app, [*args, "--engine", "spark", "--sheet", "2"])
    assert spark.exit_code == 2 and "--sheet" in spark.output


def test_score_refuses_monitoring_options_without_monitor(tmp_path):
    # `--fail-on-drift` without `--monitor` would otherwise exit 0 having checked nothing.
    notes = tmp_path / "notes.csv"
    notes.write_text("text\n客户称下周一定还款\n", encoding="utf-8")
    for extra in (["--fail-on-drift"], ["--by", "催收员"], ["--no-tracking"]):
        result = CliRunner().invoke(app, ["score", str(notes), "-o", str(tmp_path / "out.csv"), *extra])
        assert result.exit_code == 2 and "need --monitor" in result.output, extra
        assert not (tmp_path / "out.csv").exists()

"""Tasks out: the labelling config, Label Studio tasks with pre-annotations, the spreadsheet."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import openpyxl
import pandas as pd
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.labelling.export import export_tasks
from borrower_typing.labelling.tasks import FROM_NAME, label_config, text_digest
from borrower_typing.labels import CLASSES

PHONE_NOTE = "客户称你们去起诉吧我不怕，有事打我电话13812345678，说完就挂了。"


def test_config_lists_the_ten_labels_with_hints_and_hotkeys(labels):
    root = ET.fromstring(label_config(labels))
    choices = root.find("Choices")
    assert choices.get("name") == FROM_NAME and choices.get("choice") == "single-radio"
    items = choices.findall("Choice")
    assert [c.get("value") for c in items] == [labels.name_zh(s) for s in CLASSES]
    assert [c.get("hint") for c in items] == [labels.info(s).description for s in CLASSES]
    assert len({c.get("hotkey") for c in items}) == 10


def test_label_config_command_prints_the_generated_config(labels):
    out = CliRunner().invoke(app, ["label", "config"])
    assert out.exit_code == 0 and out.output == label_config(labels)


def _export_file(tmp_path, corpus) -> tuple:
    notes = corpus.groupby("label").head(3)[["id", "text", "label"]].reset_index(drop=True)
    notes.loc[0, "text"] = PHONE_NOTE
    notes = pd.concat([notes, notes.iloc[[1, 1, 1]]], ignore_index=True)  # one note four times
    path = tmp_path / "export.csv"
    notes.to_csv(path, index=False)
    return path, notes


def test_tasks_carry_masked_note_ids_and_pre_annotation(trained_model, corpus, labels, tmp_path):
    path, notes = _export_file(tmp_path, corpus)
    out = tmp_path / "tasks.json"
    summary = export_tasks(path, out, trained_model, budget=len(notes), id_column="id")
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert len(tasks) == summary.chosen == len(notes) - 3  # the repeated note once
    names = {labels.name_zh(s) for s in CLASSES}
    for task in tasks:
        data, pred = task["data"], task["predictions"][0]
        assert "13812345678" not in data["text"]
        assert data["text_sha256"] == text_digest(data["text"])
        assert data["note_id"] == notes.loc[data["source_row"] - 1, "id"]
        assert pred["result"][0]["value"]["choices"][0] in names and 0 < pred["score"] <= 1
        assert pred["model_version"]
    assert max(t["data"]["duplicates"] for t in tasks) == 4


def test_labelled_input_gets_an_audit_slice(trained_model, corpus, tmp_path):
    path, notes = _export_file(tmp_path, corpus)
    notes.loc[[2, 5], "label"] = ["deceased", "victim"]  # two wrong labels among confident notes
    notes.to_csv(path, index=False)
    summary = export_tasks(path, tmp_path / "t.json", trained_model, budget=10, label_column="label")
    audited = [t["data"]["source_row"] for t in summary.tasks if t["data"]["why"] == "label_audit"]
    assert audited and set(audited) <= {r + 1 for r in notes.index}
    assert {3, 6} & set(audited)


def test_xlsx_has_a_dropdown_and_keeps_formula_like_notes_as_text(trained_model, corpus, labels, tmp_path):
    path, notes = _export_file(tmp_path, corpus)
    notes.loc[0, "text"] = "=客户称要去投诉你们乱收费，不还了"
    notes.to_csv(path, index=False)
    out = tmp_path / "tasks.xlsx"
    export_tasks(path, out, trained_model, budget=len(notes), fmt="xlsx")
    wb = openpyxl.load_workbook(out)
    ws = wb["tasks"]
    header = [c.value for c in ws[1]]
    (dv,) = ws.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1.startswith("labels!")
    column = openpyxl.utils.get_column_letter(header.index("label") + 1)
    assert str(dv.sqref).startswith(f"{column}2")
    assert [r[0].value for r in wb["labels"].iter_rows()] == [labels.name_zh(s) for s in CLASSES]
    texts = [row[header.index("text")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert any(isinstance(t, str) and t.startswith("=客户称要去投诉") for t in texts)


def test_existing_tasks_file_is_kept_without_overwrite(model_dir, corpus, tmp_path):
    path, _ = _export_file(tmp_path, corpus)
    out = tmp_path / "tasks.json"
    out.write_text("keep me", encoding="utf-8")
    args = ["label", "export", str(path), "-o", str(out), "--budget", "3", "-m", str(model_dir)]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "already exists" in refused.output
    assert out.read_text(encoding="utf-8") == "keep me"
    wrong = CliRunner().invoke(app, [*args[:4], str(tmp_path / "t.json"), *args[5:], "--format", "xlsx"])
    assert wrong.exit_code == 2 and ".xlsx" in wrong.output


def test_a_model_without_a_registered_version_is_cited_by_its_training_time():
    from types import SimpleNamespace

    from borrower_typing.labelling.export import model_version

    model = SimpleNamespace(meta={"trained_at": "2026-12-05T01:00:00+00:00"})
    assert model_version(model) == "borrower-typing@2026-12-05T01:00:00+00:00"
    identity = {"model_name": "borrower-typing", "model_version": "7", "run_id": "abc"}
    assert model_version(model, identity) == "borrower-typing/7"

"""Labels back: resolution, agreement, skips counted, and every kind of bad export named by task or row."""

from __future__ import annotations

import copy
import json

import openpyxl
import pytest
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.labelling.imports import ImportProblems, from_tasks, read_export
from borrower_typing.labelling.tasks import text_digest
from borrower_typing.validate import validate_frame

NOTES = {
    1: ("客户说你们去起诉吧，我不怕，法院见。", "自信型"),
    2: ("客户哭诉生意失败老婆住院，求宽限，至今未还一分。", "受害者型"),
    3: ("本人未接，已发短信提醒。", "待人工复核"),
    4: ("客户又说下周发工资一定还，这是第四次改期。", "保证还款型"),
}


def _ann(who: str, *choices: str, cancelled: bool = False, aid: int = 0) -> dict:
    result = [{"from_name": "type", "to_name": "note", "type": "choices", "value": {"choices": list(choices)}}]
    return {
        "id": aid,
        "completed_by": {"email": who},
        "result": [] if cancelled else result,
        "was_cancelled": cancelled,
        "lead_time": 4.0,
        "updated_at": "2026-12-01T10:00:00Z",
    }


def _export() -> list[dict]:
    tasks = []
    for tid, (text, label) in NOTES.items():
        tasks.append(
            {
                "id": tid,
                "data": {"text": text, "note_id": f"N{tid}", "source_row": tid, "text_sha256": text_digest(text)},
                "predictions": [
                    {"model_version": "borrower-typing/7", "score": 0.6, "result": _ann("m", label)["result"]}
                ],
                "annotations": [_ann("a@x", label), _ann("b@x", label)],
            }
        )
    tasks[1]["annotations"] = [_ann("a@x", "受害者型"), _ann("b@x", "推托型"), _ann("c@x", "victim")]
    tasks[2]["annotations"] = [_ann("a@x", "待人工复核"), _ann("b@x", cancelled=True)]
    tasks[3]["annotations"] = [_ann("a@x", "保证还款型"), _ann("b@x", "推托型")]
    return tasks


def test_majority_ties_skips_and_agreement(labels):
    result = from_tasks(_export(), labels)
    rows = result.rows.set_index("task_id")
    assert rows["label"].to_dict() == {"1": "confident", "2": "victim", "3": "none"}
    assert rows.loc["2", "agreement"] == "majority" and rows.loc["1", "agreement"] == "unanimous"
    assert rows.loc["1", "model_version"] == "borrower-typing/7" and rows.loc["1", "annotators"] == "a@x;b@x"
    assert result.ties["task_id"].tolist() == ["4"] and result.ties["label"].tolist() == [""]
    assert result.skipped == ["task 3 (b@x)"]
    pairs = {(p["a"], p["b"]): p for p in result.pair_kappa}
    ab = pairs[("a@x", "b@x")]
    assert (ab["notes"], ab["agreed"]) == (3, 1)
    # a: confident, victim, serial_promiser; b: confident, evasive, evasive
    p_o, p_e = 1 / 3, (1 / 3) * (1 / 3)
    assert ab["kappa"] == pytest.approx((p_o - p_e) / (1 - p_e))
    assert result.class_disagreements == {"evasive": 2, "victim": 1, "serial_promiser": 1}
    assert not validate_frame(result.rows, labels, "text", "label", ("style",)).issues


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda t: t[0]["annotations"][0]["result"][0]["value"].update(choices=["Positive"]),
            "task 1: choice 'Positive'",
        ),
        (
            lambda t: t[1]["annotations"][0]["result"][0]["value"].update(choices=["自信型", "推托型"]),
            "task 2: annotation",
        ),
        (lambda t: t[2]["data"].update(text="本人未接，已发短信提醒。客户已结清。"), "task 3: the note was edited"),
        (lambda t: t.append({"id": 9}), "task #5: not a Label Studio task"),
    ],
)
def test_bad_exports_name_the_task(labels, change, message):
    tasks = copy.deepcopy(_export())
    change(tasks)
    with pytest.raises(ImportProblems, match=message):
        from_tasks(tasks, labels, "export.json")


def test_task_without_annotation_is_counted_not_dropped(labels):
    tasks = _export()
    tasks[0]["annotations"] = []
    result = from_tasks(tasks, labels)
    assert result.unannotated == ["task 1"] and result.summary()["unannotated"] == 1
    assert result.tasks == len(result.rows) + len(result.ties) + 1


def test_cli_import_writes_rows_report_and_ties(tmp_path):
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_export(), ensure_ascii=False), encoding="utf-8")
    out = CliRunner().invoke(app, ["label", "import", str(export), "-o", str(tmp_path / "labelled.csv")])
    assert out.exit_code == 0, out.output
    assert "1 skipped/cancelled" in out.output and "kappa" in out.output
    assert (tmp_path / "labelled.ties.csv").is_file() and (tmp_path / "labelled.agreement.json").is_file()
    check = CliRunner().invoke(app, ["data", "validate", str(tmp_path / "labelled.csv")])
    assert check.exit_code == 0, check.output


def test_cli_import_of_another_projects_export_fails_with_exit_2(tmp_path):
    tasks = _export()
    for t in tasks:
        for a in t["annotations"]:
            a["result"] = [{"from_name": "sentiment", "type": "choices", "value": {"choices": ["Positive"]}}]
    export = tmp_path / "other.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    out = CliRunner().invoke(app, ["label", "import", str(export), "-o", str(tmp_path / "x.csv")])
    assert out.exit_code == 2 and not (tmp_path / "x.csv").exists()


def test_xlsx_round_trip_and_label_outside_the_list(trained_model, corpus, labels, tmp_path):
    from borrower_typing.labelling.export import export_tasks

    src = tmp_path / "src.csv"
    corpus.groupby("label").head(1)[["text", "label"]].to_csv(src, index=False)
    book = tmp_path / "tasks.xlsx"
    export_tasks(src, book, trained_model, budget=5, fmt="xlsx")
    wb = openpyxl.load_workbook(book)
    ws = wb["tasks"]
    header = [c.value for c in ws[1]]
    col = header.index("label") + 1
    ws.cell(row=2, column=col, value="自信型")
    ws.cell(row=3, column=col, value="推托型")
    wb.save(book)
    result = read_export(book, labels)
    assert result.rows["label"].tolist() == ["confident", "evasive"] and len(result.unannotated) == 3
    ws.cell(row=4, column=col, value="很难说")
    wb.save(book)
    with pytest.raises(ImportProblems, match=r"row 4 \(task 3\): label '很难说' is not in the drop-down list"):
        read_export(book, labels)


def test_label_commands_report_a_bad_labels_file_or_model_in_one_line(tmp_path):
    config = CliRunner().invoke(app, ["label", "config", "--labels", str(tmp_path / "missing.yaml")])
    assert config.exit_code == 2 and "missing.yaml" in config.output and "Traceback" not in config.output
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json", encoding="utf-8")
    notes = tmp_path / "notes.csv"
    notes.write_text("text\n客户称下周一定还款\n", encoding="utf-8")
    export = CliRunner().invoke(app, ["label", "export", str(notes), "-o", str(tmp_path / "t.json"), "-m", str(broken)])
    assert export.exit_code == 2 and str(broken) in export.output and "Traceback" not in export.output

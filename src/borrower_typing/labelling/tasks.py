"""Labelling work out: the Label Studio labelling config, tasks with pre-annotations, the spreadsheet variant.

The config is generated from the label table (``labels.yaml``), so the choices, their Chinese names and the
definitions shown as hints never drift from what the model knows. Choices carry the Chinese names (what the
annotator reads); ``imports`` maps them back to slugs through the same table.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

from ..labels import CLASSES, LabelSet
from ..text import mask_pii

FROM_NAME = "type"  # the Choices tag's name: what every annotation's result refers to
TO_NAME = "note"  # the Text tag's name
HOTKEYS = dict(zip(CLASSES, [*"123456789", "0"], strict=True))
XLSX_COLUMNS = (
    "task_id",
    "note_id",
    "source_row",
    "text",
    "predicted",
    "confidence",
    "why",
    "label",
    "annotator",
    "comment",
    "model_version",
    "text_sha256",
)


def label_config(labels: LabelSet) -> str:
    """The Label Studio labelling config (XML): the note, the ten choices with hints and hotkeys, a comment."""
    rows = []
    for slug in CLASSES:
        info = labels.info(slug)
        rows.append(
            f'    <Choice value={quoteattr(info.name_zh)} hint={quoteattr(info.description)} hotkey="{HOTKEYS[slug]}"/>'
        )
    choices = "\n".join(rows)
    return (
        "<View>\n"
        '  <Header value="催收记录：选择借款人类型（按数字键 1–9、0）"/>\n'
        f'  <Text name="{TO_NAME}" value="$text"/>\n'
        '  <Header value="类型（鼠标停在选项上可看定义）" size="5"/>\n'
        f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single-radio" required="true" '
        'showInline="false">\n'
        f"{choices}\n"
        "  </Choices>\n"
        '  <TextArea name="comment" toName="note" placeholder="备注（可选）" maxSubmissions="1" rows="2"/>\n'
        "</View>\n"
    )


def text_digest(text: str) -> str:
    """Fingerprint of the note as sent, to notice a note edited before it came back."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def build_tasks(
    selected: pd.DataFrame,
    labels: LabelSet,
    model_version: str,
    source: str,
    note_ids: pd.Series | None = None,
) -> list[dict[str, Any]]:
    """Label Studio tasks for the rows of a ``selection.select`` frame (index = 1-based source row).

    Each carries the masked note, its ids, why it was chosen, and the model's answer as a pre-annotation.
    """
    tasks = []
    for row, rec in selected.iterrows():
        text = mask_pii(rec["text"])
        top = rec.get("top_class", rec["predicted"])
        data = {
            "text": text,
            "note_id": str(note_ids.loc[row]) if note_ids is not None else str(row),
            "source": source,
            "source_row": int(row),
            "why": rec["why"],
            "text_sha256": text_digest(text),
            "duplicates": int(rec.get("copies", 1)),
        }
        prediction = {
            "model_version": model_version,
            "score": round(float(rec.get("top_p", rec["confidence"])), 4),
            "result": [
                {
                    "from_name": FROM_NAME,
                    "to_name": TO_NAME,
                    "type": "choices",
                    "value": {"choices": [labels.name_zh(top)]},
                }
            ],
        }
        tasks.append({"data": data, "predictions": [prediction]})
    return tasks


def write_tasks_json(tasks: list[dict[str, Any]], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(json.dumps(tasks, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


def write_tasks_xlsx(tasks: list[dict[str, Any]], labels: LabelSet, path: str | Path) -> Path:
    """The same tasks as a workbook: one row per note, a drop-down of the ten Chinese names in ``label``."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..data import _excel_cell

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "tasks"
    ws.append(list(XLSX_COLUMNS))
    for i, task in enumerate(tasks, 1):
        d, p = task["data"], task["predictions"][0]
        values = {
            "task_id": i,
            "note_id": d["note_id"],
            "source_row": d["source_row"],
            "text": d["text"],
            "predicted": p["result"][0]["value"]["choices"][0],
            "confidence": p["score"],
            "why": d["why"],
            "model_version": p["model_version"],
            "text_sha256": d["text_sha256"],
        }
        ws.append([_excel_cell(values.get(c, "")) for c in XLSX_COLUMNS])
        for cell in ws[ws.max_row]:
            # a note starting with "=" must stay text, never become a formula (the digest is checked on import)
            if cell.data_type == "f":
                cell.data_type = "s"
    names = [labels.name_zh(s) for s in CLASSES]
    # The list lives on its own sheet: an inline list is capped at 255 characters and breaks on commas.
    lists = wb.create_sheet("labels")
    for name in names:
        lists.append([name])
    lists.sheet_state = "hidden"
    col = _column_letter(XLSX_COLUMNS.index("label"))
    dv = DataValidation(
        type="list",
        formula1=f"labels!$A$1:$A${len(names)}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="类型不在列表中",
        error="请从下拉列表中选择类型。",
    )
    ws.add_data_validation(dv)
    dv.add(f"{col}2:{col}{max(2, len(tasks) + 1)}")
    ws.column_dimensions[_column_letter(XLSX_COLUMNS.index("text"))].width = 80
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in ws.iter_rows(min_row=2):
        row[XLSX_COLUMNS.index("text")].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    wb.save(tmp)
    tmp.replace(path)
    return path


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)

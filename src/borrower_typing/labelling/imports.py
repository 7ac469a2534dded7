"""``label import``: a Label Studio JSON export (or the filled spreadsheet) back to labelled rows.

One row per note with its resolved label, annotators, time and the model version that pre-annotated it.
Several annotators on a note: Cohen's kappa per pair, disagreements per class, majority resolution; a tie is
flagged (written to a separate file), never guessed. Skipped/cancelled annotations and unannotated tasks are
counted and listed. Input that cannot be trusted (another project's choice names, two choices in one
annotation, a note changed since export, a spreadsheet label outside the list) stops the import with one line
per problem naming the task id or row.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from ..data import DataError, read_table, write_table
from ..labels import CLASSES, LabelSet
from .tasks import FROM_NAME, text_digest

OUTPUT_COLUMNS = (
    "text",
    "label",
    "note_id",
    "source",
    "source_row",
    "task_id",
    "annotators",
    "votes",
    "agreement",
    "labelled_at",
    "lead_time_s",
    "model_version",
    "predicted",
)


class ImportProblems(DataError):
    """Every problem found in an export, one line each."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        shown = "\n".join(f"{path}: {p}" for p in problems[:50])
        more = f"\n… and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problems, nothing written:\n{shown}{more}")


@dataclass
class Vote:
    annotator: str
    label: str
    at: str
    lead_time: float | None


@dataclass
class ImportResult:
    rows: pd.DataFrame
    ties: pd.DataFrame
    tasks: int
    skipped: list[str] = field(default_factory=list)  # "task 12 (annotator a@x)"
    unannotated: list[str] = field(default_factory=list)
    pair_kappa: list[dict[str, Any]] = field(default_factory=list)
    class_disagreements: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "labelled": len(self.rows),
            "ties": len(self.ties),
            "skipped_or_cancelled": len(self.skipped),
            "unannotated": len(self.unannotated),
            "pair_kappa": self.pair_kappa,
            "class_disagreements": self.class_disagreements,
            "skipped_detail": self.skipped,
            "unannotated_detail": self.unannotated,
        }


# --- reading ------------------------------------------------------------------------------------------
def read_export(path: str | Path, labels: LabelSet, users: dict[int, str] | None = None) -> ImportResult:
    """Read a Label Studio JSON export or a filled ``label export --format xlsx`` workbook."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        return resolve(_xlsx_tasks(path, labels), labels, path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a Label Studio JSON export ({exc})") from None
    return from_tasks(raw, labels, path, users)


def from_tasks(
    raw: Any, labels: LabelSet, origin: str | Path = "export", users: dict[int, str] | None = None
) -> ImportResult:
    """Label Studio's JSON export (a list of tasks, as returned by its export API) to an ``ImportResult``."""
    origin = Path(str(origin))
    if not isinstance(raw, list):
        raise DataError(f"{origin}: expected a JSON list of tasks (Label Studio's JSON export)")
    problems: list[str] = []
    parsed = []
    for n, task in enumerate(raw, 1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            problems.append(f"task #{n}: not a Label Studio task (no 'data' object)")
            continue
        parsed.append(_parse_task(task, n, labels, users or {}, problems))
    if problems:
        raise ImportProblems(origin, problems)
    return resolve(parsed, labels, origin)


def _who(completed_by: Any, users: dict[int, str]) -> str:
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or completed_by.get("username") or completed_by.get("id"))
    if isinstance(completed_by, int):
        return users.get(completed_by, f"user {completed_by}")
    return str(completed_by) if completed_by is not None else "unknown"


def _parse_task(task: dict, n: int, labels: LabelSet, users: dict[int, str], problems: list[str]) -> dict:
    data = task["data"]
    tid = task.get("id", f"#{n}")
    text = data.get("text")
    if not isinstance(text, str):
        problems.append(f"task {tid}: no note text in data.text")
        text = ""
    sha = data.get("text_sha256")
    if sha and text_digest(text) != sha:
        problems.append(f"task {tid}: the note was edited after export (its text no longer matches text_sha256)")
    # Predictions come inline, or (in a project export) as ids with a copy under each annotation
    shown = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
    shown += [a["prediction"] for a in task.get("annotations") or [] if isinstance(a.get("prediction"), dict)]
    model_version, predicted = "", ""
    for pred in shown[:1]:
        model_version = str(pred.get("model_version") or "")
        choice = _choices(pred.get("result") or [])
        predicted = (labels.try_slug(choice[0]) or "") if len(choice) == 1 else ""
    votes, skipped = [], []
    for ann in task.get("annotations") or []:
        who = _who(ann.get("completed_by"), users)
        if ann.get("was_cancelled"):
            skipped.append(f"task {tid} ({who})")
            continue
        choices = _choices(ann.get("result") or [])
        foreign = sorted(
            {str(r.get("from_name")) for r in ann.get("result") or [] if isinstance(r, dict)} - {FROM_NAME, "comment"}
        )
        if not choices and foreign:
            problems.append(
                f"task {tid}: annotation by {who} answers {', '.join(foreign)!s}, not {FROM_NAME!r} "
                "(an export from another project?)"
            )
            continue
        if not choices:
            skipped.append(f"task {tid} ({who}, submitted without a choice)")
            continue
        if len(choices) > 1:
            problems.append(f"task {tid}: annotation {ann.get('id')} by {who} has {len(choices)} choices {choices}")
            continue
        slug = labels.try_slug(choices[0])
        if slug is None:
            problems.append(
                f"task {tid}: choice {choices[0]!r} by {who} is not one of this project's types "
                "(an export from another project?)"
            )
            continue
        at = str(ann.get("updated_at") or ann.get("created_at") or "")
        lead = ann.get("lead_time")
        votes.append(Vote(who, slug, at, float(lead) if isinstance(lead, int | float) else None))
    return {
        "task_id": str(tid),
        "text": text,
        "note_id": str(data.get("note_id", "")),
        "source": str(data.get("source", "")),
        "source_row": data.get("source_row", ""),
        "model_version": model_version,
        "predicted": predicted,
        "votes": votes,
        "skipped": skipped,
    }


def _choices(result: list) -> list[str]:
    out: list[str] = []
    for item in result:
        if isinstance(item, dict) and item.get("type") == "choices" and item.get("from_name", FROM_NAME) == FROM_NAME:
            out.extend(str(c) for c in (item.get("value") or {}).get("choices") or [])
    return out


def _xlsx_tasks(path: Path, labels: LabelSet) -> list[dict]:
    df = read_table(path)
    missing = [c for c in ("task_id", "text", "label", "text_sha256") if c not in df.columns]
    if missing:
        raise DataError(f"{path}: not a `label export --format xlsx` workbook: no column {', '.join(missing)}")
    allowed = {labels.name_zh(s): s for s in CLASSES}
    problems, out = [], []
    for row, rec in zip(df.index, df.to_dict("records"), strict=True):
        cell = {k: _s(v) for k, v in rec.items()}
        text = cell["text"]
        where = f"row {row + 1} (task {cell['task_id']})"  # +1: the header is spreadsheet row 1
        if cell["text_sha256"] and text_digest(text) != cell["text_sha256"]:
            problems.append(f"{where}: the note was edited after export (text no longer matches text_sha256)")
        votes = []
        if cell["label"]:
            if cell["label"] not in allowed:
                problems.append(f"{where}: label {cell['label']!r} is not in the drop-down list ({', '.join(allowed)})")
            else:
                votes.append(Vote(cell.get("annotator") or "spreadsheet", allowed[cell["label"]], "", None))
        out.append(
            {
                "task_id": cell["task_id"],
                "text": text,
                "note_id": cell.get("note_id", ""),
                "source": "",
                "source_row": cell.get("source_row", ""),
                "model_version": cell.get("model_version", ""),
                "predicted": labels.try_slug(cell.get("predicted", "")) or "",
                "votes": votes,
                "skipped": [],
            }
        )
    if problems:
        raise ImportProblems(path, problems)
    return out


def _s(value: object) -> str:
    """A spreadsheet cell as stripped text ("" for an empty one)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


# --- resolving ----------------------------------------------------------------------------------------
def resolve(parsed: list[dict], labels: LabelSet, origin: Path) -> ImportResult:
    """Majority per note; ties flagged; agreement between annotators."""
    rows, ties, skipped, unannotated = [], [], [], []
    for t in parsed:
        skipped.extend(t["skipped"])
        votes: list[Vote] = t["votes"]
        if not votes:
            if not t["skipped"]:
                unannotated.append(f"task {t['task_id']}")
            continue
        counts = Counter(v.label for v in votes).most_common()
        top = [lab for lab, c in counts if c == counts[0][1]]
        leads = [v.lead_time for v in votes if v.lead_time is not None]
        rec = {
            "text": t["text"],
            "label": top[0] if len(top) == 1 else "",
            "note_id": t["note_id"],
            "source": t["source"],
            "source_row": t["source_row"],
            "task_id": t["task_id"],
            "annotators": ";".join(v.annotator for v in votes),
            "votes": ";".join(f"{v.annotator}={v.label}" for v in votes),
            "agreement": "single" if len(votes) == 1 else ("unanimous" if len(counts) == 1 else "majority"),
            "labelled_at": max((v.at for v in votes), default=""),
            "lead_time_s": round(sum(leads), 1) if leads else None,
            "model_version": t["model_version"],
            "predicted": t["predicted"],
        }
        if len(top) > 1:
            rec["agreement"] = "tie"
            ties.append(rec)
        else:
            rows.append(rec)
    result = ImportResult(
        rows=pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS)),
        ties=pd.DataFrame(ties, columns=list(OUTPUT_COLUMNS)),
        tasks=len(parsed),
        skipped=skipped,
        unannotated=unannotated,
    )
    result.pair_kappa, result.class_disagreements = agreement(parsed)
    return result


def agreement(parsed: list[dict]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Cohen's kappa for every pair of annotators on the notes both labelled, and per class the number of
    notes where annotators disagreed and at least one chose that class."""
    from sklearn.metrics import cohen_kappa_score

    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    per_class: Counter[str] = Counter()
    for t in parsed:
        first: dict[str, str] = {}
        for v in t["votes"]:
            first.setdefault(v.annotator, v.label)
        for a, b in combinations(sorted(first), 2):
            by_pair[(a, b)].append((first[a], first[b]))
        chosen = set(first.values())
        if len(chosen) > 1:
            per_class.update(chosen)
    pairs = []
    for (a, b), items in sorted(by_pair.items()):
        ya, yb = zip(*items, strict=True)
        same = sum(x == y for x, y in items)
        # kappa is undefined when both gave one and the same class throughout: report agreement only
        kappa = float(cohen_kappa_score(ya, yb)) if len(set(ya) | set(yb)) > 1 else None
        pairs.append({"a": a, "b": b, "notes": len(items), "agreed": same, "kappa": kappa})
    return pairs, dict(per_class.most_common())


def write_import(result: ImportResult, output: str | Path, overwrite: bool = False) -> dict[str, Path]:
    """``output`` (resolved rows), ``<output>.ties.<ext>`` when there are ties, ``<output>.agreement.json``."""
    output = Path(output)
    ties = output.with_name(f"{output.stem}.ties{output.suffix}")
    files = {"labelled": write_table(result.rows, output, overwrite=overwrite)}
    ties.unlink(missing_ok=True)  # a ties file left from an earlier import would describe other labels
    if len(result.ties):
        files["ties"] = write_table(result.ties, ties, overwrite=True)
    report = output.with_name(f"{output.stem}.agreement.json")
    report.write_text(json.dumps(result.summary(), ensure_ascii=False, indent=2), encoding="utf-8")
    files["agreement"] = report
    return files

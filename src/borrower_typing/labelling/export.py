"""``label export``: read a raw or scored export, choose the notes to label, write Label Studio tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ScoreConfig
from ..data import DataError, read_table
from ..schema import pick_text_column
from .selection import SelectionConfig, scored_pool, select
from .tasks import build_tasks, write_tasks_json, write_tasks_xlsx

if TYPE_CHECKING:
    from ..model import TypingModel

# The notes' column is found as `score` finds it: one list of names (configs/score.yaml's defaults).
_TEXT_COLUMNS = (ScoreConfig().text_column, *ScoreConfig().text_column_fallbacks)


@dataclass
class ExportSummary:
    path: Path
    rows: int
    distinct: int
    chosen: int
    why: dict[str, int]
    model_version: str
    tasks: list = field(default_factory=list, repr=False)

    def line(self) -> str:
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.why.items()))
        return (
            f"{self.chosen} tasks from {self.rows} rows ({self.distinct} distinct notes) -> {self.path} "
            f"[{why}]; pre-annotated by model {self.model_version}"
        )


def model_version(model: TypingModel, identity: dict[str, str] | None = None) -> str:
    """A readable model version for pre-annotations: the registered name and version when the model folder
    says them (``bundle.model_identity``: an export or a registry download), else the training time."""
    identity = identity or {}
    if identity.get("model_version"):
        return f"{identity.get('model_name', 'borrower-typing')}/{identity['model_version']}"
    return f"borrower-typing@{model.meta.get('trained_at', 'unknown')}"


def export_tasks(
    source: str | Path,
    output: str | Path,
    model: TypingModel,
    budget: int,
    selection: SelectionConfig | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    label_column: str | None = None,
    fmt: str = "json",
    overwrite: bool = False,
    identity: dict[str, str] | None = None,
) -> ExportSummary:
    """Choose ``budget`` notes of ``source`` and write them as tasks (``fmt`` json or xlsx). ``identity``: what
    the model's folder says of it (``bundle.model_identity``), for the pre-annotations' model version."""
    source, output = Path(source), Path(output)
    if budget < 1:
        raise DataError(f"--budget must be at least 1, got {budget}")
    if output.suffix.lower() == ".xlsx":
        fmt = "xlsx"
    elif fmt == "xlsx":
        raise DataError(f"{output}: --format xlsx needs an output name ending in .xlsx")
    if output.exists() and not overwrite:
        raise DataError(f"{output}: already exists; pass --overwrite to replace it")
    df = read_table(source)
    col = pick_text_column(df.columns, text_column, _TEXT_COLUMNS, source)
    if id_column and id_column not in df.columns:
        raise DataError(f"{source}: no id column {id_column!r}; columns are {list(df.columns)}")
    given = None
    if label_column:
        if label_column not in df.columns:
            raise DataError(f"{source}: no label column {label_column!r}; columns are {list(df.columns)}")
        given = [model.labels.try_slug(v) if isinstance(v, str) and v.strip() else None for v in df[label_column]]
    texts = df[col].fillna("").astype(str).tolist()
    pool = scored_pool(model, texts, given)
    pool["copies"] = pool.groupby("key")["key"].transform("size")
    chosen = select(pool, budget, lambda rows: model.transform([texts[i] for i in rows]), selection)
    chosen.index = df.index[chosen.index.to_numpy()]  # back to the file's 1-based row numbers
    version = model_version(model, identity)
    ids = df[id_column] if id_column else None
    tasks = build_tasks(chosen, model.labels, version, source.name, ids)
    path = write_tasks_xlsx(tasks, model.labels, output) if fmt == "xlsx" else write_tasks_json(tasks, output)
    return ExportSummary(
        path=Path(path),
        rows=len(df),
        distinct=int((~pool["key"].duplicated()).sum()),
        chosen=len(tasks),
        why=chosen["why"].value_counts().to_dict(),
        model_version=version,
        tasks=tasks,
    )

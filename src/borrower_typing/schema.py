"""The scoring plan: what a scored table looks like and which input it needs, defined once.

Every engine (``batch``, ``spark``, ``serving``, ``TypingModel.predict_frame``) takes its output columns, the
text-column choice, the required columns, the ``_input`` clash rule and the overwrite refusal from here; the
pandas columns, the MLflow signature and the Spark schema are all derived from ``NOTE_COLUMNS``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import DataError

if TYPE_CHECKING:  # pandas, MLflow and pyspark stay out of the one-note path
    import pandas as pd

Kind = Literal["string", "double", "boolean"]


@dataclass(frozen=True)
class Column:
    """One output column: its name, its type, and what it holds."""

    name: str
    kind: Kind
    doc: str


# One row per note, in this order; ``strategy`` last and optional (``--no-strategy``).
NOTE_COLUMNS: tuple[Column, ...] = (
    Column("type", "string", "borrower type slug (one of the nine types or none)"),
    Column("type_zh", "string", "the type's Chinese name"),
    Column("confidence", "double", "calibrated probability of the type, 4 decimals"),
    Column("needs_review", "boolean", "true when a person should look at the note"),
    Column("review_reason", "string", "why it needs review ('' when it does not)"),
    Column("alternatives", "string", "the next two types, 'slug:0.123; slug:0.045'"),
    Column("evidence", "string", "the pieces of the note that decided, ' | '-separated"),
)
STRATEGY = Column("strategy", "string", "the handling strategy for the type")
PROBABILITY_PREFIX = "p_"
INPUT_SUFFIX = "_input"

# One row per case (``--case-column``): the case ID column (named as in the input) first.
CASE_COLUMNS: tuple[Column, ...] = (
    Column("case", "string", "the case ID"),
    Column("notes", "double", "notes in the case"),
    Column("notes_with_basis", "double", "notes that say something about the borrower"),
    *NOTE_COLUMNS[:6],
)


def note_names(strategy: bool = True) -> list[str]:
    """The per-note output column names."""
    return [c.name for c in NOTE_COLUMNS] + ([STRATEGY.name] if strategy else [])


def probability_names(classes: Iterable[str]) -> list[str]:
    return [f"{PROBABILITY_PREFIX}{c}" for c in classes]


# --- input ----------------------------------------------------------------------------------------------
def pick_text_column(columns: Sequence[str], wanted: str | None, fallbacks: Sequence[str], source: object) -> str:
    """``wanted`` if given (and present), else the first of ``fallbacks`` that the input has."""
    columns = list(columns)
    if wanted:
        if wanted not in columns:
            raise DataError(f"{source}: no text column {wanted!r}; columns are {columns}")
        return wanted
    for name in fallbacks:
        if name in columns:
            return name
    raise DataError(
        f"{source}: none of the text columns {list(fallbacks)} found; columns are {columns}; pass --text-column"
    )


def required_columns(
    text_column: str | None,
    id_columns: Sequence[str] | None = None,
    case_column: str | None = None,
    time_column: str | None = None,
) -> list[str]:
    """The input columns a job reads, text first."""
    return [
        *([text_column] if text_column else []),
        *(id_columns or []),
        *([case_column] if case_column else []),
        *([time_column] if time_column else []),
    ]


def check_columns(columns: Sequence[str], needed: Sequence[str], source: object) -> None:
    missing = [c for c in needed if c not in columns]
    if missing:
        raise DataError(f"{source}: no column {', '.join(map(repr, missing))}; columns are {list(columns)}")


def kept_columns(id_columns: Sequence[str] | None) -> list[str] | None:
    """The input columns copied to the output: all (None) or the named ones, once each."""
    return None if id_columns is None else list(dict.fromkeys(id_columns))


def output_name(column: str, produced: Iterable[str]) -> str:
    """The clash rule: an input column named like an output column comes out as ``<name>_input``."""
    return f"{column}{INPUT_SUFFIX}" if column in set(produced) else column


def join_output(kept: pd.DataFrame, result: pd.DataFrame) -> pd.DataFrame:
    """``kept`` input columns (renamed by the clash rule) then ``result``'s, one row per input row."""
    import pandas as pd

    result.index = kept.index
    renamed = kept.rename(columns={c: output_name(c, result.columns) for c in kept.columns})
    return pd.concat([renamed, result], axis=1)


def check_overwrite(targets: Iterable[object], overwrite: bool, exists: Callable[[Any], bool] | None = None) -> None:
    """Refuse to replace an existing output unless told to (before any scoring, not after)."""
    if overwrite:
        return
    exists = exists or (lambda t: Path(t).exists())
    for target in targets:
        if target is not None and exists(target):
            raise DataError(f"{target}: already exists; pass --overwrite to replace it")


def cases_output_path(output_path: Path) -> Path:
    """``scored.csv`` -> ``scored.cases.csv``."""
    return output_path.with_name(f"{output_path.stem}.cases{output_path.suffix}")


# --- output ---------------------------------------------------------------------------------------------
def format_alternatives(alternatives: Sequence[dict[str, Any]]) -> str:
    return "; ".join(f"{a['type']}:{a['probability']:.3f}" for a in alternatives)


def predictions_frame(preds: Sequence[Any], strategy: bool = True) -> pd.DataFrame:
    """Predictions as the flat ``NOTE_COLUMNS`` (and ``strategy``) for tables and files."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "type": [p.type for p in preds],
            "type_zh": [p.type_zh for p in preds],
            "confidence": [p.confidence for p in preds],
            "needs_review": [p.needs_review for p in preds],
            "review_reason": [p.review_reason or "" for p in preds],
            "alternatives": [format_alternatives(p.alternatives) for p in preds],
            "evidence": [" | ".join(p.evidence) for p in preds],
        }
    )
    assert list(frame.columns) == note_names(False)
    if strategy:
        frame[STRATEGY.name] = [p.strategy for p in preds]
    return frame


def mlflow_signature(params: bool = True) -> Any:
    """The pyfunc signature: a ``text`` column in, ``NOTE_COLUMNS`` + ``strategy`` out, both params."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("string", "text")]),
        outputs=Schema([ColSpec(c.kind, c.name) for c in (*NOTE_COLUMNS, STRATEGY)]),
        params=ParamSchema(
            [ParamSpec("include_strategy", "boolean", True), ParamSpec("include_probabilities", "boolean", False)]
        )
        if params
        else None,
    )


def spark_type(kind: Kind) -> Any:
    from pyspark.sql.types import BooleanType, DoubleType, StringType

    return {"string": StringType(), "double": DoubleType(), "boolean": BooleanType()}[kind]


def spark_schema(classes: Sequence[str] = (), probabilities: bool = False) -> Any:
    """The Spark struct of a scored note (strategy is joined later), plus ``p_<class>`` doubles."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    fields = [StructField(c.name, spark_type(c.kind)) for c in NOTE_COLUMNS]
    if probabilities:
        fields += [StructField(n, DoubleType()) for n in probability_names(classes)]
    return StructType(fields)

"""Typed configuration: YAML files under ``configs/`` validated at the edge into pydantic objects.

The CLI reads and validates the train and score configs and passes the objects down; below it nothing reads
a config file on its own. The MLflow tracking URI is resolved here, once per command.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def resolve_tracking_uri(configured: str | None = None) -> str:
    """``configured``, else ``$MLFLOW_TRACKING_URI``, else a SQLite file in the working directory."""
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the file and the field named."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    path: Path = Path("data/corpus/call_notes.csv")
    text_column: str = "text"
    label_column: str = "label"
    group_column: str | None = Field(
        "style", description="Column whose values are held out one at a time (leave-one-group-out)."
    )
    encoding: str | None = None
    on_conflict: Literal["error", "drop", "majority"] = Field(
        "error", description="The same note with different labels: refuse, drop those notes, or keep the majority."
    )
    sources: list[Path] = Field(
        default_factory=list, description="More labelled files with the same columns (e.g. labels from Label Studio)."
    )
    provenance_column: str = Field("provenance", description="Column naming each row's file (its stem).")


class TokenizerConfig(_Strict):
    backend: Literal["rjieba", "jieba"] = "rjieba"
    user_dicts: list[Path] = Field(default_factory=list, description="Extra jieba-style user dictionaries.")


class TextConfig(_Strict):
    shorthand_tables: list[Path] = Field(
        default_factory=list, description="Extra shorthand tables (term<TAB>replacement) on top of the shipped one."
    )


class VectorizerConfig(_Strict):
    enabled: bool = True
    ngram_range: tuple[int, int] = (1, 2)
    min_df: int = 1
    max_df: float = 1.0
    max_features: int | None = None
    sublinear_tf: bool = True

    @field_validator("ngram_range")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1]:
            raise ValueError("ngram_range must be (low, high) with 1 <= low <= high")
        return value


class FeaturesConfig(_Strict):
    word: VectorizerConfig = VectorizerConfig(ngram_range=(1, 2))
    char: VectorizerConfig = VectorizerConfig(ngram_range=(1, 3), min_df=2)

    @model_validator(mode="after")
    def _one_enabled(self) -> FeaturesConfig:
        if not (self.word.enabled or self.char.enabled):
            raise ValueError("at least one of features.word and features.char must be enabled")
        return self


class ClassifierConfig(_Strict):
    kind: Literal["logreg", "linear_svc", "sgd"] = "linear_svc"
    C: float = Field(0.5, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    max_iter: int = Field(2000, gt=0)


class CalibrationConfig(_Strict):
    # temperature: one inverse temperature over the softmax of the decision values (multiclass by nature,
    # the ranking kept); sigmoid/isotonic calibrate each class alone, then normalise. See README, "Calibration".
    method: Literal["temperature", "sigmoid", "isotonic", "none"] = "temperature"
    cv: int = Field(5, ge=2)


class ReviewConfig(_Strict):
    threshold: float | Literal["auto"] = Field(
        "auto",
        description="Confidence below which a note goes to review; 'auto' picks it on validation data.",
    )
    target_precision: float = Field(
        0.9, gt=0, le=1, description="With threshold 'auto': precision wanted among the notes not reviewed."
    )
    min_cjk_chars: int = Field(3, ge=0, description="Notes with fewer Chinese characters go to review.")
    min_threshold: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Floor for 'auto': a top type below this is a guess, whatever validation says.",
    )
    max_threshold: float = Field(0.6, gt=0, le=1, description="Ceiling for 'auto', so review stays a minority.")
    min_vocab_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Notes whose character pairs the vocabulary knows less than this share of go to review "
        "(out_of_vocabulary); 0 turns the rule off.",
    )


class EvaluationConfig(_Strict):
    cv_folds: int = Field(5, ge=2)
    seed: int = 42
    audit_rows: int = Field(50, ge=0)
    n_jobs: int = 1
    reference_data: Path | None = Field(
        None, description="Labelled notes both the champion and a candidate are scored on before promotion."
    )
    reference_text_column: str | None = Field(None, description="Default: data.text_column.")
    reference_label_column: str | None = Field(None, description="Default: data.label_column.")


class SearchConfig(_Strict):
    """Candidates for ``train --search``: each maps dotted config keys to a list of values (a grid)."""

    grid: dict[str, list[Any]] = Field(
        default_factory=lambda: {
            "classifier.C": [0.2, 0.5, 1.0],
            "features.char.ngram_range": [[1, 3], [2, 4]],
        }
    )
    max_candidates: int = Field(12, ge=1)


class TrackingConfig(_Strict):
    tracking_uri: str | None = Field(None, description="Default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db.")
    experiment: str = "borrower-typing"
    registered_model: str = "borrower-typing"
    export_dir: Path = Path("models/borrower-typing")


class TrainConfig(_Strict):
    data: DataConfig = DataConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    text: TextConfig = TextConfig()
    features: FeaturesConfig = FeaturesConfig()
    classifier: ClassifierConfig = ClassifierConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    review: ReviewConfig = ReviewConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    search: SearchConfig = SearchConfig()
    tracking: TrackingConfig = TrackingConfig()
    labels_path: Path | None = Field(None, description="An edited labels.yaml; default: the packaged one.")


class ScoreConfig(_Strict):
    text_column: str = "催记内容"
    text_column_fallbacks: list[str] = Field(default_factory=lambda: ["text", "催收记录", "备注", "内容"])
    chunk_size: int = Field(20_000, gt=0)
    jobs: int = Field(1, ge=1)
    recency_decay: float = Field(
        0.8, gt=0, le=1, description="Case aggregation: weight of a note relative to the next later one."
    )


class MonitorConfig(_Strict):
    """Thresholds of ``borrower-typing monitor`` (configs/monitor.yaml, section ``monitor``)."""

    psi_warn: float = Field(0.1, gt=0, description="Type mix and confidence PSI at or above this: worth a look.")
    psi_alert: float = Field(0.25, gt=0, description="Type mix and confidence PSI at or above this: drift.")
    input_psi_warn: float = Field(0.25, gt=0, description="Note length and vocabulary-share PSI: worth a look.")
    input_psi_alert: float = Field(
        1.0,
        gt=0,
        description="Note length and vocabulary-share PSI: drift. Looser than the output bands: lengths move with "
        "the mix of channels from month to month (see docs/monitoring.md).",
    )
    review_share_increase: float = Field(
        0.1, gt=0, le=1, description="Drift when the review share rises by this much (absolute) over the reference."
    )
    vocab_share_drop: float = Field(
        0.1, gt=0, le=1, description="Drift when the mean vocabulary share falls by this much below the reference."
    )
    min_rows: int = Field(200, ge=1, description="Slices with fewer rows are listed but never flagged.")
    max_slices: int = Field(5_000, ge=1, description="More distinct --by values than this stops with an error.")
    chunk_size: int = Field(50_000, gt=0)
    # The per-note figures that need the note read again (vocabulary share, tokens) come from a sample; the
    # others (type, confidence, review reason, length) from every row. token_rows/token_every: earlier names.
    sample_rows: int = Field(
        500,
        ge=0,
        validation_alias=AliasChoices("sample_rows", "token_rows"),
        description="Measure every note of the first rows of the batch and of each --by slice …",
    )
    sample_every: int = Field(
        20,
        ge=1,
        validation_alias=AliasChoices("sample_every", "token_every"),
        description="… and every n-th note after them, counted n times (vocabulary share, new tokens).",
    )
    top_tokens: int = Field(20, ge=1, description="How many over-represented new tokens to list.")
    experiment: str = "borrower-typing-monitoring"

    @model_validator(mode="after")
    def _bands(self) -> MonitorConfig:
        if self.psi_warn >= self.psi_alert or self.input_psi_warn >= self.input_psi_alert:
            raise ValueError("psi_warn must be below psi_alert, and input_psi_warn below input_psi_alert")
        return self


def load_monitor_config(path: str | Path | None = None) -> MonitorConfig:
    raw = load_yaml(path).get("monitor", {}) if path else {}
    return _validate(MonitorConfig, raw, str(path or "defaults"))


def load_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return raw


def _validate(model: type[BaseModel], raw: dict[str, Any], origin: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{origin}: {problems}") from exc


def load_train_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate a training config; ``overrides`` are dotted keys (``data.path``) set on top."""
    raw = load_yaml(path) if path else {}
    raw.pop("score", None)
    for key, value in (overrides or {}).items():
        set_dotted(raw, key, value)
    return _validate(TrainConfig, raw, str(path or "defaults"))


def load_score_config(path: str | Path | None = None) -> ScoreConfig:
    """Read and validate the ``score`` section of a config file (None: the defaults)."""
    raw = load_yaml(path).get("score", {}) if path else {}
    return _validate(ScoreConfig, raw, str(path or "defaults"))


def set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    node = raw
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key}: {part} is not a mapping")
    node[leaf] = value


def with_overrides(config: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """A copy of ``config`` with dotted keys replaced, validated again."""
    raw = config.model_dump(mode="json")
    for key, value in overrides.items():
        set_dotted(raw, key, value)
    return _validate(TrainConfig, raw, "overrides")

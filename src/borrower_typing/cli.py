"""Command line: each command parses its options, validates its config into an object, resolves the MLflow
tracking URI once, and calls one library function with them.

Library modules are imported inside commands: ``predict`` on one note must not pay for pandas, scikit-learn
or MLflow, which the scoring and training modules import at their top.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from .cli_models import models_app
from .config import ConfigError, load_score_config, load_train_config, resolve_tracking_uri
from .errors import DataError, ModelLoadError
from .labelling.cli import label_app
from .labels import LabelsError, UnknownLabelError, load_labels

app = typer.Typer(
    help="Type Chinese loan-collection notes: borrower type, confidence, evidence and handling strategy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(help="Check labelled data before training.", no_args_is_help=True)
app.add_typer(data_app, name="data")
labels_app = typer.Typer(help="Check an edited labels file.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")
app.add_typer(models_app, name="models")
app.add_typer(label_app, name="label")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Training config (YAML). Default: configs/train.yaml if present.")
]
DEFAULT_TRAIN_CONFIG = Path("configs/train.yaml")
DEFAULT_SCORE_CONFIG = Path("configs/score.yaml")
DEFAULT_MONITOR_CONFIG = Path("configs/monitor.yaml")
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model folder or URI (models:/borrower-typing@champion, runs:/…). "
        "Default: $BORROWER_TYPING_MODEL or models/borrower-typing.",
    ),
]


ByOpt = Annotated[
    str | None, typer.Option("--by", help="Comma-separated columns to slice by (催收员,月份); the last one as time.")
]
MonitorConfigOpt = Annotated[
    Path | None, typer.Option("--monitor-config", help="Monitoring thresholds (default: configs/monitor.yaml).")
]
FailOpt = Annotated[bool, typer.Option("--fail-on-drift", help="Exit with code 1 when drift is flagged.")]
NoTrackOpt = Annotated[bool, typer.Option("--no-tracking", help="Skip the MLflow monitoring run.")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _errors():
    """Known user errors end with one clear line and exit code 2, not a traceback."""
    return (ConfigError, DataError, LabelsError, UnknownLabelError, ModelLoadError, FileNotFoundError, KeyError)


def _config_path(given: Path | None, default: Path) -> Path | None:
    """The config file to read: the one given (which must exist: loading names it if not), else the default
    one if present, else None (the built-in defaults)."""
    if given is not None:
        return given
    return default if default.exists() else None


def _tracking_uri(configured: str | None = None) -> str:
    return resolve_tracking_uri(configured)


@app.command()
def train(
    config: ConfigOpt = None,
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Labelled CSV/GB18030 CSV/xlsx/Parquet/JSONL file; repeat to train on several sources."),
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Column with the note text.")] = None,
    label_column: Annotated[str | None, typer.Option(help="Column with labels (slugs or Chinese names).")] = None,
    group_column: Annotated[str | None, typer.Option(help="Column held out one value at a time ('' for none).")] = None,
    search: Annotated[bool, typer.Option("--search", help="Grid search from the config; best by CV macro-F1.")] = False,
    promote: Annotated[bool, typer.Option("--promote", help="Make this version @champion regardless.")] = False,
    reports: Annotated[Path, typer.Option(help="Where evaluation files go.")] = Path("reports/train"),
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help="Skip MLflow (nothing registered).")] = False,
    eval_data: Annotated[
        Path | None, typer.Option(help="Reference set both champion and candidate are scored on (same columns).")
    ] = None,
    allow_label_change: Annotated[
        bool, typer.Option("--allow-label-change", help="Let a candidate with another label set replace the champion.")
    ] = False,
    on_conflict: Annotated[
        Literal["error", "drop", "majority"] | None,
        typer.Option(help="Same note, different labels: error (default), drop those notes, or keep the majority."),
    ] = None,
) -> None:
    """Train, evaluate (CV and leave-one-group-out), log to MLflow, register, promote, export."""
    from .train import train as run_train

    given = {
        "data.path": str(data[0]) if data else None,
        "data.sources": [str(p) for p in data[1:]] if data else None,
        "data.text_column": text_column,
        "data.label_column": label_column,
        "data.on_conflict": on_conflict,
        "evaluation.reference_data": str(eval_data) if eval_data else None,
    }
    overrides = {k: v for k, v in given.items() if v is not None}
    if group_column is not None:  # "" means: no group, cross-validation only
        overrides["data.group_column"] = group_column or None
    try:
        cfg = load_train_config(_config_path(config, DEFAULT_TRAIN_CONFIG), overrides)
        result = run_train(
            cfg,
            search=search,
            promote=promote,
            reports_dir=reports,
            track=not no_tracking,
            progress=typer.echo,
            tracking_uri=_tracking_uri(cfg.tracking.tracking_uri),
            allow_label_change=allow_label_change,
        )
    except _errors() as exc:
        _fail(str(exc))
    typer.echo(result.evaluation.per_class().round(3).to_string())


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="Labelled file to score.")],
    model: ModelOpt = None,
    text_column: Annotated[str, typer.Option(help="Column with the note text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with labels.")] = "label",
    reports: Annotated[Path, typer.Option(help="Where the report files go.")] = Path("reports/evaluate"),
    perturb: Annotated[
        bool, typer.Option(help="Register robustness: macro-F1 clean and per perturbation (no report files).")
    ] = False,
) -> None:
    """Score a trained model on a labelled file: macro-F1, per-class table, confusion matrix, calibration."""
    from .evaluate import evaluate_model_on_file, evaluate_registers_on_file

    if perturb:
        try:
            scores = evaluate_registers_on_file(model, data, text_column, label_column, tracking_uri=_tracking_uri())
        except _errors() as exc:
            _fail(str(exc))
        for name, value in scores.items():
            typer.echo(f"{name:<14} macro-F1 {value:.4f}  ({value - scores['clean']:+.4f})")
        return

    try:
        out = evaluate_model_on_file(model, data, text_column, label_column, reports, tracking_uri=_tracking_uri())
    except _errors() as exc:
        _fail(str(exc))
    typer.echo(
        f"macro-F1 {out['macro_f1']:.4f}  accuracy {out['accuracy']:.4f}  ECE {out['ece']:.4f}  rows {out['rows']}"
    )
    typer.echo(out["per_class"].round(3).to_string())
    typer.echo(f"report files in {reports}/")


@app.command()
def predict(
    note: Annotated[str, typer.Argument(help="The note text, or '-' to read notes from standard input.")],
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per note.")] = False,
    evidence: Annotated[int, typer.Option(help="How many evidence pieces to show.")] = 5,
) -> None:
    """Type one note; with '-', one JSON line per input line (blank lines too), in order."""
    from .predict import load_model

    try:
        typing_model = load_model(model, _tracking_uri())
    except _errors() as exc:
        _fail(str(exc))
    if note == "-":
        from .stdin import predict_lines

        try:
            predict_lines(typing_model, sys.stdin, sys.stdout, evidence=evidence)
        except DataError as exc:
            _fail(str(exc))
        return
    pred = typing_model.predict([note], evidence=evidence)[0]
    if as_json:
        sys.stdout.write(json.dumps(pred.to_dict(), ensure_ascii=False) + "\n")
        return
    from .console import render_prediction

    render_prediction(note, pred, typing_model.labels.common_rules)


@app.command()
def score(
    input: Annotated[str, typer.Argument(help="Export to score: .csv (UTF-8/GB18030), .xlsx, .parquet, .jsonl.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Output file; format from its extension.")],
    model: ModelOpt = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Scoring defaults (YAML, 'score' section). Default: configs/score.yaml."),
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Column with the notes (default from config).")] = None,
    id_columns: Annotated[
        str | None, typer.Option(help="Comma-separated input columns to keep (default: all).")
    ] = None,
    case_column: Annotated[str | None, typer.Option(help="Also write OUTPUT.cases.<ext>, one row per case.")] = None,
    time_column: Annotated[str | None, typer.Option(help="Orders a case's notes (default: file order).")] = None,
    jobs: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    chunk_size: Annotated[int | None, typer.Option(help="Rows per chunk.")] = None,
    encoding: Annotated[str | None, typer.Option(help="Input CSV encoding (default: detected).")] = None,
    output_encoding: Annotated[str, typer.Option(help="Output CSV encoding.")] = "utf-8-sig",
    no_strategy: Annotated[bool, typer.Option("--no-strategy", help="Leave the strategy text out.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
    mask_output: Annotated[
        bool, typer.Option("--mask-output", help="Write the note with phone/ID/card numbers and e-mails masked.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    engine: Annotated[Literal["local", "spark"], typer.Option(help="spark: see docs/spark.md.")] = "local",
    spark_master: Annotated[str, typer.Option(help="Spark master for a new session.")] = "local[2]",
    partitions: Annotated[int | None, typer.Option(help="Spark: tasks scoring in parallel.")] = None,
    sep: Annotated[str | None, typer.Option(help="CSV delimiter (default: from the header line; 'tab').")] = None,
    sheet: Annotated[str | None, typer.Option(help=".xlsx sheet: name or number from 1 (default: first).")] = None,
    no_formula_guard: Annotated[
        bool, typer.Option("--no-formula-guard", help="Write cells starting with = + - @ as they are (CSV/xlsx).")
    ] = False,
    monitor: Annotated[bool, typer.Option("--monitor", help="Also monitor the batch in the same pass.")] = False,
    by: ByOpt = None,
    monitor_report: Annotated[Path | None, typer.Option(help="--monitor: HTML report path.")] = None,
    monitor_config: MonitorConfigOpt = None,
    fail_on_drift: FailOpt = False,
    no_tracking: NoTrackOpt = False,
) -> None:
    """Score a whole export; every input row comes out, in order, with its prediction."""
    if not monitor and (by or monitor_report or monitor_config or fail_on_drift or no_tracking):
        # A cron line that lost --monitor must not pass silently with its alert switched off.
        _fail("--by, --monitor-report, --monitor-config, --fail-on-drift and --no-tracking need --monitor")
    if monitor and engine == "spark":
        _fail("--monitor works with --engine local; run `borrower-typing monitor` on the Spark output")
    if engine == "spark" and sheet:
        _fail("--sheet is an option of the local engine")
    with contextlib.ExitStack() as stack:
        # With --monitor, a registry model is downloaded once for the profile check, scoring and monitoring.
        run_model, watch = _monitoring(model, monitor_config, stack) if monitor else (model, None)
        ids = [c.strip() for c in id_columns.split(",")] if id_columns else None
        common = dict(model=run_model, text_column=text_column, id_columns=ids, case_column=case_column)
        common |= dict(encoding=encoding, time_column=time_column, strategy=not no_strategy, overwrite=overwrite)
        common |= dict(mask_output=mask_output, formula_guard=not no_formula_guard)
        summary = _score(input, output, engine, common, dict(sep=sep, sheet=sheet), config, jobs, chunk_size,
                         output_encoding, quiet, spark_master, partitions, watch, _split(by))  # fmt: skip
        if not quiet:
            from .console import render_summary

            render_summary(summary)
        if watch is not None:
            from .monitor import monitor_scored

            try:
                result = monitor_scored(
                    summary, run_model, watch, monitor_report, not no_tracking, _tracking_uri(), location=model
                )
            except _errors() as exc:
                _fail(str(exc))
            _report_monitoring(result, fail_on_drift)


def _score(input, output, engine, common, local, config, jobs, chunk_size, output_encoding, quiet,
           spark_master, partitions, watch, by):  # fmt: skip
    """``score``'s run on the chosen engine, its anticipated failures as one line."""
    from .workers import sigterm_as_interrupt

    try:
        common |= dict(
            config=load_score_config(_config_path(config, DEFAULT_SCORE_CONFIG)), tracking_uri=_tracking_uri()
        )
        with sigterm_as_interrupt():
            if engine == "spark":
                from .spark import run_score_spark

                return run_score_spark(
                    input, output, spark_master=spark_master, partitions=partitions, sep=local["sep"], **common
                )
            from .batch import run_score

            return run_score(
                input, output, jobs=jobs, chunk_size=chunk_size, output_encoding=output_encoding, quiet=quiet,
                monitor=watch, monitor_by=by, **common, **local,
            )  # fmt: skip
    except (*_errors(), ImportError) as exc:
        _fail(str(exc))
    except OSError as exc:  # anticipated: no permission, no space, missing folder
        _fail(f"{exc.filename or output}: {exc.strerror or exc}")
    except KeyboardInterrupt as exc:
        _fail(f"interrupted; {output} was not written", code=getattr(exc, "exit_code", 130))


@app.command("monitor")
def monitor_command(
    scored_file: Annotated[Path, typer.Argument(help="A file written by `score` (any of its formats).")],
    model: ModelOpt = None,
    by: ByOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML report (default: beside the file).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Monitoring thresholds (default: configs/monitor.yaml).")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Column with the notes (default as for score).")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: detected).")] = None,
    fail_on_drift: FailOpt = False,
    no_tracking: NoTrackOpt = False,
) -> None:
    """Compare a scored batch with the model's reference profile: PSI, review share, vocabulary, slices."""
    from .monitor import run_monitor

    try:
        config = _config_path(config, DEFAULT_MONITOR_CONFIG)
        result = run_monitor(
            scored_file, model, config, _split(by), output, text_column, encoding, not no_tracking, _tracking_uri()
        )
    except _errors() as exc:
        _fail(str(exc))
    _report_monitoring(result, fail_on_drift)


def _split(by: str | None) -> list[str]:
    return [c.strip() for c in by.split(",") if c.strip()] if by else []


def _monitoring(model: str | None, config: Path | None, stack: contextlib.ExitStack):
    """The model's folder for the rest of the command (a registry model's download, removed when ``stack``
    closes) and the monitoring config, after checking the model has a reference profile (before any scoring)."""
    from .batch import release_models
    from .bundle import fetched_bundle
    from .config import load_monitor_config
    from .profile import load_profile

    try:
        folder = stack.enter_context(fetched_bundle(model, _tracking_uri()))
        stack.callback(release_models)  # no process keeps a model whose folder is about to go
        load_profile(folder)
        return str(folder), load_monitor_config(_config_path(config, DEFAULT_MONITOR_CONFIG))
    except _errors() as exc:
        _fail(str(exc))


def _report_monitoring(result, fail_on_drift: bool) -> None:
    from .console import render_monitoring

    render_monitoring(result)
    if fail_on_drift and result.drift:
        raise typer.Exit(1)


@app.command()
def serve(
    model: Annotated[str, typer.Option("--model", "-m", help="Model folder or models:/ URI.")] = (
        "models:/borrower-typing@champion"
    ),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5001,
) -> None:
    """Serve a model over HTTP (`mlflow models serve`) after checking it against its SHA-256 manifest."""
    from .server import serve_model

    try:
        code = serve_model(model, host, port, _tracking_uri())
    except _errors() as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@data_app.command("validate")
def data_validate(
    path: Annotated[Path, typer.Argument(help="Labelled file to check.")],
    text_column: Annotated[str, typer.Option(help="Column with the note text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with labels.")] = "label",
    group_column: Annotated[str, typer.Option(help="Column to count by, if present.")] = "style",
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: detected).")] = None,
    max_issues: Annotated[int, typer.Option(help="How many issues to list (all are counted).")] = 200,
) -> None:
    """Check schema, labels, conflicts, empty texts, duplicates and type names inside notes.

    Exit code 1 only for errors (missing column, unknown label, label conflict); the rest are warnings.
    """
    from .data import read_table
    from .validate import validate_frame

    try:
        df = read_table(path, encoding=encoding)
        labels = load_labels()
    except _errors() as exc:
        _fail(str(exc))
    report = validate_frame(df, labels, text_column, label_column, (group_column,))
    if report.counts is not None:
        typer.echo(report.counts.to_string())
    for issue in report.issues[:max_issues]:
        where = f"row {issue.row}" if issue.row is not None else "file"
        typer.echo(f"{path}:{where}: {issue.rule} ({issue.severity}): {issue.message}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.by_rule().items()))
    summary = f"{report.rows} rows: {len(report.errors)} errors, {len(report.warnings)} warnings ({counts or 'none'})"
    if not report.ok:
        _fail(summary, code=1)
    typer.echo(f"OK: {summary}")


@labels_app.command("check")
def labels_check(
    path: Annotated[Path | None, typer.Argument(help="Labels file (default: the packaged one).")] = None,
    rules: Annotated[Path | None, typer.Option(help="Rule list (default: the packaged one).")] = None,
) -> None:
    """Check strategy texts against collection rules (docs/compliance.md): exit 1 on a finding, 2 if unreadable."""
    from .compliance import check_file, default_rules_path, summary
    from .labels import default_labels_path

    try:
        findings = check_file(path, rules)
    except ValueError as exc:
        _fail(str(exc))
    for finding in findings:
        typer.echo(finding.line())
    where = path or default_labels_path()
    if findings:
        counts = ", ".join(f"{rule} {n}" for rule, n in summary(findings).items())
        _fail(f"{where}: {len(findings)} findings ({counts})", code=1)
    typer.echo(f"OK: {where}: no findings against {rules or default_rules_path()}")


def main() -> None:
    app()

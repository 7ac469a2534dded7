"""``borrower-typing label …``: the labelling loop's commands, each a few lines over the library."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

label_app = typer.Typer(
    help="The labelling loop: choose notes to label, hand them to Label Studio, bring the labels back.",
    no_args_is_help=True,
)

UrlOpt = Annotated[
    str | None,
    typer.Option(help="A running Label Studio; the token comes from $LABEL_STUDIO_API_KEY."),
]
ProjectOpt = Annotated[str, typer.Option(help="Label Studio project title (created when missing).")]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _errors() -> tuple[type[Exception], ...]:
    from ..config import ConfigError
    from ..data import DataError
    from ..errors import ModelLoadError
    from .studio import StudioError

    # LabelsError is a ValueError; ModelLoadError (a refused, missing or unknown model) is not.
    return (ConfigError, DataError, ModelLoadError, StudioError, FileNotFoundError, ValueError)


@label_app.command("config")
def config_cmd(
    labels: Annotated[Path | None, typer.Option(help="An edited labels.yaml (default: the packaged one).")] = None,
) -> None:
    """Print the Label Studio labelling config (XML) for the ten labels."""
    from ..labels import load_labels
    from .tasks import label_config

    try:
        typer.echo(label_config(load_labels(labels)), nl=False)
    except _errors() as exc:
        _fail(str(exc))


@label_app.command("export")
def export_cmd(
    input: Annotated[Path, typer.Argument(help="Raw or scored export (.csv, .xlsx, .parquet, .jsonl).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="tasks.json (Label Studio) or .xlsx.")],
    budget: Annotated[int, typer.Option(help="How many notes to choose.")] = 100,
    strategy: Annotated[
        Literal["uncertainty-diversity", "margin", "random"],
        typer.Option(help="uncertainty-diversity: review rows, then uncertain and varied notes; random: baseline."),
    ] = "uncertainty-diversity",
    fmt: Annotated[Literal["json", "xlsx"], typer.Option("--format", help="Tasks file format.")] = "json",
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model folder or models:/ URI.")] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Column with the notes (default: as `score` finds it, 催记内容, text …).")
    ] = None,
    id_column: Annotated[str | None, typer.Option(help="Column identifying a note (default: the row number).")] = None,
    label_column: Annotated[
        str | None, typer.Option(help="Labels already given: a slice of the budget re-checks the doubtful ones.")
    ] = None,
    audit_share: Annotated[float, typer.Option(help="Share of the budget for label-audit doubts.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for clustering and random choice.")] = 0,
    label_studio_url: UrlOpt = None,
    project: ProjectOpt = "borrower-typing",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing tasks file.")] = False,
) -> None:
    """Choose BUDGET notes worth labelling and write them as Label Studio tasks with pre-annotations."""
    from ..bundle import default_model_location, fetched_bundle, is_model_uri, model_identity
    from ..model import TypingModel
    from .export import export_tasks
    from .selection import SelectionConfig

    try:
        with fetched_bundle(model) as folder:  # the folder names the registered version the tasks cite
            typing_model = TypingModel.load(folder, in_memory=is_model_uri(str(model or default_model_location())))
            identity = model_identity(folder)
        chosen = SelectionConfig(strategy=strategy, audit_share=audit_share, seed=seed)
        summary = export_tasks(
            input, output, typing_model, budget, chosen, text_column, id_column, label_column, fmt, overwrite,
            identity,
        )  # fmt: skip
        typer.echo(summary.line())
        if label_studio_url:
            from ..labels import load_labels
            from .studio import push
            from .tasks import label_config

            pid, n = push(label_studio_url, project, label_config(typing_model.labels or load_labels()), summary.tasks)
            typer.echo(f"imported {n} tasks into Label Studio project {project!r} (id {pid})")
    except _errors() as exc:
        _fail(str(exc))


@label_app.command("import")
def import_cmd(
    export: Annotated[
        Path | None, typer.Argument(help="Label Studio JSON export or the filled .xlsx (omit with --label-studio-url).")
    ] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Labelled file (.csv, .xlsx, .parquet).")] = Path(
        "labelled.csv"
    ),
    label_studio_url: UrlOpt = None,
    project: ProjectOpt = "borrower-typing",
    labels: Annotated[Path | None, typer.Option(help="An edited labels.yaml (default: the packaged one).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
) -> None:
    """Bring labels back: one row per note, agreement between annotators, ties and skips reported."""
    from ..labels import load_labels
    from .imports import from_tasks, read_export, write_import

    try:
        table = load_labels(labels)
        if label_studio_url:
            from .studio import pull

            tasks, users = pull(label_studio_url, project)
            result = from_tasks(tasks, table, f"{label_studio_url} project {project!r}", users)
        elif export is not None:
            result = read_export(export, table)
        else:
            _fail("give an export file or --label-studio-url")
        files = write_import(result, output, overwrite=overwrite)
    except _errors() as exc:
        _fail(str(exc))
    typer.echo(render(result, files))


def render(result, files: dict[str, Path]) -> str:
    lines = [
        f"{result.tasks} tasks: {len(result.rows)} labelled -> {files['labelled']}, {len(result.ties)} ties, "
        f"{len(result.skipped)} skipped/cancelled, {len(result.unannotated)} without annotation"
    ]
    for pair in result.pair_kappa:
        kappa = "n/a" if pair["kappa"] is None else f"{pair['kappa']:.3f}"
        lines.append(f"agreement {pair['a']} vs {pair['b']}: kappa {kappa} ({pair['agreed']}/{pair['notes']} notes)")
    if result.class_disagreements:
        lines.append("disagreements by class: " + ", ".join(f"{k} {v}" for k, v in result.class_disagreements.items()))
    if "ties" in files:
        lines.append(f"ties (not resolved, label them again): {files['ties']}")
    for kind, items in (("skipped/cancelled", result.skipped), ("without annotation", result.unannotated)):
        if items:
            lines.append(f"{kind}: {', '.join(items[:20])}{' …' if len(items) > 20 else ''}")
    lines.append(f"report: {files['agreement']}")
    return "\n".join(lines)

"""``borrower-typing models …``: commands about model folders and the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(help="Check and manage model folders.", no_args_is_help=True)


@models_app.command("verify")
def verify(
    path: Annotated[Path, typer.Argument(help="Model folder (an export, or a download of a registered model).")],
) -> None:
    """Check every file of a model folder against its SHA-256 manifest (exit 2 on any difference)."""
    from .manifest import ModelLoadError, verify_manifest

    try:
        folder = verify_manifest(path)
    except (ModelLoadError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"OK: {folder} matches its manifest")


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _registry_target(config: Path | None) -> tuple[str, str, Path]:
    from .config import ConfigError, load_train_config, resolve_tracking_uri

    default = Path("configs/train.yaml")
    try:
        t = load_train_config(config if config is not None else (default if default.exists() else None)).tracking
    except ConfigError as exc:
        _fail(str(exc))
    return resolve_tracking_uri(t.tracking_uri), t.registered_model, t.export_dir


ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Training config (YAML). Default: configs/train.yaml if present.")
]


@models_app.command("list")
def models_list(config: ConfigOpt = None) -> None:
    """Registered versions: alias, label set, data digest, metric, created, promotion reason."""
    from .registry import list_versions

    uri, name, _ = _registry_target(config)
    table = list_versions(uri, name)
    if table.empty:
        typer.echo(f"no registered versions of {name} in {uri}")
        return
    short = table.assign(label_set=table["label_set"].map(lambda s: f"{len(s.split(','))}: {s}" if s else ""))
    short = short.map(lambda v: v if not isinstance(v, str) or len(v) < 60 else v[:57] + "…")
    typer.echo(short.to_string(index=False))


@models_app.command("promote")
def models_promote(
    version: Annotated[int, typer.Argument(help="Registered version to make @champion.")],
    config: ConfigOpt = None,
) -> None:
    """Make VERSION the champion and re-export it to the local model folder."""
    from .errors import DataError
    from .registry import promote

    uri, name, export_dir = _registry_target(config)
    try:
        out = promote(uri, name, version, export_dir)
    except DataError as exc:
        _fail(str(exc))
    typer.echo(f"@champion -> {name} version {version}; exported to {out}")


@models_app.command("rollback")
def models_rollback(config: ConfigOpt = None) -> None:
    """Point @champion back at the previous champion and re-export it."""
    from .errors import DataError
    from .registry import rollback

    uri, name, export_dir = _registry_target(config)
    try:
        version, out = rollback(uri, name, export_dir)
    except DataError as exc:
        _fail(str(exc))
    typer.echo(f"@champion -> {name} version {version} (rolled back); exported to {out}")

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

"""SHA-256 manifest of a model folder: written at export and registration, checked before MLflow loads it.

A model folder is code: ``mlflow.pyfunc.load_model`` (behind ``mlflow models serve`` and Spark's
``spark_udf``) runs whatever loader its ``MLmodel`` names and imports what its ``code/`` folder holds. The
manifest lists the digest of every file; a folder whose files differ from it in any way (an edited, added,
removed or linked file) is refused before it reaches MLflow. The manifest proves the folder is the one that
was registered, not that the registry is honest: models must come from a trusted registry.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import ModelLoadError

__all__ = ["MANIFEST", "REGISTRY_META", "ManifestError", "ModelLoadError", "verify_manifest", "write_manifest"]

MANIFEST = "MANIFEST.sha256.json"
# Written by MLflow itself into a folder downloaded from the registry (model name and version only); checked
# to hold nothing else instead of being listed.
REGISTRY_META = "registered_model_meta"
_CHUNK = 1 << 20


class ManifestError(ModelLoadError):
    """A model folder that does not match its manifest (the message is one line naming the folder)."""


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def folder_files(folder: Path) -> list[str]:
    """Every file under ``folder`` as a relative POSIX path, sorted; refuses links (they could point at any
    file, or change after the check) and anything that is neither a file nor a folder."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            path = Path(root) / name
            if path.is_symlink():
                raise ManifestError(f"{folder}: {path.relative_to(folder).as_posix()} is a link; refusing the model")
            if name in files and not path.is_file():
                raise ManifestError(f"{folder}: {path.relative_to(folder).as_posix()} is not a regular file")
        found.extend((Path(root) / name).relative_to(folder).as_posix() for name in files)
    return sorted(found)


def model_root(path: str | Path) -> Path:
    """The folder a manifest belongs to: the MLflow model folder (holding ``MLmodel``) at or one level under
    ``path``, else ``path`` itself (a bare bundle)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no model folder at {path}")
    if (path / "MLmodel").is_file() or (path / MANIFEST).is_file():
        return path
    below = sorted(p.parent for p in path.glob("*/MLmodel"))
    return below[0] if len(below) == 1 else path


def write_manifest(folder: str | Path) -> Path:
    """Write ``MANIFEST.sha256.json`` listing the SHA-256 of every other file in ``folder``."""
    folder = Path(folder)
    files = [f for f in folder_files(folder) if f not in (MANIFEST, REGISTRY_META)]
    manifest = {"algorithm": "sha256", "files": {f: _digest(folder / f) for f in files}}
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _registry_meta_ok(path: Path) -> bool:
    import yaml

    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(meta, dict) and set(meta) <= {"model_name", "model_version"}


def verify_manifest(path: str | Path) -> Path:
    """Check the model folder at ``path`` against its manifest; returns the folder checked.

    Raises ``ManifestError`` (one line naming the folder and the first difference) when the manifest is
    missing or unreadable, or a file was changed, added, removed or replaced by a link.
    """
    folder = model_root(path)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise ManifestError(f"{folder}: no {MANIFEST}; refusing a model folder that cannot be checked")
    try:
        listed = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
        assert isinstance(listed, dict)
    except (ValueError, KeyError, TypeError, AssertionError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{manifest_path}: unreadable manifest ({type(exc).__name__})") from None
    present = set(folder_files(folder)) - {MANIFEST}
    if REGISTRY_META in present and REGISTRY_META not in listed:
        if not _registry_meta_ok(folder / REGISTRY_META):
            raise ManifestError(f"{folder}: {REGISTRY_META} holds more than a model name and version")
        present.discard(REGISTRY_META)
    extra = sorted(present - set(listed))
    if extra:
        raise ManifestError(f"{folder}: file not in the manifest: {extra[0]} (the folder was changed after export)")
    missing = sorted(set(listed) - present)
    if missing:
        raise ManifestError(f"{folder}: file in the manifest is missing: {missing[0]}")
    for name in sorted(listed):
        if _digest(folder / name) != listed[name]:
            raise ManifestError(f"{folder}: {name} does not match its SHA-256 in the manifest (tampered or damaged)")
    return folder

"""The registered versions and the ``@champion`` alias: list, promote by hand, roll back.

Every move of ``@champion`` goes through ``make_champion``, which appends the version to the registered
model's ``champion_history`` tag (comma-separated versions, oldest first) and tags the version with the
reason; ``rollback`` steps that history back one place. ``promote`` and ``rollback`` re-export the champion
to the local folder ``predict`` and ``score`` read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .data import DataError

HISTORY_TAG = "champion_history"
COLUMNS = ["version", "aliases", "label_set", "train_notes", "data_digest", "metric", "score", "created", "promotion"]


def _client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(uri)


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")


def history(uri: str, name: str) -> list[str]:
    """The versions ``@champion`` has pointed at, oldest first (as recorded by ``make_champion``)."""
    from mlflow.exceptions import MlflowException

    try:
        tags = _client(uri).get_registered_model(name).tags or {}
    except MlflowException:
        return []
    return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]


def make_champion(uri: str, name: str, version: str | int, reason: str) -> None:
    """Point ``@champion`` at ``version``, record it in the history and tag the version with ``reason``."""
    client = _client(uri)
    version = str(version)
    client.set_registered_model_alias(name, "champion", version)
    past = history(uri, name)
    if not past or past[-1] != version:
        client.set_registered_model_tag(name, HISTORY_TAG, ",".join([*past, version]))
    client.set_model_version_tag(name, version, "promotion_reason", reason)
    client.set_model_version_tag(name, version, "promoted_at", _now())


def list_versions(uri: str, name: str) -> pd.DataFrame:
    """One row per registered version: alias, label set, data digest, comparison metric and its value,
    creation time and the reason it was (or was not) promoted."""
    from mlflow.exceptions import MlflowException

    from .explore import store_exists

    if not store_exists(uri):  # looking must not create an empty SQLite store
        return pd.DataFrame(columns=COLUMNS)
    client = _client(uri)
    try:
        aliases = dict(client.get_registered_model(name).aliases or {})
    except MlflowException:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for v in client.search_model_versions(f"name = '{name}'"):
        tags = v.tags or {}
        metric = tags.get("comparison_metric", "")
        score = None
        if metric and v.run_id:
            try:
                score = client.get_run(v.run_id).data.metrics.get(metric)
            except MlflowException:
                score = None
        rows.append(
            {
                "version": int(v.version),
                "aliases": ",".join(sorted(a for a, ver in aliases.items() if str(ver) == str(v.version))),
                "label_set": tags.get("label_set", ""),
                "train_notes": tags.get("train_notes", ""),
                "data_digest": tags.get("data_digest", ""),
                "metric": metric,
                "score": score,
                "created": pd.Timestamp(v.creation_timestamp, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M"),
                "promotion": tags.get("promotion_reason") or tags.get("promotion", ""),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("version").reset_index(drop=True)


def promote(uri: str, name: str, version: str | int, export_dir: str | Path, reason: str = "") -> Path:
    """Make ``version`` the champion by hand and re-export it; returns the export folder."""
    from mlflow.exceptions import MlflowException

    from . import tracking

    try:
        _client(uri).get_model_version(name, str(version))
    except MlflowException:
        raise DataError(f"{name}: no version {version} in {uri}") from None
    make_champion(uri, name, version, reason or f"promoted by hand ({_now()})")
    return tracking.export_model(uri, f"models:/{name}@champion", export_dir)


def rollback(uri: str, name: str, export_dir: str | Path) -> tuple[str, Path]:
    """Point ``@champion`` back at the previous champion, tag both versions, re-export; returns (version, dir)."""
    from . import tracking

    past = history(uri, name)
    current = tracking.current_champion(uri, name)
    if current is not None and (not past or past[-1] != str(current.version)):
        past.append(str(current.version))  # moved outside this module: still the one to roll back from
    if len(past) < 2:
        raise DataError(f"{name}: no previous champion to roll back to (history: {past or 'empty'})")
    left, previous = past[-1], past[-2]
    client = _client(uri)
    client.set_registered_model_alias(name, "champion", previous)
    client.set_registered_model_tag(name, HISTORY_TAG, ",".join(past[:-1]))
    reason = f"restored by rollback from version {left} ({_now()})"
    client.set_model_version_tag(name, previous, "promotion_reason", reason)
    client.set_model_version_tag(name, left, "rolled_back", f"replaced by version {previous} ({_now()})")
    return previous, tracking.export_model(uri, f"models:/{name}@champion", export_dir)

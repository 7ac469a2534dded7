"""Optional push and pull through a running Label Studio, so a scheduled job can run the loop unattended.

A thin client over Label Studio's documented HTTP API (projects, import, export, users), using ``requests``
(already installed with MLflow). label-studio-sdk is not used: its 2.x releases pin numpy below the version
this project runs with and pull OpenCV, NLTK and code generators for what is five HTTP calls here.

Authentication, from the environment (``LABEL_STUDIO_API_KEY``, the SDK's variable):
- a personal access token (a JWT refresh token, the default kind in recent Label Studio): exchanged at
  ``/api/token/refresh/`` for a short-lived access token sent as ``Bearer``;
- a legacy token (when the organisation enables legacy tokens): sent as ``Token``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

TOKEN_ENV = "LABEL_STUDIO_API_KEY"
TIMEOUT = 60


class StudioError(RuntimeError):
    """Label Studio answered with an error, or could not be reached; the message says which call."""


def token_from_env() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise StudioError(f"set {TOKEN_ENV} to a Label Studio access token (Account & Settings)")
    return token


@dataclass
class Studio:
    url: str
    token: str

    def __post_init__(self) -> None:
        import requests

        self.url = self.url.rstrip("/")
        self.http = requests.Session()
        if self.token.count(".") == 2:  # a JWT: personal access token (refresh token)
            access = self._call("POST", "/api/token/refresh/", json={"refresh": self.token}, auth=False)["access"]
            self.http.headers["Authorization"] = f"Bearer {access}"
        else:
            self.http.headers["Authorization"] = f"Token {self.token}"

    def _call(self, method: str, path: str, auth: bool = True, **kwargs: Any) -> Any:
        import requests

        try:
            sender = self.http if auth else requests
            resp = sender.request(method, self.url + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise StudioError(f"{method} {self.url}{path}: {exc}") from None
        if resp.status_code >= 400:
            raise StudioError(f"{method} {self.url}{path}: HTTP {resp.status_code}: {resp.text[:300]}")
        return resp.json() if resp.content else None

    # --- projects ---------------------------------------------------------------------------------------
    def find_project(self, title: str) -> dict | None:
        page = self._call("GET", "/api/projects", params={"title": title, "page_size": 100})
        items = page.get("results", page) if isinstance(page, dict) else page
        return next((p for p in items if p.get("title") == title), None)

    def ensure_project(self, title: str, label_config: str) -> dict:
        """The project with this title, created with ``label_config`` if missing, its config updated if not."""
        project = self.find_project(title)
        if project is None:
            return self._call("POST", "/api/projects", json={"title": title, "label_config": label_config})
        if project.get("label_config", "").strip() != label_config.strip():
            project = self._call("PATCH", f"/api/projects/{project['id']}", json={"label_config": label_config})
        return project

    def import_tasks(self, project_id: int, tasks: list[dict]) -> dict:
        return self._call("POST", f"/api/projects/{project_id}/import", json=tasks)

    def export(self, project_id: int) -> list[dict]:
        """Every task of the project with its annotations (Label Studio's JSON export)."""
        return self._call(
            "GET", f"/api/projects/{project_id}/export", params={"exportType": "JSON", "download_all_tasks": "true"}
        )

    def users(self) -> dict[int, str]:
        """User id → e-mail, to name annotators in a JSON export (which gives ids)."""
        return {u["id"]: u.get("email") or u.get("username") or str(u["id"]) for u in self._call("GET", "/api/users/")}


def push(url: str, project: str, label_config: str, tasks: list[dict]) -> tuple[int, int]:
    """Create or update the project and import the tasks; returns (project id, tasks imported)."""
    studio = Studio(url, token_from_env())
    found = studio.ensure_project(project, label_config)
    answer = studio.import_tasks(found["id"], tasks)
    return int(found["id"]), int(answer.get("task_count", len(tasks)))


def pull(url: str, project: str) -> tuple[list[dict], dict[int, str]]:
    """The project's JSON export and the annotators' names."""
    studio = Studio(url, token_from_env())
    found = studio.find_project(project)
    if found is None:
        raise StudioError(f"{url}: no project titled {project!r}")
    return studio.export(int(found["id"])), studio.users()

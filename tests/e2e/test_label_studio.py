"""The labelling loop against a real Label Studio on loopback.

The server lives in its own virtualenv (``.venv-label-studio``, created here on first use, or by
``make label-studio``), never in the project's: its pins would fight ours. It starts in a temporary data
directory on a free port and is stopped at the end. The start-up user gets a legacy token (the server's own
``--enable-legacy-api-token`` start option) only to create a personal access token; the project's commands
then authenticate with that token the supported way (JWT refresh → Bearer access).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from borrower_typing.cli import app
from borrower_typing.labels import CLASSES
from borrower_typing.validate import validate_frame

ROOT = Path(__file__).resolve().parents[2]
LS_VENV = Path(os.environ.get("LABEL_STUDIO_VENV", ROOT / ".venv-label-studio"))
LS_REQUIREMENT = "label-studio>=1.20,<1.24"
ADMIN, ANNOTATOR = "admin@example.com", "annotator2@example.com"
BOOT_TOKEN = "e2e-boot-token-0123456789"

pytestmark = pytest.mark.slow


def _ensure_venv() -> Path:
    exe = LS_VENV / "bin" / "label-studio"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LS_VENV)], check=True)
        pip = [str(LS_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, LS_REQUIREMENT], check=True)
    return exe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    exe = _ensure_venv()
    data_dir = tmp_path_factory.mktemp("label-studio")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "DJANGO_DEBUG": "false"}
    env.pop("LABEL_STUDIO_API_KEY", None)
    log = (data_dir / "server.log").open("wb")
    cmd = [str(exe), "start", "--host", "127.0.0.1", "--port", str(port), "--no-browser", "--data-dir"]
    cmd += [str(data_dir), "--username", ADMIN, "--password", "e2e-password-16", "--user-token", BOOT_TOKEN]
    cmd += ["--enable-legacy-api-token"]
    proc = subprocess.Popen(cmd, cwd=data_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"Label Studio exited: {(data_dir / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Label Studio did not answer /health within 300 s")
            time.sleep(1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert proc.poll() is not None


def _api(url: str, method: str, path: str, **kw):
    resp = requests.request(method, url + path, headers={"Authorization": f"Token {BOOT_TOKEN}"}, timeout=60, **kw)
    assert resp.status_code < 400, (path, resp.status_code, resp.text[:300])
    return resp.json() if resp.content else None


def _kappa(a: list[str], b: list[str]) -> float:
    """Cohen's kappa written out: (observed − chance agreement) / (1 − chance agreement)."""
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    p_e = sum((a.count(c) / n) * (b.count(c) / n) for c in set(a) | set(b))
    return (p_o - p_e) / (1 - p_e)


def test_loop_through_label_studio(studio, model_dir, corpus, labels, tmp_path, monkeypatch):
    url = studio
    notes = corpus.groupby("label").sample(n=2, random_state=3).reset_index(drop=True)
    notes["note_id"] = [f"N{i:03d}" for i in range(len(notes))]
    truth = dict(zip(notes["note_id"], notes["label"], strict=True))
    source = tmp_path / "lender_export.csv"
    notes[["note_id", "text"]].to_csv(source, index=False)

    pat = _api(url, "POST", "/api/token/")["token"]  # a personal access token (JWT refresh token)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", pat)
    runner = CliRunner()
    tasks_file = tmp_path / "tasks.json"
    args = ["label", "export", str(source), "-o", str(tasks_file), "--budget", "12", "-m", str(model_dir)]
    args += ["--id-column", "note_id", "--label-studio-url", url, "--project", "lender-e2e"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "imported 12 tasks" in out.output

    project = _api(url, "GET", "/api/projects", params={"title": "lender-e2e"})["results"][0]
    assert 'name="type"' in project["label_config"]
    annotator_id = _api(url, "POST", "/api/users/", json={"email": ANNOTATOR, "username": "annotator2"})["id"]
    tasks = _api(url, "GET", "/api/tasks", params={"project": project["id"], "page_size": 100})["tasks"]
    assert len(tasks) == 12
    votes_a, votes_b = [], []
    disagree, skipped = None, None
    for i, task in enumerate(sorted(tasks, key=lambda t: t["id"])):
        gold = truth[task["data"]["note_id"]]
        a = labels.name_zh(gold)
        other = CLASSES[(CLASSES.index(gold) + 1) % len(CLASSES)]
        b = labels.name_zh(other) if i == 0 else a
        if i == 0:
            disagree = task["data"]["note_id"]
        choice = lambda name: [  # noqa: E731
            {"from_name": "type", "to_name": "note", "type": "choices", "value": {"choices": [name]}}
        ]
        _api(url, "POST", f"/api/tasks/{task['id']}/annotations/", json={"result": choice(a), "lead_time": 7.5})
        if i == 1:  # the second annotator skips this one
            skipped = task["id"]
            body = {"result": [], "was_cancelled": True, "completed_by": annotator_id}
        else:
            body = {"result": choice(b), "completed_by": annotator_id, "lead_time": 5.0}
            votes_a.append(gold)
            votes_b.append(other if i == 0 else gold)
        _api(url, "POST", f"/api/tasks/{task['id']}/annotations/", json=body)

    # pull through the project's command, and import the same export saved as a file
    labelled = tmp_path / "labelled.csv"
    out = runner.invoke(
        app, ["label", "import", "--label-studio-url", url, "--project", "lender-e2e", "-o", str(labelled)]
    )
    assert out.exit_code == 0, out.output
    export_file = tmp_path / "export.json"
    export = _api(url, "GET", f"/api/projects/{project['id']}/export", params={"exportType": "JSON"})
    export_file.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    from_file = tmp_path / "from_file.csv"
    out2 = runner.invoke(app, ["label", "import", str(export_file), "-o", str(from_file)])
    assert out2.exit_code == 0, out2.output

    rows = pd.read_csv(labelled, dtype=str, keep_default_na=False)
    assert len(rows) == 11  # twelve notes, one tie between the two annotators
    assert all(truth[r.note_id] == r.label for r in rows.itertuples())
    ties = pd.read_csv(tmp_path / "labelled.ties.csv", dtype=str, keep_default_na=False)
    assert ties["note_id"].tolist() == [disagree] and ties["label"].tolist() == [""]
    assert set(rows["model_version"]) == {rows["model_version"].iloc[0]} and rows["model_version"].iloc[0]
    assert ANNOTATOR in ";".join(rows["annotators"])
    report = json.loads((tmp_path / "labelled.agreement.json").read_text(encoding="utf-8"))
    assert report["skipped_or_cancelled"] == 1 and str(skipped) in report["skipped_detail"][0]
    (pair,) = report["pair_kappa"]
    assert pair["notes"] == 11 and pair["agreed"] == 10
    assert pair["kappa"] == pytest.approx(_kappa(votes_a, votes_b), abs=1e-9)
    assert f"kappa {pair['kappa']:.3f}" in out.output
    file_rows = pd.read_csv(from_file, dtype=str, keep_default_na=False)
    assert file_rows[["note_id", "label"]].equals(rows[["note_id", "label"]])
    assert not validate_frame(rows, labels, "text", "label", ("style",)).issues

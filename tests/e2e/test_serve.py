"""HTTP serving: `mlflow models serve` on the registered champion answers like the Python API."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from borrower_typing.config import load_train_config
from borrower_typing.train import train
from tests.conftest import save_mlflow_model

NOTES = ["你们去起诉吧，我一点都不怕", "客户边哭边说钱被骗光了，孩子还在住院"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, payload: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations",
        data=json.dumps(payload, ensure_ascii=False).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_served_champion_matches_python_api(small_corpus, tracking_uri, tmp_path):
    cfg = load_train_config(None, {"data.path": str(small_corpus), "tracking.export_dir": str(tmp_path / "export")})
    result = train(cfg, reports_dir=tmp_path / "reports")
    expected = result.model.predict(NOTES)
    port = free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    # the server starts uvicorn by name, so the venv's bin must be on PATH
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PATH": f"{mlflow_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    server = subprocess.Popen(
        [
            str(mlflow_bin),
            "models",
            "serve",
            "-m",
            "models:/borrower-typing@champion",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.5)
        answer = post(port, {"dataframe_split": {"columns": ["text"], "data": [[n] for n in NOTES]}})
        rows = answer["predictions"]
        assert len(rows) == 2
        for row, pred in zip(rows, expected, strict=True):
            assert row["type"] == pred.type
            assert row["confidence"] == pytest.approx(pred.confidence, abs=1e-9)
            assert row["needs_review"] == pred.needs_review
            assert row["strategy"] == pred.strategy
        without = post(port, {"dataframe_records": [{"text": NOTES[0]}], "params": {"include_strategy": False}})
        assert "strategy" not in without["predictions"][0]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def raw_post(port: int, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.slow
def test_served_errors_never_echo_the_note(trained_model, tmp_path):
    """`borrower-typing serve`: bad requests get a 4xx whose body holds no part of the submitted note."""
    folder = save_mlflow_model(trained_model, tmp_path / "model")
    secret = "客户王五电话13812345678称SECRETNOTE下周还"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "borrower_typing", "serve", "--model", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"server did not start: {server.stderr.read().decode()[-2000:]}") from None
                time.sleep(0.5)
        ok = post(port, {"dataframe_records": [{"text": secret}]})
        assert len(ok["predictions"]) == 1
        bad = [
            {"dataframe_records": [{"txt": secret}]},  # schema: no text column
            {"inputs": {"text": [secret]}, "params": {"include_strategy": secret}},  # a param of the wrong type
            {"dataframe_split": {"columns": ["text"], "data": [[secret, secret]]}},  # malformed split
            {"dataframe_records": [{"text": secret}], "params": {"include_probabilities": [secret]}},
        ]
        bodies = [json.dumps(b, ensure_ascii=False).encode() for b in bad]
        answers = [raw_post(port, body) for body in bodies]
        answers.append(raw_post(port, secret.encode()))  # not JSON at all
        answers.append(raw_post(port, secret.encode(), "text/plain"))  # unsupported content type
        for status, body in answers:
            assert 400 <= status < 500, (status, body)
            text = body.decode("utf-8", errors="replace")
            assert "SECRETNOTE" not in text and "13812345678" not in text and "王五" not in text, text
            assert json.loads(body)["message"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()

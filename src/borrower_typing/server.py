"""``borrower-typing serve``: MLflow's scoring server on a model folder checked against its manifest first,
with error bodies that never hold request data.

``mlflow models serve`` loads whatever the folder's ``MLmodel`` names and imports its ``code/`` folder, so
the folder it is given is the verified local copy, never a URI it would fetch again itself. Its error
responses quote the request ("Failed to predict data '<the notes>'", "Input: b'<the body>'"): the app here is
MLflow's own (same routes, same answers) with each error body replaced by its error code and a fixed message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

from .bundle import verified_model

MODEL_PATH_ENV = "BORROWER_TYPING_SERVE_MODEL"
ERROR_MESSAGES = {
    400: "invalid request: send JSON with dataframe_split, dataframe_records, instances or inputs holding a "
    "'text' column of strings; params include_strategy and include_probabilities are booleans",
    404: "not found: POST /invocations, GET /ping, /health, /version",
    405: "method not allowed",
    413: "request too large",
    415: "unsupported content type: use application/json or text/csv",
    504: "request processing time exceeded the limit",
}
GENERIC_ERROR = "the request could not be scored (details are in the server log, without the request data)"


def safe_error_body(status: int, body: bytes) -> bytes:
    """An error body holding only the error code MLflow chose and a fixed message: never request data."""
    code = "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error_code"), str):
            code = parsed["error_code"] if parsed["error_code"].isidentifier() else code
    except (ValueError, UnicodeDecodeError):
        pass
    message = ERROR_MESSAGES.get(status, GENERIC_ERROR if status >= 500 or status == 422 else ERROR_MESSAGES[400])
    return json.dumps({"error_code": code, "message": message}).encode()


def create_app() -> Any:
    """The ASGI app (``uvicorn --factory``): MLflow's scoring server for the model in ``$BORROWER_TYPING_SERVE_MODEL``
    with every error body made safe."""
    from fastapi import Request
    from fastapi.responses import Response
    from mlflow.pyfunc import scoring_server

    app = scoring_server.init(scoring_server.load_model_with_mlflow_config(os.environ[MODEL_PATH_ENV]))

    @app.middleware("http")
    async def no_request_data_in_errors(request: Request, call_next: Any) -> Any:
        try:
            response = await call_next(request)
        except Exception:  # an uncaught error would be Starlette's 500: the same fixed body
            return Response(safe_error_body(500, b""), status_code=500, media_type="application/json")
        if response.status_code < 400:
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        return Response(
            safe_error_body(response.status_code, body), status_code=response.status_code, media_type="application/json"
        )

    return app


def serve_command(host: str, port: int, workers: int = 1) -> list[str]:
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "borrower_typing.server:create_app"]
    return [*uvicorn, "--host", host, "--port", str(port), "--workers", str(workers)]


def serve_model(location: str, host: str = "127.0.0.1", port: int = 5001, tracking_uri: str | None = None) -> int:
    """Verify the model at ``location`` (folder or ``models:/`` URI), then serve it until the server stops
    (Ctrl-C or SIGTERM); returns the server's exit code. A downloaded copy is removed afterwards."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)  # so the download is removed on SIGTERM too
    try:
        with verified_model(location, tracking_uri) as folder:
            env = {
                **os.environ,
                MODEL_PATH_ENV: str(folder),
                "PYTHONDONTWRITEBYTECODE": "1",  # nothing written into the verified folder's code/
            }
            server = subprocess.Popen(serve_command(host, port), env=env)
            try:
                return server.wait()
            except KeyboardInterrupt:
                server.terminate()
                server.wait()
                return 130
    finally:
        signal.signal(signal.SIGTERM, previous)

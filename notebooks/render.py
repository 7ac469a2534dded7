"""Execute the notebooks top to bottom and write each, with its outputs, as HTML to ``reports/`` (``make notebooks``).

The notebooks are stored without outputs; this is how to read them with results. They run with the working
directory at the repository root, in a kernel that is this very interpreter (the project's .venv), and read the
tracking store from ``$MLFLOW_TRACKING_URI`` (else ``sqlite:///mlflow.db``). Any cell error stops with exit code 1.

    .venv/bin/python notebooks/render.py                        # all of them
    .venv/bin/python notebooks/render.py 03-error-analysis      # one
    .venv/bin/python notebooks/render.py --data my_export.csv --text-column 催记内容 --label-column 类型 \
        --group-column 催收员                                       # on your own export

Options --data, --text-column, --label-column, --group-column, --encoding and --tracking-uri set the values of
each notebook's cell tagged ``parameters`` (papermill's convention: a cell with the new values is inserted after
it), so the same notebooks run on a lender's export without editing them.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = ("01-corpus-exploration", "02-experiments", "03-error-analysis", "04-batch-monitoring")
KERNEL_NAME = "borrower-typing-venv"
PARAMETERS = {  # command-line option -> name in the notebooks' parameters cell
    "data": "DATA",
    "text-column": "TEXT_COLUMN",
    "label-column": "LABEL_COLUMN",
    "group-column": "GROUP_COLUMN",
    "encoding": "ENCODING",
    "tracking-uri": "TRACKING_URI",
}


def execute(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: int = 600,
    cwd: str | Path = ROOT,
    parameters: Mapping[str, object] | None = None,
) -> nbformat.NotebookNode:
    """Run a notebook in a kernel started from ``sys.executable`` and return it with its outputs.

    ``parameters`` (names as in the notebook's ``parameters`` cell) are injected with papermill first.

    The kernel spec is written to a temporary folder for this run only, so neither a user-level ``python3``
    kernel nor whatever ``python`` is first on PATH can stand in for the project's interpreter.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    if parameters:
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        nb = parameterize_notebook(load_notebook_node(str(path)), dict(parameters))
    else:
        nb = nbformat.read(str(path), as_version=4)
    with tempfile.TemporaryDirectory(prefix="nb-kernel-") as tmp:
        spec = Path(tmp) / KERNEL_NAME
        spec.mkdir()
        (spec / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3 (borrower-typing .venv)",
                    "language": "python",
                }
            ),
            encoding="utf-8",
        )
        specs = KernelSpecManager(kernel_dirs=[tmp], ensure_native_kernel=False)
        # IPC sockets in the temporary folder: local only, and no plain-TCP warning from the kernel.
        km = AsyncKernelManager(
            kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc", ip=str(Path(tmp) / "kernel")
        )
        client = NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}})
        kwargs = {"env": dict(env)} if env is not None else {}
        # A client handed its kernel manager leaves the kernel running unless told to clean up: shut it down
        # (and its joblib workers with it) as soon as the notebook is done, error or not.
        client.execute(cleanup_kc=True, **kwargs)
    return nb


def to_html(nb: nbformat.NotebookNode) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


def render(
    names: Sequence[str] = NOTEBOOKS,
    out_dir: str | Path = ROOT / "reports",
    timeout: int = 600,
    parameters: Mapping[str, object] | None = None,
) -> list[Path]:
    """Execute each named notebook and write ``<out_dir>/<name>.html``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        t0 = time.perf_counter()
        nb = execute(NOTEBOOK_DIR / f"{name}.ipynb", timeout=timeout, parameters=parameters)
        target = out / f"{name}.html"
        target.write_text(to_html(nb), encoding="utf-8")
        written.append(target)
        print(f"{name}: executed in {time.perf_counter() - t0:.1f}s -> {target}", flush=True)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", default=list(NOTEBOOKS), help=f"names (default: {' '.join(NOTEBOOKS)})")
    parser.add_argument("--out-dir", default=str(ROOT / "reports"), help="where the HTML files go (default: reports/)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default: 600)")
    for option in PARAMETERS:
        parser.add_argument(f"--{option}", help=f"notebook parameter {PARAMETERS[option]}")
    args = parser.parse_args(argv)
    given = {name: getattr(args, option.replace("-", "_")) for option, name in PARAMETERS.items()}
    parameters = {name: value for name, value in given.items() if value is not None}
    if parameters.get("GROUP_COLUMN") == "":
        parameters["GROUP_COLUMN"] = None
    unknown = [n for n in args.notebooks if not (NOTEBOOK_DIR / f"{n}.ipynb").is_file()]
    if unknown:
        parser.error(f"no notebook {', '.join(unknown)} in {NOTEBOOK_DIR}")
    from nbclient.exceptions import CellExecutionError

    try:
        render(args.notebooks, args.out_dir, args.timeout, parameters)
    except CellExecutionError as exc:
        print(f"notebook failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

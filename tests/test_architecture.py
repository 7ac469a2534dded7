"""The house's structure, checked from the source: every module has a declared layer, imports only point down
or sideways within a layer, nothing imports in a cycle, and no module grows far past 400 lines.

Imports inside functions count like top-level ones: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
import graphlib
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "borrower_typing"

# Lowest first. A module may import modules of its own layer or of a lower one (docs/architecture.md).
LAYERS: list[tuple[str, ...]] = [
    ("errors", "pii", "registers", "text", "labels", "config", "ngrams", "tokenize", "vocab", "robustness"),
    ("scorer", "features", "review", "schema", "explainer", "compliance"),  # the numbers, the rules, the output schema
    ("predictor", "manifest", "bundle", "pipeline"),  # texts -> arrays; model folders; the scikit-learn pipeline
    ("model", "profile"),  # TypingModel: predictor + explainer + labels
    (
        "predict",
        "serving",
        "console",
        "data",
        "cases",
        "validate",
        "monitor_report",
    ),  # API, pyfunc, tables, per-case rule
    (
        "tracking",
        "evaluate",
        "sources",
        "monitor_tracking",
    ),  # MLflow; reports; several labelled files with per-source figures
    ("batch", "explore", "spark_io", "spark_model", "train", "monitor"),  # engines' parts and jobs
    ("spark", "server"),  # the Spark engine; the HTTP server
    ("cli", "cli_models", "__main__"),  # the command line
    ("__init__",),  # the package root (lazy attributes only)
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
MAX_LINES = 450  # "about 400": a module past this wants splitting


def modules() -> list[str]:
    return sorted(p.stem for p in PACKAGE.glob("*.py"))


def imports_of(name: str) -> set[str]:
    """The package modules ``name`` imports (relative or absolute, anywhere in the file)."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("borrower_typing."):
                found.add(node.module.split(".")[1])
            elif node.module == "borrower_typing":
                found.add("__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "borrower_typing":
                    found.add("__init__")
                elif alias.name.startswith("borrower_typing."):
                    found.add(alias.name.split(".")[1])
    return found & set(modules()) - {name}


def test_every_module_has_a_layer():
    assert sorted(set(modules()) - set(LAYER)) == [], "add new modules to LAYERS (and docs/architecture.md)"
    assert sorted(set(LAYER) - set(modules())) == []


def test_no_import_points_up():
    upward = [
        f"{name} (layer {LAYER[name]}) imports {other} (layer {LAYER[other]})"
        for name in modules()
        for other in sorted(imports_of(name))
        if LAYER[other] > LAYER[name]
    ]
    assert upward == []


def test_no_import_cycle():
    graph = {name: imports_of(name) for name in modules()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")
    assert set(order) == set(modules())


def test_only_the_root_imports_the_root():
    assert [name for name in modules() if "__init__" in imports_of(name) and name != "__main__"] == []


@pytest.mark.parametrize("name", [m for m in modules() if m not in ("__main__",)])
def test_every_module_imports(name):
    module = "borrower_typing" if name == "__init__" else f"borrower_typing.{name}"
    assert importlib.import_module(module) is not None


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_architecture_doc_names_every_module():
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert [m for m in modules() if m != "__main__" and f"{m}" not in doc] == []

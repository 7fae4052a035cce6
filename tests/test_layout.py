"""The architecture's rule, checked: only worker processes import TensorFlow, no module imports
another that imports it back, and no module grows past about 300 lines.

``bench.measure`` and the monitor (``bench.watch``) import TensorFlow; every other part reads or
writes results files, plans and runs processes, or checks source text, and must stay importable
in a parent process without it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
#: The parts of the bench that run in TensorFlow's processes.
TENSORFLOW_PARTS = ("measure", "watch")
MAX_LINES = 300


def _name(path: Path) -> str:
    rel = path.relative_to(BENCH.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(BENCH.rglob("*.py"))}


def _tensorflow_free() -> list[str]:
    return [m for m in MODULES if not any(m == f"bench.{p}" or m.startswith(f"bench.{p}.") for p in TENSORFLOW_PARTS)
            and m != "bench.__main__"]


def test_the_parts_that_read_results_run_or_lint_never_import_tensorflow():
    modules = _tensorflow_free()
    assert {"bench.analysis.truth", "bench.lessons.plots", "bench.runner.matrix", "bench.cli", "bench.lint.engine",
            "bench.results.protocol", "bench.core.verdicts", "bench.measure.cluster"} - set(modules) == {"bench.measure.cluster"}
    code = ("import importlib, json, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras', 'tf_keras'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout) == [], f"imported TensorFlow or Keras: {proc.stdout[:300]}"


def _imports(module: str, path: Path) -> set[str]:
    """Every bench module ``module`` imports when it runs (function-level imports included;
    imports under ``if TYPE_CHECKING:`` left out), with the packages each import runs first."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for n in ast.walk(node)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for t in targets:
            parts = t.split(".")
            found |= {".".join(parts[:i]) for i in range(2, len(parts) + 1) if ".".join(parts[:i]) in MODULES}
    found.discard(module)
    return found


def test_no_module_imports_one_that_imports_it_back():
    graph = {m: _imports(m, p) for m, p in MODULES.items()}
    # a package's __init__ importing its own submodules is how it re-exports them, not a cycle
    graph = {m: {d for d in deps if not (d.startswith(m + ".") and MODULES[m].name == "__init__.py")} for m, deps in graph.items()}
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d, stack + [d])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_the_measuring_side_has_no_hidden_back_edge():
    """The old cycle: the worker handed multiworker cells to a module that imported the worker back."""
    assert "bench.measure.worker" not in _imports("bench.measure.cluster", MODULES["bench.measure.cluster"])
    assert "bench.measure.cells" not in _imports("bench.measure.cluster", MODULES["bench.measure.cluster"])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(BENCH.parent)} has {lines} lines; split it by concept"


def _docstrings(tree) -> set[int]:
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}


def test_the_verdict_vocabulary_is_defined_once():
    """Verdict marks, and tables keyed by verdict (marks, colours), exist in ``bench/core/verdicts.py`` only."""
    from bench.core import verdicts

    marks = set(verdicts.MARK.values()) | {verdicts.MISREPORTED_MARK}  # (≠, the figures' mark, is also prose)
    for module, path in MODULES.items():
        if module == "bench.core.verdicts":
            continue
        tree = ast.parse(path.read_text())
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(BENCH.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                assert not any(m in node.value for m in marks), f"{where} repeats a verdict mark: {node.value[:40]!r}"
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                assert not set(verdicts.VERDICTS[:4]) <= keys, f"{where} defines a table keyed by verdict"
    assert set(verdicts.MARK) == set(verdicts.VERDICTS) and set(verdicts.VERDICTS) <= set(verdicts.COLOURS)

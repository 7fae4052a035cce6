"""Python numbers meeting a ``tf.function``: frozen at trace time, or a new trace per value."""

from __future__ import annotations

import ast

from bench.lint.analysis import writes_lr
from bench.lint.rules import Edit, Hit, Rule, register

COMPILED = ("function", "xla")


def _free_loads(fn: ast.FunctionDef, inner) -> list[ast.Name]:
    """Names the function reads but never binds itself (they come from an enclosing scope)."""
    bound = set(inner.bindings)
    return [n for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and n.id not in bound and n is not fn]


def _varies(node: ast.AST, scope) -> bool:
    """Does this expression take more than one value: a name bound twice or by a loop, or
    arithmetic on one?"""
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            owner = _owner(scope, n.id)
            held = owner.bindings[n.id] if owner else []
            if len(held) >= 2 or any(v.info.get("loop") for _, v in held):
                return True
    return False


def _feeds_lr(a, fn: ast.FunctionDef, name: str) -> bool:
    """Is ``name`` written into an LR in ``fn``, directly or through a module function that sets one?"""
    if "lr" in name.lower() or "learning_rate" in name.lower():
        return True
    setters = {v.node.name for s in (a.module,) for vals in s.bindings.values() for _, v in vals
               if v.kind == "function" and writes_lr(v.node)}
    for stmt in ast.walk(fn):
        mentions = any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmt))
        if not mentions:
            continue
        if isinstance(stmt, (ast.Assign, ast.Expr)) and writes_lr(stmt):
            return True
        if isinstance(stmt, ast.Call) and isinstance(stmt.func, ast.Name) and stmt.func.id in setters:
            return True
    return False


def _owner(scope, name):
    while scope is not None:
        if name in scope.bindings:
            return scope
        scope = scope.parent
    return None


@register
class ClosureFloat(Rule):
    """A `tf.function` reads a Python number from an enclosing scope that is changed later.

    Finds a name read inside a `@tf.function` (or `tf.function(f)`-wrapped) body that the
    function does not bind itself, when the enclosing scope binds it to a number and binds it
    again (a later `=`, an augmented assignment, a loop, or a `global` statement elsewhere), and
    the number goes into an LR: it is written into one in the body, passed to a function of the
    module that sets one, or named like one (`lr`, `learning_rate`).

    Tracing reads the number once and bakes it into the graph as a constant; later values are
    seen only by eager code. The bench measures it in scenario `closure-float`.

    Fix: keep the LR in the optimizer (`opt.learning_rate.assign(x)` outside the step) or in a
    `tf.Variable` the step reads, or pass it as a tensor argument (scenario `tensor-arg`).
    """

    code, name, scenarios = "LR006", "closure-float", ("closure-float",)

    def check(self, a, target):
        for fn, inner in a.tf_functions:
            flagged = set()
            for load in _free_loads(fn, inner):
                owner = _owner(inner.parent, load.id)
                if owner is None or load.id in flagged or load.id in a.imports:
                    continue
                held = owner.bindings[load.id]
                if len(held) >= 2 and any(v.kind == "number" for _, v in held) and _feeds_lr(a, fn, load.id):
                    flagged.add(load.id)
                    yield Hit(load, f"`{load.id}` is a Python number from outside the compiled step, changed "
                              "after it was traced", "closure-float", modes=COMPILED)


@register
class FloatArg(Rule):
    """A Python float passed as an argument to a `tf.function`: a new trace for every value.

    Finds a call of a `@tf.function` (or `tf.function(f)`) with an argument that is a Python
    float that changes between calls: a name bound more than once or by a loop, arithmetic on
    one, a float read from an optimizer's LR, or float literals that differ between the calls of
    the same function. (One constant float at every call is one trace, and is not reported.)

    The LR does change, but `tf.function` keys its traces on Python values, so every new float
    traces (and under XLA compiles) the whole step again. The bench measures it in scenario
    `float-arg`; the finding cites the traces and the step time it measured.

    Fix: pass a tensor, `train_step(tf.constant(lr))` (scenario `tensor-arg`: one trace for every
    value). `--fix` wraps the argument where the module imports TensorFlow and `tensor-arg` was
    measured effective on the target.
    """

    code, name, scenarios = "LR007", "float-arg", ("float-arg",)

    def concern(self, c):
        return not c.fine() or (c.traces is not None and c.traces > 2)

    def detail(self, c):
        if c.measured and c.traces is not None and c.step_ratio is not None:
            return (f"; {c.traces:g} traces per cell (median), step time x{c.step_ratio:.0f} "
                    "the bare compiled step")
        return ""

    def check(self, a, target):
        tf = next((local for local, full in a.imports.items() if full == "tf"), None)
        calls = [c for c in a.calls if c.func.kind == "tf_function"]
        literals: dict[tuple, set] = {}  # (function, argument) -> the float literals passed there
        for c in calls:
            for key, node in self._arguments(c):
                if isinstance(node, ast.Constant) and isinstance(node.value, float):
                    literals.setdefault((id(c.func.node), key), set()).add(node.value)
        for c in calls:
            values = dict(zip(range(len(c.args)), c.args)) | c.kwargs
            for key, node in self._arguments(c):
                v = values.get(key)
                if v is None or not (v.kind == "number" and v.is_float or v.kind == "lr_float"):
                    continue
                if isinstance(node, ast.Constant):
                    changes = len(literals.get((id(c.func.node), key), ())) > 1
                else:
                    changes = v.kind == "lr_float" or _varies(node, c.scope)
                if changes:
                    src = ast.unparse(node)
                    edits = [Edit(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                                  f"{tf}.constant({src})")] if tf else []
                    yield Hit(node, f"`{src}` is a Python float passed to a `tf.function`", "float-arg",
                              modes=COMPILED, edits=edits, fix_needs=("tensor-arg",))

    @staticmethod
    def _arguments(c):
        return list(enumerate(c.node.args)) + [(k.arg, k.value) for k in c.node.keywords if k.arg]

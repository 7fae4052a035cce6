"""Python numbers meeting a ``tf.function``: frozen at trace time, or a new trace per value."""

from __future__ import annotations

import ast

from bench.lint.rules import Edit, Hit, Rule, register

COMPILED = ("function", "xla")


def _free_loads(fn: ast.FunctionDef, inner) -> list[ast.Name]:
    """Names the function reads but never binds itself (they come from an enclosing scope)."""
    bound = set(inner.bindings)
    return [n for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and n.id not in bound and n is not fn]


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
    again (a later `=`, an augmented assignment, a loop, or a `global` statement elsewhere).

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
                if len(held) >= 2 and any(v.kind == "number" for _, v in held):
                    flagged.add(load.id)
                    yield Hit(load, f"`{load.id}` is a Python number from outside the compiled step, changed "
                              "after it was traced", "closure-float", modes=COMPILED)


@register
class FloatArg(Rule):
    """A Python float passed as an argument to a `tf.function`: a new trace for every value.

    Finds a call of a `@tf.function` (or `tf.function(f)`) with an argument that is a Python
    float: a float literal, a name or loop variable bound to floats, arithmetic on them, or a
    float read from an optimizer's LR.

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
        for c in a.calls:
            if c.func.kind != "tf_function":
                continue
            pairs = list(zip(c.node.args, c.args)) + [(k.value, c.kwargs.get(k.arg)) for k in c.node.keywords if k.arg]
            for node, v in pairs:
                if v is not None and (v.kind == "number" and v.is_float or v.kind == "lr_float"):
                    src = ast.unparse(node)
                    edits = [Edit(node.lineno, node.col_offset, node.end_lineno, node.end_col_offset,
                                  f"{tf}.constant({src})")] if tf else []
                    yield Hit(node, f"`{src}` is a Python float passed to a `tf.function`", "float-arg",
                              modes=COMPILED, edits=edits, fix_needs=("tensor-arg",))

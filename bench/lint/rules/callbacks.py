"""LR callbacks where they cannot do what they say: on a schedule, or between executions."""

from __future__ import annotations

import ast

from bench.lint import aliases
from bench.lint.analysis import BATCH_HOOKS, pos, writes_lr
from bench.lint.rules import Hit, Rule, register

#: The scenario that measures each callback on a schedule-built optimizer.
ON_SCHEDULE = {"LearningRateScheduler": "callback-on-schedule", "ReduceLROnPlateau": "plateau-on-schedule"}


def compiles(a):
    return [c for c in a.calls if c.method == "compile" and c.recv is not None and c.recv.kind == "model"]


@register
class CallbackOnSchedule(Rule):
    """`LearningRateScheduler` or `ReduceLROnPlateau` with an optimizer built from a schedule.

    Finds one of these callbacks created after the last `model.compile(optimizer=opt)` before it
    was given an optimizer whose constructor took a schedule. Both callbacks read the LR as a
    number and write a number back through `optimizer.learning_rate = value`; on a schedule-built
    optimizer there is no variable to write into. The bench measures `LearningRateScheduler` in
    scenario `callback-on-schedule`; `ReduceLROnPlateau` on a schedule is cited as
    `plateau-on-schedule`, not measured yet.

    Fix: a float-built optimizer, with the schedule as the callback's function
    (`LearningRateScheduler(lambda epoch, lr: float(schedule(epoch)))`), or the schedule and no callback.
    """

    code, name, scenarios = "LR008", "callback-on-schedule", tuple(ON_SCHEDULE.values())

    def check(self, a, target):
        comp = compiles(a)
        for c in a.calls:
            cb = aliases.callback_class(c.qual)
            if cb not in ON_SCHEDULE:
                continue
            before = [x for x in comp if pos(x.node) < pos(c.node)]
            if not before:
                continue
            last = before[-1]
            opt = last.kwargs.get("optimizer", last.args[0] if last.args else None)
            if opt is not None and opt.kind == "optimizer" and opt.lr == "schedule":
                yield Hit(c.node, f"`{cb}` on a model compiled with a schedule-built optimizer", ON_SCHEDULE[cb],
                          apis=("fit",))


def _spe(a, call) -> int:
    k = next((k for k in call.node.keywords if k.arg == "steps_per_execution"), None)
    if k is None:
        return 1
    node = k.value
    if isinstance(node, ast.Name):  # one step back to a constant binding
        held = call.scope.lookup(node.id, pos(call.node))
        node = held.node if held.kind == "number" and isinstance(held.node, ast.Constant) else node
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, int) else 1


@register
class StepsPerExecution(Rule):
    """A per-batch LR callback under `compile(steps_per_execution=N)` with N > 1.

    Finds a callback that sets the LR in a batch hook (`on_train_batch_begin`, `on_batch_begin`,
    their `_end` forms; a class defined in the module or a `LambdaCallback`) created in a module
    that compiles a model with a literal `steps_per_execution` above 1. Batch hooks then run once
    per execution, with the index of its first batch, so the change lands on an execution
    boundary, or never when the hook waits for an exact batch. The bench measures it in scenario
    `steps-per-execution`.

    Fix: put the change in a schedule (`PiecewiseConstantDecay`, or any `LearningRateSchedule`),
    which the compiled loop evaluates at every step; or use `steps_per_execution=1`.
    """

    code, name, scenarios = "LR009", "steps-per-execution", ("steps-per-execution",)

    def check(self, a, target):
        if not any(_spe(a, c) > 1 for c in compiles(a)):
            return
        for c in a.calls:
            per_batch = c.func.kind == "class" and c.func.info.get("batch_lr")
            if aliases.callback_class(c.qual) == "LambdaCallback":
                per_batch = any(k.arg in BATCH_HOOKS and writes_lr(k.value) for k in c.node.keywords)
            if per_batch:
                yield Hit(c.node, "a per-batch LR callback under `steps_per_execution` > 1",
                          "steps-per-execution", apis=("fit",))

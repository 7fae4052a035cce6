"""Optimizer state across a restore, a recompile or a resumed run."""

from __future__ import annotations

import ast

from bench.lint.analysis import LR_ATTRS, pos
from bench.lint.rules import Hit, Rule, register
from bench.lint.rules.callbacks import compiles

RESTORES = ("restore", "load_weights", "restore_or_initialize")


def _restores(a):
    return [c for c in a.calls if c.method in RESTORES]


@register
class RestoreAfterLr(Rule):
    """An LR set, then a checkpoint restored over it in the same function.

    Finds `opt.learning_rate = x` or `opt.learning_rate.assign(x)` followed, in the same function
    or module body, by `checkpoint.restore(...)`, `manager.restore_or_initialize()` or
    `model.load_weights(...)`. A checkpoint that holds the optimizer holds its LR variable too,
    and restoring it may write the saved LR back over the one just set. The bench measures
    `load_weights` in scenario `restore-lr` and `tf.train.Checkpoint(...).restore` in
    `restore-lr-checkpoint`.

    Fix: restore first, then set the LR.
    """

    code, name, scenarios = "LR013", "restore-lr", ("restore-lr", "restore-lr-checkpoint")

    def check(self, a, target):
        writes = [(s.stmt, s.scope) for s in a.attr_sets if s.node.attr in LR_ATTRS and s.obj.kind == "optimizer"]
        writes += [(c.node, c.scope) for c in a.calls
                   if c.method == "assign" and c.recv is not None and c.recv.kind == "lr_of"]
        for node, scope in writes:
            later = [c for c in _restores(a) if c.scope is scope and pos(c.node) > pos(node)]
            if later:
                sid = "restore-lr" if later[0].method == "load_weights" else "restore-lr-checkpoint"
                yield Hit(later[0].node, f"`{later[0].method}` after the LR was set", sid)


@register
class ResumeSchedule(Rule):
    """`fit(initial_epoch=N)` on a fresh schedule-built optimizer: the schedule starts again at 0.

    Finds `model.fit(..., initial_epoch=...)` on a model last compiled with an optimizer built
    from a schedule, when no checkpoint is restored before it. `initial_epoch` only renumbers the
    epochs; a schedule is evaluated at `optimizer.iterations`, which a new optimizer starts at 0,
    so the question is whether the saved step count reaches the new optimizer. The bench measures
    `model.load_weights` before the `compile` in scenario `resume-new-optimizer` (Keras 3 starts
    the schedule again: the optimizer did not exist yet; tf_keras's TensorFlow-format checkpoint
    restores it when it is created), and `load_weights` after the `compile` in
    `resume-initial-epoch` (Keras 3 skips the saved state of an optimizer not yet built, Adam's,
    with a warning only).

    Fix: `keras.models.load_model` of a full save, or restore the optimizer with the model
    (`tf.train.Checkpoint(model=..., optimizer=...)`) after compiling, or `BackupAndRestore`.
    """

    code, name, scenarios = "LR014", "resume-schedule", ("resume-new-optimizer", "resume-initial-epoch")

    def check(self, a, target):
        comp = compiles(a)
        for c in a.calls:
            if c.method != "fit" or not any(k.arg == "initial_epoch" for k in c.node.keywords):
                continue
            before = [x for x in comp if x.recv is c.recv and pos(x.node) < pos(c.node)]
            if not before:
                continue
            last = pos(before[-1].node)
            loads = [r for r in _restores(a) if pos(r.node) < pos(c.node)]
            if any(r.method != "load_weights" for r in loads):
                continue  # a checkpoint restore: not what this rule can judge
            after_compile = any(pos(r.node) > last for r in loads)
            opt = before[-1].kwargs.get("optimizer", before[-1].args[0] if before[-1].args else None)
            if opt is not None and opt.kind == "optimizer" and opt.lr == "schedule":
                yield Hit(c.node, "training resumed with `initial_epoch` on a new schedule-built optimizer",
                          "resume-initial-epoch" if after_compile else "resume-new-optimizer", apis=("fit",))


@register
class Recompile(Rule):
    """`model.compile(...)` again on a model that has trained, to change the LR.

    Finds a second `compile` of the same model after a `fit` on it, in one function or module
    body, with a new optimizer, or with the same one after its LR was set (a recompile that
    keeps the optimizer and its LR, as fine-tuning does after unfreezing layers, is left alone). Compiling again with a new optimizer starts that optimizer from nothing: its step
    count, which schedules read, and Adam's moments. The bench measures a new optimizer in
    scenario `recompile-new-optimizer` and the same optimizer object in `recompile-same-optimizer`.

    Fix: keep the optimizer and change its LR (`model.optimizer.learning_rate.assign(x)` on a
    float-built optimizer).
    """

    code, name, scenarios = "LR015", "recompile", ("recompile-new-optimizer", "recompile-same-optimizer")

    def check(self, a, target):
        comp = compiles(a)
        fits = [c for c in a.calls if c.method == "fit"]
        for c in comp:
            earlier_compile = any(x.recv is c.recv and pos(x.node) < pos(c.node) for x in comp)
            earlier_fit = any(f.recv is c.recv and pos(f.node) < pos(c.node) for f in fits)
            if earlier_compile and earlier_fit:
                opt = c.kwargs.get("optimizer", c.args[0] if c.args else None)
                arg = next((k.value for k in c.node.keywords if k.arg == "optimizer"), c.node.args[0] if c.node.args else None)
                fresh = opt is None or opt.kind != "optimizer" or opt.node is arg  # built in the call
                if not fresh and not _lr_written_before(a, c):
                    continue  # the same optimizer, LR untouched: recompiling to fine-tune, say
                sid = "recompile-new-optimizer" if fresh else "recompile-same-optimizer"
                yield Hit(c.node, "the model compiled again after training", sid, apis=("fit",))


def _lr_written_before(a, call) -> bool:
    return any(s.node.attr in LR_ATTRS and s.obj.kind == "optimizer" and pos(s.stmt) < pos(call.node)
               for s in a.attr_sets)


@register
class OptimizerReassign(Rule):
    """`model.optimizer = new_optimizer` without compiling again.

    Finds a new optimizer assigned to a model's `optimizer` attribute (in a callback, typically
    `self.model.optimizer = ...`). The train function `fit` compiled holds the optimizer it was
    traced with. The bench measures it in scenario `optimizer-reassign`.

    Fix: change the LR of the optimizer the model has (`self.model.optimizer.learning_rate = x`
    on a float-built optimizer).
    """

    code, name, scenarios = "LR016", "optimizer-reassign", ("optimizer-reassign",)

    def check(self, a, target):
        for s in a.attr_sets:
            owner = s.node.value
            named_model = isinstance(owner, (ast.Name, ast.Attribute)) and \
                (owner.id if isinstance(owner, ast.Name) else owner.attr) == "model"
            if s.node.attr == "optimizer" and s.value.kind == "optimizer" and (s.obj.kind == "model" or named_model):
                yield Hit(s.node, "a new optimizer assigned to `model.optimizer`", "optimizer-reassign",
                          apis=("fit",))


@register
class RestartByIterations(Rule):
    """`optimizer.iterations.assign(0)` to restart a schedule.

    Finds an assign into an optimizer's `iterations`. The step counter is what schedules are
    evaluated at, and Adam's bias correction reads it too, so resetting it restarts more than the
    schedule. The bench measures it in scenario `restart-by-iterations`.

    Fix: a schedule that counts from the step it was installed at (see LR012), or one whose
    parameters and offset are variables (scenario `schedule-restart`).
    """

    code, name, scenarios = "LR017", "restart-by-iterations", ("restart-by-iterations",)

    def check(self, a, target):
        for c in a.calls:
            f = c.node.func
            if c.method == "assign" and isinstance(f.value, ast.Attribute) and f.value.attr == "iterations" \
                    and a.value(f.value.value, c.scope).kind == "optimizer":
                yield Hit(c.node, "the optimizer's step counter reset", "restart-by-iterations")

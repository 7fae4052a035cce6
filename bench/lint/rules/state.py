"""Optimizer state across a restore, a recompile or a resumed run."""

from __future__ import annotations

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
    and restoring it writes the saved LR back over the one just set. The bench's scenario for it
    is `restore-lr`.

    Fix: restore first, then set the LR.
    """

    code, name, scenarios = "LR013", "restore-lr", ("restore-lr",)

    def check(self, a, target):
        writes = [(s.stmt, s.scope) for s in a.attr_sets if s.node.attr in LR_ATTRS and s.obj.kind == "optimizer"]
        writes += [(c.node, c.scope) for c in a.calls
                   if c.method == "assign" and c.recv is not None and c.recv.kind == "lr_of"]
        for node, scope in writes:
            later = [c for c in _restores(a) if c.scope is scope and pos(c.node) > pos(node)]
            if later:
                yield Hit(later[0].node, "a checkpoint restored after the LR was set", "restore-lr")


@register
class ResumeSchedule(Rule):
    """`fit(initial_epoch=N)` on a fresh schedule-built optimizer: the schedule starts again at 0.

    Finds `model.fit(..., initial_epoch=...)` on a model last compiled with an optimizer built
    from a schedule, when nothing before it restores a checkpoint or weights. `initial_epoch`
    only renumbers the epochs; a schedule is evaluated at `optimizer.iterations`, which a new
    optimizer starts at 0. The bench's scenario for it is `resume-schedule`.

    Fix: restore the optimizer with the model (`tf.train.Checkpoint(model=..., optimizer=...)`),
    or set `optimizer.iterations.assign(steps_done)` before resuming.
    """

    code, name, scenarios = "LR014", "resume-schedule", ("resume-schedule",)

    def check(self, a, target):
        comp = compiles(a)
        for c in a.calls:
            if c.method != "fit" or not any(k.arg == "initial_epoch" for k in c.node.keywords):
                continue
            before = [x for x in comp if x.recv is c.recv and pos(x.node) < pos(c.node)]
            if not before or any(pos(r.node) < pos(c.node) for r in _restores(a)):
                continue
            opt = before[-1].kwargs.get("optimizer", before[-1].args[0] if before[-1].args else None)
            if opt is not None and opt.kind == "optimizer" and opt.lr == "schedule":
                yield Hit(c.node, "training resumed with `initial_epoch` on a new schedule-built optimizer",
                          "resume-schedule", apis=("fit",))


@register
class Recompile(Rule):
    """`model.compile(...)` again on a model that has trained, to change the LR.

    Finds a second `compile` of the same model after a `fit` on it, in one function or module
    body. Compiling again with a new optimizer starts that optimizer from nothing: its step
    count, which schedules read, and Adam's moments. The bench's scenario for it is `recompile`.

    Fix: keep the optimizer and change its LR (`model.optimizer.learning_rate.assign(x)` on a
    float-built optimizer).
    """

    code, name, scenarios = "LR015", "recompile", ("recompile",)

    def check(self, a, target):
        comp = compiles(a)
        fits = [c for c in a.calls if c.method == "fit"]
        for c in comp:
            earlier_compile = any(x.recv is c.recv and pos(x.node) < pos(c.node) for x in comp)
            earlier_fit = any(f.recv is c.recv and pos(f.node) < pos(c.node) for f in fits)
            if earlier_compile and earlier_fit:
                yield Hit(c.node, "the model compiled again after training", "recompile", apis=("fit",))

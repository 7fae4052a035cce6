"""Changing the LR of an optimizer built from a schedule."""

from __future__ import annotations

from bench.lint.rules import Hit, Rule, register


def step_modes(a) -> tuple[str, ...]:
    """The modes whose cells describe this module: compiled if it compiles a step, eager if it
    trains without compiling, every mode when the source shows no training at all."""
    if a.compiled:
        return ("function", "xla")
    if a.eager_only or a.trains:
        return ("eager",)
    return ()


def _retraced_after(a, s) -> bool:
    """Is the step traced again after the swap, before the compiled step or ``fit`` is next used?"""
    for c in sorted(a.after(s.stmt, s.scope), key=lambda c: (c.node.lineno, c.node.col_offset)):
        if c.qual == "tf.function" or c.func.kind == "tf_function_factory":
            return True
        if c.method == "make_train_function" and any(k.arg == "force" for k in c.node.keywords):
            return True
        if c.func.kind == "tf_function" or c.method == "fit" or any(v.kind == "tf_function" for v in c.args):
            return False
    return False


def swaps(a):
    for s in a.attr_sets:
        if s.node.attr == "learning_rate" and s.obj.kind == "optimizer" and s.value.kind == "schedule" \
                and s.obj.lr != "float":
            yield s


@register
class ScheduleSwap(Rule):
    """`optimizer.learning_rate = new_schedule` while a compiled step keeps the old one.

    Finds a schedule object assigned to an optimizer's `learning_rate` after construction, in a
    module that compiles its step (`tf.function`, `jit_compile`, or `fit` without
    `run_eagerly=True`), when no retrace follows in the same function before the compiled step
    (or `fit`) is used again: a new `tf.function(...)` or `model.make_train_function(force=True)`. In code that trains eagerly the swap is seen, and
    the eager cells are cited instead.

    A compiled step traced the old schedule's arithmetic into its graph; the new Python object is
    never called. The bench measures it in scenario `schedule-swap` (and the retrace in
    `schedule-swap-retrace`).

    Fix: trace again after the swap (`train_step = tf.function(step_fn)`,
    `model.make_train_function(force=True)`), or build one schedule up front that contains the
    change, or keep the schedule's parameters in variables (scenario `schedule-restart`).
    """

    code, name, scenarios = "LR003", "schedule-swap", ("schedule-swap",)

    def check(self, a, target):
        for s in swaps(a):
            if not _retraced_after(a, s):
                yield Hit(s.node, "a schedule assigned to `optimizer.learning_rate`, no retrace before the step runs again",
                          "schedule-swap", modes=step_modes(a))


@register
class ScheduleNoRestart(Rule):
    """A stock schedule swapped in mid-training does not start from its own step 0.

    Finds a stock Keras schedule (`ExponentialDecay`, `CosineDecay`, ...) assigned to an
    optimizer's `learning_rate` after construction. Keras evaluates any schedule at
    `optimizer.iterations`, which keeps counting, so a warm-up is skipped and a decay is already
    partly spent. Whether that is a bug depends on what the author meant, so this rule runs only
    when selected (`--select LR012`). The bench measures the swap judged against a restart in
    scenario `schedule-swap-as-restart`.

    Fix: wrap the schedule so it counts from the step it was installed at (a
    `LearningRateSchedule` subclass returning `schedule(step - start)`), or keep its parameters
    and offset in variables (scenario `schedule-restart`).
    """

    code, name, scenarios, default = "LR012", "schedule-no-restart", ("schedule-swap-as-restart",), False

    def check(self, a, target):
        for s in swaps(a):
            if not s.value.user:
                yield Hit(s.node, "a stock schedule swapped in continues from `optimizer.iterations`",
                          "schedule-swap-as-restart", modes=step_modes(a))


@register
class ScheduleSetFloat(Rule):
    """`optimizer.learning_rate = 0.1` on an optimizer built from a schedule.

    Finds a number (or a float read from an LR) assigned to `learning_rate` of an optimizer whose
    constructor was given a schedule. There is no LR variable to write into: depending on the
    flavour the statement raises, or replaces the schedule in a way a compiled step never sees.
    The bench measures it in scenario `schedule-set-float`.

    Fix: build the optimizer from a float if the LR is to be set by hand, or change the schedule
    itself (see LR003).
    """

    code, name, scenarios = "LR004", "schedule-set-float", ("schedule-set-float",)

    def check(self, a, target):
        for s in a.attr_sets:
            if s.node.attr == "learning_rate" and s.obj.kind == "optimizer" and s.obj.lr == "schedule" \
                    and s.value.kind in ("number", "lr_float", "tensor"):
                yield Hit(s.node, "a number assigned to the LR of a schedule-built optimizer",
                          "schedule-set-float", modes=step_modes(a))


@register
class ScheduleAssign(Rule):
    """`optimizer.learning_rate.assign(x)` on an optimizer built from a schedule.

    Finds `.assign(...)` (or `K.set_value(...)`) on the `learning_rate` of an optimizer whose
    constructor was given a schedule. Its `learning_rate` is the schedule's value, not a variable
    the step reads: the assign raises, or lands in a tensor nobody reads. The bench measures it in
    scenario `schedule-assign`.

    Fix: build the optimizer from a float to assign into its LR, or change the schedule.
    """

    code, name, scenarios = "LR005", "schedule-assign", ("schedule-assign",)

    def check(self, a, target):
        for c in a.calls:
            lr = None
            if c.method == "assign" and c.recv is not None and c.recv.kind == "lr_of":
                lr = c.recv
            elif c.method == "set_value" and c.args and c.args[0].kind == "lr_of":
                lr = c.args[0]
            if lr is not None and lr.ref is not None and lr.ref.lr == "schedule":
                yield Hit(c.node, "an assign into the LR of a schedule-built optimizer", "schedule-assign")

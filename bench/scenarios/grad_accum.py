"""Keras 3's `gradient_accumulation_steps=k`: the LR of each applied update.

Only every ``k``-th step updates the weights, with the mean of the ``k`` gradients; the steps
between leave them as they are (an LR of 0, in every trajectory below). Intended at an update
step: the LR at ``optimizer.iterations``, which Keras counts in applied updates under
accumulation. Keras 3 only: tf_keras's optimizers have no such argument.
"""

from bench.scenarios import Scenario, register

K = 2


def updates(step: int) -> bool:
    """Whether the step (0-based, the micro-steps counted) applies an update."""
    return (step + 1) % K == 0


class _Accumulating(Scenario):
    flavours = ("keras3",)

    def make_optimizer(self, ctx):
        cls = ctx.flavour.optimizer_class(ctx.opt_name)
        return cls(learning_rate=self.initial_lr(ctx), gradient_accumulation_steps=K)


@register
class GradAccumSchedule(_Accumulating):
    """`gradient_accumulation_steps=2` with an `ExponentialDecay` schedule (Keras 3 only: tf_keras has no such argument)."""

    id = "grad-accum-schedule"
    rank = 53

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def intended(self, r, step, change):
        # optimizer.iterations before this update: the updates applied so far
        return r.schedule(step // K) if updates(step) else 0.0

    baseline = intended  # nothing changes: the schedule is followed or it is not


@register
class GradAccumAssign(_Accumulating):
    """`gradient_accumulation_steps=2`, `learning_rate.assign(new)` at the change step (Keras 3 only: tf_keras has no such argument)."""

    id = "grad-accum-assign"
    rank = 54

    def change(self, ctx):
        ctx.optimizer.learning_rate.assign(ctx.rates.new)

    def baseline(self, r, step, change):
        return r.base if updates(step) else 0.0

    def intended(self, r, step, change):
        return r.switched(step, change) if updates(step) else 0.0

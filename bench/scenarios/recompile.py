"""`model.compile` again between two fit calls to set a new LR, with a new optimizer or the old one.

A new optimizer object starts with its step count and moments at zero: the probe solves the LR
from whichever optimizer applied the step, so the verdict is about the LR, and the reset (which
the user did not ask for) is recorded apart.
"""

from bench.scenarios import Scenario, register
from bench.scenarios._resetup import fresh_optimizer, recompile


@register
class RecompileNewOptimizer(Scenario):
    """`model.compile(optimizer=<new optimizer at the new LR>)` part-way through fit training."""

    id = "recompile-new-optimizer"
    rank = 46
    apis = ("fit",)

    def change(self, ctx):
        recompile(ctx, fresh_optimizer(ctx, ctx.rates.new))

    def intended(self, r, step, change):
        return r.switched(step, change)


@register
class RecompileSameOptimizer(Scenario):
    """`optimizer.learning_rate = new`, then `model.compile(optimizer=optimizer)` with the same object."""

    id = "recompile-same-optimizer"
    rank = 47
    apis = ("fit",)

    def change(self, ctx):
        ctx.optimizer.learning_rate = ctx.rates.new
        recompile(ctx, ctx.optimizer)

    def intended(self, r, step, change):
        return r.switched(step, change)

"""Restarting a schedule by resetting the optimizer's step counter, the common advice."""

from bench.scenarios import Scenario, register


@register
class RestartByIterations(Scenario):
    """`optimizer.iterations.assign(0)` on a schedule-initialised optimizer, to restart the schedule."""

    id = "restart-by-iterations"
    rank = 40

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def change(self, ctx):
        ctx.optimizer.iterations.assign(0)

    def baseline(self, r, step, change):
        return r.schedule(step)

    def intended(self, r, step, change):
        # The same schedule from its start at the change step. Adam's bias correction reads the
        # same counter and restarts too; the probe reads the counter after each step, so it
        # solves the LR whatever the correction was.
        return r.schedule(step - change) if step >= change else r.schedule(step)

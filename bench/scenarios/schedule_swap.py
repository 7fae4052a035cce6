from bench.scenarios import DISTRIBUTED, Scenario, register


@register
class ScheduleSwap(Scenario):
    """`optimizer.learning_rate = <new ExponentialDecay>` on a schedule-initialised optimizer."""

    id = "schedule-swap"
    rank = 4
    strategies = DISTRIBUTED

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def change(self, ctx):
        ctx.optimizer.learning_rate = ctx.rates.new_schedule.build(ctx)

    def baseline(self, r, step, change):
        return r.schedule(step)

    def intended(self, r, step, change):
        # Keras evaluates a schedule at the optimizer's iteration count, which does not restart.
        return r.new_schedule(step) if step >= change else r.schedule(step)

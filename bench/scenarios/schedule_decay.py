from bench.scenarios import Scenario, register


@register
class ScheduleDecay(Scenario):
    """An `ExponentialDecay` schedule from the start, never changed."""

    id = "schedule-decay"
    rank = 3

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def baseline(self, r, step, change):
        return r.schedule(step)

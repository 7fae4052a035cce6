from bench.scenarios import Scenario, register


@register
class ScheduleSetFloat(Scenario):
    """`optimizer.learning_rate = new_float` on a schedule-initialised optimizer."""

    id = "schedule-set-float"
    rank = 15

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def change(self, ctx):
        ctx.optimizer.learning_rate = ctx.rates.new

    def baseline(self, r, step, change):
        return r.schedule(step)

    def intended(self, r, step, change):
        return r.new if step >= change else r.schedule(step)

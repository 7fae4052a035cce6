from bench.scenarios import DISTRIBUTED, Scenario, register


@register
class Assign(Scenario):
    """`optimizer.learning_rate.assign(new)` on a float-initialised optimizer."""

    id = "assign"
    rank = 1
    strategies = DISTRIBUTED

    def change(self, ctx):
        ctx.optimizer.learning_rate.assign(ctx.rates.new)

    def intended(self, r, step, change):
        return r.switched(step, change)

from bench.scenarios import DISTRIBUTED, Scenario, register


@register
class AttrSet(Scenario):
    """`optimizer.learning_rate = new` on a float-initialised optimizer (plain `=` assignment)."""

    id = "attr-set"
    rank = 2
    strategies = DISTRIBUTED

    def change(self, ctx):
        ctx.optimizer.learning_rate = ctx.rates.new

    def intended(self, r, step, change):
        return r.switched(step, change)

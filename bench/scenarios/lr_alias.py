from bench.scenarios import Scenario, register


@register
class LrAlias(Scenario):
    """`optimizer.lr = new`: the pre-Keras-3 alias still found in many tutorials and books."""

    id = "lr-alias"
    rank = 10

    def change(self, ctx):
        # Keras 3 has no `lr` property, so this may bind a new attribute and do nothing else.
        ctx.optimizer.lr = ctx.rates.new

    def intended(self, r, step, change):
        return r.switched(step, change)

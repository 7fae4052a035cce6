from bench.scenarios import Scenario, register


@register
class ReplicaAssign(Scenario):
    """`strategy.run(lambda: optimizer.learning_rate.assign(new))`: the assign made in replica context."""

    id = "replica-assign"
    rank = 20
    strategies = ("mirrored", "multiworker")  # without a strategy it is the plain `assign`

    def change(self, ctx):
        # Under a strategy the LR variable is mirrored: an assign in replica context is resolved
        # by the variable's aggregation.
        new = ctx.rates.new
        ctx.dist.run(lambda: ctx.optimizer.learning_rate.assign(new))

    def intended(self, r, step, change):
        return r.switched(step, change)

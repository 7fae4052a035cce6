from bench.scenarios import Scenario, register


@register
class ChiefOnlyAssign(Scenario):
    """`if is_chief: optimizer.learning_rate.assign(new)`: the change made on worker 0 only."""

    id = "chief-only-assign"
    rank = 21
    strategies = ("mirrored", "multiworker")  # without a strategy it is the plain `assign`

    def change(self, ctx):
        # Code that logs or checkpoints on the chief alone often grows an LR change too. With one
        # process (mirrored) that process is the chief.
        if ctx.worker_index == 0:
            ctx.optimizer.learning_rate.assign(ctx.rates.new)

    def intended(self, r, step, change):
        return r.switched(step, change)

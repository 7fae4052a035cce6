from bench.scenarios import Scenario, register


@register
class LocalRebind(Scenario):
    """`lr = optimizer.learning_rate; lr = new`: rebinding a local name, as if it were a reference."""

    id = "local-rebind"
    rank = 11

    def change(self, ctx):
        lr = ctx.optimizer.learning_rate
        lr = ctx.rates.new  # noqa: F841 (the statement under test: the name is rebound, nothing else)

    def intended(self, r, step, change):
        return r.switched(step, change)

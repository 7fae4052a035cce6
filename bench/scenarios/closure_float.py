from bench.scenarios import Scenario, register


@register
class ClosureFloat(Scenario):
    """The train step assigns a Python float from an enclosing scope to the LR; the float changes between steps."""

    id = "closure-float"
    rank = 12

    def before_step(self, ctx, step):
        # The user's variable lives outside the step, as a global or closure would.
        ctx.state["lr"] = ctx.rates.new if step >= ctx.change_step else ctx.rates.base

    def in_step(self, ctx, *args):
        # Read when the step runs eagerly, but only once, at trace time, when it is compiled.
        ctx.optimizer.learning_rate.assign(ctx.state["lr"])

    def intended(self, r, step, change):
        return r.switched(step, change)

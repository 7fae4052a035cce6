"""`model.optimizer = <new optimizer>` from a callback, without recompiling."""

from bench.scenarios import Scenario, register
from bench.scenarios._resetup import fresh_optimizer, use


@register
class OptimizerReassign(Scenario):
    """`model.optimizer = <new optimizer at the new LR>` from a callback during fit, no recompile."""

    id = "optimizer-reassign"
    rank = 48
    apis = ("fit",)

    def fit_callbacks(self, ctx):
        change = ctx.change_step

        class Reassign(ctx.keras.callbacks.Callback):
            # One epoch of all the steps: the batch index is the step.
            def on_train_batch_begin(self, batch, logs=None):
                if batch == change:
                    new = fresh_optimizer(ctx, ctx.rates.new)
                    self.model.optimizer = new
                    use(ctx, new)

        return [ctx.guarded(Reassign())]

    def intended(self, r, step, change):
        return r.switched(step, change)

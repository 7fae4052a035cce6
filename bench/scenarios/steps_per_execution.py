from bench.scenarios import Scenario, register

#: Batches Keras runs per call of its train function.
PER_CALL = 4
#: From the change on, the callback multiplies the LR by this at every batch.
DECAY = 0.9


@register
class StepsPerExecution(Scenario):
    """A per-batch LR callback (`on_train_batch_begin`) under `compile(steps_per_execution=4)`."""

    id = "steps-per-execution"
    rank = 33
    apis = ("fit",)

    def compile_kwargs(self, ctx):
        return {"steps_per_execution": PER_CALL}

    def fit_callbacks(self, ctx):
        r, change, lr_for = ctx.rates, ctx.change_step, self.intended

        class PerBatch(ctx.keras.callbacks.Callback):
            # Keras passes the index of the first batch of the call it is about to make.
            def on_train_batch_begin(self, batch, logs=None):
                ctx.optimizer.learning_rate.assign(lr_for(r, batch, change))

        return [ctx.guarded(PerBatch())]

    def intended(self, r, step, change):
        return r.base if step < change else r.new * DECAY ** (step - change)

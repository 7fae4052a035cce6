from bench.scenarios import Scenario, register

#: ReduceLROnPlateau's own default factor.
FACTOR = 0.1
#: An improvement would have to lower the loss by more than this: none after the first epoch can,
#: so the callback's wait counter is the epoch index and it fires after a known number of epochs,
#: whatever the loss does. (Finite: tf_keras starts from best = inf, and inf - inf is NaN.)
MIN_DELTA = 1e6


@register
class CallbackPlateau(Scenario):
    """`keras.callbacks.ReduceLROnPlateau` set to fire once, at the change step (fit, one step per epoch)."""

    id = "callback-plateau"
    rank = 32
    apis = ("fit",)
    fit_step_per_epoch = True

    def fit_callbacks(self, ctx):
        # It acts in on_epoch_end, so firing at the end of epoch change - 1 sets the LR of step
        # `change`; the cooldown outlasts the run, so it never fires again.
        cb = ctx.keras.callbacks.ReduceLROnPlateau(
            monitor="loss", mode="min", factor=FACTOR, patience=max(ctx.change_step - 1, 0),
            min_delta=MIN_DELTA, cooldown=ctx.steps,
        )
        return [ctx.guarded(cb)]

    def intended(self, r, step, change):
        # Epoch 0 always counts as an improvement (there is nothing to compare it with), so the
        # earliest it can fire is the end of epoch 1: a change at step 1 lands at step 2.
        return r.base * FACTOR if step >= max(change, 2) else r.base

from bench.scenarios import Scenario, register

#: After the change the callback's function multiplies the LR by this at every epoch, so the
#: trajectory moves at the change step and keeps moving (a callback that ran only once would show).
DECAY = 0.9


@register
class CallbackScheduler(Scenario):
    """`keras.callbacks.LearningRateScheduler` on a float-initialised optimizer (fit, one step per epoch)."""

    id = "callback-scheduler"
    rank = 30
    apis = ("fit",)
    # The callback acts in on_epoch_begin: with one step per epoch its epoch index is the step.
    fit_step_per_epoch = True

    def fit_callbacks(self, ctx):
        r, change = ctx.rates, ctx.change_step

        # The documented (epoch, lr) form, callable with the epoch alone too: when reading the
        # current LR fails, both Kerases retry with the epoch only, and a strict two-argument
        # function would then fail on its own signature instead of showing what the optimizer did.
        def schedule(epoch, lr=None):
            return float(self.intended(r, epoch, change))

        return [ctx.guarded(ctx.keras.callbacks.LearningRateScheduler(schedule))]

    def intended(self, r, step, change):
        return r.base if step < change else r.new * DECAY ** (step - change)

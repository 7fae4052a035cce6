from bench.scenarios import register
from bench.scenarios.callback_scheduler import CallbackScheduler


@register
class CallbackOnSchedule(CallbackScheduler):
    """`keras.callbacks.LearningRateScheduler` on a schedule-initialised optimizer (fit, one step per epoch)."""

    id = "callback-on-schedule"
    rank = 31

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def baseline(self, r, step, change):
        return r.schedule(step)

    # intended: the callback's function, exactly as on a float-initialised optimizer.

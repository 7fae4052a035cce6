"""A schedule whose parameters and step offset are variables, so it restarts without a retrace."""

from bench.scenarios import DISTRIBUTED, Decay, Scenario, register


def restartable(ctx, decay: Decay):
    """An exponential decay that ``restart(decay, at)`` re-initialises in place.

    Subclasses the cell's own Keras ``LearningRateSchedule``: each flavour's optimizer recognises
    only its own schedule class. A traced step reads the variables at run time, so assigning them
    is seen by a compiled step without retracing it.
    """
    import tensorflow as tf  # run in the worker only

    base = ctx.keras.optimizers.schedules.LearningRateSchedule

    def var(value, name):
        return tf.Variable(float(value), dtype=tf.float32, trainable=False, name=name)

    class Restartable(base):
        def __init__(self):
            self.initial = var(decay.initial, "initial")
            self.decay_steps = var(decay.decay_steps, "decay_steps")
            self.rate = var(decay.rate, "rate")
            self.offset = var(0, "offset")

        def __call__(self, step):
            t = tf.cast(step, tf.float32) - self.offset
            return self.initial * tf.pow(self.rate, t / self.decay_steps)

        def restart(self, new: Decay, at: int) -> None:
            self.initial.assign(new.initial)
            self.decay_steps.assign(float(new.decay_steps))
            self.rate.assign(new.rate)
            self.offset.assign(float(at))

        def get_config(self):
            return {"initial": float(self.initial.numpy()), "decay_steps": float(self.decay_steps.numpy()),
                    "rate": float(self.rate.numpy()), "offset": float(self.offset.numpy())}

    return Restartable()


@register
class ScheduleRestart(Scenario):
    """A schedule held in variables, restarted from a new initial LR at the change step, no retrace."""

    id = "schedule-restart"
    rank = 18
    strategies = DISTRIBUTED

    def initial_lr(self, ctx):
        ctx.state["schedule"] = restartable(ctx, ctx.rates.schedule)
        return ctx.state["schedule"]

    def change(self, ctx):
        ctx.state["schedule"].restart(ctx.rates.new_schedule, ctx.change_step)

    def baseline(self, r, step, change):
        return r.schedule(step)

    def intended(self, r, step, change):
        return r.new_schedule(step - change) if step >= change else r.schedule(step)

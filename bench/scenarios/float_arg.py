from bench.scenarios import Scenario, register

#: Per-step factor of the Python-computed decay after the change, so every step gets a new value.
DECAY = 0.8


def python_lr(r, step: int, change: int) -> float:
    """The LR a user computes in Python: the base, then from the change a decay from the new LR."""
    return r.base if step < change else r.new * DECAY ** (step - change)


@register
class FloatArg(Scenario):
    """The LR passed to the train step as a Python float argument, a new value at every step after the change."""

    id = "float-arg"
    rank = 13
    apis = ("loop",)  # fit has no way to pass arguments to its train step
    retraces = ("at every step from the change on, each float being a new trace key: 1 + steps - change "
                "traces per compiled repeat (26 in the full profile, 6 in quick), each an XLA compile under xla; "
                "the retrace cost is measured over all of them")

    def step_args(self, ctx, step):
        return (python_lr(ctx.rates, step, ctx.change_step),)

    def in_step(self, ctx, lr):
        ctx.optimizer.learning_rate.assign(lr)

    def intended(self, r, step, change):
        return python_lr(r, step, change)

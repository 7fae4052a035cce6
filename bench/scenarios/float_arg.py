from bench.scenarios import Scenario, register

#: Per-step factor of the Python-computed decay after the change.
DECAY = 0.8
#: Steps from the change on that get a new value (then the last one is held): each new float is a
#: new trace key, and five retraces are enough to price one; more would only add compiles.
NEW_VALUES = 5


def python_lr(r, step: int, change: int) -> float:
    """The LR a user computes in Python: the base, then from the change a decay from the new LR
    for ``NEW_VALUES`` steps, held at its last value after that."""
    return r.base if step < change else r.new * DECAY ** min(step - change, NEW_VALUES - 1)


@register
class FloatArg(Scenario):
    """The LR passed to the train step as a Python float argument: new at each of five steps from the change, then held."""

    id = "float-arg"
    rank = 13
    apis = ("loop",)  # fit has no way to pass arguments to its train step
    retraces = (f"at each step from the change on that passes a new float (the first {NEW_VALUES}; the value is "
                "held after them), each float being a new trace key: 1 + min(steps - change, "
                f"{NEW_VALUES}) traces per compiled repeat ({1 + NEW_VALUES} in the full and quick profiles), each "
                "an XLA compile under xla; the retrace cost is measured over all of them")

    def step_args(self, ctx, step):
        return (python_lr(ctx.rates, step, ctx.change_step),)

    def in_step(self, ctx, lr):
        ctx.optimizer.learning_rate.assign(lr)

    def intended(self, r, step, change):
        return python_lr(r, step, change)

"""Keras 2 constructor keywords: `lr=` and `decay=`, still in tutorials, books and old scripts.

The bench's base LRs (Adam 1e-3, SGD 1e-2) are the constructors' own defaults in every flavour,
so the baseline of a keyword that is dropped is ``r.base``. The constructor call is the statement
under test (``make_optimizer``, run at set-up): when it raises, the cell trains on the flavour's
default optimizer and its verdict is ``raises``.
"""

from bench.scenarios import Scenario, register

#: Keras 2's time-based decay: lr / (1 + DECAY * iterations); large enough to move in 10 steps.
DECAY = 0.1


@register
class CtorLrKwarg(Scenario):
    """`Adam(lr=x)` / `SGD(lr=x)`: the Keras 2 keyword for the LR, with x ten times the default."""

    id = "ctor-lr-kwarg"
    rank = 41

    def make_optimizer(self, ctx):
        return ctx.flavour.optimizer_class(ctx.opt_name)(lr=ctx.rates.new)

    def intended(self, r, step, change):
        return r.new  # from the first step

    def baseline(self, r, step, change):
        return r.base  # the constructor's default: the keyword dropped


@register
class CtorDecayKwarg(Scenario):
    """`SGD(learning_rate=x, decay=0.1)` / `Adam(...)`: Keras 2's time-based decay keyword."""

    id = "ctor-decay-kwarg"
    rank = 42

    def make_optimizer(self, ctx):
        return ctx.flavour.optimizer_class(ctx.opt_name)(learning_rate=ctx.rates.base, decay=DECAY)

    def intended(self, r, step, change):
        return r.base / (1.0 + DECAY * step)  # step: the iteration count before the update

    def baseline(self, r, step, change):
        return r.base  # the keyword dropped

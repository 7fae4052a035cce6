"""AdamW (decoupled weight decay) with an assign on its LR.

Keras applies the decay as ``W -= lr * wd * W`` with the optimizer's current LR, then the Adam
step. The probe models the decay term and solves its LR apart from the Adam step's
(``probe.decoupled_lrs``): ``adamw-assign`` judges the Adam step's LR, ``adamw-decay-assign`` the
decay's, so whether the decay followed the LR change is a verdict of its own.

Not in tf_keras_legacy: OptimizerV2 has no AdamW and no ``weight_decay``.
"""

from bench.scenarios import Scenario, register

#: Keras's own default for AdamW (both Kerases).
WEIGHT_DECAY = 0.004


class _AdamW(Scenario):
    optimizers = ("adam",)
    flavours = ("keras3", "tf_keras")

    def make_optimizer(self, ctx):
        return ctx.flavour.optimizer_class("adamw")(learning_rate=ctx.rates.base, weight_decay=WEIGHT_DECAY)

    def change(self, ctx):
        ctx.optimizer.learning_rate.assign(ctx.rates.new)

    def intended(self, r, step, change):
        return r.switched(step, change)


@register
class AdamWAssign(_AdamW):
    """`AdamW(weight_decay=0.004)`, `learning_rate.assign(new)`: the Adam step's LR (not in tf_keras_legacy: no AdamW)."""

    id = "adamw-assign"
    rank = 51


@register
class AdamWDecayAssign(_AdamW):
    """`AdamW(weight_decay=0.004)`, `learning_rate.assign(new)`: the LR the weight decay applied (not in tf_keras_legacy)."""

    id = "adamw-decay-assign"
    rank = 52
    probe_term = "decay"

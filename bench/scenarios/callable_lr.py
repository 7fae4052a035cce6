"""A zero-argument callable as the LR, reading a variable that the user changes."""

from bench.scenarios import Scenario, register


@register
class CallableLr(Scenario):
    """`learning_rate=lambda: lr_var`, then `lr_var.assign(new)` at the change step."""

    id = "callable-lr"
    rank = 43

    def make_optimizer(self, ctx):
        import tensorflow as tf  # run in the worker only

        var = ctx.state["lr_var"] = tf.Variable(ctx.rates.base, dtype=tf.float32, trainable=False, name="lr_var")
        return ctx.flavour.optimizer(ctx.opt_name, lambda: var)

    def change(self, ctx):
        ctx.state["lr_var"].assign(ctx.rates.new)

    def intended(self, r, step, change):
        return r.switched(step, change)  # the variable's value at each step

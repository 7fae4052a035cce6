"""A scenario whose compiled step can be made slower on purpose: a planted regression for the
regression gate's tests and benchmark. Loaded only where LR_BENCH_SCENARIO_MODULES=tests.planted is
set; ``LR_BENCH_PLANTED_ROWS=n`` (read by the worker) adds to every step a product of the first
``n`` rows of the first kernel with themselves, ``LR_BENCH_PLANTED_TIMES`` times (default once),
written to a variable of its own so neither ``tf.function`` nor XLA can drop it; 0 or unset adds
nothing.
"""

import os

from bench.scenarios import Scenario, register


@register
class PlantedWork(Scenario):
    """Constant LR; the train step does LR_BENCH_PLANTED_ROWS rows of extra work (a planted slowdown)."""

    id = "planted-work"
    rank = 910
    apis = ("loop",)
    modes = ("function", "xla")
    optimizers = ("sgd",)

    def initial_lr(self, ctx):
        import tensorflow as tf

        ctx.state["sink"] = tf.Variable(0.0, trainable=False)  # before any trace
        return ctx.rates.base

    def in_step(self, ctx, *args):
        rows = int(os.environ.get("LR_BENCH_PLANTED_ROWS", "0"))
        if rows:
            import tensorflow as tf

            kernel = ctx.model.trainable_variables[0][:rows]
            total = tf.constant(0.0)
            for i in range(int(os.environ.get("LR_BENCH_PLANTED_TIMES", "1"))):
                total += tf.reduce_sum(tf.matmul(kernel + float(i), kernel, transpose_b=True))
            ctx.state["sink"].assign(total)

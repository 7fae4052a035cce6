"""The bare reference: the static compiled step, timed beside every step of a cell.

Imports TensorFlow (worker processes only).
"""

from __future__ import annotations

import numpy as np

from bench.measure.build import make_loop_step, placement, setup, sync_fn
from bench.measure.context import Ctx, clock, cpu_clock


def _optimizer_variables(optimizer) -> list:
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)  # a method on legacy optimizers


class Reference:
    """The bare loop of the static compiled step, built and traced once per worker and key, then
    timed a step at a time right beside each step of a cell, so that both share whatever load the
    machine is under at that moment: their ratio is what the cell costs over the bare step.

    Every ``len(batches)`` steps its weights and optimizer state go back to where they started
    (an assign, no retrace), so it repeats the same steps from the same state for as long as the
    worker lives, rather than training on for thousands of steps."""

    def __init__(self, ctx: Ctx, batches, seed: int):
        self.ctx, self.calls = ctx, 0
        with placement(ctx):
            setup(ctx, seed)
            self.fn = make_loop_step(ctx)
            self.inputs = [ctx.split(x, y) for x, y in batches]
            self.fn(*self.inputs[0]).numpy()  # trace, and create any state the first call creates
            self.state = [(v, v.numpy()) for v in [*ctx.model.variables, *_optimizer_variables(ctx.optimizer)]]
            for _ in range(2):  # warm up
                self.fn(*self.inputs[0]).numpy()
        self.sync = sync_fn(ctx.device)

    def time(self, steps: int = 1) -> float:
        """Seconds per step of ``steps`` bare steps, run now, on the clock of paired ratios."""
        with placement(self.ctx):
            if self.calls % len(self.inputs) == 0:
                for v, value in self.state:
                    v.assign(value)
            x, y = self.inputs[self.calls % len(self.inputs)]
            self.calls += 1
            now = cpu_clock if self.ctx.cpu_timed else clock
            t0 = now()
            for _ in range(steps):
                loss = self.fn(x, y)
            loss.numpy()
            self.sync()
            return (now() - t0) / steps


def reference_step_s(ctx: Ctx, batches, seed: int, rounds: int) -> float:
    """Median seconds per step of a bare loop of the static compiled step: nothing around it."""
    with placement(ctx):
        setup(ctx, seed)
        fn = make_loop_step(ctx)
        sync = sync_fn(ctx.device)
        inputs = [ctx.split(x, y) for x, y in batches]
        for _ in range(3):  # trace and warm up
            fn(*inputs[0]).numpy()
        per_step = []
        for _ in range(rounds):
            t0 = clock()
            for x, y in inputs:
                loss = fn(x, y)
            loss.numpy()
            sync()
            per_step.append((clock() - t0) / len(batches))
        return float(np.median(per_step))

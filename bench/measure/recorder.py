"""Records every step of a cell: the scenario's hook before it, its time, and on the probe pass
the printed LR and the weights around it, from which ``bench.core.probe`` solves the effective LR.

Imports TensorFlow (worker processes only).
"""

from __future__ import annotations

import math

import numpy as np

from bench.core import probe
from bench.core.verdicts import spread
from bench.measure.context import Ctx


def printed_lr(optimizer) -> float:
    """What ``print(optimizer.learning_rate)`` would show, as a number (NaN when it is not one): the
    optimizer's own report, the ``lr_reported`` column. Not ``bench.watch.reported_lr``, which
    evaluates the configured schedule at the next step, as the monitor needs."""
    try:
        value = optimizer.learning_rate
        value = value.numpy() if hasattr(value, "numpy") else value
        return float(np.asarray(value))
    except Exception:  # a schedule object, for instance: the print shows no number
        return math.nan



def _by_replica(ctx: Ctx, variables) -> list[list[np.ndarray]]:
    """Values of ``variables`` per local replica: ``[replica][variable]``."""
    return [list(values) for values in zip(*(ctx.local_copies(v) for v in variables))]


def combine_replicas(rows: list[dict]) -> dict:
    """One step's record from each replica's (or worker's): the first replica's, plus the spread
    of the effective LR across all of them."""
    row = dict(rows[0])
    row["lr_spread"] = spread([r["lr_effective"] for r in rows])
    return row


def _iterations(optimizer) -> int:
    return int(np.asarray(optimizer.iterations.numpy() if hasattr(optimizer.iterations, "numpy") else optimizer.iterations))


class Recorder:
    """Runs the scenario's Python hook before each step and records the step.

    With ``probe`` (the verdict pass) it also takes the reported LR and the weights before the
    step and the weights and slots after it; without (the timing pass) it keeps only the step's
    time and the tracing count, so nothing but the step sits between two clock reads.
    """

    def __init__(self, ctx: Ctx, batches, probe_pass: bool):
        self.ctx, self.batches, self.probe_pass = ctx, batches, probe_pass
        self.rows: list[dict] = []
        self.step = 0
        self._pre = None

    def begin(self) -> None:
        ctx, step = self.ctx, self.step
        self._hook(step)
        if self.probe_pass:
            self._pre = dict(reported=printed_lr(ctx.optimizer),
                             before=_by_replica(ctx, ctx.model.trainable_variables))

    def end(self, seconds: float, ref_s: float = math.nan, first: bool = True, pair_s: float = math.nan) -> None:
        ctx, s = self.ctx, self.step
        row = dict(step=s, step_s=seconds, pair_s=pair_s, ref_s=ref_s, ref_first=first,
                   traces=0 if ctx.mode == "eager" else ctx.traces)
        if self.probe_pass:
            row.update(self._measure())
        self.rows.append(row)
        self.step += 1

    def _hook(self, step: int) -> None:
        try:
            self.ctx.scenario.before_step(self.ctx, step)
        except Exception as e:  # the change statement raised: keep it, train on
            self.ctx.record_error(e)

    def _measure(self) -> dict:
        """The step's effective LR on every local replica, each from its own copy of the weights."""
        ctx, pre = self.ctx, self._pre
        variables = ctx.model.trainable_variables
        after = _by_replica(ctx, variables)
        x, y = self.batches[self.step]
        optimizer = self._applied(pre["before"][0], after[0])
        if ctx.opt_name == "adam":
            m, v = ctx.flavour.adam_slot_variables(optimizer, variables)
            slots = list(zip(_by_replica(ctx, m), _by_replica(ctx, v)))
        else:
            slots = [(None, None)] * len(after)
        t = _iterations(optimizer)
        return combine_replicas([self._solve(self.step, b, a, x.numpy(), y.numpy(), sl, t, pre["reported"])
                                 for b, a, sl in zip(pre["before"], after, slots)])

    def _applied(self, before, after):
        """The optimizer that applied this step: ``ctx.optimizer``, unless the scenario replaced it
        part-way (``ctx.state["optimizers"]``, the ones it had before) and Adam's update from another
        one's moments explains the weights better: the step a model takes is the one its (possibly
        still traced) train function applies, whatever ``model.optimizer`` names now."""
        ctx = self.ctx
        candidates = [ctx.optimizer, *ctx.state.get("optimizers", ())]
        if ctx.opt_name != "adam" or len(candidates) == 1:
            return ctx.optimizer

        def misfit(opt):
            try:
                m, v = ctx.flavour.adam_slots(opt, ctx.model.trainable_variables)
            except (KeyError, ValueError):  # built on another model's weights (a resumed loop's old model)
                return math.inf
            b1, b2, eps = ctx.flavour.adam_hyper(opt)
            return probe.adam_residual(before, after, m, v, _iterations(opt), b1, b2, eps)

        return min(candidates, key=misfit)

    def _solve(self, s, before, after, x, y, slots, t, reported) -> dict:
        ctx = self.ctx
        loss, grads = probe.dense_loss_and_grads(before, x, y)
        grads = self._accumulated(grads)
        if ctx.opt_name == "sgd":
            direction = grads
        else:
            b1, b2, eps = ctx.flavour.adam_hyper(ctx.optimizer)
            direction = probe.adam_direction(slots[0], slots[1], t, b1, b2, eps)
        decay = ctx.flavour.weight_decay(ctx.optimizer)
        if decay:
            # The scenario says which of the two LRs its verdict is about (default: the update's).
            lr_update, lr_decay = probe.decoupled_lrs(before, after, direction, decay)
            eff = lr_decay if getattr(ctx.scenario, "probe_term", "update") == "decay" else lr_update
        else:
            eff = probe.sgd_lr(before, after, direction)  # least squares of dW against -direction
        r, c = ctx.rates, ctx.change_step
        return dict(loss=loss, lr_intended=ctx.scenario.intended(r, s, c), lr_baseline=ctx.scenario.baseline(r, s, c),
                    lr_effective=eff, lr_spread=0.0, lr_reported=reported)

    def _accumulated(self, grads):
        """Under gradient accumulation, the gradient an update step applies: the mean of this
        step's and the ones accumulated since the last update (all at the same weights, which the
        steps between leave as they are); a step that only accumulates gets its own."""
        k = getattr(self.ctx.optimizer, "gradient_accumulation_steps", None)
        if not k:
            return grads
        held = getattr(self, "_held_grads", None)
        total = grads if held is None else [h + g for h, g in zip(held, grads)]
        if int(self.ctx.optimizer._iterations.numpy()) % k == 0:  # counted after the step: it updated
            self._held_grads = None
            return [g / k for g in total]
        self._held_grads = total
        return grads

    # --- several steps per call of fit's train function (steps_per_execution > 1) ---
    def begin_call(self, per_call: int) -> None:
        ctx = self.ctx
        # No Python runs between the steps of one call: each step's hook runs before the call.
        for step in range(self.step, min(self.step + per_call, ctx.steps)):
            self._hook(step)
        self._iterations = _iterations(ctx.optimizer)
        # The reported LR of every step in the call is what optimizer.learning_rate says before
        # the call (after the callbacks ran): the only value a user, or any callback, can read for
        # those steps (a schedule that moves inside the call is reported at its value before it).
        self._reported = printed_lr(ctx.optimizer) if self.probe_pass else math.nan

    def end_call(self, seconds: float, ref_s: float = math.nan, first: bool = True, pair_s: float = math.nan) -> None:
        ctx = self.ctx
        # Counted from the optimizer's step counter, not assumed: Keras runs fewer steps in the
        # last call of an epoch when too few batches remain.
        k = _iterations(ctx.optimizer) - self._iterations
        records = ctx.tape.last(k) if self.probe_pass else [None] * k
        for i, rec in enumerate(records):
            # Single steps inside one call cannot be timed apart: each gets an equal share.
            row = dict(step=self.step, step_s=seconds / k, pair_s=pair_s / k, ref_s=ref_s, ref_first=first,
                       traces=0 if ctx.mode == "eager" else ctx.traces)
            if rec is not None:
                row.update(self._solve(self.step, rec["before"], rec["after"], rec["x"], rec["y"], (rec["m"], rec["v"]),
                                       self._iterations + i + 1, self._reported))
            self.rows.append(row)
            self.step += 1

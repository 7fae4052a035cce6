"""Runs one pass of one repeat of a cell: the loop or ``fit``, a step at a time, timed.

Imports TensorFlow; only worker processes import this module. Per step, outside the timed region:
the scenario's Python hook (the change), the printed LR, the weights and the gradients before the
step; inside it: the train step alone, up to a forced result; after it: weights and slots, from
which ``bench.core.probe`` solves the effective LR. When ``fit`` runs several steps per call of its
train function (``steps_per_execution``), the probe pass records each step from inside the train
step instead (``bench.measure.tape``), since nothing outside the graph runs between those steps.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from bench.measure.build import make_loop_step, placement, setup, sync_fn
from bench.measure.context import Ctx, clock, cpu_clock
from bench.measure.recorder import Recorder
from bench.measure.tape import StepTape
from bench.scenarios import Preempted
from bench.scenarios._resetup import folder

if TYPE_CHECKING:
    from bench.measure.reference import Reference


def run_loop(ctx: Ctx, batches, sync, probe_pass: bool, ref: "Reference | None" = None) -> list[dict]:
    ctx.fn = make_loop_step(ctx)
    rec = Recorder(ctx, batches, probe_pass)
    for step in range(ctx.steps):
        rec.begin()
        x, y = ctx.split(*batches[step])
        args = ctx.scenario.step_args(ctx, step)
        beside = ref if paired(ctx, step) else None
        ref_s = beside.time() if beside is not None and ref_first(step) else math.nan
        t0, c0 = clock(), cpu_clock()
        loss = ctx.fn(x, y, *args)
        loss.numpy()
        sync()
        seconds, cpu = clock() - t0, cpu_clock() - c0
        if beside is not None and not ref_first(step):
            ref_s = beside.time()
        rec.end(seconds, ref_s, ref_first(step), cpu if ctx.cpu_timed else seconds)
    return rec.rows


def ref_first(step: int) -> bool:
    """Whether the reference step is timed before the cell's step (even steps, or calls of fit's
    train function) or after it (odd ones): of two steps run one after the other, the first,
    coming after other work, is the slower, so the order alternates and ``bench.core.timing`` takes the
    geometric mean of the two orders' median ratios, in which that bias cancels."""
    return step % 2 == 0


def paired(ctx: Ctx, call: int) -> bool:
    """Whether a reference step is timed beside this step (or call of fit's train function): every
    one, or with ``ctx.pair_every`` = k two of every 2k (one of each order, see ``ref_first``)."""
    return ctx.pair_every <= 1 or call % (2 * ctx.pair_every) < 2


def steps_per_call(ctx: Ctx) -> int:
    """Steps ``fit`` runs per call of its train function (``steps_per_execution``); 1 in the loop."""
    return int(ctx.scenario.compile_kwargs(ctx).get("steps_per_execution", 1)) if ctx.api == "fit" else 1


def run_fit(ctx: Ctx, batches, sync, probe_pass: bool, ref: "Reference | None" = None) -> list[dict]:
    K = ctx.keras
    rec = Recorder(ctx, batches, probe_pass)
    compile_kwargs = ctx.scenario.compile_kwargs(ctx)
    per_call = int(compile_kwargs.get("steps_per_execution", 1))

    class Harness(K.callbacks.Callback):
        # Last in the list: its begin runs after the scenario's callbacks, so the timer starts
        # right before Keras calls the train function.
        def on_train_batch_begin(self, batch, logs=None):
            if per_call == 1:
                rec.begin()
            else:
                rec.begin_call(per_call)
            call = rec.step // per_call
            self.first, self.beside = ref_first(call), ref if paired(ctx, call) else None
            self.ref_s = self.beside.time(per_call) if self.beside is not None and self.first else math.nan
            self.t0, self.c0 = clock(), cpu_clock()

        def on_train_batch_end(self, batch, logs=None):
            sync()
            seconds, cpu = clock() - self.t0, cpu_clock() - self.c0
            if self.beside is not None and not self.first:
                self.ref_s = self.beside.time(per_call)
            pair_s = cpu if ctx.cpu_timed else seconds
            if per_call == 1:
                rec.end(seconds, self.ref_s, self.first, pair_s)
            else:
                rec.end_call(seconds, self.ref_s, self.first, pair_s)

    with ctx.scope():
        ctx.model.compile(
            optimizer=ctx.optimizer, loss=ctx.loss_fn,
            run_eagerly=ctx.mode == "eager", jit_compile=ctx.mode == "xla",
            **compile_kwargs,
        )
    _check_mode(ctx)
    if probe_pass and per_call > 1:
        ctx.tape = StepTape(ctx, per_call, *batches[0])
    if ctx.scenario.fit_restarts:
        with folder(ctx.scenario.id) as d:
            ctx.state["folder"] = d
            _fit_twice(ctx, batches, [*ctx.scenario.fit_callbacks(ctx), Harness()])
        return rec.rows
    per_epoch = 1 if ctx.scenario.fit_step_per_epoch else ctx.steps
    ds = _fit_dataset(ctx, batches, repeat=per_epoch == 1)
    ctx.model.fit(
        ds, epochs=ctx.steps // per_epoch, steps_per_epoch=per_epoch,
        verbose=0, shuffle=False, callbacks=[*ctx.scenario.fit_callbacks(ctx), Harness()],
    )
    return rec.rows


def _check_mode(ctx: Ctx) -> None:
    if ctx.mode == "xla" and not ctx.model.jit_compile:
        raise RuntimeError("jit_compile=True was dropped by Keras: this cell would not run under XLA")


def _fit_twice(ctx: Ctx, batches, callbacks) -> None:
    """Training stopped at the change step and resumed by a second ``fit`` call, one step per
    epoch, as a restarted script resumes: the scenario's ``restart`` runs between the calls. Each
    call gets only the batches it is due (a loader that starts where the data stopped), so a
    resume that restarts its epoch count still trains exactly the remaining steps."""
    sc, k, first = ctx.scenario, ctx.change_step, ctx.scenario.first_fit_epochs(ctx)
    try:
        ctx.model.fit(_fit_dataset(ctx, batches[:first], repeat=False), epochs=first, steps_per_epoch=1,
                      verbose=0, shuffle=False, callbacks=callbacks)
    except Preempted:
        pass
    try:
        more = sc.restart(ctx)
    except Exception as e:  # the resume statement raised: keep it, train on the model as it is
        ctx.record_error(e)
        more = {}
    _check_mode(ctx)
    more.setdefault("epochs", ctx.steps)
    ctx.model.fit(_fit_dataset(ctx, batches[k:], repeat=False), steps_per_epoch=1, verbose=0, shuffle=False,
                  callbacks=callbacks, **more)


#: The data ``fit`` gets comes without tf.data autotuning, so no autotuning thread runs beside the
#: timed steps. With autotuning on, deleting the iterator at the end of each ``fit``
#: call waited for the autotuning thread, up to 0.6 s (measured on a 2-core CPU, about every other
#: call): a quarter of a quick matrix's ``fit`` time went to waiting. Verdicts, traces and reported
#: LRs are the same without it, and the ``fit`` cells' median step ratios moved by at most 4 %.
_SYNCHRONOUS = tf.data.Options()
_SYNCHRONOUS.autotune.enabled = False


def _fit_dataset(ctx: Ctx, batches, repeat: bool):
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    size = len(batches[0][0])
    if ctx.dist is None:
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(size).with_options(_SYNCHRONOUS)
        return ds.repeat() if repeat else ds
    # The same global batches as ctx.split: each input pipeline (worker) yields, per step, the
    # slices of its local replicas in order, and the strategy hands them out one per replica.
    per, local = size // ctx.replicas, ctx.local_replicas

    def per_worker(ic):
        first = ic.input_pipeline_id * local
        xs = x.reshape(len(batches), ctx.replicas, per, -1)[:, first:first + local].reshape(-1, per, x.shape[-1])
        ys = y.reshape(len(batches), ctx.replicas, per, -1)[:, first:first + local].reshape(-1, per, y.shape[-1])
        ds = tf.data.Dataset.from_tensor_slices((xs, ys)).with_options(_SYNCHRONOUS)
        return ds.repeat() if repeat else ds

    return ctx.dist.distribute_datasets_from_function(per_worker)


def run_repeat(ctx: Ctx, batches, seed: int, probe_pass: bool, ref: "Reference | None" = None) -> list[dict]:
    """One pass of one repeat of one cell on its device, from a fresh seeded model. With ``ref``,
    a bare reference step is timed right before each step (``ref_s`` in its row)."""
    with placement(ctx):
        setup(ctx, seed)
        ctx.check_placement()
        sync = sync_fn(ctx.device)
        if ctx.api == "loop":
            return run_loop(ctx, batches, sync, probe_pass, ref)
        return run_fit(ctx, batches, sync, probe_pass, ref)

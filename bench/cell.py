"""Runs one cell in a worker: trains the model under a scenario and measures every step.

Imports TensorFlow; only ``bench.worker`` imports this module. Per step, outside the timed region:
the scenario's Python hook (the change), the reported LR, the weights and the gradients before the
step; inside it: the train step alone, up to a forced result; after it: weights and slots, from
which ``bench.probe`` solves the effective LR.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from bench import probe
from bench.flavours import Flavour
from bench.scenarios import Rates, Scenario

clock = time.perf_counter


@dataclass
class Ctx:
    """What a scenario's hooks see: the live objects of one repeat of one cell."""

    scenario: Scenario
    flavour: Flavour
    api: str
    mode: str
    device: str
    opt_name: str
    rates: Rates
    change_step: int
    steps: int
    model: object = None
    optimizer: object = None
    loss_fn: object = None
    fn: object = None         # loop: the train step as called (eager, tf.function or XLA)
    traces: int = 0           # Python side effect in the train step: counts traces when compiled
    state: dict = field(default_factory=dict)  # scratch space for scenarios
    error: str = ""           # the change statement's exception, "Type: message"

    @property
    def keras(self):
        return self.flavour.keras()

    def retrace(self) -> None:
        """Make the compiled train step trace again, so it sees new Python state."""
        if self.api == "loop":
            self.fn = make_loop_step(self)
        else:
            self.model.make_train_function(force=True)


def _in_step(ctx: Ctx, *args) -> None:
    # Plain Python by design: what a scenario does in the step is frozen at trace time, as it is
    # in users' code, rather than rewritten by AutoGraph.
    tf.autograph.experimental.do_not_convert(ctx.scenario.in_step)(ctx, *args)


def _model_class(flavour: Flavour):
    K = flavour.keras()

    class CountingModel(K.Model):
        ctx: Ctx | None = None

        def train_step(self, data):
            self.ctx.traces += 1
            _in_step(self.ctx)
            return super().train_step(data)

    return CountingModel


_MODEL_CLASSES: dict[str, type] = {}


def build_model(ctx: Ctx):
    K = ctx.keras
    cls = _MODEL_CLASSES.setdefault(ctx.flavour.name, _model_class(ctx.flavour))
    inputs = K.Input(shape=(784,))
    hidden = K.layers.Dense(10, activation="relu")(inputs)
    outputs = K.layers.Dense(10, activation="softmax")(hidden)
    model = cls(inputs=inputs, outputs=outputs)
    model.ctx = ctx
    return model


def compile_fn(fn, mode: str):
    if mode == "eager":
        return fn
    return tf.function(fn, jit_compile=(mode == "xla"))


def make_loop_step(ctx: Ctx):
    model = ctx.model

    def train_step(x, y, *args):
        ctx.traces += 1
        with tf.GradientTape() as tape:
            loss = ctx.loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        _in_step(ctx, *args)
        ctx.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return compile_fn(train_step, ctx.mode)


def setup(ctx: Ctx, seed: int) -> None:
    """Fresh seeded model and optimizer; slots built before any traced call."""
    ctx.keras.utils.set_random_seed(seed)
    ctx.model = build_model(ctx)
    ctx.loss_fn = ctx.keras.losses.CategoricalCrossentropy()
    ctx.optimizer = ctx.flavour.optimizer(ctx.opt_name, ctx.scenario.initial_lr(ctx))
    ctx.flavour.build(ctx.optimizer, ctx.model.trainable_variables)


def reported_lr(optimizer) -> float:
    """What ``print(optimizer.learning_rate)`` would show, as a number (NaN when it is not one)."""
    try:
        value = optimizer.learning_rate
        value = value.numpy() if hasattr(value, "numpy") else value
        return float(np.asarray(value))
    except Exception:  # a schedule object, for instance: the print shows no number
        return math.nan


def _iterations(optimizer) -> int:
    return int(np.asarray(optimizer.iterations.numpy() if hasattr(optimizer.iterations, "numpy") else optimizer.iterations))


class _Recorder:
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
        try:
            ctx.scenario.before_step(ctx, step)
        except Exception as e:  # the change statement raised: keep it, train on
            if not ctx.error:
                ctx.error = f"{type(e).__name__}: {e}".strip()
        if self.probe_pass:
            self._pre = dict(reported=reported_lr(ctx.optimizer),
                             before=[v.numpy() for v in ctx.model.trainable_variables])

    def end(self, seconds: float) -> None:
        ctx, s = self.ctx, self.step
        row = dict(step=s, step_s=seconds, traces=0 if ctx.mode == "eager" else ctx.traces)
        if self.probe_pass:
            row.update(self._measure())
        self.rows.append(row)
        self.step += 1

    def _measure(self) -> dict:
        ctx, pre, s = self.ctx, self._pre, self.step
        variables = ctx.model.trainable_variables
        after = [v.numpy() for v in variables]
        x, y = self.batches[s]
        loss, grads = probe.dense_loss_and_grads(pre["before"], x.numpy(), y.numpy())
        if ctx.opt_name == "sgd":
            eff = probe.sgd_lr(pre["before"], after, grads)
        else:
            m, v = ctx.flavour.adam_slots(ctx.optimizer, variables)
            b1, b2, eps = ctx.flavour.adam_hyper(ctx.optimizer)
            eff = probe.adam_lr(pre["before"], after, m, v, _iterations(ctx.optimizer), b1, b2, eps)
        r, c = ctx.rates, ctx.change_step
        return dict(loss=loss, lr_intended=ctx.scenario.intended(r, s, c), lr_baseline=ctx.scenario.baseline(r, s, c),
                    lr_effective=eff, lr_reported=pre["reported"])


def _sync_fn(device: str):
    if device == "gpu":
        return tf.test.experimental.sync_devices
    return lambda: None


def run_loop(ctx: Ctx, batches, sync, probe_pass: bool) -> list[dict]:
    ctx.fn = make_loop_step(ctx)
    rec = _Recorder(ctx, batches, probe_pass)
    for step in range(ctx.steps):
        rec.begin()
        x, y = batches[step]
        args = ctx.scenario.step_args(ctx, step)
        t0 = clock()
        loss = ctx.fn(x, y, *args)
        loss.numpy()
        sync()
        rec.end(clock() - t0)
    return rec.rows


def run_fit(ctx: Ctx, batches, sync, probe_pass: bool) -> list[dict]:
    K = ctx.keras
    rec = _Recorder(ctx, batches, probe_pass)

    class Harness(K.callbacks.Callback):
        # Last in the list: its begin runs after the scenario's callbacks, so the timer starts
        # right before Keras calls the train function.
        def on_train_batch_begin(self, batch, logs=None):
            rec.begin()
            self.t0 = clock()

        def on_train_batch_end(self, batch, logs=None):
            sync()
            seconds = clock() - self.t0
            rec.end(seconds)

    ctx.model.compile(
        optimizer=ctx.optimizer, loss=ctx.loss_fn,
        run_eagerly=ctx.mode == "eager", jit_compile=ctx.mode == "xla",
        **ctx.scenario.compile_kwargs(ctx),
    )
    if ctx.mode == "xla" and not ctx.model.jit_compile:
        raise RuntimeError("jit_compile=True was dropped by Keras: this cell would not run under XLA")
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(len(batches[0][0]))
    per_epoch = 1 if ctx.scenario.fit_step_per_epoch else ctx.steps
    ctx.model.fit(
        ds.repeat() if per_epoch == 1 else ds, epochs=ctx.steps // per_epoch, steps_per_epoch=per_epoch,
        verbose=0, shuffle=False, callbacks=[*ctx.scenario.fit_callbacks(ctx), Harness()],
    )
    return rec.rows


def make_batches(x: np.ndarray, y: np.ndarray, steps: int, batch_size: int):
    return [(tf.constant(x[i * batch_size:(i + 1) * batch_size]), tf.constant(y[i * batch_size:(i + 1) * batch_size]))
            for i in range(steps)]


def run_repeat(ctx: Ctx, batches, seed: int, probe_pass: bool) -> list[dict]:
    """One pass of one repeat of one cell on its device, from a fresh seeded model."""
    with tf.device("/GPU:0" if ctx.device == "gpu" else "/CPU:0"):
        setup(ctx, seed)
        sync = _sync_fn(ctx.device)
        if ctx.api == "loop":
            return run_loop(ctx, batches, sync, probe_pass)
        return run_fit(ctx, batches, sync, probe_pass)


def reference_step_s(ctx: Ctx, batches, seed: int, rounds: int) -> float:
    """Median seconds per step of a bare loop of the static compiled step: nothing around it."""
    with tf.device("/GPU:0" if ctx.device == "gpu" else "/CPU:0"):
        setup(ctx, seed)
        fn = make_loop_step(ctx)
        sync = _sync_fn(ctx.device)
        x, y = batches[0]
        for _ in range(3):  # trace and warm up
            fn(x, y).numpy()
        per_step = []
        for _ in range(rounds):
            t0 = clock()
            for x, y in batches:
                loss = fn(x, y)
            loss.numpy()
            sync()
            per_step.append((clock() - t0) / len(batches))
        return float(np.median(per_step))

"""What a cell trains: its model, loss, optimizer and loop train step, built fresh per repeat.

Imports TensorFlow (worker processes only). The model counts its own traces: the train step's
Python body runs once per trace, and calls ``Ctx.count_trace``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from bench.core.flavours import Flavour

if TYPE_CHECKING:
    from bench.measure.context import Ctx


def _in_step(ctx: "Ctx", *args) -> None:
    # Plain Python by design: what a scenario does in the step is frozen at trace time, as it is
    # in users' code, rather than rewritten by AutoGraph.
    tf.autograph.experimental.do_not_convert(ctx.scenario.in_step)(ctx, *args)


def _model_class(flavour: Flavour):
    K = flavour.keras()

    class CountingModel(K.Model):
        ctx: "Ctx | None" = None

        def train_step(self, data):
            self.ctx.count_trace()
            _in_step(self.ctx)
            tape = self.ctx.tape
            if tape is None:
                return super().train_step(data)
            tape.before(data)
            outputs = super().train_step(data)
            tape.after()
            return outputs

    return CountingModel


_MODEL_CLASSES: dict[str, type] = {}


def model_class(ctx: "Ctx") -> type:
    """The flavour's trace-counting model class (what ``load_model`` needs as a custom object)."""
    return _MODEL_CLASSES.setdefault(ctx.flavour.name, _model_class(ctx.flavour))


def build_model(ctx: "Ctx"):
    K = ctx.keras
    cls = model_class(ctx)
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


def make_loop_step(ctx: "Ctx"):
    if ctx.dist is not None:
        return _distributed_loop_step(ctx)
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


def _distributed_loop_step(ctx: "Ctx"):
    """The loop's train step as a custom loop under a strategy is written: ``strategy.run`` of a
    replica step whose loss is averaged over the global batch (``compute_average_loss`` divides by
    the replica's batch times the replicas in sync), so the summed replica gradients are the global
    batch's gradient. Under XLA the replica step is what is compiled (a compiled function cannot
    reach variables on the other replicas' devices), as Keras itself does."""
    model, dist = ctx.model, ctx.dist

    def replica_step(x, y, *args):
        ctx.count_trace()
        with tf.GradientTape() as tape:
            per_example = ctx.loss_fn(y, model(x, training=True))
            loss = tf.nn.compute_average_loss(per_example)
        grads = tape.gradient(loss, model.trainable_variables)
        _in_step(ctx, *args)
        ctx.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    if ctx.mode == "xla":
        replica_step = tf.function(replica_step, jit_compile=True)

    def train_step(x, y, *args):
        return dist.reduce("SUM", dist.run(replica_step, args=(x, y, *args)), axis=None)

    return train_step if ctx.mode == "eager" else tf.function(train_step)


def setup(ctx: "Ctx", seed: int) -> None:
    """Fresh seeded model and optimizer; slots built before any traced call.

    A scenario may build the model under a Keras dtype policy of its own (``dtype_policy``, set
    only while its layers are made, so no other cell of the worker sees it) and construct the
    optimizer itself (``make_optimizer(ctx)``): that constructor call is then the statement under
    test, and when it raises, its exception is the cell's error and the flavour's default
    optimizer stands in, so the cell still trains."""
    ctx.keras.utils.set_random_seed(seed)
    with ctx.scope():
        with _dtype_policy(ctx.keras, getattr(ctx.scenario, "dtype_policy", None)):
            ctx.model = build_model(ctx)
        # A custom loop under a strategy averages per-example losses over the global batch itself.
        reduction = {"reduction": "none"} if ctx.dist is not None and ctx.api == "loop" else {}
        ctx.loss_fn = ctx.keras.losses.CategoricalCrossentropy(**reduction)
        ctx.optimizer = _scenario_optimizer(ctx)
        ctx.flavour.build(ctx.optimizer, ctx.model.trainable_variables)


@contextlib.contextmanager
def _dtype_policy(keras, name):
    if name is None:
        yield
        return
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _scenario_optimizer(ctx: "Ctx"):
    make = getattr(ctx.scenario, "make_optimizer", None)
    if make is not None:
        try:
            return make(ctx)
        except Exception as e:  # the constructor call under test raised: keep it, train on
            ctx.record_error(e)
    return ctx.flavour.optimizer(ctx.opt_name, ctx.scenario.initial_lr(ctx))



def sync_fn(device: str):
    if device == "gpu":
        return tf.test.experimental.sync_devices
    return lambda: None


def make_batches(x: np.ndarray, y: np.ndarray, steps: int, batch_size: int):
    return [(tf.constant(x[i * batch_size:(i + 1) * batch_size]), tf.constant(y[i * batch_size:(i + 1) * batch_size]))
            for i in range(steps)]


def placement(ctx: "Ctx"):
    """One device for the whole cell; a strategy places its replicas itself."""
    if ctx.dist is not None:
        return contextlib.nullcontext()
    return tf.device("/GPU:0" if ctx.device == "gpu" else "/CPU:0")

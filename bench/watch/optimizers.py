"""What differs between Keras 3, tf_keras and tf_keras's legacy optimizers, in one place.

The monitor never builds, wraps or reconfigures the user's optimizer. It needs, per flavour: the
public method a train step calls (where its hook sees the gradients), the optimizer's state
variables (to snapshot and restore them around a replay), what that method would build on its
first call (so that the hook can do the same thing at the same moment, with the same variables),
and where the learning rate lives (so that a replay traced by the monitor reads a rate of its
own instead).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import tensorflow as tf


def flavour(opt) -> str:
    """'keras3', 'tf_keras' or 'tf_keras_legacy', from the optimizer's class; '' when neither.
    Keras 2's own classes (``keras.*`` on TensorFlow <= 2.15) count as tf_keras."""
    from bench.core.flavours import keras_major

    keras2 = keras_major() == 2  # TensorFlow <= 2.15: the keras package is Keras 2, tf_keras's code
    for cls in type(opt).__mro__:
        module = cls.__module__
        if module.startswith("tf_keras") or (keras2 and module.startswith("keras")):
            return "tf_keras_legacy" if ".optimizers.legacy" in module or "optimizer_v2" in module else "tf_keras"
        if module.startswith("keras"):
            return "keras3"
    return ""


def unwrap(opt):
    """The optimizer that applies the update: a LossScaleOptimizer's inner one, else ``opt``.

    Under a loss-scale wrapper the inner optimizer receives the unscaled gradients, and only on
    steps whose gradients are finite; its learning rate is the one that matters.
    """
    seen = 0
    while hasattr(opt, "inner_optimizer") and seen < 4:
        opt, seen = opt.inner_optimizer, seen + 1
    return opt


def method_name(opt) -> str:
    """The public method a train step calls with the gradients."""
    return "apply" if flavour(opt) == "keras3" else "apply_gradients"


def is_built(opt) -> bool:
    kind = flavour(opt)
    if kind == "keras3":
        return bool(opt.built)
    if kind == "tf_keras":
        return bool(getattr(opt, "_built", False))
    return bool(opt.weights)


def state_variables(opt) -> list:
    """Every variable the optimizer owns and a step may change: iterations, slots, EMA averages,
    gradient accumulators (the flavour decides what there is)."""
    kind = flavour(opt)
    found = list(opt.weights) if kind == "tf_keras_legacy" else list(opt.variables)
    # Some keep state in an attribute of their own outside that list (tf_keras's Nadam: _u_product).
    known = {id(v) for v in found}
    for value in list(vars(opt).values()):
        if isinstance(value, tf.Variable) and id(value) not in known:
            found.append(value)
            known.add(id(value))
    return found


def iterations_variable(opt):
    """The variable counting the optimizer's calls (Keras 3's ``iterations`` divides it by the
    gradient accumulation steps, so it is no variable there)."""
    return getattr(opt, "_iterations", None) if flavour(opt) == "keras3" else opt.iterations


def step_number(opt, calls: int) -> int:
    """The step a schedule and the user see, from the count of calls before the step."""
    every = getattr(opt, "gradient_accumulation_steps", None) if flavour(opt) == "keras3" else None
    return calls // every if every else calls


def build_as_step_would(opt, grads, variables) -> None:
    """Build ``opt`` exactly as its own ``apply``/``apply_gradients`` is about to, on the same
    variables: the hook then snapshots a state that exists. Nothing here runs on a built optimizer
    (a legacy optimizer makes slots for variables it has not seen, as its own call would)."""
    kind = flavour(opt)
    if kind == "keras3":
        if not opt.built:
            import keras

            with keras.name_scope(opt.name, caller=opt):
                opt.build(list(variables))
            opt.built = True
    elif kind == "tf_keras":
        if not getattr(opt, "_built", False):
            with tf.init_scope():
                opt.build(list(variables))
    elif kind == "tf_keras_legacy":
        kept = [v for g, v in zip(grads, variables) if g is not None]
        with tf.name_scope(opt._name), tf.init_scope():
            opt._create_all_weights(kept)


@contextlib.contextmanager
def learning_rate_swapped(opt, rate: tf.Variable):
    """While a replay is traced, ``opt`` reads ``rate`` as its learning rate; restored at once.

    Only Python attributes change, and only while the monitor's own function is traced between
    two steps: the traced replay keeps reading ``rate``, the user's step is not involved.
    """
    kind = flavour(opt)
    if kind == "tf_keras_legacy":
        old = opt._hyper["learning_rate"]
        opt._hyper["learning_rate"] = rate
        try:
            yield
        finally:
            opt._hyper["learning_rate"] = old
        return
    old = opt.__dict__["_learning_rate"]
    object.__setattr__(opt, "_learning_rate", rate)  # past Keras' attribute tracking
    try:
        yield
    finally:
        object.__setattr__(opt, "_learning_rate", old)


def _is_schedule(x) -> bool:
    return any(c.__name__ == "LearningRateSchedule" for c in type(x).__mro__)


def _num(x) -> float:
    x = x.numpy() if hasattr(x, "numpy") else x
    return float(np.asarray(x))


def lr_source(opt):
    """What the step gets its learning rate from: a variable, a schedule, a callable or a number."""
    return opt._hyper.get("learning_rate") if flavour(opt) == "tf_keras_legacy" else getattr(opt, "_learning_rate", None)


def lr_tensor(opt):
    """Inside a step, before the update: the learning rate ``reported_lr`` would give, as a tensor
    (float32), or None when the source is neither a variable nor a schedule."""
    source = lr_source(opt)
    if _is_schedule(source):
        step = iterations_variable(opt) if flavour(opt) != "keras3" else opt.iterations
        if flavour(opt) == "tf_keras_legacy":
            step = tf.cast(step, tf.float32)
        return tf.cast(source(step), tf.float32)
    if hasattr(source, "assign"):
        return tf.cast(tf.convert_to_tensor(source), tf.float32)
    return None


def reported_lr(opt) -> float:
    """The LR the optimizer says it will use for its next step; NaN when it is no number.

    A schedule is called at the iteration count the way the optimizer itself calls it: the legacy
    optimizers pass it as a float32, the others as the int64 variable. tf_keras's public
    ``learning_rate`` returns, under a schedule, the value computed at the previous step, so the
    configured schedule is evaluated instead. Whatever a user's schedule raises gives NaN here.
    """
    try:
        kind = flavour(opt)
        configured = opt._hyper.get("learning_rate") if kind == "tf_keras_legacy" else getattr(
            opt, "_learning_rate", None)
        if configured is None:
            configured = opt.learning_rate
        if _is_schedule(configured):
            step = opt.iterations
            if kind == "tf_keras_legacy":
                step = tf.cast(step, tf.float32)
            return _num(configured(step))
        if callable(configured) and not hasattr(configured, "numpy"):
            return _num(configured())
        return _num(configured)
    except Exception:  # noqa: BLE001 - a user's schedule may raise anything; the step decides
        return math.nan


# Attributes that tf.keras 2 optimizers had and Keras 3 optimizers do not: writing one only adds
# an attribute that no step reads.
KERAS2_ONLY = ("lr", "decay")

# Python-number hyperparameters that a traced step reads once, when it is traced.
HYPERPARAMETERS = ("momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho", "weight_decay", "clipnorm",
                   "clipvalue", "global_clipnorm", "amsgrad", "centered", "initial_accumulator_value")


def no_op_writes(opt) -> list[tuple[str, object]]:
    """Attributes set on a Keras 3 optimizer that it does not have, such as ``lr``: (name, value)."""
    if flavour(opt) != "keras3":
        return []
    own = opt.__dict__
    return [(name, own[name]) for name in KERAS2_ONLY if name in own and not hasattr(type(opt), name)]


def hyperparameters(opt) -> dict:
    """The Python-number hyperparameters the optimizer holds now."""
    out = {}
    for name in HYPERPARAMETERS:
        value = opt.__dict__.get(name, None)
        if isinstance(value, (bool, int, float)):
            out[name] = value
    return out

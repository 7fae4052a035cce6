"""The probe recovers known learning rates from the weights, in every mode, for SGD and Adam."""

import numpy as np
import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips

from bench.core import probe  # noqa: E402
from bench.core.flavours import FLAVOURS, keras_major  # noqa: E402
from bench.measure import build, context  # noqa: E402
from bench.scenarios import REGISTRY, Rates  # noqa: E402

MODES = ("eager", "function", "xla")
#: Keras 3 where installed; on TensorFlow <= 2.15 (Keras 2) the tf.keras flavour.
FLAVOUR = "tf_keras" if keras_major() == 2 else "keras3"


def _ctx(mode, opt):
    return context.Ctx(REGISTRY["static"], FLAVOURS[FLAVOUR], "loop", mode, "cpu", opt, Rates.for_optimizer(opt), 3, 6)


def _batches(n=4):
    rng = np.random.default_rng(1)
    x = rng.random((32 * n, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(32 * n) % 10]
    return build.make_batches(x, y, n, 32)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_recovers_known_lr(mode, opt):
    ctx = _ctx(mode, opt)
    build.setup(ctx, seed=0)
    step = build.make_loop_step(ctx)
    for lr, (x, y) in zip([0.0123, 0.0021, 0.05, 3e-4], _batches()):
        ctx.optimizer.learning_rate.assign(lr)
        before = [v.numpy() for v in ctx.model.trainable_variables]
        _, grads = probe.dense_loss_and_grads(before, x.numpy(), y.numpy())
        step(x, y)
        after = [v.numpy() for v in ctx.model.trainable_variables]
        if opt == "sgd":
            got = probe.sgd_lr(before, after, grads)
        else:
            m, v = ctx.flavour.adam_slots(ctx.optimizer, ctx.model.trainable_variables)
            got = probe.adam_lr(before, after, m, v, int(ctx.optimizer.iterations.numpy()), 0.9, 0.999, 1e-7)
        assert got == pytest.approx(lr, rel=1e-3), (mode, opt, lr, got)


def test_numpy_gradients_match_tensorflow():
    ctx = _ctx("eager", "sgd")
    build.setup(ctx, seed=3)
    x, y = _batches(1)[0]
    with tf.GradientTape() as tape:
        loss = ctx.loss_fn(y, ctx.model(x, training=True))
    tf_grads = tape.gradient(loss, ctx.model.trainable_variables)
    np_loss, np_grads = probe.dense_loss_and_grads([v.numpy() for v in ctx.model.trainable_variables], x.numpy(), y.numpy())
    assert np_loss == pytest.approx(float(loss), rel=1e-5)
    for a, b in zip(np_grads, tf_grads):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-7)


def test_solver_is_exact_on_synthetic_updates():
    rng = np.random.default_rng(0)
    w = [rng.normal(size=(5, 3)), rng.normal(size=3)]
    g = [rng.normal(size=(5, 3)), rng.normal(size=3)]
    assert probe.sgd_lr(w, [a - 0.25 * b for a, b in zip(w, g)], g) == pytest.approx(0.25, rel=1e-12)
    assert np.isnan(probe.sgd_lr(w, w, [np.zeros_like(a) for a in w]))

"""The watch on models and optimizers built lazily, on subclassed models and on a trainable set
that changes; it builds nothing itself, and a step traced inside a watch that has ended copies
nothing. Keras 3 here; tf_keras and its legacy optimizers in a process of their own below."""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips
import keras  # noqa: E402

from bench import watch  # noqa: E402

LRS = [0.05, 0.02, 0.01, 0.03]


def _xy(n=64, d=5):
    rng = np.random.default_rng(0)
    return rng.random((n, d), dtype=np.float32), rng.random((n, 1), dtype=np.float32)


class SetLR(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate.assign(LRS[int(self.model.optimizer.iterations.numpy()) % 4])


@pytest.mark.parametrize("make", [lambda: keras.optimizers.SGD(0.1), lambda: keras.optimizers.Adam(0.1)])
def test_sequential_without_input_is_measured(make):
    x, y = _xy()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(1)])
    model.compile(make(), "mse")
    monitor = watch.EffectiveLRMonitor(expected=lambda s: LRS[s], on_mismatch="raise")
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[SetLR(), monitor])
    assert [r["step"] for r in monitor.records] == [0, 1, 2, 3]
    np.testing.assert_allclose([r["lr_effective"] for r in monitor.records], LRS, rtol=1e-4)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_subclassed_model_in_a_custom_loop_from_its_first_step(mode):
    x, y = _xy()
    keras.utils.set_random_seed(0)
    model, opt = Subclassed(), keras.optimizers.SGD(0.1, momentum=0.9)

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    step = step if mode == "eager" else tf.function(step, jit_compile=mode == "xla")
    with watch.watch_lr(model, opt, expected=lambda s: LRS[s], on_mismatch="raise") as w:
        assert not opt.built and not model.built  # entering the watch built nothing
        for i, lr in enumerate(LRS):
            opt.learning_rate.assign(lr)
            with w.step():
                step(x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)])
    assert [r["step"] for r in w.records] == [0, 1, 2, 3]
    np.testing.assert_allclose([r["lr_effective"] for r in w.records], LRS, rtol=1e-4)


def _unnamed(error) -> str:
    """The error's first sentence without the numbered layer names, which differ from run to run."""
    return re.sub(r"(sequential|dense)(_\d+)?", r"\1", str(error).split(".")[0])


def test_unfreezing_fails_or_runs_the_same_with_and_without_the_monitor():
    x, y = _xy()

    def run(callbacks):
        keras.utils.set_random_seed(0)
        base = keras.layers.Dense(4, name="base")
        model = keras.Sequential([keras.Input((5,)), base, keras.layers.Dense(1)])
        base.trainable = False
        opt = keras.optimizers.Adam(0.01)
        model.compile(opt, "mse")
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=callbacks)
        base.trainable = True
        model.compile(opt, "mse")  # the same optimizer, built on the head only
        try:
            model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=callbacks)
        except ValueError as e:
            return _unnamed(e)
        return "ran"

    bare = run([])
    assert bare.startswith("Unknown variable")
    assert run([watch.EffectiveLRMonitor()]) == bare


def test_a_loop_that_unfreezes_fails_alike_with_the_watch():
    """The step first trains the head only, then everything: Keras 3's optimizer, built on the
    head, refuses the base's variables. The watch must not have built it on everything."""
    x, y = _xy()

    def run(watched):
        keras.utils.set_random_seed(0)
        base, head = keras.layers.Dense(4), keras.layers.Dense(1)
        model = keras.Sequential([keras.Input((5,)), base, head])
        opt = keras.optimizers.SGD(0.1)

        def step(variables):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(x) - y) ** 2)
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))

        w = watch.watch_lr(model, opt) if watched else None
        try:
            if w is not None:
                w.__enter__()
            step(head.trainable_variables)
            step(model.trainable_variables)  # unfrozen
            return "ran"
        except ValueError as e:
            return _unnamed(e)
        finally:
            if w is not None:
                w.__exit__(None, None, None)

    bare = run(False)
    assert bare.startswith("Unknown variable")
    assert run(True) == bare


def test_a_step_traced_inside_an_ended_watch_copies_nothing():
    x, y = _xy()
    keras.utils.set_random_seed(0)
    model, opt = Subclassed(), keras.optimizers.SGD(0.1)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    with watch.watch_lr(model, opt) as w:
        with w.step():
            step(x[:16], y[:16])
    snaps = w.watcher.snaps
    copies_after_watch = int(snaps.count.numpy())
    weights_copy = [c.numpy().copy() for _, c in snaps.copies.values()]
    assert copies_after_watch == 1 and "apply" not in vars(opt)
    for i in range(1, 4):
        step(x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)])  # the same trace, hook inside
    assert int(snaps.count.numpy()) == copies_after_watch
    assert all(np.array_equal(a, c.numpy()) for a, (_, c) in zip(weights_copy, snaps.copies.values()))


SCRIPT = textwrap.dedent("""
    import json, warnings
    import numpy as np, tensorflow as tf, tf_keras as K
    from bench import watch

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 5), dtype=np.float32), rng.random((64, 1), dtype=np.float32)

    class Subclassed(K.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = K.layers.Dense(8, activation="relu"), K.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    class CustomSchedule(K.optimizers.schedules.LearningRateSchedule):
        # The transformer tutorial's warm-up, as many copies of it write it: no cast of the step.
        def __init__(self, d_model=16, warmup_steps=4):
            super().__init__()
            self.d_model, self.warmup_steps = tf.cast(d_model, tf.float32), warmup_steps

        def __call__(self, step):
            return tf.math.rsqrt(self.d_model) * tf.math.minimum(tf.math.rsqrt(step), step * self.warmup_steps ** -1.5)

    def fit(make_opt, **kwargs):
        K.utils.set_random_seed(0)
        model = Subclassed()
        model.compile(make_opt(), "mse")
        mon = watch.EffectiveLRMonitor(on_mismatch="raise", **kwargs)
        try:
            model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[mon])
            outcome = "completed"
        except Exception as e:
            outcome = f"{type(e).__name__}: {e}"[:300]
        return dict(outcome=outcome, effective=[r["lr_effective"] for r in mon.records],
                    reported=[r["lr_reported"] for r in mon.records])

    O, L = K.optimizers, K.optimizers.legacy
    out = {
        "tf_keras_sgd": fit(lambda: O.SGD(0.05, momentum=0.9)),
        "legacy_adam": fit(lambda: L.Adam(0.05)),
        "legacy_adam_custom_schedule": fit(lambda: L.Adam(CustomSchedule(), beta_1=0.9, beta_2=0.98, epsilon=1e-9)),
    }
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def tf_keras_run():
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["tf_keras_sgd", "legacy_adam"])
def test_tf_keras_subclassed_model_from_its_first_step(tf_keras_run, case):
    got = tf_keras_run[case]
    assert got["outcome"] == "completed"
    np.testing.assert_allclose(got["effective"], [0.05] * 4, rtol=1e-4)


@pytest.mark.slow
def test_legacy_schedule_is_called_with_the_step_it_gets_from_the_optimizer(tf_keras_run):
    got = tf_keras_run["legacy_adam_custom_schedule"]
    assert got["outcome"] == "completed"
    # NumPy reference: the schedule at the float step the legacy optimizer passes it.
    # Step 0's rate is 0: the weights do not move and there is nothing to solve; steps 1-3 are measured.
    want = [16 ** -0.5 * min(s ** -0.5, s * 4 ** -1.5) for s in range(1, 4)]
    np.testing.assert_allclose(got["reported"], want, rtol=1e-6)
    np.testing.assert_allclose(got["effective"], want, rtol=1e-4)

"""EffectiveLRMonitor under tf_keras (and its legacy optimizers), in a process started with
TF_USE_LEGACY_KERAS=1, which must be set before TensorFlow is first imported."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tf_keras  # noqa: E402,F401  a required dependency: a broken install fails here, not skips

SCRIPT = textwrap.dedent("""
    import json
    import numpy as np, tf_keras as K
    from bench import watch

    assert issubclass(watch.EffectiveLRMonitor, K.callbacks.Callback)
    LRS = [0.01, 0.02, 0.005, 0.03]
    rng = np.random.default_rng(1)
    x = rng.random((128, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(128) % 10]

    def model():
        K.utils.set_random_seed(0)
        i = K.Input((784,))
        return K.Model(i, K.layers.Dense(10, activation="softmax")(K.layers.Dense(10, activation="relu")(i)))

    def decay(lr, rate):
        return K.optimizers.schedules.ExponentialDecay(lr, decay_steps=1, decay_rate=rate)

    class SetLR(K.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(LRS[batch])

    class Swap(K.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                self.model.optimizer.learning_rate = decay(0.001, 0.5)

    def fit(opt, callbacks):
        m = model()
        m.compile(opt, "categorical_crossentropy")
        mon = watch.EffectiveLRMonitor(on_mismatch="raise")
        try:
            m.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[*callbacks, mon])
            outcome = "completed"
        except watch.LRMismatchError as e:
            outcome = str(e)
        return dict(outcome=outcome, effective=[r["lr_effective"] for r in mon.records])

    O, L = K.optimizers, K.optimizers.legacy
    out = dict(assign={name: fit(make(), [SetLR()]) for name, make in {
        "sgd_nesterov": lambda: O.SGD(0.01, momentum=0.9, nesterov=True),
        "adamw": lambda: O.AdamW(0.01, weight_decay=0.1),
        "legacy_sgd_momentum": lambda: L.SGD(0.01, momentum=0.9),
        "legacy_adam": lambda: L.Adam(0.01),
    }.items()}, swap={name: fit(make(decay(0.1, 0.9)), [Swap()]) for name, make in {
        "tf_keras": O.SGD, "tf_keras_legacy": L.SGD}.items()})
    print("RESULT " + json.dumps(out))
""")


@pytest.fixture(scope="module")
def tf_keras_run():
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


@pytest.mark.slow
@pytest.mark.parametrize("opt", ["sgd_nesterov", "adamw", "legacy_sgd_momentum", "legacy_adam"])
def test_assigned_lr_recovered(tf_keras_run, opt):
    got = tf_keras_run["assign"][opt]
    assert got["outcome"] == "completed"
    np.testing.assert_allclose(got["effective"], [0.01, 0.02, 0.005, 0.03], rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["tf_keras", "tf_keras_legacy"])
def test_schedule_swap_in_fit_raises_naming_the_step(tf_keras_run, flavour):
    got = tf_keras_run["swap"][flavour]
    # The weights kept following the old schedule (0.1 * 0.9**step) after the swap before step 2.
    np.testing.assert_allclose(got["effective"], [0.1, 0.09, 0.081], rtol=1e-5)
    assert got["outcome"].startswith("step 2: the effective learning rate 0.081 ")
    assert f"reports {0.001 * 0.5**2:.6g}" in got["outcome"]

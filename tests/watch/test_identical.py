"""The monitor changes nothing: a deterministic run trains to bit-identical weights and optimizer
state with and without it, in each flavour (a process each, op determinism on), in ``fit`` and in
a custom loop, on a model built by its first step."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import tensorflow  # noqa: E402,F401  required: a broken install fails here, not skips

SCRIPT = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np, tensorflow as tf
    flavour = sys.argv[1]
    if flavour == "keras3":
        import keras as K
    else:
        import tf_keras as K
    from bench.watch import EffectiveLRMonitor, watch_lr
    tf.config.experimental.enable_op_determinism()
    O = K.optimizers.legacy if flavour == "tf_keras_legacy" else K.optimizers
    rng = np.random.default_rng(0)
    x, y = rng.random((96, 6), dtype=np.float32), rng.random((96, 2), dtype=np.float32)

    def digest(model, opt):
        h = hashlib.sha256()
        for v in list(model.weights) + list(opt.weights if flavour == "tf_keras_legacy" else opt.variables):
            h.update(np.asarray(v.numpy()).tobytes())
        return h.hexdigest()

    def build(make):
        K.utils.set_random_seed(0)
        model = K.Sequential([K.layers.Dense(8, activation="relu"), K.layers.Dropout(0.2), K.layers.Dense(2)])
        return model, make()

    class Lower(K.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 3:
                self.model.optimizer.learning_rate.assign(0.003)

    def fit(make, watched):
        model, opt = build(make)
        model.compile(opt, "mse")
        callbacks = [Lower()] + ([EffectiveLRMonitor(every=2)] if watched else [])
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=callbacks)
        return digest(model, opt)

    def loop(make, watched):
        model, opt = build(make)

        @tf.function
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

        if watched:
            with watch_lr(model, opt) as w:
                for i in range(6):
                    with w.step():
                        step(x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)])
            assert len(w.records) == 6, w.records
        else:
            for i in range(6):
                step(x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)])
        return digest(model, opt)

    makers = {"sgd_momentum": lambda: O.SGD(0.01, momentum=0.9), "adam": lambda: O.Adam(0.01),
              "rmsprop_centred": lambda: O.RMSprop(0.01, centered=True)}
    out = {f"{api}/{name}": [run(make, False), run(make, True)]
           for api, run in (("fit", fit), ("loop", loop)) for name, make in makers.items()}
    print("RESULT " + json.dumps(out))
""")


@pytest.mark.slow
@pytest.mark.parametrize("flavour", ["keras3", "tf_keras", "tf_keras_legacy"])
def test_weights_are_bit_identical_with_and_without_the_monitor(flavour):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_USE_LEGACY_KERAS", None)
    if flavour != "keras3":
        env["TF_USE_LEGACY_KERAS"] = "1"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, flavour], capture_output=True, text=True, env=env,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))[len("RESULT "):])
    assert len(got) == 6
    for case, (bare, watched) in got.items():
        assert bare == watched, case

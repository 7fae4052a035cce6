"""Every built-in optimizer of one flavour under EffectiveLRMonitor(on_mismatch="warn").

``python -m tests.watch.corpus.optimizer_matrix keras3|tf_keras|tf_keras_legacy`` (tf_keras
flavours need ``TF_USE_LEGACY_KERAS=1``) trains a lazily built two-layer model for STEPS steps per
optimizer, assigning LRS[step] before each step (``step``: the optimizer's iteration count), and prints one JSON line per optimizer: whether
training completed, the steps measured, the largest relative error of the effective LR against
the assigned one, and what the monitor named as not measurable.
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings

import numpy as np

LRS = [0.01, 0.02, 0.005, 0.03, 0.015, 0.01, 0.02, 0.005]
STEPS = len(LRS)


def optimizers(kind, K):
    O = K.optimizers.legacy if kind == "tf_keras_legacy" else K.optimizers
    out = {
        "SGD": lambda: O.SGD(0.01),
        "SGD momentum": lambda: O.SGD(0.01, momentum=0.9),
        "SGD Nesterov": lambda: O.SGD(0.01, momentum=0.9, nesterov=True),
        "Adam": lambda: O.Adam(0.01),
        "Adam amsgrad": lambda: O.Adam(0.01, amsgrad=True),
        "RMSprop": lambda: O.RMSprop(0.01),
        "RMSprop centred, momentum": lambda: O.RMSprop(0.01, momentum=0.5, centered=True),
        "Nadam": lambda: O.Nadam(0.01),
        "Adamax": lambda: O.Adamax(0.01),
        "Adagrad": lambda: O.Adagrad(0.01),
        "Adadelta": lambda: O.Adadelta(0.01),
        "Ftrl": lambda: O.Ftrl(0.01),
        "SGD clipnorm": lambda: O.SGD(0.01, clipnorm=0.01),
        "Adam clipvalue": lambda: O.Adam(0.01, clipvalue=1e-3),
        "Adam global_clipnorm": lambda: O.Adam(0.01, global_clipnorm=0.01),
    }
    if kind != "tf_keras_legacy":
        out.update({
            "AdamW": lambda: O.AdamW(0.01, weight_decay=0.1),
            "Lion": lambda: O.Lion(0.01),
            "SGD weight_decay": lambda: O.SGD(0.01, momentum=0.9, weight_decay=0.05),
            "Adam EMA (overwrite every 3)": lambda: O.Adam(0.01, use_ema=True, ema_momentum=0.9,
                                                           ema_overwrite_frequency=3),
        })
    if kind == "keras3":
        out.update({
            "Lamb": lambda: O.Lamb(0.01),
            "Adam gradient_accumulation_steps=2": lambda: O.Adam(0.01, gradient_accumulation_steps=2),
        })

    class MyAdam(O.Adam):
        """A user's subclass with an __init__ of its own."""

        def __init__(self, lr):
            super().__init__(learning_rate=lr, beta_1=0.8)

    out["user subclass of Adam"] = lambda: MyAdam(0.01)
    if kind == "keras3":
        out["LossScaleOptimizer (mixed_float16)"] = "mixed"
    else:
        out["LossScaleOptimizer (mixed_float16)"] = lambda: K.mixed_precision.LossScaleOptimizer(O.Adam(0.01))
    return out


def run_one(K, make, monitor_cls, x, y):
    class SetLR(K.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            opt = self.model.optimizer
            inner = getattr(opt, "inner_optimizer", opt)
            inner.learning_rate.assign(LRS[int(inner.iterations.numpy()) % STEPS])

    K.utils.set_random_seed(0)
    mixed = make == "mixed"
    if mixed:
        K.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = K.Sequential([K.layers.Dense(16, activation="relu"), K.layers.Dense(4, activation="softmax",
                                                                                      dtype="float32")])
        model.compile(K.optimizers.Adam(0.01) if mixed else make(), "categorical_crossentropy")
        monitor = monitor_cls(expected=lambda step: LRS[step] if step < STEPS else math.nan, on_mismatch="warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0,
                                callbacks=[SetLR(), monitor])
    finally:
        if mixed:
            K.mixed_precision.set_global_policy("float32")
    errors = [abs(r["lr_effective"] - LRS[r["step"]]) / LRS[r["step"]] for r in monitor.records]
    return dict(completed=len(history.history["loss"]) == 1, optimizer=type(model.optimizer).__name__,
                measured=[r["step"] for r in monitor.records], max_error=max(errors) if errors else None,
                notes=monitor.notes, warnings=sum(1 for w in caught if "bench/watch" not in w.filename))


def main(kind: str) -> None:
    if kind == "keras3":
        import keras as K
    else:
        import tf_keras as K
    from bench.watch import EffectiveLRMonitor

    rng = np.random.default_rng(0)
    x = rng.random((16 * STEPS, 12), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[np.arange(16 * STEPS) % 4]
    for name, make in optimizers(kind, K).items():
        try:
            result = run_one(K, make, EffectiveLRMonitor, x, y)
        except Exception as e:  # noqa: BLE001 - reported, so the test names the optimizer that stopped
            result = dict(completed=False, error=f"{type(e).__name__}: {e}"[:500])
        print("MATRIX " + json.dumps(dict(flavour=kind, name=name, **result)), flush=True)


if __name__ == "__main__":
    if (sys.argv[1] != "keras3") != (os.environ.get("TF_USE_LEGACY_KERAS") == "1"):
        sys.exit(f"flavour={sys.argv[1]!r} needs TF_USE_LEGACY_KERAS={'1' if sys.argv[1] != 'keras3' else 'unset'}")
    main(sys.argv[1])

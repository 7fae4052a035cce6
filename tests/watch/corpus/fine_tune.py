"""Transfer learning and fine-tuning, Keras-guide style: train a new head on a frozen base, then
unfreeze the base and recompile with a much lower LR (a new optimizer) and fit again."""

import numpy as np
import keras

from tests.watch.corpus.common import Recorded, digest, verdict


def train(watched: bool) -> dict:
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    x, y = rng.random((96, 32, 32, 3), dtype=np.float32), rng.integers(0, 2, (96, 1)).astype("float32")

    base_model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3, activation="relu"),
                                   keras.layers.BatchNormalization(), keras.layers.GlobalAveragePooling2D()])
    base_model.trainable = False
    inputs = keras.Input(shape=(32, 32, 3))
    h = base_model(inputs, training=False)
    h = keras.layers.Dropout(0.2)(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))

    monitors = []

    def callbacks():
        if not watched:
            return []
        from bench.watch import EffectiveLRMonitor
        monitors.append(EffectiveLRMonitor())
        return monitors[-1:]

    with Recorded() as rec:
        model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.BinaryCrossentropy(from_logits=True))
        model.fit(x, y, epochs=2, batch_size=32, verbose=0, callbacks=callbacks())
        base_model.trainable = True
        model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=keras.losses.BinaryCrossentropy(from_logits=True))
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=callbacks())
    out = dict(weights=digest(model))
    if watched:
        records = [r for m in monitors for r in m.records]
        out.update(records=records, verdict=verdict(records, rec.said))
    return out

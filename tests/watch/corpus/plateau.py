"""Keras-examples style: ReduceLROnPlateau watching the training loss, one step per epoch, RMSprop."""

import numpy as np
import keras

from tests.watch.corpus.common import Recorded, digest, verdict


def train(watched: bool) -> dict:
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    x = rng.random((32, 8), dtype=np.float32)
    y = rng.random((32, 1), dtype=np.float32)

    model = keras.Sequential([keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.05), loss="mse")
    # A plateau every epoch: min_delta larger than any improvement, no patience.
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0,
                                                  min_lr=0.005)
    callbacks = [reduce_lr]
    if watched:
        from bench.watch import EffectiveLRMonitor
        callbacks.append(EffectiveLRMonitor())
    with Recorded() as rec:
        model.fit(x, y, batch_size=32, epochs=6, verbose=0, callbacks=callbacks)
    out = dict(weights=digest(model))
    if watched:
        out.update(records=callbacks[-1].records, verdict=verdict(callbacks[-1].records, rec.said))
    return out

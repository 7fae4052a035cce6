"""Simple MNIST convnet, Keras-guide style: a Sequential built by its first batch, Adam, fit with a
validation split. The LR never changes."""

import numpy as np
import keras

from tests.watch.corpus.common import Recorded, digest, verdict


def train(watched: bool) -> dict:
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x_train = rng.random((160, 28, 28, 1), dtype=np.float32)
    y_train = keras.utils.to_categorical(rng.integers(0, 10, 160), 10)

    model = keras.Sequential([
        keras.layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    callbacks = []
    if watched:
        from bench.watch import EffectiveLRMonitor
        callbacks = [EffectiveLRMonitor(every=2)]
    with Recorded() as rec:
        model.fit(x_train, y_train, batch_size=32, epochs=2, validation_split=0.2, verbose=0, callbacks=callbacks)
    out = dict(weights=digest(model))
    if watched:
        out.update(records=callbacks[0].records, verdict=verdict(callbacks[0].records, rec.said))
    return out

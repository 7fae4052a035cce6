"""YOLO-training-script style: SGD with Nesterov momentum and a warm-up callback that ramps the LR
over the first batches by writing ``optimizer.lr``, as tf.keras 2 scripts do."""

import numpy as np
import keras

from tests.watch.corpus.common import Recorded, digest, verdict


class WarmUpLearningRate(keras.callbacks.Callback):
    def __init__(self, warmup_batches, init_lr, verbose=0):
        super().__init__()
        self.warmup_batches, self.init_lr, self.verbose = warmup_batches, init_lr, verbose
        self.batch_count = 0

    def on_batch_begin(self, batch, logs=None):
        self.batch_count += 1
        if self.batch_count <= self.warmup_batches:
            lr = self.batch_count * self.init_lr / self.warmup_batches
            self.model.optimizer.lr = lr  # tf.keras 2's alias of learning_rate


def train(watched: bool) -> dict:
    keras.utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    images = rng.random((128, 32, 32, 3), dtype=np.float32)
    targets = rng.random((128, 4, 4, 6), dtype=np.float32)  # a grid of boxes: x, y, w, h, objectness, class

    inputs = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    h = keras.layers.LeakyReLU(negative_slope=0.1)(keras.layers.BatchNormalization()(h))
    h = keras.layers.Conv2D(16, 3, strides=2, padding="same")(h)
    h = keras.layers.LeakyReLU(negative_slope=0.1)(keras.layers.BatchNormalization()(h))
    h = keras.layers.MaxPooling2D(2)(h)
    model = keras.Model(inputs, keras.layers.Conv2D(6, 1)(h))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3, momentum=0.9, nesterov=True), loss="mse")

    callbacks = [WarmUpLearningRate(warmup_batches=6, init_lr=1e-2)]
    if watched:
        from bench.watch import EffectiveLRMonitor
        callbacks.append(EffectiveLRMonitor())
    with Recorded() as rec:
        model.fit(images, targets, batch_size=16, epochs=1, verbose=0, callbacks=callbacks)
    out = dict(weights=digest(model))
    if watched:
        out.update(records=callbacks[-1].records, verdict=verdict(callbacks[-1].records, rec.said))
    return out

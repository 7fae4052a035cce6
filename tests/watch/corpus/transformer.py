"""Transformer-tutorial style: a subclassed encoder layer and model built by its first call, the
warm-up schedule ``d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)``, Adam(0.9, 0.98, 1e-9),
and a custom loop whose ``tf.function`` train step has an ``input_signature``."""

import numpy as np
import tensorflow as tf
import keras

from tests.watch.corpus.common import Recorded, digest, verdict

D_MODEL, VOCAB, SEQ = 32, 200, 16


class CustomSchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, d_model, warmup_steps=4):
        super().__init__()
        self.d_model = tf.cast(d_model, tf.float32)
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = tf.cast(step, dtype=tf.float32) + 1.0
        arg1 = tf.math.rsqrt(step)
        arg2 = step * (self.warmup_steps ** -1.5)
        return tf.math.rsqrt(self.d_model) * tf.math.minimum(arg1, arg2)


class EncoderLayer(keras.layers.Layer):
    def __init__(self, d_model, num_heads, dff, rate=0.1):
        super().__init__()
        self.mha = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=d_model // num_heads, dropout=rate)
        self.ffn = keras.Sequential([keras.layers.Dense(dff, activation="relu"), keras.layers.Dense(d_model)])
        self.norm1, self.norm2 = keras.layers.LayerNormalization(), keras.layers.LayerNormalization()
        self.dropout = keras.layers.Dropout(rate)

    def call(self, x, training=False):
        x = self.norm1(x + self.mha(x, x, training=training))
        return self.norm2(x + self.dropout(self.ffn(x), training=training))


class Transformer(keras.Model):
    def __init__(self):
        super().__init__()
        self.embedding = keras.layers.Embedding(VOCAB, D_MODEL)
        self.enc = EncoderLayer(D_MODEL, num_heads=4, dff=64)
        self.final_layer = keras.layers.Dense(VOCAB)

    def call(self, x, training=False):
        return self.final_layer(self.enc(self.embedding(x), training=training))


def train(watched: bool) -> dict:
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, VOCAB, (8, 16, SEQ)).astype("int64")

    transformer = Transformer()
    learning_rate = CustomSchedule(D_MODEL)
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    loss_object = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="none")

    def loss_function(real, pred):
        mask = tf.cast(tf.math.logical_not(tf.math.equal(real, 0)), pred.dtype)
        loss_ = loss_object(real, pred) * mask
        return tf.reduce_sum(loss_) / tf.reduce_sum(mask)

    train_step_signature = [tf.TensorSpec(shape=(None, None), dtype=tf.int64),
                            tf.TensorSpec(shape=(None, None), dtype=tf.int64)]

    @tf.function(input_signature=train_step_signature)
    def train_step(inp, tar):
        with tf.GradientTape() as tape:
            predictions = transformer(inp, training=True)
            loss = loss_function(tar, predictions)
        gradients = tape.gradient(loss, transformer.trainable_variables)
        optimizer.apply_gradients(zip(gradients, transformer.trainable_variables))
        return loss

    with Recorded() as rec:
        if watched:
            from bench.watch import watch_lr
            watch = watch_lr(transformer, optimizer, expected=lambda step: float(learning_rate(step)))
            with watch:
                step = watch.wrap(train_step)
                for batch in tokens:
                    step(batch[:, :-1], batch[:, 1:])
        else:
            for batch in tokens:
                train_step(batch[:, :-1], batch[:, 1:])
    out = dict(weights=digest(transformer))
    if watched:
        out.update(records=watch.records, verdict=verdict(watch.records, rec.said))
    return out

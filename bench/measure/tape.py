"""Per-step records from inside a train function that runs several steps per call.

Imports TensorFlow (worker processes only).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from bench.measure.context import Ctx


class StepTape:
    """Per-step record of a train function call that runs several steps (probe pass only).

    With ``steps_per_execution`` > 1 Keras runs that many steps inside one call and calls batch
    callbacks once per call, so no Python code sees the weights between two of its steps. The train
    step itself therefore pushes, at every step, the batch it was given and the weights before the
    update, then the weights (and Adam's moments) after it, into rolling buffers of ``size`` rows:
    after a call of ``k`` steps the last ``k`` rows are its steps, oldest first. The effective LR
    is then solved from these weights exactly as for a single step; the optimizer's LR is not read.
    """

    def __init__(self, ctx: Ctx, size: int, x: tf.Tensor, y: tf.Tensor):
        self.variables = list(ctx.model.trainable_variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        n = sum(int(np.prod(shape)) for shape in self.shapes)
        self.slots = ctx.flavour.adam_slot_variables(ctx.optimizer, ctx.model.trainable_variables) if ctx.opt_name == "adam" else ([], [])

        def buffer(shape, dtype=tf.float32):
            return tf.Variable(tf.zeros((size, *shape), dtype), trainable=False)

        self.x, self.y = buffer(x.shape, x.dtype), buffer(y.shape, y.dtype)
        self.w_before, self.w_after = buffer((n,)), buffer((n,))
        self.m, self.v = (buffer((n,)), buffer((n,))) if self.slots[0] else (None, None)

    @staticmethod
    def _push(buffer, value) -> None:
        # Shift by one and append: static slices only, so it compiles under XLA like any step.
        value = tf.reshape(tf.cast(value, buffer.dtype), (1, *buffer.shape[1:]))
        buffer.assign(tf.concat([buffer[1:], value], axis=0))

    @staticmethod
    def _flat(variables) -> tf.Tensor:
        return tf.concat([tf.reshape(tf.convert_to_tensor(v), [-1]) for v in variables], axis=0)

    def before(self, data) -> None:
        # Reads and writes of one variable keep program order inside a tf.function (automatic
        # control dependencies), so these reads precede the update and those in after() follow it.
        self._push(self.x, data[0])
        self._push(self.y, data[1])
        self._push(self.w_before, self._flat(self.variables))

    def after(self) -> None:
        self._push(self.w_after, self._flat(self.variables))
        if self.m is not None:
            self._push(self.m, self._flat(self.slots[0]))
            self._push(self.v, self._flat(self.slots[1]))

    def _split(self, flat: np.ndarray) -> list[np.ndarray]:
        cuts = np.cumsum([int(np.prod(shape)) for shape in self.shapes])[:-1]
        return [part.reshape(shape) for part, shape in zip(np.split(flat, cuts), self.shapes)]

    def last(self, k: int) -> list[dict]:
        """The last ``k`` steps, oldest first: batch, weights before/after, moments after."""
        x, y, wb, wa = (b.numpy()[-k:] for b in (self.x, self.y, self.w_before, self.w_after))
        m, v = (b.numpy()[-k:] if b is not None else [None] * k for b in (self.m, self.v))
        return [dict(x=x[i], y=y[i], before=self._split(wb[i]), after=self._split(wa[i]),
                     m=None if m[i] is None else self._split(m[i]), v=None if v[i] is None else self._split(v[i]))
                for i in range(k)]

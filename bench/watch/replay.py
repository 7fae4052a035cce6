"""The effective LR, solved by replaying the step the optimizer just made.

After an armed step the monitor runs one function of its own. It restores the weights and the
optimizer's state to the copies taken before the update, applies the same gradients through the
optimizer's own method at a learning rate of 0, then again from the same state at 1, and puts the
weights and state back as the step left them (bit for bit: the values read on entry). With
``A`` the update at 0 and ``A + B`` the update at 1, an optimizer whose update is affine in its LR
(``A`` carries momentum and the like, ``B`` is proportional to the LR) made ``dW = A + lr * B``,
and least squares over every weight gives ``lr``. The residual says whether that held: when the
update is not affine in the LR (Ftrl is not), or the step was not the one replayed, it is far
above the rounding of the weights, and the step is not measurable.

The replay is traced once per distinct update (set of variables), with the optimizer reading a
variable of the monitor's as its learning rate while it is traced; every user-visible value is
the same after the replay as before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import optimizers

F64 = tf.float64


@dataclass
class Solved:
    lr: float          # the least-squares learning rate; NaN when the step moved nothing
    residual: float    # |dW - A - lr*B| over every weight
    size: float        # |lr*B|: what the learning rate moved
    rounding: float    # what float rounding of the weights alone could explain
    finite: bool       # the weights after the step are all finite
    step: int          # the optimizer's iteration count before the step
    change: float      # |dW|: zero when the step applied nothing
    replayed: bool     # the replays gave finite weights (an update that divides by its LR does not)

    @property
    def affine(self) -> bool:
        """The step is ``A + lr*B`` to within rounding: the LR is measured, not guessed."""
        return bool(self.replayed and np.isfinite(self.lr) and self.residual <= 1e-3 * self.size + 8.0 * self.rounding)

    @property
    def moved(self) -> bool:
        """The step changed the weights (an accumulation step, or zero gradients, change nothing)."""
        return self.change > 0.0


def _read(v):
    return tf.identity(tf.convert_to_tensor(v))


def _flat(xs):
    return tf.concat([tf.reshape(tf.cast(x, F64), [-1]) for x in xs], 0)


def _eps(v) -> float:
    dtype = tf.as_dtype(v.dtype)
    return float(np.finfo(dtype.as_numpy_dtype).eps) if dtype.is_floating else 0.0


class Replay:
    """Traces and runs the replay of each distinct update the hook recorded."""

    def __init__(self, snapshots):
        self.snaps = snapshots
        with tf.init_scope():
            self.rate = tf.Variable(1.0, dtype=tf.float32, trainable=False, name="lr_watch_rate")

    def solve(self, trace) -> Solved:
        if trace.replay is None:
            trace.replay = self._traced(trace)
        lr, residual, size, rounding, finite, step, change, replayed = trace.replay().numpy().tolist()
        return Solved(lr, residual, size, rounding, bool(finite), optimizers.step_number(self.snaps.opt, int(step)),
                      change, bool(replayed))

    def _apply(self, grads, variables):
        snaps = self.snaps
        if optimizers.method_name(snaps.opt) == "apply":
            return snaps.original(grads, variables)
        return snaps.original([(g, v) for g, v in zip(grads, variables) if g is not None])

    def _traced(self, trace):
        snaps, opt = self.snaps, self.snaps.opt
        variables, state = trace.variables, trace.state
        eps = [_eps(v) for v in variables]
        iterations = optimizers.iterations_variable(opt)
        counted = any(s is iterations for s in state)

        def replay():
            after = [_read(v) for v in variables]
            state_after = [_read(s) for s in state]
            before = [_read(snaps.copy(v)) for v in variables]
            state_before = [_read(snaps.copy(s)) for s in state]
            grads = [_read(snaps.grad(v)) if has else None for v, has in zip(variables, trace.has_grad)]
            moved = []
            for rate in (0.0, 1.0):
                for v, x in zip(variables, before):
                    v.assign(x)
                for s, x in zip(state, state_before):
                    s.assign(x)
                self.rate.assign(rate)
                self._apply(grads, variables)
                moved.append([_read(v) for v in variables])
            for v, x in zip(variables, after):
                v.assign(x)
            for s, x in zip(state, state_after):
                s.assign(x)

            a, w0, w1 = _flat(moved[0]), _flat(before), _flat(after)
            b = _flat(moved[1]) - a
            d = w1 - a
            bb = tf.reduce_sum(b * b)
            lr = tf.where(bb > 0, tf.reduce_sum(d * b) / tf.where(bb > 0, bb, 1.0), tf.constant(np.nan, F64))
            fit = tf.where(bb > 0, lr, 0.0) * b
            residual = tf.norm(d - fit)
            size = tf.norm(fit)
            scale = _flat([tf.abs(tf.cast(x, F64)) * e for x, e in zip(after, eps)])
            scale0 = _flat([tf.abs(tf.cast(x, F64)) * e for x, e in zip(before, eps)])
            rounding = tf.norm(scale) + tf.norm(scale0)
            finite = tf.cast(tf.reduce_all(tf.math.is_finite(w1)), F64)
            if counted:
                step = tf.cast(state_before[[i for i, s in enumerate(state) if s is iterations][0]], F64)
            else:
                step = tf.cast(_read(iterations), F64) - 1.0
            change = tf.norm(w1 - w0)
            replayed = tf.cast(tf.reduce_all(tf.math.is_finite(tf.concat([a, b], 0))), F64)
            return tf.stack([lr, residual, size, rounding, finite, step, change, replayed])

        fn = tf.function(replay, autograph=False)
        with optimizers.learning_rate_swapped(opt, self.rate):
            fn.get_concrete_function()
        return fn

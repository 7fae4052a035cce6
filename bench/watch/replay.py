"""The effective LR, solved by replaying the step the optimizer just made, inside that step.

On an armed step the hook (``bench.watch.snapshot``) copies the weights and the optimizer's
state before the update. Right after the update, in the same traced step, it restores them from
the copies, applies the same gradients through the optimizer's own method at a learning rate of
0, then again from the same state at 1, and puts the weights and state back as the update left
them (bit for bit: the values read before the replay). With ``A`` the change at 0 and ``A + B``
the change at 1, an optimizer whose update is affine in its LR (``A`` carries momentum and the
like, ``B`` is proportional to the LR) made ``dW = A + lr * B``, and least squares over every
weight gives ``lr``. The residual says whether that held: when the update is not affine in the LR
(Ftrl divides by it), it is far above the rounding of the weights, and the step is not measurable.

Once one step has been solved that way, a measured step first replays its update at the LR the
optimizer reports, before the update itself (``bench.watch.snapshot``); when the update then
gives the same bits, that LR is the one applied (``exact_ops``) and nothing is solved.

The replay runs in the step's own graph and compile mode (eager, ``tf.function`` or XLA), with
the same ops as the update, so rounding is the step's own; the optimizer reads a variable of the
monitor's as its learning rate only while the replay's ops are being traced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import optimizers

F64 = tf.float64
FIELDS = ("count", "lr", "residual", "size", "rounding", "finite", "step", "change", "replayed", "lr_seen", "exact")


@dataclass
class Solved:
    count: int         # armed steps replayed so far: tells a fresh result from the last one
    lr: float          # the least-squares learning rate; NaN when the step moved nothing
    residual: float    # |dW - A - lr*B| over every weight
    size: float        # |lr*B|: what the learning rate moved
    rounding: float    # what float rounding of the weights alone could explain
    finite: bool       # the weights after the step are all finite
    step: int          # the optimizer's iteration count before the step
    change: float      # |dW|: zero when the step applied nothing
    replayed: bool     # the replays gave finite weights (an update that divides by its LR does not)
    lr_seen: float     # what optimizer.learning_rate reported, evaluated inside the step before the update
    exact: bool        # the update at lr_seen, replayed, gave the step's own bits (no solve was needed)

    @property
    def affine(self) -> bool:
        """The step is ``A + lr*B`` to within rounding: the LR is measured, not guessed."""
        return bool(self.replayed and np.isfinite(self.lr) and self.residual <= 1e-3 * self.size + 8.0 * self.rounding)

    @property
    def moved(self) -> bool:
        """The step changed the weights (an accumulation step, or zero gradients, change nothing)."""
        return self.change > 0.0


def solved(values, opt) -> Solved:
    d = dict(zip(FIELDS, values.tolist()))
    return Solved(int(d["count"]), d["lr"], d["residual"], d["size"], d["rounding"], bool(d["finite"]),
                  optimizers.step_number(opt, int(d["step"])), d["change"], bool(d["replayed"]), d["lr_seen"],
                  bool(d["exact"]))


def _read(v):
    return tf.identity(tf.convert_to_tensor(v))


def _flat(xs):
    return tf.concat([tf.reshape(tf.cast(x, F64), [-1]) for x in xs], 0)


def _eps(v) -> float:
    dtype = tf.as_dtype(v.dtype)
    return float(np.finfo(dtype.as_numpy_dtype).eps) if dtype.is_floating else 0.0


def replay_ops(opt, apply, grads, variables, state, before, state_before, rate, count, lr_before):
    """The ops of one replay and its solve; returns the FIELDS as one float64 vector.

    ``apply(grads, variables)`` is the optimizer's own, unhooked method; ``before`` and
    ``state_before`` the copies taken before the update; ``rate`` the monitor's LR variable.
    """
    after = [_read(v) for v in variables]
    state_after = [_read(s) for s in state]
    w0 = [_read(c) for c in before]
    s0 = [_read(c) for c in state_before]
    moved = []
    with optimizers.learning_rate_swapped(opt, rate):
        for r in (0.0, 1.0):
            for v, x in zip(variables, w0):
                v.assign(x)
            for s, x in zip(state, s0):
                s.assign(x)
            rate.assign(r)
            apply(grads, variables)
            moved.append([_read(v) for v in variables])
    for v, x in zip(variables, after):
        v.assign(x)
    for s, x in zip(state, state_after):
        s.assign(x)

    a, w1, start = _flat(moved[0]), _flat(after), _flat(w0)
    b = _flat(moved[1]) - a
    d = w1 - a
    bb = tf.reduce_sum(b * b)
    lr = tf.where(bb > 0, tf.reduce_sum(d * b) / tf.where(bb > 0, bb, 1.0), tf.constant(np.nan, F64))
    fit = tf.where(bb > 0, lr, 0.0) * b
    eps = [_eps(v) for v in variables]
    rounding = (tf.norm(_flat([tf.abs(tf.cast(x, F64)) * e for x, e in zip(after, eps)]))
                + tf.norm(_flat([tf.abs(tf.cast(x, F64)) * e for x, e in zip(w0, eps)])))
    values = dict(count=tf.cast(count, F64), lr=lr, residual=tf.norm(d - fit), size=tf.norm(fit), rounding=rounding,
                  finite=tf.cast(tf.reduce_all(tf.math.is_finite(w1)), F64), step=_step(opt, state, s0),
                  change=tf.norm(w1 - start),
                  replayed=tf.cast(tf.reduce_all(tf.math.is_finite(tf.concat([a, b], 0))), F64),
                  lr_seen=tf.cast(lr_before, F64), exact=tf.constant(0.0, F64))
    return tf.stack([values[k] for k in FIELDS])


def _step(opt, state, s0):
    """The optimizer's iteration count before the step, as float64."""
    iterations = optimizers.iterations_variable(opt)
    at = [i for i, s in enumerate(state) if s is iterations]
    return tf.cast(s0[at[0]], F64) if at else tf.cast(_read(iterations), F64) - 1.0


def exact_ops(opt, variables, state, before, state_before, count, lr_before):
    """The FIELDS of a step that the replay at the reported LR reproduced bit for bit: that LR is
    the one applied, with no residual."""
    w1, start = _flat([_read(v) for v in variables]), _flat([_read(c) for c in before])
    change = tf.norm(w1 - start)
    values = dict(count=tf.cast(count, F64), lr=tf.cast(lr_before, F64), residual=tf.constant(0.0, F64), size=change,
                  rounding=tf.constant(0.0, F64), finite=tf.cast(tf.reduce_all(tf.math.is_finite(w1)), F64),
                  step=_step(opt, state, [_read(c) for c in state_before]), change=change,
                  replayed=tf.constant(1.0, F64), lr_seen=tf.cast(lr_before, F64), exact=tf.constant(1.0, F64))
    return tf.stack([values[k] for k in FIELDS])

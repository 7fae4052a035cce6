"""The hook inside the user's train step: on an armed step, copy, update, replay, solve.

A pass-through function is set on the optimizer *instance* (``apply`` in Keras 3,
``apply_gradients`` in tf_keras) while the watch is on, and removed when it ends. When the step is
traced it adds, behind a flag: before the update, a copy of the weights and of every state variable
of the optimizer; after it, the replay and its solve (``bench.watch.replay``), written to one small
result vector that Python reads after the step. The flag is a variable the monitor sets between
steps: a step traced inside a watch that has ended never copies again, and an unarmed step pays for
two conditions on a false flag (``_branch``). The flag is a budget of steps to measure that each
replay lowers by one, so a single measured step costs Python one assignment, and measuring every
step none.

Once a step has been solved in full (two replays, which show the update affine in its LR), a
measured step first replays the update at the LR the optimizer reports, before the real update and
from the same state: when the real update then gives the same bits, that is the LR it applied, and
the step costs one replay instead of two and no solve. Any difference falls back to the full
replay and solve in the same step.

Copies are kept in variables of the source's own shape and dtype, so the replay starts from
bit-identical values. They are made eagerly between steps whenever the variables already exist;
a model or optimizer built inside the first traced call gets them inside that trace (the only
call where ``tf.function`` allows new variables, and one that creates variables anyway).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import attr_value_pb2

from . import optimizers
from .replay import FIELDS, exact_ops, replay_ops


class Snapshots:
    """The hook, the copies it fills and the result it writes."""

    def __init__(self, opt):
        self.opt = opt
        with tf.init_scope():
            self.armed = tf.Variable(0, dtype=tf.int64, trainable=False, name="lr_watch_armed")
            self.count = tf.Variable(0, dtype=tf.int64, trainable=False, name="lr_watch_count")
            self.rate = tf.Variable(1.0, dtype=tf.float32, trainable=False, name="lr_watch_rate")
            self.lr_seen = tf.Variable(np.nan, dtype=tf.float32, trainable=False, name="lr_watch_lr_seen")
            self.result = tf.Variable(tf.zeros([len(FIELDS)], tf.float64), trainable=False, name="lr_watch_result")
            # set by the watcher once a full replay has shown the update affine in its LR
            self.exact_ok = tf.Variable(0, dtype=tf.int64, trainable=False, name="lr_watch_exact_ok")
        self.copies: dict = {}   # id(variable) -> (variable, its copy)
        self.guesses: dict = {}  # id(variable) -> (variable, its weights after the replay at the reported LR)
        self.traced = 0          # traces (or eager calls) the hook took part in
        self.unprepared = 0      # traces that could not get their copies (named by the monitor)
        self.lr_sources: set = set()  # ids of the LR variables and schedules the traced steps evaluate
        self._hooked = None

    # -- the copies -----------------------------------------------------------------------------
    def _copy_of(self, v, table):
        key = id(v)
        if key not in table:
            with tf.init_scope():
                copy = tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False, name="lr_watch_copy")
            table[key] = (v, copy)
        return table[key][1]

    def prepare(self, variables) -> None:
        """Make the copies for ``variables`` and the optimizer's state now, eagerly."""
        for v in variables:
            self._copy_of(v, self.copies)
            self._copy_of(v, self.guesses)
        if optimizers.is_built(self.opt):
            for s in optimizers.state_variables(self.opt):
                self._copy_of(s, self.copies)

    def copy(self, v):
        return self.copies[id(v)][1]

    # -- the hook ---------------------------------------------------------------------------------
    def install(self) -> None:
        if self._hooked:
            return
        opt, name = self.opt, optimizers.method_name(self.opt)
        original = getattr(opt, name)
        self.original = original

        if name == "apply":
            def hooked(grads, trainable_variables=None):
                grads = list(grads)
                tvs = list(trainable_variables) if trainable_variables is not None else None
                variables = tvs if tvs is not None else list(getattr(opt, "_trainable_variables", []))
                return self._around(grads, variables, lambda: original(grads, tvs),
                                    lambda g, vs: original(g, vs))
        else:
            def hooked(grads_and_vars, *args, **kwargs):
                pairs = list(grads_and_vars)
                return self._around([g for g, _ in pairs], [v for _, v in pairs],
                                    lambda: original(pairs, *args, **kwargs),
                                    lambda g, vs: original([(gi, v) for gi, v in zip(g, vs) if gi is not None]))

        object.__setattr__(opt, name, hooked)  # on the instance only, past Keras' tracking
        self._hooked = name

    def uninstall(self) -> None:
        if self._hooked:
            self.opt.__dict__.pop(self._hooked, None)
            self._hooked = None
        self.armed.assign(0)

    def _around(self, grads, variables, update, apply):
        """At trace time (or at each eager call): the update, with the armed copy and replay around it."""
        if not grads or len(grads) != len(variables):
            return update()
        try:
            optimizers.build_as_step_would(self.opt, grads, variables)
            state = optimizers.state_variables(self.opt)
            before = [self._copy_of(v, self.copies) for v in variables]
            state_before = [self._copy_of(s, self.copies) for s in state]
            guessed = [self._copy_of(v, self.guesses) for v in variables]
        except ValueError:
            # A later trace of a tf.function may not create variables: this trace goes uncopied.
            self.unprepared += 1
            return update()
        self.traced += 1
        source = optimizers.lr_source(self.opt)
        try:
            lr_now = optimizers.lr_tensor(self.opt)  # built here so that a failing schedule fails now
        except Exception:  # noqa: BLE001 - a user's schedule may not take the step as we pass it
            lr_now = None
        if lr_now is not None:
            self.lr_sources.add(id(source))

        def copy():
            lr = optimizers.lr_tensor(self.opt) if lr_now is not None else None
            if lr is not None:  # what optimizer.learning_rate reports, evaluated where the step does
                self.lr_seen.assign(lr)
            for c, v in zip(before + state_before, list(variables) + state):
                c.assign(v)
            if lr is not None:
                _branch(tf.logical_and(self.exact_ok.read_value() > 0, tf.math.is_finite(lr)), lambda: guess(lr))
            return tf.constant(True)

        def guess(lr):
            """The update at the reported LR from the state just copied, kept; the state put back."""
            with optimizers.learning_rate_swapped(self.opt, self.rate):
                self.rate.assign(lr)
                apply(grads, variables)
            for g, v in zip(guessed, variables):
                g.assign(v)
            for v, c in zip(list(variables) + state, before + state_before):
                v.assign(c)
            return tf.constant(True)

        def replay():
            self.armed.assign_sub(1)
            count = self.count.assign_add(1)
            lr_before = self.lr_seen.read_value() if lr_now is not None else tf.constant(np.nan, tf.float32)

            def full():
                return replay_ops(self.opt, apply, grads, variables, state, before, state_before, self.rate, count,
                                  lr_before)

            if lr_now is None:
                self.result.assign(full())
                return tf.constant(True)
            same = tf.reduce_all(tf.stack([tf.reduce_all(tf.equal(g.read_value(), tf.convert_to_tensor(v)))
                                           for g, v in zip(guessed, variables)]))
            exact = tf.logical_and(tf.logical_and(self.exact_ok.read_value() > 0, tf.math.is_finite(lr_before)), same)
            self.result.assign(_branch(exact, lambda: exact_ops(self.opt, variables, state, before, state_before,
                                                                count, lr_before), full))
            return tf.constant(True)

        armed = self.armed.read_value() > 0
        _branch(armed, copy)
        result = update()
        _branch(armed, replay)
        return result

    # -- between steps ---------------------------------------------------------------------------
    def read(self):
        return self.result.numpy()


def _branch(flag, fn, otherwise=None):
    """``fn()`` where ``flag`` holds, else ``otherwise()`` (a constant False by default), as one
    ``If`` op that runs only the branch taken.

    In a ``tf.function`` TensorFlow lowers a ``tf.cond`` to switch and merge ops, and every op of
    the branch not taken is then still visited, with dead inputs; the replay's branches hold the
    optimizer's update up to three times. Kept as a function call instead, the branch not taken
    costs one call of a function returning a constant.
    (Under XLA the condition is compiled as a conditional either way; eagerly it is Python's ``if``.)
    """
    out = tf.cond(flag, fn, otherwise or (lambda: tf.constant(False)))
    if tf.executing_eagerly():
        return out
    op = out.op
    while op.type == "Identity" and op.inputs:
        op = op.inputs[0].op
    if op.type in ("If", "StatelessIf"):
        op._set_attr("_lower_using_switch_merge", attr_value_pb2.AttrValue(b=False))  # noqa: SLF001
    return out

"""The hook inside the user's train step: on an armed step, copy what the update starts from.

A pass-through function is set on the optimizer *instance* (``apply`` in Keras 3,
``apply_gradients`` in tf_keras) while the watch is on, and removed when it ends. When a step is
traced it records which variables the step updates; when an armed step runs it copies, before the
update, the weights, the gradients handed over and every state variable of the optimizer into
variables of the monitor, and counts the copy. The flag that arms it is a variable the monitor
sets between steps: a step traced inside a watch that has ended never copies again.

Copies are kept in variables of the source's own shape and dtype, so the replay starts from
bit-identical values. They are made eagerly between steps whenever the variables already exist;
a model or optimizer built inside the first traced call gets them inside that trace (the only
call where ``tf.function`` allows new variables, and one that creates variables anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tensorflow as tf

from . import optimizers


@dataclass
class Trace:
    """What one trace of the user's step updates: the replay for it is traced from this."""

    index: int
    variables: list
    has_grad: list
    state: list
    replay: object = field(default=None, repr=False)


class Snapshots:
    """The hook, the copies it fills and the traces it was part of."""

    def __init__(self, opt):
        self.opt = opt
        with tf.init_scope():
            self.armed = tf.Variable(False, trainable=False, name="lr_watch_armed")
            # [which trace copied, copies so far]
            self.head = tf.Variable([-1, 0], dtype=tf.int64, trainable=False, name="lr_watch_head")
        self.copies: dict = {}   # id(variable) -> (variable, its copy)
        self.grads: dict = {}    # id(variable) -> copy of its gradient
        self.traces: list[Trace] = []
        self.unprepared = 0      # traces that could not get their copies (named by the monitor)
        self._by_key: dict = {}
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
            self._copy_of(v, self.grads)
        if optimizers.is_built(self.opt):
            for s in optimizers.state_variables(self.opt):
                self._copy_of(s, self.copies)

    def copy(self, v):
        return self.copies[id(v)][1]

    def grad(self, v):
        return self.grads[id(v)][1]

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
                self._before(grads, variables)
                return original(grads, tvs)
        else:
            def hooked(grads_and_vars, *args, **kwargs):
                pairs = list(grads_and_vars)
                self._before([g for g, _ in pairs], [v for _, v in pairs])
                return original(pairs, *args, **kwargs)

        object.__setattr__(opt, name, hooked)  # on the instance only, past Keras' tracking
        self._hooked = name

    def uninstall(self) -> None:
        if self._hooked:
            self.opt.__dict__.pop(self._hooked, None)
            self._hooked = None
        self.armed.assign(False)

    def _before(self, grads, variables) -> None:
        """At trace time (or each eager call): add the copy to the step, behind the armed flag."""
        if not grads or len(grads) != len(variables):
            return
        try:
            optimizers.build_as_step_would(self.opt, grads, variables)
            has_grad = [g is not None for g in grads]
            state = optimizers.state_variables(self.opt)
            for v in variables:
                self._copy_of(v, self.copies)
                self._copy_of(v, self.grads)
            for s in state:
                self._copy_of(s, self.copies)
        except ValueError:
            # A later trace of a tf.function may not create variables: this trace goes uncopied.
            self.unprepared += 1
            return
        key = (tuple(id(v) for v in variables), tuple(has_grad), tuple(id(s) for s in state))
        trace = self._by_key.get(key)
        if trace is None:  # an eager step calls this every time: one Trace per distinct update
            trace = self._by_key[key] = Trace(len(self.traces), list(variables), has_grad, state)
            self.traces.append(trace)

        def copy():
            for v in variables:
                self.copy(v).assign(v)
            for s in state:
                self.copy(s).assign(s)
            for g, v in zip(grads, variables):
                if g is not None:
                    self.grad(v).assign(tf.cast(tf.convert_to_tensor(g), v.dtype))
            self.head.assign(tf.stack([tf.constant(trace.index, tf.int64), self.head[1] + 1]))
            return tf.constant(True)

        tf.cond(self.armed, copy, lambda: tf.constant(False))

    # -- between steps ---------------------------------------------------------------------------
    def read_head(self) -> tuple[int, int]:
        which, count = self.head.numpy().tolist()
        return int(which), int(count)

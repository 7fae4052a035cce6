"""Catch it in your own training: the effective LR of a user's model, and a retrace guard.

The bench's probe, pointed at arbitrary user code. The learning rate is solved from the weights
before and after a step, never read from the optimizer; the update direction that least squares
needs comes from the step itself.

A hook on the optimizer instance (``apply`` in Keras 3, ``apply_gradients`` in tf_keras) runs
inside the user's train step, before the update. On steps whose iteration count is a multiple of
``every`` it copies into variables of ours the weights, the gradients the step hands over, the
momentum slots and the LR variable; other steps pay for one ``tf.cond``. After a measured step
one compiled call reads it all back with the weights and slots after the update.

- SGD: ``dW = -lr*g``. With momentum ``mu`` Keras updates ``m = mu*m - lr*g; w += m`` (Nesterov:
  ``w += mu*m - lr*g`` with the new ``m``), so from the slot before the step,
  ``dW - mu*m_old = -lr*g`` (Nesterov: ``dW - mu**2*m_old = -lr*(1+mu)*g``).
- Adam / AdamW: the moment slots after the step give the direction (see ``bench.probe``).
- Decoupled weight decay (AdamW, or ``weight_decay=`` on any Keras optimizer) runs first as
  ``w -= lr*wd*w``; it is linear in the same ``lr``, so ``wd*w_before`` joins the direction of
  every variable the optimizer decays.

Other optimizers, and settings that bend the update (clipping, gradient accumulation, loss
scaling, AMSGrad), are refused: the LR could not be solved honestly from their weights.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import warnings
from typing import Callable

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from bench import probe
from bench.flavours import FLAVOURS

ON_MISMATCH = ("warn", "raise")
SUPPORTED = "SGD (with or without momentum, Nesterov too), Adam, AdamW"


class LRMismatchError(AssertionError):
    """The effective learning rate differs from the reported or the expected one."""


class LRMismatchWarning(UserWarning):
    """The effective learning rate differs from the reported or the expected one."""


class RetraceError(RuntimeError):
    """A guarded ``tf.function`` was traced more often than allowed."""


# -- which optimizer, which update rule --------------------------------------------------------

def _family(opt) -> str:
    module = type(opt).__module__
    if module.startswith("tf_keras"):
        return "tf_keras_legacy" if ".optimizers.legacy" in module else "tf_keras"
    if module.startswith("keras"):
        return "keras3"
    return ""


def _rule(opt) -> str:
    """'sgd' or 'adam' (AdamW is an Adam plus decoupled decay), else a ValueError naming both."""
    names = {c.__name__ for c in type(opt).__mro__ if c.__module__.split(".")[0] in ("keras", "tf_keras")}
    rule = "adam" if names & {"Adam", "AdamW"} else "sgd" if "SGD" in names else ""
    if not rule or not _family(opt):
        raise ValueError(f"EffectiveLRMonitor cannot measure optimizer={type(opt).__module__}.{type(opt).__name__}; "
                         f"supported: {SUPPORTED} from Keras 3 or tf_keras")
    bent = [k for k in ("clipnorm", "clipvalue", "global_clipnorm", "gradient_accumulation_steps",
                        "loss_scale_factor", "ema_overwrite_frequency") if getattr(opt, k, None)]
    if getattr(opt, "amsgrad", False):
        bent.append("amsgrad")
    if bent:
        raise ValueError(f"EffectiveLRMonitor cannot solve the LR of {type(opt).__name__} with {', '.join(bent)} set: "
                         f"they change the update; supported: plain {SUPPORTED}")
    return rule


def _num(x) -> float:
    x = x.numpy() if hasattr(x, "numpy") else x
    return float(np.asarray(x))


def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else "n/a"


def _is_schedule(x) -> bool:
    return any(c.__name__ == "LearningRateSchedule" for c in type(x).__mro__)


def reported_lr(opt) -> float:
    """The LR the optimizer says it will use for its next step; NaN when it is no number.

    A schedule is evaluated at the iteration count, as the step will. tf_keras's public
    ``learning_rate`` returns, under a schedule, the value it computed at the previous step, so
    its configured schedule (``_learning_rate``) is evaluated instead.
    """
    try:
        lr = opt.learning_rate
        configured = getattr(opt, "_learning_rate", lr)
        if _is_schedule(configured):
            lr = configured(opt.iterations)
        elif _is_schedule(lr):
            lr = lr(opt.iterations)
        elif callable(lr) and not hasattr(lr, "numpy"):
            lr = lr()
        return _num(lr)
    except (TypeError, ValueError):
        return math.nan


# What tf.summary.scalar would attach, written with the core op: TensorBoard reads these as
# scalars, and the tensorboard package (which tf.summary.scalar needs) is not required to write them.
_SCALAR = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
                                      data_class=summary_pb2.DATA_CLASS_SCALAR).SerializeToString()


# -- the measurement, shared by the callback and the loop watcher -----------------------------

def _check_args(expected, rtol, on_mismatch, every) -> None:
    if not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        raise ValueError(f"every={every!r}: expected a positive integer number of steps")
    if isinstance(rtol, bool) or not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol={rtol!r}: expected a positive finite number")
    if on_mismatch is not None and on_mismatch not in ON_MISMATCH:
        raise ValueError(f"on_mismatch={on_mismatch!r}: expected one of {', '.join(ON_MISMATCH)}")
    if expected is not None and not callable(expected):
        raise ValueError(f"expected={expected!r}: expected a callable step -> learning rate")


class _Probe:
    """The shared machinery: a hook inside the step that snapshots, and one read after it."""

    def __init__(self, model, optimizer, expected, rtol, on_mismatch, every, log_dir):
        _check_args(expected, rtol, on_mismatch, every)
        self.model, self.opt = model, optimizer
        self.rule, self.family = _rule(optimizer), _family(optimizer)
        self.expected, self.rtol, self.on_mismatch, self.every = expected, rtol, on_mismatch, every
        self.log_dir, self.writer = log_dir, None
        self.records: list[dict] = []
        self._hooked = None
        self._buf = None
        self._iter = 0           # the optimizer's iteration count before the next step, as we expect it
        self._measured = False   # whether the current step is one the hook snapshots
        self._reported = math.nan
        self._seen = 0           # snapshots taken so far

    def install(self) -> None:
        opt = self.opt
        if not getattr(opt, "built", getattr(opt, "_built", False)) or (
                self.family == "tf_keras_legacy" and not opt.weights):
            # Slots exist before the first step, for the hook to read, and building inside a
            # traced step would cost that step an extra trace.
            FLAVOURS[self.family].build(opt, self.model.trainable_variables)
        if self.log_dir is not None and self.writer is None:
            self.writer = tf.summary.create_file_writer(str(self.log_dir))
        self._iter = int(_num(opt.iterations))
        if self._buf is not None:  # installed before, on this model and optimizer: hook again
            self._hook()
            return
        variables = self._variables = list(self.model.trainable_variables)
        # A float LR lives in a variable, which the hook reads with the rest; anything else (a
        # schedule, or a variable swapped in later) is read eagerly by reported_lr.
        lr = getattr(opt, "_learning_rate", None)
        self._lr_variable = lr if hasattr(lr, "assign") and self.family != "tf_keras_legacy" else None
        self._shapes = [tuple(v.shape) for v in variables]
        size = sum(int(np.prod(sh)) for sh in self._shapes)
        momentum = self.rule == "sgd" and self._momentum() != 0.0
        self._m_old = self._slots("momentum") if momentum else []
        self._after_slots = self._slots("m") + self._slots("v") if self.rule == "adam" else []
        # Before the update: step, LR, weights, momentum slots (SGD), gradients (SGD). After it:
        # iteration count, snapshots taken, that, weights, Adam's slots. All float64, flat, so
        # that one read of one variable brings a measured step back to Python.
        n_before = 2 + size * (1 + momentum + (self.rule == "sgd"))
        n_after = 2 + n_before + size * (1 + 2 * (self.rule == "adam"))
        with tf.init_scope():
            self._count = tf.Variable(0, dtype=tf.int64, trainable=False, name="lr_watch_count")
            self._buf_before = tf.Variable(tf.zeros([n_before], tf.float64), trainable=False, name="lr_watch_before")
            self._buf = tf.Variable(tf.zeros([n_after], tf.float64), trainable=False, name="lr_watch")
        self._hook()

    def _slots(self, name) -> list:
        opt, variables = self.opt, self._variables
        if self.family == "tf_keras_legacy":
            return [opt.get_slot(v, name) for v in variables]
        if self.family == "keras3":
            idx = [opt._get_variable_index(v) for v in variables]
        else:
            idx = [opt._index_dict[opt._var_key(v)] for v in variables]
        return [getattr(opt, {"momentum": "momentums", "m": "_momentums", "v": "_velocities"}[name])[i] for i in idx]

    # The hook: inside the step, before the update, on steps whose iteration count is a multiple
    # of `every`, copy the weights, the momentum slots, the gradients and the LR variable.
    def _hook(self) -> None:
        if self._hooked:
            return
        opt, name = self.opt, "apply" if self.family == "keras3" else "apply_gradients"
        original = getattr(opt, name)

        if name == "apply":
            def hooked(grads, trainable_variables=None):
                grads = list(grads)
                if trainable_variables is not None:
                    trainable_variables = list(trainable_variables)
                variables = trainable_variables if trainable_variables is not None else opt._trainable_variables
                return self._around(grads, variables, lambda: original(grads, trainable_variables))
        else:
            def hooked(grads_and_vars, *args, **kwargs):
                pairs = list(grads_and_vars)
                return self._around([g for g, _ in pairs], [v for _, v in pairs],
                                    lambda: original(pairs, *args, **kwargs))

        setattr(opt, name, hooked)
        self._hooked = name

    def _around(self, grads, variables, update):
        by_id = {id(v): g for g, v in zip(grads, variables) if g is not None}
        f64 = tf.float64

        def flat(xs):
            return [tf.reshape(tf.cast(tf.convert_to_tensor(x), f64), [-1]) for x in xs]

        iterations = tf.cast(tf.convert_to_tensor(self.opt.iterations), tf.int64)
        armed = tf.equal(iterations % self.every, 0)

        def before():
            lr = self._lr_variable
            lr = tf.cast(tf.convert_to_tensor(lr), f64) if lr is not None else tf.constant(math.nan, f64)
            parts = [tf.reshape(tf.cast(iterations, f64), [1]), tf.reshape(lr, [1])]
            parts += flat(self._variables) + flat(self._m_old)
            if self.rule == "sgd":
                parts += [tf.reshape(tf.cast(tf.convert_to_tensor(by_id[id(v)]), f64), [-1]) if id(v) in by_id
                          else tf.zeros([int(np.prod(sh))], f64) for v, sh in zip(self._variables, self._shapes)]
            self._buf_before.assign(tf.concat(parts, 0))
            return tf.constant(True)

        def after():
            self._count.assign_add(1)
            counters = tf.cast(tf.stack([tf.convert_to_tensor(self.opt.iterations), self._count.read_value()]), f64)
            parts = [counters, self._buf_before.read_value()] + flat(self._variables) + flat(self._after_slots)
            self._buf.assign(tf.concat(parts, 0))
            return tf.constant(True)

        tf.cond(armed, before, lambda: tf.constant(False))
        result = update()
        tf.cond(armed, after, lambda: tf.constant(False))
        return result

    def uninstall(self) -> None:
        if self._hooked:
            with contextlib.suppress(AttributeError):
                delattr(self.opt, self._hooked)
            self._hooked = None
        if self.writer is not None:
            self.writer.flush()

    def _split(self, flat) -> list[np.ndarray]:
        """The buffer as arrays: before, [m_old], [grads], after, [m, v], each one per variable."""
        groups = 2 + bool(self._m_old) + (self.rule == "sgd") + 2 * (self.rule == "adam")
        out, at = [], 0
        for _ in range(groups):
            for shape in self._shapes:
                size = int(np.prod(shape))
                out.append(flat[at:at + size].reshape(shape))
                at += size
        return out

    def _lr_is_variable(self) -> bool:
        return self._lr_variable is not None and getattr(self.opt, "_learning_rate", None) is self._lr_variable

    # Around one step: Python only counts, except on measured steps.
    def begin(self) -> bool:
        """True when the hook will snapshot this step."""
        self._measured = self._iter % self.every == 0
        if self._measured and not self._lr_is_variable():
            self._reported = reported_lr(self.opt)
        return self._measured

    def end(self) -> dict | None:
        if not self._measured:
            self._iter += 1
            return None
        self._measured = False
        buf = self._buf.numpy()
        iterations, count, step, lr_seen = (float(x) for x in buf[:4])
        values = self._split(buf[4:])
        fresh, self._seen = int(count) > self._seen, int(count)
        self._iter = int(iterations)
        if not fresh and self._seen == 0:
            raise RuntimeError("the train step did not pass its gradients through the watched optimizer: it was "
                               "traced before the watch began, or it updates the weights without the optimizer; "
                               "start the watch before the step is first called")
        if not fresh or int(step) != self._iter - 1:
            return None  # the step did more or fewer than one update: back in step with the count now
        reported = float(lr_seen) if self._lr_is_variable() else self._reported
        eff = self._effective(int(iterations), values)
        expected = float(self.expected(int(step))) if self.expected is not None else math.nan
        rec = dict(step=int(step), lr_effective=eff, lr_reported=reported, lr_expected=expected)
        self.records.append(rec)
        if self.writer is not None:
            with self.writer.as_default():
                for key in ("lr_effective", "lr_reported", "lr_expected"):
                    if math.isfinite(rec[key]):
                        tf.summary.write(key, tf.constant(rec[key], tf.float32), step=rec["step"], metadata=_SCALAR)
        self._check(rec)
        return rec

    def _check(self, rec) -> None:
        eff = rec["lr_effective"]
        if self.on_mismatch is None or not math.isfinite(eff):  # no update to solve from: nothing to compare
            return
        off = [what for what, ref in (("reported", rec["lr_reported"]), ("expected", rec["lr_expected"]))
               if math.isfinite(ref) and abs(eff - ref) > self.rtol * abs(ref)]
        if not off:
            return
        msg = (f"step {rec['step']}: the effective learning rate {eff:.6g} (solved from the weights) does not match "
               f"the {' or the '.join(off)} one: optimizer.learning_rate reports {_fmt(rec['lr_reported'])}, "
               f"expected {_fmt(rec['lr_expected'])} (rtol={self.rtol:g})")
        if self.on_mismatch == "raise":
            raise LRMismatchError(msg)
        warnings.warn(msg, LRMismatchWarning, stacklevel=3)

    # The update rule, solved for lr.
    def _momentum(self) -> float:
        if self.family == "tf_keras_legacy":
            return _num(self.opt._get_hyper("momentum")) if self.opt._momentum else 0.0
        return float(self.opt.momentum)

    def _effective(self, t: int, values) -> float:
        n = len(self._variables)
        before, values = values[:n], values[n:]
        m_old = None
        if self._m_old:
            m_old, values = values[:n], values[n:]
        if self.rule == "sgd":
            rest, after = values[:n], values[n:2 * n]
        else:
            after, rest = values[:n], values[n:]
        wd = getattr(self.opt, "weight_decay", None)
        decay = [float(wd) * b if self.opt._use_weight_decay(v) else np.zeros_like(b)
                 for v, b in zip(self._variables, before)] if wd else None
        if self.rule == "adam":
            m, v = rest[:n], rest[n:]
            b1, b2, eps = FLAVOURS[self.family].adam_hyper(self.opt)
            if decay is None:
                return probe.adam_lr(before, after, m, v, t, b1, b2, eps)
            c = math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
            direction = [c * mi / (np.sqrt(vi.astype(np.float64)) + eps) + d for mi, vi, d in zip(m, v, decay)]
            return probe.sgd_lr(before, after, direction)
        mu = self._momentum()
        gain, carry = (1.0 + mu, mu * mu) if getattr(self.opt, "nesterov", False) else (1.0, mu)
        direction = [gain * g.astype(np.float64) for g in rest]
        if decay is not None:
            direction = [u + d for u, d in zip(direction, decay)]
        if m_old is not None:
            after = [a - carry * m for a, m in zip(after, m_old)]
        return probe.sgd_lr(before, after, direction)


# -- model.fit -------------------------------------------------------------------------------

class EffectiveLRMonitor(tf.keras.callbacks.Callback):
    """Measures the effective LR of ``model.fit`` from the weights and checks it.

    Every ``every`` steps it solves the LR the step really applied, compares it with what
    ``optimizer.learning_rate`` reports and, if given, with ``expected(step)`` (``step`` is the
    optimizer's iteration count before the step), and warns or raises (``on_mismatch``) past
    ``rtol``. The last measured values of each epoch go into the ``History`` as ``lr_effective``,
    ``lr_reported`` and ``lr_expected``; every measured step is in ``records`` and, with
    ``log_dir``, in TensorBoard scalars of those names.

    It subclasses ``tf.keras.callbacks.Callback``: the Keras TensorFlow is set up for (tf_keras
    when ``TF_USE_LEGACY_KERAS=1``). The train function is rebuilt when training begins, so the
    optimizer hook is part of the traced step.
    """

    def __init__(self, expected: Callable[[int], float] | None = None, *, every: int = 1, rtol: float = 1e-3,
                 on_mismatch: str = "warn", log_dir=None):
        super().__init__()
        _check_args(expected, rtol, on_mismatch, every)  # now, not when fit starts
        self._args = dict(expected=expected, rtol=rtol, on_mismatch=on_mismatch, every=every, log_dir=log_dir)
        self.probe: _Probe | None = None
        self.records: list[dict] = []

    def on_train_begin(self, logs=None):
        model = self.model
        spe = getattr(model, "steps_per_execution", None) or getattr(model, "_steps_per_execution", None) or 1
        if int(_num(spe)) != 1:
            raise ValueError(f"steps_per_execution={int(_num(spe))}: EffectiveLRMonitor needs 1, so that each "
                             "callback sees a single step")
        if self.probe is None or self.probe.model is not model or self.probe.opt is not model.optimizer:
            self.probe = _Probe(model, model.optimizer, **self._args)
            self.probe.records = self.records
        self.probe.install()
        model.make_train_function(force=True)

    def on_train_batch_begin(self, batch, logs=None):
        self.probe.begin()

    def on_train_batch_end(self, batch, logs=None):
        self.probe.end()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.records:
            logs.update({k: v for k, v in self.records[-1].items() if k != "step" and math.isfinite(v)})

    def on_train_end(self, logs=None):
        if self.probe is not None:
            self.probe.uninstall()
        self.model.train_function = None  # the next fit traces without our hook


# -- custom loops ----------------------------------------------------------------------------

class LRWatch:
    """What ``watch_lr`` returns: wrap each train step in ``step()``, or the step function in ``wrap``."""

    def __init__(self, probe_: _Probe):
        self.probe = probe_

    @property
    def records(self) -> list[dict]:
        return self.probe.records

    def __enter__(self):
        self.probe.install()
        return self

    def __exit__(self, *exc):
        self.probe.uninstall()
        return False

    @contextlib.contextmanager
    def step(self):
        self.probe.begin()
        yield
        self.probe.end()

    def wrap(self, fn):
        @functools.wraps(fn)
        def watched(*args, **kwargs):
            with self.step():
                return fn(*args, **kwargs)
        return watched


def watch_lr(model, optimizer, expected: Callable[[int], float] | None = None, *, every: int = 1,
             rtol: float = 1e-3, on_mismatch: str = "warn", log_dir=None) -> LRWatch:
    """The monitor for a custom training loop; enter it before the train step is first called.

    ``with watch_lr(model, opt) as w: ... with w.step(): train_step(x, y)`` (or
    ``step = w.wrap(train_step)``). Arguments as for ``EffectiveLRMonitor``.
    """
    return LRWatch(_Probe(model, optimizer, expected, rtol, on_mismatch, every, log_dir))


def measure_step(model, optimizer, step_fn, batch) -> float:
    """Run ``step_fn(*batch)`` once and return the LR it applied, solved from the weights."""
    with watch_lr(model, optimizer) as w:
        w.probe.on_mismatch = None
        with w.step():
            step_fn(*batch) if isinstance(batch, (tuple, list)) else step_fn(batch)
    return w.records[-1]["lr_effective"]


# -- retrace guard ---------------------------------------------------------------------------

def _describe(x) -> str:
    if isinstance(x, tf.Variable) or type(x).__name__.endswith("Variable"):
        return f"Variable(shape={tuple(x.shape)}, dtype={tf.as_dtype(x.dtype).name})"
    if isinstance(x, (tf.Tensor, np.ndarray)):
        shape = x.shape.as_list() if hasattr(x.shape, "as_list") else list(x.shape)
        return f"TensorSpec(shape={tuple(shape)}, dtype={tf.as_dtype(x.dtype).name})"
    if isinstance(x, (list, tuple)):
        inner = ", ".join(_describe(i) for i in x)
        return f"[{inner}]" if isinstance(x, list) else f"({inner})"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in x.items()) + "}"
    return f"{x!r} (Python {type(x).__name__})"


def _signature(fn, args, kwargs) -> str:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        parts = [f"{k}={_describe(v)}" for k, v in bound.arguments.items()]
    except (TypeError, ValueError):
        parts = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


class max_traces:  # noqa: N801 - used as a decorator and a context, like contextlib's
    """Raise ``RetraceError`` when a ``tf.function`` is traced more than ``n`` times.

    As a decorator (on a ``tf.function`` or a plain function, which it wraps in one) it raises at
    the trace that goes over ``n``, before that trace runs, naming the function, the trace count
    and the arguments that caused it: a Python number passed where a tensor belongs retraces at
    each new value. As a context, ``with max_traces(n, fn):`` checks on exit the traces ``fn``
    made inside the block. The count is of traces of the Python function, so a first call that
    creates variables (an unbuilt optimizer, for one) costs an extra trace.
    """

    def __init__(self, n: int, fn=None):
        if not (isinstance(n, int) and not isinstance(n, bool) and n >= 1):
            raise ValueError(f"max_traces(n={n!r}): expected a positive integer number of traces")
        self.n, self.fn, self.traces = n, fn, 0
        self._start = None

    def __call__(self, fn):
        is_tf = hasattr(fn, "python_function") and hasattr(fn, "experimental_get_tracing_count")
        python_fn = fn.python_function if is_tf else fn
        name = getattr(python_fn, "__qualname__", repr(python_fn))

        autograph = getattr(fn, "_autograph", True)
        # Converted up front and the wrapper left alone, so our error reaches the caller as
        # itself rather than re-wrapped by AutoGraph's handler.
        body = python_fn
        if autograph:
            try:
                body = tf.autograph.to_graph(python_fn)
            except Exception:  # no source to convert (an interactive session): run it as is, as tf.function would
                body = python_fn

        @functools.wraps(python_fn)
        def counted(*args, **kwargs):
            self.traces += 1
            if self.traces > self.n:
                raise RetraceError(f"{name} was traced {self.traces} times (max_traces allows {self.n}); the new "
                                   f"trace was for {name}({_signature(python_fn, args, kwargs)}): pass values that "
                                   "change between calls as tensors, not Python numbers")
            return body(*args, **kwargs)

        if not is_tf:
            return tf.function(counted, autograph=False)
        return tf.function(counted, input_signature=fn.input_signature, jit_compile=getattr(fn, "_jit_compile", None),
                           reduce_retracing=getattr(fn, "_reduce_retracing", False), autograph=False)

    def __enter__(self):
        if self.fn is None or not hasattr(self.fn, "experimental_get_tracing_count"):
            raise ValueError(f"max_traces as a context needs the tf.function to watch, as in "
                             f"'with max_traces(n, fn):'; got fn={self.fn!r}")
        self._start = self.fn.experimental_get_tracing_count()
        self._signatures = set(self._traced_signatures())
        return self

    def _traced_signatures(self):
        # One line per trace: "(x: TensorSpec(...), lr: Literal[0.1]) -> ..."; we keep the inputs.
        lines = self.fn.pretty_printed_concrete_signatures(verbose=False).splitlines()
        return [line.split(" -> ")[0] for line in lines if line.strip()]

    def __exit__(self, exc_type, *exc):
        self.traces = self.fn.experimental_get_tracing_count() - self._start
        if exc_type is None and self.traces > self.n:
            new = [s for s in self._traced_signatures() if s not in self._signatures]
            name = getattr(self.fn.python_function, "__qualname__", repr(self.fn))
            raise RetraceError(f"{name} was traced {self.traces} times in the block (max_traces allows {self.n}); "
                               f"new traces: {'; '.join(new)}")
        return False

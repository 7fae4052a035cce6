"""One watch over one optimizer: arm a step, replay it, compare, speak; shared by the callback,
the loop watcher and the pytest fixture.

Nothing here may stop training except what the user asked for: with ``on_mismatch="raise"``, a
mismatch or weights that stopped being finite raise. Anything the monitor cannot measure (an
optimizer that is not Keras', an update that is not affine in its LR, a step that never reaches
the optimizer) is named once, as an ``LRWatchWarning``, and the watch goes quiet.
"""

from __future__ import annotations

import math
from typing import Callable

import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from . import alerts, optimizers
from .replay import solved as _solved
from .snapshot import Snapshots

ON_MISMATCH = ("warn", "raise")

# What tf.summary.scalar would attach, written with the core op: TensorBoard reads these as
# scalars, and the tensorboard package (which tf.summary.scalar needs) is not required to write them.
_SCALAR = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
                                      data_class=summary_pb2.DATA_CLASS_SCALAR).SerializeToString()


def check_args(expected, rtol, on_mismatch, every) -> None:
    if not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
        raise ValueError(f"every={every!r}: expected a positive integer number of steps")
    if isinstance(rtol, bool) or not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol={rtol!r}: expected a positive finite number")
    if on_mismatch is not None and on_mismatch not in ON_MISMATCH:
        raise ValueError(f"on_mismatch={on_mismatch!r}: expected one of {', '.join(ON_MISMATCH)}")
    if expected is not None and not callable(expected):
        raise ValueError(f"expected={expected!r}: expected a callable step -> learning rate")


def _variables_if_built(model) -> list:
    """The model's trainable variables, or [] while it is unbuilt (tf_keras raises then)."""
    if model is None or not getattr(model, "built", True):
        return []
    try:
        return list(model.trainable_variables)
    except ValueError:
        return []


class Watcher:
    """Around each step: ``begin()`` before it, ``end()`` after it; ``finish()`` at the end."""

    def __init__(self, model, optimizer, expected: Callable[[int], float] | None = None, rtol: float = 1e-3,
                 on_mismatch: str | None = "warn", every: int = 1, log_dir=None):
        check_args(expected, rtol, on_mismatch, every)
        self.model, self.given = model, optimizer
        self.opt = optimizers.unwrap(optimizer)
        self.expected, self.rtol, self.on_mismatch, self.every = expected, rtol, on_mismatch, every
        self.log_dir, self.writer = log_dir, None
        self.records: list[dict] = []
        self.notes: list[str] = []      # everything said once, in order
        self.quiet_reason: str | None = None
        self.episodes = alerts.Episodes()
        self.snaps = None
        self._calls, self._armed, self._flag, self._reported = 0, False, False, math.nan
        self._count, self._prepared_at = 0, None
        self._exact_on = False  # the step first replays at the reported LR (see bench.watch.snapshot)
        self.solves = {"single": 0, "full": 0}  # measured steps settled by one replay, or solved in full
        self._said: set = set()
        self._hyper: dict | None = None
        if not optimizers.flavour(self.opt):
            self.quiet(f"{type(self.opt).__module__}.{type(self.opt).__name__} is not a Keras 3 or tf_keras "
                       "optimizer, so its steps cannot be replayed: the effective LR is not measured")

    # -- speaking ------------------------------------------------------------------------------
    def say(self, key: str, message: str, category=alerts.LRWatchWarning) -> None:
        if key in self._said:
            return
        self._said.add(key)
        self.notes.append(message)
        alerts.warn(message, category)

    def quiet(self, message: str) -> None:
        """Name what cannot be measured, once, and stop measuring; training goes on."""
        if self.quiet_reason is None:
            self.quiet_reason = message
            self.say("quiet", "not measurable: " + message)
        self._set_flag(False)

    def _set_flag(self, on: bool) -> None:
        """The budget of steps to measure that the traced step reads: one step, or all of them at
        every=1; assigned only when it changes (each replay lowers it by one)."""
        if self.snaps is not None and self._flag != on:
            self.snaps.armed.assign((2**62 if self.every == 1 else 1) if on else 0)
            self._flag = on

    # -- set-up ----------------------------------------------------------------------------------
    def install(self) -> None:
        if self.quiet_reason is not None:
            return
        if self.snaps is None:
            self.snaps = Snapshots(self.opt)
        self.snaps.install()
        self._count = int(self.snaps.count.numpy())
        self._prepared_at = None
        if self.log_dir is not None and self.writer is None:
            self.writer = tf.summary.create_file_writer(str(self.log_dir))

    def uninstall(self) -> None:
        if self.snaps is not None:
            self.snaps.uninstall()
            self._flag = False
        if self.writer is not None:
            self.writer.flush()

    def finish(self) -> None:
        self.uninstall()
        self.episodes.close("training ended")

    # -- around one step -------------------------------------------------------------------------
    def begin(self) -> None:
        for name, value in optimizers.no_op_writes(self.opt):
            self._no_op(f"optimizer.{name} = {value!r} set an attribute that Keras 3 optimizers do not have, so "
                        f"no step reads it; set optimizer.learning_rate (or .assign a new value) instead", name)
        measure = self.quiet_reason is None and self._calls % self.every == 0
        self._calls += 1
        if not measure:
            return
        try:
            # The variable or schedule the traced step reads is evaluated there, before the update;
            # anything else (a callable, or a schedule swapped in since the trace) as Python sees it now.
            source = optimizers.lr_source(self.opt)
            self._reported = None if id(source) in self.snaps.lr_sources else optimizers.reported_lr(self.opt)
            self._check_hyperparameters()
            if self._prepared_at is None or self._calls - self._prepared_at >= 100 * self.every:
                # Copies for a trace to come (after an unfreeze, say) must exist before it; checked
                # now and then, as listing a model's variables is not free.
                variables = _variables_if_built(self.model)
                if variables:
                    self.snaps.prepare(variables)
                    self._prepared_at = self._calls
            self._set_flag(True)
            self._armed = True
        except Exception as e:  # noqa: BLE001 - the monitor must not stop training
            self.quiet(f"the monitor failed before a step ({type(e).__name__}: {e})")

    def disarm(self) -> None:
        """The step raised: nothing to measure."""
        if self._armed:
            self._armed = False
            self._set_flag(False)
            self._count = int(self.snaps.count.numpy())

    def end(self) -> dict | None:
        if not self._armed:
            return None
        self._armed = False
        try:
            result = _solved(self.snaps.read(), self.opt)
            fresh, self._count = result.count != self._count, result.count
            if self.every > 1:
                if fresh:
                    self._flag = False  # the replay spent its budget of one step
                else:
                    self._set_flag(False)
            if not fresh:
                if not self.snaps.traced:
                    self._unhooked()
                return None  # e.g. a loss-scaled step skipped for non-finite gradients
        except (alerts.LRMismatchError, RuntimeError) as e:
            if isinstance(e, alerts.LRMismatchError) or self.on_mismatch == "raise":
                raise
            self.quiet(str(e))
            return None
        except Exception as e:  # noqa: BLE001 - the monitor must not stop training
            self.quiet(f"reading the step's replay failed ({type(e).__name__}: {e})")
            return None
        if self._reported is None:
            self._reported = result.lr_seen
        self.solves["single" if result.exact else "full"] += 1
        return self._judge(result)

    def _unhooked(self) -> None:
        message = ("the train step did not pass its gradients through the watched optimizer: it was traced before "
                   "the watch began, or it updates the weights without the optimizer; start the watch before the "
                   "step is first called")
        if self.on_mismatch == "raise":
            raise RuntimeError(message)
        self.quiet(message)

    def _judge(self, solved) -> dict | None:
        if not solved.finite:
            message = (f"step {solved.step}: the weights are no longer all finite (NaN or inf) after the update; the "
                       "learning rate cannot be measured from here on")
            self.records.append(dict(step=solved.step, lr_effective=math.nan, lr_reported=self._reported,
                                     lr_expected=math.nan))
            if self.on_mismatch == "raise":
                self.quiet_reason = message
                raise alerts.LRMismatchError(message)
            self.quiet(message)
            return None
        if not solved.moved:
            return None  # nothing was applied (an accumulation step, zero gradients): nothing to solve
        if not solved.replayed:
            self.quiet(f"{type(self.opt).__name__}'s update is not finite when replayed at a learning rate of 0 (it "
                       "divides by its LR), so it is not proportional to the LR and no single LR describes it")
            return None
        if not solved.affine:
            self.quiet(f"{type(self.opt).__name__}'s update is not proportional to its learning rate (replayed at "
                       f"two rates, the step is off by {solved.residual:.3g} against a change of {solved.size:.3g} "
                       "the rate explains), so no single LR describes it")
            return None
        if not self._exact_on:  # solved in full and affine: later steps may try the reported LR first
            self.snaps.exact_ok.assign(1)
            self._exact_on = True
        expected = float(self.expected(solved.step)) if self.expected is not None else math.nan
        rec = dict(step=solved.step, lr_effective=solved.lr, lr_reported=self._reported, lr_expected=expected)
        self.records.append(rec)
        self._write(rec)
        self._check(rec)
        return rec

    def _write(self, rec) -> None:
        if self.writer is None:
            return
        with self.writer.as_default():
            for key in ("lr_effective", "lr_reported", "lr_expected"):
                if math.isfinite(rec[key]):
                    tf.summary.write(key, tf.constant(rec[key], tf.float32), step=rec["step"], metadata=_SCALAR)

    def _check(self, rec) -> None:
        eff = rec["lr_effective"]
        if self.on_mismatch is None:
            return
        off = [what for what, ref in (("reported", rec["lr_reported"]), ("expected", rec["lr_expected"]))
               if math.isfinite(ref) and abs(eff - ref) > self.rtol * abs(ref)]
        if not off:
            self.episodes.match(rec["step"])
            return
        msg = (f"step {rec['step']}: the effective learning rate {eff:.6g} (solved from the weights) does not match "
               f"the {' or the '.join(off)} one: optimizer.learning_rate reports {alerts.fmt(rec['lr_reported'])}, "
               f"expected {alerts.fmt(rec['lr_expected'])} (rtol={self.rtol:g})")
        if self.on_mismatch == "raise":
            raise alerts.LRMismatchError(msg)
        self.episodes.mismatch(rec, msg)

    # -- writes that no step reads ---------------------------------------------------------------
    def _no_op(self, message: str, key: str) -> None:
        if key in self._said:
            return
        if self.on_mismatch == "raise":
            self._said.add(key)
            self.notes.append(message)
            raise alerts.LRMismatchError(message)
        self.say(key, message, alerts.LRMismatchWarning)

    def _check_hyperparameters(self) -> None:
        now = optimizers.hyperparameters(self.opt)
        if self._hyper is None:
            self._hyper = now
            return
        for name, old in self._hyper.items():
            if now.get(name, old) != old:
                self.say(f"hyper:{name}", f"optimizer.{name} changed from {old!r} to {now[name]!r} after training "
                         f"began: a train step already traced keeps {old!r} (only eager steps or a new trace see "
                         "the change)")
        self._hyper = now

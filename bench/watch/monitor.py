"""``EffectiveLRMonitor``: the watch as a Keras callback for ``model.fit``."""

from __future__ import annotations

import math
from typing import Callable

import tensorflow as tf

from .watcher import Watcher, check_args


class EffectiveLRMonitor(tf.keras.callbacks.Callback):
    """Measures the effective LR of ``model.fit`` from the weights and checks it.

    Every ``every`` steps it replays the step the optimizer just made (see ``bench.watch.replay``),
    solves the LR it really applied, compares it with what ``optimizer.learning_rate`` reports and,
    if given, with ``expected(step)`` (``step`` is the optimizer's iteration count before the step),
    and warns or raises (``on_mismatch``) past ``rtol``. The last measured values of each epoch go
    into the ``History`` as ``lr_effective``, ``lr_reported`` and ``lr_expected``; every measured
    step is in ``records`` and, with ``log_dir``, in TensorBoard scalars of those names. What it
    cannot measure it names once (``notes``) and training goes on.

    Args:
        expected: ``step -> learning rate`` you mean, or None to compare with the reported LR only.
        every: measure one step in ``every``; the others pay for two conditions on a false flag.
        rtol: relative tolerance of the comparisons.
        on_mismatch: ``"warn"`` (one ``LRMismatchWarning`` per mismatch episode) or ``"raise"``
            (``LRMismatchError`` at the first mismatch, or at weights that stop being finite).
        log_dir: a folder for TensorBoard scalars, or None.

    It subclasses ``tf.keras.callbacks.Callback``: the Keras TensorFlow is set up for (tf_keras
    when ``TF_USE_LEGACY_KERAS=1``). A train function traced before the monitor first joins a
    ``fit`` is traced again then, so the hook is part of the traced step; the weights it produces
    are the same bits. Later ``fit`` calls with the same monitor reuse that traced step (no
    retrace); after training the hook stays in it disarmed, and copies nothing.
    """

    def __init__(self, expected: Callable[[int], float] | None = None, *, every: int = 1, rtol: float = 1e-3,
                 on_mismatch: str = "warn", log_dir=None):
        super().__init__()
        check_args(expected, rtol, on_mismatch, every)  # now, not when fit starts
        self._args = dict(expected=expected, rtol=rtol, on_mismatch=on_mismatch, every=every, log_dir=log_dir)
        self.watcher: Watcher | None = None
        self._hooked_fn = None  # the train function traced with this watcher's hook
        self.records: list[dict] = []
        self.notes: list[str] = []

    def on_train_begin(self, logs=None):
        model = self.model
        if self.watcher is None or self.watcher.model is not model or self.watcher.given is not model.optimizer:
            self.watcher = Watcher(model, model.optimizer, **self._args)
            self.watcher.records, self.watcher.notes = self.records, self.notes
            self._hooked_fn = None
        spe = getattr(model, "steps_per_execution", None) or getattr(model, "_steps_per_execution", None) or 1
        spe = int(spe.numpy()) if hasattr(spe, "numpy") else int(spe)
        if spe != 1:
            self.watcher.quiet(f"steps_per_execution={spe}: each callback sees {spe} steps at once, so no single "
                               "step can be replayed; compile with steps_per_execution=1 to measure")
        self.watcher.install()
        if self.watcher.quiet_reason is None and model.train_function is not self._hooked_fn:
            # fit has made its train function before this hook runs; one it may already have
            # traced (an earlier fit without the monitor) is made afresh, to trace with the hook
            model.make_train_function(force=True)
            self._hooked_fn = model.train_function

    def on_train_batch_begin(self, batch, logs=None):
        self.watcher.begin()

    def on_train_batch_end(self, batch, logs=None):
        self.watcher.end()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self.records:
            logs.update({k: v for k, v in self.records[-1].items() if k != "step" and math.isfinite(v)})

    def on_train_end(self, logs=None):
        if self.watcher is not None:
            self.watcher.finish()  # disarms the traced hook: a later fit without the monitor copies nothing

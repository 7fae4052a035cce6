"""``watch_lr`` for a custom training loop, and ``measure_step`` for one step (the pytest fixture)."""

from __future__ import annotations

import contextlib
import functools
from typing import Callable

from .watcher import Watcher


class LRWatch:
    """What ``watch_lr`` returns: wrap each train step in ``step()``, or the step function in ``wrap``."""

    def __init__(self, watcher: Watcher):
        self.watcher = watcher

    @property
    def records(self) -> list[dict]:
        return self.watcher.records

    @property
    def notes(self) -> list[str]:
        return self.watcher.notes

    def __enter__(self):
        self.watcher.install()
        return self

    def __exit__(self, *exc):
        self.watcher.finish()
        return False

    @contextlib.contextmanager
    def step(self):
        self.watcher.begin()
        try:
            yield
        except BaseException:
            self.watcher.disarm()
            raise
        self.watcher.end()

    def wrap(self, fn):
        @functools.wraps(fn)
        def watched(*args, **kwargs):
            with self.step():
                return fn(*args, **kwargs)
        return watched


def watch_lr(model, optimizer, expected: Callable[[int], float] | None = None, *, every: int = 1,
             rtol: float = 1e-3, on_mismatch: str = "warn", log_dir=None) -> LRWatch:
    """The monitor for a custom training loop; enter it before the train step is first called.

    Args:
        model: the model whose weights the step trains (built or not).
        optimizer: the optimizer the step calls (a loss-scale wrapper is looked through).
        expected, every, rtol, on_mismatch, log_dir: as for ``EffectiveLRMonitor``.

    Returns:
        An ``LRWatch``: ``with watch_lr(model, opt) as w: ... with w.step(): train_step(x, y)``
        (or ``step = w.wrap(train_step)``); ``w.records`` holds the measurements.
    """
    return LRWatch(Watcher(model, optimizer, expected, rtol, on_mismatch, every, log_dir))


def measure_step(model, optimizer, step_fn, batch) -> float:
    """Run ``step_fn(*batch)`` once and return the LR it applied, solved from the weights.

    The model and optimizer may be unbuilt: the hook builds the optimizer inside the step exactly
    as its own call would. Raises ``RuntimeError`` when the step could not be measured, naming why.
    """
    watch = watch_lr(model, optimizer, on_mismatch=None)
    with watch:
        with watch.step():
            step_fn(*batch) if isinstance(batch, (tuple, list)) else step_fn(batch)
    if not watch.records:
        raise RuntimeError("effective_lr could not measure the step: " + (watch.watcher.quiet_reason or
                           "the step made no update through the optimizer"))
    return watch.records[-1]["lr_effective"]

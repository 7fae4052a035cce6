"""Catch it in your own training: the learning rate each step really applied, and a retrace guard.

The LR is never read from the optimizer. After a measured step the monitor replays that step
through the optimizer's own update, from the same weights, state and gradients, at a rate of 0
and at a rate of 1, and solves which rate reproduces the weights the step produced
(``bench.watch.replay``). That covers every Keras optimizer whose update is affine in its LR,
with clipping, weight decay, EMA, gradient accumulation and loss scaling, and users' subclasses;
an update that is not (Ftrl) is named once as not measurable. The monitor never builds, wraps or
reconfigures the user's optimizer or model: a deterministic run trains to the same bits with it.

Modules, one concept each: ``optimizers`` (what differs between Keras 3, tf_keras and the legacy
optimizers), ``snapshot`` (the hook inside the step), ``replay`` (the solve), ``watcher`` (one
watch: arm, replay, compare), ``alerts`` (exceptions, warnings, episodes), ``monitor`` (the
``fit`` callback), ``loop`` (custom loops and the pytest fixture), ``retrace`` (``max_traces``).

Example::

    import numpy as np, keras
    from bench.watch import EffectiveLRMonitor

    model = keras.Sequential([keras.layers.Dense(1)])          # built by its first step
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    monitor = EffectiveLRMonitor(expected=lambda step: 0.1, on_mismatch="raise")
    model.fit(np.ones((64, 3)), np.ones((64, 1)), batch_size=16, verbose=0, callbacks=[monitor])
    print(round(monitor.records[-1]["lr_effective"], 6))     # 0.1
"""

from .alerts import LRMismatchError, LRMismatchWarning, LRWatchWarning, RetraceError
from .loop import LRWatch, measure_step, watch_lr
from .monitor import EffectiveLRMonitor
from .optimizers import reported_lr
from .retrace import max_traces
from .watcher import ON_MISMATCH

__all__ = ["EffectiveLRMonitor", "watch_lr", "LRWatch", "measure_step", "max_traces", "reported_lr",
           "LRMismatchError", "LRMismatchWarning", "LRWatchWarning", "RetraceError", "ON_MISMATCH"]

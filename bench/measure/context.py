"""The live objects of one repeat of one cell, as a scenario's hooks see them, and the clocks.

Imports TensorFlow (worker processes only).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import tensorflow as tf

from bench.core.flavours import Flavour
from bench.scenarios import Rates, Scenario

if TYPE_CHECKING:
    from bench.measure.tape import StepTape

clock = time.perf_counter
#: The clock of paired ratios on the CPU: this process's CPU time, which does not run while the
#: process waits for its core, so another process's burst of work does not land in one step of a
#: pair and not in the other. Wall time elsewhere (a GPU's work, a multiworker step's waits).
cpu_clock = time.process_time


@dataclass
class Ctx:
    """What a scenario's hooks see: the live objects of one repeat of one cell."""

    scenario: Scenario
    flavour: Flavour
    api: str
    mode: str
    device: str
    opt_name: str
    rates: Rates
    change_step: int
    steps: int
    model: object = None
    optimizer: object = None
    loss_fn: object = None
    fn: object = None         # loop: the train step as called (eager, tf.function or XLA)
    traces: int = 0           # Python side effect in the train step: counts traces when compiled
    state: dict = field(default_factory=dict)  # scratch space for scenarios
    error: str = ""           # the change statement's exception, "Type: message"
    tape: "StepTape | None" = None  # fit probe pass with steps_per_execution > 1: per-step record
    dist: object = None       # the tf.distribute.Strategy itself (None: one device, no strategy)
    pair_every: int = 1       # a reference step beside two steps (or calls) of every 2 * pair_every

    @property
    def keras(self):
        return self.flavour.keras()

    def record_error(self, e: Exception) -> None:
        """Keep the first exception the change raised; training goes on."""
        if not self.error:
            self.error = f"{type(e).__name__}: {e}".strip()

    def guarded(self, callback):
        """``callback`` behind a guard that keeps an exception from any of its hooks as the change's
        error and lets training go on, as a change statement that raises does in the loop; without
        it one raising callback would end ``fit`` and lose the cell."""
        base = self.keras.callbacks.Callback

        def forward(name):
            def hook(_, *args, **kwargs):
                try:
                    getattr(callback, name)(*args, **kwargs)
                except Exception as e:
                    self.record_error(e)
            return hook

        def set_model(guard, model):
            base.set_model(guard, model)
            callback.set_model(model)

        def set_params(guard, params):
            base.set_params(guard, params)
            callback.set_params(params)

        methods = dict({name: forward(name) for name in _CALLBACK_HOOKS}, set_model=set_model, set_params=set_params)
        return type(f"Guarded{type(callback).__name__}", (base,), methods)()

    @property
    def replicas(self) -> int:
        """Replicas in sync, over every worker."""
        return self.dist.num_replicas_in_sync if self.dist is not None else 1

    @property
    def local_replicas(self) -> int:
        return len(self.dist.extended.worker_devices) if self.dist is not None else 1

    @property
    def worker_index(self) -> int:
        """This process's index among a multiworker strategy's workers (0: the chief, or the only one)."""
        resolver = getattr(self.dist, "cluster_resolver", None)
        return int(resolver.task_id or 0) if resolver is not None and resolver.task_type else 0

    def scope(self):
        return self.dist.scope() if self.dist is not None else contextlib.nullcontext()

    @property
    def cpu_timed(self) -> bool:
        """Whether paired ratios use this process's CPU time (``cpu_clock``) rather than wall time."""
        return self.device == "cpu" and not isinstance(self.dist, tf.distribute.MultiWorkerMirroredStrategy)

    def count_trace(self) -> None:
        """Called by the train step's Python body, which runs once per trace; under a strategy it
        runs once per local replica per trace, so only the first local replica counts."""
        if self.dist is not None:
            rc = tf.distribute.get_replica_context()
            rid = tf.get_static_value(rc.replica_id_in_sync_group) if rc is not None else None
            if rid is not None and rid % self.local_replicas != 0:
                return
        self.traces += 1

    def local_copies(self, var) -> list[np.ndarray]:
        """The variable's value on each local replica (one value without a strategy)."""
        return [c.numpy() for c in self.components(var)]

    def components(self, var) -> list:
        """The TensorFlow variables behind a Keras variable: one per local replica."""
        # Keras 3 wraps the TensorFlow variable (``.value``); tf_keras hands it out directly.
        inner = var if isinstance(var, (tf.Variable, tf.distribute.DistributedValues)) else var.value
        return list(self.dist.experimental_local_results(inner)) if self.dist is not None else [inner]

    def check_placement(self) -> None:
        """Every copy of every weight is on the cell's device kind, or the cell is not what it says."""
        want = "GPU" if self.device == "gpu" else "CPU"
        for var in self.model.trainable_variables:
            for c in self.components(var):
                found = tf.DeviceSpec.from_string(c.device).device_type
                if found != want:
                    raise RuntimeError(f"{getattr(var, 'path', var.name)} was placed on {c.device or 'no device'}, "
                                       f"not on the {self.device}: this cell would not measure what it says")

    def split(self, x, y):
        """A global batch as the strategy's per-replica batches: replica ``i`` of the sync group
        (over every worker) takes the ``i``-th equal slice, so the global batch is the same with
        or without a strategy and one NumPy reference checks every replica."""
        if self.dist is None:
            return x, y
        per = int(x.shape[0]) // self.replicas

        def part(t):
            return self.dist.experimental_distribute_values_from_function(
                lambda c: t[c.replica_id_in_sync_group * per:(c.replica_id_in_sync_group + 1) * per])

        return part(x), part(y)

    def retrace(self) -> None:
        """Make the compiled train step trace again, so it sees new Python state."""
        from bench.measure.build import make_loop_step

        if self.api == "loop":
            self.fn = make_loop_step(self)
        else:
            self.model.make_train_function(force=True)


_CALLBACK_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                   "on_train_batch_begin", "on_train_batch_end")

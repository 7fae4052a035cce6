"""Runs one cell in a worker: trains the model under a scenario and measures every step.

Imports TensorFlow; only ``bench.worker`` imports this module. Per step, outside the timed region:
the scenario's Python hook (the change), the reported LR, the weights and the gradients before the
step; inside it: the train step alone, up to a forced result; after it: weights and slots, from
which ``bench.probe`` solves the effective LR. When ``fit`` runs several steps per call of its
train function (``steps_per_execution``), the probe pass records each step from inside the train
step instead (``StepTape``), since nothing outside the graph runs between those steps.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from bench import probe
from bench.flavours import Flavour
from bench.scenarios import Rates, Scenario
from bench.verdict import spread

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
        if self.api == "loop":
            self.fn = make_loop_step(self)
        else:
            self.model.make_train_function(force=True)


_CALLBACK_HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                   "on_train_batch_begin", "on_train_batch_end")


def _in_step(ctx: Ctx, *args) -> None:
    # Plain Python by design: what a scenario does in the step is frozen at trace time, as it is
    # in users' code, rather than rewritten by AutoGraph.
    tf.autograph.experimental.do_not_convert(ctx.scenario.in_step)(ctx, *args)


def _model_class(flavour: Flavour):
    K = flavour.keras()

    class CountingModel(K.Model):
        ctx: Ctx | None = None

        def train_step(self, data):
            self.ctx.count_trace()
            _in_step(self.ctx)
            tape = self.ctx.tape
            if tape is None:
                return super().train_step(data)
            tape.before(data)
            outputs = super().train_step(data)
            tape.after()
            return outputs

    return CountingModel


_MODEL_CLASSES: dict[str, type] = {}


def build_model(ctx: Ctx):
    K = ctx.keras
    cls = _MODEL_CLASSES.setdefault(ctx.flavour.name, _model_class(ctx.flavour))
    inputs = K.Input(shape=(784,))
    hidden = K.layers.Dense(10, activation="relu")(inputs)
    outputs = K.layers.Dense(10, activation="softmax")(hidden)
    model = cls(inputs=inputs, outputs=outputs)
    model.ctx = ctx
    return model


def compile_fn(fn, mode: str):
    if mode == "eager":
        return fn
    return tf.function(fn, jit_compile=(mode == "xla"))


def make_loop_step(ctx: Ctx):
    if ctx.dist is not None:
        return _distributed_loop_step(ctx)
    model = ctx.model

    def train_step(x, y, *args):
        ctx.traces += 1
        with tf.GradientTape() as tape:
            loss = ctx.loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        _in_step(ctx, *args)
        ctx.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    return compile_fn(train_step, ctx.mode)


def _distributed_loop_step(ctx: Ctx):
    """The loop's train step as a custom loop under a strategy is written: ``strategy.run`` of a
    replica step whose loss is averaged over the global batch (``compute_average_loss`` divides by
    the replica's batch times the replicas in sync), so the summed replica gradients are the global
    batch's gradient. Under XLA the replica step is what is compiled (a compiled function cannot
    reach variables on the other replicas' devices), as Keras itself does."""
    model, dist = ctx.model, ctx.dist

    def replica_step(x, y, *args):
        ctx.count_trace()
        with tf.GradientTape() as tape:
            per_example = ctx.loss_fn(y, model(x, training=True))
            loss = tf.nn.compute_average_loss(per_example)
        grads = tape.gradient(loss, model.trainable_variables)
        _in_step(ctx, *args)
        ctx.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    if ctx.mode == "xla":
        replica_step = tf.function(replica_step, jit_compile=True)

    def train_step(x, y, *args):
        return dist.reduce("SUM", dist.run(replica_step, args=(x, y, *args)), axis=None)

    return train_step if ctx.mode == "eager" else tf.function(train_step)


def setup(ctx: Ctx, seed: int) -> None:
    """Fresh seeded model and optimizer; slots built before any traced call.

    A scenario may build the model under a Keras dtype policy of its own (``dtype_policy``, set
    only while its layers are made, so no other cell of the worker sees it) and construct the
    optimizer itself (``make_optimizer(ctx)``): that constructor call is then the statement under
    test, and when it raises, its exception is the cell's error and the flavour's default
    optimizer stands in, so the cell still trains."""
    ctx.keras.utils.set_random_seed(seed)
    with ctx.scope():
        with _dtype_policy(ctx.keras, getattr(ctx.scenario, "dtype_policy", None)):
            ctx.model = build_model(ctx)
        # A custom loop under a strategy averages per-example losses over the global batch itself.
        reduction = {"reduction": "none"} if ctx.dist is not None and ctx.api == "loop" else {}
        ctx.loss_fn = ctx.keras.losses.CategoricalCrossentropy(**reduction)
        ctx.optimizer = _scenario_optimizer(ctx)
        ctx.flavour.build(ctx.optimizer, ctx.model.trainable_variables)


@contextlib.contextmanager
def _dtype_policy(keras, name):
    if name is None:
        yield
        return
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _scenario_optimizer(ctx: Ctx):
    make = getattr(ctx.scenario, "make_optimizer", None)
    if make is not None:
        try:
            return make(ctx)
        except Exception as e:  # the constructor call under test raised: keep it, train on
            ctx.record_error(e)
    return ctx.flavour.optimizer(ctx.opt_name, ctx.scenario.initial_lr(ctx))


def reported_lr(optimizer) -> float:
    """What ``print(optimizer.learning_rate)`` would show, as a number (NaN when it is not one)."""
    try:
        value = optimizer.learning_rate
        value = value.numpy() if hasattr(value, "numpy") else value
        return float(np.asarray(value))
    except Exception:  # a schedule object, for instance: the print shows no number
        return math.nan


class StepTape:
    """Per-step record of a train function call that runs several steps (probe pass only).

    With ``steps_per_execution`` > 1 Keras runs that many steps inside one call and calls batch
    callbacks once per call, so no Python code sees the weights between two of its steps. The train
    step itself therefore pushes, at every step, the batch it was given and the weights before the
    update, then the weights (and Adam's moments) after it, into rolling buffers of ``size`` rows:
    after a call of ``k`` steps the last ``k`` rows are its steps, oldest first. The effective LR
    is then solved from these weights exactly as for a single step; the optimizer's LR is not read.
    """

    def __init__(self, ctx: Ctx, size: int, x: tf.Tensor, y: tf.Tensor):
        self.variables = list(ctx.model.trainable_variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        n = sum(int(np.prod(shape)) for shape in self.shapes)
        self.slots = ctx.flavour.adam_slot_variables(ctx.optimizer, ctx.model.trainable_variables) if ctx.opt_name == "adam" else ([], [])

        def buffer(shape, dtype=tf.float32):
            return tf.Variable(tf.zeros((size, *shape), dtype), trainable=False)

        self.x, self.y = buffer(x.shape, x.dtype), buffer(y.shape, y.dtype)
        self.w_before, self.w_after = buffer((n,)), buffer((n,))
        self.m, self.v = (buffer((n,)), buffer((n,))) if self.slots[0] else (None, None)

    @staticmethod
    def _push(buffer, value) -> None:
        # Shift by one and append: static slices only, so it compiles under XLA like any step.
        value = tf.reshape(tf.cast(value, buffer.dtype), (1, *buffer.shape[1:]))
        buffer.assign(tf.concat([buffer[1:], value], axis=0))

    @staticmethod
    def _flat(variables) -> tf.Tensor:
        return tf.concat([tf.reshape(tf.convert_to_tensor(v), [-1]) for v in variables], axis=0)

    def before(self, data) -> None:
        # Reads and writes of one variable keep program order inside a tf.function (automatic
        # control dependencies), so these reads precede the update and those in after() follow it.
        self._push(self.x, data[0])
        self._push(self.y, data[1])
        self._push(self.w_before, self._flat(self.variables))

    def after(self) -> None:
        self._push(self.w_after, self._flat(self.variables))
        if self.m is not None:
            self._push(self.m, self._flat(self.slots[0]))
            self._push(self.v, self._flat(self.slots[1]))

    def _split(self, flat: np.ndarray) -> list[np.ndarray]:
        cuts = np.cumsum([int(np.prod(shape)) for shape in self.shapes])[:-1]
        return [part.reshape(shape) for part, shape in zip(np.split(flat, cuts), self.shapes)]

    def last(self, k: int) -> list[dict]:
        """The last ``k`` steps, oldest first: batch, weights before/after, moments after."""
        x, y, wb, wa = (b.numpy()[-k:] for b in (self.x, self.y, self.w_before, self.w_after))
        m, v = (b.numpy()[-k:] if b is not None else [None] * k for b in (self.m, self.v))
        return [dict(x=x[i], y=y[i], before=self._split(wb[i]), after=self._split(wa[i]),
                     m=None if m[i] is None else self._split(m[i]), v=None if v[i] is None else self._split(v[i]))
                for i in range(k)]


def _by_replica(ctx: Ctx, variables) -> list[list[np.ndarray]]:
    """Values of ``variables`` per local replica: ``[replica][variable]``."""
    return [list(values) for values in zip(*(ctx.local_copies(v) for v in variables))]


def combine_replicas(rows: list[dict]) -> dict:
    """One step's record from each replica's (or worker's): the first replica's, plus the spread
    of the effective LR across all of them."""
    row = dict(rows[0])
    row["lr_spread"] = spread([r["lr_effective"] for r in rows])
    return row


def _iterations(optimizer) -> int:
    return int(np.asarray(optimizer.iterations.numpy() if hasattr(optimizer.iterations, "numpy") else optimizer.iterations))


class _Recorder:
    """Runs the scenario's Python hook before each step and records the step.

    With ``probe`` (the verdict pass) it also takes the reported LR and the weights before the
    step and the weights and slots after it; without (the timing pass) it keeps only the step's
    time and the tracing count, so nothing but the step sits between two clock reads.
    """

    def __init__(self, ctx: Ctx, batches, probe_pass: bool):
        self.ctx, self.batches, self.probe_pass = ctx, batches, probe_pass
        self.rows: list[dict] = []
        self.step = 0
        self._pre = None

    def begin(self) -> None:
        ctx, step = self.ctx, self.step
        self._hook(step)
        if self.probe_pass:
            self._pre = dict(reported=reported_lr(ctx.optimizer),
                             before=_by_replica(ctx, ctx.model.trainable_variables))

    def end(self, seconds: float, ref_s: float = math.nan, first: bool = True, pair_s: float = math.nan) -> None:
        ctx, s = self.ctx, self.step
        row = dict(step=s, step_s=seconds, pair_s=pair_s, ref_s=ref_s, ref_first=first,
                   traces=0 if ctx.mode == "eager" else ctx.traces)
        if self.probe_pass:
            row.update(self._measure())
        self.rows.append(row)
        self.step += 1

    def _hook(self, step: int) -> None:
        try:
            self.ctx.scenario.before_step(self.ctx, step)
        except Exception as e:  # the change statement raised: keep it, train on
            self.ctx.record_error(e)

    def _measure(self) -> dict:
        """The step's effective LR on every local replica, each from its own copy of the weights."""
        ctx, pre = self.ctx, self._pre
        variables = ctx.model.trainable_variables
        after = _by_replica(ctx, variables)
        x, y = self.batches[self.step]
        optimizer = self._applied(pre["before"][0], after[0])
        if ctx.opt_name == "adam":
            m, v = ctx.flavour.adam_slot_variables(optimizer, variables)
            slots = list(zip(_by_replica(ctx, m), _by_replica(ctx, v)))
        else:
            slots = [(None, None)] * len(after)
        t = _iterations(optimizer)
        return combine_replicas([self._solve(self.step, b, a, x.numpy(), y.numpy(), sl, t, pre["reported"])
                                 for b, a, sl in zip(pre["before"], after, slots)])

    def _applied(self, before, after):
        """The optimizer that applied this step: ``ctx.optimizer``, unless the scenario replaced it
        part-way (``ctx.state["optimizers"]``, the ones it had before) and Adam's update from another
        one's moments explains the weights better: the step a model takes is the one its (possibly
        still traced) train function applies, whatever ``model.optimizer`` names now."""
        ctx = self.ctx
        candidates = [ctx.optimizer, *ctx.state.get("optimizers", ())]
        if ctx.opt_name != "adam" or len(candidates) == 1:
            return ctx.optimizer

        def misfit(opt):
            try:
                m, v = ctx.flavour.adam_slots(opt, ctx.model.trainable_variables)
            except (KeyError, ValueError):  # built on another model's weights (a resumed loop's old model)
                return math.inf
            b1, b2, eps = ctx.flavour.adam_hyper(opt)
            return probe.adam_residual(before, after, m, v, _iterations(opt), b1, b2, eps)

        return min(candidates, key=misfit)

    def _solve(self, s, before, after, x, y, slots, t, reported) -> dict:
        ctx = self.ctx
        loss, grads = probe.dense_loss_and_grads(before, x, y)
        grads = self._accumulated(grads)
        if ctx.opt_name == "sgd":
            direction = grads
        else:
            b1, b2, eps = ctx.flavour.adam_hyper(ctx.optimizer)
            direction = probe.adam_direction(slots[0], slots[1], t, b1, b2, eps)
        decay = ctx.flavour.weight_decay(ctx.optimizer)
        if decay:
            # The scenario says which of the two LRs its verdict is about (default: the update's).
            lr_update, lr_decay = probe.decoupled_lrs(before, after, direction, decay)
            eff = lr_decay if getattr(ctx.scenario, "probe_term", "update") == "decay" else lr_update
        else:
            eff = probe.sgd_lr(before, after, direction)  # least squares of dW against -direction
        r, c = ctx.rates, ctx.change_step
        return dict(loss=loss, lr_intended=ctx.scenario.intended(r, s, c), lr_baseline=ctx.scenario.baseline(r, s, c),
                    lr_effective=eff, lr_spread=0.0, lr_reported=reported)

    def _accumulated(self, grads):
        """Under gradient accumulation, the gradient an update step applies: the mean of this
        step's and the ones accumulated since the last update (all at the same weights, which the
        steps between leave as they are); a step that only accumulates gets its own."""
        k = getattr(self.ctx.optimizer, "gradient_accumulation_steps", None)
        if not k:
            return grads
        held = getattr(self, "_held_grads", None)
        total = grads if held is None else [h + g for h, g in zip(held, grads)]
        if int(self.ctx.optimizer._iterations.numpy()) % k == 0:  # counted after the step: it updated
            self._held_grads = None
            return [g / k for g in total]
        self._held_grads = total
        return grads

    # --- several steps per call of fit's train function (steps_per_execution > 1) ---
    def begin_call(self, per_call: int) -> None:
        ctx = self.ctx
        # No Python runs between the steps of one call: each step's hook runs before the call.
        for step in range(self.step, min(self.step + per_call, ctx.steps)):
            self._hook(step)
        self._iterations = _iterations(ctx.optimizer)
        # The reported LR of every step in the call is what optimizer.learning_rate says before
        # the call (after the callbacks ran): the only value a user, or any callback, can read for
        # those steps (a schedule that moves inside the call is reported at its value before it).
        self._reported = reported_lr(ctx.optimizer) if self.probe_pass else math.nan

    def end_call(self, seconds: float, ref_s: float = math.nan, first: bool = True, pair_s: float = math.nan) -> None:
        ctx = self.ctx
        # Counted from the optimizer's step counter, not assumed: Keras runs fewer steps in the
        # last call of an epoch when too few batches remain.
        k = _iterations(ctx.optimizer) - self._iterations
        records = ctx.tape.last(k) if self.probe_pass else [None] * k
        for i, rec in enumerate(records):
            # Single steps inside one call cannot be timed apart: each gets an equal share.
            row = dict(step=self.step, step_s=seconds / k, pair_s=pair_s / k, ref_s=ref_s, ref_first=first,
                       traces=0 if ctx.mode == "eager" else ctx.traces)
            if rec is not None:
                row.update(self._solve(self.step, rec["before"], rec["after"], rec["x"], rec["y"], (rec["m"], rec["v"]),
                                       self._iterations + i + 1, self._reported))
            self.rows.append(row)
            self.step += 1


def _sync_fn(device: str):
    if device == "gpu":
        return tf.test.experimental.sync_devices
    return lambda: None


def run_loop(ctx: Ctx, batches, sync, probe_pass: bool, ref: "Reference | None" = None) -> list[dict]:
    ctx.fn = make_loop_step(ctx)
    rec = _Recorder(ctx, batches, probe_pass)
    for step in range(ctx.steps):
        rec.begin()
        x, y = ctx.split(*batches[step])
        args = ctx.scenario.step_args(ctx, step)
        ref_s = ref.time() if ref is not None and ref_first(step) else math.nan
        t0, c0 = clock(), cpu_clock()
        loss = ctx.fn(x, y, *args)
        loss.numpy()
        sync()
        seconds, cpu = clock() - t0, cpu_clock() - c0
        if ref is not None and not ref_first(step):
            ref_s = ref.time()
        rec.end(seconds, ref_s, ref_first(step), cpu if ctx.cpu_timed else seconds)
    return rec.rows


def ref_first(step: int) -> bool:
    """Whether the reference step is timed before the cell's step (even steps, or calls of fit's
    train function) or after it (odd ones): of two steps run one after the other, the first,
    coming after other work, is the slower, so the order alternates and ``bench.timing`` takes the
    geometric mean of the two orders' median ratios, in which that bias cancels."""
    return step % 2 == 0


def steps_per_call(ctx: Ctx) -> int:
    """Steps ``fit`` runs per call of its train function (``steps_per_execution``); 1 in the loop."""
    return int(ctx.scenario.compile_kwargs(ctx).get("steps_per_execution", 1)) if ctx.api == "fit" else 1


def run_fit(ctx: Ctx, batches, sync, probe_pass: bool, ref: "Reference | None" = None) -> list[dict]:
    K = ctx.keras
    rec = _Recorder(ctx, batches, probe_pass)
    compile_kwargs = ctx.scenario.compile_kwargs(ctx)
    per_call = int(compile_kwargs.get("steps_per_execution", 1))

    class Harness(K.callbacks.Callback):
        # Last in the list: its begin runs after the scenario's callbacks, so the timer starts
        # right before Keras calls the train function.
        def on_train_batch_begin(self, batch, logs=None):
            if per_call == 1:
                rec.begin()
            else:
                rec.begin_call(per_call)
            self.first = ref_first(rec.step // per_call)
            self.ref_s = ref.time(per_call) if ref is not None and self.first else math.nan
            self.t0, self.c0 = clock(), cpu_clock()

        def on_train_batch_end(self, batch, logs=None):
            sync()
            seconds, cpu = clock() - self.t0, cpu_clock() - self.c0
            if ref is not None and not self.first:
                self.ref_s = ref.time(per_call)
            pair_s = cpu if ctx.cpu_timed else seconds
            if per_call == 1:
                rec.end(seconds, self.ref_s, self.first, pair_s)
            else:
                rec.end_call(seconds, self.ref_s, self.first, pair_s)

    with ctx.scope():
        ctx.model.compile(
            optimizer=ctx.optimizer, loss=ctx.loss_fn,
            run_eagerly=ctx.mode == "eager", jit_compile=ctx.mode == "xla",
            **compile_kwargs,
        )
    if ctx.mode == "xla" and not ctx.model.jit_compile:
        raise RuntimeError("jit_compile=True was dropped by Keras: this cell would not run under XLA")
    if probe_pass and per_call > 1:
        ctx.tape = StepTape(ctx, per_call, *batches[0])
    per_epoch = 1 if ctx.scenario.fit_step_per_epoch else ctx.steps
    ds = _fit_dataset(ctx, batches, repeat=per_epoch == 1)
    ctx.model.fit(
        ds, epochs=ctx.steps // per_epoch, steps_per_epoch=per_epoch,
        verbose=0, shuffle=False, callbacks=[*ctx.scenario.fit_callbacks(ctx), Harness()],
    )
    return rec.rows


def _fit_dataset(ctx: Ctx, batches, repeat: bool):
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    size = len(batches[0][0])
    if ctx.dist is None:
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(size)
        return ds.repeat() if repeat else ds
    # The same global batches as ctx.split: each input pipeline (worker) yields, per step, the
    # slices of its local replicas in order, and the strategy hands them out one per replica.
    per, local = size // ctx.replicas, ctx.local_replicas

    def per_worker(ic):
        first = ic.input_pipeline_id * local
        xs = x.reshape(len(batches), ctx.replicas, per, -1)[:, first:first + local].reshape(-1, per, x.shape[-1])
        ys = y.reshape(len(batches), ctx.replicas, per, -1)[:, first:first + local].reshape(-1, per, y.shape[-1])
        ds = tf.data.Dataset.from_tensor_slices((xs, ys))
        return ds.repeat() if repeat else ds

    return ctx.dist.distribute_datasets_from_function(per_worker)


def make_batches(x: np.ndarray, y: np.ndarray, steps: int, batch_size: int):
    return [(tf.constant(x[i * batch_size:(i + 1) * batch_size]), tf.constant(y[i * batch_size:(i + 1) * batch_size]))
            for i in range(steps)]


def _placement(ctx: Ctx):
    """One device for the whole cell; a strategy places its replicas itself."""
    if ctx.dist is not None:
        return contextlib.nullcontext()
    return tf.device("/GPU:0" if ctx.device == "gpu" else "/CPU:0")


def run_repeat(ctx: Ctx, batches, seed: int, probe_pass: bool, ref: "Reference | None" = None) -> list[dict]:
    """One pass of one repeat of one cell on its device, from a fresh seeded model. With ``ref``,
    a bare reference step is timed right before each step (``ref_s`` in its row)."""
    with _placement(ctx):
        setup(ctx, seed)
        ctx.check_placement()
        sync = _sync_fn(ctx.device)
        if ctx.api == "loop":
            return run_loop(ctx, batches, sync, probe_pass, ref)
        return run_fit(ctx, batches, sync, probe_pass, ref)


def _optimizer_variables(optimizer) -> list:
    variables = optimizer.variables
    return list(variables() if callable(variables) else variables)  # a method on legacy optimizers


class Reference:
    """The bare loop of the static compiled step, built and traced once per worker and key, then
    timed a step at a time right beside each step of a cell, so that both share whatever load the
    machine is under at that moment: their ratio is what the cell costs over the bare step.

    Every ``len(batches)`` steps its weights and optimizer state go back to where they started
    (an assign, no retrace), so it repeats the same steps from the same state for as long as the
    worker lives, rather than training on for thousands of steps."""

    def __init__(self, ctx: Ctx, batches, seed: int):
        self.ctx, self.calls = ctx, 0
        with _placement(ctx):
            setup(ctx, seed)
            self.fn = make_loop_step(ctx)
            self.inputs = [ctx.split(x, y) for x, y in batches]
            self.fn(*self.inputs[0]).numpy()  # trace, and create any state the first call creates
            self.state = [(v, v.numpy()) for v in [*ctx.model.variables, *_optimizer_variables(ctx.optimizer)]]
            for _ in range(2):  # warm up
                self.fn(*self.inputs[0]).numpy()
        self.sync = _sync_fn(ctx.device)

    def time(self, steps: int = 1) -> float:
        """Seconds per step of ``steps`` bare steps, run now, on the clock of paired ratios."""
        with _placement(self.ctx):
            if self.calls % len(self.inputs) == 0:
                for v, value in self.state:
                    v.assign(value)
            x, y = self.inputs[self.calls % len(self.inputs)]
            self.calls += 1
            now = cpu_clock if self.ctx.cpu_timed else clock
            t0 = now()
            for _ in range(steps):
                loss = self.fn(x, y)
            loss.numpy()
            self.sync()
            return (now() - t0) / steps


def reference_step_s(ctx: Ctx, batches, seed: int, rounds: int) -> float:
    """Median seconds per step of a bare loop of the static compiled step: nothing around it."""
    with _placement(ctx):
        setup(ctx, seed)
        fn = make_loop_step(ctx)
        sync = _sync_fn(ctx.device)
        inputs = [ctx.split(x, y) for x, y in batches]
        for _ in range(3):  # trace and warm up
            fn(*inputs[0]).numpy()
        per_step = []
        for _ in range(rounds):
            t0 = clock()
            for x, y in inputs:
                loss = fn(x, y)
            loss.numpy()
            sync()
            per_step.append((clock() - t0) / len(batches))
        return float(np.median(per_step))

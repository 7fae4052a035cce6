"""Measures cells in a worker process, caching what cells of one worker can share.

Imports TensorFlow (worker processes only). Data, strategies and the bare reference are built once
per worker and key; a model, its optimizer and its compiled train step never outlive their repeat,
so no cell's tracing count carries another's traces.
"""

from __future__ import annotations

import re
import sys
import traceback

from bench.core import data, timing
from bench.core.flavours import FLAVOURS
from bench.core.verdicts import judge
from bench.measure import cluster
from bench.measure.build import make_batches
from bench.measure.context import Ctx
from bench.measure.passes import run_repeat, steps_per_call
from bench.measure.reference import Reference
from bench.results.columns import KEY
from bench.results.protocol import CellResult, CellSpec, base_row, failed
from bench.scenarios import REGISTRY, Rates


def one_line(e: BaseException) -> str:
    """The exception as one line. TensorFlow wraps errors raised while tracing as "in user code:"
    followed by the traceback, with the real message on the last line; errors raised while running
    a graph start with "Graph execution error:" and the traceback of the op that failed."""
    lines = [l.strip() for l in str(e).splitlines() if l.strip()]
    if not lines:
        return type(e).__name__
    if lines[0] == "in user code:" and re.match(r"\w+(Error|Exception)\b", lines[-1]):
        return lines[-1][:500]
    if lines[0].endswith("execution error:"):  # "Graph execution error:", the op's traceback, then the message
        message = [l for l in lines[1:] if not l.startswith(("Detected at node", "File ", "[[", "Cf. "))]
        if message:
            return f"{type(e).__name__}: {message[0]}"[:500]
    first = lines[0]
    if len(lines) > 1 and sum(first.count(c) for c in "([{") > sum(first.count(c) for c in ")]}"):
        first += f" … {lines[-1]}"  # a value printed over many lines: keep what closes the sentence
    return f"{type(e).__name__}: {first}"[:500]


class CellRunner:
    """Runs cell specs, caching data, strategies and the bare reference per worker.

    ``cluster``: in a process of a multiworker cell, the MultiWorkerMirroredStrategy it runs
    under; elsewhere multiworker cells are handed to ``bench.measure.cluster``, which starts them.
    """

    def __init__(self, gpus: list[str], cluster=None):
        self.gpus = gpus
        self.cluster = cluster
        self._data: dict = {}
        self._reference: dict = {}
        self._strategies: dict = {}

    def strategy(self, spec: CellSpec):
        """The tf.distribute.Strategy of the cell (None for "none")."""
        if spec.strategy == "none":
            return None
        if spec.strategy == "multiworker":
            return self.cluster
        key = (spec.device, spec.replicas)
        if key not in self._strategies:
            import tensorflow as tf

            if spec.device == "gpu":
                devices = [f"/GPU:{i}" for i in range(len(self.gpus))]
            else:
                cpus = tf.config.list_logical_devices("CPU")
                if len(cpus) < spec.replicas:
                    raise RuntimeError(f"mirrored over {spec.replicas} CPUs needs a worker started with as many "
                                       f"logical CPU devices; this one has {len(cpus)}")
                devices = [f"/CPU:{i}" for i in range(spec.replicas)]
            self._strategies[key] = tf.distribute.MirroredStrategy(devices)
        return self._strategies[key]

    def ctx(self, scenario, spec: CellSpec, api: str | None = None):
        return Ctx(scenario, FLAVOURS[spec.flavour], api or spec.api, spec.mode, spec.device,
                   spec.optimizer, Rates.for_optimizer(spec.optimizer), spec.change_step, spec.steps,
                   dist=self.strategy(spec), pair_every=spec.eager_pair_every if spec.mode == "eager" else 1)

    def batches(self, spec: CellSpec):
        key = (spec.steps, spec.batch_size, spec.seed, spec.data)
        if key not in self._data:
            x, y = data.dataset(spec.steps * spec.batch_size, spec.seed, spec.data)
            self._data[key] = make_batches(x, y, spec.steps, spec.batch_size)
        return self._data[key]

    def reference(self, spec: CellSpec, batches):
        """The bare static step of the cell's flavour, strategy, mode, device and optimizer, built
        and traced once per worker (``bench.measure.reference``), timed beside every step of the cells."""
        key = (spec.flavour, spec.strategy, spec.mode, spec.device, spec.optimizer, spec.steps)
        if key not in self._reference:
            self._reference[key] = Reference(self.ctx(REGISTRY["static"], spec, api="loop"), batches, spec.seed)
        return self._reference[key]

    def run(self, spec: CellSpec) -> CellResult:
        if spec.device == "gpu" and not self.gpus:
            return failed(spec, "no GPU visible to TensorFlow on this machine", status="skipped")
        try:
            if spec.strategy == "multiworker" and self.cluster is None:
                return cluster.run_cell(spec)
            return self._measure(spec)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            return failed(spec, one_line(e))

    def _measure(self, spec: CellSpec) -> CellResult:
        row = base_row(spec)
        batches = self.batches(spec)
        ref = self.reference(spec, batches)
        scenario = REGISTRY[spec.scenario]
        step_rows, times, paired, refs, orders, traces, errors = [], [], [], [], [], [], []
        for r in range(spec.repeats):
            # One pass measures the LRs and times the steps: the probe reads weights and slots
            # outside the clock. Only where the probe must record inside the train step (several
            # steps per call of fit's train function) does a second pass from the same seed time
            # the same steps with nothing added to them.
            ctx = self.ctx(scenario, spec)
            apart = steps_per_call(ctx) > 1
            rows = run_repeat(ctx, batches, spec.seed + r, True, None if apart else ref)
            errors.append(ctx.error)
            if apart:
                timed_ctx = self.ctx(scenario, spec)
                timed = run_repeat(timed_ctx, batches, spec.seed + r, False, ref)
                errors.append(timed_ctx.error)
                for s, t in zip(rows, timed):
                    s.update({k: t[k] for k in ("step_s", "pair_s", "ref_s", "ref_first", "traces")})
            for s in rows:
                s.update({k: row[k] for k in KEY}, repeat=r)
            step_rows += rows
            times.append([s["step_s"] for s in rows])
            paired.append([s["pair_s"] for s in rows])
            refs.append([s["ref_s"] for s in rows])
            orders.append([s["ref_first"] for s in rows])
            traces.append([s["traces"] for s in rows])
        raised = next((e for e in errors if e), "")
        row.update(
            status="ok",
            replicas=ctx.replicas,
            **judge(spec.change_step, step_rows, raised),
            error=raised,
            traces=max(t[-1] for t in traces) if traces and traces[0] else 0,
            **timing.summarise(times, traces, spec.warmup, refs, orders, paired),
        )
        return CellResult(row, step_rows)


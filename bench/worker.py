"""A worker process: imports TensorFlow once and runs the cells the runner sends it.

Protocol: one JSON object per line. The runner writes ``{"cell": spec}`` to stdin; the worker
answers on the original stdout with ``{"hello": {...}}`` once, then ``{"result": {...}}`` per cell.
TensorFlow's own output goes to stderr, never into the protocol stream.
"""

from __future__ import annotations

import json
import os
import platform
import re
import signal
import sys
import traceback


def protocol_stream():
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything printed by libraries lands on stderr
    sys.stdout = sys.stderr
    return out


def versions() -> dict:
    import numpy as np
    import tensorflow as tf

    info = {"python": platform.python_version(), "tensorflow": tf.__version__, "numpy": np.__version__}
    for name in ("keras", "tf_keras"):
        try:
            info[name] = __import__(name).__version__
        except Exception:
            info[name] = None
    info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    from tensorflow.python.framework import config as tf_config

    info["op_determinism"] = tf_config.is_op_determinism_enabled()
    info["core"] = os.environ.get("LR_BENCH_CORE")
    info["legacy_keras_env"] = os.environ.get("TF_USE_LEGACY_KERAS", "")
    info["logical_cpus"] = len(tf.config.list_logical_devices("CPU"))
    info["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
    info["inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads()
    return info


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


def judge(spec: dict, step_rows: list[dict], raised: str) -> dict:
    """The cell's verdict and reported_ok, from its step rows after the change."""
    import numpy as np

    from bench import verdict

    after = [s for s in step_rows if s["step"] >= spec["change_step"]]
    col = lambda name: np.array([s[name] for s in after], dtype=np.float64)  # noqa: E731
    return dict(
        verdict=verdict.verdict(col("lr_effective"), col("lr_intended"), col("lr_baseline"), bool(raised),
                                spread=col("lr_spread")),
        reported_ok=verdict.reported_ok(col("lr_reported"), col("lr_effective")),
    )


class CellRunner:
    """Runs cell specs, caching data, strategies and the bare reference per worker.

    ``cluster``: in a process of a multiworker cell, the MultiWorkerMirroredStrategy it runs
    under; elsewhere multiworker cells are handed to ``bench.multiworker``, which starts them.
    """

    def __init__(self, gpus: list[str], cluster=None):
        self.gpus = gpus
        self.cluster = cluster
        self._data: dict = {}
        self._reference: dict = {}
        self._strategies: dict = {}

    def strategy(self, spec):
        """The tf.distribute.Strategy of the cell (None for "none")."""
        name = spec["strategy"]
        if name == "none":
            return None
        if name == "multiworker":
            return self.cluster
        key = (spec["device"], spec["replicas"])
        if key not in self._strategies:
            import tensorflow as tf

            if spec["device"] == "gpu":
                devices = [f"/GPU:{i}" for i in range(len(self.gpus))]
            else:
                cpus = tf.config.list_logical_devices("CPU")
                if len(cpus) < spec["replicas"]:
                    raise RuntimeError(f"mirrored over {spec['replicas']} CPUs needs a worker started with as many "
                                       f"logical CPU devices; this one has {len(cpus)}")
                devices = [f"/CPU:{i}" for i in range(spec["replicas"])]
            self._strategies[key] = tf.distribute.MirroredStrategy(devices)
        return self._strategies[key]

    def ctx(self, scenario, spec, api=None):
        from bench import cell
        from bench.flavours import FLAVOURS
        from bench.scenarios import Rates

        return cell.Ctx(scenario, FLAVOURS[spec["flavour"]], api or spec["api"], spec["mode"], spec["device"],
                        spec["optimizer"], Rates.for_optimizer(spec["optimizer"]), spec["change_step"], spec["steps"],
                        dist=self.strategy(spec))

    def batches(self, spec):
        from bench import cell, data

        key = (spec["steps"], spec["batch_size"], spec["seed"], spec.get("data"))
        if key not in self._data:
            x, y = data.dataset(spec["steps"] * spec["batch_size"], spec["seed"], spec.get("data"))
            self._data[key] = cell.make_batches(x, y, spec["steps"], spec["batch_size"])
        return self._data[key]

    def reference(self, spec, batches):
        """The bare static step of the cell's flavour, strategy, mode, device and optimizer, built
        and traced once per worker (``cell.Reference``), timed beside every step of the cells."""
        from bench import cell
        from bench.scenarios import REGISTRY

        key = (spec["flavour"], spec["strategy"], spec["mode"], spec["device"], spec["optimizer"], spec["steps"])
        if key not in self._reference:
            self._reference[key] = cell.Reference(self.ctx(REGISTRY["static"], spec, api="loop"), batches, spec["seed"])
        return self._reference[key]

    def run(self, spec: dict) -> dict:
        from bench.columns import KEY

        row = {k: spec[k] for k in KEY}
        row.update(replicas=spec["replicas"], steps=spec["steps"], change_step=spec["change_step"],
                   repeats=spec["repeats"])
        if spec["device"] == "gpu" and not self.gpus:
            row.update(status="skipped", error="no GPU visible to TensorFlow on this machine")
            return {"cell": row, "steps": []}
        try:
            if spec["strategy"] == "multiworker" and self.cluster is None:
                from bench import multiworker

                return multiworker.run_cell(spec, row)
            return self._measure(spec, row)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            row.update(status="error", error=one_line(e))
            return {"cell": row, "steps": []}

    def _measure(self, spec, row) -> dict:
        from bench import cell, timing
        from bench.columns import KEY
        from bench.scenarios import REGISTRY

        batches = self.batches(spec)
        ref = self.reference(spec, batches)
        scenario = REGISTRY[spec["scenario"]]
        step_rows, times, paired, refs, orders, traces, errors = [], [], [], [], [], [], []
        for r in range(spec["repeats"]):
            # One pass measures the LRs and times the steps: the probe reads weights and slots
            # outside the clock. Only where the probe must record inside the train step (several
            # steps per call of fit's train function) does a second pass from the same seed time
            # the same steps with nothing added to them.
            ctx = self.ctx(scenario, spec)
            apart = cell.steps_per_call(ctx) > 1
            rows = cell.run_repeat(ctx, batches, spec["seed"] + r, True, None if apart else ref)
            errors.append(ctx.error)
            if apart:
                timed_ctx = self.ctx(scenario, spec)
                timed = cell.run_repeat(timed_ctx, batches, spec["seed"] + r, False, ref)
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
            **judge(spec, step_rows, raised),
            error=raised,
            traces=max(t[-1] for t in traces) if traces and traces[0] else 0,
            **timing.summarise(times, traces, spec["warmup"], refs, orders, paired),
        )
        return {"cell": row, "steps": step_rows}


def configure(tf, core) -> None:
    """Threads and devices, before the TensorFlow runtime initialises."""
    if core is not None:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    # A worker for mirrored cells splits its CPU into as many logical devices as replicas.
    logical = int(os.environ.get("LR_BENCH_LOGICAL_CPUS", "0") or 0)
    if logical > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * logical)


def main() -> None:
    # Ctrl-C on a terminal reaches the whole process group; the runner decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = protocol_stream()
    core = os.environ.get("LR_BENCH_CORE")
    if core is not None:  # a core of its own, so timings never share one with another worker
        os.sched_setaffinity(0, {int(core)})
    import tensorflow as tf

    configure(tf, core)

    # Off by default: with op determinism on, Keras 3's fit silently drops jit_compile=True
    # (model_supports_jit), so "xla" fit cells would not be XLA. Pinned single-threaded workers
    # give repeatable CPU results without it.
    if os.environ.get("LR_BENCH_DETERMINISTIC", "0") == "1":
        tf.config.experimental.enable_op_determinism()
    info = versions()
    out.write(json.dumps({"hello": info}) + "\n")
    runner = CellRunner(info["gpus"])
    for line in sys.stdin:
        msg = json.loads(line)
        if "cell" in msg:
            out.write(json.dumps({"result": runner.run(msg["cell"])}, allow_nan=True) + "\n")
    if "bench.multiworker" in sys.modules:  # stop the multiworker processes this worker started
        sys.modules["bench.multiworker"].shutdown()


if __name__ == "__main__":
    main()

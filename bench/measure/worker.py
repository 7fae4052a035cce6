"""A worker process: imports TensorFlow once and runs the cells the runner sends it.

Speaks ``bench.results.protocol`` on its original stdout; TensorFlow's own output goes to stderr,
never into the protocol stream. ``python -m bench.measure.worker``.
"""

from __future__ import annotations

import os
import platform
import signal
import sys

from bench.results import protocol


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
    out.write(protocol.hello_line(info))
    from bench.measure import cluster
    from bench.measure.cells import CellRunner

    runner = CellRunner(info["gpus"])
    for line in sys.stdin:
        kind, spec = protocol.decode(line)
        if kind == "cell":
            out.write(protocol.result_line(runner.run(spec)))
    cluster.shutdown()  # stop the multiworker processes this worker started, if any


if __name__ == "__main__":
    main()

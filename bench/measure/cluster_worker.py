"""One process of a multiworker cell (``bench.measure.cluster`` starts them): joins the
``MultiWorkerMirroredStrategy`` that ``TF_CONFIG`` names, then runs each cell it is sent under it.

Imports TensorFlow. ``python -m bench.measure.cluster_worker``.
"""
from __future__ import annotations

import os
import signal
import sys

from bench.measure.cluster import COLLECTIVE_TIMEOUT
from bench.results import protocol


def main() -> None:
    """One process of a multiworker cell: reads the cell, runs it, answers with its result."""
    from bench.measure import worker
    from bench.measure.cells import CellRunner

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = worker.protocol_stream()
    core = os.environ.get("LR_BENCH_CORE")
    import tensorflow as tf

    worker.configure(tf, core)
    # Created first: the strategy connects the workers before anything else runs in TensorFlow.
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=COLLECTIVE_TIMEOUT)
    cluster = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    info = worker.versions()
    runner = CellRunner(info["gpus"], cluster=cluster)
    for line in sys.stdin:
        _, spec = protocol.decode(line)
        out.write(protocol.result_line(runner.run(spec)))
        out.flush()
    # Nothing is left to do; skip the interpreter's teardown of the collective runtime, which can
    # wait on peers that have already gone.
    os._exit(0)


if __name__ == "__main__":
    main()

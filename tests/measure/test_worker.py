"""A worker process as the runner starts it (``bench.runner.workers.Worker``): pinned to one core with one
TensorFlow thread; op determinism off unless ``LR_BENCH_DETERMINISTIC=1``, and under it a Keras 3
``fit`` cell whose ``jit_compile=True`` Keras dropped recorded as an error, not as an XLA cell."""

import os

import pytest

from bench.results.protocol import CellSpec
from bench.runner.workers import Worker, usable_cores


def spec(api: str, mode: str) -> CellSpec:
    """One small cell: the assign scenario, four steps, one repeat."""
    return CellSpec("assign", "keras3", "none", api, mode, "cpu", "sgd", replicas=1, steps=4, repeats=1, warmup=1,
                    seed=0, batch_size=32, change_step=2)


def _start(tmp_path, core) -> Worker:
    w = Worker("keras3", core, tmp_path / "worker.log", timeout=300)
    w.start()
    return w


@pytest.fixture(scope="module")
def pinned(tmp_path_factory):
    """A worker on the last usable core, as the runner starts one per core."""
    core = max(usable_cores())
    w = _start(tmp_path_factory.mktemp("pinned"), core)
    yield core, w
    w.stop()


def test_a_pinned_worker_runs_on_its_core_with_one_tensorflow_thread(pinned):
    core, w = pinned
    assert os.sched_getaffinity(w.proc.pid) == {core}  # read from outside the process
    assert w.hello["core"] == str(core)
    assert (w.hello["intra_op_threads"], w.hello["inter_op_threads"]) == (1, 1)
    assert w.hello["op_determinism"] is False  # the default
    cell = w.run(spec("loop", "function")).cell
    assert (cell["status"], cell["verdict"]) == ("ok", "effective"), cell["error"]
    assert os.sched_getaffinity(w.proc.pid) == {core}  # TensorFlow's start-up did not widen it


def test_under_op_determinism_a_fit_cell_whose_xla_keras_dropped_is_an_error(pinned, tmp_path, monkeypatch):
    # without determinism the fit cell runs under XLA
    ok = pinned[1].run(spec("fit", "xla")).cell
    assert (ok["status"], ok["verdict"]) == ("ok", "effective"), ok["error"]

    monkeypatch.setenv("LR_BENCH_DETERMINISTIC", "1")
    w = _start(tmp_path, None)  # unpinned, as with more workers than cores
    try:
        assert w.hello["op_determinism"] is True
        assert os.sched_getaffinity(w.proc.pid) == set(usable_cores()) and w.hello["core"] is None
        assert (w.hello["intra_op_threads"], w.hello["inter_op_threads"]) == (0, 0)  # 0: TensorFlow chooses
        fit = w.run(spec("fit", "xla")).cell
        assert fit["status"] == "error"
        assert "jit_compile=True was dropped by Keras: this cell would not run under XLA" in fit["error"]
        # measured: the loop's tf.function(jit_compile=True) is not dropped, and fit without XLA runs
        for api, mode in (("loop", "xla"), ("fit", "function")):
            cell = w.run(spec(api, mode)).cell
            assert (cell["status"], cell["verdict"]) == ("ok", "effective"), (api, mode, cell["error"])
    finally:
        w.stop()

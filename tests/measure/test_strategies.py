"""The strategy axis: mirrored replicas in one worker, multiworker processes, per-replica LRs.

The cells are run here and their verdicts measured; where a verdict is pinned it is the installed
TensorFlow's behaviour, read from the weights of every replica.
"""

import json

import numpy as np
import pandas as pd
import pytest

from bench import results
from bench.core.config import Config
from bench.measure.cluster import combine, free_ports, tf_config
from bench.results.protocol import CellResult, CellSpec
from bench.runner.plan import env_group, plan
from bench.scenarios import REGISTRY
from bench.core.verdicts import spread, verdict
from tests.conftest import run_cli
from tests.proctree import tagged, tagged_env
from tests.runner.test_reliability import FAULTS, _cli

ONE = ["--profile", "quick", "--flavours", "keras3", "--devices", "cpu", "--modes", "function",
       "--optimizers", "sgd", "--no-lessons", "--workers", "1"]


def test_plan_runs_strategies_only_where_a_scenario_declares_them():
    cfg = Config(profile="quick", strategies=("none", "mirrored", "multiworker"), flavours=("keras3",)).resolved()
    specs = plan(cfg, gpus=0)
    distributed = {s.scenario for s in specs if s.strategy != "none"}
    assert distributed == {sid for sid, s in REGISTRY.items() if "mirrored" in s.strategies}
    assert {"assign", "attr-set", "schedule-swap", "schedule-swap-retrace", "schedule-restart",
            "replica-assign"} <= distributed
    assert {s.replicas for s in specs if s.strategy == "none"} == {1}
    assert {s.replicas for s in specs if s.strategy != "none"} == {2}
    # mirrored cells need logical CPU devices, fixed when TensorFlow starts: a worker of their own
    mirrored = next(s for s in specs if s.strategy == "mirrored")
    assert env_group(mirrored) == "keras3:cpus=2" != env_group(next(s for s in specs if s.strategy == "none"))


def test_diverged_is_judged_from_the_spread_of_replicas():
    lr = np.full(4, 0.01)
    assert spread([0.01, 0.01, 0.01]) == 0.0
    assert spread([0.01, 0.1]) == pytest.approx(9.0)
    assert verdict(lr, lr, lr, False, spread=np.zeros(4)) == "effective"
    assert verdict(lr, lr, lr, False, spread=np.array([0, 0, 0.5, 0])) == "diverged"
    assert verdict(lr, lr, lr, False, spread=np.array([np.nan] * 4)) == "effective"


def test_workers_results_combine_into_one_cell_with_their_spread():
    spec = CellSpec("assign", "keras3", "multiworker", "loop", "function", "cpu", "sgd", replicas=2, steps=3,
                    repeats=1, warmup=0, seed=0, batch_size=32, change_step=1)

    def worker(lrs, error=""):
        steps = [dict(repeat=0, step=i, lr_effective=lr, lr_intended=0.1 if i else 0.01, lr_baseline=0.01,
                      lr_reported=lr, lr_spread=0.0) for i, lr in enumerate(lrs)]
        return CellResult(dict(status="ok", error=error, verdict="effective"), steps)

    same = combine(spec, [worker([0.01, 0.1, 0.1]), worker([0.01, 0.1, 0.1])])
    assert same.cell["verdict"] == "effective"
    apart = combine(spec, [worker([0.01, 0.1, 0.1]), worker([0.01, 0.01, 0.01])])
    assert apart.cell["verdict"] == "diverged"
    assert [s["lr_spread"] for s in apart.steps] == pytest.approx([0.0, 0.9, 0.9])
    failed = combine(spec, [worker([0.01]), CellResult(dict(status="error", error="boom"))])
    assert failed.cell["status"] == "error" and failed.cell["error"] == "worker 1: boom"


def test_tf_config_names_every_worker_on_distinct_free_ports():
    # the opted-in, exposed path; in a private namespace every port is free
    ports = free_ports(3)
    assert len(set(ports)) == 3
    cfg = json.loads(tf_config(ports, 2))
    assert cfg["task"] == {"type": "worker", "index": 2}
    assert cfg["cluster"]["worker"] == [f"127.0.0.1:{p}" for p in ports]


@pytest.mark.parametrize("args,expected", [
    (["--strategies", "ring"], "--strategies: unknown id 'ring'; valid: none, mirrored, multiworker"),
    (["--strategies", "mirrored", "--replicas", "3"], "--replicas 3: the batch of 32 does not split evenly"),
    (["--replicas", "1"], "--replicas: 1 is too small; expected an integer >= 2"),
])
def test_bad_strategy_options_get_one_line_and_exit_2(args, expected, tmp_path):
    proc = run_cli("run", *args, "--out", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and expected in proc.stderr
    assert not (tmp_path / "cells.csv").exists()


@pytest.fixture(scope="module")
def mirrored_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored")
    proc = run_cli("run", *ONE, "--strategies", "none,mirrored", "--scenarios", "static,assign,replica-assign",
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def test_mirrored_cells_measure_every_replica(mirrored_run):
    cells = results.read_cells(mirrored_run)
    m = cells[cells.strategy == "mirrored"].set_index(["scenario", "api"])
    assert len(m) == 6 and set(m["status"]) == {"ok"}, m[["status", "error"]]
    assert set(m["replicas"]) == {2}
    assert set(pd.to_numeric(m["traces"])) == {1}  # counted once per trace, not once per replica
    # measured, here: the assign changes the LR on both replicas, wherever it is made
    for sid in ("assign", "replica-assign"):
        for api in ("loop", "fit"):
            assert m.loc[(sid, api), "verdict"] == "effective"
    steps = results.read_steps(mirrored_run)
    ms = steps[steps.strategy == "mirrored"]
    assert len(ms) == 6 * 10 and (ms.lr_spread == 0).all()
    # the probe really sees the change on the replicas: ten times the LR after the change step
    a = ms[(ms.scenario == "assign") & (ms.api == "loop")].set_index("step")["lr_effective"]
    assert a[6] == pytest.approx(10 * a[4], rel=1e-3)


def test_truth_table_shows_the_strategy(mirrored_run):
    truth = (mirrored_run / "TRUTH.md").read_text()
    assert "### keras3 · mirrored ×2 · cpu" in truth and "| keras3 | keras3 · mirrored ×2 |" in truth


def test_multiworker_cells_complete_and_leave_no_process(tmp_path):
    env, tag = tagged_env()
    proc = _cli("run", *ONE, "--apis", "loop", "--strategies", "multiworker",
                "--scenarios", "static,assign,chief-only-assign", "--out", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = results.read_cells(tmp_path).set_index("scenario")
    assert set(cells.status) == {"ok"}, cells.error
    assert set(cells.replicas) == {2}
    assert cells.loc["static", "verdict"] == "effective" and cells.loc["assign", "verdict"] == "effective"
    # measured: an assign made on the chief alone reaches only the chief's copy of the model
    assert cells.loc["chief-only-assign", "verdict"] == "diverged"
    steps = results.read_steps(tmp_path)
    chief = steps[steps.scenario == "chief-only-assign"].set_index("step")
    assert chief.loc[chief.index >= 5, "lr_spread"].min() > 0.5
    assert not tagged(tag)  # no process of this run is left


def test_a_failing_multiworker_process_takes_the_others_down(tmp_path):
    env, tag = tagged_env(**{k: FAULTS[k] for k in ("LR_BENCH_SCENARIO_MODULES",)})
    proc = _cli("run", *ONE, "--apis", "loop", "--strategies", "multiworker", "--scenarios", "fault-worker-exit",
                "--out", str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cell = results.read_cells(tmp_path).iloc[0]
    # the cause is the process that exited, not the survivor's collective time-out: that one was
    # killed as soon as the other's output ended
    assert cell["status"] == "error" and "process 1 of 2 exited with status 3" in cell["error"]
    assert "timed out" not in cell["error"]
    assert not tagged(tag)


def test_errors_of_distributed_cells_read_as_one_line():
    from bench.measure.cells import one_line

    graph = ValueError("Graph execution error:\n\nDetected at node X defined at (most recent call last):\n"
                       "  File \"a.py\", line 1, in <module>\n\nTrying to access resource k located in device "
                       "CPU:1 from device CPU:0\n Cf. https://example.org\n\t [[{{node X}}]] [Op:__inference_f_1]")
    assert one_line(graph) == "ValueError: Trying to access resource k located in device CPU:1 from device CPU:0"
    dump = ValueError("Attempt to convert a value (PerReplica:{\n  0: <tf.Tensor: shape=(16, 784)>\n}) "
                      "with an unsupported type (<class 'PerReplica'>) to a Tensor.")
    assert one_line(dump) == ("ValueError: Attempt to convert a value (PerReplica:{ … }) with an unsupported "
                              "type (<class 'PerReplica'>) to a Tensor.")

"""Strategy cells beyond SGD in tf.function: Adam's per-replica probe, eager and XLA under mirrored,
and fit under multiworker in both Keras flavours.

Each run is the smallest that shows the behaviour (the assign scenario, four steps, one repeat);
what is pinned is what these runs measured on the installed TensorFlow, read from every replica's
weights, against NumPy numbers written out here.
"""

import numpy as np
import pytest

from bench import results
from tests.conftest import run_cli

STEPS, CHANGE = 4, 2
SMALL = ["run", "--profile", "quick", "--steps", str(STEPS), "--devices", "cpu", "--scenarios", "assign",
         "--workers", "1", "--no-lessons"]


def _lrs(steps, base):
    """The assign scenario's trajectory: the base LR, then ten times it from the change step on."""
    return np.where(steps["step"].to_numpy() < CHANGE, base, 10 * base)


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
    out = tmp_path_factory.mktemp("mirrored-adam")
    proc = run_cli(*SMALL, "--strategies", "mirrored", "--flavours", "keras3", "--apis", "loop",
                   "--modes", "eager,function,xla", "--optimizers", "adam", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return results.read_cells(out).set_index("mode"), results.read_steps(out)


@pytest.mark.parametrize("mode", ["eager", "function"])
def test_adam_is_measured_on_every_replica_under_mirrored(mirrored, mode):
    cells, steps = mirrored
    c = cells.loc[mode]
    assert (c["status"], c["strategy"], c["replicas"]) == ("ok", "mirrored", 2), c["error"]
    assert (c["verdict"], bool(c["reported_ok"])) == ("effective", True)
    s = steps[steps["mode"] == mode].sort_values("step")
    assert list(s["step"]) == list(range(STEPS))
    # Adam's LR solved from each replica's own moments: both replicas applied 1e-3, then 1e-2
    np.testing.assert_allclose(s["lr_effective"], _lrs(s, 1e-3), rtol=1e-3)
    assert np.isfinite(s["lr_spread"]).all() and (s["lr_spread"] < 1e-3).all()


def test_xla_under_mirrored_over_logical_cpus_is_an_error_cell(mirrored):
    # measured: the compiled replica step cannot reach the other logical CPU's copy of the variables
    cells, steps = mirrored
    c = cells.loc["xla"]
    assert c["status"] == "error" and c["replicas"] == 2
    assert "InvalidArgumentError" in c["error"] and "located in device" in c["error"], c["error"]
    assert steps[steps["mode"] == "xla"].empty


@pytest.fixture(scope="module")
def multiworker_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("multiworker-fit")
    proc = run_cli(*SMALL, "--strategies", "multiworker", "--flavours", "keras3,tf_keras", "--apis", "fit",
                   "--modes", "function", "--optimizers", "sgd", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return results.read_cells(out).set_index("flavour"), results.read_steps(out)


def test_keras3_fit_does_not_run_under_multiworker(multiworker_fit):
    cells, _ = multiworker_fit
    c = cells.loc["keras3"]
    # measured: Keras 3's fit hands a PerReplica value to a tensor conversion (keras-team/keras#20585)
    assert c["status"] == "error" and "PerReplica" in c["error"], c["error"]


def test_tf_keras_fit_runs_under_multiworker_on_both_workers(multiworker_fit):
    cells, steps = multiworker_fit
    c = cells.loc["tf_keras"]
    assert (c["status"], c["strategy"], c["replicas"]) == ("ok", "multiworker", 2), c["error"]
    assert (c["verdict"], bool(c["reported_ok"])) == ("effective", True)
    s = steps[steps["flavour"] == "tf_keras"].sort_values("step")
    np.testing.assert_allclose(s["lr_effective"], _lrs(s, 1e-2), rtol=1e-3)  # SGD's base LR, then 10x
    assert (s["lr_spread"] < 1e-3).all()  # every worker applied the same LR

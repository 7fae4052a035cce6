"""The long-tail scenarios, run through the whole verdict machinery in one small shared matrix.

Every verdict pinned here was measured by the session's own run of the cells (quick profile, SGD,
eager and function, the loop api, Keras 3 and tf_keras's legacy optimizers); the checks of the
measurements themselves go back to the steps and an independent NumPy reading of the trajectories.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import results

from bench.analysis import truth
from bench.results.columns import VERDICTS
from bench.scenarios import REGISTRY, Rates
from bench.scenarios.float_arg import NEW_VALUES, python_lr
from tests.conftest import run_cli

TAIL = ("lr-alias", "local-rebind", "closure-float", "float-arg", "tensor-arg", "schedule-set-float",
        "schedule-assign", "schedule-swap-retrace", "schedule-restart", "schedule-swap-as-restart")
#: The recipe's own scenarios ride along so the audit has its cells too.
RECIPE = ("assign", "attr-set", "schedule-decay", "schedule-swap")
FLAVOURS = ("keras3", "tf_keras_legacy")
MODES = ("eager", "function")
STEPS = 6  # change before step 3: three steps on each side keep the run short

_RUN: dict = {}


def tail_results(tmp_path_factory):
    """Run the shared matrix once per test process; test_audit reads the same folder."""
    if "out" not in _RUN:
        out = tmp_path_factory.mktemp("tail")
        proc = run_cli("run", "--profile", "quick", "--steps", str(STEPS), "--devices", "cpu", "--optimizers", "sgd",
                       "--apis", "loop",
                       "--modes", ",".join(MODES), "--flavours", ",".join(FLAVOURS),
                       "--scenarios", ",".join(TAIL + RECIPE), "--out", str(out), "--no-lessons")
        assert proc.returncode == 0, proc.stderr[-2000:]
        _RUN["out"] = out
    return _RUN["out"]


@pytest.fixture(scope="module")
def tail(tmp_path_factory):
    out = tail_results(tmp_path_factory)
    return out, results.read_cells(out), results.read_steps(out)


def _verdicts(cells, scenario):
    c = cells[cells["scenario"] == scenario]
    return {(r.flavour, r.mode): (r.verdict, r.reported_ok) for r in c.itertuples()}


def test_every_tail_scenario_ran_in_every_flavour_and_mode(tail):
    _, cells, steps = tail
    for sid in TAIL:
        c = cells[cells["scenario"] == sid]
        assert {(r.flavour, r.mode) for r in c.itertuples()} == {(f, m) for f in FLAVOURS for m in MODES}, sid
        assert (c["status"] == "ok").all(), c[["flavour", "mode", "error"]]
        assert set(c["verdict"]) <= set(VERDICTS)
    assert len(steps) == len(cells) * STEPS


def test_verdicts_agree_with_an_independent_reading_of_the_weights(tail):
    # Recompute each verdict from the measured effective LRs and the scenario's NumPy trajectories,
    # without the bench's verdict module.
    _, cells, steps = tail
    for r in cells.itertuples():
        s = steps[(steps["scenario"] == r.scenario) & (steps["flavour"] == r.flavour) & (steps["mode"] == r.mode)]
        s = s[s["step"] >= r.change_step].sort_values("step")
        eff = s["lr_effective"].to_numpy()
        rates, sc = Rates.for_optimizer("sgd"), REGISTRY[r.scenario]
        want = np.array([sc.intended(rates, t, r.change_step) for t in s["step"]])
        base = np.array([sc.baseline(rates, t, r.change_step) for t in s["step"]])
        if r.verdict == "raises":
            assert r.error
        elif np.allclose(eff, want, rtol=1e-3, atol=0):
            assert r.verdict == "effective", r
        elif np.allclose(eff, base, rtol=1e-3, atol=0):
            assert r.verdict == "ignored", r
        else:
            assert r.verdict == "wrong", r


def test_names_and_floats_outside_the_optimizer(tail):
    _, cells, _ = tail
    # Rebinding a name never reaches the optimizer, and the optimizer says so truthfully.
    assert set(_verdicts(cells, "local-rebind").values()) == {("ignored", True)}
    # A float read inside the step is live eagerly and frozen into the trace when compiled.
    for (flavour, mode), (v, _) in _verdicts(cells, "closure-float").items():
        assert v == ("effective" if mode == "eager" else "ignored"), (flavour, mode)


def test_lr_alias_depends_on_the_flavour(tail):
    _, cells, _ = tail
    got = _verdicts(cells, "lr-alias")
    # Keras 3 has no `lr` property: the assignment binds a plain attribute and nothing changes.
    assert {got[("keras3", m)] for m in MODES} == {("ignored", True)}
    assert {got[("tf_keras_legacy", m)] for m in MODES} == {("effective", True)}


def test_python_float_argument_retraces_every_step_and_a_tensor_does_not(tail):
    out, cells, _ = tail
    fl = cells[(cells["scenario"] == "float-arg")]
    te = cells[(cells["scenario"] == "tensor-arg")]
    assert set(fl["verdict"]) == set(te["verdict"]) == {"effective"}
    change = int(fl["change_step"].iloc[0])
    new_values = len({python_lr(Rates.for_optimizer("sgd"), s, change) for s in range(change, STEPS)})
    assert new_values == min(STEPS - change, NEW_VALUES)
    for flavour in FLAVOURS:
        f = fl[(fl["flavour"] == flavour) & (fl["mode"] == "function")].iloc[0]
        t = te[(te["flavour"] == flavour) & (te["mode"] == "function")].iloc[0]
        assert f.traces == 1 + new_values and t.traces == 1  # the cost of it: tests/benchmarks/test_steps.py
    table = truth.retrace_table(cells, results.read_steps(out))
    assert f"| `float-arg` | keras3 | loop · function | {1 + new_values} | {new_values} |" in table
    assert "| `tensor-arg` | keras3 | loop · function | 1 | 0 |" in table


def test_the_python_float_is_new_for_five_steps_from_the_change_then_held():
    r, change = Rates.for_optimizer("adam"), 25
    lrs = [python_lr(r, s, change) for s in range(50)]
    assert set(lrs[:change]) == {r.base}
    assert len(set(lrs[change:change + NEW_VALUES])) == NEW_VALUES
    assert set(lrs[change + NEW_VALUES - 1:]) == {lrs[change + NEW_VALUES - 1]}


def test_schedule_swap_needs_a_retrace_and_a_restart_does_not(tail):
    _, cells, _ = tail
    for flavour in FLAVOURS:
        swap = _verdicts(cells, "schedule-swap")
        retrace = cells[(cells["scenario"] == "schedule-swap-retrace") & (cells["flavour"] == flavour)]
        restart = cells[(cells["scenario"] == "schedule-restart") & (cells["flavour"] == flavour)]
        assert swap[(flavour, "function")][0] == "ignored"
        assert set(retrace["verdict"]) == set(restart["verdict"]) == {"effective"}
        assert retrace.set_index("mode")["traces"].to_dict() == {"eager": 0, "function": 2}
        assert restart.set_index("mode")["traces"].to_dict() == {"eager": 0, "function": 1}
        # Judged against a restart, the plain swap starts part-way down the new schedule (eager)
        # or keeps the old one (compiled).
        as_restart = _verdicts(cells, "schedule-swap-as-restart")
        assert as_restart[(flavour, "eager")][0] == "wrong"
        assert as_restart[(flavour, "function")][0] == "ignored"


def test_setting_a_float_on_a_schedule(tail):
    _, cells, _ = tail
    for sid in ("schedule-set-float", "schedule-assign"):
        k3 = cells[(cells["scenario"] == sid) & (cells["flavour"] == "keras3")]
        assert set(k3["verdict"]) == {"raises"}, sid
    assert "TypeError" in cells.loc[cells["scenario"] == "schedule-set-float", "error"].iloc[0]
    # OptimizerV2 swaps its hyperparameter for the float: seen eagerly, not by the traced step.
    legacy = _verdicts(cells, "schedule-set-float")
    assert legacy[("tf_keras_legacy", "eager")][0] == "effective"
    assert legacy[("tf_keras_legacy", "function")] == ("ignored", False)


def test_truth_table_shows_where_verdicts_differ(tail):
    out, cells, _ = tail
    text = truth.render(out)
    assert "| scenario | keras3 | tf_keras_legacy | varies by |" in text
    row = next(line for line in text.splitlines() if line.startswith("| `lr-alias` | ❌"))
    assert row.endswith("| **flavour** |")
    row = next(line for line in text.splitlines() if line.startswith("| `closure-float` | ✅"))
    assert "**mode**" in row and "eager" in row and "function" in row
    surprises = text.split("## Surprises", 1)[1].split("##", 1)[0]
    lines = surprises.splitlines()
    assert any(line.startswith("- `lr-alias`: ") and line.endswith("— in keras3 (2 of 4 cells)") for line in lines)
    assert any(line.startswith("- `attr-set`: ") and "measured ✅ effective" in line for line in lines)


def test_tail_scenarios_declare_where_they_apply():
    for sid in ("float-arg", "tensor-arg"):
        assert not REGISTRY[sid].applies("keras3", "fit", "function", "sgd")
        assert REGISTRY[sid].applies("tf_keras", "loop", "xla", "adam")
    r = Rates.for_optimizer("adam")
    # The restart's intent is the new schedule from its own step 0 at the change.
    assert REGISTRY["schedule-restart"].intended(r, 30, 30) == r.new_schedule.initial
    assert REGISTRY["schedule-swap"].intended(r, 30, 30) == r.new_schedule(30)

"""The fit-callback scenarios, measured: LearningRateScheduler, ReduceLROnPlateau, and a per-batch
callback under ``steps_per_execution``, with the per-step probe that such calls need."""

import numpy as np
import pandas as pd
import pytest

from bench import results
from bench.core.config import BASE_LR, CHANGE_FACTOR
from tests.conftest import run_cli

import tensorflow as tf  # noqa: E402  required: a broken install fails here, not skips

from bench.measure import build, context, passes  # noqa: E402
from bench.core.flavours import FLAVOURS  # noqa: E402
from bench.scenarios import Rates, Scenario  # noqa: E402
from bench.scenarios.callback_plateau import FACTOR  # noqa: E402
from bench.scenarios.callback_scheduler import DECAY  # noqa: E402
from bench.scenarios.steps_per_execution import DECAY as SPE_DECAY, PER_CALL  # noqa: E402

MINE = ("callback-scheduler", "callback-on-schedule", "callback-plateau", "steps-per-execution")
FLAVOURS_RUN = ("keras3", "tf_keras")
STEPS, CHANGE = 10, 5  # the quick profile


@pytest.fixture(scope="session")
def fit_cells(tmp_path_factory):
    """The four scenarios, quick profile, compiled SGD, in Keras 3 and tf_keras: run once."""
    out = tmp_path_factory.mktemp("fit-callbacks")
    proc = run_cli("run", "--profile", "quick", "--apis", "fit", "--modes", "function", "--optimizers", "sgd",
                   "--devices", "cpu", "--flavours", ",".join(FLAVOURS_RUN), "--scenarios", ",".join(MINE),
                   "--out", str(out), "--no-lessons")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return results.read_cells(out), results.read_steps(out)


def _cell(cells, steps, scenario, flavour):
    c = cells[(cells["scenario"] == scenario) & (cells["flavour"] == flavour)]
    s = steps[(steps["scenario"] == scenario) & (steps["flavour"] == flavour)].sort_values("step")
    assert len(c) == 1, (scenario, flavour)
    return c.iloc[0], s


def test_every_cell_ran_with_one_row_per_step(fit_cells):
    cells, steps = fit_cells
    assert len(cells) == len(MINE) * len(FLAVOURS_RUN) and (cells["status"] == "ok").all()
    for (scenario, flavour), g in steps.groupby(["scenario", "flavour"]):
        assert list(g["step"]) == list(range(STEPS)), (scenario, flavour)
        assert np.isfinite(g["lr_effective"]).all() and (g["step_s"] > 0).all()


def _reference(scenario: str, t: int) -> tuple[float, float]:
    """(intended, baseline) LR of step t, written out here apart from the scenarios' own code."""
    base = BASE_LR["sgd"]
    decayed = base if t < CHANGE else base * CHANGE_FACTOR * DECAY ** (t - CHANGE)
    schedule = base * 0.5 ** (t / 10)  # the ExponentialDecay every schedule scenario starts from
    return {"callback-scheduler": (decayed, base), "callback-on-schedule": (decayed, schedule),
            "callback-plateau": (base * FACTOR if t >= CHANGE else base, base),
            "steps-per-execution": (decayed, base)}[scenario]


def test_verdicts_agree_with_an_independent_reading_of_the_weights(fit_cells):
    # Each verdict again from the measured effective LRs and the NumPy trajectories above, without
    # the bench's verdict module or the trajectories the runner wrote (those are checked against them).
    cells, steps = fit_cells
    assert SPE_DECAY == DECAY
    for c in cells.itertuples():
        _, s = _cell(cells, steps, c.scenario, c.flavour)
        assert c.change_step == CHANGE
        after = s[s["step"] >= CHANGE]
        want, base = np.array([_reference(c.scenario, t) for t in after["step"]]).T
        np.testing.assert_allclose(after["lr_intended"], want, rtol=1e-6, err_msg=c.scenario)
        np.testing.assert_allclose(after["lr_baseline"], base, rtol=1e-6, err_msg=c.scenario)
        eff = after["lr_effective"].to_numpy()
        if c.error:
            assert c.verdict == "raises", c
        elif np.allclose(eff, want, rtol=1e-3, atol=0):
            assert c.verdict == "effective", c
        elif np.allclose(eff, base, rtol=1e-3, atol=0):
            assert c.verdict == "ignored", c
        else:
            assert c.verdict == "wrong", c
        assert bool(c.reported_ok) == np.allclose(after["lr_reported"], eff, rtol=1e-3, atol=0), c


@pytest.mark.parametrize("flavour", FLAVOURS_RUN)
def test_scheduler_callback_moves_a_float_lr_every_epoch(fit_cells, flavour):
    c, s = _cell(*fit_cells, "callback-scheduler", flavour)
    base = BASE_LR["sgd"]
    want = [base if t < CHANGE else base * CHANGE_FACTOR * DECAY ** (t - CHANGE) for t in range(STEPS)]
    np.testing.assert_allclose(s["lr_effective"], want, rtol=1e-3)
    assert (c.verdict, bool(c.reported_ok)) == ("effective", True)


@pytest.mark.parametrize("flavour", FLAVOURS_RUN)
def test_plateau_fires_exactly_at_the_change_step(fit_cells, flavour):
    c, s = _cell(*fit_cells, "callback-plateau", flavour)
    base = BASE_LR["sgd"]
    np.testing.assert_allclose(s["lr_effective"], [base if t < CHANGE else base * FACTOR for t in range(STEPS)],
                               rtol=1e-3)
    assert c.verdict == "effective"


def test_scheduler_on_a_schedule_depends_on_the_flavour(fit_cells):
    # Pins what this session measured on the installed versions: Keras 3 refuses the float
    # (the guarded callback raised, training went on with the schedule); tf_keras accepts it into
    # the variable it reports, which the next step overwrites with the schedule's value.
    cells, steps = fit_cells
    schedule = Rates.for_optimizer("sgd").schedule
    k3, s3 = _cell(cells, steps, "callback-on-schedule", "keras3")
    assert k3.verdict == "raises" and k3.error.startswith("TypeError") and "not settable" in k3.error
    np.testing.assert_allclose(s3["lr_effective"], [schedule(t) for t in range(STEPS)], rtol=1e-3)
    tk, st = _cell(cells, steps, "callback-on-schedule", "tf_keras")
    assert (tk.verdict, bool(tk.reported_ok)) == ("ignored", False)
    after = st[st["step"] >= CHANGE]
    np.testing.assert_allclose(after["lr_reported"], after["lr_intended"], rtol=1e-3)
    np.testing.assert_allclose(after["lr_effective"], [schedule(t) for t in after["step"]], rtol=1e-3)


@pytest.mark.parametrize("flavour", FLAVOURS_RUN)
def test_per_batch_callback_acts_once_per_call(fit_cells, flavour):
    # The probe sees every single step: the LR stays what the callback set at the first batch of
    # each call of 4 (steps 0-3, 4-7, 8-9) instead of moving at every batch.
    c, s = _cell(*fit_cells, "steps-per-execution", flavour)
    eff, intended = s["lr_effective"].to_numpy(), s["lr_intended"].to_numpy()
    for first in range(0, STEPS, PER_CALL):
        np.testing.assert_allclose(eff[first:first + PER_CALL], intended[first], rtol=1e-3)
    assert c.verdict == "wrong" and bool(c.reported_ok)
    # its steps were timed a call at a time: one paired ratio per call that starts past the warm-up
    # (quick profile: the first call and 2 steps), not one per step
    steady_calls = len([first for first in range(0, STEPS, PER_CALL) if first >= 1 + 2])
    assert int(c.step_ratio_n) == steady_calls and bool(c.noisy) == (steady_calls < 4)


# --- the per-step probe under steps_per_execution, in process (Keras 3) ---

class _ScheduleInCalls(Scenario):
    """An ExponentialDecay schedule, so the LR moves at every step inside one call."""

    id = "test-schedule-in-calls"

    def __init__(self, per_call: int):
        self.per_call = per_call

    def initial_lr(self, ctx):
        return ctx.rates.schedule.build(ctx)

    def baseline(self, r, step, change):
        return r.schedule(step)

    def compile_kwargs(self, ctx):
        return {"steps_per_execution": self.per_call} if self.per_call > 1 else {}


def _batches():
    rng = np.random.default_rng(7)
    x = rng.random((32 * STEPS, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.permutation(np.arange(32 * STEPS) % 10)]
    return build.make_batches(x, y, STEPS, 32)


def _run(per_call, mode, opt, probe_pass=True):
    ctx = context.Ctx(_ScheduleInCalls(per_call), FLAVOURS["keras3"], "fit", mode, "cpu", opt, Rates.for_optimizer(opt),
                   CHANGE, STEPS)
    return ctx, passes.run_repeat(ctx, _batches(), seed=0, probe_pass=probe_pass)


@pytest.mark.parametrize("mode,opt", [("eager", "adam"), ("function", "sgd"), ("xla", "adam")])
def test_probe_recovers_per_step_lrs_inside_one_call(mode, opt):
    _, rows = _run(PER_CALL, mode, opt)
    schedule = Rates.for_optimizer(opt).schedule  # NumPy reference of the Keras schedule
    assert [r["step"] for r in rows] == list(range(STEPS))
    np.testing.assert_allclose([r["lr_effective"] for r in rows], [schedule(t) for t in range(STEPS)], rtol=1e-3)


def test_each_step_sees_its_own_batch():
    # Same seed, one step per call against four: the same losses step by step mean every step of
    # a call was solved on the batch it trained on, and the weights it started from.
    _, one = _run(1, "function", "sgd")
    _, four = _run(PER_CALL, "function", "sgd")
    np.testing.assert_allclose([r["loss"] for r in four], [r["loss"] for r in one], rtol=1e-5)
    np.testing.assert_allclose([r["lr_effective"] for r in four], [r["lr_effective"] for r in one], rtol=1e-4)


def test_timing_pass_is_unprobed_and_keeps_one_row_per_step():
    ctx, rows = _run(PER_CALL, "function", "sgd", probe_pass=False)
    assert ctx.tape is None and len(rows) == STEPS
    assert all(set(r) == {"step", "step_s", "pair_s", "ref_s", "ref_first", "traces"} for r in rows)
    assert np.isnan([r["ref_s"] for r in rows]).all()  # no reference step was asked for
    df = pd.DataFrame(rows)
    # a call's time is shared equally by its steps
    assert df.groupby(df["step"] // PER_CALL)["step_s"].nunique().eq(1).all()

"""The pitfalls users report: constructors, checkpoints and resumes, recompiles, AdamW, gradient
accumulation and mixed precision, run through the whole verdict machinery.

Two small matrices, each run once: SGD in every flavour, api, eager and `tf.function` for the
scenarios whose probe is the plain one; and every mode (XLA too) of `fit`, with each optimizer the
scenario has, for those that extend the probe (AdamW, accumulation, mixed precision) and for the
optimizer swapped behind a traced step. Every verdict pinned here was measured by these runs;
the checks of the measurements go back to the steps and an independent NumPy reading of each
scenario's trajectories, and the extended probes must recover the LRs the scenario set to 0.1 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import results

from bench.core import probe
from bench.core.config import BASE_LR
from bench.scenarios import REGISTRY, Rates
from bench.scenarios.grad_accum import updates
from tests.conftest import run_cli

PLAIN = ("restart-by-iterations", "ctor-lr-kwarg", "ctor-decay-kwarg", "callable-lr", "restore-lr",
         "restore-lr-checkpoint", "recompile-new-optimizer", "recompile-same-optimizer", "resume-checkpoint",
         "resume-load-weights")
EXTENDED = ("adamw-assign", "adamw-decay-assign", "grad-accum-schedule", "grad-accum-assign", "mixed-assign-outer",
            "mixed-assign-inner", "mixed-set-outer", "mixed-set-inner", "mixed-bfloat16-assign", "optimizer-reassign")
RESTARTS = ("resume-load-model", "resume-initial-epoch", "resume-new-optimizer", "resume-backup-restore")
FLAVOURS = ("keras3", "tf_keras", "tf_keras_legacy")
STEPS = 6  # change before step 3

_RUNS: dict = {}


def _run(tmp_path_factory, name, *args):
    if name not in _RUNS:
        out = tmp_path_factory.mktemp(name)
        proc = run_cli("run", "--profile", "quick", "--steps", str(STEPS), "--devices", "cpu", "--out", str(out),
                       "--no-lessons", *args)
        assert proc.returncode == 0, proc.stderr[-2000:]
        _RUNS[name] = out, results.read_cells(out), results.read_steps(out)
    return _RUNS[name]


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return _run(tmp_path_factory, "plain", "--scenarios", ",".join(PLAIN), "--optimizers", "sgd",
                "--modes", "eager,function")


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    # fit alone: it is the one api every one of them has, in every mode.
    return _run(tmp_path_factory, "extended", "--scenarios", ",".join(EXTENDED), "--apis", "fit", "--cover", "all")


@pytest.fixture(scope="module")
def restarts(tmp_path_factory):
    # two fit calls with a restart between: what the optimizer's state holds is the question, so
    # both optimizers; one traced mode (the restart is the same Python in every mode)
    return _run(tmp_path_factory, "restarts", "--scenarios", ",".join(RESTARTS), "--modes", "function", "--cover", "all")


def _verdicts(cells, scenario):
    c = cells[cells["scenario"] == scenario]
    return {(r.flavour, r.api, r.mode, r.optimizer): (r.verdict, bool(r.reported_ok)) for r in c.itertuples()}


def _by_flavour(cells, scenario):
    """Verdict per flavour, where every api, mode and optimizer agreed (else the test fails)."""
    out = {}
    for (flavour, *_), (v, _r) in _verdicts(cells, scenario).items():
        assert out.setdefault(flavour, v) == v, (scenario, flavour, _verdicts(cells, scenario))
    return out


def _steps(steps, r):
    s = steps[(steps["scenario"] == r.scenario) & (steps["flavour"] == r.flavour) & (steps["api"] == r.api)
              & (steps["mode"] == r.mode) & (steps["optimizer"] == r.optimizer)]
    return s.sort_values("step")


def _check_against_numpy(cells, steps):
    """Each verdict recomputed from the measured effective LRs and the scenario's NumPy
    trajectories, without the bench's verdict module."""
    for r in cells.itertuples():
        assert r.status == "ok", (r.scenario, r.flavour, r.api, r.mode, r.error)
        s = _steps(steps, r)
        s = s[s["step"] >= r.change_step]
        eff = s["lr_effective"].to_numpy()
        rates, sc = Rates.for_optimizer(r.optimizer), REGISTRY[r.scenario]
        want = np.array([sc.intended(rates, t, r.change_step) for t in s["step"]])
        base = np.array([sc.baseline(rates, t, r.change_step) for t in s["step"]])
        if isinstance(r.error, str) and r.error:
            assert r.verdict == "raises", r
        elif np.all(np.abs(eff - want) <= 1e-3 * np.abs(want)):
            assert r.verdict == "effective", r
        elif np.all(np.abs(eff - base) <= 1e-3 * np.abs(base)):
            assert r.verdict == "ignored", r
        else:
            assert r.verdict == "wrong", r


def test_every_cell_ran_and_its_verdict_follows_from_the_weights(plain, extended):
    for _, cells, steps in (plain, extended):
        assert len(steps) == len(cells) * STEPS
        _check_against_numpy(cells, steps)
    _, cells, _ = plain
    for sid in PLAIN:
        sc = REGISTRY[sid]
        want = {(f, a, m) for f in FLAVOURS for a in sc.apis for m in ("eager", "function")}
        c = cells[cells["scenario"] == sid]
        assert {(r.flavour, r.api, r.mode) for r in c.itertuples()} == want, sid


def test_the_bench_base_rates_are_the_constructors_defaults():
    # ctor-lr-kwarg's baseline (the keyword dropped) is r.base: true only while these agree.
    import keras

    assert keras.optimizers.Adam().learning_rate.numpy() == pytest.approx(BASE_LR["adam"])
    assert keras.optimizers.SGD().learning_rate.numpy() == pytest.approx(BASE_LR["sgd"])


def test_constructor_keywords_depend_on_the_flavour(plain):
    _, cells, _ = plain
    assert _by_flavour(cells, "ctor-lr-kwarg") == {"keras3": "raises", "tf_keras": "ignored",
                                                   "tf_keras_legacy": "effective"}
    assert "Argument(s) not recognized" in cells.loc[(cells["scenario"] == "ctor-lr-kwarg")
                                                     & (cells["flavour"] == "keras3"), "error"].iloc[0]
    # Keras 3 warns that decay is ignored; tf_keras refuses it; OptimizerV2 applies it, and its
    # learning_rate keeps saying the undecayed value.
    assert _by_flavour(cells, "ctor-decay-kwarg") == {"keras3": "ignored", "tf_keras": "raises",
                                                      "tf_keras_legacy": "effective"}
    legacy = {k: v for k, v in _verdicts(cells, "ctor-decay-kwarg").items() if k[0] == "tf_keras_legacy"}
    assert set(legacy.values()) == {("effective", False)}
    # tf_keras turns a callable into a variable holding its value at construction.
    assert _by_flavour(cells, "callable-lr") == {"keras3": "effective", "tf_keras": "ignored",
                                                 "tf_keras_legacy": "effective"}


def test_restoring_a_checkpoint_brings_back_the_old_lr(plain):
    _, cells, steps = plain
    for sid in ("restore-lr", "restore-lr-checkpoint"):
        assert set(_by_flavour(cells, sid).values()) == {"ignored"}, sid
        for r in cells[cells["scenario"] == sid].itertuples():
            s = _steps(steps, r)
            after = s[s["step"] >= r.change_step]
            # the saved LR, and the optimizer says so
            assert np.allclose(after["lr_effective"], BASE_LR["sgd"], rtol=1e-3)
            assert r.reported_ok


def test_restarts_resumes_and_recompiles_take_effect(plain):
    _, cells, _ = plain
    for sid in ("restart-by-iterations", "recompile-new-optimizer", "recompile-same-optimizer", "resume-checkpoint",
                "resume-load-weights"):
        assert set(_by_flavour(cells, sid).values()) == {"effective"}, sid
    # A schedule's LR is a number in Keras 3 only; tf_keras's prints are not the LR applied.
    rep = {f: {v[1] for k, v in _verdicts(cells, "restart-by-iterations").items() if k[0] == f} for f in FLAVOURS}
    assert rep == {"keras3": {True}, "tf_keras": {False}, "tf_keras_legacy": {False}}


def test_a_second_fit_call_resumes_the_schedule_only_where_the_step_count_is_restored(restarts):
    _, cells, steps = restarts
    _check_against_numpy(cells, steps)
    assert len(steps) == len(cells) * STEPS
    got = {sid: {(k[0], k[3]): v[0] for k, v in _verdicts(cells, sid).items()} for sid in RESTARTS}
    every = {(f, o) for f in FLAVOURS for o in ("adam", "sgd")}
    assert all(set(g) == every for g in got.values()), got
    # BackupAndRestore brings back the step count in every flavour
    assert set(got["resume-backup-restore"].values()) == {"effective"}
    # load_weights into a compiled, not yet built Keras 3 Adam skips its state (a warning only):
    # the schedule starts again; SGD has no slots, so its step count loads
    assert got["resume-initial-epoch"] == {**dict.fromkeys(every, "effective"), ("keras3", "adam"): "wrong"}
    # weights loaded before compile: Keras 3 has no optimizer to put the step count in; tf_keras's
    # TensorFlow-format checkpoint restores it into the optimizer once that exists
    assert got["resume-new-optimizer"] == {(f, o): "wrong" if f == "keras3" else "effective" for f, o in every}
    # a full .keras save reloaded with load_model loses a legacy optimizer's step count
    assert got["resume-load-model"] == {(f, o): "wrong" if f == "tf_keras_legacy" else "effective" for f, o in every}
    change = STEPS // 2
    for r in cells[cells["verdict"] == "wrong"].itertuples():
        s = _steps(steps, r)
        rates = Rates.for_optimizer(r.optimizer)
        after = s[s["step"] >= change]
        # the schedule restarted at the resume: step t runs at schedule(t - change)
        want = [rates.schedule(t - change) for t in after["step"]]
        assert np.allclose(after["lr_effective"], want, rtol=1e-3), (r.scenario, r.flavour, r.optimizer)


def test_an_optimizer_swapped_behind_a_traced_step_is_not_the_one_applied(extended):
    _, cells, steps = extended
    got = _verdicts(cells, "optimizer-reassign")
    assert {k[0] for k in got} == set(FLAVOURS)
    for (flavour, api, mode, opt), v in got.items():
        # eager fit reads model.optimizer at every step; a traced one keeps the optimizer it was
        # traced with, while model.optimizer.learning_rate says the new LR
        assert v == (("effective", True) if mode == "eager" else ("ignored", False)), (flavour, mode, opt)


def _known_lr_error(cells, steps, scenario):
    """Largest relative error of the effective LR against the LR the scenario set, per mode, at
    every step that applies an update; and the largest |LR| at steps that apply none."""
    errors = {}
    for r in cells[cells["scenario"] == scenario].itertuples():
        s = _steps(steps, r)
        rates, sc = Rates.for_optimizer(r.optimizer), REGISTRY[scenario]
        want = np.array([sc.intended(rates, t, r.change_step) for t in s["step"]])
        eff = s["lr_effective"].to_numpy()
        on = want > 0
        rel = np.max(np.abs(eff[on] / want[on] - 1))
        # no update: no step; Adam before its first update has no direction at all (NaN)
        idle = eff[~on & (s["step"].to_numpy() > 0)]
        errors[(r.flavour, r.mode, r.optimizer)] = (rel, float(np.max(np.abs(idle))) if idle.size else 0.0)
    return errors


@pytest.mark.parametrize("scenario", ["adamw-assign", "adamw-decay-assign", "grad-accum-assign", "mixed-assign-outer",
                                      "mixed-assign-inner", "mixed-set-outer", "mixed-set-inner",
                                      "mixed-bfloat16-assign"])
def test_extended_probes_recover_the_lr_set_in_every_mode(extended, scenario):
    _, cells, steps = extended
    errors = _known_lr_error(cells, steps, scenario)
    sc = REGISTRY[scenario]
    assert {(f, m, o) for f, m, o in errors} == {(f, m, o) for f in (sc.flavours or FLAVOURS)
                                                  for m in ("eager", "function", "xla") for o in sc.optimizers}
    for key, (rel, idle) in errors.items():
        assert rel < 1e-3 and idle == 0.0, (scenario, key, rel, idle)
    assert set(_by_flavour(cells, scenario).values()) == {"effective"}


def test_accumulation_schedules_count_micro_steps_not_updates(extended):
    _, cells, steps = extended
    assert set(_by_flavour(cells, "grad-accum-schedule").values()) == {"wrong"}
    rates = Rates.for_optimizer("sgd")
    for r in cells[(cells["scenario"] == "grad-accum-schedule") & (cells["optimizer"] == "sgd")].itertuples():
        s = _steps(steps, r)
        for t, eff in zip(s["step"], s["lr_effective"]):
            # Keras evaluates the schedule at its raw counter: the micro-steps, k per update
            assert eff == pytest.approx(rates.schedule(t) if updates(t) else 0.0, rel=1e-3, abs=0), (r.mode, t)


def test_decoupled_lrs_recovers_both_rates_of_a_numpy_adamw_step():
    # The solver alone, on a NumPy AdamW step at float32, with the two LRs set apart.
    rng = np.random.default_rng(0)
    w = [rng.normal(0, 0.05, (784, 10)).astype(np.float32), np.zeros(10, np.float32)]
    u = [rng.normal(0, 1, a.shape) for a in w]
    after = [(a - 2e-3 * 0.004 * a - 1e-3 * d).astype(np.float32) for a, d in zip(w, u)]
    lr_u, lr_d = probe.decoupled_lrs(w, after, u, 0.004)
    assert lr_u == pytest.approx(1e-3, rel=1e-4) and lr_d == pytest.approx(2e-3, rel=1e-3)


def state_across_the_change(flavour: str) -> dict:
    """Optimizer step count and Adam's first moment (sum of |m| over the first kernel) right
    before and right after each recompile scenario's change statement, in one fit cell apiece.
    Runs in a process whose Keras is the flavour's (TF_USE_LEGACY_KERAS set by the caller)."""
    from bench.measure import build, context, passes, recorder
    from bench.core.data import dataset
    from bench.core.flavours import FLAVOURS

    x, y = dataset(STEPS * 32, 0, None)
    batches = build.make_batches(x, y, STEPS, 32)
    out = {}
    for sid in ("recompile-new-optimizer", "recompile-same-optimizer"):
        seen = out[sid] = {}

        def state(c):
            m, _ = c.flavour.adam_slots(c.optimizer, c.model.trainable_variables)
            return [recorder._iterations(c.optimizer), float(np.abs(m[0]).sum())]

        class Spied(type(REGISTRY[sid])):
            def change(self, ctx):
                seen["before"] = state(ctx)
                super().change(ctx)
                seen["after"] = state(ctx)

        ctx = context.Ctx(Spied(), FLAVOURS[flavour], "fit", "function", "cpu", "adam", Rates.for_optimizer("adam"),
                       STEPS // 2, STEPS)
        passes.run_repeat(ctx, batches, 0, True)
    return out


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_recompiling_with_a_new_optimizer_resets_its_state(flavour):
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if flavour != "keras3":
        env["TF_USE_LEGACY_KERAS"] = "1"
    code = f"import json; from tests.scenarios.test_field import state_across_the_change as s; print(json.dumps(s({flavour!r})))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    change = STEPS // 2
    new, same = got["recompile-new-optimizer"], got["recompile-same-optimizer"]
    assert new["before"][0] == same["before"][0] == change and new["before"][1] > 0
    # A new optimizer object starts over: step count and moments at zero (the user asked for a
    # new LR, not for that); the same object recompiled keeps both.
    assert new["after"] == [0, 0.0]
    assert same["after"] == same["before"]


def test_the_audit_carries_the_schedule_claim_across_resumes(restarts):
    # The audit's finding for "a schedule follows its steps across a resume" is the one these
    # measured cells give: it fails where a resume restarted the schedule.
    from bench.analysis import audit

    out, cells, _ = restarts
    proc = run_cli("audit", str(out), timeout=120)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in (out / audit.AUDIT_MD).read_text(encoding="utf-8").splitlines()
               if line.startswith("| ") and "(field) A schedule follows its steps across a save and resume" in line)
    verdicts = set(cells.loc[cells["status"] == "ok", "verdict"])
    assert "wrong" in verdicts  # measured above: Keras 3 Adam after load_weights, legacy after load_model
    assert row.endswith("**fails** |") if verdicts == {"wrong"} else "**depends**" in row

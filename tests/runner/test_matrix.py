"""End to end: the quick matrix runs, writes the schema, and yields measured verdicts."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from bench import results
from bench.results.columns import CELLS, STEPS, VERDICTS
from tests.conftest import run_cli


def test_results_schema(quick_keras3):
    cells = pd.read_csv(quick_keras3 / "cells.csv")
    steps = pd.read_csv(quick_keras3 / "steps.csv")
    assert list(cells.columns) == list(CELLS)
    assert list(steps.columns) == list(STEPS)
    meta = json.loads((quick_keras3 / "meta.json").read_text())
    assert meta["versions"]["keras3"]["tensorflow"]
    assert meta["config"]["profile"] == "quick" and meta["config"]["steps"] == 10
    assert (quick_keras3 / "TRUTH.md").read_text().startswith("# Truth table")
    # every cell of the core matrix: 5 scenarios x 2 apis x 3 modes x 2 optimizers
    assert len(cells) == 60 and (cells["status"] == "ok").all()
    assert set(cells["verdict"]) <= set(VERDICTS)
    assert len(steps) == 60 * 10


def test_measurements_are_sane(quick_keras3):
    cells = results.read_cells(quick_keras3)
    steps = results.read_steps(quick_keras3)
    assert (cells.loc[cells["mode"] == "eager", "traces"] == 0).all()
    assert (cells.loc[cells["mode"] != "eager", "traces"] >= 1).all()
    assert (cells["first_call_s"] > 0).all() and (cells["step_s_median"] > 0).all()
    assert (cells["step_ratio"] > 0).all() and (cells["step_s_iqr"] >= 0).all()
    static = steps[steps["scenario"] == "static"]
    np.testing.assert_allclose(static["lr_effective"], static["lr_intended"], rtol=1e-3)
    # the loss falls over ten steps of the static run (the synthetic data is learnable)
    for _, g in static.groupby(["api", "mode", "optimizer"]):
        assert g["loss"].iloc[-1] < g["loss"].iloc[0]


def _verdicts(cells, scenario):
    c = cells[cells["scenario"] == scenario]
    return {(r.api, r.mode, r.optimizer): (r.verdict, r.reported_ok) for r in c.itertuples()}


def test_assign_and_attr_set_take_effect_in_keras3(quick_keras3):
    # Pins Keras 3's behaviour, measured by the cells run in this session.
    cells = results.read_cells(quick_keras3)
    for scenario in ("assign", "attr-set", "static", "schedule-decay"):
        assert set(_verdicts(cells, scenario).values()) == {("effective", True)}, scenario


def test_schedule_swap_is_ignored_once_compiled(quick_keras3):
    cells = results.read_cells(quick_keras3)
    for (api, mode, opt), (v, rep) in _verdicts(cells, "schedule-swap").items():
        if mode == "eager":
            assert (v, rep) == ("effective", True), (api, mode, opt)
        else:
            # the traced step keeps the old schedule while optimizer.learning_rate reports the new
            assert (v, rep) == ("ignored", False), (api, mode, opt)


def test_report_rebuilds_truth_table(quick_keras3, tmp_path):
    for name in ("cells.csv", "steps.csv", "meta.json"):
        (tmp_path / name).write_bytes((quick_keras3 / name).read_bytes())
    proc = run_cli("report", str(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "TRUTH.md").read_text()
    # read against cells.csv and meta.json, not against the report code the command calls
    cells, meta = results.read_cells(tmp_path), results.read_meta(tmp_path)
    assert f"profile `quick`, {meta['config']['steps']} steps, change at step {cells['change_step'].iloc[0]}" in text
    glance = text.split("## At a glance", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0][2:].strip("`"): line for line in glance.splitlines() if line.startswith("| `")}
    assert set(rows) == set(cells["scenario"])
    for sid, g in cells.groupby("scenario"):
        assert set(re.findall("|".join(VERDICTS), rows[sid])) == set(g["verdict"]), rows[sid]
        assert ("⚑" in rows[sid]) == (not g["reported_ok"].all()), rows[sid]
    eager = cells[(cells["scenario"] == "schedule-swap") & (cells["mode"] == "eager")]
    compiled = cells[(cells["scenario"] == "schedule-swap") & (cells["mode"] != "eager")]
    # measured (test_schedule_swap_is_ignored_once_compiled): a verdict that holds for some modes names them
    assert set(eager["verdict"]) == {"effective"} and set(compiled["verdict"]) == {"ignored"}
    assert "effective (eager)" in rows["schedule-swap"] and "ignored ⚑ (function, xla)" in rows["schedule-swap"]
    assert rows["schedule-swap"].endswith("| **mode** |")


def test_a_run_starts_workers_only_for_its_cells_in_their_environment(tmp_path):
    # One Keras 2 cell on two cores: one worker, started with TF_USE_LEGACY_KERAS=1, rather than two
    # Keras 3 workers replaced by a Keras 2 one (each start is a TensorFlow import).
    proc = run_cli("run", "--profile", "quick", "--flavours", "tf_keras_legacy", "--devices", "cpu", "--scenarios",
                   "static", "--apis", "loop", "--modes", "function", "--optimizers", "sgd", "--out", str(tmp_path),
                   "--no-lessons")
    assert proc.returncode == 0, proc.stderr
    meta = results.read_meta(tmp_path)
    assert set(meta["versions"]) == {"legacy"}, meta["versions"]
    assert meta["versions"]["legacy"]["legacy_keras_env"] == "1"
    assert results.read_cells(tmp_path)["status"].tolist() == ["ok"]


def test_gpu_cells_without_a_gpu_are_skipped_rows(tmp_path):
    proc = run_cli("run", "--profile", "quick", "--flavours", "keras3", "--devices", "gpu", "--scenarios", "static",
                   "--apis", "loop", "--modes", "function", "--optimizers", "sgd", "--out", str(tmp_path), "--no-lessons")
    assert proc.returncode == 0, proc.stderr
    cells = results.read_cells(tmp_path)
    meta = results.read_meta(tmp_path)
    assert len(cells) == 1
    if meta["versions"]["keras3"]["gpus"]:
        assert cells["status"].iloc[0] == "ok"
    else:
        assert cells["status"].iloc[0] == "skipped"
        assert "no GPU" in cells["error"].iloc[0]
